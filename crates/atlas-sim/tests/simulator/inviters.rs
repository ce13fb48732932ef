//! `inviterUsername`: an invitation naming no inviter leaves the field out (never null) on
//! `/invites`, `/users` and `/groups/{groupId}/invites`, and one naming an inviter still shows it.

use atlas_sim::*;
use serde_json::Value;

use crate::common::*;

const PROJECT: &str = "6523f1a0c8e4b2d9f0a1c0e1";
const NAMED: &str = "6523f1a0c8e4b2d9f0a1e0e1";
const UNNAMED: &str = "6523f1a0c8e4b2d9f0a1e0e2";
const LEGACY_UNNAMED: &str = "6523f1a0c8e4b2d9f0a1e0e3";

fn inviter_world() -> World {
    let named = SimInvitation::sent_ago(NAMED, "named@example.com", 3600)
        .without_inviter()
        .with_inviter("intern@contractor.example.net");
    let unnamed = SimInvitation::sent_ago(UNNAMED, "unnamed@example.com", 7200).without_inviter();
    let legacy = SimInvitation::sent_ago(LEGACY_UNNAMED, "legacy@example.com", 60)
        .with_org_roles(["GROUP_READ_ONLY"])
        .without_inviter();
    World {
        orgs: vec![
            SimOrg::new(ORG, "Test Org", vec![named, unnamed]).with_projects(vec![
                SimProject::new(PROJECT, "web").with_invitations(vec![legacy]),
            ]),
        ],
        ..world()
    }
}

/// The entry with this id, from a bare array or a paginated envelope.
fn by_id<'a>(body: &'a Value, id: &str) -> &'a Value {
    let items = body
        .as_array()
        .or_else(|| body["results"].as_array())
        .unwrap();
    items.iter().find(|item| item["id"] == id).unwrap()
}

#[tokio::test]
async fn an_invitation_naming_no_inviter_has_no_inviter_field_anywhere() {
    let sim = Simulator::start(inviter_world()).await.unwrap();
    let token = token(&sim).await;
    let bearer = format!("Bearer {token}");

    let invites = json_of(get_with_token(&sim, ORG, &token).await).await;
    assert_eq!(
        by_id(&invites, NAMED)["inviterUsername"],
        "intern@contractor.example.net"
    );
    assert!(by_id(&invites, UNNAMED).get("inviterUsername").is_none());

    let users = users_page(&sim, ORG, "orgMembershipStatuses=PENDING", &token).await;
    assert_eq!(
        by_id(&users, NAMED)["inviterUsername"],
        "intern@contractor.example.net"
    );
    let unnamed = by_id(&users, UNNAMED);
    assert!(unnamed.get("inviterUsername").is_none(), "{unnamed}");
    assert_eq!(unnamed["orgMembershipStatus"], "PENDING");

    let path = format!("/api/atlas/v2/groups/{PROJECT}/invites");
    let legacy = json_of(get_path(&sim, &path, ATLAS_MEDIA_TYPE, Some(&bearer)).await).await;
    let legacy = by_id(&legacy, LEGACY_UNNAMED);
    assert!(legacy.get("inviterUsername").is_none(), "{legacy}");
    assert_eq!(legacy["username"], "legacy@example.com");
}
