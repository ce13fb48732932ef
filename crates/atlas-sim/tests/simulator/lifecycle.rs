//! A world that changes while the simulator runs: invitations added, removed (accepted or revoked),
//! expired or otherwise changed by a test, and an org's churn, moved to any point of its schedule
//! with `set_churn_start` instead of sleeping.

use std::time::Duration;

use atlas_sim::*;
use serde_json::Value;

use crate::common::*;

const ADDED: &str = "6523f1a0c8e4b2d9f0a1e0f1";
const FIRST: &str = "6523f1a0c8e4b2d9f0a1e0aa";

fn ids(body: &Value) -> Vec<&str> {
    let items = body
        .as_array()
        .or_else(|| body["results"].as_array())
        .unwrap();
    items
        .iter()
        .map(|item| item["id"].as_str().unwrap())
        .collect()
}

fn by_id<'a>(body: &'a Value, id: &str) -> &'a Value {
    let items = body
        .as_array()
        .or_else(|| body["results"].as_array())
        .unwrap();
    items.iter().find(|item| item["id"] == id).unwrap()
}

fn seconds(value: &Value) -> i64 {
    value
        .as_str()
        .unwrap()
        .parse::<jiff::Timestamp>()
        .unwrap()
        .as_second()
}

const PENDING_AND_EXPIRED: &str =
    "orgMembershipStatuses=PENDING&orgMembershipStatuses=INVITATION_EXPIRED";

#[tokio::test]
async fn invitations_added_expired_changed_and_removed_show_from_the_next_request() {
    let sim = Simulator::start(world()).await.unwrap();
    let token = token(&sim).await;
    let invites = || async { json_of(get_with_token(&sim, ORG, &token).await).await };
    assert_eq!(ids(&invites().await), [FIRST]);

    sim.add_invitation(
        ORG,
        SimInvitation::sent_ago(ADDED, "new@gmail.com", 60).with_org_roles(["ORG_OWNER"]),
    );
    assert_eq!(ids(&invites().await), [FIRST, ADDED]);
    let users = users_page(&sim, ORG, PENDING_AND_EXPIRED, &token).await;
    assert_eq!(ids(&users), [FIRST, ADDED]);
    // The same id again replaces it where it stands: a re-sent invitation, not a second one.
    sim.add_invitation(
        ORG,
        SimInvitation::sent_ago(ADDED, "new@gmail.com", 30).without_inviter(),
    );
    let listed = invites().await;
    assert_eq!(ids(&listed), [FIRST, ADDED]);
    assert!(by_id(&listed, ADDED).get("inviterUsername").is_none());

    // Expired while still listed: /invites keeps it with a past expiresAt, /users calls it expired.
    assert!(sim.set_invitation_expiry(ORG, ADDED, SimTime::FromNow(-60)));
    let listed = invites().await;
    let now = jiff::Timestamp::now().as_second();
    assert!(seconds(&by_id(&listed, ADDED)["expiresAt"]) < now);
    let users = users_page(&sim, ORG, PENDING_AND_EXPIRED, &token).await;
    assert_eq!(
        by_id(&users, ADDED)["orgMembershipStatus"],
        "INVITATION_EXPIRED"
    );
    assert_eq!(by_id(&users, FIRST)["orgMembershipStatus"], "PENDING");

    assert!(sim.update_invitation(ORG, FIRST, |invitation| {
        invitation.inviter_username = Some("intern@contractor.example.net".to_owned());
        invitation.org_roles = vec!["ORG_READ_ONLY".to_owned()];
    }));
    let listed = invites().await;
    assert_eq!(
        by_id(&listed, FIRST)["inviterUsername"],
        "intern@contractor.example.net"
    );
    assert_eq!(
        by_id(&listed, FIRST)["roles"],
        serde_json::json!(["ORG_READ_ONLY"])
    );

    // Accepted or revoked: gone from both listings.
    assert!(sim.remove_invitation(ORG, FIRST));
    assert_eq!(ids(&invites().await), [ADDED]);
    let users = users_page(&sim, ORG, PENDING_AND_EXPIRED, &token).await;
    assert_eq!(ids(&users), [ADDED]);

    assert!(!sim.remove_invitation(ORG, FIRST), "already gone");
    assert!(!sim.remove_invitation(DELETED_ORG, ADDED), "unknown org");
    assert!(!sim.update_invitation(ORG, FIRST, |_| panic!("not called")));
    assert!(!sim.set_invitation_expiry(OTHER_ORG, ADDED, SimTime::FromNow(0)));
}

#[tokio::test]
async fn churn_lists_its_invitations_as_scheduled_from_the_churn_start() {
    let churn = Churn::every(Duration::from_secs(240));
    let sim = Simulator::start(World {
        orgs: vec![SimOrg::new(ORG, "Test Org", Vec::new()).with_churn(churn)],
        ..world()
    })
    .await
    .unwrap();
    let token = token(&sim).await;
    let now = jiff::Timestamp::now();
    assert!((now.as_second() - sim.churn_start().as_second()).abs() <= 5);

    // Right after the start: only the one that will expire is listed, with cycle 0's id.
    let listed = json_of(get_with_token(&sim, ORG, &token).await).await;
    assert_eq!(ids(&listed), ["e4b2d9f0a1b0aac100000000"]);

    // 105 s in: all three, the first past its expiry (at 60 s) but still listed.
    let ago = |seconds: i64| jiff::Timestamp::from_second(now.as_second() - seconds).unwrap();
    sim.set_churn_start(ago(105));
    let listed = json_of(get_with_token(&sim, ORG, &token).await).await;
    assert_eq!(
        ids(&listed),
        [
            "e4b2d9f0a1b0aac100000000",
            "e4b2d9f0a1b0aac200000000",
            "e4b2d9f0a1b0aac300000000"
        ]
    );
    let expiring = by_id(&listed, "e4b2d9f0a1b0aac100000000");
    assert_eq!(seconds(&expiring["expiresAt"]), ago(105).as_second() + 60);
    let users = users_page(&sim, ORG, PENDING_AND_EXPIRED, &token).await;
    let statuses: Vec<&str> = users["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|user| user["orgMembershipStatus"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["INVITATION_EXPIRED", "PENDING", "PENDING"]);

    // Between cycles nothing is listed; the next cycle brings new ids.
    sim.set_churn_start(ago(210));
    assert_eq!(
        ids(&json_of(get_with_token(&sim, ORG, &token).await).await),
        Vec::<&str>::new()
    );
    sim.set_churn_start(ago(240 + 45));
    assert_eq!(
        ids(&json_of(get_with_token(&sim, ORG, &token).await).await),
        ["e4b2d9f0a1b0aac100000001", "e4b2d9f0a1b0aac200000001"]
    );
    // Churned invitations are not declared: a test cannot remove them.
    assert!(!sim.remove_invitation(ORG, "e4b2d9f0a1b0aac100000001"));
}
