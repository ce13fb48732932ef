//! The web configuration in force, and the watcher that re-reads it when the file or the
//! certificates it names change on disk (exporter-toolkit re-reads on every handshake; we check the
//! files' stamps once a second instead, so no request ever reads a file).

use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use hyper::header::{HeaderName, HeaderValue};
use rustls::ServerConfig;
use tokio_util::sync::CancellationToken;

use super::auth::BasicAuth;
use super::file::FileStamp;
use super::rate_limit::RateLimiter;
use super::{WebConfig, load_recording};

/// How often the watcher looks at the files' stamps.
pub(crate) const RECHECK_INTERVAL: Duration = Duration::from_secs(1);

/// What one request or handshake uses: taken once, so a reload never mixes two configurations.
#[derive(Default)]
pub(crate) struct Active {
    pub tls: Option<Arc<ServerConfig>>,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub auth: Option<Arc<BasicAuth>>,
    pub rate_limit: Option<Arc<RateLimiter>>,
}

impl Active {
    fn from_config(config: &WebConfig) -> Active {
        Active {
            tls: config.tls.as_ref().map(|t| t.server.clone()),
            headers: config.headers.clone(),
            auth: config.auth.clone(),
            rate_limit: config.rate_limit.clone(),
        }
    }
}

pub(crate) struct LiveWeb {
    current: RwLock<Arc<Active>>,
    /// Whether the listener speaks TLS is fixed at start; a reload cannot switch it.
    pub tls: bool,
    /// `--web.health-open`.
    pub health_open: bool,
}

impl LiveWeb {
    pub(crate) fn new(config: Option<&WebConfig>, health_open: bool) -> LiveWeb {
        let active = config.map(Active::from_config).unwrap_or_default();
        LiveWeb {
            tls: active.tls.is_some(),
            current: RwLock::new(Arc::new(active)),
            health_open,
        }
    }

    pub(crate) fn current(&self) -> Arc<Active> {
        match self.current.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn replace(&self, config: &WebConfig) -> Result<(), String> {
        if config.tls_enabled() != self.tls {
            return Err(format!(
                "TLS cannot be turned {} while running; restart the exporter for that",
                if self.tls { "off" } else { "on" }
            ));
        }
        let active = Arc::new(Active::from_config(config));
        match self.current.write() {
            Ok(mut guard) => *guard = active,
            Err(poisoned) => *poisoned.into_inner() = active,
        }
        Ok(())
    }
}

/// Re-reads `file` whenever it or a file it names changes; a file that fails to load leaves the
/// running configuration in place and is logged once per change.
pub(crate) async fn watch(
    live: Arc<LiveWeb>,
    file: PathBuf,
    mut watched: Vec<FileStamp>,
    shutdown: CancellationToken,
) {
    let mut ticker = tokio::time::interval(RECHECK_INTERVAL);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = ticker.tick() => {}
        }
        let stamps = watched.clone();
        let changed = tokio::task::spawn_blocking(move || stamps.iter().any(FileStamp::changed))
            .await
            .unwrap_or(false);
        if !changed {
            continue;
        }
        let path = file.clone();
        let Ok(loaded) = tokio::task::spawn_blocking(move || load_recording(&path)).await else {
            continue;
        };
        match loaded {
            Ok(config) => {
                watched = config.stamps.clone();
                match live.replace(&config) {
                    Ok(()) => tracing::info!(
                        file = %file.display(),
                        tls = config.tls.as_ref().map(|t| t.summary.as_str()),
                        basic_auth_users = config.basic_auth_user_count(),
                        "web configuration reloaded"
                    ),
                    Err(reason) => tracing::error!(
                        file = %file.display(),
                        "web configuration not reloaded, the previous one stays in force: {reason}"
                    ),
                }
            }
            Err((error, stamps)) => {
                watched = stamps;
                tracing::error!("{error}; the previous web configuration stays in force");
            }
        }
    }
}
