//! `AtlasClient`: the HTTP calls to Atlas, with versioned Accept headers, body limits and retries.
//!
//! Every endpoint goes through [`AtlasClient::get`]: authentication, the retry loop, one
//! [`CallRecord`] per attempt, the bounded body read and the lifecycle headers. An endpoint adds a
//! method naming its path and media type, and a decoder in `model.rs`.

use std::fmt;
use std::time::Duration;

use jiff::Timestamp;
use rand::Rng;
use reqwest::Response;
use tokio::time::Instant;

use crate::atlas::auth::SendFailure;
use crate::atlas::model;
use crate::atlas::retry::RetryPolicy;
use crate::atlas::transport::{self, ApiRequest, BodyError, Lifecycle, Transport};
use crate::atlas::{ApiError, Authenticator};
use crate::invitation::{Invitation, OrgId};

/// `listOrgInvites` has exactly one resource version.
const ORG_INVITES_MEDIA_TYPE: &str = "application/vnd.atlas.2023-01-01+json";

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
    /// The organisation's name as the response gave it (`orgName` of any invitation), if it did.
    pub org_name: Option<String>,
    /// A `Deprecation` header was present.
    pub deprecated: bool,
    /// The `Sunset` header, when present and parseable (an HTTP-date).
    pub sunset: Option<Timestamp>,
}

/// A decoded success body and the lifecycle headers that came with it.
struct Fetched<T> {
    value: T,
    lifecycle: Lifecycle,
}

pub struct AtlasClient {
    transport: Transport,
    max_response_bytes: u64,
    retry: RetryPolicy,
}

impl AtlasClient {
    pub fn new(settings: ClientSettings) -> Result<AtlasClient, ApiError> {
        Ok(AtlasClient {
            transport: Transport::new(&settings.base_url, settings.timeout)?,
            max_response_bytes: settings.max_response_bytes,
            retry: RetryPolicy::DEFAULT,
        })
    }

    /// `GET /api/atlas/v2/orgs/{orgId}/invites`, with retries that never sleep past `deadline`.
    /// Every call made (token fetches included) is appended to `calls`.
    pub async fn list_org_invites(
        &self,
        org: &OrgId,
        auth: &Authenticator,
        deadline: Instant,
        calls: &mut Vec<CallRecord>,
    ) -> Result<Listing<Vec<Invitation>>, ApiError> {
        let path = format!("/api/atlas/v2/orgs/{org}/invites");
        let request = ApiRequest {
            endpoint: Endpoint::ListOrgInvites,
            path_and_query: &path,
            accept: ORG_INVITES_MEDIA_TYPE,
        };
        let fetched = self
            .get(
                &request,
                auth,
                deadline,
                calls,
                model::parse_org_invitations,
            )
            .await?;
        Ok(Listing {
            items: fetched.value.invitations,
            org_name: fetched.value.org_name,
            deprecated: fetched.lifecycle.deprecated,
            sunset: fetched.lifecycle.sunset,
        })
    }

    /// One logical GET with up to `retry.max_attempts` attempts, each recorded in `calls`.
    async fn get<T>(
        &self,
        request: &ApiRequest<'_>,
        auth: &Authenticator,
        deadline: Instant,
        calls: &mut Vec<CallRecord>,
        decode: fn(&[u8]) -> Result<T, ApiError>,
    ) -> Result<Fetched<T>, ApiError> {
        let mut failed_attempts = 0;
        loop {
            let error = match self.attempt(request, auth, deadline, calls, decode).await {
                Ok(fetched) => return Ok(fetched),
                Err(error) => error,
            };
            failed_attempts += 1;
            let time_left = deadline.saturating_duration_since(Instant::now());
            let jitter = rand::rng().random::<f64>();
            let Some(wait) =
                self.retry
                    .wait_before_retry(failed_attempts, &error, time_left, jitter)
            else {
                return Err(error);
            };
            tracing::debug!(
                endpoint = request.endpoint.label(),
                error_code = %error.error_code(),
                attempt = failed_attempts,
                ?wait,
                "retrying Atlas call"
            );
            tokio::time::sleep(wait).await;
        }
    }

    /// One attempt: credentials, request, body, decoding. Records the API call (not the token fetches,
    /// which record themselves) with the time spent on it alone.
    async fn attempt<T>(
        &self,
        request: &ApiRequest<'_>,
        auth: &Authenticator,
        deadline: Instant,
        calls: &mut Vec<CallRecord>,
        decode: fn(&[u8]) -> Result<T, ApiError>,
    ) -> Result<Fetched<T>, ApiError> {
        let started = Instant::now();
        let records_before = calls.len();
        let (status, outcome) = match auth.send(&self.transport, request, deadline, calls).await {
            Err(SendFailure::NotSent(error)) => return Err(error),
            Err(SendFailure::Transport(error)) => (None, Err(error)),
            Ok(response) => (
                Some(response.status().as_u16()),
                self.receive(response, decode).await,
            ),
        };
        let token_time: Duration = calls[records_before..]
            .iter()
            .map(|call| call.duration)
            .sum();
        calls.push(CallRecord {
            endpoint: request.endpoint,
            status,
            error_code: outcome.as_ref().err().map(ApiError::error_code),
            duration: started.elapsed().saturating_sub(token_time),
        });
        outcome
    }

    async fn receive<T>(
        &self,
        mut response: Response,
        decode: fn(&[u8]) -> Result<T, ApiError>,
    ) -> Result<Fetched<T>, ApiError> {
        if !response.status().is_success() {
            return Err(transport::status_error(response).await);
        }
        let lifecycle = Lifecycle::from_headers(response.headers());
        let body = transport::read_at_most(&mut response, self.max_response_bytes)
            .await
            .map_err(|error| match error {
                BodyError::TooLarge => ApiError::BodyTooLarge {
                    limit: self.max_response_bytes,
                },
                BodyError::Transport(error) => error,
            })?;
        Ok(Fetched {
            value: decode(&body)?,
            lifecycle,
        })
    }

    /// Shortens the backoff so retry tests run in milliseconds; the policy itself is tested in `retry`.
    #[cfg(test)]
    pub(crate) fn with_retry_policy(mut self, retry: RetryPolicy) -> AtlasClient {
        self.retry = retry;
        self
    }
}

impl fmt::Debug for AtlasClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AtlasClient")
            .field("base_url", &self.transport.base_url())
            .field("timeout", &self.transport.timeout())
            .field("max_response_bytes", &self.max_response_bytes)
            .field("retry", &self.retry)
            .finish()
    }
}
