//! The exporter's own service account secret: when its expiry is read (at most once per
//! `poll.slow_interval` per credential, by the poll of one organisation that uses it) and what the
//! reading hands to the metrics. A refusal here never fails the organisation's poll.

use tokio::time::Instant;

use atlas_client::{ApiError, AtlasClient, Authenticator, CallRecord};

use crate::metrics::store::Store;
use crate::poll::slow::SlowSchedule;
use crate::types::{CredentialSecret, OrgId};

/// When each service account's secret is next read, by client id.
pub type CredentialWatch = SlowSchedule<String>;

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
    let client_id = client_id.to_owned();
    // The authenticator's address: a reload that rotates the secret brings a new one.
    let reader = std::ptr::from_ref(auth) as usize;
    if !watch.claim(&client_id, reader, Instant::now()) {
        return;
    }
    let read = client
        .get_org_service_account(org.as_str(), &client_id, auth, deadline, calls)
        .await;
    match read {
        Ok(account) => {
            let secret = account.secret_in_use(auth).map(|secret| CredentialSecret {
                expires_at: secret.expires_at.as_second(),
                last_used_at: secret.last_used_at.map(|t| t.as_second()),
            });
            store.record_credential(&client_id, secret);
        }
        Err(error) if is_refusal(&error) => {
            if watch.first_refusal(&client_id) {
                tracing::warn!(
                    credential = %client_id,
                    %org,
                    status = error.status(),
                    error_code = %error.error_code(),
                    "cannot read this service account's secret expiry (GET /orgs/{{orgId}}/serviceAccounts/{{clientId}} \
                     needs Organization Read Only in an organisation the account belongs to); \
                     atlas_invites_credential_secret_expiry_timestamp_seconds stays absent for it"
                );
            }
            store.record_credential(&client_id, None);
        }
        Err(error) => {
            tracing::warn!(credential = %client_id, %org, %error, "reading the service account's secret expiry failed; the last reading is kept");
            watch.retry_soon(&client_id);
        }
    }
}

/// 403: the credential may not read the account here; 404: Atlas does not know it in this org.
fn is_refusal(error: &ApiError) -> bool {
    matches!(error.status(), Some(403 | 404))
}
