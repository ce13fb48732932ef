//! Request dispatch: method and path to a response.

use bytes::Bytes;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use jiff::Timestamp;

use super::landing;
use super::state::HttpState;
use crate::metrics::exposition::CONTENT_TYPE;

use super::body::{Body, text, with_length};

/// Answers one request: the reload endpoint waits for the reload, a large scrape for its turn;
/// everything else is immediate.
pub async fn respond<B>(state: &HttpState, request: Request<B>) -> Response<Body> {
    if request.uri().path() == "/-/reload" {
        return reload(state, request.method()).await;
    }
    let is_scrape = request.uri().path() == "/metrics" && request.method() == Method::GET;
    let response = handle(state, request);
    if !is_scrape || response.body().len() < TURN_ABOVE_BYTES {
        return response;
    }
    let turn = state.scrapes.admit().await;
    // The turn ends when the body has been handed to the connection, or after MAX_TURN.
    response.map(|body| body.ending(turn))
}

/// Answers smaller than this go straight into the connection's socket buffers and need no turn
/// (taking one costs a task and a timer, a measurable share of a 30 KB gzip scrape).
const TURN_ABOVE_BYTES: u64 = 1 << 20;

/// `POST /-/reload`: 200 when the new configuration is running, 500 with the reason when it was
/// rejected (the previous one keeps running), 403 without `--web.enable-lifecycle`. GET explains
/// how to use it whether or not the flag is given, as Prometheus does.
async fn reload(state: &HttpState, method: &Method) -> Response<Body> {
    if method != Method::POST && method != Method::PUT {
        let mut response = text(
            StatusCode::METHOD_NOT_ALLOWED,
            "This endpoint requires a POST request: curl -X POST http://HOST:PORT/-/reload\n",
        );
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST, PUT"));
        return response;
    }
    if !state.lifecycle {
        return text(StatusCode::FORBIDDEN, LIFECYCLE_DISABLED);
    }
    let Some(handle) = &state.reload else {
        return text(StatusCode::SERVICE_UNAVAILABLE, "Reload is not available\n");
    };
    match handle.reload().await {
        Ok(()) => text(StatusCode::OK, "Reloaded\n"),
        Err(reason) => {
            let mut response = Response::new(Body::new(Bytes::from(format!(
                "Reload failed, the previous configuration keeps running:\n{reason}\n"
            ))));
            *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            );
            with_length(response)
        }
    }
}

const LIFECYCLE_DISABLED: &str = "Lifecycle APIs are not enabled: start the exporter with \
    --web.enable-lifecycle, or send SIGHUP\n";

pub fn handle<B>(state: &HttpState, request: Request<B>) -> Response<Body> {
    let path = request.uri().path();
    let known = matches!(path, "/" | "/metrics" | "/-/healthy" | "/-/ready");
    if !known {
        return text(StatusCode::NOT_FOUND, "Not Found\n");
    }
    let head = request.method() == Method::HEAD;
    if !head && request.method() != Method::GET {
        let mut response = text(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed\n");
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return response;
    }
    let mut response = match path {
        "/metrics" => metrics(state, accepts_gzip(&request)),
        "/-/healthy" => text(StatusCode::OK, "Healthy\n"),
        "/-/ready" => {
            if state.snapshot.borrow().ready() {
                text(StatusCode::OK, "Ready\n")
            } else {
                text(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Not ready: waiting for the first poll of every organisation\n",
                )
            }
        }
        _ => {
            // Cloned first, so that the page is rendered without holding the channel's lock.
            let snapshot = state.snapshot.borrow().clone();
            landing::page(&snapshot, &state.runbook_url)
        }
    };
    if head {
        // hyper keeps Content-Length from the full body and sends none of it.
        let length = response.headers().get(header::CONTENT_LENGTH).cloned();
        *response.body_mut() = Body::new(Bytes::new());
        if let Some(length) = length {
            response
                .headers_mut()
                .insert(header::CONTENT_LENGTH, length);
        }
    }
    response
}

fn metrics(state: &HttpState, gzip_wanted: bool) -> Response<Body> {
    let snapshot = state.snapshot.borrow().clone();
    // The published part is shared with every other scrape of this snapshot: sent, never copied. The
    // scrape-time tail is rendered (and compressed) at most once a second.
    let (published, tail) = snapshot.scrape_parts(Timestamp::now(), gzip_wanted, |out| {
        state.self_metrics.render(out)
    });
    let body = Body::from_chunks([published, tail]);
    let encoding = gzip_wanted.then_some("gzip");
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    headers.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    if let Some(encoding) = encoding {
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static(encoding));
    }
    with_length(response)
}

/// True when the client lists gzip with a non-zero quality.
fn accepts_gzip<B>(request: &Request<B>) -> bool {
    request
        .headers()
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|item| {
            let mut parts = item.split(';');
            let coding = parts.next().unwrap_or("").trim();
            let zero_quality =
                parts.any(|p| matches!(p.trim(), "q=0" | "q=0.0" | "q=0.00" | "q=0.000"));
            coding.eq_ignore_ascii_case("gzip") && !zero_quality
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(accept_encoding: &str) -> Request<()> {
        Request::builder()
            .header(header::ACCEPT_ENCODING, accept_encoding)
            .body(())
            .unwrap()
    }

    #[test]
    fn gzip_negotiation() {
        assert!(accepts_gzip(&request("gzip")));
        assert!(accepts_gzip(&request("deflate, GZIP;q=0.5")));
        assert!(!accepts_gzip(&request("gzip;q=0")));
        assert!(!accepts_gzip(&request("identity")));
        assert!(!accepts_gzip(&request("x-gzip-not")));
    }
}
