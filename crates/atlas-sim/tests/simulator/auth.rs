//! The token endpoint, bearer tokens and their lifetime, HTTP Digest (challenges, nonce counts, stale
//! nonces), grants of roles per credential, and which credential the request log names.

use std::time::Duration;

use atlas_sim::*;
use reqwest::StatusCode;
use reqwest::header;
use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn token_endpoint_issues_tokens_and_refuses_bad_requests() {
    let sim = Simulator::start(world()).await.unwrap();

    let response = post_token(
        &sim,
        &basic(CLIENT_ID, CLIENT_SECRET),
        "grant_type=client_credentials",
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
    let body = json_of(response).await;
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["token_type"], "Bearer");
    let first = body["access_token"].as_str().unwrap().to_owned();
    assert!(first.len() >= 32);
    assert_ne!(first, token(&sim).await);

    let response = post_token(
        &sim,
        &basic(CLIENT_ID, "wrong"),
        "grant_type=client_credentials",
    )
    .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        json_of(response).await,
        json!({"error": "invalid_client", "error_description": "Invalid credentials provided."})
    );

    // Form-encoding the id ("_" as %5F) is the mistake Atlas refuses.
    let encoded_id = CLIENT_ID.replace('_', "%5F");
    let response = post_token(
        &sim,
        &basic(&encoded_id, CLIENT_SECRET),
        "grant_type=client_credentials",
    )
    .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    let response = post_token(
        &sim,
        &basic(CLIENT_ID, CLIENT_SECRET),
        "grant_type=password",
    )
    .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(json_of(response).await["error"], "unsupported_grant_type");

    let response = post_token(&sim, &basic(CLIENT_ID, CLIENT_SECRET), "").await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(json_of(response).await["error"], "invalid_request");

    let response = client()
        .get(format!("{}/api/oauth/token", sim.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn tokens_stop_working_after_their_lifetime() {
    let sim = Simulator::start(World {
        token_lifetime: Duration::ZERO,
        ..world()
    })
    .await
    .unwrap();
    let response = post_token(
        &sim,
        &basic(CLIENT_ID, CLIENT_SECRET),
        "grant_type=client_credentials",
    )
    .await;
    let body = json_of(response).await;
    assert_eq!(body["expires_in"], 0);
    let response = get_with_token(&sim, ORG, body["access_token"].as_str().unwrap()).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn digest_challenge_then_one_round_trip_per_call_with_growing_nc() {
    let sim = Simulator::start(world()).await.unwrap();
    let uri = invites_path(ORG);

    let response = get_invites(&sim, ORG, None).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let challenge = challenge_of(response.headers());
    assert!(
        challenge.starts_with(r#"Digest realm="MMS Public API", domain="", nonce=""#),
        "{challenge}"
    );
    assert!(
        challenge.ends_with(r#"", algorithm=MD5, qop="auth", stale=false"#),
        "{challenge}"
    );
    assert_eq!(
        json_of(response).await,
        json!({"error": 401, "reason": "Unauthorized", "detail": "You are not authorized for this resource."})
    );

    for nc in 1..=3 {
        let response = get_invites(
            &sim,
            ORG,
            Some(&digest_answer(&challenge, nc, PRIVATE_KEY, &uri)),
        )
        .await;
        assert_eq!(response.status(), StatusCode::OK, "nc {nc}");
        assert_eq!(json_of(response).await.as_array().map(Vec::len), Some(1));
    }
    assert_eq!(
        sim.requests().len(),
        4,
        "one challenge, then one request per call"
    );

    let replay = get_invites(
        &sim,
        ORG,
        Some(&digest_answer(&challenge, 2, PRIVATE_KEY, &uri)),
    )
    .await;
    assert_eq!(replay.status(), StatusCode::UNAUTHORIZED);
    assert!(challenge_of(replay.headers()).ends_with("stale=false"));

    let wrong = get_invites(
        &sim,
        ORG,
        Some(&digest_answer(&challenge, 4, "not-the-key", &uri)),
    )
    .await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let fresh = challenge_of(wrong.headers());
    assert!(fresh.ends_with("stale=false"));
    assert_ne!(fresh, challenge);

    let other_target = get_invites(
        &sim,
        ORG,
        Some(&digest_answer(&fresh, 1, PRIVATE_KEY, "/elsewhere")),
    )
    .await;
    assert_eq!(other_target.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn stale_nonces_get_stale_true_and_a_new_nonce_that_works() {
    let sim = Simulator::start(World {
        nonce_max_uses: Some(2),
        ..world()
    })
    .await
    .unwrap();
    let uri = invites_path(ORG);
    let challenge = challenge_of(get_invites(&sim, ORG, None).await.headers());

    let ok = get_invites(
        &sim,
        ORG,
        Some(&digest_answer(&challenge, 1, PRIVATE_KEY, &uri)),
    )
    .await;
    assert_eq!(ok.status(), StatusCode::OK);
    sim.expire_nonces();
    let stale = get_invites(
        &sim,
        ORG,
        Some(&digest_answer(&challenge, 2, PRIVATE_KEY, &uri)),
    )
    .await;
    assert_eq!(stale.status(), StatusCode::UNAUTHORIZED);
    let renewed = challenge_of(stale.headers());
    assert!(renewed.ends_with("stale=true"), "{renewed}");
    assert_ne!(
        digest_auth::parse(&renewed).unwrap().nonce,
        digest_auth::parse(&challenge).unwrap().nonce
    );

    // The renewed nonce is used up after nonce_max_uses = 2.
    for nc in 1..=2 {
        let ok = get_invites(
            &sim,
            ORG,
            Some(&digest_answer(&renewed, nc, PRIVATE_KEY, &uri)),
        )
        .await;
        assert_eq!(ok.status(), StatusCode::OK);
    }
    let used_up = get_invites(
        &sim,
        ORG,
        Some(&digest_answer(&renewed, 3, PRIVATE_KEY, &uri)),
    )
    .await;
    assert_eq!(used_up.status(), StatusCode::UNAUTHORIZED);
    assert!(challenge_of(used_up.headers()).ends_with("stale=true"));
}

#[tokio::test]
async fn grants_separate_owners_members_and_outsiders() {
    let sim = Simulator::start(World {
        grants: vec![
            Grant::new(CLIENT_ID, ORG, OrgRole::Owner),
            Grant::new(PUBLIC_KEY, ORG, OrgRole::Member),
        ],
        ..users_world()
    })
    .await
    .unwrap();
    let token = token(&sim).await;

    assert_eq!(
        get_with_token(&sim, ORG, &token).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        get_users(&sim, ORG, "", &token).await.status(),
        StatusCode::OK
    );
    for response in [
        get_with_token(&sim, OTHER_ORG, &token).await,
        get_users(&sim, OTHER_ORG, "", &token).await,
    ] {
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(json_of(response).await["errorCode"], "USER_UNAUTHORIZED");
    }

    let member_invites = get_digest(&sim, &invites_path(ORG), ATLAS_MEDIA_TYPE).await;
    assert_eq!(member_invites.status(), StatusCode::FORBIDDEN);
    let body = json_of(member_invites).await;
    assert_eq!(body["errorCode"], "USER_UNAUTHORIZED");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("Organization Owner"),
        "{body}"
    );
    let member_users = get_digest(&sim, &users_path(ORG), ORG_USERS_MEDIA_TYPE).await;
    assert_eq!(member_users.status(), StatusCode::OK);
    assert_eq!(json_of(member_users).await["totalCount"], 3);
    let outsider = get_digest(&sim, &users_path(OTHER_ORG), ORG_USERS_MEDIA_TYPE).await;
    assert_eq!(outsider.status(), StatusCode::UNAUTHORIZED);

    // Without grants every credential is Owner everywhere again.
    sim.set_grants(Vec::new());
    assert_eq!(
        get_digest(&sim, &invites_path(ORG), ATLAS_MEDIA_TYPE)
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        get_with_token(&sim, OTHER_ORG, &token).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn request_log_records_which_credential_made_each_call() {
    let sim = Simulator::start(users_world()).await.unwrap();
    let token = token(&sim).await;
    get_users(&sim, ORG, "", &token).await;
    get_digest(&sim, &users_path(ORG), ORG_USERS_MEDIA_TYPE).await;
    get_with_token(&sim, ORG, "made-up").await;
    post_token(
        &sim,
        &basic(CLIENT_ID, "wrong"),
        "grant_type=client_credentials",
    )
    .await;

    let recorded = sim.requests();
    let endpoints: Vec<(&str, u16)> = recorded
        .iter()
        .map(|request| {
            let endpoint = match request.path.as_str() {
                "/api/oauth/token" => "token",
                path if path.ends_with("/users") => "users",
                _ => "invites",
            };
            (endpoint, request.status)
        })
        .collect();
    assert_eq!(
        endpoints,
        [
            ("token", 200),
            ("users", 200),
            ("users", 401),
            ("users", 200),
            ("invites", 401),
            ("token", 401)
        ]
    );
    let credentials: Vec<Option<&str>> = recorded
        .iter()
        .map(|request| request.credential.as_deref())
        .collect();
    assert_eq!(
        credentials,
        [
            Some(CLIENT_ID),
            Some(CLIENT_ID),
            None,
            Some(PUBLIC_KEY),
            None,
            None
        ]
    );
    assert!(
        sim.requests()
            .iter()
            .filter(|request| request.path.ends_with("/users"))
            .all(|request| request.org_id.as_deref() == Some(ORG))
    );
}
