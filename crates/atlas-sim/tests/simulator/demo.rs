//! The demo world's projects, legacy project invitations, teams and active members, over sockets with
//! the demo credential, as `--demo` serves them.

use atlas_sim::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::*;

async fn demo_token(sim: &Simulator) -> String {
    let response = post_token(
        sim,
        &basic(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET),
        "grant_type=client_credentials",
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    json_of(response).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn demo_serves_projects_legacy_invitations_teams_and_seats() {
    let sim = Simulator::start(World::demo()).await.unwrap();
    let token = demo_token(&sim).await;
    let bearer = format!("Bearer {token}");
    let get = |path: String| {
        let (sim, bearer) = (&sim, &bearer);
        async move { get_path(sim, &path, ATLAS_MEDIA_TYPE, Some(bearer)).await }
    };

    let groups = json_of(get(format!("/api/atlas/v2/orgs/{DEMO_ORG_ACME}/groups")).await).await;
    assert!(field(&groups, "id").contains(&DEMO_PROJECT_LEGACY_INVITES));

    let legacy = get(format!(
        "/api/atlas/v2/groups/{DEMO_PROJECT_LEGACY_INVITES}/invites"
    ))
    .await;
    assert_eq!(legacy.status(), StatusCode::OK);
    let legacy: Value = json_of(legacy).await;
    let legacy_invitees: Vec<&str> = legacy
        .as_array()
        .unwrap()
        .iter()
        .map(|invitation| invitation["username"].as_str().unwrap())
        .collect();
    let org_invites = json_of(get_with_token(&sim, DEMO_ORG_ACME, &token).await).await;
    let org_invitees: Vec<&str> = org_invites
        .as_array()
        .unwrap()
        .iter()
        .map(|invitation| invitation["username"].as_str().unwrap())
        .collect();
    assert!(legacy_invitees.contains(&"Carol@Example.com"));
    assert!(org_invitees.contains(&"carol@example.com"));
    assert!(legacy_invitees.iter().any(|legacy| {
        !org_invitees
            .iter()
            .any(|org| org.eq_ignore_ascii_case(legacy))
    }));

    let forbidden = get(format!(
        "/api/atlas/v2/groups/{DEMO_PROJECT_FORBIDDEN}/invites"
    ))
    .await;
    assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);

    let teams = json_of(get(format!("/api/atlas/v2/orgs/{DEMO_ORG_ACME}/teams")).await).await;
    assert!(!field(&teams, "id").contains(&DEMO_TEAM_UNLISTED));
    assert!(org_invites.as_array().unwrap().iter().any(|invitation| {
        invitation["teamIds"]
            .as_array()
            .unwrap()
            .contains(&json!(DEMO_TEAM_UNLISTED))
    }));

    let seats = users_page(
        &sim,
        DEMO_ORG_ACME,
        "orgMembershipStatuses=ACTIVE&itemsPerPage=1&includeCount=true",
        &token,
    )
    .await;
    assert_eq!(seats["totalCount"], DEMO_ACME_ACTIVE_USERS);
    assert_eq!(seats["results"].as_array().unwrap().len(), 1);

    let secret = get_path(
        &sim,
        &format!("/api/atlas/v2/orgs/{DEMO_ORG_ACME}/serviceAccounts/{DEMO_CLIENT_ID}"),
        SERVICE_ACCOUNTS_MEDIA_TYPE,
        Some(&bearer),
    )
    .await;
    assert_eq!(secret.status(), StatusCode::OK);
}

#[tokio::test]
async fn demo_serves_the_invitee_domains_inviters_and_churn() {
    let sim = Simulator::start(World::demo()).await.unwrap();
    let token = demo_token(&sim).await;
    let find = |body: &Value, id: &str| {
        body.as_array()
            .or_else(|| body["results"].as_array())
            .unwrap()
            .iter()
            .find(|item| item["id"] == id)
            .cloned()
            .unwrap()
    };

    let sandbox = json_of(get_with_token(&sim, DEMO_ORG_SANDBOX, &token).await).await;
    assert_eq!(sandbox.as_array().unwrap().len(), 6);
    assert!(
        find(&sandbox, DEMO_INVITATION_NO_INVITER)
            .get("inviterUsername")
            .is_none()
    );
    assert_eq!(
        find(&sandbox, DEMO_INVITATION_UNEXPECTED_INVITER)["inviterUsername"],
        DEMO_UNEXPECTED_INVITER
    );
    assert_eq!(
        find(&sandbox, DEMO_INVITATION_UPPERCASE_FREE_MAIL)["username"],
        "Someone@GMAIL.COM"
    );
    let users = users_page(
        &sim,
        DEMO_ORG_SANDBOX,
        "orgMembershipStatuses=PENDING",
        &token,
    )
    .await;
    assert!(
        find(&users, DEMO_INVITATION_NO_INVITER)
            .get("inviterUsername")
            .is_none()
    );

    // Zürich: its declared invitations, then the churn's first invitation, listed from the start.
    let zurich = json_of(get_with_token(&sim, DEMO_ORG_ZURICH, &token).await).await;
    let owner = find(&zurich, DEMO_INVITATION_FREE_MAIL_OWNER);
    assert_eq!(owner["groupRoleAssignments"][0]["groupRole"], "GROUP_OWNER");
    let churned: Vec<&Value> = zurich
        .as_array()
        .unwrap()
        .iter()
        .filter(|item| item["username"].as_str().unwrap().starts_with("churn."))
        .collect();
    assert_eq!(churned.len(), 1, "{zurich}");
    assert_eq!(churned[0]["id"], "e4b2d9f0a1b002c100000000");
    assert_eq!(zurich.as_array().unwrap().len(), 7);
}
