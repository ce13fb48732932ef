//! End-to-end tests of the simulator over real sockets on 127.0.0.1.

use std::io::Read as _;
use std::time::{Duration, Instant};

use base64::Engine as _;
use digest_auth::AuthContext;
use reqwest::StatusCode;
use reqwest::header::{self, HeaderMap};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use super::*;

const ORG: &str = "6523f1a0c8e4b2d9f0a1b0aa";
const OTHER_ORG: &str = "6523f1a0c8e4b2d9f0a1b0bb";
const CLIENT_ID: &str = "mdb_sa_id_test_0000";
const CLIENT_SECRET: &str = "s3cr_t:with-colon";
const PUBLIC_KEY: &str = "testpubk";
const PRIVATE_KEY: &str = "test-private-key";

fn world() -> World {
    let invitation = SimInvitation::sent_ago("6523f1a0c8e4b2d9f0a1e0aa", "alice@example.com", 3600)
        .with_org_roles(["ORG_OWNER"])
        .with_project_role("6523f1a0c8e4b2d9f0a1c0aa", "GROUP_OWNER");
    World {
        orgs: vec![
            SimOrg::new(ORG, "Test Org", vec![invitation]),
            SimOrg::new(OTHER_ORG, "Other Org", Vec::new()),
        ],
        service_accounts: vec![(CLIENT_ID.to_owned(), CLIENT_SECRET.to_owned())],
        api_keys: vec![(PUBLIC_KEY.to_owned(), PRIVATE_KEY.to_owned())],
        ..World::default()
    }
}

thread_local! {
    // Building a client is slow (TLS roots); each test runs on its own thread with its own runtime,
    // so one client per thread is one per test and never crosses runtimes.
    static CLIENT: reqwest::Client = {
        let _ = rustls::crypto::ring::default_provider().install_default();
        reqwest::Client::builder().no_gzip().build().unwrap()
    };
}

fn client() -> reqwest::Client {
    CLIENT.with(reqwest::Client::clone)
}

fn invites_path(org: &str) -> String {
    format!("/api/atlas/v2/orgs/{org}/invites")
}

fn basic(id: &str, secret: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
    )
}

async fn post_token(sim: &Simulator, authorization: &str, form: &str) -> reqwest::Response {
    client()
        .post(format!("{}/api/oauth/token", sim.base_url()))
        .header(header::AUTHORIZATION, authorization)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "application/json")
        .body(form.to_owned())
        .send()
        .await
        .unwrap()
}

async fn token(sim: &Simulator) -> String {
    let response = post_token(
        sim,
        &basic(CLIENT_ID, CLIENT_SECRET),
        "grant_type=client_credentials",
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

async fn get_invites(sim: &Simulator, org: &str, authorization: Option<&str>) -> reqwest::Response {
    let mut request = client()
        .get(format!("{}{}", sim.base_url(), invites_path(org)))
        .header(header::ACCEPT, ATLAS_MEDIA_TYPE);
    if let Some(authorization) = authorization {
        request = request.header(header::AUTHORIZATION, authorization);
    }
    request.send().await.unwrap()
}

async fn get_with_token(sim: &Simulator, org: &str, token: &str) -> reqwest::Response {
    get_invites(sim, org, Some(&format!("Bearer {token}"))).await
}

async fn json_of(response: reqwest::Response) -> Value {
    serde_json::from_slice(&response.bytes().await.unwrap()).unwrap()
}

fn challenge_of(headers: &HeaderMap) -> String {
    headers
        .get(header::WWW_AUTHENTICATE)
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned()
}

fn digest_answer(challenge: &str, nc: u32, password: &str, uri: &str) -> String {
    let mut prompt = digest_auth::parse(challenge).unwrap();
    prompt.nc = nc - 1;
    prompt
        .respond(&AuthContext::new(PUBLIC_KEY, password, uri))
        .unwrap()
        .to_string()
}

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
async fn bad_ids_unknown_orgs_paths_and_methods_get_atlas_errors() {
    let sim = Simulator::start(world()).await.unwrap();
    let token = token(&sim).await;

    let response = get_with_token(&sim, "not-an-id", &token).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(json_of(response).await["errorCode"], "VALIDATION_ERROR");

    let response = get_with_token(&sim, "0123456789abcdef01234567", &token).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(json_of(response).await["errorCode"], "RESOURCE_NOT_FOUND");

    let response = client()
        .get(format!("{}/api/atlas/v2/orgs", sim.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(json_of(response).await["errorCode"], "RESOURCE_NOT_FOUND");

    let response = client()
        .post(format!("{}{}", sim.base_url(), invites_path(ORG)))
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
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

#[tokio::test]
async fn request_log_records_every_request_in_order() {
    let sim = Simulator::start(world()).await.unwrap();
    let token = token(&sim).await;
    let response = client()
        .get(format!(
            "{}{}?pretty=true",
            sim.base_url(),
            invites_path(ORG)
        ))
        .header(header::ACCEPT, ATLAS_MEDIA_TYPE)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .send()
        .await
        .unwrap();
    assert!(
        response.text().await.unwrap().contains("\n  {"),
        "pretty printed"
    );
    get_invites(&sim, "bad", None).await;
    client()
        .get(format!("{}/nope", sim.base_url()))
        .send()
        .await
        .unwrap();

    let invites = invites_path(ORG);
    let expected = [
        ("POST", "/api/oauth/token", None, AuthKind::Basic, 200, None),
        (
            "GET",
            invites.as_str(),
            Some("pretty=true"),
            AuthKind::Bearer,
            200,
            Some(ORG),
        ),
        (
            "GET",
            "/api/atlas/v2/orgs/bad/invites",
            None,
            AuthKind::None,
            400,
            Some("bad"),
        ),
        ("GET", "/nope", None, AuthKind::None, 404, None),
    ];
    let recorded = sim.requests();
    assert_eq!(recorded.len(), expected.len());
    for (request, (method, path, query, auth, status, org_id)) in recorded.iter().zip(expected) {
        assert_eq!(request.method, method);
        assert_eq!(request.path, path);
        assert_eq!(request.query.as_deref(), query);
        assert_eq!(request.auth, auth);
        assert_eq!(request.status, status);
        assert_eq!(request.org_id.as_deref(), org_id);
    }
    sim.clear_requests();
    assert!(sim.requests().is_empty());
}

#[tokio::test]
async fn demo_world_serves_every_case_with_both_credential_kinds() {
    let sim = Simulator::start(World::demo()).await.unwrap();
    let response = post_token(
        &sim,
        &basic(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET),
        "grant_type=client_credentials",
    )
    .await;
    let token = json_of(response).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();

    let acme = json_of(get_with_token(&sim, DEMO_ORG_ACME, &token).await).await;
    assert_eq!(acme.as_array().map(Vec::len), Some(8));
    let zurich = json_of(get_with_token(&sim, DEMO_ORG_ZURICH, &token).await).await;
    assert_eq!(zurich[0]["orgName"], "Zürich \"Analytics\" Ōsaka");
    assert_eq!(
        get_with_token(&sim, DEMO_ORG_SANDBOX, &token)
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        get_with_token(&sim, DEMO_ORG_FORBIDDEN, &token)
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    let limited: Vec<u16> = {
        let mut statuses = Vec::new();
        for _ in 0..3 {
            statuses.push(
                get_with_token(&sim, DEMO_ORG_RATE_LIMITED, &token)
                    .await
                    .status()
                    .as_u16(),
            );
        }
        statuses
    };
    assert_eq!(limited, [200, 200, 429]);

    let uri = invites_path(DEMO_ORG_SANDBOX);
    let challenge = challenge_of(get_invites(&sim, DEMO_ORG_SANDBOX, None).await.headers());
    let mut prompt = digest_auth::parse(&challenge).unwrap();
    let answer = prompt
        .respond(&AuthContext::new(
            DEMO_PUBLIC_KEY,
            DEMO_PRIVATE_KEY,
            uri.as_str(),
        ))
        .unwrap();
    let response = get_invites(&sim, DEMO_ORG_SANDBOX, Some(&answer.to_string())).await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn garbage_requests_get_4xx_and_the_server_keeps_serving() {
    let sim = Simulator::start(world()).await.unwrap();
    let raw_requests: [&[u8]; 3] = [
        b"GET /api/atlas/v2/orgs/6523f1a0c8e4b2d9f0a1b0aa/invites HTTP/1.1\r\nHost: x\r\nAccept: application/vnd.atlas.2023-01-01+json\r\nAuthorization: Digest username=\"\xc3\xbc\", realm=\"MMS Public API\"\r\n\r\n",
        b"GET /api/atlas/v2/orgs/6523f1a0c8e4b2d9f0a1b0aa/invites HTTP/1.1\r\nHost: x\r\nAccept: application/vnd.atlas.2023-01-01+json\r\nAuthorization: Digest nonce=\"unterminated\r\n\r\n",
        b"POST /api/oauth/token HTTP/1.1\r\nHost: x\r\nAuthorization: Basic !!!\r\nContent-Length: 3\r\n\r\n%%%",
    ];
    for raw in raw_requests {
        let mut stream = tokio::net::TcpStream::connect(sim.local_addr())
            .await
            .unwrap();
        stream.write_all(raw).await.unwrap();
        let mut head = [0u8; 12];
        stream.read_exact(&mut head).await.unwrap();
        assert!(
            head.starts_with(b"HTTP/1.1 4"),
            "{}",
            String::from_utf8_lossy(&head)
        );
    }
    let token = token(&sim).await;
    assert_eq!(
        get_with_token(&sim, ORG, &token).await.status(),
        StatusCode::OK
    );
}
