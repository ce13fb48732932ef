//! What the exporter reads for seats and teams from listOrgUsers and listOrgInvites: the count of
//! active members in one small page, and the teams pending invitees join (`teamIds`).

use atlas_sim::*;
use reqwest::StatusCode;
use serde_json::json;

use crate::common::*;

const TEAM_A: &str = "6523f1a0c8e4b2d9f0a1f0a1";
const TEAM_B: &str = "6523f1a0c8e4b2d9f0a1f0a2";

fn seats_world() -> World {
    let invitation = SimInvitation::sent_ago(PENDING_ID, "pending@example.com", 3600)
        .with_team_ids([TEAM_A, TEAM_B, TEAM_A]);
    let plain = SimInvitation::sent_ago(EXPIRED_ID, "plain@example.com", 60);
    World {
        orgs: vec![
            SimOrg::new(ORG, "Test Org", vec![invitation, plain])
                .with_active_users(120)
                .with_teams(vec![SimTeam::new(TEAM_A, "Team A")]),
            SimOrg::new(OTHER_ORG, "Other Org", Vec::new()),
        ],
        ..world()
    }
}

#[tokio::test]
async fn one_small_page_counts_the_active_members() {
    let sim = Simulator::start(seats_world()).await.unwrap();
    let token = token(&sim).await;
    let query = "orgMembershipStatuses=ACTIVE&itemsPerPage=1&includeCount=true";
    let body = users_page(&sim, ORG, query, &token).await;
    assert_eq!(body["totalCount"], 120);
    assert_eq!(field(&body, "orgMembershipStatus"), ["ACTIVE"]);
    let empty = users_page(&sim, OTHER_ORG, query, &token).await;
    assert_eq!(empty["totalCount"], 0);
    assert_eq!(empty["results"], json!([]));
}

#[tokio::test]
async fn pending_users_and_invitations_carry_their_team_ids() {
    let sim = Simulator::start(seats_world()).await.unwrap();
    let token = token(&sim).await;
    let body = users_page(&sim, ORG, "orgMembershipStatuses=PENDING", &token).await;
    let results = body["results"].as_array().unwrap();
    assert_eq!(results[0]["teamIds"], json!([TEAM_A, TEAM_B]));
    assert_eq!(results[1]["teamIds"], json!([]));
    let active = users_page(
        &sim,
        ORG,
        "orgMembershipStatuses=ACTIVE&itemsPerPage=1",
        &token,
    )
    .await;
    assert_eq!(active["results"][0]["teamIds"], json!([]));

    let response = get_with_token(&sim, ORG, &token).await;
    assert_eq!(response.status(), StatusCode::OK);
    let invites = json_of(response).await;
    assert_eq!(invites[0]["teamIds"], json!([TEAM_A, TEAM_B]));
    assert_eq!(invites[1]["teamIds"], json!([]));
}
