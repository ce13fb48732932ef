use std::process::Command;

use atlas_sim::{SimInvitation, SimOrg, Simulator, World};

use crate::util::{Exporter, Exposition, client};

const ORG_A: &str = "aaaaaaaaaaaaaaaaaaaaaaa1";
const ORG_B: &str = "bbbbbbbbbbbbbbbbbbbbbbb2";
const CLIENT_ID: &str = "mdb_sa_id_reload";
const SECRET: &str = "reload-secret-do-not-leak";

async fn simulator() -> Simulator {
    let invitation = |id: &str| SimInvitation::sent_ago(id, format!("{id}@example.com"), 3600);
    Simulator::start(World {
        orgs: vec![
            SimOrg::new(ORG_A, "A", vec![invitation("a1")]),
            SimOrg::new(ORG_B, "B", vec![invitation("b1"), invitation("b2")]),
        ],
        service_accounts: vec![(CLIENT_ID.into(), SECRET.into())],
        ..World::default()
    })
    .await
    .unwrap()
}

/// A configuration reading the secret from `secret_file`, polling `orgs`.
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
    let status = Command::new("kill")
        .args(["-HUP", &exporter.pid().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
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
    let exporter = Exporter::spawn(
        &["--config.file", config_path.to_str().unwrap()],
        &[],
        tempfile::tempdir().unwrap(),
    );
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
    let exporter = Exporter::spawn(
        &["--config.file", config_path.to_str().unwrap()],
        &[],
        tempfile::tempdir().unwrap(),
    );
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
