//! The validated, typed configuration: the shape the rest of the exporter reads. The plain sections
//! (`AtlasSettings`, `PollSettings`, …) are declared field by field with their keys in `keys.rs`, the
//! values that are more than a number or a string are in `values.rs`; both are re-exported here, so
//! that the whole result is named from one module. The types defined here are built by hand
//! (`validate.rs`, `orgs.rs`, `sharding.rs`, `credentials.rs`): their keys are read together.

use std::path::PathBuf;
use std::time::Duration;

use atlas_client::NetworkSettings;
use secrecy::{ExposeSecret, SecretString};

pub use super::keys::{
    AtlasSettings, AuditSettings, DiscoverySettings, LogSettings, MetricsSettings, PolicySettings,
    PollSettings, WebSettings,
};
pub use super::values::{
    ExpiryWindow, LogFormat, OrgPattern, ProjectInvitations, Source, TierRoles,
};
use crate::types::OrgId;

#[derive(Debug, Clone)]
pub struct Config {
    pub atlas: AtlasSettings,
    /// The credentials of every organisation without its own `[orgs.auth]`, and of discovery.
    /// `None` only when every configured organisation has its own and discovery is off.
    pub auth: Option<Credentials>,
    pub poll: PollSettings,
    pub metrics: MetricsSettings,
    pub policy: PolicySettings,
    pub audit: AuditSettings,
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

impl AtlasSettings {
    /// The proxy and certificate authorities the client is built with; an empty value is the
    /// declared default (the environment's proxies, no CA file).
    pub fn network(&self) -> NetworkSettings {
        NetworkSettings {
            proxy_url: Some(self.proxy_url.clone())
                .filter(|url| !url.expose_secret().trim().is_empty()),
            ca_file: (!self.ca_file.trim().is_empty()).then(|| PathBuf::from(&self.ca_file)),
            ca_only: self.ca_only,
        }
    }
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
pub struct OrgConfig {
    pub id: OrgId,
    pub name: Option<String>,
    /// Overrides `poll.interval` for this organisation.
    pub interval: Option<Duration>,
    /// Overrides `atlas.source` for this organisation.
    pub source: Option<Source>,
    /// Overrides `atlas.project_invitations` for this organisation.
    pub project_invitations: Option<ProjectInvitations>,
    /// This organisation's own credentials (`[orgs.auth]`); every Atlas credential belongs to one organisation.
    pub auth: Option<Credentials>,
}

impl OrgConfig {
    /// An organisation with every setting inherited.
    pub fn new(id: OrgId) -> OrgConfig {
        OrgConfig {
            id,
            name: None,
            interval: None,
            source: None,
            project_invitations: None,
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
    fn shards_are_the_id_modulo_total() {
        let id = OrgId::parse("32b6e34b3d91647abb20e7b8").unwrap();
        // int('32b6e34b3d91647abb20e7b8', 16) % 3 == 0 and % 7 == 1, as Python computes.
        assert_eq!(Sharding::shard_of(3, &id), 0);
        assert_eq!(Sharding::shard_of(7, &id), 1);
        assert_eq!(Sharding::shard_of(1, &id), 0);
    }
}
