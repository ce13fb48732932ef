//! Why a call to Atlas failed, classified for the retry policy and for the `error_code` label.

use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("request timed out")]
    Timeout,
    #[error("connection failed: {0}")]
    Connection(String),
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
}

impl ApiError {
    /// The unbounded error code for the `error_code` label (bounded later by the caller).
    pub fn error_code(&self) -> String {
        match self {
            ApiError::Timeout => "TIMEOUT".into(),
            ApiError::Connection(_) => "CONNECTION".into(),
            ApiError::Status { status, error_code, .. } => {
                error_code.clone().unwrap_or_else(|| format!("HTTP_{status}"))
            }
            ApiError::InvalidResponse { .. } => "INVALID_RESPONSE".into(),
            ApiError::BodyTooLarge { .. } => "BODY_TOO_LARGE".into(),
            ApiError::Token { error, .. } => error.to_ascii_uppercase(),
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
