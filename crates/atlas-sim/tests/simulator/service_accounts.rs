//! `GET /orgs/{orgId}/serviceAccounts/{clientId}`: the spec's shape, masked values and dates, and the
//! refusals (version, unknown account, credentials, faults of its own scope).

use atlas_sim::*;
use jiff::Timestamp;
use reqwest::StatusCode;
use reqwest::header;
use serde_json::Value;

use crate::common::*;

const DAY: i64 = 86_400;

fn sa_path(org: &str, client_id: &str) -> String {
    format!("/api/atlas/v2/orgs/{org}/serviceAccounts/{client_id}")
}

async fn get_sa(sim: &Simulator, org: &str, client_id: &str, token: &str) -> reqwest::Response {
    get_path(
        sim,
        &sa_path(org, client_id),
        SERVICE_ACCOUNTS_MEDIA_TYPE,
        Some(&format!("Bearer {token}")),
    )
    .await
}

fn date(value: &Value) -> Timestamp {
    value.as_str().unwrap().parse().unwrap()
}

/// Seconds from now to `value`, within the few seconds a test takes.
fn from_now(value: &Value) -> i64 {
    date(value).as_second() - Timestamp::now().as_second()
}

fn assert_near(seconds: i64, expected: i64) {
    assert!(
        (seconds - expected).abs() <= 5,
        "{seconds} s, not {expected} s"
    );
}

#[tokio::test]
async fn an_undeclared_account_has_one_standing_secret_in_the_spec_shape() {
    let sim = Simulator::start(world()).await.unwrap();
    let token = token(&sim).await;
    let response = get_sa(&sim, ORG, CLIENT_ID, &token).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        SERVICE_ACCOUNTS_MEDIA_TYPE
    );
    assert!(response.headers().get("ratelimit-remaining").is_some());
    let text = response.text().await.unwrap();
    assert!(!text.contains(CLIENT_SECRET), "{text}");
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        sorted_keys(&body),
        [
            "clientId",
            "createdAt",
            "description",
            "name",
            "roles",
            "secrets"
        ]
    );
    assert_eq!(body["clientId"], CLIENT_ID);
    assert_eq!(body["roles"], serde_json::json!(["ORG_OWNER"]));
    let secrets = body["secrets"].as_array().unwrap();
    assert_eq!(secrets.len(), 1);
    let secret = &secrets[0];
    assert_eq!(
        sorted_keys(secret),
        [
            "createdAt",
            "expiresAt",
            "id",
            "lastUsedAt",
            "maskedSecretValue"
        ]
    );
    // "s3cr_t:with-colon": its first 10 characters and its last 4.
    assert_eq!(secret["maskedSecretValue"], "s3cr_t:wit...olon");
    assert_eq!(secret["id"].as_str().unwrap().len(), 24);
    assert_near(from_now(&secret["createdAt"]), -30 * DAY);
    assert_near(from_now(&secret["expiresAt"]), 335 * DAY);
    assert_near(from_now(&secret["lastUsedAt"]), 0);
    assert_eq!(body["createdAt"], secret["createdAt"]);
}

#[tokio::test]
async fn declared_secrets_are_served_with_their_dates_null_and_absent_fields() {
    let secret = SimServiceAccountSecret {
        last_used: None,
        ..SimServiceAccountSecret::expiring_in(CLIENT_ID, "6523f1a0c8e4b2d9f0a1d0a1", 10 * DAY)
    };
    let rotated = SimServiceAccountSecret::expiring_in(CLIENT_ID, "6523f1a0c8e4b2d9f0a1d0a2", -DAY)
        .with_masked_secret("mdb_sa_sk_0123456789abcd");
    let sim = Simulator::start(World {
        service_account_secrets: vec![secret, rotated],
        grants: vec![Grant::new(CLIENT_ID, ORG, OrgRole::Member)],
        ..world()
    })
    .await
    .unwrap();
    let token = token(&sim).await;
    let body = json_of(get_sa(&sim, ORG, CLIENT_ID, &token).await).await;
    assert_eq!(
        body["roles"],
        serde_json::json!(["ORG_MEMBER"]),
        "a Member suffices"
    );
    let secrets = body["secrets"].as_array().unwrap();
    assert_eq!(secrets[0]["id"], "6523f1a0c8e4b2d9f0a1d0a1");
    assert_eq!(secrets[0]["lastUsedAt"], Value::Null);
    assert!(secrets[0].get("maskedSecretValue").is_none());
    assert_near(from_now(&secrets[0]["expiresAt"]), 10 * DAY);
    assert_eq!(secrets[1]["maskedSecretValue"], "mdb_sa_sk_...abcd");
    assert_near(from_now(&secrets[1]["expiresAt"]), -DAY);
}

#[tokio::test]
async fn an_unknown_client_id_is_not_found_with_atlas_error_body() {
    let sim = Simulator::start(world()).await.unwrap();
    let token = token(&sim).await;
    let response = get_sa(&sim, ORG, "mdb_sa_id_nobody", &token).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let body = json_of(response).await;
    assert_eq!(body["error"], 404);
    assert_eq!(body["errorCode"], "RESOURCE_NOT_FOUND");
    assert_eq!(body["reason"], "Not Found");
    // An API key is no service account either.
    let response = get_sa(&sim, ORG, PUBLIC_KEY, &token).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_version_is_checked_before_credentials_and_bad_credentials_get_401() {
    let sim = Simulator::start(world()).await.unwrap();
    let path = sa_path(ORG, CLIENT_ID);
    for accept in [ATLAS_MEDIA_TYPE, ORG_USERS_MEDIA_TYPE, "application/json"] {
        let response = get_path(&sim, &path, accept, None).await;
        assert_eq!(response.status(), StatusCode::NOT_ACCEPTABLE, "{accept}");
        assert_eq!(json_of(response).await["errorCode"], "INVALID_VERSION_DATE");
    }
    let response = get_path(
        &sim,
        &path,
        SERVICE_ACCOUNTS_MEDIA_TYPE,
        Some("Bearer nope"),
    )
    .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let response = get_path(&sim, &path, SERVICE_ACCOUNTS_MEDIA_TYPE, None).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(response.headers().get(header::WWW_AUTHENTICATE).is_some());
}

#[tokio::test]
async fn an_org_outside_the_grants_is_refused_and_faults_have_their_own_scope() {
    let sim = Simulator::start(World {
        grants: vec![Grant::new(CLIENT_ID, ORG, OrgRole::Member)],
        ..world()
    })
    .await
    .unwrap();
    let token = token(&sim).await;
    let outside = get_sa(&sim, OTHER_ORG, CLIENT_ID, &token).await;
    assert_eq!(outside.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(json_of(outside).await["errorCode"], "USER_UNAUTHORIZED");

    sim.set_path_behaviour(ORG, "serviceAccounts", Behaviour::Forbidden);
    let forbidden = get_sa(&sim, ORG, CLIENT_ID, &token).await;
    assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);
    sim.set_path_behaviour(ORG, "serviceAccounts", Behaviour::Normal);

    sim.push_path_faults(ORG, "serviceAccounts", [Fault::MalformedJson]);
    assert_eq!(
        sim.pending_faults(ORG),
        0,
        "not the invites and users queue"
    );
    let spoiled = get_sa(&sim, ORG, CLIENT_ID, &token).await;
    assert_eq!(spoiled.status(), StatusCode::OK);
    assert!(serde_json::from_slice::<Value>(&spoiled.bytes().await.unwrap()).is_err());
    assert_eq!(sim.pending_path_faults(ORG, "serviceAccounts"), 0);
    let served = get_sa(&sim, ORG, CLIENT_ID, &token).await;
    assert_eq!(served.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_demo_secret_expires_in_ten_days() {
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
    let body = json_of(get_sa(&sim, DEMO_ORG_ACME, DEMO_CLIENT_ID, &token).await).await;
    let secrets = body["secrets"].as_array().unwrap();
    assert_eq!(secrets.len(), 1);
    assert_eq!(secrets[0]["id"], DEMO_SECRET_ID);
    assert_eq!(DEMO_SECRET_EXPIRES_IN_DAYS, 10);
    assert_near(from_now(&secrets[0]["expiresAt"]), 10 * DAY);
    assert_eq!(
        secrets[0]["maskedSecretValue"],
        masked_secret_value(DEMO_CLIENT_SECRET)
    );
    assert_eq!(secrets[0]["maskedSecretValue"], "mdb_sa_sk_...0000");
}
