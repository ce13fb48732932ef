//! The validated, typed configuration: the shape the rest of the exporter reads. Its values and
//! their defaults are declared in `keys.rs` (which also implements `Default` where a type has one).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;

use crate::types::{ActiveSource, OrgId};

#[derive(Debug, Clone)]
pub struct Config {
    pub atlas: AtlasSettings,
    /// The credentials of every organisation without its own `[orgs.auth]`, and of discovery.
    /// `None` only when every configured organisation has its own and discovery is off.
    pub auth: Option<Credentials>,
    pub poll: PollSettings,
    pub metrics: MetricsSettings,
    pub orgs: Vec<OrgConfig>,
    pub discovery: DiscoverySettings,
    /// `None` when not sharded (one replica polls every organisation).
    pub sharding: Option<Sharding>,
    pub web: WebSettings,
    pub log: LogSettings,
    /// The file the configuration came from, if any (for messages).
    pub source_file: Option<PathBuf>,
    /// Problems that do not stop the exporter (a short interval against Atlas, a secret file readable
    /// by others), to be logged once logging is set up.
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct AtlasSettings {
    /// Scheme, host and optional port, no trailing slash: `https://cloud.mongodb.com`.
    pub base_url: String,
    pub timeout: Duration,
    pub max_response_bytes: u64,
    /// Which API lists invitations, unless an organisation overrides it.
    pub source: Source,
}

/// Where invitations are read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Source {
    /// The invitations API, switching an organisation to org users for good when the invitations
    /// API answers 410 `VERSION_GONE`, 404, or 403 for lack of the Organization Owner role.
    #[default]
    Auto,
    /// `GET /orgs/{orgId}/invites` (deprecated; needs Organization Owner).
    Invites,
    /// `GET /orgs/{orgId}/users` filtered to pending and expired invitations (needs Organization Member).
    OrgUsers,
}

impl Source {
    /// The API an organisation configured with this source starts on (`auto` starts on invitations).
    pub fn starts_on(self) -> ActiveSource {
        match self {
            Source::OrgUsers => ActiveSource::OrgUsers,
            Source::Auto | Source::Invites => ActiveSource::Invites,
        }
    }

    /// The value as written in the configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Auto => "auto",
            Source::Invites => "invites",
            Source::OrgUsers => "org_users",
        }
    }
}

/// `[discovery]`: poll every organisation the credentials can see, filtered.
#[derive(Debug, Clone, PartialEq)]
pub struct DiscoverySettings {
    pub enabled: bool,
    pub interval: Duration,
    /// Empty: include every visible organisation.
    pub include: Vec<OrgPattern>,
    pub exclude: Vec<OrgPattern>,
}

/// An organisation filter entry: a 24-hex-digit id, or a glob over the name (`*` and `?`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrgPattern {
    Id(OrgId),
    NameGlob(String),
}

impl OrgPattern {
    pub fn matches(&self, id: &OrgId, name: &str) -> bool {
        match self {
            OrgPattern::Id(wanted) => wanted == id,
            OrgPattern::NameGlob(glob) => glob_matches(glob.as_bytes(), name.as_bytes()),
        }
    }
}

/// `*` matches any run of bytes, `?` one byte; everything else matches itself. Case-sensitive.
fn glob_matches(glob: &[u8], text: &[u8]) -> bool {
    // Iterative matching with one backtrack point: linear enough for names of at most 64 characters.
    let (mut g, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match glob.get(g) {
            Some(b'*') => {
                star = Some((g, t));
                g += 1;
            }
            Some(&c) if c == b'?' || c == text[t] => {
                g += 1;
                t += 1;
            }
            _ => match star {
                Some((star_g, star_t)) => {
                    g = star_g + 1;
                    t = star_t + 1;
                    star = Some((star_g, star_t + 1));
                }
                None => return false,
            },
        }
    }
    glob[g..].iter().all(|&c| c == b'*')
}

/// `[sharding]`: this replica polls only the organisations whose shard is `index`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sharding {
    pub total: u32,
    /// 0-based, below `total`; resolved from the StatefulSet ordinal when configured as "from_hostname".
    pub index: u32,
}

impl Sharding {
    /// The shard of an organisation: its id read as a 96-bit hexadecimal number, modulo `total`.
    /// Any tool can compute it: `python3 -c "print(int('32b6e34b3d91647abb20e7b8', 16) % 3)"`.
    pub fn shard_of(total: u32, id: &OrgId) -> u32 {
        let value = u128::from_str_radix(id.as_str(), 16).unwrap_or(0);
        (value % u128::from(total.max(1))) as u32
    }

    pub fn owns(&self, id: &OrgId) -> bool {
        Sharding::shard_of(self.total, id) == self.index
    }
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

#[derive(Debug, Clone)]
pub struct OrgConfig {
    pub id: OrgId,
    pub name: Option<String>,
    /// Overrides `poll.interval` for this organisation.
    pub interval: Option<Duration>,
    /// Overrides `atlas.source` for this organisation.
    pub source: Option<Source>,
    /// This organisation's own credentials (`[orgs.auth]`); every Atlas credential belongs to one organisation.
    pub auth: Option<Credentials>,
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
    /// An organisation with every setting inherited.
    pub fn new(id: OrgId) -> OrgConfig {
        OrgConfig {
            id,
            name: None,
            interval: None,
            source: None,
            auth: None,
        }
    }

    pub fn interval(&self, poll: &PollSettings) -> Duration {
        self.interval.unwrap_or(poll.interval)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        for (glob, name, expected) in [
            ("*", "anything", true),
            ("Acme*", "Acme Production", true),
            ("Acme*", "The Acme", false),
            ("*Prod*", "Acme Production", true),
            ("a?c", "abc", true),
            ("a?c", "abbc", false),
            ("a*b*c", "aXbYbZc", true),
            ("a*b*c", "aXbYbZ", false),
            ("", "", true),
            ("", "x", false),
        ] {
            assert_eq!(
                glob_matches(glob.as_bytes(), name.as_bytes()),
                expected,
                "{glob} ~ {name}"
            );
        }
    }

    #[test]
    fn shards_are_the_id_modulo_total() {
        let id = OrgId::parse("32b6e34b3d91647abb20e7b8").unwrap();
        // int('32b6e34b3d91647abb20e7b8', 16) % 3 == 0 and % 7 == 1, as Python computes.
        assert_eq!(Sharding::shard_of(3, &id), 0);
        assert_eq!(Sharding::shard_of(7, &id), 1);
        assert_eq!(Sharding::shard_of(1, &id), 0);
    }
}
