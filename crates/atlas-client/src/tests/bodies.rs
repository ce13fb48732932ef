//! Response bodies: size limits (after decompression), non-JSON, truncation, lifecycle headers.

use std::io::Write as _;

use flate2::Compression;
use flate2::write::GzEncoder;

use super::server::{Reply, TestServer};
use super::*;

const VARIANTS: &str = include_str!("../../../../tests/fixtures/atlas/org_invites_variants.json");

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

/// `count` copies of the spec example's invitation in one array.
fn many_invitations(count: usize) -> String {
    let one = SPEC_EXAMPLE
        .trim()
        .trim_start_matches('[')
        .trim_end_matches(']');
    format!("[{}]", vec![one; count].join(","))
}

async fn run(
    server: &TestServer,
    max_response_bytes: u64,
) -> (Result<Listing<Vec<Invitation>>, ApiError>, Vec<CallRecord>) {
    let client = client_with(server, Duration::from_secs(5), max_response_bytes);
    list(&client, &api_key(), far_deadline()).await
}

#[tokio::test]
async fn offsets_extra_fields_and_unknown_roles_arrive_intact() {
    let server = TestServer::start(|_| Reply::json(200, VARIANTS)).await;
    let (result, calls) = run(&server, 1 << 20).await;
    let listing = result.unwrap();
    assert_eq!(listing.items.len(), 3);
    assert_eq!(
        listing.items[0].created_at,
        "2026-03-01T10:00:00Z".parse().unwrap()
    );
    assert!(
        listing.items[0]
            .org_roles
            .contains(&"ORG_FUTURE_ROLE".to_owned())
    );
    assert_eq!(listing.org_name.as_deref(), Some("Zürich \"Ops\""));
    assert_eq!(outcomes(&calls), [(LIST, Some(200), None)]);
}

#[tokio::test]
async fn an_empty_array_is_a_successful_empty_listing() {
    let server = TestServer::start(|_| Reply::json(200, "[]")).await;
    let listing = run(&server, 1 << 20).await.0.unwrap();
    assert!(listing.items.is_empty());
    assert_eq!(listing.org_name, None);
}

#[tokio::test]
async fn a_body_over_the_limit_is_cut_off_and_not_retried() {
    let body = many_invitations(20);
    let limit = body.len() as u64 - 1;
    let server = TestServer::start(move |_| Reply::json(200, body.clone())).await;
    let (result, calls) = run(&server, limit).await;
    assert_eq!(result.unwrap_err(), ApiError::BodyTooLarge { limit });
    assert_eq!(
        outcomes(&calls),
        [(LIST, Some(200), Some("BODY_TOO_LARGE"))]
    );
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn a_body_exactly_at_the_limit_is_accepted() {
    let body = many_invitations(20);
    let limit = body.len() as u64;
    let server = TestServer::start(move |_| Reply::json(200, body.clone())).await;
    assert_eq!(run(&server, limit).await.0.unwrap().items.len(), 20);
}

#[tokio::test]
async fn gzip_is_accepted_and_the_limit_applies_to_decoded_bytes() {
    let body = many_invitations(200);
    let compressed = gzip(body.as_bytes());
    assert!(
        compressed.len() * 10 < body.len(),
        "the test needs a body that compresses well"
    );
    let decoded_len = body.len() as u64;
    let server = TestServer::start(move |request| {
        let wants_gzip = request
            .header("accept-encoding")
            .is_some_and(|value| value.contains("gzip"));
        if wants_gzip {
            Reply::json(200, "")
                .header("content-encoding", "gzip")
                .body(compressed.clone())
        } else {
            Reply::json(200, body.clone())
        }
    })
    .await;

    let listing = run(&server, decoded_len).await.0.unwrap();
    assert_eq!(listing.items.len(), 200);

    // Far more than the compressed size, less than the decoded size: the decoded size decides.
    let (result, calls) = run(&server, decoded_len / 2).await;
    assert_eq!(
        result.unwrap_err(),
        ApiError::BodyTooLarge {
            limit: decoded_len / 2
        }
    );
    assert_eq!(
        outcomes(&calls),
        [(LIST, Some(200), Some("BODY_TOO_LARGE"))]
    );
}

#[tokio::test]
async fn an_html_page_with_status_200_is_an_invalid_response() {
    let server = TestServer::start(|_| {
        Reply::status(200)
            .header("content-type", "text/html")
            .body("<!DOCTYPE html><html><body>Maintenance</body></html>")
    })
    .await;
    let (result, calls) = run(&server, 1 << 20).await;
    assert!(matches!(result, Err(ApiError::InvalidResponse { .. })));
    assert_eq!(
        outcomes(&calls),
        [(LIST, Some(200), Some("INVALID_RESPONSE"))]
    );
    assert_eq!(
        server.requests().len(),
        1,
        "asking again would get the same page"
    );
}

#[tokio::test]
async fn malformed_json_is_an_invalid_response() {
    let server = TestServer::start(|_| {
        Reply::json(
            200,
            r#"[{"createdAt":"2026-01-01T00:00:00Z","expiresAt":}]"#,
        )
    })
    .await;
    let (result, calls) = run(&server, 1 << 20).await;
    assert!(matches!(result, Err(ApiError::InvalidResponse { .. })));
    assert_eq!(
        outcomes(&calls),
        [(LIST, Some(200), Some("INVALID_RESPONSE"))]
    );
}

#[tokio::test]
async fn a_truncated_body_is_a_connection_failure_and_retried() {
    let server = TestServer::start(|_| Reply::json(200, many_invitations(5)).truncated()).await;
    let (result, calls) = run(&server, 1 << 20).await;
    assert!(matches!(result, Err(ApiError::Connection(_))), "{result:?}");
    assert_eq!(outcomes(&calls), [(LIST, Some(200), Some("CONNECTION")); 3]);
}

#[tokio::test]
async fn an_html_error_page_gives_the_status_as_the_code() {
    let server = TestServer::start(|_| {
        Reply::status(502)
            .header("content-type", "text/html")
            .body("<html><h1>502 Bad Gateway</h1></html>")
    })
    .await;
    let (result, calls) = run(&server, 1 << 20).await;
    assert_eq!(result.unwrap_err().error_code(), "HTTP_502");
    assert_eq!(outcomes(&calls), [(LIST, Some(502), Some("HTTP_502")); 3]);
}

#[tokio::test]
async fn deprecation_and_sunset_headers_reach_the_listing() {
    let server = TestServer::start(|_| {
        Reply::json(200, SPEC_EXAMPLE)
            .header("deprecation", "true")
            .header("sunset", "Thu, 01 Jul 2027 00:00:00 GMT")
    })
    .await;
    let listing = run(&server, 1 << 20).await.0.unwrap();
    assert!(listing.deprecated);
    assert_eq!(
        listing.sunset,
        Some("2027-07-01T00:00:00Z".parse().unwrap())
    );

    let plain = TestServer::start(|_| Reply::json(200, SPEC_EXAMPLE)).await;
    let listing = run(&plain, 1 << 20).await.0.unwrap();
    assert!(!listing.deprecated);
    assert_eq!(listing.sunset, None);
}
