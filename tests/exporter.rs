use std::time::Duration;

use atlas_sim::{Behaviour, Fault, SimInvitation, SimOrg, SimTime, Simulator, World};

use crate::util::{Exporter, Exposition, client, write_temp};

const ORG_A: &str = "aaaaaaaaaaaaaaaaaaaaaaa1";
const ORG_B: &str = "bbbbbbbbbbbbbbbbbbbbbbb2";
const PROJECT_1: &str = "111111111111111111111111";
const PROJECT_2: &str = "222222222222222222222222";
const CLIENT_ID: &str = "mdb_sa_id_test";
const CLIENT_SECRET: &str = "mdb_sa_sk_TOP-SECRET-do-not-leak";
const PUBLIC_KEY: &str = "testpub";
const PRIVATE_KEY: &str = "PRIVATE-KEY-do-not-leak-0000";
const HOUR: i64 = 3600;
const DAY: i64 = 24 * HOUR;

/// A fixed invitation set with known answers (offsets are far from every window edge, which the
/// unit tests in `aggregate` cover to the second).
fn invitations() -> Vec<SimInvitation> {
    let at = |id: &str, created: i64, expires: i64| {
        SimInvitation::sent_ago(id, format!("{id}@example.com"), -created)
            .with_dates(SimTime::FromNow(created), SimTime::FromNow(expires))
    };
    vec![
        // Owner, expiring in 12 h: within 24h, 72h and 168h.
        at("i1", -29 * DAY - 12 * HOUR, 12 * HOUR).with_org_roles(["ORG_OWNER"]),
        // Member with two roles in project 1 and one in project 2; expires in 2 days.
        at("i2", -28 * DAY, 2 * DAY)
            .with_org_roles(["ORG_MEMBER"])
            .with_project_role(PROJECT_1, "GROUP_READ_ONLY")
            .with_project_role(PROJECT_1, "GROUP_OWNER")
            .with_project_role(PROJECT_2, "GROUP_READ_ONLY"),
        // Stale member (created 10 days ago), expires in 20 days.
        at("i3", -10 * DAY, 20 * DAY).with_org_roles(["ORG_MEMBER"]),
        // Fresh member in project 2, expires in 29 days.
        at("i4", -DAY, 29 * DAY)
            .with_org_roles(["ORG_MEMBER"])
            .with_project_role(PROJECT_2, "GROUP_READ_ONLY"),
        // Expired yesterday but still listed: counts only as expired.
        at("i5", -31 * DAY, -DAY)
            .with_org_roles(["ORG_OWNER"])
            .with_project_role(PROJECT_1, "GROUP_OWNER"),
    ]
}

fn world(orgs: Vec<SimOrg>) -> World {
    World {
        orgs,
        service_accounts: vec![(CLIENT_ID.into(), CLIENT_SECRET.into())],
        api_keys: vec![(PUBLIC_KEY.into(), PRIVATE_KEY.into())],
        ..World::default()
    }
}

/// A service-account configuration polling every second; `extra` holds whole TOML sections.
fn service_account_config(simulator: &Simulator, extra: &str, orgs: &[&str]) -> String {
    let atlas_timeout = if extra.contains("timeout") {
        ""
    } else {
        "timeout = \"2s\"\n"
    };
    let mut toml = format!(
        "[auth]\nclient_id = \"{CLIENT_ID}\"\nclient_secret = \"{CLIENT_SECRET}\"\n[atlas]\nbase_url = \"{}\"\nsource = \"invites\"\n{atlas_timeout}{extra}\n",
        simulator.base_url()
    );
    if !extra.contains("[poll]") {
        toml.push_str("[poll]\ninterval = \"1s\"\njitter = 0.0\n");
    }
    for org in orgs {
        toml.push_str(&format!("[[orgs]]\nid = \"{org}\"\n"));
    }
    toml
}

fn org(id: &str) -> [(&'static str, &str); 1] {
    [("org_id", id)]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_account_metrics_have_exact_values() {
    let simulator = Simulator::start(world(vec![SimOrg::new(
        ORG_A,
        "Acme \"Prod\" Zürich",
        invitations(),
    )]))
    .await
    .unwrap();
    let exporter = Exporter::start(&service_account_config(&simulator, "", &[ORG_A]));
    exporter.wait_ready().await;
    let m = exporter
        .wait_for_metrics("a successful poll", |m| {
            m.get("atlas_invites_pending", &org(ORG_A)).is_some()
        })
        .await;
    let now = jiff::Timestamp::now().as_second() as f64;

    assert_eq!(
        m.get(
            "atlas_invites_org_info",
            &[("org_id", ORG_A), ("org_name", "Acme \"Prod\" Zürich")]
        ),
        Some(1.0)
    );
    assert_eq!(m.get("atlas_invites_pending", &org(ORG_A)), Some(4.0));
    assert_eq!(m.get("atlas_invites_expired", &org(ORG_A)), Some(1.0));
    assert_eq!(
        m.get("atlas_invites_stale", &org(ORG_A)),
        Some(3.0),
        "i1, i2 and i3 are over 7 days old"
    );
    assert_eq!(m.get("atlas_invites_poll_success", &org(ORG_A)), Some(1.0));

    let role = |r: &'static str| [("org_id", ORG_A), ("role", r)];
    assert_eq!(
        m.get("atlas_invites_role_pending", &role("ORG_OWNER")),
        Some(1.0)
    );
    assert_eq!(
        m.get("atlas_invites_role_pending", &role("ORG_MEMBER")),
        Some(3.0)
    );
    assert_eq!(
        m.get("atlas_invites_role_pending", &role("GROUP_READ_ONLY")),
        Some(2.0)
    );
    assert_eq!(
        m.get("atlas_invites_role_pending", &role("GROUP_OWNER")),
        Some(1.0)
    );
    assert_eq!(
        m.get("atlas_invites_role_pending", &role("ORG_BILLING_ADMIN")),
        Some(0.0),
        "org roles always present"
    );
    assert_eq!(
        m.series("atlas_invites_role_pending").len(),
        9,
        "7 org roles + 2 project roles"
    );

    let expiring = |r: &str, w: &str| {
        m.get(
            "atlas_invites_role_expiring",
            &[("org_id", ORG_A), ("role", r), ("within", w)],
        )
    };
    assert_eq!(expiring("ORG_OWNER", "24h"), Some(1.0));
    assert_eq!(expiring("ORG_MEMBER", "24h"), Some(0.0));
    assert_eq!(expiring("ORG_MEMBER", "72h"), Some(1.0));
    assert_eq!(expiring("ORG_MEMBER", "168h"), Some(1.0));
    assert_eq!(expiring("GROUP_READ_ONLY", "72h"), Some(1.0));
    assert_eq!(expiring("ORG_READ_ONLY", "168h"), Some(0.0));

    let owner_next = m
        .get(
            "atlas_invites_role_next_expiry_timestamp_seconds",
            &role("ORG_OWNER"),
        )
        .unwrap();
    assert!(
        (owner_next - (now + 12.0 * HOUR as f64)).abs() <= 5.0,
        "{owner_next} vs {now}"
    );
    let owner_ttl = m
        .get(
            "atlas_invites_role_time_to_expiry_seconds",
            &role("ORG_OWNER"),
        )
        .unwrap();
    assert!((owner_ttl - 12.0 * HOUR as f64).abs() <= 5.0, "{owner_ttl}");
    let member_oldest = m
        .get(
            "atlas_invites_role_oldest_created_timestamp_seconds",
            &role("ORG_MEMBER"),
        )
        .unwrap();
    assert!((member_oldest - (now - 28.0 * DAY as f64)).abs() <= 5.0);
    assert_eq!(
        m.get(
            "atlas_invites_role_next_expiry_timestamp_seconds",
            &role("ORG_READ_ONLY")
        ),
        None,
        "absent when none"
    );

    assert_eq!(
        m.get(
            "atlas_invites_project_pending",
            &[("org_id", ORG_A), ("project_id", PROJECT_1)]
        ),
        Some(1.0)
    );
    assert_eq!(
        m.get(
            "atlas_invites_project_pending",
            &[("org_id", ORG_A), ("project_id", PROJECT_2)]
        ),
        Some(2.0)
    );

    let last_success = m
        .get("atlas_invites_last_success_timestamp_seconds", &org(ORG_A))
        .unwrap();
    assert!((now - last_success).abs() < 30.0);
    assert!(
        m.get("atlas_invites_poll_duration_seconds", &org(ORG_A))
            .unwrap()
            >= 0.0
    );
    assert!(
        m.get(
            "atlas_invites_api_requests_total",
            &[
                ("org_id", ORG_A),
                ("endpoint", "list_org_invites"),
                ("code", "200")
            ]
        )
        .unwrap()
            >= 1.0
    );
    assert_eq!(
        m.get(
            "atlas_invites_api_requests_total",
            &[
                ("org_id", ORG_A),
                ("endpoint", "oauth_token"),
                ("code", "200")
            ]
        ),
        Some(1.0)
    );
    assert_eq!(
        m.get("atlas_invites_oauth_tokens_total", &[("result", "success")]),
        Some(1.0)
    );
    assert!(m.has("atlas_invites_build_info"));
    assert!(m.has("atlas_invites_api_request_duration_seconds_bucket"));
    assert!(m.has("process_resident_memory_bytes"));

    // No e-mail address, invitation id or free text in any label.
    assert!(!m.text.contains("@example.com"));

    // The exporter only reads: GETs, plus the token POST.
    for request in simulator.requests() {
        assert!(
            request.method == "GET"
                || (request.method == "POST" && request.path == "/api/oauth/token"),
            "{request:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_token_serves_many_polls_and_an_expired_token_is_refreshed_once() {
    let simulator = Simulator::start(world(vec![
        SimOrg::new(ORG_A, "A", invitations()),
        SimOrg::new(ORG_B, "B", invitations()),
    ]))
    .await
    .unwrap();
    let exporter = Exporter::start(&service_account_config(&simulator, "", &[ORG_A, ORG_B]));
    let polls_of = |m: &Exposition, o: &str| {
        m.get(
            "atlas_invites_api_requests_total",
            &[
                ("org_id", o),
                ("endpoint", "list_org_invites"),
                ("code", "200"),
            ],
        )
        .unwrap_or(0.0)
    };
    exporter
        .wait_for_metrics("three polls of each org", |m| {
            polls_of(m, ORG_A) >= 3.0 && polls_of(m, ORG_B) >= 3.0
        })
        .await;
    let token_posts = || {
        simulator
            .requests()
            .iter()
            .filter(|r| r.path == "/api/oauth/token")
            .count()
    };
    assert_eq!(token_posts(), 1, "one token for every poll of both orgs");

    simulator.expire_tokens();
    let m = exporter
        .wait_for_metrics("a refreshed token", |m| {
            m.get("atlas_invites_oauth_tokens_total", &[("result", "success")]) == Some(2.0)
        })
        .await;
    // Let a few more polls happen on the new token.
    let before = polls_of(&m, ORG_A);
    let m = exporter
        .wait_for_metrics("more polls", |m| polls_of(m, ORG_A) >= before + 2.0)
        .await;
    assert_eq!(token_posts(), 2, "exactly one refresh after the expiry");
    // The 401, the refresh and the retry are one call, like a Digest challenge: nothing failed.
    assert_eq!(m.sum("atlas_invites_api_errors_total", &[]), 0.0);
    let unauthorized = simulator
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/invites") && r.status == 401)
        .count();
    assert!(
        (1..=2).contains(&unauthorized),
        "each org's next call met the expired token at most once: {unauthorized}"
    );
    assert_eq!(m.get("atlas_invites_poll_success", &org(ORG_A)), Some(1.0));
    assert_eq!(m.get("atlas_invites_poll_success", &org(ORG_B)), Some(1.0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_are_refreshed_before_they_expire() {
    let simulator = Simulator::start(World {
        token_lifetime: Duration::from_secs(3),
        ..world(vec![SimOrg::new(ORG_A, "A", invitations())])
    })
    .await
    .unwrap();
    let exporter = Exporter::start(&service_account_config(&simulator, "", &[ORG_A]));
    let m = exporter
        .wait_for_metrics("three token fetches", |m| {
            m.get("atlas_invites_oauth_tokens_total", &[("result", "success")]) >= Some(3.0)
        })
        .await;
    assert_eq!(
        m.sum("atlas_invites_api_errors_total", &[]),
        0.0,
        "no call met an expired token"
    );
    assert_eq!(m.get("atlas_invites_poll_success", &org(ORG_A)), Some(1.0));
    let unauthorized = simulator
        .requests()
        .iter()
        .filter(|r| r.status == 401)
        .count();
    assert_eq!(
        unauthorized, 0,
        "tokens were replaced before expiry, not after a 401"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_key_digest_reuses_the_challenge_and_survives_a_stale_nonce() {
    let simulator = Simulator::start(world(vec![SimOrg::new(ORG_A, "A", invitations())]))
        .await
        .unwrap();
    let toml = format!(
        "[atlas]\nbase_url = \"{}\"\n[auth]\npublic_key = \"{PUBLIC_KEY}\"\nprivate_key = \"{PRIVATE_KEY}\"\n[poll]\ninterval = \"1s\"\njitter = 0.0\n[[orgs]]\nid = \"{ORG_A}\"\n",
        simulator.base_url()
    );
    let exporter = Exporter::start(&toml);
    let polls = |m: &Exposition| {
        m.get(
            "atlas_invites_api_requests_total",
            &[
                ("org_id", ORG_A),
                ("endpoint", "list_org_invites"),
                ("code", "200"),
            ],
        )
        .unwrap_or(0.0)
    };
    let m = exporter
        .wait_for_metrics("three polls", |m| polls(m) >= 3.0)
        .await;
    assert_eq!(m.get("atlas_invites_pending", &org(ORG_A)), Some(4.0));
    // Every call of the session, the projects', teams' and seats' readings included: one Digest
    // session for them all.
    let statuses = || {
        simulator
            .requests()
            .into_iter()
            .map(|r| r.status)
            .collect::<Vec<_>>()
    };
    let first = statuses();
    assert_eq!(
        first.iter().filter(|s| **s == 401).count(),
        1,
        "only the first call is challenged: {first:?}"
    );

    simulator.expire_nonces();
    let before = polls(&m);
    let m = exporter
        .wait_for_metrics("two more polls", |m| polls(m) >= before + 2.0)
        .await;
    let after = statuses();
    assert_eq!(
        after.iter().filter(|s| **s == 401).count(),
        2,
        "one re-challenge after the stale nonce: {after:?}"
    );
    assert_eq!(
        m.sum("atlas_invites_api_errors_total", &[]),
        0.0,
        "a challenge answered inside a call is no error"
    );
    assert_eq!(m.get("atlas_invites_poll_success", &org(ORG_A)), Some(1.0));
}

/// Pushes each fault sequence, waits for its error code to be counted and for the next success, and
/// checks the code was counted exactly once.
async fn assert_faults_counted(faults: Vec<(Vec<Fault>, &str)>, extra_config: &str) {
    let simulator = Simulator::start(world(vec![SimOrg::new(ORG_A, "A", invitations())]))
        .await
        .unwrap();
    let exporter = Exporter::start(&service_account_config(&simulator, extra_config, &[ORG_A]));
    let successes = |m: &Exposition| {
        m.get(
            "atlas_invites_api_requests_total",
            &[
                ("org_id", ORG_A),
                ("endpoint", "list_org_invites"),
                ("code", "200"),
            ],
        )
        .unwrap_or(0.0)
    };
    let mut m = exporter
        .wait_for_metrics("a first success", |m| successes(m) >= 1.0)
        .await;
    let mut last_successes = successes(&m);
    for (fault, code) in faults {
        let counted = |m: &Exposition| {
            m.get(
                "atlas_invites_api_errors_total",
                &[
                    ("org_id", ORG_A),
                    ("endpoint", "list_org_invites"),
                    ("error_code", code),
                ],
            )
        };
        let before = counted(&m).unwrap_or(0.0);
        simulator.push_faults(ORG_A, fault.clone());
        m = exporter
            .wait_for_metrics(&format!("{code} counted, then a success"), |m| {
                counted(m).unwrap_or(0.0) > before && successes(m) > last_successes
            })
            .await;
        assert_eq!(
            counted(&m),
            Some(before + 1.0),
            "{fault:?} counted once as {code}"
        );
        assert_eq!(
            m.get("atlas_invites_pending", &org(ORG_A)),
            Some(4.0),
            "last good data kept through {fault:?}"
        );
        last_successes = successes(&m);
    }
    assert!(!exporter.logs().contains(CLIENT_SECRET));
}

fn status(status: u16, code: Option<&str>, retry_after: Option<&str>) -> Fault {
    Fault::Status {
        status,
        error_code: code.map(str::to_owned),
        retry_after: retry_after.map(str::to_owned),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_errors_are_counted_by_atlas_error_code() {
    assert_faults_counted(
        vec![
            // A bearer 401 is retried once with a fresh token: only a second 401 fails the call.
            (
                vec![status(401, Some("USER_UNAUTHORIZED"), None); 2],
                "USER_UNAUTHORIZED",
            ),
            (
                vec![status(403, Some("IP_ADDRESS_NOT_ON_ACCESS_LIST"), None)],
                "IP_ADDRESS_NOT_ON_ACCESS_LIST",
            ),
            (
                vec![status(404, Some("RESOURCE_NOT_FOUND"), None)],
                "RESOURCE_NOT_FOUND",
            ),
            (vec![status(404, None, None)], "HTTP_404"),
        ],
        "",
    )
    .await;
}

// Rate limits, server errors, spoiled bodies, oversized bodies and timeouts: see `faults.rs`, which
// also checks the other organisation, the log line and the number of attempts.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_org_keeps_its_last_data_while_others_keep_polling() {
    let simulator = Simulator::start(world(vec![
        SimOrg::new(ORG_A, "A", invitations()),
        SimOrg::new(ORG_B, "B", invitations()[..2].to_vec()),
    ]))
    .await
    .unwrap();
    let exporter = Exporter::start(&service_account_config(&simulator, "", &[ORG_A, ORG_B]));
    exporter
        .wait_for_metrics("both orgs polled", |m| {
            m.has("atlas_invites_pending") && m.series("atlas_invites_pending").len() == 2
        })
        .await;
    simulator.set_behaviour(ORG_B, Behaviour::Forbidden);
    let m = exporter
        .wait_for_metrics("org B failing", |m| {
            m.get("atlas_invites_poll_success", &org(ORG_B)) == Some(0.0)
        })
        .await;
    assert_eq!(
        m.get("atlas_invites_pending", &org(ORG_B)),
        Some(2.0),
        "last good data kept"
    );
    assert_eq!(m.get("atlas_invites_poll_success", &org(ORG_A)), Some(1.0));
    let a_before = m
        .get("atlas_invites_last_success_timestamp_seconds", &org(ORG_A))
        .unwrap();
    let m = exporter
        .wait_for_metrics("org A polled again", |m| {
            m.get("atlas_invites_last_success_timestamp_seconds", &org(ORG_A))
                .unwrap()
                > a_before
        })
        .await;
    assert!(m.sum("atlas_invites_api_errors_total", &[("org_id", ORG_B)]) >= 1.0);
    assert_eq!(
        m.sum("atlas_invites_api_errors_total", &[("org_id", ORG_A)]),
        0.0
    );
    let landing = exporter.get("/").await.text().await.unwrap();
    assert!(
        landing.contains("USER_UNAUTHORIZED") || landing.contains("HTTP_403"),
        "{landing}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn series_of_roles_and_projects_without_pending_invitations_disappear() {
    let simulator = Simulator::start(world(vec![SimOrg::new(ORG_A, "A", invitations())]))
        .await
        .unwrap();
    let exporter = Exporter::start(&service_account_config(&simulator, "", &[ORG_A]));
    exporter
        .wait_for_metrics("project series", |m| {
            m.get(
                "atlas_invites_project_pending",
                &[("org_id", ORG_A), ("project_id", PROJECT_1)],
            )
            .is_some()
        })
        .await;
    // Keep only the plain member invitations.
    simulator.set_invitations(
        ORG_A,
        invitations()
            .into_iter()
            .filter(|i| i.project_roles.is_empty())
            .collect(),
    );
    let m = exporter
        .wait_for_metrics("project series gone", |m| {
            !m.has("atlas_invites_project_pending")
        })
        .await;
    assert_eq!(
        m.get(
            "atlas_invites_role_pending",
            &[("org_id", ORG_A), ("role", "GROUP_OWNER")]
        ),
        None
    );
    assert_eq!(
        m.get(
            "atlas_invites_role_expiring",
            &[
                ("org_id", ORG_A),
                ("role", "GROUP_OWNER"),
                ("within", "24h")
            ]
        ),
        None
    );
    assert_eq!(
        m.get(
            "atlas_invites_role_pending",
            &[("org_id", ORG_A), ("role", "ORG_OWNER")]
        ),
        Some(1.0)
    );
    assert_eq!(m.get("atlas_invites_pending", &org(ORG_A)), Some(2.0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_older_than_keep_stale_for_is_dropped_but_health_series_stay() {
    let simulator = Simulator::start(world(vec![SimOrg::new(ORG_A, "A", invitations())]))
        .await
        .unwrap();
    let exporter = Exporter::start(&service_account_config(
        &simulator,
        "[poll]\ninterval = \"1s\"\njitter = 0.0\nkeep_stale_for = \"2s\"",
        &[ORG_A],
    ));
    exporter
        .wait_for_metrics("data", |m| {
            m.get("atlas_invites_pending", &org(ORG_A)).is_some()
        })
        .await;
    simulator.set_behaviour(ORG_A, Behaviour::Forbidden);
    let m = exporter
        .wait_for_metrics("data dropped", |m| !m.has("atlas_invites_pending"))
        .await;
    for gone in [
        "atlas_invites_role_pending",
        "atlas_invites_role_time_to_expiry_seconds",
        "atlas_invites_poll_duration_seconds",
    ] {
        assert!(!m.has(gone), "{gone} kept");
    }
    assert_eq!(m.get("atlas_invites_poll_success", &org(ORG_A)), Some(0.0));
    assert!(
        m.get("atlas_invites_last_success_timestamp_seconds", &org(ORG_A))
            .unwrap()
            > 0.0
    );
    assert_eq!(
        m.get(
            "atlas_invites_org_info",
            &[("org_id", ORG_A), ("org_name", "A")]
        ),
        Some(1.0)
    );
    assert!(m.sum("atlas_invites_api_requests_total", &[("org_id", ORG_A)]) >= 2.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_only_after_every_org_was_attempted_and_shutdown_is_graceful() {
    let simulator = Simulator::start(world(vec![
        SimOrg::new(ORG_A, "A", invitations()),
        SimOrg::new(ORG_B, "B", invitations()),
    ]))
    .await
    .unwrap();
    simulator.push_faults(ORG_B, [Fault::Delay(Duration::from_secs(3))]);
    let mut exporter = Exporter::start(&service_account_config(
        &simulator,
        "timeout = \"10s\"",
        &[ORG_A, ORG_B],
    ));
    let ready = exporter.get("/-/ready").await;
    // B's first answer is delayed by 3 s, so its first poll cannot have completed yet.
    assert_eq!(ready.status(), 503, "org B's first poll is still in flight");
    assert_eq!(exporter.get("/-/healthy").await.status(), 200);
    exporter.wait_ready().await;

    // Shut down while a poll hangs: exit 0 within a few seconds anyway.
    simulator.push_faults(ORG_A, [Fault::Hang]);
    exporter
        .wait_for_metrics("hanging poll started", |_| {
            simulator
                .requests()
                .iter()
                .filter(|r| r.org_id.as_deref() == Some(ORG_A))
                .count()
                >= 2
        })
        .await;
    let status = exporter.terminate(Duration::from_secs(5));
    assert!(status.success(), "{status:?}\n{}", exporter.logs());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_surface_methods_paths_head_and_gzip() {
    let simulator = Simulator::start(world(vec![SimOrg::new(
        ORG_A,
        "<b>Bold</b> & Co",
        invitations(),
    )]))
    .await
    .unwrap();
    let exporter = Exporter::start(&service_account_config(&simulator, "", &[ORG_A]));
    exporter.wait_ready().await;
    let http = client();
    let raw_http = reqwest::Client::builder().no_gzip().build().unwrap();

    let response = exporter.get("/metrics").await;
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let head = http.head(exporter.url("/metrics")).send().await.unwrap();
    assert_eq!(head.status(), 200);
    assert!(head.text().await.unwrap().is_empty());
    assert_eq!(
        http.post(exporter.url("/metrics"))
            .send()
            .await
            .unwrap()
            .status(),
        405
    );
    assert_eq!(exporter.get("/nope").await.status(), 404);

    // Ask for gzip by hand and decode it as a single gzip member, as strict clients do.
    let gz = raw_http
        .get(exporter.url("/metrics"))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(gz.headers()["content-encoding"], "gzip");
    let bytes = gz.bytes().await.unwrap();
    let mut decoded = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut decoded)
        .unwrap();
    let m = Exposition::parse(&decoded);
    assert_eq!(m.get("atlas_invites_pending", &org(ORG_A)), Some(4.0));
    assert!(
        m.has("atlas_invites_role_time_to_expiry_seconds"),
        "scrape-time part present"
    );
    assert!(m.has("process_cpu_seconds_total"));

    let landing = exporter.get("/").await;
    assert_eq!(
        landing.headers()["content-type"],
        "text/html; charset=utf-8"
    );
    let landing = landing.text().await.unwrap();
    assert!(
        landing.contains("&lt;b&gt;Bold&lt;/b&gt; &amp; Co"),
        "{landing}"
    );
    assert!(landing.contains("href=\"metrics\""));
    assert!(!landing.contains("@example.com"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_appears_in_logs_metrics_or_pages() {
    let simulator = Simulator::start(world(vec![SimOrg::new(ORG_A, "A", invitations())]))
        .await
        .unwrap();
    simulator.push_token_faults([Fault::OAuthError {
        status: 401,
        error: "invalid_client".into(),
    }]);
    let exporter = Exporter::start(&service_account_config(&simulator, "", &[ORG_A]));
    let m = exporter
        .wait_for_metrics("token failure then success", |m| {
            m.get(
                "atlas_invites_api_errors_total",
                &[
                    ("org_id", ORG_A),
                    ("endpoint", "oauth_token"),
                    ("error_code", "INVALID_CLIENT"),
                ],
            ) == Some(1.0)
                && m.get("atlas_invites_poll_success", &org(ORG_A)) == Some(1.0)
        })
        .await;
    assert_eq!(
        m.get("atlas_invites_oauth_tokens_total", &[("result", "failure")]),
        Some(1.0),
        "{}",
        m.text
    );
    simulator.expire_tokens();
    exporter
        .wait_for_metrics("a refreshed token", |m| {
            m.get("atlas_invites_oauth_tokens_total", &[("result", "success")]) == Some(2.0)
        })
        .await;
    let landing = exporter.get("/").await.text().await.unwrap();
    let metrics = exporter.metrics().await;
    let logs = exporter.logs();
    assert!(
        logs.contains("DEBUG") || logs.contains("debug"),
        "debug logging is on"
    );
    let tokens = simulator.issued_tokens();
    assert!(!tokens.is_empty());
    for output in [&landing, &metrics, &logs] {
        assert!(!output.contains(CLIENT_SECRET));
        assert!(!output.to_lowercase().contains("authorization"), "{output}");
        assert!(!output.contains("Bearer "));
        for token in &tokens {
            assert!(!output.contains(token.as_str()));
        }
    }
}

/// Atlas' `detail` is shown on the status page and logged, and Atlas may quote in it what the request
/// sent: a secret quoted back must still appear nowhere.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_atlas_quotes_back_appears_nowhere() {
    let simulator = Simulator::start(world(vec![SimOrg::new(ORG_A, "A", invitations())]))
        .await
        .unwrap();
    simulator.push_faults(
        ORG_A,
        [Fault::Detail {
            status: 400,
            error_code: "INVALID_PARAMETER".into(),
            detail: format!("The client secret {CLIENT_SECRET} may not be used here."),
        }],
    );
    // One poll an hour: the failure stays the org's last poll while the test reads it.
    let exporter = Exporter::start(&service_account_config(
        &simulator,
        "[poll]\ninterval = \"1h\"\njitter = 0.0\nkeep_stale_for = \"2h\"\n",
        &[ORG_A],
    ));
    let m = exporter
        .wait_for_metrics("the failed poll", |m| {
            m.get(
                "atlas_invites_api_errors_total",
                &[
                    ("org_id", ORG_A),
                    ("endpoint", "list_org_invites"),
                    ("error_code", "INVALID_PARAMETER"),
                ],
            ) == Some(1.0)
        })
        .await;
    let landing = exporter.get("/").await.text().await.unwrap();
    let logs = exporter.logs();
    assert!(
        landing.contains("The client secret [REDACTED] may not be used here."),
        "the detail is shown, its secret blanked: {landing}"
    );
    assert!(logs.contains("INVALID_PARAMETER"), "{logs}");
    for output in [&landing, &m.text, &logs] {
        assert!(!output.contains(CLIENT_SECRET), "{output}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_prints_a_row_per_org_and_fails_if_any_fails() {
    let simulator = Simulator::start(world(vec![
        SimOrg::new(ORG_A, "A", invitations()),
        SimOrg {
            behaviour: Behaviour::Forbidden,
            ..SimOrg::new(ORG_B, "B", vec![])
        },
    ]))
    .await
    .unwrap();
    let (_dir, path) = write_temp(
        "atlas.toml",
        &service_account_config(&simulator, "", &[ORG_A, ORG_B]),
    );
    let path = path.to_str().unwrap().to_owned();
    let output = tokio::task::spawn_blocking(move || {
        crate::util::run_binary(&["check", "--config.file", &path], &[])
    })
    .await
    .unwrap();
    let (status, stdout, stderr) = output;
    assert_eq!(status.code(), Some(1), "{stdout}{stderr}");
    let row_a = stdout
        .lines()
        .find(|l| l.starts_with(ORG_A))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(
        row_a.contains("ok") && row_a.contains("4 pending"),
        "{row_a}"
    );
    let row_b = stdout
        .lines()
        .find(|l| l.starts_with(ORG_B))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(
        row_b.contains("error") && row_b.contains("403") || row_b.contains("UNAUTHORIZED"),
        "{row_b}"
    );
    assert!(!stdout.contains(CLIENT_SECRET) && !stderr.contains(CLIENT_SECRET));
}

/// The first `/-/ready` 200 means every organisation has been asked once: an exporter must never look
/// ready for an instant before it knows its organisations.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_ready_answer_comes_after_every_org_was_attempted() {
    let simulator = Simulator::start(world(vec![
        SimOrg::new(ORG_A, "A", invitations()),
        SimOrg::new(ORG_B, "B", invitations()),
    ]))
    .await
    .unwrap();
    let exporter = Exporter::start(&service_account_config(&simulator, "", &[ORG_A, ORG_B]));
    let http = client();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        if http
            .get(exporter.url("/-/ready"))
            .send()
            .await
            .unwrap()
            .status()
            == 200
        {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "never ready");
    }
    let m = Exposition::parse(&exporter.metrics().await);
    for org_id in [ORG_A, ORG_B] {
        assert!(
            m.sum(
                "atlas_invites_api_requests_total",
                &[("org_id", org_id), ("endpoint", "list_org_invites")]
            ) >= 1.0,
            "{org_id} was not polled when /-/ready said 200:\n{}",
            m.text
        );
    }
}

/// Threads the kernel lists for `pid` under tokio's default thread name.
fn tokio_threads(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .filter(|name| name.trim_end() == "tokio-rt-worker")
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worker_threads_flag_sizes_the_runtime_that_polls_and_serves() {
    let simulator = Simulator::start(world(vec![SimOrg::new(ORG_A, "Acme", invitations())]))
        .await
        .unwrap();
    // More workers than this machine's two cores, and than the blocking threads a poll and a
    // publication start, so a flag that was ignored (tokio's default: one per core) shows.
    let exporter = Exporter::start_with(
        &service_account_config(&simulator, "", &[ORG_A]),
        &["--runtime.worker-threads", "8"],
        &[],
    );
    exporter.wait_ready().await;
    exporter
        .wait_for_metrics("a successful poll", |m| {
            m.get("atlas_invites_pending", &org(ORG_A)).is_some()
        })
        .await;
    let threads = tokio_threads(exporter.pid());
    assert!(
        threads >= 8,
        "{threads} tokio threads with 8 workers asked for"
    );
}
