//! One poll of one organisation: which Atlas API to ask, and the automatic fallback from the
//! deprecated invitations API to the org-users API.
//!
//! With `source = "auto"` an organisation starts on the invitations API. When that answers 410
//! (`VERSION_GONE`: sunset) or 404, the organisation moves to the org-users API for good; on 403
//! (the credential lacks Organization Owner) it moves only if the org-users API answers. Either way
//! the same poll asks the org-users API at once, so the switch loses no poll.

use std::collections::HashSet;
use std::sync::Mutex;

use tokio::time::Instant;

use atlas_client::{ApiError, AtlasClient, Authenticator, CallRecord, InvitationSink, Listing};

use crate::config::Source;
use crate::types::{ActiveSource, OrgId};

/// Why an organisation left the invitations API.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SwitchReason {
    /// 410: the invitations API has been sunset.
    Gone,
    /// 404: the invitations path no longer exists.
    NotFound,
    /// 403: the credential lacks the Organization Owner role, and the org-users API answered.
    Forbidden,
}

impl SwitchReason {
    fn of(error: &ApiError) -> Option<SwitchReason> {
        match error.status() {
            Some(410) => Some(SwitchReason::Gone),
            Some(404) => Some(SwitchReason::NotFound),
            Some(403) => Some(SwitchReason::Forbidden),
            _ => None,
        }
    }

    pub fn describe(&self) -> &'static str {
        match self {
            SwitchReason::Gone => "the invitations API answered 410 Gone: it has been sunset",
            SwitchReason::NotFound => "the invitations API answered 404 Not Found",
            SwitchReason::Forbidden => {
                "the invitations API answered 403: the credential lacks the Organization Owner role it needs"
            }
        }
    }
}

/// The organisations that `auto` has moved to the org-users API, for the life of the process.
#[derive(Default)]
pub struct Fallbacks {
    switched: Mutex<HashSet<OrgId>>,
}

impl Fallbacks {
    pub fn is_switched(&self, org: &OrgId) -> bool {
        self.lock().contains(org)
    }

    fn switch(&self, org: &OrgId) {
        self.lock().insert(org.clone());
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashSet<OrgId>> {
        self.switched
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// What one fetch produced.
pub struct Fetched<S> {
    pub result: Result<Listing<S>, ApiError>,
    /// The API the result came from (the last one asked).
    pub source: ActiveSource,
    /// Set when this fetch moved the organisation to the org-users API.
    pub switched: Option<SwitchReason>,
}

/// One organisation to read, and how.
pub struct FetchRequest<'a> {
    pub org: &'a OrgId,
    /// As configured; `auto` follows `fallbacks`.
    pub source: Source,
    pub auth: &'a Authenticator,
    /// Retries never sleep past it.
    pub deadline: Instant,
}

/// Reads one organisation's invitations from its source into `into` (the listing that succeeds adds
/// to it; one that fails leaves it as it was). Every call made is appended to `calls`.
pub async fn fetch<S: InvitationSink>(
    client: &AtlasClient,
    fallbacks: &Fallbacks,
    request: FetchRequest<'_>,
    calls: &mut Vec<CallRecord>,
    into: S,
) -> Fetched<S> {
    let FetchRequest {
        org,
        source,
        auth,
        deadline,
    } = request;
    match source {
        Source::OrgUsers => Fetched {
            result: client
                .list_org_users(org.as_str(), auth, deadline, calls, into)
                .await,
            source: ActiveSource::OrgUsers,
            switched: None,
        },
        Source::Invites => Fetched {
            result: client
                .list_org_invites(org.as_str(), auth, deadline, calls, into)
                .await,
            source: ActiveSource::Invites,
            switched: None,
        },
        Source::Auto if fallbacks.is_switched(org) => Fetched {
            result: client
                .list_org_users(org.as_str(), auth, deadline, calls, into)
                .await,
            source: ActiveSource::OrgUsers,
            switched: None,
        },
        Source::Auto => {
            let invites = client
                .list_org_invites(org.as_str(), auth, deadline, calls, into.clone())
                .await;
            let reason = match &invites {
                Err(error) => SwitchReason::of(error),
                Ok(_) => None,
            };
            let Some(reason) = reason else {
                return Fetched {
                    result: invites,
                    source: ActiveSource::Invites,
                    switched: None,
                };
            };
            let users = client
                .list_org_users(org.as_str(), auth, deadline, calls, into)
                .await;
            // A 403 may be an IP access list or a missing role: only an answering org-users API proves
            // that the role was the problem. A 410 or 404 means the invitations API is gone regardless.
            if reason == SwitchReason::Forbidden && users.is_err() {
                return Fetched {
                    result: invites,
                    source: ActiveSource::Invites,
                    switched: None,
                };
            }
            fallbacks.switch(org);
            Fetched {
                result: users,
                source: ActiveSource::OrgUsers,
                switched: Some(reason),
            }
        }
    }
}
