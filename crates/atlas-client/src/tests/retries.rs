//! Retries inside one call: 429 and Retry-After, 5xx, timeouts, connection failures, and the deadline.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::server::{Reply, TestServer};
use super::*;

/// A server answering the invites path with `script[n]` for its n-th request, and the last entry after that.
async fn scripted(script: Vec<fn() -> Reply>) -> TestServer {
    let served = AtomicUsize::new(0);
    TestServer::start(move |_| {
        let n = served.fetch_add(1, Ordering::SeqCst).min(script.len() - 1);
        script[n]()
    })
    .await
}

fn ok() -> Reply {
    Reply::json(200, SPEC_EXAMPLE)
}

fn rate_limited() -> Reply {
    Reply::json(
        429,
        r#"{"detail":"Rate limit exceeded.","error":429,"errorCode":"RATE_LIMITED_TOKEN_BUCKET","reason":"Too Many Requests"}"#,
    )
}

fn internal_error() -> Reply {
    Reply::json(
        500,
        r#"{"error":500,"errorCode":"UNEXPECTED_ERROR","reason":"Internal Server Error"}"#,
    )
}

/// An API key against a server that never challenges: one plain GET per attempt and no token
/// records, which keeps these tests about retries alone.
async fn run(
    server: &TestServer,
    deadline: Instant,
) -> (Result<Listing<Vec<Invitation>>, ApiError>, Vec<CallRecord>) {
    list(&client(server), &api_key(), deadline).await
}

#[tokio::test]
async fn a_500_is_retried_and_the_success_returned() {
    let server = scripted(vec![internal_error, ok]).await;
    let (result, calls) = run(&server, far_deadline()).await;
    assert_eq!(result.unwrap().items.len(), 1);
    assert_eq!(
        outcomes(&calls),
        [
            (LIST, Some(500), Some("UNEXPECTED_ERROR")),
            (LIST, Some(200), None)
        ]
    );
}

#[tokio::test]
async fn at_most_three_attempts() {
    let server = scripted(vec![|| Reply::status(503)]).await;
    let (result, calls) = run(&server, far_deadline()).await;
    assert_eq!(result.unwrap_err().error_code(), "HTTP_503");
    assert_eq!(outcomes(&calls), [(LIST, Some(503), Some("HTTP_503")); 3]);
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn a_429_without_retry_after_backs_off_and_retries() {
    let server = scripted(vec![rate_limited, rate_limited, ok]).await;
    let (result, calls) = run(&server, far_deadline()).await;
    result.unwrap();
    assert_eq!(
        outcomes(&calls),
        [
            (LIST, Some(429), Some("RATE_LIMITED_TOKEN_BUCKET")),
            (LIST, Some(429), Some("RATE_LIMITED_TOKEN_BUCKET")),
            (LIST, Some(200), None)
        ]
    );
}

#[tokio::test]
async fn a_429_waits_for_retry_after() {
    let server = scripted(vec![|| rate_limited().header("retry-after", "1"), ok]).await;
    let started = Instant::now();
    let (result, calls) = run(&server, far_deadline()).await;
    result.unwrap();
    // The test backoff is milliseconds: only the header can explain a one-second wait.
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(calls.len(), 2);
}

#[tokio::test]
async fn a_retry_after_past_the_deadline_gives_up_at_once() {
    let server = scripted(vec![|| rate_limited().header("retry-after", "120"), ok]).await;
    let started = Instant::now();
    let (result, calls) = run(&server, deadline_in(Duration::from_secs(10))).await;
    let error = result.unwrap_err();
    assert!(
        matches!(error, ApiError::Status { status: 429, retry_after: Some(wait), .. } if wait == Duration::from_secs(120))
    );
    assert_eq!(
        outcomes(&calls),
        [(LIST, Some(429), Some("RATE_LIMITED_TOKEN_BUCKET"))]
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "it must not have slept"
    );
}

#[tokio::test]
async fn the_default_backoff_is_not_started_when_the_deadline_is_closer() {
    let server = scripted(vec![internal_error, ok]).await;
    install_crypto();
    let client = AtlasClient::new(ClientSettings {
        base_url: server.base_url.clone(),
        timeout: Duration::from_secs(5),
        max_response_bytes: 1 << 20,
        user_agent: USER_AGENT.to_owned(),
        network: Default::default(),
    })
    .unwrap();
    let started = Instant::now();
    // The production policy waits at least 0.5 s before the second attempt; only 300 ms are left.
    let (result, calls) = list(&client, &api_key(), deadline_in(Duration::from_millis(300))).await;
    assert_eq!(result.unwrap_err().error_code(), "UNEXPECTED_ERROR");
    assert_eq!(calls.len(), 1);
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "it must not have started the ≥ 0.5 s wait"
    );
}

#[tokio::test]
async fn other_4xx_fail_at_once() {
    for status in [400u16, 403, 404, 406, 410] {
        let hits = Arc::new(AtomicUsize::new(0));
        let seen = Arc::clone(&hits);
        let server = TestServer::start(move |_| {
            seen.fetch_add(1, Ordering::SeqCst);
            Reply::json(
                status,
                r#"{"error":404,"errorCode":"RESOURCE_NOT_FOUND","reason":"Not Found"}"#,
            )
        })
        .await;
        let (result, calls) = run(&server, far_deadline()).await;
        assert_eq!(result.unwrap_err().status(), Some(status));
        assert_eq!(
            outcomes(&calls),
            [(LIST, Some(status), Some("RESOURCE_NOT_FOUND"))]
        );
        assert_eq!(
            hits.load(Ordering::SeqCst),
            1,
            "HTTP {status} must not be retried"
        );
    }
}

#[tokio::test]
async fn timeouts_are_retried_and_recorded_without_a_status() {
    let server = TestServer::start(|_| Reply::hang()).await;
    let client = client_with(&server, Duration::from_millis(150), 1 << 20);
    let (result, calls) = list(&client, &api_key(), far_deadline()).await;
    assert_eq!(result.unwrap_err(), ApiError::Timeout);
    assert_eq!(outcomes(&calls), [(LIST, None, Some("TIMEOUT")); 3]);
    assert!(
        calls
            .iter()
            .all(|call| call.duration >= Duration::from_millis(150))
    );
}

#[tokio::test]
async fn a_request_never_outlives_the_deadline() {
    let server = TestServer::start(|_| Reply::hang()).await;
    // A 30 s timeout, but the poll must be over in 300 ms.
    let client = client_with(&server, Duration::from_secs(30), 1 << 20);
    let started = Instant::now();
    let (result, calls) = list(&client, &api_key(), deadline_in(Duration::from_millis(300))).await;
    assert_eq!(result.unwrap_err(), ApiError::Timeout);
    assert_eq!(outcomes(&calls), [(LIST, None, Some("TIMEOUT"))]);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn connection_failures_are_retried_and_recorded_without_a_status() {
    // A port that was just free and is closed now: connections are refused.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    install_crypto();
    let client = AtlasClient::new(ClientSettings {
        base_url: format!("http://{address}"),
        timeout: Duration::from_secs(5),
        max_response_bytes: 1 << 20,
        user_agent: USER_AGENT.to_owned(),
        network: Default::default(),
    })
    .unwrap()
    .with_retry_policy(FAST_RETRIES);
    let (result, calls) = list(&client, &service_account(), far_deadline()).await;
    let error = result.unwrap_err();
    assert!(
        matches!(&error, ApiError::Connection(message) if !message.contains(CLIENT_SECRET)),
        "{error:?}"
    );
    assert_eq!(
        outcomes(&calls),
        [(TOKEN, None, Some("CONNECTION")); 3],
        "the token fetch is what fails"
    );
}

#[tokio::test]
async fn nothing_is_sent_once_the_deadline_has_passed() {
    let server = TestServer::start(|_| ok()).await;
    let (result, calls) = list(&client(&server), &service_account(), Instant::now()).await;
    assert_eq!(result.unwrap_err(), ApiError::Timeout);
    assert!(
        calls.is_empty(),
        "no call was made, so none is recorded: {calls:?}"
    );
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn waiting_for_another_poll_token_fetch_ends_at_our_deadline() {
    // The token endpoint hangs; the first poll's fetch holds the lock for its whole 2 s timeout.
    let server = TestServer::start(|_| Reply::hang()).await;
    let client = client_with(&server, Duration::from_secs(2), 1 << 20);
    let auth = service_account();
    let timed = |deadline: Instant| {
        let (client, auth) = (&client, &auth);
        async move {
            let started = Instant::now();
            let (result, calls) = list(client, auth, deadline).await;
            (result, calls, started.elapsed())
        }
    };
    let results = join_all(vec![
        timed(deadline_in(
            Duration::from_secs(2) + Duration::from_millis(100),
        )),
        timed(deadline_in(Duration::from_millis(200))),
    ])
    .await;

    let (first, first_calls, _) = &results[0];
    assert_eq!(first.as_ref().unwrap_err(), &ApiError::Timeout);
    assert!(!first_calls.is_empty());
    assert!(
        outcomes(first_calls)
            .iter()
            .all(|outcome| *outcome == (TOKEN, None, Some("TIMEOUT")))
    );
    let (second, second_calls, waited) = &results[1];
    assert_eq!(second.as_ref().unwrap_err(), &ApiError::Timeout);
    assert!(
        second_calls.is_empty(),
        "the second poll never got to send anything"
    );
    assert!(
        *waited < Duration::from_secs(1),
        "waited {waited:?} for someone else's fetch"
    );
    assert_eq!(server.requests().len(), first_calls.len());
}
