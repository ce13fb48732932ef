//! The HTTP server (hyper 1, HTTP/1.1): `/metrics`, the landing page, `/-/healthy` and `/-/ready`,
//! optionally behind TLS and basic auth from an exporter-toolkit `--web.config.file`.
//!
//! Handlers only read the latest published [`Snapshot`](crate::metrics::snapshot::Snapshot); nothing here
//! calls Atlas or waits for a poll.

mod admission;
mod body;
mod landing;
mod listener;
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
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub(crate) use admission::Admission;
pub(crate) use state::HttpState;
use web_config::live::{self, LiveWeb};
pub use web_config::{WebConfig, WebConfigError, load_web_config};

/// How long a client may take to send its request headers (slowloris guard).
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How long shutdown waits for in-flight responses.
const DRAIN_DEADLINE: Duration = Duration::from_secs(5);

/// What the listener needs beyond the handlers' state: `--web.config.file`, `--web.health-open` and
/// `--web.enable-lifecycle`.
/// The default is plain HTTP without authentication.
#[derive(Debug, Default)]
pub struct WebOptions {
    /// The loaded `--web.config.file`, if one was given.
    pub config: Option<WebConfig>,
    /// `--web.health-open`: `/-/healthy` answers without basic auth, for probes.
    pub health_open: bool,
    /// `--web.enable-lifecycle`: `POST /-/reload` reloads; without it, it answers 403 (SIGHUP always
    /// reloads), as in Prometheus.
    pub enable_lifecycle: bool,
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
        let state = state.clone();
        let live_for_service = live.clone();
        let service = service_fn(move |request| {
            let state = state.clone();
            let live = live_for_service.clone();
            async move { Ok::<_, Infallible>(respond_secured(&state, &live, request).await) }
        });
        let builder = {
            let mut builder = http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_READ_TIMEOUT);
            builder
        };
        let watcher = graceful.watcher();
        match live.current().tls.clone() {
            None => {
                let connection =
                    watcher.watch(builder.serve_connection(TokioIo::new(stream), service));
                tokio::spawn(async move {
                    if let Err(error) = connection.await {
                        tracing::debug!(%error, "connection closed with an error");
                    }
                });
            }
            Some(tls) => {
                let shutdown = shutdown.clone();
                // The handshake runs in the connection's task: a slow client must not hold up accept.
                tokio::spawn(async move {
                    let Some(stream) = listener::handshake(stream, tls, &shutdown).await else {
                        return;
                    };
                    let connection =
                        watcher.watch(builder.serve_connection(TokioIo::new(stream), service));
                    if let Err(error) = connection.await {
                        tracing::debug!(%error, "connection closed with an error");
                    }
                });
            }
        }
    }
    drop(listener);
    if tokio::time::timeout(DRAIN_DEADLINE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("open HTTP connections did not finish within {DRAIN_DEADLINE:?}");
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
