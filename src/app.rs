//! Wiring: builds the client, store, pollers and server from a [`Config`], runs them, and shuts them
//! down in order when the shutdown future completes.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::atlas::{ApiError, AtlasClient, ClientSettings};
use crate::collect::Fallbacks;
use crate::config::Config;
use crate::discovery::{self, Discovery};
use crate::http::{self, HttpState};
use crate::scheduler::{Authenticators, Poller, Scheduler};
use crate::self_metrics::SelfMetrics;
use crate::snapshot::{Store, StoreSettings};

/// How long shutdown waits for pollers and the server before giving up on them.
const SHUTDOWN_DEADLINE: Duration = Duration::from_secs(8);

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("cannot listen on {address}: {source}")]
    Listen {
        address: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot build the Atlas HTTP client: {0}")]
    Client(#[source] ApiError),
}

/// Binds the configured listen address and runs until `shutdown` completes.
pub async fn run(config: Config, shutdown: impl Future<Output = ()>) -> Result<(), AppError> {
    let address = config.web.listen_address;
    let listener = TcpListener::bind(address)
        .await
        .map_err(|source| AppError::Listen { address, source })?;
    run_with_listener(config, listener, shutdown).await
}

/// Runs on an already bound listener (tests bind port 0 themselves).
pub async fn run_with_listener(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> Result<(), AppError> {
    // Secrets are SecretString: their Debug output is redacted.
    tracing::debug!(?config, "effective configuration");
    let client = AtlasClient::new(ClientSettings {
        base_url: config.atlas.base_url.clone(),
        timeout: config.atlas.timeout,
        max_response_bytes: config.atlas.max_response_bytes,
    })
    .map_err(AppError::Client)?;
    let client = Arc::new(client);
    let store = Arc::new(Store::new(
        &[],
        StoreSettings {
            expiry_windows: config.metrics.expiry_windows.clone(),
            keep_stale_for: config.poll.keep_stale_for,
            default_source: config.atlas.source,
            shard: config.sharding.map_or((0, 1), |s| (s.index, s.total)),
            discovery_enabled: config.discovery.enabled,
        },
    ));
    let self_metrics = Arc::new(SelfMetrics::new());
    let poller = Arc::new(Poller {
        client: client.clone(),
        store: store.clone(),
        self_metrics: self_metrics.clone(),
        metrics: config.metrics.clone(),
        default_source: config.atlas.source,
        fallbacks: Fallbacks::default(),
    });

    let cancel = CancellationToken::new();
    let tracker = TaskTracker::new();
    tracker.spawn(store.clone().run_publisher(cancel.clone()));
    let scheduler = Arc::new(Scheduler::new(
        poller,
        Authenticators::new(&config),
        config.poll.clone(),
        tracker.clone(),
        cancel.clone(),
    ));
    scheduler.reconcile(discovery::desired_orgs(
        &config.orgs,
        &[],
        &config.discovery,
        config.sharding.as_ref(),
    ));
    if config.discovery.enabled {
        let discovery = Discovery {
            client,
            scheduler: scheduler.clone(),
            store: store.clone(),
            self_metrics: self_metrics.clone(),
            configured: config.orgs.clone(),
            settings: config.discovery.clone(),
            sharding: config.sharding,
            timeout: config.atlas.timeout * 3,
        };
        tracker.spawn(discovery.run(cancel.clone()));
    }
    let local = listener.local_addr().ok();
    tracker.spawn(http::serve(
        listener,
        Arc::new(HttpState {
            store,
            self_metrics,
        }),
        cancel.clone(),
    ));
    tracker.close();

    if let Some(local) = local {
        let credentials = config
            .auth
            .as_ref()
            .map_or_else(|| "per organisation".to_owned(), |c| c.describe());
        tracing::info!(
            address = %local,
            orgs = scheduler.running().len(),
            discovery = config.discovery.enabled,
            shard = ?config.sharding,
            %credentials,
            "serving metrics at http://{}/metrics",
            display_address(local)
        );
    }

    shutdown.await;
    tracing::info!("shutting down");
    cancel.cancel();
    if tokio::time::timeout(SHUTDOWN_DEADLINE, tracker.wait())
        .await
        .is_err()
    {
        tracing::warn!("some tasks did not stop within {SHUTDOWN_DEADLINE:?}");
    }
    Ok(())
}

/// A wildcard listen address is reachable as localhost; say so, since the log is where users look.
fn display_address(address: SocketAddr) -> String {
    if address.ip().is_unspecified() {
        format!("localhost:{}", address.port())
    } else {
        address.to_string()
    }
}

/// Completes on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = interrupt => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM; only SIGINT stops the exporter");
                let _ = interrupt.await;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}
