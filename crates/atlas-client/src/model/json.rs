//! The pieces every Atlas body shares: borrowed strings, pages, the JSON reader, and the error and
//! token bodies, which belong to no one endpoint.

use std::borrow::Cow;

use secrecy::SecretString;
use serde::Deserialize;

use crate::ApiError;

/// A JSON string, borrowed from the body when it has no escape sequences.
#[derive(Clone, Debug, Deserialize)]
#[serde(transparent)]
pub struct Text<'a>(#[serde(borrow)] pub Cow<'a, str>);

impl Text<'_> {
    pub(crate) fn into_owned(self) -> String {
        self.0.into_owned()
    }
}

impl AsRef<str> for Text<'_> {
    fn as_ref(&self) -> &str {
        &self.0
    }
}
/// What a page said about itself, for pagination.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageCounts {
    /// Entries on the page, skipped ones included.
    pub results: usize,
    /// `totalCount`, when Atlas sent it.
    pub total_count: Option<u64>,
}

/// One page of a paginated listing (`Paginated…View`), already in our own terms.
/// Public only for the fuzz targets and property tests.
#[doc(hidden)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// How many entries the page held, skipped ones included: pagination counts these, not `items`.
    pub results: usize,
    /// `totalCount`, when Atlas sent it. The spec calls it an estimate.
    pub total_count: Option<u64>,
}

impl<T> Page<T> {
    /// The page of a `Paginated…View` whose entries all become items, each made by `item`.
    pub(crate) fn from_results<R>(
        results: Vec<R>,
        total_count: Option<u64>,
        item: impl FnMut(R) -> T,
    ) -> Page<T> {
        Page {
            results: results.len(),
            items: results.into_iter().map(item).collect(),
            total_count,
        }
    }
}

/// Atlas' `ApiError` body. Everything is optional: a Digest 401 has no `errorCode`, a proxy sends HTML.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AtlasErrorBody<'a> {
    #[serde(borrow)]
    pub error_code: Option<Text<'a>>,
    #[serde(borrow)]
    pub detail: Option<Text<'a>>,
}

impl AtlasErrorBody<'_> {
    pub(crate) fn parse(body: &[u8]) -> Option<AtlasErrorBody<'_>> {
        serde_json::from_slice(body).ok()
    }
}

/// The token endpoint's success body (`POST /api/oauth/token`).
#[derive(Deserialize)]
pub(crate) struct TokenResponse<'a> {
    pub access_token: SecretString,
    pub expires_in: u64,
    #[serde(borrow)]
    pub token_type: Option<Text<'a>>,
}

/// An OAuth 2.0 error body (RFC 6749 §5.2): `error` is a string, unlike Atlas' integer `error`.
#[derive(Debug, Deserialize)]
pub(crate) struct OAuthErrorBody<'a> {
    #[serde(borrow)]
    pub error: Text<'a>,
}

impl OAuthErrorBody<'_> {
    pub(crate) fn parse(body: &[u8]) -> Option<OAuthErrorBody<'_>> {
        serde_json::from_slice(body).ok()
    }
}

pub(crate) fn parse_json<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(invalid_json)
}

fn invalid_json(error: serde_json::Error) -> ApiError {
    ApiError::InvalidResponse {
        reason: match error.classify() {
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
                format!("body is not valid JSON ({error})")
            }
            _ => format!("unexpected JSON ({error})"),
        },
    }
}
