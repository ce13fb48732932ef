//! `get_org_service_account` over the wire: the request sent, the body decoded, failures classified
//! as every call's are, and no secret in what it shows.

use super::server::{Reply, TestServer};
use super::*;
use crate::ServiceAccount;

const SA_PATH: &str =
    "/api/atlas/v2/orgs/32b6e34b3d91647abb20e7b8/serviceAccounts/mdb_sa_id_0123456789abcdef";
const GET_SA: Endpoint = Endpoint::GET_ORG_SERVICE_ACCOUNT;

/// The spec's `OrgServiceAccount`, written by hand with its field names; the second secret is the
/// one `CLIENT_SECRET` (`mdb_sa_sk_s3cr%t+/=_value`) shows as, the first a sooner-expiring other one.
const BODY: &str = r#"{
    "clientId": "mdb_sa_id_0123456789abcdef",
    "createdAt": "2025-01-01T00:00:00Z",
    "description": "Invitations exporter",
    "name": "exporter",
    "roles": ["ORG_READ_ONLY"],
    "secrets": [
        {"createdAt": "2025-01-01T00:00:00Z", "expiresAt": "2025-02-01T00:00:00Z",
         "id": "aaaaaaaaaaaaaaaaaaaaaaaa", "lastUsedAt": null, "maskedSecretValue": "mdb_sa_sk_...zzzz"},
        {"createdAt": "2025-01-10T00:00:00Z", "expiresAt": "2025-12-01T00:00:00Z",
         "id": "bbbbbbbbbbbbbbbbbbbbbbbb", "lastUsedAt": "2025-01-20T08:00:00Z",
         "maskedSecretValue": "mdb_sa_sk_...alue"}
    ]
}"#;

fn atlas(status: u16, body: &'static str) -> impl Fn(&server::Recorded) -> Reply {
    move |request| match request.path.as_str() {
        TOKEN_PATH => server::token_reply("sa-token", 3600),
        _ => Reply::json(status, body),
    }
}

async fn get(
    server: &TestServer,
    auth: &Authenticator,
) -> (Result<ServiceAccount, ApiError>, Vec<CallRecord>) {
    let mut calls = Vec::new();
    let result = client(server)
        .get_org_service_account(org(), CLIENT_ID, auth, far_deadline(), &mut calls)
        .await;
    (result, calls)
}

#[tokio::test]
async fn the_account_is_asked_for_in_its_version_and_decoded() {
    let server = TestServer::start(atlas(200, BODY)).await;
    let auth = service_account();
    let (result, calls) = get(&server, &auth).await;
    let account = result.unwrap();

    let requests = server.requests_to("/api/atlas");
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].method, hyper::Method::GET);
    assert_eq!(requests[0].path, SA_PATH);
    assert_eq!(
        requests[0].header("accept"),
        Some("application/vnd.atlas.2024-08-05+json")
    );
    assert_eq!(GET_SA.api_version(), Some("2024-08-05"));
    assert_eq!(GET_SA.label(), "get_org_service_account");
    assert_eq!(
        outcomes(&calls),
        [(TOKEN, Some(200), None), (GET_SA, Some(200), None)]
    );

    assert_eq!(account.client_id, CLIENT_ID);
    assert_eq!(account.secrets.len(), 2);
    let in_use = account.secret_in_use(&auth).unwrap();
    assert_eq!(in_use.id, "bbbbbbbbbbbbbbbbbbbbbbbb");
    assert_eq!(in_use.expires_at, "2025-12-01T00:00:00Z".parse().unwrap());
    assert_eq!(
        in_use.last_used_at,
        Some("2025-01-20T08:00:00Z".parse().unwrap())
    );
}

#[tokio::test]
async fn not_found_and_forbidden_fail_at_once_with_atlas_error_code() {
    for (status, body, code) in [
        (
            404,
            r#"{"detail":"Cannot find resource","error":404,"errorCode":"RESOURCE_NOT_FOUND","reason":"Not Found"}"#,
            "RESOURCE_NOT_FOUND",
        ),
        (
            403,
            r#"{"detail":"Not authorized","error":403,"errorCode":"USER_UNAUTHORIZED","reason":"Forbidden"}"#,
            "USER_UNAUTHORIZED",
        ),
    ] {
        let server = TestServer::start(atlas(status, body)).await;
        let (result, calls) = get(&server, &service_account()).await;
        assert!(
            matches!(
                result.unwrap_err(),
                ApiError::Status { status: s, error_code: Some(c), .. } if s == status && c == code
            ),
            "HTTP {status}"
        );
        assert_eq!(
            outcomes(&calls),
            [(TOKEN, Some(200), None), (GET_SA, Some(status), Some(code))]
        );
        assert_eq!(server.requests_to("/api/atlas").len(), 1, "not retried");
    }
}

#[tokio::test]
async fn a_body_of_another_shape_is_an_invalid_response() {
    let server = TestServer::start(atlas(200, r#"{"secrets":[{"id":"x"}]}"#)).await;
    let (result, calls) = get(&server, &service_account()).await;
    assert!(matches!(
        result.unwrap_err(),
        ApiError::InvalidResponse { .. }
    ));
    assert_eq!(
        calls.last().unwrap().error_code.as_deref(),
        Some("INVALID_RESPONSE")
    );
}

#[tokio::test]
async fn an_api_key_gets_the_account_with_no_secret_in_use() {
    let server = TestServer::start(atlas(200, BODY)).await;
    let key = api_key();
    let (result, calls) = get(&server, &key).await;
    assert_eq!(result.unwrap().secret_in_use(&key), None);
    assert_eq!(outcomes(&calls), [(GET_SA, Some(200), None)]);
}

#[tokio::test]
async fn neither_the_authenticator_nor_the_account_shows_the_secret() {
    let server = TestServer::start(atlas(200, BODY)).await;
    let auth = service_account();
    let account = get(&server, &auth).await.0.unwrap();
    let in_use = account.secret_in_use(&auth).unwrap();
    let shown = format!("{auth:?} {auth:#?} {account:?} {account:#?} {in_use:?}");
    assert!(!shown.contains(CLIENT_SECRET), "{shown}");
    assert!(!shown.contains("s3cr%t"), "{shown}");
    assert!(shown.contains(CLIENT_ID), "{shown}");
}
