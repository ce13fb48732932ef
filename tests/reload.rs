//! Live reload: SIGHUP and `POST /-/reload` (behind `--web.enable-lifecycle`), what a reload keeps
//! (tokens, schedules, data) and what it changes, counted at the simulator.

use atlas_sim::{RecordedRequest, SimInvitation, SimOrg, Simulator, World};

use crate::util::{Exporter, Exposition, client};

const ORG_A: &str = "aaaaaaaaaaaaaaaaaaaaaaa1";
const ORG_B: &str = "bbbbbbbbbbbbbbbbbbbbbbb2";
const CLIENT_ID: &str = "mdb_sa_id_reload";
const SECRET: &str = "reload-secret-do-not-leak";
const ORG_C: &str = "ccccccccccccccccccccccc3";
const CLIENT_B: &str = "mdb_sa_id_reload_b";
const TOKEN_PATH: &str = "/api/oauth/token";
const LIST_ORGS_PATH: &str = "/api/atlas/v2/orgs";
const ROTATED: &str = "reload-secret-rotated";

async fn simulator() -> Simulator {
    let invitation = |id: &str| SimInvitation::sent_ago(id, format!("{id}@example.com"), 3600);
    Simulator::start(World {
        orgs: vec![
            SimOrg::new(ORG_A, "A", vec![invitation("a1")]),
            SimOrg::new(ORG_B, "B", vec![invitation("b1"), invitation("b2")]),
            SimOrg::new(ORG_C, "C", vec![invitation("c1")]),
        ],
        // B's service account knows two secrets, as Atlas does while a secret is being rotated.
        service_accounts: vec![
            (CLIENT_ID.into(), SECRET.into()),
            (CLIENT_ID.into(), ROTATED.into()),
            (CLIENT_B.into(), "b-old".into()),
            (CLIENT_B.into(), "b-new".into()),
        ],
        ..World::default()
    })
    .await
    .unwrap()
}

/// A configuration reading the secret from `secret_file`, polling `orgs`.
/// The exporter on this configuration file, with `POST /-/reload` enabled.
fn with_lifecycle(config_path: &std::path::Path) -> Exporter {
    Exporter::spawn(
        &[
            "--config.file",
            config_path.to_str().unwrap(),
            "--web.enable-lifecycle",
        ],
        &[],
        tempfile::tempdir().unwrap(),
    )
}

fn config(simulator: &Simulator, secret_file: &std::path::Path, orgs: &[&str]) -> String {
    let mut toml = format!(
        "[atlas]\nbase_url = \"{}\"\nsource = \"invites\"\n[auth]\nclient_id = \"{CLIENT_ID}\"\nclient_secret_file = \"{}\"\n[poll]\ninterval = \"1s\"\njitter = 0.0\n",
        simulator.base_url(),
        secret_file.display()
    );
    for org in orgs {
        toml.push_str(&format!("[[orgs]]\nid = \"{org}\"\n"));
    }
    toml
}

struct Files {
    dir: tempfile::TempDir,
}

impl Files {
    fn new() -> Files {
        Files {
            dir: tempfile::tempdir().unwrap(),
        }
    }
    fn write(&self, name: &str, contents: &str) -> std::path::PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, contents).unwrap();
        path
    }
}

fn reload_succeeded(m: &Exposition) -> Option<f64> {
    m.get("atlas_invites_config_last_reload_successful", &[])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_starts_added_orgs_and_drops_removed_ones() {
    let simulator = simulator().await;
    let files = Files::new();
    let secret = files.write("secret", SECRET);
    let config_path = files.write("atlas.toml", &config(&simulator, &secret, &[ORG_A]));
    let exporter = Exporter::spawn(
        &["--config.file", config_path.to_str().unwrap()],
        &[],
        tempfile::tempdir().unwrap(),
    );
    let m = exporter
        .wait_for_metrics("org A polled", |m| {
            m.get("atlas_invites_pending", &[("org_id", ORG_A)]) == Some(1.0)
        })
        .await;
    let loaded_at = m
        .get(
            "atlas_invites_config_last_reload_success_timestamp_seconds",
            &[],
        )
        .unwrap();

    files.write("atlas.toml", &config(&simulator, &secret, &[ORG_B]));
    exporter.sighup();
    let m = exporter
        .wait_for_metrics("org B polled and org A gone", |m| {
            m.get("atlas_invites_pending", &[("org_id", ORG_B)]) == Some(2.0)
                && !m.text.contains(ORG_A)
        })
        .await;
    assert_eq!(reload_succeeded(&m), Some(1.0));
    assert!(
        m.get(
            "atlas_invites_config_last_reload_success_timestamp_seconds",
            &[]
        )
        .unwrap()
            >= loaded_at
    );
    assert!(exporter.logs().contains("configuration reloaded"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_reload_is_rejected_and_the_old_configuration_keeps_running() {
    let simulator = simulator().await;
    let files = Files::new();
    let secret = files.write("secret", SECRET);
    let config_path = files.write("atlas.toml", &config(&simulator, &secret, &[ORG_A]));
    let exporter = with_lifecycle(&config_path);
    exporter
        .wait_for_metrics("org A polled", |m| {
            m.get("atlas_invites_pending", &[("org_id", ORG_A)])
                .is_some()
        })
        .await;

    let get = exporter.get("/-/reload").await;
    assert_eq!(get.status(), 405);
    assert!(
        get.text().await.unwrap().contains("POST"),
        "GET explains how to reload"
    );

    files.write(
        "atlas.toml",
        &config(&simulator, &secret, &[ORG_A]).replace("interval = \"1s\"", "interval = \"often\""),
    );
    let response = client()
        .post(exporter.url("/-/reload"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 500);
    let body = response.text().await.unwrap();
    assert!(body.contains("poll.interval"), "{body}");

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
    let before = polls(
        &exporter
            .wait_for_metrics("reload failure exported", |m| {
                reload_succeeded(m) == Some(0.0)
            })
            .await,
    );
    let m = exporter
        .wait_for_metrics("org A still polled", |m| polls(m) > before)
        .await;
    assert_eq!(
        m.get("atlas_invites_poll_success", &[("org_id", ORG_A)]),
        Some(1.0)
    );
    assert!(!exporter.logs().contains(SECRET));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_secret_file_takes_effect_on_reload() {
    let simulator = simulator().await;
    let files = Files::new();
    let secret = files.write("secret", "an-old-revoked-secret");
    let config_path = files.write("atlas.toml", &config(&simulator, &secret, &[ORG_A]));
    let exporter = with_lifecycle(&config_path);
    exporter
        .wait_for_metrics("the token refused", |m| {
            m.get(
                "atlas_invites_api_errors_total",
                &[
                    ("org_id", ORG_A),
                    ("endpoint", "oauth_token"),
                    ("error_code", "INVALID_CLIENT"),
                ],
            )
            .is_some()
        })
        .await;
    files.write("secret", SECRET);
    let response = client()
        .post(exporter.url("/-/reload"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let m = exporter
        .wait_for_metrics("a successful poll", |m| {
            m.get("atlas_invites_poll_success", &[("org_id", ORG_A)]) == Some(1.0)
        })
        .await;
    assert_eq!(
        m.get("atlas_invites_pending", &[("org_id", ORG_A)]),
        Some(1.0)
    );
    assert!(
        !exporter.logs().contains(SECRET) && !exporter.logs().contains("an-old-revoked-secret")
    );
}

/// The simulator's requests since `from` (an index into its log).
fn since(simulator: &Simulator, from: usize) -> Vec<RecordedRequest> {
    simulator.requests().split_off(from)
}

/// The org's polls: its invitation listings. The slow readings (the service account, projects,
/// teams, active members) are once per slow interval, not per poll (tests/credential.rs,
/// tests/coverage.rs).
fn calls_for(requests: &[RecordedRequest], org: &str) -> usize {
    let listing = |r: &RecordedRequest| {
        r.path == format!("/api/atlas/v2/orgs/{org}/invites")
            || (r.path == format!("/api/atlas/v2/orgs/{org}/users")
                && !r.query.as_deref().unwrap_or("").contains("ACTIVE"))
    };
    requests.iter().filter(|r| listing(r)).count()
}

fn token_requests(requests: &[RecordedRequest]) -> Vec<&RecordedRequest> {
    requests.iter().filter(|r| r.path == TOKEN_PATH).collect()
}

/// Polls the simulator's log until `condition` holds for it.
async fn wait_for_requests(
    simulator: &Simulator,
    exporter: &Exporter,
    what: &str,
    condition: impl Fn(&[RecordedRequest]) -> bool,
) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !condition(&simulator.requests()) {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}; logs:\n{}",
            exporter.logs()
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// A 10-minute interval: no scheduled poll falls within a test, so every call after the first polls
/// is one a reload caused.
fn quiet(toml: String) -> String {
    toml.replace("interval = \"1s\"", "interval = \"10m\"")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn post_reload_needs_the_lifecycle_flag_and_sighup_does_not() {
    let simulator = simulator().await;
    let files = Files::new();
    let secret = files.write("secret", SECRET);
    let config_path = files.write("atlas.toml", &config(&simulator, &secret, &[ORG_A]));
    let exporter = Exporter::spawn(
        &["--config.file", config_path.to_str().unwrap()],
        &[],
        tempfile::tempdir().unwrap(),
    );
    exporter
        .wait_for_metrics("org A polled", |m| {
            m.get("atlas_invites_pending", &[("org_id", ORG_A)]) == Some(1.0)
        })
        .await;
    files.write("atlas.toml", &config(&simulator, &secret, &[ORG_B]));

    for method in [reqwest::Method::POST, reqwest::Method::PUT] {
        let response = client()
            .request(method.clone(), exporter.url("/-/reload"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 403, "{method}");
        let body = response.text().await.unwrap();
        assert!(
            body.contains("--web.enable-lifecycle") && body.contains("SIGHUP"),
            "the answer says how to reload: {body}"
        );
    }
    let get = exporter.get("/-/reload").await;
    assert_eq!(
        get.status(),
        405,
        "GET keeps its explanation without the flag"
    );
    assert!(get.text().await.unwrap().contains("POST"));

    exporter.sighup();
    exporter
        .wait_for_metrics("org B polled after SIGHUP", |m| {
            m.get("atlas_invites_pending", &[("org_id", ORG_B)]) == Some(2.0)
        })
        .await;
    // Reloads run one at a time in the order asked, so had a refused POST reloaded, its line would
    // be in the log before the SIGHUP's.
    assert_eq!(
        exporter.logs().matches("configuration reloaded").count(),
        1,
        "only the SIGHUP reloaded:\n{}",
        exporter.logs()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_reloads_of_an_unchanged_configuration_cost_no_token_and_no_call() {
    let simulator = simulator().await;
    let files = Files::new();
    let secret = files.write("secret", SECRET);
    let config_path = files.write(
        "atlas.toml",
        &quiet(config(&simulator, &secret, &[ORG_A, ORG_B])),
    );
    let exporter = with_lifecycle(&config_path);
    exporter.wait_ready().await;
    let polled = simulator.requests();
    assert_eq!(token_requests(&polled).len(), 1, "one token for both orgs");
    assert_eq!(
        (calls_for(&polled, ORG_A), calls_for(&polled, ORG_B)),
        (1, 1)
    );
    let from = polled.len();

    let http = client();
    let mut reloads = tokio::task::JoinSet::new();
    for _ in 0..50 {
        let (http, url) = (http.clone(), exporter.url("/-/reload"));
        reloads.spawn(async move { http.post(url).send().await.map(|r| r.status().as_u16()) });
    }
    while let Some(status) = reloads.join_next().await {
        assert_eq!(status.unwrap().unwrap(), 200);
    }
    let reloaded = exporter.logs().matches("configuration reloaded").count();
    assert!(
        (1..=50).contains(&reloaded),
        "the 50 requests were answered by at most 50 reloads: {reloaded}"
    );

    // A reload that adds C starts C's loop, which polls at once. A loop that any of the 50 reloads
    // had restarted would have polled at once too, before C's was even started: C's poll answered
    // is the later event that bounds them (there is no event for a call that is never made).
    files.write(
        "atlas.toml",
        &quiet(config(&simulator, &secret, &[ORG_A, ORG_B, ORG_C])),
    );
    let response = http.post(exporter.url("/-/reload")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    wait_for_requests(&simulator, &exporter, "org C polled", |requests| {
        calls_for(&requests[from..], ORG_C) >= 1
    })
    .await;
    let after = since(&simulator, from);
    assert!(
        token_requests(&after).is_empty(),
        "the cached token was kept"
    );
    assert_eq!(
        (calls_for(&after, ORG_A), calls_for(&after, ORG_B)),
        (0, 0),
        "A and B kept their schedules"
    );
    assert_eq!(calls_for(&after, ORG_C), 1, "C's one poll: {after:?}");
    assert!(
        after.iter().all(|r| r.org_id.as_deref() == Some(ORG_C)),
        "C's calls (its poll and its slow readings) and nothing else: {after:?}"
    );
    let m = exporter
        .wait_for_metrics("C published", |m| {
            m.get("atlas_invites_pending", &[("org_id", ORG_C)]) == Some(1.0)
        })
        .await;
    assert_eq!(
        m.get("atlas_invites_pending", &[("org_id", ORG_B)]),
        Some(2.0),
        "B kept its data"
    );
    assert_eq!(reload_succeeded(&m), Some(1.0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_that_rotates_one_orgs_secret_fetches_one_token_and_polls_only_that_org() {
    let simulator = simulator().await;
    let files = Files::new();
    let secret = files.write("secret", SECRET);
    let secret_b = files.write("secret_b", "b-old");
    let toml = quiet(format!(
        "{}[[orgs]]\nid = \"{ORG_B}\"\n[orgs.auth]\nclient_id = \"{CLIENT_B}\"\nclient_secret_file = \"{}\"\n",
        config(&simulator, &secret, &[ORG_A]),
        secret_b.display()
    ));
    let config_path = files.write("atlas.toml", &toml);
    let exporter = with_lifecycle(&config_path);
    exporter.wait_ready().await;
    let polled = simulator.requests();
    assert_eq!(token_requests(&polled).len(), 2, "one token per credential");
    let from = polled.len();

    files.write("secret_b", "b-new");
    let response = client()
        .post(exporter.url("/-/reload"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    wait_for_requests(&simulator, &exporter, "org B polled again", |requests| {
        calls_for(&requests[from..], ORG_B) >= 1
    })
    .await;
    // A restarted A would have needed no token, so its call would have come before B's.
    let after = since(&simulator, from);
    let tokens = token_requests(&after);
    assert_eq!(tokens.len(), 1, "one token, for the rotated credential");
    assert_eq!(tokens[0].credential.as_deref(), Some(CLIENT_B));
    assert_eq!(calls_for(&after, ORG_B), 1);
    assert_eq!(calls_for(&after, ORG_A), 0, "A kept its token and schedule");
    assert!(
        exporter.logs().contains("restarted=1"),
        "{}",
        exporter.logs()
    );
    assert!(!exporter.logs().contains("b-old") && !exporter.logs().contains("b-new"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_keeps_running_across_reloads_that_leave_its_settings_alone() {
    let simulator = simulator().await;
    let files = Files::new();
    let secret = files.write("secret", SECRET);
    let toml = format!(
        "{}[discovery]\nenabled = true\ninterval = \"1h\"\n",
        quiet(config(&simulator, &secret, &[]))
    );
    let config_path = files.write("atlas.toml", &toml);
    let exporter = with_lifecycle(&config_path);
    exporter.wait_ready().await;
    let polled = simulator.requests();
    let listings =
        |requests: &[RecordedRequest]| requests.iter().filter(|r| r.path == LIST_ORGS_PATH).count();
    assert_eq!(listings(&polled), 1);
    assert_eq!(
        [ORG_A, ORG_B, ORG_C].map(|org| calls_for(&polled, org)),
        [1, 1, 1],
        "every discovered org polled once"
    );
    let from = polled.len();
    let http = client();
    for _ in 0..5 {
        let response = http.post(exporter.url("/-/reload")).send().await.unwrap();
        assert_eq!(response.status(), 200);
    }

    // A rotated global secret restarts the three loops (a new token, three polls); discovery reads
    // the credential at each listing and goes on. Discovery restarted by any of these reloads would
    // have listed at once, no later than the three polls: their answers are the event that bounds it.
    files.write("secret", ROTATED);
    let response = http.post(exporter.url("/-/reload")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    wait_for_requests(
        &simulator,
        &exporter,
        "the three orgs polled again",
        |requests| {
            [ORG_A, ORG_B, ORG_C]
                .iter()
                .all(|org| calls_for(&requests[from..], org) >= 1)
        },
    )
    .await;
    let after = since(&simulator, from);
    assert_eq!(listings(&after), 0, "discovery was not restarted");
    assert_eq!(
        token_requests(&after).len(),
        1,
        "one token, for the rotated secret"
    );
    assert_eq!(
        [ORG_A, ORG_B, ORG_C].map(|org| calls_for(&after, org)),
        [1, 1, 1]
    );
    assert!(!exporter.logs().contains(ROTATED));
}

/// `[audit]` is read at start only: a reload that turns the stream on says so in the log, and the
/// stream stays off until a restart (no file, while polls go on).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_audit_change_is_warned_and_waits_for_a_restart() {
    let simulator = simulator().await;
    let files = Files::new();
    let secret = files.write("secret", SECRET);
    let config_path = files.write("atlas.toml", &config(&simulator, &secret, &[ORG_A]));
    let exporter = with_lifecycle(&config_path);
    exporter
        .wait_for_metrics("org A polled", |m| {
            m.get("atlas_invites_pending", &[("org_id", ORG_A)]) == Some(1.0)
        })
        .await;
    let audit_path = files.dir.path().join("audit.jsonl");
    let with_audit = format!(
        "{}[audit]\nenabled = true\npath = \"{}\"\n",
        config(&simulator, &secret, &[ORG_A]),
        audit_path.display()
    );
    files.write("atlas.toml", &with_audit);
    let response = client()
        .post(exporter.url("/-/reload"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        exporter.logs().contains("audit settings changed"),
        "{}",
        exporter.logs()
    );
    // Two more polls of A after the reload (each 1 s apart), and still no stream.
    let from = simulator.requests().len();
    wait_for_requests(
        &simulator,
        &exporter,
        "two polls of A after the reload",
        |requests| calls_for(&requests[from..], ORG_A) >= 2,
    )
    .await;
    assert!(!audit_path.exists());
}
