//! Shared by the simulator's end-to-end tests: the test world and credentials, one HTTP client per
//! test thread, and requests to the token, invites and users paths with bearer or Digest auth.

use atlas_sim::*;
use base64::Engine as _;
use digest_auth::AuthContext;
use reqwest::StatusCode;
use reqwest::header::{self, HeaderMap};
use serde_json::Value;

pub(crate) const ORG: &str = "6523f1a0c8e4b2d9f0a1b0aa";
pub(crate) const OTHER_ORG: &str = "6523f1a0c8e4b2d9f0a1b0bb";
pub(crate) const CLIENT_ID: &str = "mdb_sa_id_test_0000";
pub(crate) const CLIENT_SECRET: &str = "s3cr_t:with-colon";
pub(crate) const PUBLIC_KEY: &str = "testpubk";
pub(crate) const PRIVATE_KEY: &str = "test-private-key";

pub(crate) const DELETED_ORG: &str = "6523f1a0c8e4b2d9f0a1b0cc";
pub(crate) const PROJECT_1: &str = "6523f1a0c8e4b2d9f0a1c0a1";
pub(crate) const PROJECT_2: &str = "6523f1a0c8e4b2d9f0a1c0a2";
pub(crate) const PENDING_ID: &str = "6523f1a0c8e4b2d9f0a1e0a1";
pub(crate) const EXPIRED_ID: &str = "6523f1a0c8e4b2d9f0a1e0a2";

thread_local! {
    // Building a client is slow (TLS roots); each test runs on its own thread with its own runtime,
    // so one client per thread is one per test and never crosses runtimes.
    static CLIENT: reqwest::Client = {
        let _ = rustls::crypto::ring::default_provider().install_default();
        reqwest::Client::builder().no_gzip().build().unwrap()
    };
}

pub(crate) fn world() -> World {
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

pub(crate) fn client() -> reqwest::Client {
    CLIENT.with(reqwest::Client::clone)
}

pub(crate) fn invites_path(org: &str) -> String {
    format!("/api/atlas/v2/orgs/{org}/invites")
}

pub(crate) fn basic(id: &str, secret: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
    )
}

pub(crate) async fn post_token(
    sim: &Simulator,
    authorization: &str,
    form: &str,
) -> reqwest::Response {
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

pub(crate) async fn token(sim: &Simulator) -> String {
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

pub(crate) async fn get_invites(
    sim: &Simulator,
    org: &str,
    authorization: Option<&str>,
) -> reqwest::Response {
    let mut request = client()
        .get(format!("{}{}", sim.base_url(), invites_path(org)))
        .header(header::ACCEPT, ATLAS_MEDIA_TYPE);
    if let Some(authorization) = authorization {
        request = request.header(header::AUTHORIZATION, authorization);
    }
    request.send().await.unwrap()
}

pub(crate) async fn get_with_token(sim: &Simulator, org: &str, token: &str) -> reqwest::Response {
    get_invites(sim, org, Some(&format!("Bearer {token}"))).await
}

pub(crate) async fn json_of(response: reqwest::Response) -> Value {
    serde_json::from_slice(&response.bytes().await.unwrap()).unwrap()
}

pub(crate) fn challenge_of(headers: &HeaderMap) -> String {
    headers
        .get(header::WWW_AUTHENTICATE)
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned()
}

pub(crate) fn digest_answer(challenge: &str, nc: u32, password: &str, uri: &str) -> String {
    let mut prompt = digest_auth::parse(challenge).unwrap();
    prompt.nc = nc - 1;
    prompt
        .respond(&AuthContext::new(PUBLIC_KEY, password, uri))
        .unwrap()
        .to_string()
}

/// ORG: one pending and one expired invitation, one rejected, two active members. OTHER_ORG: empty.
pub(crate) fn users_world() -> World {
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

pub(crate) fn users_path(org: &str) -> String {
    format!("/api/atlas/v2/orgs/{org}/users")
}

pub(crate) async fn get_path(
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
pub(crate) async fn get_users(
    sim: &Simulator,
    org: &str,
    query: &str,
    token: &str,
) -> reqwest::Response {
    get_path(
        sim,
        &format!("{}?{query}", users_path(org)),
        ORG_USERS_MEDIA_TYPE,
        Some(&format!("Bearer {token}")),
    )
    .await
}

pub(crate) async fn users_page(sim: &Simulator, org: &str, query: &str, token: &str) -> Value {
    let response = get_users(sim, org, query, token).await;
    assert_eq!(response.status(), StatusCode::OK, "{query}");
    json_of(response).await
}

/// A Digest GET with the test API key: the challenge, then one answer.
pub(crate) async fn get_digest(
    sim: &Simulator,
    path_and_query: &str,
    accept: &str,
) -> reqwest::Response {
    let challenge = challenge_of(get_path(sim, path_and_query, accept, None).await.headers());
    let answer = digest_answer(&challenge, 1, PRIVATE_KEY, path_and_query);
    get_path(sim, path_and_query, accept, Some(&answer)).await
}

pub(crate) fn sorted_keys(value: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = value
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    keys
}

pub(crate) fn field<'a>(body: &'a Value, name: &str) -> Vec<&'a str> {
    body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item[name].as_str().unwrap())
        .collect()
}

pub(crate) fn rels(body: &Value) -> Vec<&str> {
    body["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|link| link["rel"].as_str().unwrap())
        .collect()
}

pub(crate) fn content_length(head: &str) -> Option<usize> {
    head.lines()
        .find_map(|line| {
            line.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(str::to_owned)
        })
        .map(|value| value.trim().parse().unwrap())
}
