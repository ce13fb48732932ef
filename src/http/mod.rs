//! The HTTP server (hyper 1, HTTP/1.1): `/metrics`, the landing page, `/-/healthy` and `/-/ready`.
//!
//! Handlers only read the latest published [`Snapshot`](crate::snapshot::Snapshot); nothing here
//! calls Atlas or waits for a poll.

mod landing;
mod routes;

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::self_metrics::SelfMetrics;
use crate::snapshot::Store;

pub use routes::handle;

/// How long a client may take to send its request headers (slowloris guard).
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How long shutdown waits for in-flight responses.
const DRAIN_DEADLINE: Duration = Duration::from_secs(5);

/// What the handlers read.
pub struct HttpState {
    pub store: Arc<Store>,
    pub self_metrics: Arc<SelfMetrics>,
}

/// Serves until `shutdown` is cancelled, then drains open connections for at most [`DRAIN_DEADLINE`].
pub async fn serve(listener: TcpListener, state: Arc<HttpState>, shutdown: CancellationToken) {
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
        let service = service_fn(move |request| {
            let state = state.clone();
            async move { Ok::<_, Infallible>(routes::handle(&state, request)) }
        });
        let connection = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(HEADER_READ_TIMEOUT)
            .serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "connection closed with an error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN_DEADLINE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("open HTTP connections did not finish within {DRAIN_DEADLINE:?}");
    }
}
