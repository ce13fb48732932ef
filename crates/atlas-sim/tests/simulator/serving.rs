//! What any path gets: Atlas errors for bad ids, unknown orgs, paths and methods; the request log;
//! the demo world end to end; garbage on the socket.

use atlas_sim::*;
use digest_auth::AuthContext;
use reqwest::StatusCode;
use reqwest::header;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::common::*;

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
        .get(format!(
            "{}/api/atlas/v2/orgs/{ORG}/clusters",
            sim.base_url()
        ))
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
