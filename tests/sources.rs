use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use atlas_client::Invitation;
use atlas_client::{AtlasClient, Authenticator, ClientSettings};
use atlas_invites_exporter::config::ExpiryWindow;
use atlas_invites_exporter::metrics::aggregate::{AggregateSettings, Aggregator};
use atlas_invites_exporter::types::OrgId;
use atlas_sim::{Grant, OrgRole, SimInvitation, SimOrg, SimTime, Simulator, World};
use proptest::prelude::*;

use crate::util::{Exporter, Exposition, run_binary, write_temp};

const ORG_A: &str = "aaaaaaaaaaaaaaaaaaaaaaa1";
const ORG_B: &str = "bbbbbbbbbbbbbbbbbbbbbbb2";
const SA_1: (&str, &str) = ("mdb_sa_id_one", "secret-one-do-not-leak");
const SA_2: (&str, &str) = ("mdb_sa_id_two", "secret-two-do-not-leak");
const DAY: i64 = 86_400;

fn world(orgs: Vec<SimOrg>) -> World {
    World {
        orgs,
        service_accounts: vec![
            (SA_1.0.into(), SA_1.1.into()),
            (SA_2.0.into(), SA_2.1.into()),
        ],
        ..World::default()
    }
}

fn invitations(count: usize) -> Vec<SimInvitation> {
    (0..count)
        .map(|i| {
            let created = -((i as i64 % 29) + 1) * DAY;
            SimInvitation::sent_ago(
                format!("{i:024x}"),
                format!("user{i}@example.com"),
                -created,
            )
            .with_dates(
                SimTime::FromNow(created),
                SimTime::FromNow(created + 30 * DAY),
            )
            .with_org_roles([if i % 5 == 0 {
                "ORG_OWNER"
            } else {
                "ORG_MEMBER"
            }])
        })
        .collect()
}

fn config(simulator: &Simulator, source: &str, extra: &str, orgs: &[&str]) -> String {
    let mut toml = format!(
        "[auth]\nclient_id = \"{}\"\nclient_secret = \"{}\"\n[atlas]\nbase_url = \"{}\"\nsource = \"{source}\"\ntimeout = \"2s\"\n[poll]\ninterval = \"1s\"\njitter = 0.0\n{extra}\n",
        SA_1.0,
        SA_1.1,
        simulator.base_url()
    );
    for org in orgs {
        toml.push_str(&format!("[[orgs]]\nid = \"{org}\"\n"));
    }
    toml
}

fn successes(m: &Exposition, org: &str, endpoint: &str) -> f64 {
    m.get(
        "atlas_invites_api_requests_total",
        &[("org_id", org), ("endpoint", endpoint), ("code", "200")],
    )
    .unwrap_or(0.0)
}

fn source_of(m: &Exposition, org: &str) -> Option<String> {
    m.series("atlas_invites_source_info")
        .into_iter()
        .find(|(labels, _)| labels.iter().any(|(k, v)| k == "org_id" && v == org))
        .and_then(|(labels, _)| {
            labels
                .iter()
                .find(|(k, _)| k == "source")
                .map(|(_, v)| v.clone())
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn org_users_source_pages_through_every_invitation() {
    // 1,200 invitations: pages of 500, 500 and 200; 1,000: two full pages and the count reached exactly.
    let simulator = Simulator::start(world(vec![
        SimOrg::new(ORG_A, "A", invitations(1200)),
        SimOrg::new(ORG_B, "B", invitations(1000)),
    ]))
    .await
    .unwrap();
    let exporter = Exporter::start(&config(&simulator, "org_users", "", &[ORG_A, ORG_B]));
    let m = exporter
        .wait_for_metrics("both orgs polled", |m| {
            m.series("atlas_invites_pending").len() == 2
        })
        .await;
    assert_eq!(
        m.get("atlas_invites_pending", &[("org_id", ORG_A)]),
        Some(1200.0)
    );
    assert_eq!(
        m.get("atlas_invites_pending", &[("org_id", ORG_B)]),
        Some(1000.0)
    );
    assert_eq!(
        m.get(
            "atlas_invites_role_pending",
            &[("org_id", ORG_A), ("role", "ORG_OWNER")]
        ),
        Some(240.0)
    );
    assert_eq!(source_of(&m, ORG_A).as_deref(), Some("org_users"));
    assert_eq!(
        m.get(
            "atlas_invites_source_info",
            &[
                ("org_id", ORG_A),
                ("source", "org_users"),
                ("api_version", "2025-02-19")
            ]
        ),
        Some(1.0)
    );
    let first_poll: Vec<String> = simulator
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/users") && r.org_id.as_deref() == Some(ORG_A))
        .filter_map(|r| r.query)
        .take(3)
        .collect();
    assert_eq!(first_poll.len(), 3, "three pages for 1,200 users");
    for (page, query) in first_poll.iter().enumerate() {
        assert!(
            query
                .contains("orgMembershipStatuses=PENDING&orgMembershipStatuses=INVITATION_EXPIRED"),
            "{query}"
        );
        assert!(query.contains(&format!("pageNum={}", page + 1)), "{query}");
        assert!(query.contains("itemsPerPage=500"), "{query}");
    }
    assert!(
        !simulator
            .requests()
            .iter()
            .any(|r| r.path.ends_with("/invites")),
        "org_users never asks the old API"
    );
}

/// Waits for the org to move to org_users and checks that no poll was lost on the way.
async fn assert_switches_without_losing_a_poll(exporter: &Exporter, cause_code: &str) {
    let m = exporter
        .wait_for_metrics("the switch to org_users", |m| {
            source_of(m, ORG_A).as_deref() == Some("org_users")
        })
        .await;
    assert_eq!(
        m.get("atlas_invites_poll_success", &[("org_id", ORG_A)]),
        Some(1.0),
        "the switching poll succeeded"
    );
    assert_eq!(
        m.get(
            "atlas_invites_api_requests_total",
            &[
                ("org_id", ORG_A),
                ("endpoint", "list_org_invites"),
                ("code", cause_code)
            ]
        ),
        Some(1.0)
    );
    assert!(successes(&m, ORG_A, "list_org_users") >= 1.0);
    assert_eq!(
        m.get("atlas_invites_pending", &[("org_id", ORG_A)]),
        Some(3.0)
    );
    let before = successes(&m, ORG_A, "list_org_users");
    let m = exporter
        .wait_for_metrics("another poll", |m| {
            successes(m, ORG_A, "list_org_users") > before
        })
        .await;
    assert_eq!(
        m.get(
            "atlas_invites_api_requests_total",
            &[
                ("org_id", ORG_A),
                ("endpoint", "list_org_invites"),
                ("code", cause_code)
            ]
        ),
        Some(1.0),
        "the old API is not asked again"
    );
    assert!(
        exporter.logs().contains("org_users"),
        "the switch is logged with how to make it permanent"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_moves_to_org_users_when_the_invitations_api_is_gone() {
    let simulator = Simulator::start(world(vec![SimOrg::new(ORG_A, "A", invitations(3))]))
        .await
        .unwrap();
    let exporter = Exporter::start(&config(&simulator, "auto", "", &[ORG_A]));
    exporter
        .wait_for_metrics("a poll on invites", |m| {
            successes(m, ORG_A, "list_org_invites") >= 1.0
        })
        .await;
    simulator.set_invites_gone(ORG_A, true);
    assert_switches_without_losing_a_poll(&exporter, "410").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_moves_to_org_users_on_404() {
    let simulator = Simulator::start(world(vec![SimOrg::new(ORG_A, "A", invitations(3))]))
        .await
        .unwrap();
    let exporter = Exporter::start(&config(&simulator, "auto", "", &[ORG_A]));
    exporter
        .wait_for_metrics("a poll on invites", |m| {
            successes(m, ORG_A, "list_org_invites") >= 1.0
        })
        .await;
    simulator.push_faults(
        ORG_A,
        [atlas_sim::Fault::Status {
            status: 404,
            error_code: Some("RESOURCE_NOT_FOUND".into()),
            retry_after: None,
        }],
    );
    assert_switches_without_losing_a_poll(&exporter, "404").await;
}

fn requests(m: &Exposition, org: &str, endpoint: &str, code: &str) -> f64 {
    m.get(
        "atlas_invites_api_requests_total",
        &[("org_id", org), ("endpoint", endpoint), ("code", code)],
    )
    .unwrap_or(0.0)
}

/// An organisation Atlas does not know answers 404 on both APIs (the simulator's
/// `RESOURCE_NOT_FOUND`): a wrong id, not a retired path. No switch, so every poll asks the
/// invitations API again, and the log says to check the id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_does_not_switch_an_unknown_org_and_says_to_check_its_id() {
    let simulator = Simulator::start(world(vec![SimOrg::new(ORG_A, "A", invitations(3))]))
        .await
        .unwrap();
    let exporter = Exporter::start(&config(&simulator, "auto", "", &[ORG_A, ORG_B]));
    let m = exporter
        .wait_for_metrics("two polls of the unknown org", |m| {
            requests(m, ORG_B, "list_org_invites", "404") >= 2.0
        })
        .await;
    assert!(requests(&m, ORG_B, "list_org_users", "404") >= 1.0);
    assert_eq!(
        m.get("atlas_invites_poll_success", &[("org_id", ORG_B)]),
        Some(0.0)
    );
    let logs = exporter.logs();
    assert!(!logs.contains("switched to the org-users API"), "{logs}");
    let failed = logs
        .lines()
        .find(|l| l.contains("poll failed") && l.contains(ORG_B))
        .unwrap_or_else(|| panic!("no failed poll logged:\n{logs}"));
    assert!(
        failed.contains("check the organisation id") && failed.contains("list_org_users"),
        "{failed}"
    );
    // The known organisation beside it is untouched.
    assert_eq!(source_of(&m, ORG_A).as_deref(), Some("invites"));
}

/// A 404 whose `errorCode` names the organisation needs no fallback to be understood: the org-users
/// API is not asked, the organisation stays on the invitations API, and the log says to check the id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_takes_an_org_not_found_code_at_its_word() {
    let simulator = Simulator::start(world(vec![SimOrg::new(ORG_A, "A", invitations(3))]))
        .await
        .unwrap();
    let exporter = Exporter::start(&config(&simulator, "auto", "", &[ORG_A]));
    let m = exporter
        .wait_for_metrics("a poll on invites", |m| {
            successes(m, ORG_A, "list_org_invites") >= 1.0
        })
        .await;
    // The seats fact reads the org-users API too, once per poll.slow_interval: in the first poll.
    let users_calls = |m: &Exposition| {
        m.sum(
            "atlas_invites_api_requests_total",
            &[("endpoint", "list_org_users")],
        )
    };
    let before = users_calls(&m);
    simulator.push_faults(
        ORG_A,
        [atlas_sim::Fault::Status {
            status: 404,
            error_code: Some("ORG_NOT_FOUND".into()),
            retry_after: None,
        }],
    );
    let m = exporter
        .wait_for_metrics("the 404 and a poll after it", |m| {
            requests(m, ORG_A, "list_org_invites", "404") >= 1.0
                && m.get("atlas_invites_poll_success", &[("org_id", ORG_A)]) == Some(1.0)
        })
        .await;
    assert_eq!(users_calls(&m), before, "{}\n{}", m.text, exporter.logs());
    assert_eq!(source_of(&m, ORG_A).as_deref(), Some("invites"));
    let logs = exporter.logs();
    assert!(!logs.contains("switched to the org-users API"), "{logs}");
    assert!(logs.contains("check the organisation id"), "{logs}");
}

/// While the org-users fallback is tried and fails, the source shown is the one last asked, and the
/// failure logged is that call's, with the invitations API's answer that led to it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_fallback_shows_the_source_it_asked() {
    let simulator = Simulator::start(world(vec![SimOrg::new(ORG_A, "A", invitations(3))]))
        .await
        .unwrap();
    let exporter = Exporter::start(&config(&simulator, "auto", "", &[ORG_A]));
    exporter
        .wait_for_metrics("a poll on invites", |m| {
            successes(m, ORG_A, "list_org_invites") >= 1.0
        })
        .await;
    // 403 on both paths: an IP access list rather than a missing role.
    simulator.set_behaviour(ORG_A, atlas_sim::Behaviour::Forbidden);
    let m = exporter
        .wait_for_metrics("a fallback tried", |m| {
            requests(m, ORG_A, "list_org_users", "403") >= 1.0
        })
        .await;
    assert_eq!(source_of(&m, ORG_A).as_deref(), Some("org_users"));
    assert_eq!(
        m.get("atlas_invites_poll_success", &[("org_id", ORG_A)]),
        Some(0.0)
    );
    let logs = exporter.logs();
    let failed = logs
        .lines()
        .find(|l| l.contains("poll failed"))
        .unwrap_or_else(|| panic!("no failed poll logged:\n{logs}"));
    assert!(
        failed.contains("list_org_users") && failed.contains("tried in its place"),
        "{failed}"
    );
    assert!(!logs.contains("switched to the org-users API"), "{logs}");
    // Never switched: once the invitations API answers again, the organisation is back on it.
    simulator.set_behaviour(ORG_A, atlas_sim::Behaviour::Normal);
    exporter
        .wait_for_metrics("the invitations API again", |m| {
            source_of(m, ORG_A).as_deref() == Some("invites")
                && m.get("atlas_invites_poll_success", &[("org_id", ORG_A)]) == Some(1.0)
        })
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_moves_a_member_credential_to_org_users_at_once() {
    let simulator = Simulator::start(world(vec![SimOrg::new(ORG_A, "A", invitations(3))]))
        .await
        .unwrap();
    simulator.set_grants(vec![Grant {
        credential: SA_1.0.into(),
        org_id: ORG_A.into(),
        role: OrgRole::Member,
    }]);
    let exporter = Exporter::start(&config(&simulator, "auto", "", &[ORG_A]));
    assert_switches_without_losing_a_poll(&exporter, "403").await;

    // `check` says where the org ended up, and the role the refused invitations call needed.
    let (_dir, path) = write_temp("atlas.toml", &config(&simulator, "auto", "", &[ORG_A]));
    let path = path.to_str().unwrap().to_owned();
    let (status, stdout, _) =
        tokio::task::spawn_blocking(move || run_binary(&["check", "--config.file", &path], &[]))
            .await
            .unwrap();
    assert!(status.success(), "{stdout}");
    let row = stdout.lines().find(|l| l.starts_with(ORG_A)).unwrap();
    assert!(
        row.contains("org_users")
            && row.contains("3 pending")
            && row.contains("Organization Owner"),
        "{row}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sunset_and_deprecation_headers_become_metrics() {
    let simulator = Simulator::start(world(vec![SimOrg::new(ORG_A, "A", invitations(3))]))
        .await
        .unwrap();
    let exporter = Exporter::start(&config(&simulator, "invites", "", &[ORG_A]));
    let m = exporter
        .wait_for_metrics("a poll", |m| {
            m.has("atlas_invites_api_sunset_timestamp_seconds")
        })
        .await;
    // Sunset: Thu, 01 Jul 2027 00:00:00 GMT
    assert_eq!(
        m.get(
            "atlas_invites_api_sunset_timestamp_seconds",
            &[("endpoint", "list_org_invites")]
        ),
        Some(1_814_400_000.0)
    );
    assert_eq!(
        m.get(
            "atlas_invites_api_deprecated",
            &[("endpoint", "list_org_invites")]
        ),
        Some(1.0)
    );
    assert_eq!(
        m.get(
            "atlas_invites_api_sunset_timestamp_seconds",
            &[("endpoint", "list_org_users")]
        ),
        None
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_org_uses_its_own_service_account() {
    let simulator = Simulator::start(world(vec![
        SimOrg::new(ORG_A, "A", invitations(2)),
        SimOrg::new(ORG_B, "B", invitations(4)),
    ]))
    .await
    .unwrap();
    simulator.set_grants(vec![
        Grant {
            credential: SA_1.0.into(),
            org_id: ORG_A.into(),
            role: OrgRole::Owner,
        },
        Grant {
            credential: SA_2.0.into(),
            org_id: ORG_B.into(),
            role: OrgRole::Owner,
        },
    ]);
    let toml = format!(
        "[atlas]\nbase_url = \"{}\"\n[poll]\ninterval = \"1s\"\njitter = 0.0\n\
         [[orgs]]\nid = \"{ORG_A}\"\n[orgs.auth]\nclient_id = \"{}\"\nclient_secret = \"{}\"\n\
         [[orgs]]\nid = \"{ORG_B}\"\n[orgs.auth]\nclient_id = \"{}\"\nclient_secret_env = \"SECOND_SECRET\"\n",
        simulator.base_url(),
        SA_1.0,
        SA_1.1,
        SA_2.0
    );
    let exporter = Exporter::start_with(&toml, &[], &[("SECOND_SECRET", SA_2.1)]);
    let m = exporter
        .wait_for_metrics("two polls of each", |m| {
            successes(m, ORG_A, "list_org_invites") >= 2.0
                && successes(m, ORG_B, "list_org_invites") >= 2.0
        })
        .await;
    assert_eq!(
        m.get("atlas_invites_pending", &[("org_id", ORG_A)]),
        Some(2.0)
    );
    assert_eq!(
        m.get("atlas_invites_pending", &[("org_id", ORG_B)]),
        Some(4.0)
    );
    let mut used: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for request in simulator
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/invites"))
    {
        used.entry(request.org_id.unwrap_or_default())
            .or_default()
            .insert(request.credential.unwrap_or_default());
    }
    assert_eq!(used[ORG_A], BTreeSet::from([SA_1.0.to_owned()]));
    assert_eq!(used[ORG_B], BTreeSet::from([SA_2.0.to_owned()]));
    let tokens = simulator
        .requests()
        .iter()
        .filter(|r| r.path == "/api/oauth/token")
        .count();
    assert_eq!(tokens, 2, "one token per credential");
    assert!(!exporter.logs().contains(SA_2.1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_adds_and_removes_organisations() {
    let simulator = Simulator::start(world(vec![SimOrg::new(ORG_A, "Alpha", invitations(2))]))
        .await
        .unwrap();
    let exporter = Exporter::start(&config(
        &simulator,
        "invites",
        "[discovery]\nenabled = true\ninterval = \"1s\"\nexclude = [\"Excluded*\"]",
        &[],
    ));
    exporter.wait_ready().await;
    let m = exporter
        .wait_for_metrics("Alpha discovered", |m| {
            m.get("atlas_invites_pending", &[("org_id", ORG_A)])
                .is_some()
        })
        .await;
    assert_eq!(
        m.get(
            "atlas_invites_org_info",
            &[("org_id", ORG_A), ("org_name", "Alpha")]
        ),
        Some(1.0)
    );
    simulator.add_org(SimOrg::new(ORG_B, "Beta", invitations(1)));
    simulator.add_org(SimOrg::new(
        "cccccccccccccccccccccccc",
        "Excluded org",
        invitations(1),
    ));
    let m = exporter
        .wait_for_metrics("Beta discovered", |m| {
            m.get("atlas_invites_pending", &[("org_id", ORG_B)]) == Some(1.0)
        })
        .await;
    assert!(
        !m.text.contains("cccccccccccccccccccccccc"),
        "excluded by name glob"
    );
    assert!(
        m.get(
            "atlas_invites_api_requests_total",
            &[("org_id", ""), ("endpoint", "list_orgs"), ("code", "200")]
        )
        .unwrap()
            >= 2.0
    );
    simulator.set_deleted(ORG_A, true);
    let m = exporter
        .wait_for_metrics("Alpha gone", |m| !m.text.contains(ORG_A))
        .await;
    assert!(m.has("atlas_invites_pending"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_shards_poll_every_org_exactly_once() {
    let ids: Vec<String> = (0..30u128)
        .map(|i| format!("{:024x}", 0x6523f1a0c8e4b2d9f0a1b100u128 + i * 13))
        .collect();
    let orgs = ids
        .iter()
        .map(|id| SimOrg::new(id.clone(), format!("Org {id}"), invitations(1)))
        .collect();
    let simulator = Simulator::start(world(orgs)).await.unwrap();
    let base = config(&simulator, "invites", "[discovery]\nenabled = true", &[]);
    let replicas: Vec<Exporter> = (0..3)
        .map(|index| {
            Exporter::start_with(
                &base,
                &[
                    "--sharding.total",
                    "3",
                    "--sharding.index",
                    &index.to_string(),
                ],
                &[],
            )
        })
        .collect();
    let mut owners: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (index, replica) in replicas.iter().enumerate() {
        replica.wait_ready().await;
        let m = replica
            .wait_for_metrics("every owned org polled", |m| {
                m.series("atlas_invites_pending").len() == m.series("atlas_invites_org_info").len()
            })
            .await;
        assert_eq!(
            m.get(
                "atlas_invites_shard_info",
                &[("index", &index.to_string()), ("total", "3")]
            ),
            Some(1.0)
        );
        for (labels, _) in m.series("atlas_invites_org_info") {
            let id = labels
                .iter()
                .find(|(k, _)| k == "org_id")
                .unwrap()
                .1
                .clone();
            let expected = (u128::from_str_radix(&id, 16).unwrap() % 3) as usize;
            assert_eq!(expected, index, "{id} is on the documented shard");
            owners.entry(id).or_default().push(index);
        }
    }
    assert_eq!(owners.len(), 30, "the union covers every org");
    assert!(
        owners.values().all(|o| o.len() == 1),
        "no org on two replicas: {owners:?}"
    );
    for id in &ids {
        assert!(
            simulator
                .requests()
                .iter()
                .any(|r| r.org_id.as_deref() == Some(id.as_str())),
            "{id} polled"
        );
    }
}

/// Invitation sets served by both APIs at fixed dates give the same numbers, so every metric means
/// the same whichever source an organisation is on.
fn arbitrary_invitation() -> impl Strategy<Value = SimInvitation> {
    let roles = prop::sample::subsequence(
        vec![
            "ORG_OWNER",
            "ORG_MEMBER",
            "ORG_READ_ONLY",
            "ORG_BILLING_ADMIN",
        ],
        0..3,
    );
    let projects = prop::collection::vec(
        (
            0..3u8,
            prop::sample::select(vec![
                "GROUP_OWNER",
                "GROUP_READ_ONLY",
                "GROUP_CLUSTER_MANAGER",
            ]),
        ),
        0..4,
    );
    (-40 * DAY..0i64, 1..31 * DAY, roles, projects, any::<u32>()).prop_map(
        |(created, lifetime, roles, projects, id)| {
            let now = 1_800_000_000;
            let mut invitation = SimInvitation::sent_ago(format!("{id:024x}"), "x@example.com", 0)
                .with_dates(
                    SimTime::At(jiff::Timestamp::from_second(now + created).unwrap()),
                    SimTime::At(jiff::Timestamp::from_second(now + created + lifetime).unwrap()),
                )
                .with_org_roles(roles);
            for (project, role) in projects {
                invitation =
                    invitation.with_project_role(format!("{:024x}", project as u128 + 1), role);
            }
            invitation
        },
    )
}

#[test]
fn both_sources_give_identical_numbers() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let simulator = runtime
        .block_on(Simulator::start(world(vec![SimOrg::new(
            ORG_A,
            "A",
            vec![],
        )])))
        .unwrap();
    let client = AtlasClient::new(ClientSettings {
        base_url: simulator.base_url(),
        timeout: Duration::from_secs(5),
        max_response_bytes: 1 << 24,
        user_agent: "atlas-invites-exporter/test".to_owned(),
        network: Default::default(),
    })
    .unwrap()
    // Several pages of org users for most cases.
    .with_items_per_page(7);
    let auth = Authenticator::service_account(SA_1.0.into(), SA_1.1.to_owned().into());
    let org = OrgId::parse(ORG_A).unwrap();
    let windows: Vec<ExpiryWindow> = ["24h", "72h", "168h"]
        .iter()
        .map(|w| ExpiryWindow {
            label: w.to_string(),
            duration: humantime::parse_duration(w).unwrap(),
        })
        .collect();
    let settings = AggregateSettings {
        expiry_windows: &windows,
        stale_age: Duration::from_secs(7 * DAY as u64),
        policy: std::sync::Arc::default(),
    };
    let now = jiff::Timestamp::from_second(1_800_000_000).unwrap();
    let config = ProptestConfig {
        cases: 48,
        ..ProptestConfig::default()
    };
    proptest!(config, |(invitations in prop::collection::vec(arbitrary_invitation(), 0..40))| {
        simulator.set_invitations(ORG_A, invitations);
        // Each API twice: decoded into invitations then computed (the reference), and counted while
        // decoding (the poller's way).
        let [from_invites, from_users, counted_from_invites, counted_from_users] = runtime.block_on(async {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
            let listed = Vec::<Invitation>::new();
            let counting = Aggregator::new(now, &settings);
            let calls = &mut Vec::new();
            [
                atlas_invites_exporter::poll::handover::count(&client.list_org_invites(org.as_str(), &auth, deadline, calls, listed.clone()).await.unwrap().items, now, &settings),
                atlas_invites_exporter::poll::handover::count(&client.list_org_users(org.as_str(), &auth, deadline, calls, listed).await.unwrap().items, now, &settings),
                client.list_org_invites(org.as_str(), &auth, deadline, calls, counting.clone()).await.unwrap().items.finish(),
                client.list_org_users(org.as_str(), &auth, deadline, calls, counting).await.unwrap().items.finish(),
            ]
        });
        prop_assert_eq!(&from_invites, &from_users);
        prop_assert_eq!(&from_invites, &counted_from_invites);
        prop_assert_eq!(&from_invites, &counted_from_users);
    });
}
