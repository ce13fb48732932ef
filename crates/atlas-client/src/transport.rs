//! The plumbing every Atlas request shares: the one reqwest client, per-request timeouts bounded by
//! the poll's deadline, bounded body reads, and turning transport failures and error responses into
//! [`ApiError`]s.

use std::error::Error as _;
use std::time::Duration;

use jiff::Timestamp;
use reqwest::header::{self, HeaderMap, HeaderValue};
use reqwest::{RequestBuilder, Response};
use tokio::time::Instant;

use crate::call::Endpoint;
use crate::model::AtlasErrorBody;
use crate::network::{self, NetworkSettings};
use crate::{ApiError, http_date, retry};

/// Error bodies are only read for their `errorCode`; a proxy's multi-megabyte HTML page is not.
pub(crate) const ERROR_BODY_LIMIT: u64 = 64 * 1024;
/// A refused or black-holed connection should not eat the whole request timeout.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Keeps log lines readable when Atlas (or a proxy) sends a long `detail`.
const DETAIL_LIMIT: usize = 512;

/// One GET against the Atlas Administration API.
pub(crate) struct ApiRequest<'a> {
    pub endpoint: Endpoint,
    /// Path and query, e.g. `/api/atlas/v2/orgs/{orgId}/invites`; also the Digest `uri`.
    /// The `Accept` header is the endpoint's own (see `call.rs`).
    pub path_and_query: &'a str,
}

pub(crate) struct Transport {
    http: reqwest::Client,
    base_url: String,
    timeout: Duration,
}

impl Transport {
    pub(crate) fn new(
        base_url: &str,
        timeout: Duration,
        user_agent: &str,
        network: &NetworkSettings,
    ) -> Result<Transport, ApiError> {
        // reqwest panics without a process-wide rustls provider; the binary installs ring at start,
        // and installing the same one here (a no-op when present) turns that panic into a non-event.
        if rustls::crypto::CryptoProvider::get_default().is_none() {
            let _ = rustls::crypto::ring::default_provider().install_default();
        }
        let builder = reqwest::Client::builder()
            .user_agent(user_agent)
            .gzip(true)
            .timeout(timeout)
            .connect_timeout(CONNECT_TIMEOUT.min(timeout))
            // Credentials must never follow a redirect, and Atlas does not redirect API calls.
            .redirect(reqwest::redirect::Policy::none());
        // Proxies from the environment are reqwest's default; this adds the configured ones.
        let http = network::configure(builder, network)?
            .build()
            .map_err(|error| ApiError::ClientSetup(describe(&error)))?;
        Ok(Transport {
            http,
            base_url: base_url.trim_end_matches('/').to_owned(),
            timeout,
        })
    }

    pub(crate) fn base_url(&self) -> &str {
        &self.base_url
    }

    pub(crate) fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The configured timeout, cut short by the deadline. `Timeout` when no time is left at all.
    fn request_timeout(&self, deadline: Instant) -> Result<Duration, ApiError> {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(ApiError::Timeout);
        }
        Ok(self.timeout.min(left))
    }

    /// A GET for `request`, without credentials (the authenticator adds them).
    pub(crate) fn get(
        &self,
        request: &ApiRequest<'_>,
        deadline: Instant,
    ) -> Result<RequestBuilder, ApiError> {
        let timeout = self.request_timeout(deadline)?;
        Ok(self
            .http
            .get(format!("{}{}", self.base_url, request.path_and_query))
            .header(header::ACCEPT, request.endpoint.accept())
            .timeout(timeout))
    }

    /// A form POST to a path under the base URL (the OAuth token endpoint).
    pub(crate) fn post_form(
        &self,
        path: &str,
        body: &'static str,
        deadline: Instant,
    ) -> Result<RequestBuilder, ApiError> {
        let timeout = self.request_timeout(deadline)?;
        Ok(self
            .http
            .post(format!("{}{}", self.base_url, path))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT, Endpoint::OAUTH_TOKEN.accept())
            .body(body)
            .timeout(timeout))
    }
}

/// Sends a request; a failure before any response is a timeout or a connection error.
pub(crate) async fn send(request: RequestBuilder) -> Result<Response, ApiError> {
    request
        .send()
        .await
        .map_err(|error| transport_error(&error))
}

pub(crate) fn transport_error(error: &reqwest::Error) -> ApiError {
    if error.is_timeout() {
        ApiError::Timeout
    } else if is_tls_failure(error) {
        ApiError::Tls(describe(error))
    } else {
        ApiError::Connection(describe(error))
    }
}

/// Whether a rustls error is among the causes. tokio-rustls wraps it in an `io::Error` (sometimes in
/// two), whose `source()` skips the wrapped error, so look inside those too.
fn is_tls_failure(error: &reqwest::Error) -> bool {
    fn is_rustls(error: &(dyn std::error::Error + 'static)) -> bool {
        if error.downcast_ref::<rustls::Error>().is_some() {
            return true;
        }
        if let Some(inner) = error
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            return is_rustls(inner);
        }
        error.source().is_some_and(is_rustls)
    }
    is_rustls(error)
}

/// The error and its causes on one line: reqwest's top-level message alone ("error sending request")
/// does not say whether the connection was refused or reset.
fn describe(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause = cause.to_string();
        if !text.ends_with(&cause) {
            text.push_str(": ");
            text.push_str(&cause);
        }
        source = source.and_then(|s| s.source());
    }
    text
}

pub(crate) enum BodyError {
    TooLarge,
    Transport(ApiError),
}

/// Reads the (decoded) body, stopping as soon as it would exceed `limit` bytes.
pub(crate) async fn read_at_most(
    response: &mut Response,
    limit: u64,
) -> Result<Vec<u8>, BodyError> {
    // With gzip, reqwest drops Content-Length, so this early exit only sees identity bodies.
    if response
        .content_length()
        .is_some_and(|length| length > limit)
    {
        return Err(BodyError::TooLarge);
    }
    let capacity = response
        .content_length()
        .unwrap_or(0)
        .min(limit)
        .min(1024 * 1024);
    let mut body = Vec::with_capacity(usize::try_from(capacity).unwrap_or(0));
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|error| BodyError::Transport(transport_error(&error)))?
    {
        if (body.len() as u64).saturating_add(chunk.len() as u64) > limit {
            return Err(BodyError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The `ApiError::Status` for a non-success response, with the body's `errorCode` when it has one.
pub(crate) async fn status_error(mut response: Response) -> ApiError {
    let status = response.status().as_u16();
    let retry_after = retry_after(response.headers());
    let body = read_at_most(&mut response, ERROR_BODY_LIMIT).await.ok();
    status_error_from_body(status, retry_after, body.as_deref())
}

pub(crate) fn status_error_from_body(
    status: u16,
    retry_after: Option<Duration>,
    body: Option<&[u8]>,
) -> ApiError {
    let parsed = body.and_then(AtlasErrorBody::parse);
    let (error_code, detail) = match parsed {
        Some(parsed) => (
            parsed
                .error_code
                .map(|code| code.0.into_owned())
                .filter(|code| !code.is_empty()),
            parsed
                .detail
                .map(|detail| truncate(&detail.0, DETAIL_LIMIT)),
        ),
        None => (None, None),
    };
    ApiError::Status {
        status,
        error_code,
        detail,
        retry_after,
    }
}

pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(header::RETRY_AFTER)?.to_str().ok()?;
    retry::parse_retry_after(value, Timestamp::now())
}

/// What the response headers say about the endpoint's future (RFC 9745 `Deprecation`, RFC 8594 `Sunset`).
#[derive(Default)]
pub(crate) struct Lifecycle {
    pub deprecated: bool,
    pub sunset: Option<Timestamp>,
}

impl Lifecycle {
    pub(crate) fn from_headers(headers: &HeaderMap) -> Lifecycle {
        Lifecycle {
            // Any value counts: RFC 9745 sends `@<epoch>`, Atlas' docs an HTTP-date, Prism `true`.
            deprecated: headers.contains_key("deprecation"),
            sunset: headers
                .get("sunset")
                .and_then(|value| value.to_str().ok())
                .and_then(http_date::parse),
        }
    }
}

/// Marks a header value as sensitive, so it is never printed by reqwest/hyper debugging.
pub(crate) fn sensitive_header(value: &str) -> Option<HeaderValue> {
    let mut value = HeaderValue::from_str(value).ok()?;
    value.set_sensitive(true);
    Some(value)
}

fn truncate(text: &str, limit: usize) -> String {
    match text.char_indices().nth(limit) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifecycle_headers() {
        let mut headers = HeaderMap::new();
        assert!(!Lifecycle::from_headers(&headers).deprecated);
        headers.insert("deprecation", HeaderValue::from_static("@1688169599"));
        headers.insert(
            "sunset",
            HeaderValue::from_static("Thu, 01 Jul 2027 00:00:00 GMT"),
        );
        let lifecycle = Lifecycle::from_headers(&headers);
        assert!(lifecycle.deprecated);
        assert_eq!(
            lifecycle.sunset,
            Some("2027-07-01T00:00:00Z".parse().unwrap())
        );
        headers.insert("sunset", HeaderValue::from_static("someday"));
        assert_eq!(Lifecycle::from_headers(&headers).sunset, None);
    }

    #[test]
    fn error_bodies_give_their_code_or_none() {
        let atlas = br#"{"detail":"Rate limit exceeded.","error":429,"errorCode":"RATE_LIMITED_TOKEN_BUCKET","parameters":["api/atlas/v2/orgs",55],"reason":"Too Many Requests"}"#;
        assert_eq!(
            status_error_from_body(429, Some(Duration::from_secs(55)), Some(atlas)),
            ApiError::Status {
                status: 429,
                error_code: Some("RATE_LIMITED_TOKEN_BUCKET".into()),
                detail: Some("Rate limit exceeded.".into()),
                retry_after: Some(Duration::from_secs(55)),
            }
        );
        let html = status_error_from_body(502, None, Some(b"<html>Bad Gateway</html>"));
        assert_eq!(html.error_code(), "HTTP_502");
        assert_eq!(
            status_error_from_body(503, None, None).error_code(),
            "HTTP_503"
        );
    }

    #[test]
    fn long_details_are_cut_at_a_character_boundary() {
        let detail = "é".repeat(DETAIL_LIMIT + 10);
        let body = format!(r#"{{"error":400,"errorCode":"X","detail":"{detail}"}}"#);
        let ApiError::Status {
            detail: Some(detail),
            ..
        } = status_error_from_body(400, None, Some(body.as_bytes()))
        else {
            panic!("expected a detail");
        };
        assert_eq!(detail.chars().count(), DETAIL_LIMIT + 1);
    }
}
