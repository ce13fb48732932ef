//! Scripted faults served in order to the org (or the token endpoint) they were queued for, delays and
//! hangs, per-org behaviours (rate limited, forbidden), and counting and clearing the queues.

use std::time::{Duration, Instant};

use atlas_sim::*;
use reqwest::StatusCode;
use reqwest::header;
use serde_json::Value;

use crate::common::*;

#[tokio::test]
async fn a_detail_fault_sends_its_sentence_as_atlas_words_an_error() {
    let sim = Simulator::start(world()).await.unwrap();
    let token = token(&sim).await;
    sim.push_faults(
        ORG,
        [Fault::Detail {
            status: 400,
            error_code: "INVALID_PARAMETER".to_owned(),
            detail: "Quoted \"back\": key-123.".to_owned(),
        }],
    );
    let response = get_with_token(&sim, ORG, &token).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body = json_of(response).await;
    assert_eq!(body["detail"], "Quoted \"back\": key-123.");
    assert_eq!(body["errorCode"], "INVALID_PARAMETER");
    assert_eq!(body["error"], 400);
    assert_eq!(
        get_with_token(&sim, ORG, &token).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn faults_are_served_in_order_to_their_org_then_normal_service_resumes() {
    let sim = Simulator::start(world()).await.unwrap();
    let token = token(&sim).await;
    sim.push_faults(
        ORG,
        [
            Fault::Status {
                status: 503,
                error_code: Some("SERVICE_UNAVAILABLE".to_owned()),
                retry_after: Some("7".to_owned()),
            },
            Fault::Status {
                status: 500,
                error_code: None,
                retry_after: None,
            },
            Fault::Html { status: 502 },
            Fault::MalformedJson,
            Fault::TruncatedJson,
            Fault::WrongShape,
            Fault::InvalidDates,
            Fault::Oversized { bytes: 10_000 },
        ],
    );

    // Neither a Digest challenge nor another org's call uses a fault up.
    assert_eq!(
        get_invites(&sim, ORG, None).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        get_with_token(&sim, OTHER_ORG, &token).await.status(),
        StatusCode::OK
    );

    let response = get_with_token(&sim, ORG, &token).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.headers()[header::RETRY_AFTER], "7");
    let body = json_of(response).await;
    assert_eq!(body["errorCode"], "SERVICE_UNAVAILABLE");
    assert_eq!(body["error"], 503);

    let response = get_with_token(&sim, ORG, &token).await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(json_of(response).await.get("errorCode").is_none());

    let response = get_with_token(&sim, ORG, &token).await;
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    assert!(
        response.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(response.text().await.unwrap().contains("<html>"));

    let unparsable = |bytes: &[u8]| serde_json::from_slice::<Value>(bytes).is_err();
    let response = get_with_token(&sim, ORG, &token).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(unparsable(&response.bytes().await.unwrap()));

    let response = get_with_token(&sim, ORG, &token).await;
    assert_eq!(response.status(), StatusCode::OK);
    let truncated = response.bytes().await.unwrap();
    assert!(unparsable(&truncated) && truncated.starts_with(b"[{"));

    let wrong_shape = json_of(get_with_token(&sim, ORG, &token).await).await;
    assert!(wrong_shape.is_object());
    assert_eq!(wrong_shape["results"].as_array().map(Vec::len), Some(1));

    let invalid_dates = json_of(get_with_token(&sim, ORG, &token).await).await;
    assert!(
        invalid_dates[0]["createdAt"]
            .as_str()
            .unwrap()
            .parse::<jiff::Timestamp>()
            .is_err()
    );

    let oversized = get_with_token(&sim, ORG, &token)
        .await
        .bytes()
        .await
        .unwrap();
    assert_eq!(oversized.len(), 10_000);
    assert!(
        serde_json::from_slice::<Value>(&oversized)
            .unwrap()
            .is_array()
    );

    let normal = get_with_token(&sim, ORG, &token).await;
    assert_eq!(normal.status(), StatusCode::OK);
    assert_eq!(json_of(normal).await.as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn truncated_body_promises_more_than_it_sends() {
    let sim = Simulator::start(world()).await.unwrap();
    let token = token(&sim).await;
    sim.push_faults(ORG, [Fault::TruncatedBody]);
    let response = get_with_token(&sim, ORG, &token).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.content_length().is_some_and(|length| length > 100));
    assert!(response.bytes().await.is_err());
    assert_eq!(
        get_with_token(&sim, ORG, &token).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn delay_answers_late_and_hang_never_answers() {
    let sim = Simulator::start(world()).await.unwrap();
    let token = token(&sim).await;
    sim.push_faults(ORG, [Fault::Delay(Duration::from_millis(150)), Fault::Hang]);

    let started = Instant::now();
    let response = get_with_token(&sim, ORG, &token).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(150));

    let hung = client()
        .get(format!("{}{}", sim.base_url(), invites_path(ORG)))
        .header(header::ACCEPT, ATLAS_MEDIA_TYPE)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .timeout(Duration::from_millis(200))
        .send()
        .await;
    assert!(hung.is_err_and(|error| error.is_timeout()));
    assert_eq!(sim.requests().last().map(|request| request.status), Some(0));

    assert_eq!(
        get_with_token(&sim, ORG, &token).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn token_faults_are_served_in_order_to_valid_clients_only() {
    let sim = Simulator::start(world()).await.unwrap();
    sim.push_token_faults([
        Fault::OAuthError {
            status: 401,
            error: "invalid_client".to_owned(),
        },
        Fault::Status {
            status: 429,
            error_code: Some("RATE_LIMITED".to_owned()),
            retry_after: None,
        },
        Fault::WrongShape,
    ]);
    let good = basic(CLIENT_ID, CLIENT_SECRET);
    let form = "grant_type=client_credentials";

    let refused = post_token(&sim, &basic(CLIENT_ID, "wrong"), form).await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);

    let response = post_token(&sim, &good, form).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(json_of(response).await["error"], "invalid_client");
    let response = post_token(&sim, &good, form).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(json_of(response).await["errorCode"], "RATE_LIMITED");
    let response = post_token(&sim, &good, form).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(json_of(response).await.is_array());

    let token = token(&sim).await;
    assert_eq!(
        get_with_token(&sim, ORG, &token).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn rate_limited_every_third_call_and_forbidden_orgs() {
    let sim = Simulator::start(world()).await.unwrap();
    let token = token(&sim).await;
    sim.set_behaviour(
        ORG,
        Behaviour::RateLimitedEvery {
            n: 3,
            retry_after_secs: Some(2),
        },
    );
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let response = get_with_token(&sim, ORG, &token).await;
        statuses.push(response.status().as_u16());
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            assert_eq!(response.headers()[header::RETRY_AFTER], "2");
            assert_eq!(response.headers()["ratelimit-remaining"], "0");
            let body = json_of(response).await;
            assert_eq!(body["errorCode"], "RATE_LIMITED_TOKEN_BUCKET");
            assert_eq!(body["reason"], "Too Many Requests");
            assert!(
                body["detail"]
                    .as_str()
                    .unwrap()
                    .contains("Please retry after 2 seconds.")
            );
        }
    }
    assert_eq!(statuses, [200, 200, 429, 200, 200, 429]);

    sim.set_behaviour(
        ORG,
        Behaviour::RateLimitedEvery {
            n: 1,
            retry_after_secs: None,
        },
    );
    let response = get_with_token(&sim, ORG, &token).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.headers().get(header::RETRY_AFTER).is_none());

    sim.set_behaviour(ORG, Behaviour::Forbidden);
    let response = get_with_token(&sim, ORG, &token).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let body = json_of(response).await;
    assert_eq!(body["error"], 403);
    assert_eq!(body["errorCode"], "USER_UNAUTHORIZED");
}

#[tokio::test]
async fn queued_faults_can_be_counted_and_cleared() {
    let sim = Simulator::start(world()).await.unwrap();
    let token = token(&sim).await;
    sim.push_faults(ORG, [Fault::MalformedJson, Fault::Hang]);
    sim.push_token_faults([Fault::WrongShape]);
    assert_eq!(sim.pending_faults(ORG), 2);
    assert_eq!(sim.pending_faults(OTHER_ORG), 0);
    assert_eq!(sim.pending_token_faults(), 1);
    sim.clear_faults(ORG);
    assert_eq!(sim.pending_faults(ORG), 0);
    let response = get_with_token(&sim, ORG, &token).await;
    assert_eq!(json_of(response).await.as_array().map(Vec::len), Some(1));
    let logged = sim.requests().pop().unwrap();
    assert_eq!(logged.fault, None);
    assert!(logged.received_at <= Instant::now());
}
