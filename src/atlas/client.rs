//! `AtlasClient`: the HTTP calls to Atlas, with versioned Accept headers, body limits and retries.

use std::time::Duration;

use jiff::Timestamp;

use crate::atlas::{ApiError, Authenticator};
use crate::invitation::{Invitation, OrgId};

/// The API operations we call; `label()` is the `endpoint` label value of the API metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Endpoint {
    ListOrgInvites,
    OAuthToken,
}

impl Endpoint {
    pub fn label(self) -> &'static str {
        match self {
            Endpoint::ListOrgInvites => "list_org_invites",
            Endpoint::OAuthToken => "oauth_token",
        }
    }
}

/// One logical HTTP call and its outcome, for the API counters and the latency histogram.
/// A Digest challenge answered inside the call is part of the call.
#[derive(Clone, Debug, PartialEq)]
pub struct CallRecord {
    pub endpoint: Endpoint,
    /// Final HTTP status; `None` when no response arrived (transport failure, timeout).
    pub status: Option<u16>,
    /// For failed calls, the unbounded error code (Atlas `errorCode`, our own code, or the OAuth `error`
    /// upper-cased). `None` for successful calls. Bounding it for labels is the caller's job.
    pub error_code: Option<String>,
    pub duration: Duration,
}

/// Settings of the one HTTP client the process uses.
#[derive(Clone, Debug)]
pub struct ClientSettings {
    pub base_url: String,
    pub timeout: Duration,
    pub max_response_bytes: u64,
}

/// A successful listing and what the response headers said about the endpoint's future.
#[derive(Clone, Debug)]
pub struct Listing<T> {
    pub items: T,
    /// A `Deprecation` header was present.
    pub deprecated: bool,
    /// The `Sunset` header, when present and parseable (an HTTP-date).
    pub sunset: Option<Timestamp>,
}

pub struct AtlasClient {}

impl AtlasClient {
    pub fn new(_settings: ClientSettings) -> Result<AtlasClient, ApiError> {
        Ok(AtlasClient {})
    }

    /// `GET /api/atlas/v2/orgs/{orgId}/invites`, with retries that never sleep past `deadline`.
    /// Every call made (token fetches included) is appended to `calls`.
    pub async fn list_org_invites(
        &self,
        _org: &OrgId,
        _auth: &Authenticator,
        _deadline: tokio::time::Instant,
        _calls: &mut Vec<CallRecord>,
    ) -> Result<Listing<Vec<Invitation>>, ApiError> {
        Err(ApiError::InvalidResponse { reason: "not built yet".into() })
    }
}
