//! Facts of an organisation read beside its invitations, at most once per `poll.slow_interval` each
//! (its teams' names, its seats), by the organisation's own poll. A refusal (403, 404) is logged once
//! and forgets the fact, or keeps the value the reader holds for a refusal; any other failure keeps the last reading and tries again at the next poll.
//! Neither fails the poll; the calls are counted under the organisation like its other calls.
//!
//! A fact is one file in this folder (found by `automod`, no `mod` line) that registers a
//! [`FactReader`] in [`ORG_FACTS`]: its key, the role a refusal means is missing, and the call that
//! turns Atlas' answer into the metrics stage's value ([`crate::metrics::facts`]).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use tokio::time::Instant;

use atlas_client::{ApiError, AtlasClient, Authenticator, CallRecord};

use crate::metrics::facts::OrgFact;
use crate::metrics::store::FactUpdate;
use crate::poll::slow::SlowSchedule;
use crate::types::OrgId;

automod::dir!("src/poll/facts");

/// A reading in progress.
pub(crate) type Reading<'a> =
    Pin<Box<dyn Future<Output = Result<Arc<dyn OrgFact>, ApiError>> + Send + 'a>>;

/// One fact the poll of every organisation reads.
pub(crate) struct FactReader {
    /// The fact's key, as its value's [`OrgFact::key`].
    pub key: &'static str,
    /// The call, for the log of a refusal: `GET /orgs/{orgId}/teams`.
    pub call: &'static str,
    /// The Atlas role the call needs, for the log of a refusal.
    pub needs: &'static str,
    pub read: for<'a> fn(FactCall<'a>) -> Reading<'a>,
    /// The value kept when the call is refused, for a fact whose series mean something without
    /// Atlas' answer (teams: a pending invitee's team shows, unnamed); `None` forgets the fact.
    pub refused: Option<fn() -> Arc<dyn OrgFact>>,
}

/// Every fact an organisation's poll reads; each file of this folder adds its own.
#[linkme::distributed_slice]
pub(crate) static ORG_FACTS: [FactReader];

/// What a reading may use: the organisation's client, credential and deadline, and where its calls
/// are counted.
pub(crate) struct FactCall<'a> {
    pub client: &'a AtlasClient,
    pub org: &'a OrgId,
    pub auth: &'a Authenticator,
    pub deadline: Instant,
    pub calls: &'a mut Vec<CallRecord>,
}

/// Reads the facts of `org` that are due; what the poll hands over with its outcome.
pub(crate) async fn read_due(
    schedule: &SlowSchedule<String>,
    call: FactCall<'_>,
) -> Vec<FactUpdate> {
    let FactCall {
        client,
        org,
        auth,
        deadline,
        calls,
    } = call;
    // The authenticator's address: a reload that changes the credential reads at once.
    let reader = std::ptr::from_ref(auth) as usize;
    let mut updates = Vec::new();
    for fact in ORG_FACTS.iter() {
        let key = format!("{org}/{}", fact.key);
        if !schedule.claim(&key, reader, Instant::now()) {
            continue;
        }
        let call = FactCall {
            client,
            org,
            auth,
            deadline,
            calls: &mut *calls,
        };
        match (fact.read)(call).await {
            Ok(value) => updates.push(FactUpdate::Read(value)),
            Err(error) if matches!(error.status(), Some(403 | 404)) => {
                if schedule.first_refusal(&key) {
                    tracing::warn!(
                        %org,
                        fact = fact.key,
                        status = error.status(),
                        error_code = %error.error_code(),
                        "cannot read the organisation's {} ({} needs {}); its series stay absent",
                        fact.key,
                        fact.call,
                        fact.needs,
                    );
                }
                updates.push(match fact.refused {
                    Some(refused) => FactUpdate::Read(refused()),
                    None => FactUpdate::Forget(fact.key),
                });
            }
            Err(error) => {
                tracing::warn!(%org, fact = fact.key, %error, "reading the organisation's {} failed; the last reading is kept", fact.key);
                schedule.retry_soon(&key);
            }
        }
    }
    updates
}
