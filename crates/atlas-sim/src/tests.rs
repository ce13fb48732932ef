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
        .get(format!("{}/api/atlas/v2/orgs/{ORG}/teams", sim.base_url()))
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

    let response = get_with_token(&sim, DEMO_ORG_ACME, &token).await;
    assert!(
        response.headers().contains_key("sunset") && response.headers().contains_key("deprecation")
    );
    let acme = json_of(response).await;
    assert_eq!(acme.as_array().map(Vec::len), Some(8));
    // The same invitations through the org-users source: 7 pending and the one expired.
    let acme_users = users_page(
        &sim,
        DEMO_ORG_ACME,
        "orgMembershipStatuses=PENDING&orgMembershipStatuses=INVITATION_EXPIRED&itemsPerPage=500",
        &token,
    )
    .await;
    assert_eq!(acme_users["totalCount"], 8);
    let orgs = json_of(
        get_path(
            &sim,
            "/api/atlas/v2/orgs",
            ATLAS_MEDIA_TYPE,
            Some(&format!("Bearer {token}")),
        )
        .await,
    )
    .await;
    assert_eq!(orgs["totalCount"], 5);
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

// ---------------------------------------------------------------------------------------------------
// /users, /orgs, grants, sunset
// ---------------------------------------------------------------------------------------------------

const DELETED_ORG: &str = "6523f1a0c8e4b2d9f0a1b0cc";
const PROJECT_1: &str = "6523f1a0c8e4b2d9f0a1c0a1";
const PROJECT_2: &str = "6523f1a0c8e4b2d9f0a1c0a2";
const PENDING_ID: &str = "6523f1a0c8e4b2d9f0a1e0a1";
const EXPIRED_ID: &str = "6523f1a0c8e4b2d9f0a1e0a2";

/// ORG: one pending and one expired invitation, one rejected, two active members. OTHER_ORG: empty.
fn users_world() -> World {
    let pending = SimInvitation::sent_ago(PENDING_ID, "pending@example.com", 3600)
        .with_org_roles(["ORG_MEMBER"])
        .with_project_role(PROJECT_1, "GROUP_OWNER")
        .with_project_role(PROJECT_2, "GROUP_READ_ONLY")
        .with_project_role(PROJECT_1, "GROUP_READ_ONLY")
        .with_inviter("boss@example.com");
    let expired = SimInvitation::sent_ago(EXPIRED_ID, "expired@example.com", 31 * 86_400);
    World {
        orgs: vec![
            SimOrg {
                active_users: 2,
                rejected: 1,
                ..SimOrg::new(ORG, "Test Org", vec![pending, expired])
            },
            SimOrg::new(OTHER_ORG, "Other Org", Vec::new()),
        ],
        ..world()
    }
}

fn users_path(org: &str) -> String {
    format!("/api/atlas/v2/orgs/{org}/users")
}

async fn get_path(
    sim: &Simulator,
    path_and_query: &str,
    accept: &str,
    authorization: Option<&str>,
) -> reqwest::Response {
    let mut request = client()
        .get(format!("{}{path_and_query}", sim.base_url()))
        .header(header::ACCEPT, accept);
    if let Some(authorization) = authorization {
        request = request.header(header::AUTHORIZATION, authorization);
    }
    request.send().await.unwrap()
}

/// `/users` on 2025-02-19 with a bearer token; `query` without the `?`.
async fn get_users(sim: &Simulator, org: &str, query: &str, token: &str) -> reqwest::Response {
    get_path(
        sim,
        &format!("{}?{query}", users_path(org)),
        ORG_USERS_MEDIA_TYPE,
        Some(&format!("Bearer {token}")),
    )
    .await
}

async fn users_page(sim: &Simulator, org: &str, query: &str, token: &str) -> Value {
    let response = get_users(sim, org, query, token).await;
    assert_eq!(response.status(), StatusCode::OK, "{query}");
    json_of(response).await
}

/// A Digest GET with the test API key: the challenge, then one answer.
async fn get_digest(sim: &Simulator, path_and_query: &str, accept: &str) -> reqwest::Response {
    let challenge = challenge_of(get_path(sim, path_and_query, accept, None).await.headers());
    let answer = digest_answer(&challenge, 1, PRIVATE_KEY, path_and_query);
    get_path(sim, path_and_query, accept, Some(&answer)).await
}

fn sorted_keys(value: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = value
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    keys
}

fn field<'a>(body: &'a Value, name: &str) -> Vec<&'a str> {
    body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item[name].as_str().unwrap())
        .collect()
}

fn rels(body: &Value) -> Vec<&str> {
    body["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|link| link["rel"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn users_listing_has_spec_field_names_and_maps_invitations() {
    let sim = Simulator::start(users_world()).await.unwrap();
    let token = token(&sim).await;
    let all = "orgMembershipStatuses=PENDING&orgMembershipStatuses=INVITATION_EXPIRED\
               &orgMembershipStatuses=INVITATION_REJECTED&orgMembershipStatuses=ACTIVE";
    let response = get_users(&sim, ORG, all, &token).await;
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers().clone();
    assert_eq!(headers[header::CONTENT_TYPE], ORG_USERS_MEDIA_TYPE);
    assert_eq!(headers["ratelimit-limit"], "500");
    assert!(headers.get("sunset").is_none() && headers.get("deprecation").is_none());
    let body = json_of(response).await;

    assert_eq!(sorted_keys(&body), ["links", "results", "totalCount"]);
    assert_eq!(body["totalCount"], 5);
    assert_eq!(
        field(&body, "orgMembershipStatus"),
        [
            "PENDING",
            "INVITATION_EXPIRED",
            "INVITATION_REJECTED",
            "ACTIVE",
            "ACTIVE"
        ]
    );
    let results = body["results"].as_array().unwrap();
    let pending_keys = [
        "id",
        "invitationCreatedAt",
        "invitationExpiresAt",
        "inviterUsername",
        "orgMembershipStatus",
        "roles",
        "teamIds",
        "username",
    ];
    for pending in &results[..3] {
        assert_eq!(sorted_keys(pending), pending_keys);
    }
    for active in &results[3..] {
        assert_eq!(
            sorted_keys(active),
            [
                "createdAt",
                "firstName",
                "id",
                "lastName",
                "orgMembershipStatus",
                "roles",
                "teamIds",
                "username"
            ]
        );
        assert!(
            active["createdAt"]
                .as_str()
                .unwrap()
                .parse::<jiff::Timestamp>()
                .is_ok()
        );
    }

    let pending = &results[0];
    assert_eq!(pending["id"], PENDING_ID);
    assert_eq!(pending["username"], "pending@example.com");
    assert_eq!(pending["inviterUsername"], "boss@example.com");
    assert_eq!(pending["teamIds"], json!([]));
    assert_eq!(
        pending["roles"],
        json!({
            "orgRoles": ["ORG_MEMBER"],
            "groupRoleAssignments": [
                {"groupId": PROJECT_1, "groupRoles": ["GROUP_OWNER", "GROUP_READ_ONLY"]},
                {"groupId": PROJECT_2, "groupRoles": ["GROUP_READ_ONLY"]}
            ]
        })
    );
    let at = |value: &Value| value.as_str().unwrap().parse::<jiff::Timestamp>().unwrap();
    let now = jiff::Timestamp::now();
    let created = at(&pending["invitationCreatedAt"]);
    let expires = at(&pending["invitationExpiresAt"]);
    assert_eq!(
        expires.as_second() - created.as_second(),
        INVITATION_LIFETIME_SECS
    );
    assert!(expires > now);

    assert_eq!(results[1]["id"], EXPIRED_ID);
    assert!(at(&results[1]["invitationExpiresAt"]) < now);
    assert!(results[2]["invitationExpiresAt"].is_null());
    assert!(at(&results[2]["invitationCreatedAt"]) < now);

    let ids = field(&body, "id");
    let mut unique = ids.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), ids.len(), "{ids:?}");
    assert!(ids.iter().all(|id| id.len() == 24));
}

#[tokio::test]
async fn users_status_filters_repeated_single_default_and_invalid() {
    let sim = Simulator::start(users_world()).await.unwrap();
    let token = token(&sim).await;
    let statuses = |body: &Value| -> Vec<String> {
        field(body, "orgMembershipStatus")
            .into_iter()
            .map(str::to_owned)
            .collect()
    };

    let default = users_page(&sim, ORG, "", &token).await;
    assert_eq!(statuses(&default), ["PENDING", "ACTIVE", "ACTIVE"]);
    let repeated = users_page(
        &sim,
        ORG,
        "orgMembershipStatuses=PENDING&orgMembershipStatuses=INVITATION_EXPIRED",
        &token,
    )
    .await;
    assert_eq!(statuses(&repeated), ["PENDING", "INVITATION_EXPIRED"]);
    assert_eq!(repeated["totalCount"], 2);
    let single = users_page(&sim, ORG, "orgMembershipStatus=INVITATION_REJECTED", &token).await;
    assert_eq!(statuses(&single), ["INVITATION_REJECTED"]);
    let by_name = users_page(
        &sim,
        ORG,
        "orgMembershipStatuses=PENDING&orgMembershipStatuses=INVITATION_EXPIRED&username=EXPIRED%40example.com",
        &token,
    )
    .await;
    assert_eq!(field(&by_name, "id"), [EXPIRED_ID]);

    for refused in [
        "orgMembershipStatuses=BANNED",
        "orgMembershipStatuses=PENDING%2CINVITATION_EXPIRED",
        "orgMembershipStatuses=PENDING&orgMembershipStatus=PENDING",
        "orgMembershipStatus=pending",
        "itemsPerPage=501",
        "itemsPerPage=0",
        "pageNum=0",
        "includeCount=maybe",
        "username=nobody",
    ] {
        let response = get_users(&sim, ORG, refused, &token).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{refused}");
        let body = json_of(response).await;
        assert_eq!(body["errorCode"], "VALIDATION_ERROR", "{refused}");
        assert_eq!(body["reason"], "Bad Request");
    }
}

#[tokio::test]
async fn legacy_atlas_refuses_the_repeated_filter_and_reports_expired_as_pending() {
    let sim = Simulator::start(users_world()).await.unwrap();
    let token = token(&sim).await;
    let modern = "orgMembershipStatuses=PENDING&orgMembershipStatuses=INVITATION_EXPIRED";
    sim.set_legacy_status_filter(ORG, true);

    let response = get_users(&sim, ORG, modern, &token).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(json_of(response).await["errorCode"], "VALIDATION_ERROR");
    let response = get_users(&sim, ORG, "orgMembershipStatus=INVITATION_EXPIRED", &token).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);

    let fallback = users_page(&sim, ORG, "orgMembershipStatus=PENDING", &token).await;
    assert_eq!(field(&fallback, "id"), [PENDING_ID, EXPIRED_ID]);
    assert_eq!(
        field(&fallback, "orgMembershipStatus"),
        ["PENDING", "PENDING"]
    );
    let default = users_page(&sim, ORG, "", &token).await;
    assert_eq!(
        field(&default, "orgMembershipStatus"),
        ["PENDING", "PENDING", "ACTIVE", "ACTIVE"]
    );

    // The switch is per org, and can be turned off again.
    assert_eq!(
        get_users(&sim, OTHER_ORG, modern, &token).await.status(),
        StatusCode::OK
    );
    sim.set_legacy_status_filter(ORG, false);
    let modern_page = users_page(&sim, ORG, modern, &token).await;
    assert_eq!(
        field(&modern_page, "orgMembershipStatus"),
        ["PENDING", "INVITATION_EXPIRED"]
    );
}

#[tokio::test]
async fn users_pagination_across_pages_and_at_exact_boundaries() {
    let sim = Simulator::start(World {
        orgs: vec![
            SimOrg {
                active_users: 10,
                ..SimOrg::new(ORG, "Ten", Vec::new())
            },
            SimOrg {
                active_users: 8,
                ..SimOrg::new(OTHER_ORG, "Eight", Vec::new())
            },
            SimOrg {
                active_users: 150,
                ..SimOrg::new(DELETED_ORG, "Big", Vec::new())
            },
        ],
        ..world()
    })
    .await
    .unwrap();
    let token = token(&sim).await;

    // Follow `next` links from the first page: 4 + 4 + 2, each page counting all 10.
    let mut pages = Vec::new();
    let mut next = Some(format!(
        "{}{}?orgMembershipStatuses=ACTIVE&itemsPerPage=4",
        sim.base_url(),
        users_path(ORG)
    ));
    while let Some(url) = next.take() {
        assert!(pages.len() < 5, "next links never end");
        let response = client()
            .get(&url)
            .header(header::ACCEPT, ORG_USERS_MEDIA_TYPE)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{url}");
        let body = json_of(response).await;
        next = body["links"]
            .as_array()
            .unwrap()
            .iter()
            .find(|link| link["rel"] == "next")
            .map(|link| link["href"].as_str().unwrap().to_owned());
        pages.push(body);
    }
    let sizes: Vec<usize> = pages
        .iter()
        .map(|page| page["results"].as_array().unwrap().len())
        .collect();
    assert_eq!(sizes, [4, 4, 2]);
    assert!(pages.iter().all(|page| page["totalCount"] == 10));
    assert_eq!(
        pages.iter().map(rels).collect::<Vec<_>>(),
        [
            vec!["self", "next"],
            vec!["self", "previous", "next"],
            vec!["self", "previous"]
        ]
    );
    let paged_ids: Vec<&str> = pages.iter().flat_map(|page| field(page, "id")).collect();
    let whole = users_page(&sim, ORG, "itemsPerPage=500", &token).await;
    assert_eq!(paged_ids, field(&whole, "id"), "stable order across pages");

    // 8 items in pages of 4: the second page is full and last; the third is empty.
    let second = users_page(&sim, OTHER_ORG, "itemsPerPage=4&pageNum=2", &token).await;
    assert_eq!(second["results"].as_array().unwrap().len(), 4);
    assert_eq!(rels(&second), ["self", "previous"]);
    let third = users_page(&sim, OTHER_ORG, "itemsPerPage=4&pageNum=3", &token).await;
    assert_eq!(third["results"], json!([]));
    assert_eq!(third["totalCount"], 8);
    let uncounted = users_page(&sim, OTHER_ORG, "includeCount=false", &token).await;
    assert!(uncounted.get("totalCount").is_none());
    assert_eq!(uncounted["results"].as_array().unwrap().len(), 8);

    let default = users_page(&sim, DELETED_ORG, "", &token).await;
    assert_eq!(default["results"].as_array().unwrap().len(), 100);
    assert_eq!(default["totalCount"], 150);
    let largest = users_page(&sim, DELETED_ORG, "itemsPerPage=500", &token).await;
    assert_eq!(largest["results"].as_array().unwrap().len(), 150);
}

#[tokio::test]
async fn users_2023_version_lists_active_users_only_and_other_versions_get_406() {
    let sim = Simulator::start(users_world()).await.unwrap();
    let token = token(&sim).await;
    let bearer = format!("Bearer {token}");
    let response = get_path(&sim, &users_path(ORG), ATLAS_MEDIA_TYPE, Some(&bearer)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::CONTENT_TYPE], ATLAS_MEDIA_TYPE);
    assert!(response.headers().get("sunset").is_none());
    let body = json_of(response).await;
    assert_eq!(body["totalCount"], 2);
    let user = &body["results"][0];
    assert_eq!(
        sorted_keys(user),
        [
            "country",
            "createdAt",
            "emailAddress",
            "firstName",
            "id",
            "lastName",
            "links",
            "mobileNumber",
            "roles",
            "teamIds",
            "username"
        ]
    );
    assert_eq!(
        user["roles"],
        json!([{"orgId": ORG, "roleName": "ORG_OWNER"}])
    );

    let filtered = format!("{}?orgMembershipStatuses=PENDING", users_path(ORG));
    let response = get_path(&sim, &filtered, ATLAS_MEDIA_TYPE, Some(&bearer)).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    for accept in ["application/vnd.atlas.2025-03-12+json", "application/json"] {
        let response = get_path(&sim, &users_path(ORG), accept, Some(&bearer)).await;
        assert_eq!(response.status(), StatusCode::NOT_ACCEPTABLE, "{accept}");
        assert_eq!(json_of(response).await["errorCode"], "INVALID_VERSION_DATE");
    }
}

#[tokio::test]
async fn users_path_shares_the_org_fault_queue_behaviours_and_gzip() {
    let sim = Simulator::start(users_world()).await.unwrap();
    let token = token(&sim).await;
    sim.push_faults(
        ORG,
        [
            Fault::Status {
                status: 503,
                error_code: Some("SERVICE_UNAVAILABLE".to_owned()),
                retry_after: None,
            },
            Fault::WrongShape,
            Fault::InvalidDates,
            Fault::Oversized { bytes: 4096 },
            Fault::MalformedJson,
        ],
    );
    let response = get_users(&sim, ORG, "", &token).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let wrong_shape = json_of(get_users(&sim, ORG, "", &token).await).await;
    assert!(wrong_shape.is_array(), "{wrong_shape}");
    let invalid = json_of(get_users(&sim, ORG, "", &token).await).await;
    let created = invalid["results"][0]["invitationCreatedAt"]
        .as_str()
        .unwrap();
    assert!(created.parse::<jiff::Timestamp>().is_err(), "{created}");
    let oversized = get_users(&sim, ORG, "", &token)
        .await
        .bytes()
        .await
        .unwrap();
    assert_eq!(oversized.len(), 4096);
    assert!(serde_json::from_slice::<Value>(&oversized).unwrap()["results"].is_array());
    // The queue is the org's, whichever path comes next.
    let malformed = get_with_token(&sim, ORG, &token)
        .await
        .bytes()
        .await
        .unwrap();
    assert!(serde_json::from_slice::<Value>(&malformed).is_err());
    assert_eq!(
        get_users(&sim, ORG, "", &token).await.status(),
        StatusCode::OK
    );

    let response = client()
        .get(format!("{}{}", sim.base_url(), users_path(ORG)))
        .header(header::ACCEPT, ORG_USERS_MEDIA_TYPE)
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
    assert_eq!(body["totalCount"], 3);

    sim.set_behaviour(ORG, Behaviour::Forbidden);
    let response = get_users(&sim, ORG, "", &token).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    sim.set_behaviour(
        ORG,
        Behaviour::RateLimitedEvery {
            n: 1,
            retry_after_secs: Some(3),
        },
    );
    let response = get_users(&sim, ORG, "", &token).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let detail = json_of(response).await["detail"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        detail.contains(&format!("api/atlas/v2/orgs/{ORG}/users")),
        "{detail}"
    );

    let response = get_path(&sim, &users_path(ORG), ORG_USERS_MEDIA_TYPE, None).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(challenge_of(response.headers()).starts_with("Digest "));
    let response = get_users(&sim, "0123456789abcdef01234567", "", &token).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let response = get_users(&sim, "nope", "", &token).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn orgs_listing_shows_what_each_credential_may_see_including_deleted_orgs() {
    let sim = Simulator::start(World {
        orgs: vec![
            SimOrg::new(OTHER_ORG, "Other Org", Vec::new()),
            SimOrg::new(ORG, "Test Org", Vec::new()),
            SimOrg {
                is_deleted: true,
                ..SimOrg::new(DELETED_ORG, "Gone Org", Vec::new())
            },
        ],
        grants: vec![Grant::new(PUBLIC_KEY, OTHER_ORG, OrgRole::Member)],
        ..world()
    })
    .await
    .unwrap();
    let token = token(&sim).await;
    let bearer = format!("Bearer {token}");
    let orgs_path = "/api/atlas/v2/orgs";

    let response = get_path(&sim, orgs_path, ATLAS_MEDIA_TYPE, Some(&bearer)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::CONTENT_TYPE], ATLAS_MEDIA_TYPE);
    assert_eq!(response.headers()["ratelimit-limit"], "300");
    assert!(response.headers().get("sunset").is_none());
    let body = json_of(response).await;
    assert_eq!(sorted_keys(&body), ["links", "results", "totalCount"]);
    assert_eq!(body["totalCount"], 3);
    assert_eq!(field(&body, "id"), [ORG, OTHER_ORG, DELETED_ORG], "by id");
    let org = &body["results"][0];
    assert_eq!(
        sorted_keys(org),
        [
            "id",
            "isDeleted",
            "links",
            "name",
            "skipDefaultAlertsSettings"
        ]
    );
    assert_eq!(org["name"], "Test Org");
    assert_eq!(org["isDeleted"], false);
    assert_eq!(org["skipDefaultAlertsSettings"], false);
    assert_eq!(
        org["links"],
        json!([{"href": format!("{}/api/atlas/v2/orgs/{ORG}", sim.base_url()), "rel": "self"}])
    );
    assert_eq!(body["results"][2]["isDeleted"], true);

    // The granted API key sees only its org.
    let response = get_digest(&sim, orgs_path, ATLAS_MEDIA_TYPE).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body = json_of(response).await;
    assert_eq!(field(&body, "id"), [OTHER_ORG]);
    assert_eq!(body["totalCount"], 1);

    let page = |query: &'static str| {
        let bearer = bearer.clone();
        let sim = &sim;
        async move {
            let path = format!("{orgs_path}?{query}");
            json_of(get_path(sim, &path, ATLAS_MEDIA_TYPE, Some(&bearer)).await).await
        }
    };
    let second = page("itemsPerPage=2&pageNum=2").await;
    assert_eq!(field(&second, "id"), [DELETED_ORG]);
    assert_eq!(rels(&second), ["self", "previous"]);
    assert_eq!(field(&page("name=oTHer").await, "id"), [OTHER_ORG]);

    // Deleted orgs keep their listing but not their paths.
    assert_eq!(
        get_with_token(&sim, DELETED_ORG, &token).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get_users(&sim, DELETED_ORG, "", &token).await.status(),
        StatusCode::NOT_FOUND
    );

    sim.remove_org(OTHER_ORG);
    sim.set_deleted(DELETED_ORG, false);
    let body = page("").await;
    assert_eq!(field(&body, "id"), [ORG, DELETED_ORG]);
    assert_eq!(body["results"][1]["isDeleted"], false);

    let response = get_path(&sim, orgs_path, ORG_USERS_MEDIA_TYPE, Some(&bearer)).await;
    assert_eq!(response.status(), StatusCode::NOT_ACCEPTABLE);
    let response = get_path(&sim, orgs_path, ATLAS_MEDIA_TYPE, None).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let response = get_path(
        &sim,
        "/api/atlas/v2/orgs?itemsPerPage=501",
        ATLAS_MEDIA_TYPE,
        Some(&bearer),
    )
    .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);

    sim.push_list_orgs_faults([
        Fault::Status {
            status: 500,
            error_code: Some("UNEXPECTED_ERROR".to_owned()),
            retry_after: None,
        },
        Fault::WrongShape,
    ]);
    let response = get_path(&sim, orgs_path, ATLAS_MEDIA_TYPE, Some(&bearer)).await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(page("").await.is_array());
    assert_eq!(page("").await["totalCount"], 2);
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

// ---------------------------------------------------------------------------------------------------
// Transfer faults (resets, trickles, endless bodies) and TLS
// ---------------------------------------------------------------------------------------------------

/// Sends a bearer GET for the org's invitations on a raw socket and reads until the server ends the
/// connection: what arrived, how long the first and the last bytes took, and how it ended
/// (`Ok(())` for an orderly close, the read error otherwise).
async fn raw_invites(
    sim: &Simulator,
    token: &str,
) -> (Vec<u8>, Duration, Duration, std::io::Result<()>) {
    let mut stream = tokio::net::TcpStream::connect(sim.local_addr())
        .await
        .unwrap();
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: x\r\nAccept: {ATLAS_MEDIA_TYPE}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n",
        invites_path(ORG)
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let started = Instant::now();
    let mut received = Vec::new();
    let mut first = None;
    let mut buffer = [0u8; 4096];
    let ending = loop {
        match stream.read(&mut buffer).await {
            Ok(0) => break Ok(()),
            Ok(n) => {
                first.get_or_insert_with(|| started.elapsed());
                received.extend_from_slice(&buffer[..n]);
            }
            Err(error) => break Err(error),
        }
    };
    (
        received,
        first.unwrap_or_default(),
        started.elapsed(),
        ending,
    )
}

fn head_and_body(received: &[u8]) -> (String, &[u8]) {
    let split = received
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a complete head");
    (
        String::from_utf8_lossy(&received[..split]).into_owned(),
        &received[split + 4..],
    )
}

fn content_length(head: &str) -> Option<usize> {
    head.lines()
        .find_map(|line| {
            line.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(str::to_owned)
        })
        .map(|value| value.trim().parse().unwrap())
}

#[tokio::test]
async fn truncated_body_closes_in_order_and_reset_mid_body_resets() {
    let sim = Simulator::start(world()).await.unwrap();
    let token = token(&sim).await;
    sim.push_faults(ORG, [Fault::TruncatedBody, Fault::ResetMidBody]);

    let (received, _, _, ending) = raw_invites(&sim, &token).await;
    let (head, body) = head_and_body(&received);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(ending.is_ok(), "TruncatedBody ends with FIN: {ending:?}");
    assert_eq!(body.len(), content_length(&head).unwrap() / 2);

    let (received, _, _, ending) = raw_invites(&sim, &token).await;
    let (head, body) = head_and_body(&received);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert_eq!(body.len(), content_length(&head).unwrap() / 2);
    assert_eq!(
        ending.map_err(|error| error.kind()),
        Err(std::io::ErrorKind::ConnectionReset),
        "ResetMidBody ends with RST"
    );

    let faults: Vec<Option<Fault>> = sim
        .requests()
        .into_iter()
        .filter(|request| request.org_id.is_some())
        .map(|request| request.fault)
        .collect();
    assert_eq!(
        faults,
        [Some(Fault::TruncatedBody), Some(Fault::ResetMidBody)]
    );
    assert_eq!(
        get_with_token(&sim, ORG, &token).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn reset_answers_nothing_and_resets_the_connection() {
    let sim = Simulator::start(world()).await.unwrap();
    let token = token(&sim).await;
    sim.push_faults(ORG, [Fault::Reset]);
    let (received, _, _, ending) = raw_invites(&sim, &token).await;
    assert!(
        received.is_empty(),
        "{}",
        String::from_utf8_lossy(&received)
    );
    assert_eq!(
        ending.map_err(|error| error.kind()),
        Err(std::io::ErrorKind::ConnectionReset)
    );
    let logged = sim.requests().pop().unwrap();
    assert_eq!((logged.status, logged.fault), (0, Some(Fault::Reset)));

    sim.push_token_faults([Fault::Reset]);
    let refused = client()
        .post(format!("{}/api/oauth/token", sim.base_url()))
        .header(header::AUTHORIZATION, basic(CLIENT_ID, CLIENT_SECRET))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await;
    assert!(refused.is_err(), "{refused:?}");
    assert_eq!(
        get_with_token(&sim, ORG, &token).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn trickle_sends_the_whole_body_a_few_bytes_a_second() {
    let sim = Simulator::start(world()).await.unwrap();
    let token = token(&sim).await;
    let normal = get_with_token(&sim, ORG, &token)
        .await
        .bytes()
        .await
        .unwrap();
    // Two ticks: the first half at once, the rest a second later.
    let per_second = u32::try_from(normal.len() / 2 + 1).unwrap();
    sim.push_faults(
        ORG,
        [Fault::Trickle {
            bytes_per_second: per_second,
        }],
    );
    let (received, first, total, ending) = raw_invites(&sim, &token).await;
    assert!(ending.is_ok(), "{ending:?}");
    let (head, body) = head_and_body(&received);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert_eq!(content_length(&head), Some(normal.len()));
    assert_eq!(body, &normal[..], "the normal body, only slower");
    assert!(first < Duration::from_millis(500), "{first:?}");
    assert!(total >= Duration::from_millis(900), "{total:?}");
}

#[tokio::test]
async fn endless_streams_until_the_client_hangs_up() {
    let sim = Simulator::start(world()).await.unwrap();
    let token = token(&sim).await;
    sim.push_faults(ORG, [Fault::Endless]);
    assert_eq!(sim.pending_faults(ORG), 1);
    let mut response = get_with_token(&sim, ORG, &token).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.content_length(), None, "chunked");
    assert_eq!(sim.pending_faults(ORG), 0);
    let mut received = Vec::new();
    while received.len() < 4 * 1024 * 1024 {
        let chunk = response
            .chunk()
            .await
            .unwrap()
            .expect("the body never ends");
        if received.len() < 64 {
            received.extend_from_slice(&chunk);
        } else {
            received.resize(received.len() + chunk.len(), 0);
        }
    }
    assert!(received.starts_with(b"[{\"id\""));
    drop(response);
    assert_eq!(
        get_with_token(&sim, ORG, &token).await.status(),
        StatusCode::OK
    );
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

fn self_signed() -> (String, String) {
    let certified =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .unwrap();
    (certified.cert.pem(), certified.signing_key.serialize_pem())
}

#[tokio::test]
async fn tls_mode_serves_clients_that_trust_the_certificate_and_only_them() {
    let (cert, key) = self_signed();
    let sim = Simulator::start_tls(world(), &cert, &key).await.unwrap();
    assert!(sim.base_url().starts_with("https://127.0.0.1:"));

    let trusting = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(cert.as_bytes()).unwrap()])
        .build()
        .unwrap();
    let response = trusting
        .post(format!("{}/api/oauth/token", sim.base_url()))
        .header(header::AUTHORIZATION, basic(CLIENT_ID, CLIENT_SECRET))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(sim.tls_failures().is_empty());

    // The default client verifies against the system roots, which do not know this certificate.
    let refused = client()
        .get(format!("{}{}", sim.base_url(), invites_path(ORG)))
        .send()
        .await;
    assert!(refused.is_err(), "{refused:?}");
    let deadline = Instant::now() + Duration::from_secs(5);
    while sim.tls_failures().is_empty() {
        assert!(Instant::now() < deadline, "no handshake failure recorded");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        sim.requests().len(),
        1,
        "the refused connection never became a request"
    );
}

#[tokio::test]
async fn tls_mode_refuses_pem_that_is_not_a_certificate_and_key() {
    let (cert, key) = self_signed();
    assert!(
        Simulator::start_tls(world(), "not pem", &key)
            .await
            .is_err()
    );
    assert!(Simulator::start_tls(world(), &cert, "").await.is_err());
    assert!(Simulator::start_tls(world(), &key, &cert).await.is_err());
}
