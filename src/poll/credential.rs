//! The exporter's own service account secret: when its expiry is read (at most once per
//! `poll.slow_interval` per credential, by the poll of one organisation that uses it) and what the
//! reading hands to the metrics. A refusal here never fails the organisation's poll.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use atlas_client::{ApiError, AtlasClient, Authenticator, CallRecord};

use crate::metrics::store::Store;
use crate::types::{CredentialSecret, OrgId};

/// When each service account's secret is next read.
#[derive(Debug)]
pub struct CredentialWatch {
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    slow_interval: Duration,
    credentials: HashMap<String, Due>,
}

#[derive(Debug)]
struct Due {
    next: Instant,
    /// The authenticator that read it last: a new one for the same client id carries a new secret
    /// (a reload after a rotation), whose expiry is read at once.
    reader: usize,
    /// A refusal (403, 404) was logged: it is logged once, not every slow interval.
    refusal_logged: bool,
}

impl CredentialWatch {
    pub fn new(slow_interval: Duration) -> CredentialWatch {
        CredentialWatch {
            inner: Mutex::new(Inner {
                slow_interval,
                credentials: HashMap::new(),
            }),
        }
    }

    /// A reload's `poll.slow_interval`; readings already made keep their time.
    pub fn set_slow_interval(&self, slow_interval: Duration) {
        self.lock().slow_interval = slow_interval;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether `reader` reads `client_id`'s secret now: the first caller in a slow interval does,
    /// and a new authenticator for the client id at once.
    fn claim(&self, client_id: &str, reader: usize, now: Instant) -> bool {
        let mut inner = self.lock();
        let slow_interval = inner.slow_interval;
        let due = inner
            .credentials
            .entry(client_id.to_owned())
            .or_insert(Due {
                next: now,
                reader,
                refusal_logged: false,
            });
        if now < due.next && due.reader == reader {
            return false;
        }
        due.next = now + slow_interval;
        due.reader = reader;
        true
    }

    /// A failure that may pass (a timeout, a 5xx): the next poll that uses the credential tries again.
    fn retry_soon(&self, client_id: &str) {
        if let Some(due) = self.lock().credentials.get_mut(client_id) {
            due.next = Instant::now();
        }
    }

    /// True the first time a refusal is met for `client_id`.
    fn first_refusal(&self, client_id: &str) -> bool {
        self.lock()
            .credentials
            .get_mut(client_id)
            .is_some_and(|due| !std::mem::replace(&mut due.refusal_logged, true))
    }
}

/// Reads the expiry of the secret `auth` uses through `org`, if it is a service account and its
/// reading is due, and records it. Calls go to `calls`, counted under the organisation.
pub async fn read_if_due(
    watch: &CredentialWatch,
    client: &AtlasClient,
    store: &Store,
    org: &OrgId,
    auth: &Authenticator,
    deadline: Instant,
    calls: &mut Vec<CallRecord>,
) {
    let Some(client_id) = auth.service_account_id() else {
        return;
    };
    let reader = std::ptr::from_ref(auth) as usize;
    if !watch.claim(client_id, reader, Instant::now()) {
        return;
    }
    let read = client
        .get_org_service_account(org.as_str(), client_id, auth, deadline, calls)
        .await;
    match read {
        Ok(account) => {
            let secret = account.secret_in_use(auth).map(|secret| CredentialSecret {
                expires_at: secret.expires_at.as_second(),
                last_used_at: secret.last_used_at.map(|t| t.as_second()),
            });
            store.record_credential(client_id, secret);
        }
        Err(error) if is_refusal(&error) => {
            if watch.first_refusal(client_id) {
                tracing::warn!(
                    credential = client_id,
                    %org,
                    status = error.status(),
                    error_code = %error.error_code(),
                    "cannot read this service account's secret expiry (GET /orgs/{{orgId}}/serviceAccounts/{{clientId}} \
                     needs Organization Read Only in an organisation the account belongs to); \
                     atlas_invites_credential_secret_expiry_timestamp_seconds stays absent for it"
                );
            }
            store.record_credential(client_id, None);
        }
        Err(error) => {
            tracing::warn!(credential = client_id, %org, %error, "reading the service account's secret expiry failed; the last reading is kept");
            watch.retry_soon(client_id);
        }
    }
}

/// 403: the credential may not read the account here; 404: Atlas does not know it in this org.
fn is_refusal(error: &ApiError) -> bool {
    matches!(error.status(), Some(403 | 404))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_reading_per_slow_interval_per_credential() {
        let watch = CredentialWatch::new(Duration::from_secs(3600));
        let start = Instant::now();
        assert!(watch.claim("a", 1, start), "due at once");
        assert!(!watch.claim("a", 1, start + Duration::from_secs(60)));
        assert!(watch.claim("b", 1, start), "each credential on its own");
        assert!(watch.claim("a", 1, start + Duration::from_secs(3600)));
    }

    #[test]
    fn a_new_authenticator_for_the_same_client_id_reads_at_once() {
        let watch = CredentialWatch::new(Duration::from_secs(3600));
        let start = Instant::now();
        assert!(watch.claim("a", 1, start));
        assert!(watch.claim("a", 2, start + Duration::from_secs(1)), "a rotated secret");
        assert!(!watch.claim("a", 2, start + Duration::from_secs(2)));
    }

    #[test]
    fn a_refusal_is_logged_once() {
        let watch = CredentialWatch::new(Duration::from_secs(1));
        assert!(!watch.first_refusal("a"), "unknown credential");
        watch.claim("a", 1, Instant::now());
        assert!(watch.first_refusal("a"));
        assert!(!watch.first_refusal("a"));
    }
}
