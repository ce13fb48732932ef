//! Which invitations matter: `[policy]`'s domain classes, tiers, unexpected inviters and risks of
//! pending invitees, and the lifecycle counters between polls; against the simulator, through the
//! real binary. No address ever reaches a label.

use atlas_sim::{SimInvitation, SimOrg, SimTime, Simulator, World};

use crate::util::{Exporter, Exposition};

const ORG: &str = "aaaaaaaaaaaaaaaaaaaaaaa1";
const PROJECT: &str = "bbbbbbbbbbbbbbbbbbbbbb01";
const CLIENT_ID: &str = "mdb_sa_id_0123456789abcdef01234567";
const CLIENT_SECRET: &str = "mdb_sa_sk_policy-test-do-not-leak-11";
const DAY: i64 = 86_400;

fn invitation(id: &str, username: &str) -> SimInvitation {
    SimInvitation::sent_ago(id, username, DAY)
}

/// Five pending invitees and one expired invitation.
fn world() -> World {
    let invitations = vec![
        invitation("000000000000000000000001", "alice@example.com").with_org_roles(["ORG_OWNER"]),
        invitation("000000000000000000000002", "Someone@GMAIL.COM")
            .with_project_role(PROJECT, "GROUP_DATA_ACCESS_ADMIN"),
        invitation("000000000000000000000003", "pat@partner.example.org")
            .with_org_roles(["ORG_READ_ONLY"])
            .without_inviter(),
        invitation("000000000000000000000004", "sam@outlook.com")
            .with_project_role(PROJECT, "GROUP_READ_ONLY")
            .with_inviter("intern@contractor.example.net"),
        invitation("000000000000000000000005", "bob@eu.example.com")
            .with_project_role(PROJECT, "GROUP_CLUSTER_MANAGER"),
        invitation("000000000000000000000006", "old@gmail.com")
            .with_org_roles(["ORG_OWNER"])
            .with_dates(SimTime::FromNow(-40 * DAY), SimTime::FromNow(-10 * DAY)),
    ];
    World {
        orgs: vec![SimOrg::new(ORG, "Policy", invitations)],
        service_accounts: vec![(CLIENT_ID.into(), CLIENT_SECRET.into())],
        ..World::default()
    }
}

fn config(simulator: &Simulator, policy: &str) -> String {
    format!(
        "[auth]\nclient_id = \"{CLIENT_ID}\"\nclient_secret = \"{CLIENT_SECRET}\"\n\
         [atlas]\nbase_url = \"{}\"\nsource = \"invites\"\ntimeout = \"2s\"\n\
         [poll]\ninterval = \"1s\"\njitter = 0.0\n{policy}[[orgs]]\nid = \"{ORG}\"\n",
        simulator.base_url()
    )
}

const POLICY: &str = "[policy]\ninternal_domains = [\"example.com\", \"*.example.com\"]\n\
                      expected_inviters = [\"owner@example.com\"]\n\
                      [policy.tiers]\nadmin = [\"GROUP_CLUSTER_MANAGER\"]\n";

fn value(m: &Exposition, name: &str, label: Option<(&str, &str)>) -> Option<f64> {
    let mut labels = vec![("org_id", ORG)];
    labels.extend(label);
    m.get(name, &labels)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pending_invitees_are_classed_by_domain_tier_inviter_and_risk() {
    let simulator = Simulator::start(world()).await.unwrap();
    let exporter = Exporter::start(&config(&simulator, POLICY));
    let m = exporter
        .wait_for_metrics("the policy series", |m| {
            m.has("atlas_invites_risky_pending")
        })
        .await;
    let domain = |class| {
        value(
            &m,
            "atlas_invites_domain_pending",
            Some(("domain_class", class)),
        )
    };
    // alice and bob (a subdomain) are internal; pat external; Someone@GMAIL.COM and sam free-mail;
    // the expired invitation counts nowhere.
    assert_eq!(
        (domain("internal"), domain("external"), domain("free_mail")),
        (Some(2.0), Some(1.0), Some(2.0))
    );
    let tier = |tier| value(&m, "atlas_invites_tier_pending", Some(("tier", tier)));
    assert_eq!(
        (tier("owner"), tier("admin"), tier("write"), tier("read")),
        (Some(1.0), Some(2.0), Some(0.0), Some(2.0)),
        "GROUP_CLUSTER_MANAGER moved to admin by [policy.tiers]"
    );
    assert_eq!(
        value(&m, "atlas_invites_unexpected_inviter_pending", None),
        Some(2.0),
        "pat (no inviter) and sam (an intern)"
    );
    let risky = |reason| value(&m, "atlas_invites_risky_pending", Some(("reason", reason)));
    assert_eq!(
        (
            risky("owner_external"),
            risky("free_mail"),
            risky("unexpected_inviter")
        ),
        (Some(1.0), Some(2.0), Some(2.0)),
        "only the free-mail admin is owner_external: alice is internal"
    );
    assert_eq!(
        m.get("atlas_invites_policy_internal_domains", &[]),
        Some(2.0)
    );
    let text = exporter.metrics().await.to_lowercase();
    for address in ["alice@", "someone@", "pat@", "sam@", "intern@", "gmail.com"] {
        assert!(!text.contains(address), "{address} in /metrics");
    }
    assert!(!exporter.logs().to_lowercase().contains("someone@gmail.com"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_policy_everyone_is_external_or_free_mail_and_no_inviter_is_watched() {
    let simulator = Simulator::start(world()).await.unwrap();
    let exporter = Exporter::start(&config(&simulator, ""));
    let m = exporter
        .wait_for_metrics("the policy series", |m| {
            m.has("atlas_invites_risky_pending")
        })
        .await;
    assert_eq!(
        value(
            &m,
            "atlas_invites_domain_pending",
            Some(("domain_class", "internal"))
        ),
        Some(0.0)
    );
    assert!(!m.has("atlas_invites_unexpected_inviter_pending"));
    assert_eq!(
        value(
            &m,
            "atlas_invites_risky_pending",
            Some(("reason", "unexpected_inviter"))
        ),
        Some(0.0)
    );
    assert_eq!(
        value(&m, "atlas_invites_tier_pending", Some(("tier", "write"))),
        Some(1.0),
        "GROUP_CLUSTER_MANAGER keeps its default tier"
    );
    assert_eq!(
        m.get("atlas_invites_policy_internal_domains", &[]),
        Some(0.0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lifecycle_counters_follow_the_changes_between_polls_after_a_baseline() {
    let simulator = Simulator::start(world()).await.unwrap();
    let exporter = Exporter::start(&config(&simulator, ""));
    let events =
        |m: &Exposition, event| value(m, "atlas_invites_events_total", Some(("event", event)));
    let m = exporter
        .wait_for_metrics("the baseline", |m| m.has("atlas_invites_pending"))
        .await;
    assert_eq!(
        (
            events(&m, "created"),
            events(&m, "removed"),
            events(&m, "expired")
        ),
        (Some(0.0), Some(0.0), Some(0.0)),
        "the first poll is a baseline"
    );

    // Accepted (gone before its expiry, a day after it was sent), and a new one.
    assert!(simulator.remove_invitation(ORG, "000000000000000000000001"));
    simulator.add_invitation(
        ORG,
        invitation("000000000000000000000007", "new@example.com").with_org_roles(["ORG_MEMBER"]),
    );
    let m = exporter
        .wait_for_metrics("one removed and one created", |m| {
            events(m, "removed") == Some(1.0) && events(m, "created") == Some(1.0)
        })
        .await;
    assert_eq!(events(&m, "expired"), Some(0.0));
    let count = value(&m, "atlas_invites_removal_age_seconds_count", None);
    let sum = value(&m, "atlas_invites_removal_age_seconds_sum", None).unwrap();
    assert_eq!(count, Some(1.0));
    assert!((sum - DAY as f64).abs() < 120.0, "a day old: {sum}");
    let bucket = |le| {
        value(
            &m,
            "atlas_invites_removal_age_seconds_bucket",
            Some(("le", le)),
        )
    };
    assert_eq!(bucket("21600"), Some(0.0));
    assert_eq!(bucket("259200"), Some(1.0));
    assert_eq!(bucket("+Inf"), Some(1.0));

    // One that expires while still listed (a fixed time: `FromNow` moves with each response):
    // counted once, not again at the next polls.
    let soon = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(2);
    assert!(simulator.set_invitation_expiry(ORG, "000000000000000000000002", SimTime::At(soon)));
    let m = exporter
        .wait_for_metrics("one expired", |m| events(m, "expired") == Some(1.0))
        .await;
    let polls = |m: &Exposition| {
        m.sum(
            "atlas_invites_api_requests_total",
            &[("endpoint", "list_org_invites"), ("code", "200")],
        )
    };
    let after = polls(&m);
    let m = exporter
        .wait_for_metrics("two more polls", |m| polls(m) >= after + 2.0)
        .await;
    assert_eq!(
        (
            events(&m, "created"),
            events(&m, "removed"),
            events(&m, "expired")
        ),
        (Some(1.0), Some(1.0), Some(1.0))
    );
}
