//! What one API call is: the operation ([`Endpoint`]) and the record of its outcome ([`CallRecord`]).

use std::time::Duration;

/// The API operations we call; `label()` is the `endpoint` label value of the API metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Endpoint {
    /// `GET /api/atlas/v2/orgs/{orgId}/invites` ([`AtlasClient::list_org_invites`](crate::AtlasClient::list_org_invites)).
    ListOrgInvites,
    /// `GET /api/atlas/v2/orgs/{orgId}/users`, one call per page ([`AtlasClient::list_org_users`](crate::AtlasClient::list_org_users)).
    ListOrgUsers,
    /// `GET /api/atlas/v2/orgs`, one call per page ([`AtlasClient::list_orgs`](crate::AtlasClient::list_orgs)).
    ListOrgs,
    /// `POST /api/oauth/token`: a service account's token fetch, made inside another endpoint's call.
    OAuthToken,
}

impl Endpoint {
    /// Every endpoint, so metric series can exist (at zero) before the first call.
    pub fn all() -> [Endpoint; 4] {
        [
            Endpoint::ListOrgInvites,
            Endpoint::ListOrgUsers,
            Endpoint::ListOrgs,
            Endpoint::OAuthToken,
        ]
    }

    /// The `endpoint` label value: the operation in snake case, e.g. `list_org_invites`.
    pub fn label(self) -> &'static str {
        match self {
            Endpoint::ListOrgInvites => "list_org_invites",
            Endpoint::ListOrgUsers => "list_org_users",
            Endpoint::ListOrgs => "list_orgs",
            Endpoint::OAuthToken => "oauth_token",
        }
    }
}

/// One logical HTTP call and its outcome, for the API counters and the latency histogram.
/// A Digest challenge answered inside the call is part of the call.
#[derive(Clone, Debug, PartialEq)]
pub struct CallRecord {
    /// The operation called.
    pub endpoint: Endpoint,
    /// Final HTTP status; `None` when no response arrived (transport failure, timeout).
    pub status: Option<u16>,
    /// For failed calls, the unbounded error code (Atlas `errorCode`, our own code, or the OAuth `error`
    /// upper-cased). `None` for successful calls. Bounding it for labels is the caller's job.
    pub error_code: Option<String>,
    /// Wall-clock time of the call, up to its body being decoded. Token fetches made on the way have
    /// records of their own and are not counted here; a Digest challenge round trip is.
    pub duration: Duration,
}
