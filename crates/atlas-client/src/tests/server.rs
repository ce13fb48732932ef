//! A scripted HTTP server on 127.0.0.1:0 for the client tests: each test decides every reply and
//! reads back every request. (The Atlas simulator is a separate module; these tests do not use it.)

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::header::HeaderMap;
use hyper::service::service_fn;
use hyper::{Method, Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

#[derive(Clone, Debug)]
pub(crate) struct Recorded {
    pub method: Method,
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Delivery {
    Complete,
    /// Declares the full length, sends half, then aborts the connection.
    Truncated,
    /// Never answers.
    Hang,
}

pub(crate) struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Bytes,
    delivery: Delivery,
}

impl Reply {
    pub fn status(status: u16) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: Bytes::new(),
            delivery: Delivery::Complete,
        }
    }

    pub fn json(status: u16, body: impl Into<String>) -> Reply {
        Reply::status(status)
            .header("content-type", "application/json")
            .body(body.into())
    }

    pub fn hang() -> Reply {
        Reply {
            delivery: Delivery::Hang,
            ..Reply::status(200)
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn body(mut self, body: impl Into<Bytes>) -> Reply {
        self.body = body.into();
        self
    }

    pub fn truncated(mut self) -> Reply {
        self.delivery = Delivery::Truncated;
        self
    }
}

type Handler = dyn Fn(&Recorded) -> Reply + Send + Sync;

pub(crate) struct TestServer {
    pub base_url: String,
    requests: Arc<Mutex<Vec<Recorded>>>,
    accept_loop: JoinHandle<()>,
}

impl TestServer {
    pub async fn start(handler: impl Fn(&Recorded) -> Reply + Send + Sync + 'static) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let handler: Arc<Handler> = Arc::new(handler);
        let log = Arc::clone(&requests);
        let accept_loop = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let handler = Arc::clone(&handler);
                let log = Arc::clone(&log);
                tokio::spawn(async move {
                    let service = service_fn(move |request| {
                        serve(request, Arc::clone(&handler), Arc::clone(&log))
                    });
                    // Aborted replies (truncation) end the connection with an error; that is the point.
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        TestServer {
            base_url,
            requests,
            accept_loop,
        }
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }

    pub fn requests_to(&self, path_prefix: &str) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.path.starts_with(path_prefix))
            .collect()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.accept_loop.abort();
    }
}

async fn serve(
    request: Request<Incoming>,
    handler: Arc<Handler>,
    log: Arc<Mutex<Vec<Recorded>>>,
) -> Result<Response<ReplyBody>, Infallible> {
    let (parts, body) = request.into_parts();
    let body = body
        .collect()
        .await
        .map(|collected| collected.to_bytes())
        .unwrap_or_default();
    let recorded = Recorded {
        method: parts.method,
        path: parts
            .uri
            .path_and_query()
            .map(|pq| pq.as_str().to_owned())
            .unwrap_or_default(),
        headers: parts.headers,
        body,
    };
    log.lock().unwrap().push(recorded.clone());
    let reply = handler(&recorded);
    if reply.delivery == Delivery::Hang {
        std::future::pending::<()>().await;
    }
    let mut response = Response::builder().status(reply.status);
    for (name, value) in &reply.headers {
        response = response.header(name, value);
    }
    let body = match reply.delivery {
        Delivery::Truncated => {
            response = response.header("content-length", reply.body.len().to_string());
            let half = reply.body.slice(..reply.body.len() / 2);
            ReplyBody {
                data: Some(half),
                fail_after_data: true,
                yielded: false,
            }
        }
        _ => ReplyBody {
            data: Some(reply.body),
            fail_after_data: false,
            yielded: false,
        },
    };
    Ok(response.body(body).unwrap())
}

/// A body that can stop short: after its data, it either ends or fails (hyper then drops the connection).
pub(crate) struct ReplyBody {
    data: Option<Bytes>,
    fail_after_data: bool,
    /// Whether the body has returned `Pending` once, which makes hyper flush what it has buffered.
    yielded: bool,
}

impl Body for ReplyBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if let Some(data) = self.data.take() {
            return Poll::Ready(Some(Ok(Frame::data(data))));
        }
        if self.fail_after_data && !self.yielded {
            // Without this, hyper would drop the buffered head and data along with the connection,
            // and the client would see no response at all instead of a cut-off one.
            self.yielded = true;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        if self.fail_after_data {
            return Poll::Ready(Some(Err(std::io::Error::other("truncated on purpose"))));
        }
        Poll::Ready(None)
    }

    fn size_hint(&self) -> SizeHint {
        match (&self.data, self.fail_after_data) {
            // An exact hint makes hyper send Content-Length, as Atlas does.
            (Some(data), false) => SizeHint::with_exact(data.len() as u64),
            (None, false) => SizeHint::with_exact(0),
            _ => SizeHint::default(),
        }
    }
}

/// A token endpoint's answer handing out `token`.
pub(crate) fn token_reply(token: &str, expires_in: u64) -> Reply {
    Reply::json(
        200,
        format!(r#"{{"access_token":"{token}","expires_in":{expires_in},"token_type":"Bearer"}}"#),
    )
}
