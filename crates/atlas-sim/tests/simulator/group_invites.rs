//! `GET /groups/{groupId}/invites` (listGroupInvites): the project's org, spec field names, the
//! deprecated media type and its headers, 404/401/403/410, the request log, faults and behaviours.

use atlas_sim::*;
use reqwest::StatusCode;
use reqwest::header;
use serde_json::json;

use crate::common::*;

const PROJECT: &str = "6523f1a0c8e4b2d9f0a1c0d1";
const FORBIDDEN_PROJECT: &str = "6523f1a0c8e4b2d9f0a1c0d2";
const GONE_PROJECT: &str = "6523f1a0c8e4b2d9f0a1c0d3";
const OTHER_PROJECT: &str = "6523f1a0c8e4b2d9f0a1c0d4";
const INVITATION_ID: &str = "6523f1a0c8e4b2d9f0a1e0d1";

fn group_world() -> World {
    let invitation = SimInvitation::sent_ago(INVITATION_ID, "Dana@Example.com", 3600)
        .with_org_roles([
            "GROUP_READ_ONLY",
            "GROUP_DATA_ACCESS_READ_ONLY",
            "GROUP_READ_ONLY",
        ])
        .with_project_role("6523f1a0c8e4b2d9f0a1c0ff", "GROUP_OWNER")
        .with_inviter("owner@example.com");
    let other = SimInvitation::sent_ago("6523f1a0c8e4b2d9f0a1e0d2", "eve@example.com", 60);
    World {
        orgs: vec![
            SimOrg::new(ORG, "Test Org", Vec::new()).with_projects(vec![
                SimProject::new(PROJECT, "web-frontend").with_invitations(vec![invitation, other]),
                SimProject::new(FORBIDDEN_PROJECT, "payments")
                    .with_access(ProjectAccess::Forbidden),
                SimProject::new(GONE_PROJECT, "legacy").with_access(ProjectAccess::Gone),
            ]),
            SimOrg::new(OTHER_ORG, "Other Org", Vec::new())
                .with_projects(vec![SimProject::new(OTHER_PROJECT, "other")]),
        ],
        ..world()
    }
}

fn group_invites_path(group: &str) -> String {
    format!("/api/atlas/v2/groups/{group}/invites")
}

#[tokio::test]
async fn group_invites_are_a_bare_deprecated_array_with_spec_field_names() {
    let sim = Simulator::start(group_world()).await.unwrap();
    let bearer = format!("Bearer {}", token(&sim).await);
    let path = group_invites_path(PROJECT);
    let response = get_path(&sim, &path, ATLAS_MEDIA_TYPE, Some(&bearer)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers().clone();
    assert_eq!(headers[header::CONTENT_TYPE], ATLAS_MEDIA_TYPE);
    assert_eq!(headers["sunset"], "Thu, 01 Jul 2027 00:00:00 GMT");
    assert_eq!(headers["deprecation"], DEPRECATION);
    assert_eq!(headers["ratelimit-limit"], "1200");
    assert_eq!(headers["ratelimit-remaining"], "1199");
    let body = json_of(response).await;
    let invitations = body.as_array().unwrap();
    assert_eq!(invitations.len(), 2);
    let invitation = &invitations[0];
    assert_eq!(
        sorted_keys(invitation),
        [
            "createdAt",
            "expiresAt",
            "groupId",
            "groupName",
            "id",
            "inviterUsername",
            "links",
            "roles",
            "username"
        ]
    );
    assert_eq!(invitation["groupId"], PROJECT);
    assert_eq!(invitation["groupName"], "web-frontend");
    assert_eq!(invitation["id"], INVITATION_ID);
    assert_eq!(invitation["username"], "Dana@Example.com");
    assert_eq!(invitation["inviterUsername"], "owner@example.com");
    assert_eq!(
        invitation["roles"],
        json!(["GROUP_READ_ONLY", "GROUP_DATA_ACCESS_READ_ONLY"])
    );
    assert_eq!(
        invitation["links"],
        json!([{"href": format!("{}{path}/{INVITATION_ID}", sim.base_url()), "rel": "self"}])
    );
    let at = |name: &str| {
        invitation[name]
            .as_str()
            .unwrap()
            .parse::<jiff::Timestamp>()
            .unwrap()
            .as_second()
    };
    assert_eq!(at("expiresAt") - at("createdAt"), INVITATION_LIFETIME_SECS);

    let filtered = format!("{path}?username=dana%40example.com");
    let response = get_path(&sim, &filtered, ATLAS_MEDIA_TYPE, Some(&bearer)).await;
    assert_eq!(json_of(response).await.as_array().unwrap().len(), 1);
    let empty = get_path(
        &sim,
        &group_invites_path(OTHER_PROJECT),
        ATLAS_MEDIA_TYPE,
        Some(&bearer),
    )
    .await;
    assert_eq!(json_of(empty).await, json!([]));
    for accept in [
        ORG_USERS_MEDIA_TYPE,
        "application/vnd.atlas.2025-03-12+json",
    ] {
        let response = get_path(&sim, &path, accept, Some(&bearer)).await;
        assert_eq!(response.status(), StatusCode::NOT_ACCEPTABLE, "{accept}");
    }
    let digest = get_digest(&sim, &path, ATLAS_MEDIA_TYPE).await;
    assert_eq!(digest.status(), StatusCode::OK);
}

#[tokio::test]
async fn group_invites_refuse_unknown_forbidden_gone_and_foreign_projects() {
    let sim = Simulator::start(group_world()).await.unwrap();
    let bearer = format!("Bearer {}", token(&sim).await);
    let get = |group: &'static str| {
        let (sim, bearer) = (&sim, &bearer);
        async move {
            get_path(
                sim,
                &group_invites_path(group),
                ATLAS_MEDIA_TYPE,
                Some(bearer),
            )
            .await
        }
    };

    let response = get("0123456789abcdef01234567").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let body = json_of(response).await;
    assert_eq!(body["errorCode"], "RESOURCE_NOT_FOUND");
    assert_eq!(
        (body["error"].clone(), body["reason"].clone()),
        (json!(404), json!("Not Found"))
    );

    let response = get(FORBIDDEN_PROJECT).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let body = json_of(response).await;
    assert_eq!(
        sorted_keys(&body),
        ["detail", "error", "errorCode", "reason"]
    );
    assert_eq!(body["errorCode"], "USER_UNAUTHORIZED");

    let response = get(GONE_PROJECT).await;
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

    let response = get("not-a-group").await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(json_of(response).await["errorCode"], "VALIDATION_ERROR");
    let response = get_path(&sim, &group_invites_path(PROJECT), ATLAS_MEDIA_TYPE, None).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(challenge_of(response.headers()).starts_with("Digest "));

    // A credential with a role only in the other org.
    sim.set_grants(vec![Grant::new(CLIENT_ID, OTHER_ORG, OrgRole::Owner)]);
    let response = get(PROJECT).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(json_of(response).await["errorCode"], "USER_UNAUTHORIZED");
    assert_eq!(get(OTHER_PROJECT).await.status(), StatusCode::OK);
    // A Member of the owning org passes the org's checks.
    sim.set_grants(vec![Grant::new(CLIENT_ID, ORG, OrgRole::Member)]);
    assert_eq!(get(PROJECT).await.status(), StatusCode::OK);
    sim.set_deleted(ORG, true);
    assert_eq!(get(PROJECT).await.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn group_invites_are_logged_under_the_org_with_faults_and_behaviour_of_their_own() {
    let sim = Simulator::start(group_world()).await.unwrap();
    let token = token(&sim).await;
    let bearer = format!("Bearer {token}");
    let path = group_invites_path(PROJECT);
    sim.push_path_faults(
        ORG,
        "groups/{groupId}/invites",
        [
            Fault::Status {
                status: 503,
                error_code: Some("SERVICE_UNAVAILABLE".to_owned()),
                retry_after: None,
            },
            Fault::WrongShape,
        ],
    );
    assert_eq!(sim.pending_path_faults(ORG, "groups/{groupId}/invites"), 2);
    assert_eq!(sim.pending_faults(ORG), 0);
    // The org's invites path does not take them.
    assert_eq!(
        get_with_token(&sim, ORG, &token).await.status(),
        StatusCode::OK
    );
    let response = get_path(&sim, &path, ATLAS_MEDIA_TYPE, Some(&bearer)).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let wrong = json_of(get_path(&sim, &path, ATLAS_MEDIA_TYPE, Some(&bearer)).await).await;
    assert_eq!(wrong["totalCount"], 2, "{wrong}");
    sim.set_path_behaviour(
        ORG,
        "groups/{groupId}/invites",
        Behaviour::RateLimitedEvery {
            n: 1,
            retry_after_secs: Some(2),
        },
    );
    let response = get_path(&sim, &path, ATLAS_MEDIA_TYPE, Some(&bearer)).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.headers()["retry-after"], "2");
    let detail = json_of(response).await["detail"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        detail.contains(&format!("api/atlas/v2/groups/{PROJECT}/invites")),
        "{detail}"
    );

    let logged: Vec<(Option<String>, u16)> = sim
        .requests()
        .iter()
        .filter(|request| request.path == path)
        .map(|request| (request.org_id.clone(), request.status))
        .collect();
    let org = Some(ORG.to_owned());
    assert_eq!(logged, [(org.clone(), 503), (org.clone(), 200), (org, 429)]);
    let unknown = group_invites_path("0123456789abcdef01234567");
    get_path(&sim, &unknown, ATLAS_MEDIA_TYPE, Some(&bearer)).await;
    let last = sim.requests().pop().unwrap();
    assert_eq!((last.path, last.org_id, last.status), (unknown, None, 404));
}
