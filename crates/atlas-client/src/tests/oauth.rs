//! Service accounts: the token request, caching, single flight, and the one refresh a 401 allows.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use super::server::{Reply, TestServer, token_reply};
use super::*;

const UNAUTHORIZED: &str = r#"{"detail":"Invalid or expired token.","error":401,"errorCode":"UNAUTHORIZED","reason":"Unauthorized"}"#;

/// A token endpoint handing out `tok-1`, `tok-2`, …, and an API accepting only the tokens in `valid`.
fn numbered_tokens(
    expires_in: u64,
    valid: &'static [&'static str],
) -> impl Fn(&server::Recorded) -> Reply {
    let issued = AtomicUsize::new(0);
    move |request| {
        if request.path == TOKEN_PATH {
            let n = issued.fetch_add(1, Ordering::SeqCst) + 1;
            return token_reply(&format!("tok-{n}"), expires_in);
        }
        let authorized = valid
            .iter()
            .any(|token| request.header("authorization") == Some(&format!("Bearer {token}")));
        if authorized {
            Reply::json(200, SPEC_EXAMPLE)
        } else {
            Reply::json(401, UNAUTHORIZED)
        }
    }
}

#[tokio::test]
async fn bearer_flow_sends_the_documented_requests() {
    let server = TestServer::start(numbered_tokens(3600, &["tok-1"])).await;
    let (result, calls) = list(&client(&server), &service_account(), far_deadline()).await;

    let listing = result.unwrap();
    assert_eq!(listing.items.len(), 1);
    assert_eq!(listing.org_name.as_deref(), Some("string"));
    assert_eq!(
        outcomes(&calls),
        [(TOKEN, Some(200), None), (LIST, Some(200), None)]
    );

    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    let token = &requests[0];
    assert_eq!(
        (token.method.as_str(), token.path.as_str()),
        ("POST", TOKEN_PATH)
    );
    let expected_basic = format!(
        "Basic {}",
        BASE64.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"))
    );
    assert_eq!(token.header("authorization"), Some(expected_basic.as_str()));
    assert_eq!(
        token.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(token.header("accept"), Some("application/json"));
    assert_eq!(&token.body[..], b"grant_type=client_credentials");

    let api = &requests[1];
    assert_eq!(
        (api.method.as_str(), api.path.as_str()),
        ("GET", INVITES_PATH)
    );
    assert_eq!(api.header("authorization"), Some("Bearer tok-1"));
    assert_eq!(
        api.header("accept"),
        Some("application/vnd.atlas.2023-01-01+json")
    );
    assert_eq!(api.header("user-agent"), Some(USER_AGENT));
    assert!(
        api.header("accept-encoding")
            .is_some_and(|value| value.contains("gzip"))
    );
}

#[tokio::test]
async fn a_fresh_token_is_reused_across_calls() {
    let server = TestServer::start(numbered_tokens(3600, &["tok-1"])).await;
    let (client, auth) = (client(&server), service_account());
    let (first, first_calls) = list(&client, &auth, far_deadline()).await;
    let (second, second_calls) = list(&client, &auth, far_deadline()).await;
    first.unwrap();
    second.unwrap();
    assert_eq!(
        outcomes(&first_calls),
        [(TOKEN, Some(200), None), (LIST, Some(200), None)]
    );
    assert_eq!(outcomes(&second_calls), [(LIST, Some(200), None)]);
    assert_eq!(server.requests_to(TOKEN_PATH).len(), 1);
}

#[tokio::test]
async fn an_expired_token_is_replaced() {
    // expires_in 0: the token is past its refresh point as soon as it arrives.
    let server = TestServer::start(numbered_tokens(0, &["tok-1", "tok-2"])).await;
    let (client, auth) = (client(&server), service_account());
    let (_, first_calls) = list(&client, &auth, far_deadline()).await;
    let (second, second_calls) = list(&client, &auth, far_deadline()).await;
    second.unwrap();
    assert_eq!(
        outcomes(&first_calls),
        [(TOKEN, Some(200), None), (LIST, Some(200), None)]
    );
    assert_eq!(
        outcomes(&second_calls),
        [(TOKEN, Some(200), None), (LIST, Some(200), None)]
    );
    let bearers: Vec<_> = server
        .requests_to(INVITES_PATH)
        .iter()
        .map(|r| r.header("authorization").map(str::to_owned))
        .collect();
    assert_eq!(
        bearers,
        [
            Some("Bearer tok-1".to_owned()),
            Some("Bearer tok-2".to_owned())
        ]
    );
}

#[tokio::test]
async fn concurrent_calls_share_one_token_fetch() {
    let server = TestServer::start(numbered_tokens(3600, &["tok-1"])).await;
    let (client, auth) = (client(&server), service_account());
    let results = join_all(
        (0..10)
            .map(|_| list(&client, &auth, far_deadline()))
            .collect(),
    )
    .await;

    assert_eq!(server.requests_to(TOKEN_PATH).len(), 1);
    assert_eq!(server.requests_to(INVITES_PATH).len(), 10);
    let token_records: usize = results
        .iter()
        .map(|(_, calls)| calls.iter().filter(|c| c.endpoint == TOKEN).count())
        .sum();
    assert_eq!(token_records, 1);
    assert!(results.iter().all(|(result, _)| result.is_ok()));
}

#[tokio::test]
async fn a_401_refreshes_the_token_once_and_retries_once() {
    // tok-1 has been revoked behind our back; tok-2 works.
    let server = TestServer::start(numbered_tokens(3600, &["tok-2"])).await;
    let (result, calls) = list(&client(&server), &service_account(), far_deadline()).await;
    result.unwrap();
    assert_eq!(
        outcomes(&calls),
        [
            (TOKEN, Some(200), None),
            (TOKEN, Some(200), None),
            (LIST, Some(200), None)
        ]
    );
    let sequence: Vec<_> = server
        .requests()
        .iter()
        .map(|r| (r.path.clone(), r.header("authorization").map(str::to_owned)))
        .collect();
    assert_eq!(
        sequence[1],
        (INVITES_PATH.to_owned(), Some("Bearer tok-1".to_owned()))
    );
    assert_eq!(
        sequence[3],
        (INVITES_PATH.to_owned(), Some("Bearer tok-2".to_owned()))
    );
    assert_eq!(sequence.len(), 4);
}

#[tokio::test]
async fn a_second_401_is_final() {
    let server = TestServer::start(numbered_tokens(3600, &[])).await;
    let (result, calls) = list(&client(&server), &service_account(), far_deadline()).await;
    let error = result.unwrap_err();
    assert_eq!(error.error_code(), "UNAUTHORIZED");
    assert_eq!(error.status(), Some(401));
    assert_eq!(
        outcomes(&calls),
        [
            (TOKEN, Some(200), None),
            (TOKEN, Some(200), None),
            (LIST, Some(401), Some("UNAUTHORIZED"))
        ]
    );
    assert_eq!(
        server.requests_to(INVITES_PATH).len(),
        2,
        "one retry after the refresh, and no retry policy on a 401"
    );
}

#[tokio::test]
async fn concurrent_401s_cause_a_single_refresh() {
    let server = TestServer::start(numbered_tokens(3600, &["tok-2"])).await;
    let (client, auth) = (client(&server), service_account());
    let results = join_all(
        (0..5)
            .map(|_| list(&client, &auth, far_deadline()))
            .collect(),
    )
    .await;
    assert!(results.iter().all(|(result, _)| result.is_ok()));
    assert_eq!(server.requests_to(TOKEN_PATH).len(), 2);
}

#[tokio::test]
async fn refused_credentials_fail_at_once_with_the_oauth_error() {
    let server = TestServer::start(|request| {
        if request.path == TOKEN_PATH {
            Reply::json(
                401,
                r#"{"error_description":"Invalid credentials provided.","error":"invalid_client"}"#,
            )
        } else {
            Reply::json(200, SPEC_EXAMPLE)
        }
    })
    .await;
    let (client, auth) = (client(&server), service_account());
    let results = join_all(
        (0..5)
            .map(|_| list(&client, &auth, far_deadline()))
            .collect(),
    )
    .await;

    // One fetch in flight, and its refusal is every waiter's answer: no stampede on the token endpoint.
    assert_eq!(server.requests().len(), 1);
    let all_calls: Vec<CallRecord> = results
        .iter()
        .flat_map(|(_, calls)| calls.clone())
        .collect();
    assert_eq!(
        outcomes(&all_calls),
        [(TOKEN, Some(401), Some("INVALID_CLIENT"))]
    );
    for (result, _) in &results {
        let error = result.as_ref().unwrap_err();
        assert_eq!(
            error,
            &ApiError::Token {
                status: 401,
                error: "invalid_client".into()
            }
        );
        let shown = format!("{error} {error:?}");
        assert!(!shown.contains(CLIENT_SECRET), "{shown}");
    }

    // A later poll asks again rather than repeating an old failure forever.
    let (_, calls) = list(&client, &auth, far_deadline()).await;
    assert_eq!(
        outcomes(&calls),
        [(TOKEN, Some(401), Some("INVALID_CLIENT"))]
    );
}

#[tokio::test]
async fn token_endpoint_outages_are_retried_like_any_call() {
    let attempts = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&attempts);
    let server = TestServer::start(move |request| {
        if request.path != TOKEN_PATH {
            return Reply::json(200, SPEC_EXAMPLE);
        }
        if seen.fetch_add(1, Ordering::SeqCst) == 0 {
            Reply::json(
                503,
                r#"{"error":503,"errorCode":"SERVICE_UNAVAILABLE","reason":"Service Unavailable"}"#,
            )
        } else {
            token_reply("tok", 3600)
        }
    })
    .await;
    let (result, calls) = list(&client(&server), &service_account(), far_deadline()).await;
    result.unwrap();
    assert_eq!(
        outcomes(&calls),
        [
            (TOKEN, Some(503), Some("SERVICE_UNAVAILABLE")),
            (TOKEN, Some(200), None),
            (LIST, Some(200), None)
        ]
    );
}

#[tokio::test]
async fn a_malformed_token_response_is_an_invalid_response() {
    let server = TestServer::start(|_| Reply::json(200, r#"{"token":"x"}"#)).await;
    let (result, calls) = list(&client(&server), &service_account(), far_deadline()).await;
    assert!(matches!(result, Err(ApiError::InvalidResponse { .. })));
    assert_eq!(
        outcomes(&calls),
        [(TOKEN, Some(200), Some("INVALID_RESPONSE"))]
    );
}
