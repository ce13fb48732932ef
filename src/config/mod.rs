//! The validated, typed configuration: the only configuration type the rest of the exporter sees.
//!
//! [`load`] layers defaults, the TOML file, the environment and the command-line flags with figment,
//! then validates everything at once (see `validate.rs`), so a user sees every mistake in one run.

mod load;
mod validate;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;

use crate::invitation::OrgId;

pub use load::{ConfigError, ConfigErrors, Overrides, load, load_from};

/// Default listen address: port 10046, in the 10000+ block of the Prometheus port allocations.
pub const DEFAULT_LISTEN_ADDRESS: &str = "0.0.0.0:10046";
pub const DEFAULT_BASE_URL: &str = "https://cloud.mongodb.com";
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 32 * 1024 * 1024;
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(300);
pub const DEFAULT_CONCURRENCY: usize = 4;
pub const DEFAULT_JITTER: f64 = 0.1;
pub const DEFAULT_KEEP_STALE_FOR: Duration = Duration::from_secs(15 * 60);
pub const DEFAULT_EXPIRY_WINDOWS: [&str; 3] = ["24h", "72h", "168h"];
pub const DEFAULT_STALE_AGE: Duration = Duration::from_secs(7 * 24 * 3600);

#[derive(Debug, Clone)]
pub struct Config {
    pub atlas: AtlasSettings,
    /// The credentials used for every organisation.
    pub auth: Credentials,
    pub poll: PollSettings,
    pub metrics: MetricsSettings,
    pub orgs: Vec<OrgConfig>,
    pub web: WebSettings,
    pub log: LogSettings,
    /// The file the configuration came from, if any (for messages).
    pub source_file: Option<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct AtlasSettings {
    /// Scheme, host and optional port, no trailing slash: `https://cloud.mongodb.com`.
    pub base_url: String,
    pub timeout: Duration,
    pub max_response_bytes: u64,
}

/// Atlas API credentials. `Debug` never shows the secret (secrecy redacts it).
#[derive(Debug, Clone)]
pub enum Credentials {
    /// OAuth 2.0 client credentials (recommended).
    ServiceAccount {
        client_id: String,
        client_secret: SecretString,
    },
    /// Legacy programmatic API key, HTTP Digest.
    ApiKey {
        public_key: String,
        private_key: SecretString,
    },
}

impl Credentials {
    /// A label for logs and the check table: never the secret.
    pub fn describe(&self) -> String {
        match self {
            Credentials::ServiceAccount { client_id, .. } => format!("service account {client_id}"),
            Credentials::ApiKey { public_key, .. } => format!("API key {public_key}"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct PollSettings {
    pub interval: Duration,
    pub concurrency: usize,
    /// Fraction of the interval, 0.0 to 0.5.
    pub jitter: f64,
    pub keep_stale_for: Duration,
}

#[derive(Debug, Clone)]
pub struct MetricsSettings {
    pub expiry_windows: Vec<ExpiryWindow>,
    pub stale_age: Duration,
}

/// An expiry window as written in the config (`"24h"`), which is also its `within` label value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpiryWindow {
    pub label: String,
    pub duration: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OrgConfig {
    pub id: OrgId,
    pub name: Option<String>,
    /// Overrides `poll.interval` for this organisation.
    pub interval: Option<Duration>,
}

#[derive(Debug, Clone)]
pub struct WebSettings {
    pub listen_address: SocketAddr,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone)]
pub struct LogSettings {
    /// A tracing filter directive: `info`, `debug`, `atlas_invites_exporter=debug,info`.
    pub level: String,
    pub format: LogFormat,
}

impl OrgConfig {
    pub fn interval(&self, poll: &PollSettings) -> Duration {
        self.interval.unwrap_or(poll.interval)
    }
}
