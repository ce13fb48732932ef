//! The HTTP server (hyper 1, HTTP/1.1): `/metrics`, the landing page, `/-/healthy` and `/-/ready`,
//! optionally behind TLS and basic auth from an exporter-toolkit `--web.config.file`.
//!
//! Handlers only read the latest published [`Snapshot`](crate::metrics::snapshot::Snapshot); nothing here
//! calls Atlas or waits for a poll.

mod admission;
mod body;
mod connections;
pub(crate) mod hint;
mod landing;
mod listener;
mod memory;
mod routes;
mod state;
mod web_config;

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use hyper::header::{self, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

pub(crate) use admission::Admission;
pub use connections::DEFAULT_MAX_CONNECTIONS;
use connections::{Admitted, Connections};
pub(crate) use state::HttpState;
use web_config::live::{self, LiveWeb};
pub use web_config::{WebConfig, WebConfigError, load_web_config};

/// How long a client may take to send its request headers, and how long a kept-alive connection
/// may wait for its next request (slowloris guard). Scrapers send theirs at once.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(5);
/// The most a connection buffers of a request's headers (hyper would take 400 KiB): a scrape's take
/// a few hundred bytes, and the exporter reads no request bodies. Longer headers are answered 431.
/// Not `max_buf_size`, which bounds the response's write buffer too: 16 KiB there cut a 30 KB gzip
/// answer into writes that met delayed ACKs, 91 answers/s instead of 30,000 (`benches/scrape.sh`).
const MAX_REQUEST_HEADER_BYTES: usize = 16 * 1024;
/// Connections closed to make room that may still be ending before the next is accepted.
const MAX_CLOSING: usize = 64;
/// How long shutdown waits for in-flight responses.
const DRAIN_DEADLINE: Duration = Duration::from_secs(5);

/// What the listener needs beyond the handlers' state: `--web.config.file`, `--web.health-open`,
/// `--web.enable-lifecycle` and `--web.max-connections`.
/// The default is plain HTTP without authentication.
#[derive(Debug)]
pub struct WebOptions {
    /// The loaded `--web.config.file`, if one was given.
    pub config: Option<WebConfig>,
    /// `--web.health-open`: `/-/healthy` answers without basic auth, for probes.
    pub health_open: bool,
    /// `--web.enable-lifecycle`: `POST /-/reload` reloads; without it, it answers 403 (SIGHUP always
    /// reloads), as in Prometheus.
    pub enable_lifecycle: bool,
    /// `--web.max-connections`: connections open at once.
    pub max_connections: usize,
}

impl Default for WebOptions {
    fn default() -> WebOptions {
        WebOptions {
            config: None,
            health_open: false,
            enable_lifecycle: false,
            max_connections: DEFAULT_MAX_CONNECTIONS as usize,
        }
    }
}

impl WebOptions {
    /// `https` when the listener speaks TLS, else `http`: for the URL in the start-up log.
    pub fn scheme(&self) -> &'static str {
        if self.config.as_ref().is_some_and(WebConfig::tls_enabled) {
            "https"
        } else {
            "http"
        }
    }
}

/// Serves until `shutdown` is cancelled, then drains open connections for at most [`DRAIN_DEADLINE`].
pub(crate) async fn serve(
    listener: TcpListener,
    state: Arc<HttpState>,
    web: WebOptions,
    shutdown: CancellationToken,
) {
    let live = Arc::new(LiveWeb::new(web.config.as_ref(), web.health_open));
    if let Some(config) = web.config {
        tracing::info!(
            file = %config.file().display(),
            tls = config.tls.as_ref().map(|t| t.summary.as_str()),
            basic_auth_users = config.basic_auth_user_count(),
            headers = config.headers.len(),
            health_open = web.health_open,
            "web configuration loaded"
        );
        tokio::spawn(live::watch(
            live.clone(),
            config.file.clone(),
            config.stamps.clone(),
            shutdown.clone(),
        ));
    }
    let (open, rejected) = state.self_metrics.http_connections();
    let connections = Arc::new(Connections::new(web.max_connections, open, rejected));
    let trimmer = tokio::spawn({
        let (connections, shutdown) = (connections.clone(), shutdown.clone());
        async move { memory::trim_after_bursts(&connections, shutdown).await }
    });
    let graceful = GracefulShutdown::new();
    loop {
        let (stream, _peer) = tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Usually EMFILE: back off briefly rather than spin.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        // Connections closed to make room end on this thread too; a flood accepted faster than
        // they end would pile up their buffers, so they go first.
        while connections.closing() >= MAX_CLOSING {
            tokio::task::yield_now().await;
        }
        let Some(admitted) = connections.admit() else {
            // Every open connection is being served: this one is closed unread.
            continue;
        };
        let connection = Connection {
            admitted: Arc::new(admitted),
            state: state.clone(),
            live: live.clone(),
            graceful: graceful.watcher(),
            shutdown: shutdown.clone(),
        };
        // A response goes out in pieces (the published body, then the scrape-time tail): with
        // Nagle's algorithm the last small piece waits for the client's delayed ACK, 40 ms on
        // Linux, which was the p99 of gzip scrapes at 1,000 organisations. Go's net/http, which
        // Prometheus' own servers use, sets it too.
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "cannot set TCP_NODELAY on a connection");
        }
        // The TLS handshake too runs in the connection's task: a slow client must not hold up accept.
        tokio::spawn(connection.serve(stream));
    }
    drop(listener);
    trimmer.abort();
    if tokio::time::timeout(DRAIN_DEADLINE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("open HTTP connections did not finish within {DRAIN_DEADLINE:?}");
    }
}

/// One accepted connection and what serving it needs.
struct Connection {
    admitted: Arc<Admitted>,
    state: Arc<HttpState>,
    live: Arc<LiveWeb>,
    graceful: hyper_util::server::graceful::Watcher,
    shutdown: CancellationToken,
}

impl Connection {
    /// Serves the connection until the client closes it, a deadline passes, or it is closed to make
    /// room for a newer one.
    async fn serve(self, stream: TcpStream) {
        let admitted = self.admitted.clone();
        tokio::select! {
            _ = admitted.evicted() => tracing::debug!("connection closed to make room (--web.max-connections)"),
            () = self.run(stream) => {}
        }
    }

    async fn run(self, stream: TcpStream) {
        let Connection {
            admitted,
            state,
            live,
            graceful,
            shutdown,
        } = self;
        // The TLS settings as they are now: a certificate reloaded later applies to later connections.
        let tls = live.current().tls.clone();
        let service = service_fn(move |request| {
            admitted.served();
            let state = state.clone();
            let live = live.clone();
            async move { Ok::<_, Infallible>(respond_secured(&state, &live, request).await) }
        });
        let mut builder = http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(HEADER_READ_TIMEOUT)
            .max_header_size(MAX_REQUEST_HEADER_BYTES);
        let outcome = match tls {
            None => {
                graceful
                    .watch(builder.serve_connection(TokioIo::new(stream), service))
                    .await
            }
            Some(tls) => {
                let Some(stream) = listener::handshake(stream, tls, &shutdown).await else {
                    return;
                };
                graceful
                    .watch(builder.serve_connection(TokioIo::new(stream), service))
                    .await
            }
        };
        if let Err(error) = outcome {
            tracing::debug!(%error, "connection closed with an error");
        }
    }
}

/// Basic auth (unless the path is exempt) in front of the routes, and the configured headers on
/// every answer, 401s included.
async fn respond_secured<B>(
    state: &HttpState,
    live: &LiveWeb,
    request: Request<B>,
) -> Response<body::Body> {
    let active = live.current();
    let exempt = live.health_open && request.uri().path() == "/-/healthy";
    // The limiter comes first, as in exporter-toolkit: a limited request costs no bcrypt.
    let limited = active.rate_limit.as_ref().is_some_and(|l| !l.allow());
    let mut response = match &active.auth {
        _ if limited => body::text(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests\n"),
        Some(auth) if !exempt => {
            if auth
                .authorize(request.headers().get(header::AUTHORIZATION))
                .await
            {
                routes::respond(state, request).await
            } else {
                tracing::debug!(path = request.uri().path(), "basic authentication failed");
                unauthorized()
            }
        }
        _ => routes::respond(state, request).await,
    };
    let headers = response.headers_mut();
    for (name, value) in &active.headers {
        headers.insert(name.clone(), value.clone());
    }
    response
}

fn unauthorized() -> Response<body::Body> {
    let mut response = body::text(StatusCode::UNAUTHORIZED, "Unauthorized\n");
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        // The realm is the exporter's name, crate::NAME.
        HeaderValue::from_static("Basic realm=\"atlas-invites-exporter\""),
    );
    response
}
