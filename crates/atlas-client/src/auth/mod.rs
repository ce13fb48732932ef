//! Authentication for Atlas calls: a service account's bearer token or an API key's Digest response.
//!
//! [`Authenticator::send`] performs one logical API call with credentials, including the single
//! re-authentication a 401 allows (a fresh token, or a new Digest challenge). Token fetches are calls
//! of their own and are recorded as such; a Digest challenge round trip belongs to the call it answers.

mod digest;
mod oauth;

use std::fmt;

use reqwest::header::{self, HeaderValue};
use reqwest::{Response, StatusCode};
use tokio::time::Instant;

use crate::transport::{self, ApiRequest, Transport};
use crate::{ApiError, CallRecord};
use secrecy::{ExposeSecret as _, SecretString};

use digest::DigestSession;
#[doc(hidden)]
pub use digest::parse_challenge;
use oauth::TokenCache;

/// One per credential, shared by every organisation that uses it, so tokens and Digest challenges are too.
pub struct Authenticator {
    scheme: Scheme,
}

enum Scheme {
    ServiceAccount(TokenCache),
    ApiKey(DigestSession),
}

/// Why an authenticated call produced no response.
pub(crate) enum SendFailure {
    /// No API request was made: no token could be obtained (the token call has its own record),
    /// or the deadline had already passed.
    NotSent(ApiError),
    /// The API request was made and failed in transport (timeout, connection).
    Transport(ApiError),
}

impl Authenticator {
    /// A service account (OAuth 2.0 client credentials): bearer tokens fetched from
    /// `base_url/api/oauth/token`, cached until shortly before they expire.
    pub fn service_account(client_id: String, client_secret: SecretString) -> Authenticator {
        Authenticator {
            scheme: Scheme::ServiceAccount(TokenCache::new(client_id, client_secret)),
        }
    }

    /// A legacy programmatic API key: HTTP Digest, its challenge reused while Atlas accepts it.
    pub fn api_key(public_key: String, private_key: SecretString) -> Authenticator {
        Authenticator {
            scheme: Scheme::ApiKey(DigestSession::new(public_key, private_key)),
        }
    }

    /// The client id when this is a service account (not secret), None for an API key.
    pub fn service_account_id(&self) -> Option<&str> {
        match &self.scheme {
            Scheme::ServiceAccount(tokens) => Some(tokens.client_id()),
            Scheme::ApiKey(_) => None,
        }
    }

    /// A service account's secret, None for an API key. Crate-private: it is only ever compared
    /// with the masked values Atlas shows, never logged or handed out.
    pub(crate) fn service_account_secret(&self) -> Option<&SecretString> {
        match &self.scheme {
            Scheme::ServiceAccount(tokens) => Some(tokens.client_secret()),
            Scheme::ApiKey(_) => None,
        }
    }

    /// `error` with this credential's secret (client secret or private key) blanked wherever the
    /// response quoted it back.
    pub(crate) fn redact(&self, error: ApiError) -> ApiError {
        let secret = match &self.scheme {
            Scheme::ServiceAccount(tokens) => tokens.client_secret(),
            Scheme::ApiKey(session) => session.private_key(),
        };
        error.without_secret(secret.expose_secret())
    }

    /// Sends `request` with credentials and returns Atlas' response, whatever its status.
    /// Token fetches made on the way are appended to `calls`.
    pub(crate) async fn send(
        &self,
        transport: &Transport,
        request: &ApiRequest<'_>,
        deadline: Instant,
        calls: &mut Vec<CallRecord>,
    ) -> Result<Response, SendFailure> {
        match &self.scheme {
            Scheme::ServiceAccount(tokens) => {
                send_with_bearer(tokens, transport, request, deadline, calls).await
            }
            Scheme::ApiKey(session) => {
                send_with_digest(session, transport, request, deadline).await
            }
        }
    }
}

async fn send_with_bearer(
    tokens: &TokenCache,
    transport: &Transport,
    request: &ApiRequest<'_>,
    deadline: Instant,
    calls: &mut Vec<CallRecord>,
) -> Result<Response, SendFailure> {
    let token = tokens
        .token(transport, deadline, calls)
        .await
        .map_err(SendFailure::NotSent)?;
    let response = send_once(transport, request, deadline, Some(token.authorization())).await?;
    if response.status() != StatusCode::UNAUTHORIZED {
        return Ok(response);
    }
    // The token may have been revoked or expired early: replace it once, retry once.
    tokens.invalidate(token.generation()).await;
    match tokens.token(transport, deadline, calls).await {
        Ok(fresh) => {
            resend(
                transport,
                request,
                deadline,
                Some(fresh.authorization()),
                response,
            )
            .await
        }
        // The refusal is on record as a token call; the API call's own outcome stays the 401.
        Err(_) => Ok(response),
    }
}

async fn send_with_digest(
    session: &DigestSession,
    transport: &Transport,
    request: &ApiRequest<'_>,
    deadline: Instant,
) -> Result<Response, SendFailure> {
    // With a cached challenge this is the only round trip; without one it fetches the challenge.
    let preemptive = session.authorization(request.path_and_query);
    let response = send_once(transport, request, deadline, preemptive).await?;
    if response.status() != StatusCode::UNAUTHORIZED || !session.adopt_challenge(response.headers())
    {
        return Ok(response);
    }
    // A stale nonce, a first call, or wrong keys: answer the new challenge once. A second 401 is final.
    let answer = session.authorization(request.path_and_query);
    resend(transport, request, deadline, answer, response).await
}

/// The one re-authenticated retry inside a call. If the deadline leaves no time for it, the call's
/// outcome is the 401 already received.
async fn resend(
    transport: &Transport,
    request: &ApiRequest<'_>,
    deadline: Instant,
    authorization: Option<HeaderValue>,
    unauthorized: Response,
) -> Result<Response, SendFailure> {
    match send_once(transport, request, deadline, authorization).await {
        Err(SendFailure::NotSent(_)) => Ok(unauthorized),
        sent => sent,
    }
}

async fn send_once(
    transport: &Transport,
    request: &ApiRequest<'_>,
    deadline: Instant,
    authorization: Option<HeaderValue>,
) -> Result<Response, SendFailure> {
    let mut builder = transport
        .get(request, deadline)
        .map_err(SendFailure::NotSent)?;
    if let Some(authorization) = authorization {
        builder = builder.header(header::AUTHORIZATION, authorization);
    }
    transport::send(builder)
        .await
        .map_err(SendFailure::Transport)
}

impl fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.scheme {
            Scheme::ServiceAccount(tokens) => f
                .debug_tuple("Authenticator::ServiceAccount")
                .field(tokens)
                .finish(),
            Scheme::ApiKey(session) => f
                .debug_tuple("Authenticator::ApiKey")
                .field(session)
                .finish(),
        }
    }
}
