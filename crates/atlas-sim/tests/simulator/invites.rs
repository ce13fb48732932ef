//! `GET /orgs/{orgId}/invites`: headers, spec field names, the `Accept` version, gzip, and the
//! sunset of the endpoint (410 per org, configurable `Sunset`).

use std::io::Read as _;

use atlas_sim::*;
use reqwest::StatusCode;
use reqwest::header;
use serde_json::{Value, json};

use crate::common::*;

#[tokio::test]
async fn bearer_listing_has_atlas_headers_and_spec_field_names() {
    let sim = Simulator::start(world()).await.unwrap();
    let token = token(&sim).await;

    let response = get_with_token(&sim, ORG, &token).await;
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers().clone();
    assert_eq!(
        headers[header::CONTENT_TYPE],
        "application/vnd.atlas.2023-01-01+json"
    );
    assert_eq!(headers["sunset"], "Thu, 01 Jul 2027 00:00:00 GMT");
    assert_eq!(headers["deprecation"], DEPRECATION);
    assert_eq!(headers["ratelimit-limit"], "500");
    assert_eq!(headers["ratelimit-remaining"], "499");

    let body = json_of(response).await;
    let invitations = body.as_array().unwrap();
    assert_eq!(invitations.len(), 1);
    let invitation = invitations[0].as_object().unwrap();
    let mut keys: Vec<&str> = invitation.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "createdAt",
            "expiresAt",
            "groupRoleAssignments",
            "id",
            "inviterUsername",
            "links",
            "orgId",
            "orgName",
            "roles",
            "teamIds",
            "username"
        ]
    );
    let created = invitation["createdAt"].as_str().unwrap();
    let expires = invitation["expiresAt"].as_str().unwrap();
    assert!(
        created.ends_with('Z') && expires.ends_with('Z'),
        "{created} {expires}"
    );
    let created: jiff::Timestamp = created.parse().unwrap();
    let expires: jiff::Timestamp = expires.parse().unwrap();
    assert_eq!(
        expires.as_second() - created.as_second(),
        INVITATION_LIFETIME_SECS
    );
    let age = jiff::Timestamp::now().as_second() - created.as_second();
    assert!((3599..=3610).contains(&age), "created {age} s ago");
    assert_eq!(invitation["orgId"], ORG);
    assert_eq!(invitation["orgName"], "Test Org");
    assert_eq!(invitation["roles"], json!(["ORG_OWNER"]));
    assert_eq!(
        invitation["groupRoleAssignments"],
        json!([{"groupId": "6523f1a0c8e4b2d9f0a1c0aa", "groupRole": "GROUP_OWNER"}])
    );
    assert_eq!(invitation["teamIds"], json!([]));
    assert_eq!(
        invitation["links"],
        json!([{"href": format!("{}{}/6523f1a0c8e4b2d9f0a1e0aa", sim.base_url(), invites_path(ORG)), "rel": "self"}])
    );

    let empty = get_with_token(&sim, OTHER_ORG, &token).await;
    assert_eq!(json_of(empty).await, json!([]));

    sim.expire_tokens();
    let response = get_with_token(&sim, ORG, &token).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(json_of(response).await["errorCode"], "USER_UNAUTHORIZED");
    let response = get_with_token(&sim, ORG, "made-up").await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn accept_header_must_name_the_2023_01_01_version() {
    let sim = Simulator::start(world()).await.unwrap();
    let token = token(&sim).await;
    for accept in [
        Some("application/json"),
        Some("application/vnd.atlas.2025-03-12+json"),
        None,
    ] {
        let mut request = client()
            .get(format!("{}{}", sim.base_url(), invites_path(ORG)))
            .header(header::AUTHORIZATION, format!("Bearer {token}"));
        if let Some(accept) = accept {
            request = request.header(header::ACCEPT, accept);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_ACCEPTABLE, "{accept:?}");
        let body = json_of(response).await;
        assert_eq!(body["error"], 406);
        assert_eq!(body["errorCode"], "INVALID_VERSION_DATE");
        assert_eq!(body["reason"], "Not Acceptable");
    }
}

#[tokio::test]
async fn invites_gone_answers_410_per_org_and_sunset_headers_are_configurable() {
    let custom_sunset = "Tue, 01 Sep 2026 00:00:00 GMT";
    let sim = Simulator::start(World {
        invites_sunset: Some(custom_sunset.to_owned()),
        ..users_world()
    })
    .await
    .unwrap();
    let token = token(&sim).await;

    let response = get_with_token(&sim, ORG, &token).await;
    assert_eq!(response.headers()["sunset"], custom_sunset);
    assert_eq!(response.headers()["deprecation"], DEPRECATION);

    sim.set_invites_gone(ORG, true);
    let response = get_with_token(&sim, ORG, &token).await;
    assert_eq!(response.status(), StatusCode::GONE);
    assert_eq!(
        json_of(response).await,
        json!({
            "error": 410,
            "errorCode": "VERSION_GONE",
            "reason": "Gone",
            "detail": "This happens when a resource is marked for sunset and the sunset date is in the past."
        })
    );
    assert_eq!(
        get_users(&sim, ORG, "", &token).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        get_with_token(&sim, OTHER_ORG, &token).await.status(),
        StatusCode::OK
    );
    sim.set_invites_gone(ORG, false);
    assert_eq!(
        get_with_token(&sim, ORG, &token).await.status(),
        StatusCode::OK
    );

    sim.set_invites_sunset(None);
    let response = get_with_token(&sim, ORG, &token).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers().get("sunset").is_none());
    assert!(response.headers().get("deprecation").is_none());
}

#[tokio::test]
async fn gzip_is_served_when_asked_for() {
    let sim = Simulator::start(world()).await.unwrap();
    let token = token(&sim).await;
    let response = client()
        .get(format!("{}{}", sim.base_url(), invites_path(ORG)))
        .header(header::ACCEPT, ATLAS_MEDIA_TYPE)
        .header(header::ACCEPT_ENCODING, "gzip")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()[header::CONTENT_ENCODING], "gzip");
    let compressed = response.bytes().await.unwrap();
    let mut decompressed = String::new();
    flate2::read::GzDecoder::new(&compressed[..])
        .read_to_string(&mut decompressed)
        .unwrap();
    let body: Value = serde_json::from_str(&decompressed).unwrap();
    assert_eq!(body[0]["id"], "6523f1a0c8e4b2d9f0a1e0aa");

    let plain = get_with_token(&sim, ORG, &token).await;
    assert!(plain.headers().get(header::CONTENT_ENCODING).is_none());
}
