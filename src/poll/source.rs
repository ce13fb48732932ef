//! One poll of one organisation: which Atlas API to ask, and the automatic fallback from the
//! deprecated invitations API to the org-users API.
//!
//! With `source = "auto"` an organisation starts on the invitations API. When that answers 410
//! (`VERSION_GONE`: sunset) the organisation moves to the org-users API for good. A 404 is either a
//! retired path or an organisation Atlas does not know, and only the org-users API can tell them
//! apart: the organisation moves only if that API answers, and a 404 from it too means a wrong
//! organisation id (so does a 404 whose `errorCode` names the organisation: no fallback is tried).
//! On 403 (the credential lacks Organization Owner) it moves only if the org-users API answers.
//! Either way the same poll asks the org-users API at once, so the switch loses no poll; while the
//! fallback is tried and fails, the poll reports the org-users API and its error, the last call made.

use std::collections::HashSet;
use std::sync::Mutex;

use tokio::time::Instant;

use atlas_client::{ApiError, AtlasClient, Authenticator, CallRecord, InvitationSink, Listing};

use crate::config::Source;
use crate::types::{ActiveSource, OrgId};

/// `errorCode`s of a 404 that name the organisation rather than the path. Atlas documents no such
/// code (reference: `ORG_NOT_FOUND` and `INVALID_ORG_ID` are unconfirmed, and the documented 404 is
/// the generic `RESOURCE_NOT_FOUND`): if Atlas sends one, no fallback is needed to know the id is wrong.
const UNKNOWN_ORG_CODES: [&str; 2] = ["ORG_NOT_FOUND", "INVALID_ORG_ID"];

/// What the log and `check` say for an organisation Atlas does not know.
const UNKNOWN_ORG_HINT: &str = "Atlas knows no organisation with this id (404): check the organisation id in the configuration";

/// Why an organisation left the invitations API.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SwitchReason {
    /// 410: the invitations API has been sunset.
    Gone,
    /// 404 for the invitations path, while the org-users API answered: the path no longer exists.
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
            SwitchReason::NotFound => {
                "the invitations API answered 404 Not Found for an organisation the org-users API knows"
            }
            SwitchReason::Forbidden => {
                "the invitations API answered 403: the credential lacks the Organization Owner role it needs"
            }
        }
    }
}

/// A 404 that Atlas says is about the organisation.
fn names_unknown_org(error: &ApiError) -> bool {
    matches!(error, ApiError::Status { status: 404, error_code: Some(code), .. }
        if UNKNOWN_ORG_CODES.contains(&code.as_str()))
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
    /// The API the result came from: the last one asked, so that the source the metrics and the log
    /// show is the one whose call they count.
    pub source: ActiveSource,
    /// Set when this fetch moved the organisation to the org-users API.
    pub switched: Option<SwitchReason>,
    /// The invitations API's answer when it sent this fetch to the org-users API, which then failed
    /// too (and `result` is that failure).
    pub fallback_from: Option<ApiError>,
    /// Atlas does not know the organisation: its id is wrong, or the organisation was deleted.
    pub unknown_org: bool,
}

impl<S> Fetched<S> {
    fn from(result: Result<Listing<S>, ApiError>, source: ActiveSource) -> Fetched<S> {
        // The org-users API is the current one: a 404 from it is about the organisation, not the path.
        let unknown_org = match &result {
            Err(error) => {
                names_unknown_org(error)
                    || (source == ActiveSource::OrgUsers && error.status() == Some(404))
            }
            Ok(_) => false,
        };
        Fetched {
            result,
            source,
            switched: None,
            fallback_from: None,
            unknown_org,
        }
    }

    /// What a failed fetch means beyond its error code, for the log and `check`; `None` when the
    /// error says it all.
    pub fn explanation(&self) -> Option<String> {
        if self.result.is_ok() {
            return None;
        }
        if self.unknown_org {
            return Some(UNKNOWN_ORG_HINT.to_owned());
        }
        self.fallback_from.as_ref().map(|first| {
            format!(
                "the invitations API answered {first}; the org-users API, tried in its place, failed too"
            )
        })
    }
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
        Source::OrgUsers => Fetched::from(
            client
                .list_org_users(org.as_str(), auth, deadline, calls, into)
                .await,
            ActiveSource::OrgUsers,
        ),
        Source::Invites => Fetched::from(
            client
                .list_org_invites(org.as_str(), auth, deadline, calls, into)
                .await,
            ActiveSource::Invites,
        ),
        Source::Auto if fallbacks.is_switched(org) => Fetched::from(
            client
                .list_org_users(org.as_str(), auth, deadline, calls, into)
                .await,
            ActiveSource::OrgUsers,
        ),
        Source::Auto => {
            let invites = client
                .list_org_invites(org.as_str(), auth, deadline, calls, into.clone())
                .await;
            let first = match invites {
                Err(error) if !names_unknown_org(&error) => error,
                invites => return Fetched::from(invites, ActiveSource::Invites),
            };
            let Some(reason) = SwitchReason::of(&first) else {
                return Fetched::from(Err(first), ActiveSource::Invites);
            };
            let users = client
                .list_org_users(org.as_str(), auth, deadline, calls, into)
                .await;
            // A 410 means the invitations API is gone whatever the org-users API answers. A 404 may be
            // an organisation Atlas does not know, and a 403 an IP access list rather than a missing
            // role: only an answering org-users API proves that the invitations API was the problem.
            if reason == SwitchReason::Gone || users.is_ok() {
                fallbacks.switch(org);
                return Fetched {
                    switched: Some(reason),
                    ..Fetched::from(users, ActiveSource::OrgUsers)
                };
            }
            // A 404 from the org-users API too makes `unknown_org`: the id is wrong, not the path.
            Fetched {
                fallback_from: Some(first),
                ..Fetched::from(users, ActiveSource::OrgUsers)
            }
        }
    }
}
