//! Why a call to Atlas failed, classified for the retry policy and for the `error_code` label.
//!
//! No variant carries a secret: messages come from our own text, Atlas error bodies, or reqwest errors,
//! whose only context is the URL (which never holds credentials here).

use std::time::Duration;

/// Why a call to Atlas (an API request or a token fetch) failed.
///
/// [`ApiError::error_code`] names the failure for the `error_code` metric label, and
/// [`ApiError::status`] gives the HTTP status when a response arrived.
// Clone: one failed token fetch is the outcome for every poll that was waiting on it (single flight).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// The request, body included, did not complete within
    /// [`ClientSettings::timeout`](crate::ClientSettings::timeout) or before the poll's deadline, or
    /// the deadline passed before it could start (e.g. while waiting for another poll's token fetch).
    /// Retried. `error_code()` is `TIMEOUT`.
    #[error("request timed out")]
    Timeout,
    /// The request could not be sent or its response not read (DNS, refused or reset connection),
    /// described with its causes on one line. Retried. `error_code()` is `CONNECTION`.
    #[error("connection failed: {0}")]
    Connection(String),
    /// The TLS handshake failed: the certificate did not verify, or no common protocol. Another
    /// attempt cannot help, and verification is never bypassed. `error_code()` is `TLS`.
    #[error("TLS handshake failed: {0}")]
    Tls(String),
    /// Atlas answered with a non-success status (the token endpoint too, unless it sent an OAuth
    /// error: see [`ApiError::Token`]). Retried for 429 and 5xx only. `error_code()` is the
    /// body's `errorCode` when it had one (e.g. `RATE_LIMITED`), `HTTP_{status}` otherwise.
    #[error("HTTP {status}{}", error_code.as_deref().map(|c| format!(" ({c})")).unwrap_or_default())]
    Status {
        /// The HTTP status code.
        status: u16,
        /// The body's `errorCode`; `None` when the body was not an Atlas error body (a Digest 401, a
        /// proxy's HTML page) or had an empty one.
        error_code: Option<String>,
        /// The body's `detail`, cut to 512 characters, the credential's secret replaced by
        /// `[REDACTED]` wherever it is quoted; `None` when the body had none.
        detail: Option<String>,
        /// The `Retry-After` header (delay-seconds or an HTTP-date, relative to now), when present and
        /// parseable; a retry waits at least this long.
        retry_after: Option<Duration>,
    },
    /// A success body (or a token response) that does not decode as the endpoint's documented JSON:
    /// malformed, a required field missing, a date that is not RFC 3339, a token that is not Bearer.
    /// Not retried. `error_code()` is `INVALID_RESPONSE`.
    #[error("invalid response: {reason}")]
    InvalidResponse {
        /// What was wrong, for logs: the JSON error with its position, or the field at fault.
        reason: String,
    },
    /// The body exceeded [`ClientSettings::max_response_bytes`](crate::ClientSettings::max_response_bytes)
    /// and was not read further. Not retried. `error_code()` is `BODY_TOO_LARGE`.
    #[error("response body larger than {limit} bytes")]
    BodyTooLarge {
        /// The limit that was exceeded, in bytes.
        limit: u64,
    },
    /// The token endpoint refused the credentials (OAuth `error`, e.g. `invalid_client`): a 4xx other
    /// than 429 with an OAuth error body. Not retried. `error_code()` is `error` upper-cased
    /// (`INVALID_CLIENT`).
    #[error("token request failed: HTTP {status} {error}")]
    Token {
        /// The token endpoint's HTTP status code.
        status: u16,
        /// The OAuth `error` value, as sent but for the client secret, replaced by `[REDACTED]`.
        error: String,
    },
    /// The HTTP client could not be built (TLS setup), or the client credentials could not be put in
    /// a header; nothing was sent. `error_code()` is `CLIENT_SETUP`.
    #[error("cannot set up the HTTP client: {0}")]
    ClientSetup(String),
    /// A paginated listing was still going after `limit` full pages: far past any real organisation
    /// (Atlas caps membership at 500 users), so Atlas is ignoring `pageNum` or the listing is not ours.
    /// `error_code()` is `TOO_MANY_PAGES`.
    #[error("the listing did not end within {limit} pages; stopped paging")]
    TooManyPages {
        /// The page limit, [`MAX_PAGES`](crate::MAX_PAGES).
        limit: u32,
    },
}

/// Whether an Atlas `errorCode` refuses the caller's network address (an API access list), not its
/// roles: such a refusal is mended in the access list, and granting a role would not help.
pub fn is_access_list_refusal(error_code: &str) -> bool {
    matches!(
        error_code,
        "IP_ADDRESS_NOT_ON_ACCESS_LIST" | "API_KEY_ACCESS_LIST_ACCESS_DENIED"
    )
}

impl ApiError {
    /// The unbounded error code for the `error_code` label (bounded later by the caller).
    pub fn error_code(&self) -> String {
        match self {
            ApiError::Timeout => "TIMEOUT".into(),
            ApiError::Connection(_) => "CONNECTION".into(),
            ApiError::Tls(_) => "TLS".into(),
            ApiError::Status {
                status, error_code, ..
            } => error_code
                .clone()
                .unwrap_or_else(|| format!("HTTP_{status}")),
            ApiError::InvalidResponse { .. } => "INVALID_RESPONSE".into(),
            ApiError::BodyTooLarge { .. } => "BODY_TOO_LARGE".into(),
            ApiError::Token { error, .. } => error.to_ascii_uppercase(),
            ApiError::ClientSetup(_) => "CLIENT_SETUP".into(),
            ApiError::TooManyPages { .. } => "TOO_MANY_PAGES".into(),
        }
    }

    /// The HTTP status, when a response arrived.
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Status { status, .. } | ApiError::Token { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// This error with every occurrence of `secret` in the text that came from the response (the
    /// `detail`, the OAuth `error`) replaced by [`REDACTED`]. An error server may quote what the
    /// request sent, and whatever the error holds goes on to logs, pages and labels.
    pub(crate) fn without_secret(mut self, secret: &str) -> ApiError {
        if secret.is_empty() {
            return self;
        }
        let quoted = match &mut self {
            ApiError::Status {
                detail: Some(text), ..
            }
            | ApiError::Token { error: text, .. } => text,
            _ => return self,
        };
        if quoted.contains(secret) {
            *quoted = quoted.replace(secret, REDACTED);
        }
        self
    }
}

/// What stands in for a credential's secret quoted back in an error response.
pub(crate) const REDACTED: &str = "[REDACTED]";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_prefer_the_atlas_code_and_fall_back_to_the_status() {
        let with_code = ApiError::Status {
            status: 429,
            error_code: Some("RATE_LIMITED".into()),
            detail: None,
            retry_after: None,
        };
        let without_code = ApiError::Status {
            status: 502,
            error_code: None,
            detail: None,
            retry_after: None,
        };
        assert_eq!(with_code.error_code(), "RATE_LIMITED");
        assert_eq!(without_code.error_code(), "HTTP_502");
        assert_eq!(
            ApiError::Token {
                status: 401,
                error: "invalid_client".into()
            }
            .error_code(),
            "INVALID_CLIENT"
        );
        assert_eq!(ApiError::Timeout.error_code(), "TIMEOUT");
        assert_eq!(
            ApiError::BodyTooLarge { limit: 1 }.error_code(),
            "BODY_TOO_LARGE"
        );
    }

    #[test]
    fn too_many_pages_has_its_own_code_and_says_what_happened() {
        let error = ApiError::TooManyPages { limit: 20 };
        assert_eq!(error.error_code(), "TOO_MANY_PAGES");
        assert_eq!(error.status(), None);
        assert_eq!(
            error.to_string(),
            "the listing did not end within 20 pages; stopped paging"
        );
    }
}
