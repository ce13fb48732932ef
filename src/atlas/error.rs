//! Why a call to Atlas failed, classified for the retry policy and for the `error_code` label.
//!
//! No variant carries a secret: messages come from our own text, Atlas error bodies, or reqwest errors,
//! whose only context is the URL (which never holds credentials here).

use std::time::Duration;

// Clone: one failed token fetch is the outcome for every poll that was waiting on it (single flight).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    #[error("request timed out")]
    Timeout,
    #[error("connection failed: {0}")]
    Connection(String),
    /// The TLS handshake failed: the certificate did not verify, or no common protocol. Another
    /// attempt cannot help, and verification is never bypassed.
    #[error("TLS handshake failed: {0}")]
    Tls(String),
    /// Atlas answered with a non-success status. `error_code` is the body's `errorCode` when it had one.
    #[error("HTTP {status}{}", error_code.as_deref().map(|c| format!(" ({c})")).unwrap_or_default())]
    Status {
        status: u16,
        error_code: Option<String>,
        detail: Option<String>,
        retry_after: Option<Duration>,
    },
    #[error("invalid response: {reason}")]
    InvalidResponse { reason: String },
    #[error("response body larger than {limit} bytes")]
    BodyTooLarge { limit: u64 },
    /// The token endpoint refused the credentials (OAuth `error`, e.g. `invalid_client`).
    #[error("token request failed: HTTP {status} {error}")]
    Token { status: u16, error: String },
    /// The HTTP client could not be built (TLS setup); nothing was sent.
    #[error("cannot set up the HTTP client: {0}")]
    ClientSetup(String),
    /// A paginated listing was still going after `limit` full pages: far past any real organisation
    /// (Atlas caps membership at 500 users), so Atlas is ignoring `pageNum` or the listing is not ours.
    #[error("the listing did not end within {limit} pages; stopped paging")]
    TooManyPages { limit: u32 },
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
}

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
