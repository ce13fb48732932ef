//! How the poll stage reaches Atlas: the client's settings from the configuration, and one
//! [`Authenticator`] per credential.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use atlas_client::{Authenticator, ClientSettings};

use crate::config::{AtlasSettings, Config, Credentials, OrgConfig, PollSettings};

/// The Atlas client's settings for `[atlas]`.
pub fn client_settings(atlas: &AtlasSettings) -> ClientSettings {
    ClientSettings {
        base_url: atlas.base_url.clone(),
        timeout: atlas.timeout,
        max_response_bytes: atlas.max_response_bytes,
        user_agent: format!("{}/{}", crate::NAME, crate::VERSION),
    }
}

/// The shortest interval any organisation is polled at (discovered ones poll at `poll.interval`),
/// which bounds the client's retry backoff: [`atlas_client::AtlasClient::with_poll_interval`].
pub fn shortest_poll_interval(poll: &PollSettings, orgs: &[OrgConfig]) -> Duration {
    orgs.iter()
        .map(|org| org.interval(poll))
        .fold(poll.interval, Duration::min)
}

fn authenticator(credentials: &Credentials) -> Authenticator {
    match credentials {
        Credentials::ServiceAccount {
            client_id,
            client_secret,
        } => Authenticator::service_account(client_id.clone(), client_secret.clone()),
        Credentials::ApiKey {
            public_key,
            private_key,
        } => Authenticator::api_key(public_key.clone(), private_key.clone()),
    }
}

/// One [`Authenticator`] per credential, so organisations sharing a credential share its token or
/// Digest challenge.
pub struct Authenticators {
    default: Option<Arc<Authenticator>>,
    by_credential: Mutex<HashMap<String, Arc<Authenticator>>>,
}

impl Authenticators {
    pub fn new(config: &Config) -> Authenticators {
        let authenticators = Authenticators {
            default: config.auth.as_ref().map(|c| Arc::new(authenticator(c))),
            by_credential: Mutex::new(HashMap::new()),
        };
        for org in &config.orgs {
            authenticators.for_org(org);
        }
        authenticators
    }

    /// The organisation's own credential if it has one, else the global one.
    pub fn for_org(&self, org: &OrgConfig) -> Option<Arc<Authenticator>> {
        let Some(credentials) = &org.auth else {
            return self.default.clone();
        };
        let mut by_credential = self.by_credential.lock().unwrap_or_else(|p| p.into_inner());
        let authenticator = by_credential
            .entry(credential_key(credentials))
            .or_insert_with(|| Arc::new(authenticator(credentials)));
        Some(authenticator.clone())
    }

    /// The global credential, used by discovery.
    pub fn default_credential(&self) -> Option<Arc<Authenticator>> {
        self.default.clone()
    }
}

/// Identifies a credential without its secret.
pub(crate) fn credential_key(credentials: &Credentials) -> String {
    match credentials {
        Credentials::ServiceAccount { client_id, .. } => format!("service-account:{client_id}"),
        Credentials::ApiKey { public_key, .. } => format!("api-key:{public_key}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_identified_without_their_secret() {
        let key = credential_key(&Credentials::ServiceAccount {
            client_id: "mdb_sa_id_1".into(),
            client_secret: "very-secret".to_owned().into(),
        });
        assert_eq!(key, "service-account:mdb_sa_id_1");
    }

    #[test]
    fn the_shortest_poll_interval_counts_the_global_one_and_every_override() {
        let seconds = Duration::from_secs;
        let poll = PollSettings {
            interval: seconds(300),
            concurrency: 1,
            jitter: 0.0,
            keep_stale_for: seconds(3600),
        };
        let org = |interval: Option<u64>| OrgConfig {
            interval: interval.map(seconds),
            ..OrgConfig::new(crate::types::OrgId::parse("32b6e34b3d91647abb20e7b8").unwrap())
        };
        assert_eq!(shortest_poll_interval(&poll, &[]), seconds(300));
        assert_eq!(
            shortest_poll_interval(&poll, &[org(None), org(Some(600))]),
            seconds(300)
        );
        assert_eq!(
            shortest_poll_interval(&poll, &[org(Some(600)), org(Some(2)), org(None)]),
            seconds(2)
        );
    }
}
