//! The OAuth 2.0 client-credentials token of one service account, fetched once and shared.
//!
//! The cache sits behind a `tokio::sync::Mutex` held across the token POST, so however many
//! organisations poll at once, one fetch is in flight and the others wait for (and share) its outcome.
//! Atlas allows 50 token requests a minute and 100 live tokens per service account: never mint one per poll.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use reqwest::header::{self, HeaderValue};
use secrecy::zeroize::Zeroizing;
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::model::{OAuthErrorBody, TokenResponse, parse_json};
use crate::transport::{self, BodyError, ERROR_BODY_LIMIT, Transport, sensitive_header};
use crate::{ApiError, CallRecord, Endpoint};

pub(crate) const TOKEN_PATH: &str = "/api/oauth/token";
/// Refresh a token when less than this remains (or a tenth of its lifetime, if shorter).
const MAX_REFRESH_MARGIN: Duration = Duration::from_secs(60);

pub(crate) struct TokenCache {
    client_id: String,
    client_secret: SecretString,
    state: Mutex<TokenState>,
    /// Fetches finished so far; read before queueing on the lock, it tells a waiter whether a fetch
    /// completed while it waited, so it shares that fetch's failure instead of starting another.
    fetches_finished: AtomicU64,
}

#[derive(Default)]
struct TokenState {
    current: Option<CachedToken>,
    last_failure: Option<ApiError>,
    generation: u64,
}

struct CachedToken {
    access_token: SecretString,
    generation: u64,
    refresh_at: Instant,
}

/// A token handed to one call; `generation` identifies it for [`TokenCache::invalidate`].
pub(crate) struct BearerToken {
    access_token: SecretString,
    generation: u64,
}

impl BearerToken {
    pub(crate) fn authorization(&self) -> HeaderValue {
        let value = format!("Bearer {}", self.access_token.expose_secret());
        // Token characters are base64url/JWT; a token that is not a valid header value gets an empty
        // header (a 401), never a panic.
        sensitive_header(&value).unwrap_or_else(|| HeaderValue::from_static(""))
    }

    pub(crate) fn generation(&self) -> u64 {
        self.generation
    }
}

impl TokenCache {
    pub(crate) fn new(client_id: String, client_secret: SecretString) -> TokenCache {
        TokenCache {
            client_id,
            client_secret,
            state: Mutex::default(),
            fetches_finished: AtomicU64::new(0),
        }
    }

    pub(crate) fn client_id(&self) -> &str {
        &self.client_id
    }

    pub(crate) fn client_secret(&self) -> &SecretString {
        &self.client_secret
    }

    /// The cached token while it is fresh; otherwise one fetch (recorded in `calls`) for all waiters.
    pub(crate) async fn token(
        &self,
        transport: &Transport,
        deadline: Instant,
        calls: &mut Vec<CallRecord>,
    ) -> Result<BearerToken, ApiError> {
        let fetches_before_waiting = self.fetches_finished.load(Ordering::Acquire);
        // Another poll's fetch may hold the lock for its whole timeout; ours must not outlive our deadline.
        let mut state = tokio::time::timeout_at(deadline, self.state.lock())
            .await
            .map_err(|_| ApiError::Timeout)?;
        if let Some(current) = &state.current
            && Instant::now() < current.refresh_at
        {
            return Ok(BearerToken {
                access_token: current.access_token.clone(),
                generation: current.generation,
            });
        }
        if self.fetches_finished.load(Ordering::Acquire) != fetches_before_waiting
            && let Some(failure) = &state.last_failure
        {
            return Err(failure.clone());
        }

        let fetched = self.fetch(transport, deadline, calls).await;
        self.fetches_finished.fetch_add(1, Ordering::Release);
        match fetched {
            Ok(Fetched {
                access_token,
                expires_in,
                fetched_at,
            }) => {
                state.generation += 1;
                state.last_failure = None;
                let generation = state.generation;
                state.current = Some(CachedToken {
                    access_token: access_token.clone(),
                    generation,
                    refresh_at: fetched_at + expires_in.saturating_sub(refresh_margin(expires_in)),
                });
                Ok(BearerToken {
                    access_token,
                    generation,
                })
            }
            Err(error) => {
                state.current = None;
                state.last_failure = Some(error.clone());
                Err(error)
            }
        }
    }

    /// Drops the token of `generation` after Atlas refused it. A newer token (fetched by another
    /// call that saw the same refusal first) is kept, so concurrent 401s cause one refresh.
    pub(crate) async fn invalidate(&self, generation: u64) {
        let mut state = self.state.lock().await;
        if state
            .current
            .as_ref()
            .is_some_and(|current| current.generation == generation)
        {
            state.current = None;
        }
    }

    async fn fetch(
        &self,
        transport: &Transport,
        deadline: Instant,
        calls: &mut Vec<CallRecord>,
    ) -> Result<Fetched, ApiError> {
        let request = transport
            .post_form(TOKEN_PATH, "grant_type=client_credentials", deadline)?
            .header(header::AUTHORIZATION, self.basic_authorization()?);
        // Expiry counts from when we asked: the token's clock started no later than that.
        let started = Instant::now();
        let (status, outcome) = match transport::send(request).await {
            Err(error) => (None, Err(error)),
            Ok(response) => (
                Some(response.status().as_u16()),
                read_token_response(response)
                    .await
                    .map_err(|error| error.without_secret(self.client_secret.expose_secret())),
            ),
        };
        calls.push(CallRecord {
            endpoint: Endpoint::OAUTH_TOKEN,
            status,
            error_code: outcome.as_ref().err().map(ApiError::error_code),
            duration: started.elapsed(),
        });
        let (access_token, expires_in) = outcome?;
        Ok(Fetched {
            access_token,
            expires_in,
            fetched_at: started,
        })
    }

    /// `Basic base64(id:secret)`, deliberately without the form-encoding of RFC 6749 §2.3.1: Atlas
    /// compares the raw strings, and encoding `_` or `%` would turn valid credentials into `invalid_client`.
    fn basic_authorization(&self) -> Result<HeaderValue, ApiError> {
        let pair = Zeroizing::new(format!(
            "{}:{}",
            self.client_id,
            self.client_secret.expose_secret()
        ));
        let value = Zeroizing::new(format!("Basic {}", BASE64.encode(pair.as_bytes())));
        // Base64 output is always a valid header value; the error is for the impossible case only.
        sensitive_header(&value)
            .ok_or_else(|| ApiError::ClientSetup("unencodable client credentials".into()))
    }
}

struct Fetched {
    access_token: SecretString,
    expires_in: Duration,
    fetched_at: Instant,
}

async fn read_token_response(
    mut response: reqwest::Response,
) -> Result<(SecretString, Duration), ApiError> {
    let status = response.status().as_u16();
    if !response.status().is_success() {
        let retry_after = transport::retry_after(response.headers());
        let body = transport::read_at_most(&mut response, ERROR_BODY_LIMIT)
            .await
            .ok();
        return Err(token_error(status, retry_after, body.as_deref()));
    }
    let body = match transport::read_at_most(&mut response, ERROR_BODY_LIMIT).await {
        Ok(body) => Zeroizing::new(body),
        Err(BodyError::TooLarge) => {
            return Err(ApiError::BodyTooLarge {
                limit: ERROR_BODY_LIMIT,
            });
        }
        Err(BodyError::Transport(error)) => return Err(error),
    };
    let token: TokenResponse<'_> = parse_json(&body)?;
    if let Some(token_type) = &token.token_type
        && !token_type.0.eq_ignore_ascii_case("bearer")
    {
        return Err(ApiError::InvalidResponse {
            reason: format!("token type {:?} is not Bearer", token_type.0),
        });
    }
    if token.access_token.expose_secret().is_empty() {
        return Err(ApiError::InvalidResponse {
            reason: "empty access token".into(),
        });
    }
    Ok((token.access_token, Duration::from_secs(token.expires_in)))
}

/// A refusal of the credentials is an OAuth error; rate limits and outages are ordinary, retryable
/// API errors, whatever their body looks like.
fn token_error(status: u16, retry_after: Option<Duration>, body: Option<&[u8]>) -> ApiError {
    let transient = status == 429 || status >= 500;
    if !transient && let Some(oauth) = body.and_then(OAuthErrorBody::parse) {
        return ApiError::Token {
            status,
            error: oauth.error.0.into_owned(),
        };
    }
    transport::status_error_from_body(status, retry_after, body)
}

/// How long before expiry a token is replaced: a minute, or a tenth of a short lifetime.
pub(crate) fn refresh_margin(expires_in: Duration) -> Duration {
    MAX_REFRESH_MARGIN.min(expires_in / 10)
}

impl fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // try_lock: Debug must not wait on (or deadlock with) a fetch in flight.
        let cached = self
            .state
            .try_lock()
            .map(|state| state.current.is_some())
            .ok();
        f.debug_struct("TokenCache")
            .field("client_id", &self.client_id)
            .field("client_secret", &"[REDACTED]")
            .field("token_cached", &cached)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_margin_is_a_minute_or_a_tenth_of_the_lifetime() {
        assert_eq!(
            refresh_margin(Duration::from_secs(3600)),
            Duration::from_secs(60)
        );
        assert_eq!(
            refresh_margin(Duration::from_secs(300)),
            Duration::from_secs(30)
        );
        assert_eq!(refresh_margin(Duration::ZERO), Duration::ZERO);
    }

    #[test]
    fn token_endpoint_errors_are_classified() {
        let refused = token_error(401, None, Some(br#"{"error_description":"Invalid credentials provided.","error":"invalid_client"}"#));
        assert_eq!(
            refused,
            ApiError::Token {
                status: 401,
                error: "invalid_client".into()
            }
        );
        assert_eq!(refused.error_code(), "INVALID_CLIENT");

        let too_many_tokens = token_error(
            403,
            None,
            Some(br#"{"error":"access_denied","error_description":"Access Token limit reached."}"#),
        );
        assert_eq!(too_many_tokens.error_code(), "ACCESS_DENIED");

        let rate_limited = token_error(
            429,
            Some(Duration::from_secs(7)),
            Some(br#"{"detail":"Resource /api/oauth/token is limited to 50 requests every 1 minutes.","error":429,"errorCode":"RATE_LIMITED","parameters":["/api/oauth/token",50,1],"reason":"Too Many Requests"}"#),
        );
        assert!(matches!(
            rate_limited,
            ApiError::Status {
                status: 429,
                retry_after: Some(_),
                ..
            }
        ));
        assert_eq!(rate_limited.error_code(), "RATE_LIMITED");

        let outage = token_error(500, None, Some(br#"{"error":"server_error"}"#));
        assert_eq!(outage.error_code(), "HTTP_500");
        let html = token_error(400, None, Some(b"<html></html>"));
        assert_eq!(html.error_code(), "HTTP_400");
    }

    #[test]
    fn basic_credentials_are_not_form_encoded() {
        let cache = TokenCache::new(
            "mdb_sa_id_1234".into(),
            SecretString::from("mdb_sa_sk_a%b+c/d=e"),
        );
        let header = cache.basic_authorization().unwrap();
        assert!(header.is_sensitive());
        assert_eq!(
            header.to_str().unwrap(),
            format!(
                "Basic {}",
                BASE64.encode("mdb_sa_id_1234:mdb_sa_sk_a%b+c/d=e")
            )
        );
    }
}
