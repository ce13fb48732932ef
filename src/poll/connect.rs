//! How the poll stage reaches Atlas: the client's settings from the configuration, and one
//! [`Authenticator`] per credential, kept across reloads while the credential (secret included) is.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use atlas_client::{Authenticator, ClientSettings};
use secrecy::{ExposeSecret, SecretString};

use crate::config::{AtlasSettings, Config, Credentials, OrgConfig, PollSettings};

/// The Atlas client's settings for `[atlas]`.
pub fn client_settings(atlas: &AtlasSettings) -> ClientSettings {
    ClientSettings {
        base_url: atlas.base_url.clone(),
        timeout: atlas.timeout,
        max_response_bytes: atlas.max_response_bytes,
        user_agent: format!("{}/{}", crate::NAME, crate::VERSION),
        network: atlas.network(),
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

/// A credential's identity, its secret included: two are equal only when a token or Digest session
/// obtained with one is what the other would obtain, so a rotated secret under the same id is a new
/// credential. Deliberately neither `Debug` nor `Display`: the secret is compared, never shown.
#[derive(Clone)]
pub(crate) struct CredentialId {
    /// Kind and id, e.g. `service-account:mdb_sa_id_1`.
    label: String,
    secret: SecretString,
}

impl CredentialId {
    pub(crate) fn of(credentials: &Credentials) -> CredentialId {
        let (label, secret) = match credentials {
            Credentials::ServiceAccount {
                client_id,
                client_secret,
            } => (format!("service-account:{client_id}"), client_secret),
            Credentials::ApiKey {
                public_key,
                private_key,
            } => (format!("api-key:{public_key}"), private_key),
        };
        CredentialId {
            label,
            secret: secret.clone(),
        }
    }
}

impl PartialEq for CredentialId {
    fn eq(&self, other: &CredentialId) -> bool {
        self.label == other.label && self.secret.expose_secret() == other.secret.expose_secret()
    }
}

impl Eq for CredentialId {}

impl std::hash::Hash for CredentialId {
    /// The label only: equal identities have equal labels, and the secret stays out of every hasher.
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.label.hash(state);
    }
}

/// Whether two configured organisations are configured alike, their credentials' secrets included.
pub(crate) fn same_org_config(a: &OrgConfig, b: &OrgConfig) -> bool {
    a.id == b.id
        && a.name == b.name
        && a.interval == b.interval
        && a.source == b.source
        && a.project_invitations == b.project_invitations
        && a.auth.as_ref().map(CredentialId::of) == b.auth.as_ref().map(CredentialId::of)
}

/// One [`Authenticator`] per credential, so organisations sharing a credential share its token or
/// Digest challenge.
pub struct Authenticators {
    /// Tokens and Digest nonces are only good at the server that issued them.
    base_url: String,
    default: Option<(CredentialId, Arc<Authenticator>)>,
    by_credential: Mutex<HashMap<CredentialId, Arc<Authenticator>>>,
}

impl Authenticators {
    pub fn new(config: &Config) -> Authenticators {
        Authenticators::renewed(config, None)
    }

    /// The authenticators of `config`, taking from `previous` (a reload's running set) every one
    /// whose credential is unchanged, with its cached token or Digest session: a reload that keeps
    /// a credential costs no token request.
    pub fn renewed(config: &Config, previous: Option<&Authenticators>) -> Authenticators {
        let previous = previous.filter(|p| p.base_url == config.atlas.base_url);
        let reuse = |credentials: &Credentials| {
            let id = CredentialId::of(credentials);
            let kept = previous.and_then(|p| p.find(&id));
            let authenticator = kept.unwrap_or_else(|| Arc::new(authenticator(credentials)));
            (id, authenticator)
        };
        let default = config.auth.as_ref().map(reuse);
        let by_credential = config
            .orgs
            .iter()
            .filter_map(|org| org.auth.as_ref())
            .map(reuse)
            .collect();
        Authenticators {
            base_url: config.atlas.base_url.clone(),
            default,
            by_credential: Mutex::new(by_credential),
        }
    }

    fn find(&self, id: &CredentialId) -> Option<Arc<Authenticator>> {
        if let Some((default_id, authenticator)) = &self.default
            && default_id == id
        {
            return Some(authenticator.clone());
        }
        let by_credential = self.by_credential.lock().unwrap_or_else(|p| p.into_inner());
        by_credential.get(id).cloned()
    }

    /// The organisation's own credential if it has one, else the global one.
    pub fn for_org(&self, org: &OrgConfig) -> Option<Arc<Authenticator>> {
        let Some(credentials) = &org.auth else {
            return self.default_credential();
        };
        let mut by_credential = self.by_credential.lock().unwrap_or_else(|p| p.into_inner());
        let authenticator = by_credential
            .entry(CredentialId::of(credentials))
            .or_insert_with(|| Arc::new(authenticator(credentials)));
        Some(authenticator.clone())
    }

    /// The global credential, used by discovery.
    pub fn default_credential(&self) -> Option<Arc<Authenticator>> {
        self.default
            .as_ref()
            .map(|(_, authenticator)| authenticator.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service_account(id: &str, secret: &str) -> Credentials {
        Credentials::ServiceAccount {
            client_id: id.into(),
            client_secret: secret.to_owned().into(),
        }
    }

    #[test]
    fn a_credential_is_its_kind_id_and_secret() {
        let id = |c: &Credentials| CredentialId::of(c);
        let a = service_account("mdb_sa_id_1", "very-secret");
        assert!(id(&a) == id(&a.clone()));
        assert!(id(&a) != id(&service_account("mdb_sa_id_1", "rotated-secret")));
        assert!(id(&a) != id(&service_account("mdb_sa_id_2", "very-secret")));
        let key = Credentials::ApiKey {
            public_key: "mdb_sa_id_1".into(),
            private_key: "very-secret".to_owned().into(),
        };
        assert!(id(&a) != id(&key));
    }

    fn config_with(global: Credentials, own: Credentials) -> Config {
        let mut config =
            crate::config::load_from(&crate::config::Overrides::default(), true, vec![])
                .expect("the demo configuration");
        config.auth = Some(global);
        config.orgs = vec![OrgConfig {
            auth: Some(own),
            ..OrgConfig::new(crate::types::OrgId::parse("32b6e34b3d91647abb20e7b8").unwrap())
        }];
        config
    }

    #[test]
    fn a_renewal_keeps_the_unchanged_credentials_and_replaces_the_rotated_one() {
        let first = config_with(service_account("g", "1"), service_account("o", "1"));
        let old = Authenticators::new(&first);
        let rotated = config_with(service_account("g", "1"), service_account("o", "2"));
        let new = Authenticators::renewed(&rotated, Some(&old));
        let global = |a: &Authenticators| a.default_credential().unwrap();
        let own = |a: &Authenticators, config: &Config| a.for_org(&config.orgs[0]).unwrap();
        assert!(Arc::ptr_eq(&global(&old), &global(&new)));
        assert!(!Arc::ptr_eq(&own(&old, &first), &own(&new, &rotated)));
        let again = Authenticators::renewed(&rotated, Some(&new));
        assert!(Arc::ptr_eq(&own(&new, &rotated), &own(&again, &rotated)));

        let mut elsewhere = rotated.clone();
        elsewhere.atlas.base_url = "https://cloud.mongodbgov.com".into();
        let moved = Authenticators::renewed(&elsewhere, Some(&again));
        assert!(
            !Arc::ptr_eq(&global(&again), &global(&moved)),
            "a token is only good at the server that issued it"
        );
    }

    #[test]
    fn the_shortest_poll_interval_counts_the_global_one_and_every_override() {
        let seconds = Duration::from_secs;
        let poll = PollSettings {
            interval: seconds(300),
            concurrency: 1,
            jitter: 0.0,
            keep_stale_for: seconds(3600),
            slow_interval: seconds(3600),
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
