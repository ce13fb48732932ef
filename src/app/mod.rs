//! Wiring: builds the client, store, pollers and server from a [`Config`], runs them, applies live
//! reloads, and shuts everything down in order when the shutdown future completes. Beside it, what
//! the binary's edge needs: flags, logging, the `check` subcommand and the `--demo` world.

pub mod check;
pub mod cli;
pub mod demo;
mod polling;
pub(crate) mod reload;
pub mod telemetry;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::{TcpListener, TcpSocket};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::audit::Audit;
use crate::config::Config;
use crate::http::{self, HttpState};
use crate::metrics::self_metrics::SelfMetrics;
use crate::metrics::store::Store;
use crate::poll::lifecycle::LifecycleMemory;
use crate::poll::slow::SlowSchedule;
use crate::poll::source::Fallbacks;
use atlas_client::ApiError;
use polling::{Polling, Shared, store_settings};
use reload::{ReloadHandle, ReloadRequest};

/// How long shutdown waits for pollers and the server before giving up on them.
const SHUTDOWN_DEADLINE: Duration = Duration::from_secs(8);

/// Re-reads the configuration for a reload: the binary knows the sources (file, environment, flags,
/// demo). `Err` is the message shown to whoever asked for the reload.
pub type ConfigLoader = Box<dyn Fn() -> Result<Config, String> + Send + Sync>;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("cannot listen on {address}")]
    Listen {
        address: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot build the Atlas HTTP client")]
    Client(#[source] ApiError),
    /// The message names the path and the cause.
    #[error("cannot open the audit stream ([audit] path): {0}")]
    Audit(String),
}

/// Binds the configured listen address and runs until `shutdown` completes.
pub async fn run(
    config: Config,
    loader: Option<ConfigLoader>,
    web: http::WebOptions,
    shutdown: impl Future<Output = ()>,
) -> Result<(), AppError> {
    let address = config.web.listen_address;
    raise_open_file_limit(web.max_connections);
    let listener = listen(address).map_err(|source| AppError::Listen { address, source })?;
    run_with_listener(config, listener, loader, web, shutdown).await
}

/// An error and its causes on one line, as the binary prints them.
fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Each connection is a file descriptor, and so is each Atlas connection, file and signal: the soft
/// limit (often 1,024) would otherwise refuse connections below `--web.max-connections`, with a log
/// line per refusal. Descriptors the exporter needs besides its listener's connections, at most.
const OTHER_DESCRIPTORS: u64 = 256;

fn raise_open_file_limit(max_connections: usize) {
    let wanted = max_connections as u64 + OTHER_DESCRIPTORS;
    match rlimit::increase_nofile_limit(wanted) {
        Ok(limit) if limit < wanted => tracing::warn!(
            limit,
            max_connections,
            "the open-file limit is below --web.max-connections plus {OTHER_DESCRIPTORS}: connections past it \
             are refused by the kernel (raise LimitNOFILE or ulimit -n, or lower --web.max-connections)"
        ),
        Ok(_) => {}
        Err(error) => tracing::warn!(%error, "cannot read or raise the open-file limit"),
    }
}

/// Connections waiting to be accepted, at most (the kernel caps it at `net.core.somaxconn`).
/// `TcpListener::bind` asks for 128: 200 scrapers connecting at once then lose SYNs, and each lost SYN
/// costs its client a retransmission after 1 s, then 3 s (measured with `benches/load.sh`).
const LISTEN_BACKLOG: u32 = 4096;

fn listen(address: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = match address {
        SocketAddr::V4(_) => TcpSocket::new_v4()?,
        SocketAddr::V6(_) => TcpSocket::new_v6()?,
    };
    // As `TcpListener::bind` does: a restart must not wait for the old connections' TIME_WAIT.
    socket.set_reuseaddr(true)?;
    socket.bind(address)?;
    socket.listen(LISTEN_BACKLOG)
}

/// Large buffers (a publication's body, its gzip, a listing's body) are mapped on their own and
/// unmapped when freed, instead of glibc's default, which raises that threshold after the first
/// free and then keeps such buffers in the heap, where a freed 10 MB body stays resident
/// (`benches/memprobe.sh 1000 10 2 10`: 84 → 73 MB). And one arena: glibc gives each thread that
/// allocates its own, whose free pages stay with it, while the exporter allocates on one worker
/// and a few short blocking tasks (100 organisations × 10 projects: 17.0 → 16.2 MB). Other C
/// libraries: nothing to do.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn tune_allocator() {
    // SAFETY: mallopt takes plain integers and only changes the allocator's thresholds. Called first
    // thing in `main`, before any thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 256 * 1024);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1024 * 1024);
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn tune_allocator() {}

/// Runs on an already bound listener (tests bind port 0 themselves).
pub(crate) async fn run_with_listener(
    config: Config,
    listener: TcpListener,
    loader: Option<ConfigLoader>,
    web: http::WebOptions,
    shutdown: impl Future<Output = ()>,
) -> Result<(), AppError> {
    for warning in &config.warnings {
        tracing::warn!("{warning}");
    }
    // Secrets are SecretString: their Debug output is redacted.
    tracing::debug!(?config, "effective configuration");

    let cancel = CancellationToken::new();
    let lifecycle = Arc::new(LifecycleMemory::default());
    let audit =
        Audit::open(&config.audit, &lifecycle).map_err(|e| AppError::Audit(e.to_string()))?;
    let shared = Shared {
        store: Arc::new(Store::new(&[], store_settings(&config))),
        self_metrics: Arc::new(SelfMetrics::new(&crate::poll::endpoint_labels())),
        fallbacks: Arc::new(Fallbacks::default()),
        slow: Arc::new(SlowSchedule::new(config.poll.slow_interval)),
        projects: Arc::default(),
        lifecycle,
        audit,
        last_listing: Arc::new(Mutex::new(None)),
        tracker: TaskTracker::new(),
    };
    // The organisations are registered first, so the first publication already lists them all: an
    // empty store would otherwise count as ready for an instant.
    let mut polling = Polling::start(&config, &shared, &cancel).map_err(AppError::Client)?;
    shared
        .tracker
        .spawn(shared.store.clone().run_publisher(cancel.clone()));

    let (reload_handle, mut reload_requests) = reload::channel();
    let local = listener.local_addr().ok();
    let state = HttpState {
        snapshot: shared.store.subscribe(),
        self_metrics: shared.self_metrics.clone(),
        reload: loader.is_some().then(|| reload_handle.clone()),
        lifecycle: web.enable_lifecycle,
        runbook_url: config.web.runbook_url.clone(),
        scrapes: http::Admission::default(),
    };
    let scheme = web.scheme();
    shared
        .tracker
        .spawn(http::serve(listener, Arc::new(state), web, cancel.clone()));
    if loader.is_some() {
        spawn_sighup(&shared.tracker, reload_handle, cancel.clone());
    }

    if let Some(local) = local {
        let credentials = config
            .auth
            .as_ref()
            .map_or_else(|| "per organisation".to_owned(), |c| c.describe());
        tracing::info!(
            address = %local,
            orgs = polling.orgs(),
            discovery = config.discovery.enabled,
            shard = ?config.sharding,
            %credentials,
            "serving metrics at {scheme}://{}/metrics",
            display_address(local)
        );
    }

    let mut running_config = config;
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            Some(request) = reload_requests.recv() => {
                // Every request already waiting shares this reload: each was made before the files
                // are read, so each answer reflects them. One arriving meanwhile gets the next.
                let mut waiting = vec![request];
                while let Ok(request) = reload_requests.try_recv() {
                    waiting.push(request);
                }
                let outcome = reload(loader.as_ref(), &mut running_config, &mut polling, &shared);
                shared.self_metrics.observe_reload(outcome.is_ok());
                if let Err(reason) = &outcome {
                    tracing::error!(requests = waiting.len(), "configuration reload rejected; the previous configuration keeps running: {reason}");
                }
                for ReloadRequest { reply } in waiting {
                    let _ = reply.send(outcome.clone());
                }
            }
        }
    }

    tracing::info!("shutting down");
    cancel.cancel();
    shared.tracker.close();
    if tokio::time::timeout(SHUTDOWN_DEADLINE, shared.tracker.wait())
        .await
        .is_err()
    {
        tracing::warn!("some tasks did not stop within {SHUTDOWN_DEADLINE:?}");
    }
    Ok(())
}

/// Reads the configuration again and applies what changed; `Err` is the reason it was rejected.
fn reload(
    loader: Option<&ConfigLoader>,
    running: &mut Config,
    polling: &mut Polling,
    shared: &Shared,
) -> Result<(), String> {
    let load = loader.ok_or_else(|| "reload is not available".to_owned())?;
    let new = load()?;
    // With its causes: the message alone does not say why.
    let applied = polling
        .apply(&new, shared)
        .map_err(|error| with_causes(&AppError::Client(error)))?;
    warn_about_restart_only_changes(running, &new);
    for warning in &new.warnings {
        tracing::warn!("{warning}");
    }
    *running = new;
    let orgs = applied.orgs;
    tracing::info!(
        orgs = polling.orgs(),
        started = orgs.started,
        restarted = orgs.restarted,
        stopped = orgs.stopped,
        kept = orgs.kept,
        client_kept = applied.client_kept,
        loops_kept = applied.loops_kept,
        discovery_kept = applied.discovery_kept,
        "configuration reloaded"
    );
    Ok(())
}

/// Settings that a reload cannot change in a running process.
fn warn_about_restart_only_changes(running: &Config, new: &Config) {
    if running.web != new.web {
        tracing::warn!("[web] settings changed: they take effect at the next restart");
    }
    if running.log.level != new.log.level || running.log.format != new.log.format {
        tracing::warn!("log settings changed: they take effect at the next restart");
    }
    if running.audit != new.audit {
        tracing::warn!(
            "audit settings changed: they take effect at the next restart; until then the audit stream \
             goes on as it was started (on or off, same path and state file)"
        );
    }
}

/// Turns SIGHUP into reload requests.
fn spawn_sighup(tracker: &TaskTracker, handle: ReloadHandle, cancel: CancellationToken) {
    #[cfg(unix)]
    tracker.spawn(async move {
        let mut hangups = match tokio::signal::unix::signal(
            tokio::signal::unix::SignalKind::hangup(),
        ) {
            Ok(hangups) => hangups,
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGHUP; use POST /-/reload to reload");
                return;
            }
        };
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return,
                Some(()) = hangups.recv() => {
                    tracing::info!("SIGHUP: reloading the configuration");
                    // The outcome is logged by the app.
                    let _ = handle.reload().await;
                }
            }
        }
    });
    #[cfg(not(unix))]
    let _ = (tracker, handle, cancel);
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
