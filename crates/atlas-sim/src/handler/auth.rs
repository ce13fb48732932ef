//! Who is calling: a bearer token the token endpoint issued, or an HTTP Digest answer for an API key;
//! anything else gets a Digest challenge.

use hyper::StatusCode;
use hyper::header::{self, HeaderMap};

use crate::digest::{DigestVerdict, challenge_header};
use crate::response::{Reply, api_error};
use crate::state::{AuthKind, Shared, State};

/// The credential (client_id or public key) when the request may proceed; otherwise the refusal.
pub(super) fn authenticate(
    headers: &HeaderMap,
    method: &str,
    target: &str,
    shared: &Shared,
) -> Result<String, Reply> {
    let authorization = headers.get(header::AUTHORIZATION);
    match AuthKind::of(authorization) {
        AuthKind::Bearer => {
            let token = authorization
                .and_then(|value| value.to_str().ok())
                .and_then(|value| value.trim().split_once(' '))
                .map_or("", |(_, token)| token.trim());
            let owner = shared.lock().token_owner(token).map(str::to_owned);
            // Atlas's code for an expired or unknown token is unconfirmed (reference §6); this one is
            // documented for "not authorized" on other endpoints (reference §3).
            owner.ok_or_else(|| {
                api_error(
                    StatusCode::UNAUTHORIZED,
                    Some("USER_UNAUTHORIZED"),
                    "Invalid or expired access token.",
                )
            })
        }
        AuthKind::Digest => {
            let value = authorization
                .and_then(|value| value.to_str().ok())
                .unwrap_or("");
            let mut state = shared.lock();
            let State {
                nonces,
                api_keys,
                nonce_max_uses,
                ..
            } = &mut *state;
            match nonces.verify(value, method, target, api_keys, *nonce_max_uses) {
                DigestVerdict::Authorised { public_key } => Ok(public_key),
                DigestVerdict::Challenge { stale } => Err(digest_challenge(&nonces.issue(), stale)),
                DigestVerdict::UriMismatch => Err(api_error(
                    StatusCode::BAD_REQUEST,
                    Some("VALIDATION_ERROR"),
                    "The Digest uri does not match the request target.",
                )),
            }
        }
        AuthKind::None | AuthKind::Basic | AuthKind::Other => {
            let nonce = shared.lock().nonces.issue();
            Err(digest_challenge(&nonce, false))
        }
    }
}

/// Atlas's 401 for missing or wrong Digest credentials: a challenge and a body without errorCode.
fn digest_challenge(nonce: &str, stale: bool) -> Reply {
    api_error(
        StatusCode::UNAUTHORIZED,
        None,
        "You are not authorized for this resource.",
    )
    .with_header(header::WWW_AUTHENTICATE, &challenge_header(nonce, stale))
}
