//! `POST /api/oauth/token`: the OAuth 2.0 client-credentials grant of service accounts.

use base64::Engine as _;
use http_body_util::{BodyExt as _, Limited};
use hyper::body::Incoming;
use hyper::header::{self, HeaderMap};
use hyper::{Method, Request, StatusCode};

use crate::handler::call::{Call, Outcome, header_str};
use crate::handler::fault::{Spoil, serve_fault};
use crate::handler::form::parse_form;
use crate::handler::{FIXED_PATHS, FixedPath};
use crate::response::{Reply, api_error, json, oauth_error};

#[linkme::distributed_slice(FIXED_PATHS)]
static TOKEN: FixedPath = FixedPath {
    path: "/api/oauth/token",
    endpoint: |request, call| Box::pin(token_endpoint(request, call)),
};

/// A token request is a few dozen bytes; anything this large is not one.
const MAX_TOKEN_REQUEST_BYTES: usize = 16 * 1024;
const JSON: &str = "application/json";

async fn token_endpoint(request: Request<Incoming>, call: Call<'_>) -> Outcome {
    let shared = call.shared;
    if request.method() != Method::POST {
        return api_error(
            StatusCode::METHOD_NOT_ALLOWED,
            Some("METHOD_NOT_ALLOWED"),
            "The token endpoint only accepts POST.",
        )
        .with_header(header::ALLOW, "POST")
        .into();
    }
    let client_id = basic_credentials(request.headers()).and_then(|(id, secret)| {
        let known = shared
            .lock()
            .service_accounts
            .iter()
            .any(|(known_id, known_secret)| *known_id == id && *known_secret == secret);
        known.then_some(id)
    });
    let Some(client_id) = client_id else {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client").into();
    };
    shared.lock().set_credential(call.sequence, &client_id);

    // Faults go to requests that would otherwise succeed, so scripting one never depends on credentials.
    let fault = shared.lock().token_faults.pop_front();
    let mut spoil = None;
    if let Some(outcome) = serve_fault(call, fault, &mut spoil).await {
        return outcome;
    }

    let form_content = header_str(request.headers(), header::CONTENT_TYPE)
        .and_then(|value| value.split(';').next())
        .is_some_and(|media_type| {
            media_type
                .trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !form_content {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request").into();
    }
    let Ok(collected) = Limited::new(request.into_body(), MAX_TOKEN_REQUEST_BYTES)
        .collect()
        .await
    else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request").into();
    };
    let Some(form) = parse_form(&collected.to_bytes()) else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request").into();
    };
    match form
        .iter()
        .find(|(key, _)| key == "grant_type")
        .map(|(_, value)| value.as_str())
    {
        Some("client_credentials") => {}
        Some(_) => return oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type").into(),
        None => return oauth_error(StatusCode::BAD_REQUEST, "invalid_request").into(),
    }

    let (lifetime, token) = {
        let mut state = shared.lock();
        let lifetime = state.token_lifetime.as_secs();
        // A spoiled answer hands out no usable token.
        let token = if spoil.is_some() {
            "spoiled".to_owned()
        } else {
            state.issue_token(&client_id)
        };
        (lifetime, token)
    };
    let normal = serde_json::json!({ "access_token": token, "expires_in": lifetime, "token_type": "Bearer" });
    let reply = match spoil {
        None => Reply::new(StatusCode::OK, JSON, json(&normal)),
        Some(kind) => spoiled_token_reply(kind, &normal),
    };
    reply
        .with_header(header::CACHE_CONTROL, "no-store")
        .with_header(header::PRAGMA, "no-cache")
        .into()
}

fn spoiled_token_reply(kind: Spoil, normal: &serde_json::Value) -> Reply {
    let body = match kind {
        Spoil::MalformedJson => b"{\"access_token\": \"spoiled\" \"expires_in\": 3600,}".to_vec(),
        Spoil::TruncatedJson => {
            let mut body = json(normal);
            body.truncate(body.len() / 2);
            body
        }
        Spoil::TruncatedBody | Spoil::ResetMidBody | Spoil::Trickle(_) | Spoil::Endless => {
            json(normal)
        }
        Spoil::WrongShape => json(&serde_json::json!([normal])),
        Spoil::InvalidDates => json(
            &serde_json::json!({ "access_token": "spoiled", "expires_in": "one hour", "token_type": "Bearer" }),
        ),
        Spoil::Oversized(bytes) => {
            let mut body = json(normal);
            let closing = body.pop().unwrap_or(b'}');
            body.resize(bytes.max(body.len() + 1) - 1, b' ');
            body.push(closing);
            body
        }
    };
    let mut reply = Reply::new(StatusCode::OK, JSON, body);
    reply.delivery = kind.delivery().unwrap_or_default();
    reply
}

/// (client_id, client_secret) from `Authorization: Basic`, decoded exactly as sent (no URL-decoding).
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = header_str(headers, header::AUTHORIZATION)?.trim();
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((id.to_owned(), secret.to_owned()))
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use hyper::header::HeaderValue;

    use super::*;

    #[test]
    fn basic_credentials_are_not_url_decoded() {
        let mut headers = HeaderMap::new();
        let encoded = base64::engine::general_purpose::STANDARD.encode("mdb_sa_id_x:se:cr%5Fet");
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&format!("Basic {encoded}")).unwrap(),
        );
        assert_eq!(
            basic_credentials(&headers),
            Some(("mdb_sa_id_x".to_owned(), "se:cr%5Fet".to_owned()))
        );
    }

    #[test]
    fn spoiled_oversized_token_has_the_size_asked_for() {
        let normal =
            serde_json::json!({ "access_token": "t", "expires_in": 3600, "token_type": "Bearer" });
        let reply = spoiled_token_reply(Spoil::Oversized(4096), &normal);
        assert_eq!(reply.body.len(), 4096);
        let parsed: serde_json::Value = serde_json::from_slice(&reply.body).unwrap();
        assert_eq!(parsed, normal);
    }
}
