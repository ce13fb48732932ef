//! The audit stream (issue 14), end to end: the real binary against the simulator over 127.0.0.1,
//! its lines read back from the file (or standard output), its counters from `/metrics`, its state
//! file across a clean stop, a restart without it, a `SIGKILL`, and a corrupt one.
//!
//! Every wait is on observable state: the simulator's request log, the exporter's metrics, or the
//! audit and state files' contents, each bounded.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use atlas_sim::{SimInvitation, SimOrg, SimTime, Simulator, World};
use jiff::Timestamp;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::util::{BIN, Exporter, Exposition};

const ORG: &str = "aaaaaaaaaaaaaaaaaaaaaaa1";
const ORG_NAME: &str = "Audit Zürich";
const PROJECT: &str = "bbbbbbbbbbbbbbbbbbbbbb01";
const TEAM: &str = "cccccccccccccccccccccc01";
const CLIENT_ID: &str = "mdb_sa_id_0123456789abcdef01234567";
const CLIENT_SECRET: &str = "mdb_sa_sk_audit-test-do-not-leak-31";
const DAY: i64 = 86_400;
/// Every wait below gives up after this long: a poll is due every second.
const PATIENCE: Duration = Duration::from_secs(30);

/// The addresses of every invitation these tests declare: none may reach the logs or `/metrics`.
const ADDRESSES: &[&str] = &[
    "rita@example.com",
    "ed@partner.example.net",
    "x@gmail.com",
    "owner@example.com",
    "dora@example.com",
    "gus@partner.example.net",
    "hal@partner.example.net",
    "mallory@example.org",
];

fn id(n: u32) -> String {
    format!("{n:024x}")
}

/// The instant every declared date is relative to: fixed once, so that a line's dates can be
/// checked to the second.
fn base() -> i64 {
    static BASE: std::sync::OnceLock<i64> = std::sync::OnceLock::new();
    *BASE.get_or_init(|| Timestamp::now().as_second())
}

/// A pending invitation from owner@example.com, sent `created_ago` seconds before [`base`] and
/// expiring `expires_in` seconds after it.
fn invitation(n: u32, invitee: &str, created_ago: i64, expires_in: i64) -> SimInvitation {
    let now = base();
    SimInvitation::sent_ago(id(n), invitee, created_ago).with_dates(
        SimTime::At(Timestamp::from_second(now - created_ago).unwrap()),
        SimTime::At(Timestamp::from_second(now + expires_in).unwrap()),
    )
}

fn world(invitations: Vec<SimInvitation>) -> World {
    World {
        orgs: vec![SimOrg::new(ORG, ORG_NAME, invitations)],
        service_accounts: vec![(CLIENT_ID.into(), CLIENT_SECRET.into())],
        ..World::default()
    }
}

/// The exporter's configuration: one organisation polled every second, the policy of the
/// contract's example (example.com internal, inviters at example.com expected), and `audit` as the
/// `[audit]` section (empty for none).
fn config(simulator: &Simulator, audit: &str) -> String {
    format!(
        "[auth]\nclient_id = \"{CLIENT_ID}\"\nclient_secret = \"{CLIENT_SECRET}\"\n\
         [atlas]\nbase_url = \"{}\"\nsource = \"invites\"\ntimeout = \"2s\"\n\
         [poll]\ninterval = \"1s\"\njitter = 0.0\n\
         [policy]\ninternal_domains = [\"example.com\"]\nexpected_inviters = [\"*@example.com\"]\n\
         {audit}[[orgs]]\nid = \"{ORG}\"\n",
        simulator.base_url()
    )
}

/// `[audit]` on, to this file, with this state file or none.
fn audit_to(path: &Path, state: Option<&Path>) -> String {
    let mut section = format!(
        "[audit]\nenabled = true\npath = {:?}\n",
        path.to_str().unwrap()
    );
    if let Some(state) = state {
        section.push_str(&format!("state_file = {:?}\n", state.to_str().unwrap()));
    }
    section
}

/// Every line of the audit file, each one JSON object; none when the file does not exist. The file
/// ends with a newline: no line is torn.
fn read_audit(path: &Path) -> Vec<Value> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Vec::new(),
        Err(e) => panic!("read {}: {e}", path.display()),
    };
    parse_lines(&text)
}

fn parse_lines(text: &str) -> Vec<Value> {
    assert!(
        text.is_empty() || text.ends_with('\n'),
        "a torn last line: {text}"
    );
    text.lines()
        .map(|line| {
            let value: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("not one JSON object per line ({e}): {line}"));
            assert!(value.is_object(), "{line}");
            value
        })
        .collect()
}

/// `(event, invitation_id)` of each line, in file order.
fn summary(lines: &[Value]) -> Vec<(String, String)> {
    lines
        .iter()
        .map(|l| (text(l, "event"), text(l, "invitation_id")))
        .collect()
}

fn text(line: &Value, field: &str) -> String {
    line[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} is not a string in {line}"))
        .to_owned()
}

fn event(kind: &str, n: u32) -> (String, String) {
    (kind.to_owned(), id(n))
}

/// The line of this event; exactly one.
fn line_of<'a>(lines: &'a [Value], kind: &str, n: u32) -> &'a Value {
    let found: Vec<&Value> = lines
        .iter()
        .filter(|l| l["event"] == kind && l["invitation_id"] == id(n).as_str())
        .collect();
    assert_eq!(found.len(), 1, "one {kind} line for {}: {lines:#?}", id(n));
    found[0]
}

/// The documented `event_id` of a line: the first 16 bytes of SHA-256 over its `org_id`,
/// `invitation_id`, `event`, `created_at` and `expires_at` (empty when absent) joined by NUL, in
/// hex, computed here independently of the exporter.
fn expected_event_id(line: &Value) -> String {
    let digest = Sha256::new()
        .chain_update(text(line, "org_id"))
        .chain_update([0])
        .chain_update(text(line, "invitation_id"))
        .chain_update([0])
        .chain_update(text(line, "event"))
        .chain_update([0])
        .chain_update(text(line, "created_at"))
        .chain_update([0])
        .chain_update(line["expires_at"].as_str().unwrap_or_default())
        .finalize();
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

fn rfc3339(seconds: i64) -> String {
    Timestamp::from_second(seconds).unwrap().to_string()
}

/// Waits until the audit file's lines satisfy `condition`, and returns them.
async fn wait_for_lines(
    path: &Path,
    what: &str,
    condition: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let lines = read_audit(path);
        if condition(&lines) {
            return lines;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}; audit lines: {lines:#?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn events(m: &Exposition, kind: &str) -> f64 {
    m.get(
        "atlas_invites_events_total",
        &[("org_id", ORG), ("event", kind)],
    )
    .unwrap_or(0.0)
}

/// `(created, removed, expired)` as counted by the exporter.
fn counted(m: &Exposition) -> (f64, f64, f64) {
    (
        events(m, "created"),
        events(m, "removed"),
        events(m, "expired"),
    )
}

fn polled(m: &Exposition) -> bool {
    m.get("atlas_invites_poll_success", &[("org_id", ORG)]) == Some(1.0)
}

/// Waits for the first successful poll (the baseline) to be recorded: its lines, if any, are
/// written and its state saved before the metrics show it.
async fn wait_for_baseline(exporter: &Exporter) {
    exporter.wait_for_metrics("the baseline poll", polled).await;
}

fn listings(simulator: &Simulator) -> usize {
    let path = format!("/api/atlas/v2/orgs/{ORG}/invites");
    simulator
        .requests()
        .iter()
        .filter(|r| r.path == path)
        .count()
}

/// Waits until the simulator has answered `more` further listings of the organisation: at least
/// `more - 1` further polls have completed.
async fn wait_for_polls(simulator: &Simulator, more: usize) {
    let target = listings(simulator) + more;
    let deadline = Instant::now() + PATIENCE;
    while listings(simulator) < target {
        assert!(Instant::now() < deadline, "no further polls");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The world of the restart tests: Dora (internal) and Gus (a partner), both invited a day ago.
async fn dora_and_gus() -> Simulator {
    Simulator::start(world(vec![
        invitation(1, "dora@example.com", DAY, 29 * DAY),
        invitation(2, "gus@partner.example.net", DAY, 29 * DAY),
    ]))
    .await
    .unwrap()
}

/// The exporter on `toml`, once its baseline is taken and Hal's invitation, sent after it, has
/// been counted as created.
async fn started_then_hal_invited(simulator: &Simulator, toml: &str) -> Exporter {
    let exporter = Exporter::start(toml);
    wait_for_baseline(&exporter).await;
    simulator.add_invitation(ORG, invitation(3, "hal@partner.example.net", 0, 30 * DAY));
    exporter
        .wait_for_metrics("the created event", |m| events(m, "created") == 1.0)
        .await;
    exporter
}

/// A temporary directory (kept while the first value lives) with the audit file's and the state
/// file's paths in it.
fn audit_files() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let (path, state) = (
        dir.path().join("audit.jsonl"),
        dir.path().join("state.json"),
    );
    (dir, path, state)
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn assert_no_address(what: &str, text: &str) {
    for address in ADDRESSES {
        assert!(
            !text.contains(address),
            "{address} appears in {what}:\n{text}"
        );
    }
}

/// `SIGKILL`: no chance to finish a poll, flush or save anything.
fn kill_9(exporter: Exporter) {
    let status = Command::new("kill")
        .args(["-KILL", &exporter.pid().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    // Reaps it: the next exporter never overlaps this one.
    drop(exporter);
}

/// Every event kind, each line's every field, the counters agreeing with the lines, the file's mode,
/// and no address in the logs or the metrics.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_kind_is_one_line_with_the_invitations_details_and_counted() {
    let started = Timestamp::now().as_second();
    let now = base();
    // Removed: internal, nobody named as inviter (unexpected, with expected_inviters set).
    let removed = invitation(1, "rita@example.com", 3 * DAY, 27 * DAY).without_inviter();
    // Expires: external, an admin role, a project and a team, an expected inviter.
    let expiring = invitation(2, "ed@partner.example.net", 29 * DAY, 10 * DAY)
        .with_org_roles(["ORG_GROUP_CREATOR"])
        .with_project_role(PROJECT, "GROUP_READ_ONLY")
        .with_team_ids([TEAM]);
    let simulator = Simulator::start(world(vec![removed, expiring]))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let exporter = Exporter::start(&config(&simulator, &audit_to(&path, None)));
    wait_for_baseline(&exporter).await;
    assert_eq!(
        read_audit(&path),
        Vec::<Value>::new(),
        "the baseline reports nothing"
    );
    #[cfg(unix)]
    assert_eq!(mode(&path), 0o600, "created 0600: the lines hold addresses");

    // Created: free mail, GROUP_OWNER in a project, an expected inviter.
    let created = invitation(3, "x@gmail.com", 60, 30 * DAY - 60)
        .with_org_roles(["ORG_MEMBER"])
        .with_project_role(PROJECT, "GROUP_OWNER");
    simulator.add_invitation(ORG, created);
    assert!(simulator.remove_invitation(ORG, &id(1)));
    // A fixed instant two seconds ahead: `SimTime::FromNow` would move with every response and
    // never pass.
    let expires_at = Timestamp::now().as_second() + 2;
    assert!(simulator.set_invitation_expiry(
        ORG,
        &id(2),
        SimTime::At(Timestamp::from_second(expires_at).unwrap())
    ));
    let m = exporter
        .wait_for_metrics("one event of each kind", |m| counted(m) == (1.0, 1.0, 1.0))
        .await;
    assert_eq!(
        m.get(
            "atlas_invites_removal_age_seconds_count",
            &[("org_id", ORG)]
        ),
        Some(1.0)
    );
    let lines = read_audit(&path);
    let mut kinds = summary(&lines);
    kinds.sort();
    assert_eq!(
        kinds,
        [
            event("created", 3),
            event("expired", 2),
            event("removed", 1)
        ],
        "one line per event, as counted"
    );
    // The removal age is the removed invitation's, from its createdAt to the poll that missed it.
    let removal_age = m
        .get("atlas_invites_removal_age_seconds_sum", &[("org_id", ORG)])
        .unwrap();
    let removed_at: Timestamp = text(line_of(&lines, "removed", 1), "time").parse().unwrap();
    assert_eq!(
        removal_age,
        (removed_at.as_second() - (now - 3 * DAY)) as f64
    );

    let fields = [
        "event_id",
        "time",
        "org_id",
        "org_name",
        "event",
        "invitation_id",
        "created_at",
        "expires_at",
        "invitee",
        "inviter",
        "roles",
        "project_ids",
        "team_ids",
        "domain_class",
        "tier",
        "risk_reasons",
    ];
    let finished = Timestamp::now();
    for line in &lines {
        let keys: BTreeSet<&str> = line
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.as_str())
            .collect();
        assert_eq!(keys, fields.into_iter().collect(), "{line}");
        assert_eq!(line["org_id"], ORG);
        assert_eq!(line["org_name"], ORG_NAME);
        assert_eq!(text(line, "event_id"), expected_event_id(line));
        let time: Timestamp = text(line, "time").parse().expect("time is RFC 3339");
        assert!(
            time.as_second() >= started && time <= finished,
            "seen during the test: {line}"
        );
    }

    let removed = line_of(&lines, "removed", 1);
    assert_eq!(removed["created_at"], rfc3339(now - 3 * DAY));
    assert_eq!(removed["expires_at"], rfc3339(now + 27 * DAY));
    assert_eq!(removed["invitee"], "rita@example.com");
    assert_eq!(removed["inviter"], Value::Null, "Atlas named no inviter");
    assert_eq!(removed["roles"], serde_json::json!(["ORG_MEMBER"]));
    assert_eq!(removed["project_ids"], serde_json::json!([]));
    assert_eq!(removed["team_ids"], serde_json::json!([]));
    assert_eq!(removed["domain_class"], "internal");
    assert_eq!(removed["tier"], "read");
    assert_eq!(
        removed["risk_reasons"],
        serde_json::json!(["unexpected_inviter"])
    );

    let expired = line_of(&lines, "expired", 2);
    assert_eq!(expired["created_at"], rfc3339(now - 29 * DAY));
    assert_eq!(
        expired["expires_at"],
        rfc3339(expires_at),
        "the moved expiry"
    );
    assert!(
        text(expired, "time")
            .parse::<Timestamp>()
            .unwrap()
            .as_second()
            >= expires_at,
        "reported once its time passed: {expired}"
    );
    assert_eq!(expired["invitee"], "ed@partner.example.net");
    assert_eq!(expired["inviter"], "owner@example.com");
    assert_eq!(
        expired["roles"],
        serde_json::json!(["ORG_GROUP_CREATOR", "GROUP_READ_ONLY"])
    );
    assert_eq!(expired["project_ids"], serde_json::json!([PROJECT]));
    assert_eq!(expired["team_ids"], serde_json::json!([TEAM]));
    assert_eq!(expired["domain_class"], "external");
    assert_eq!(expired["tier"], "admin");
    assert_eq!(
        expired["risk_reasons"],
        serde_json::json!(["owner_external"])
    );

    let created = line_of(&lines, "created", 3);
    assert_eq!(created["created_at"], rfc3339(now - 60));
    assert_eq!(created["expires_at"], rfc3339(now + 30 * DAY - 60));
    assert_eq!(created["invitee"], "x@gmail.com");
    assert_eq!(created["inviter"], "owner@example.com");
    assert_eq!(
        created["roles"],
        serde_json::json!(["ORG_MEMBER", "GROUP_OWNER"])
    );
    assert_eq!(created["project_ids"], serde_json::json!([PROJECT]));
    assert_eq!(created["team_ids"], serde_json::json!([]));
    assert_eq!(created["domain_class"], "free_mail");
    assert_eq!(created["tier"], "owner");
    assert_eq!(
        created["risk_reasons"],
        serde_json::json!(["owner_external", "free_mail"])
    );

    // Two more polls: nothing is reported twice (the expired one is still listed), the counters
    // still agree with the lines.
    wait_for_polls(&simulator, 3).await;
    let m = Exposition::parse(&exporter.metrics().await);
    assert_eq!(counted(&m), (1.0, 1.0, 1.0));
    assert_eq!(read_audit(&path), lines);

    // The addresses are in the audit file, and nowhere else.
    assert_no_address("the logs", &exporter.logs());
    assert_no_address("/metrics", &m.text);
}

/// A clean stop with a state file: the next process reports exactly what changed while it was
/// down, once, after the earlier lines, and repeats nothing from before the stop.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_on_the_state_file_reports_what_changed_while_down_and_nothing_twice() {
    let simulator = dora_and_gus().await;
    let (_dir, path, state) = audit_files();
    let toml = config(&simulator, &audit_to(&path, Some(&state)));

    let mut first = started_then_hal_invited(&simulator, &toml).await;
    assert_eq!(summary(&read_audit(&path)), [event("created", 3)]);
    #[cfg(unix)]
    assert_eq!(mode(&state), 0o600, "the state file holds addresses too");
    first.terminate(Duration::from_secs(10));
    let before = read_audit(&path);

    // While it is down: one accepted (or revoked), one sent.
    assert!(simulator.remove_invitation(ORG, &id(1)));
    simulator.add_invitation(ORG, invitation(4, "x@gmail.com", 0, 30 * DAY));

    let second = Exporter::start(&toml);
    // Its very first poll compares with the state file: a baseline would report nothing, ever.
    second
        .wait_for_metrics("the changes made while down", |m| {
            events(m, "created") == 1.0 && events(m, "removed") == 1.0
        })
        .await;
    // A few more polls, so that a repeated line would have had its chance.
    wait_for_polls(&simulator, 3).await;
    let m = Exposition::parse(&second.metrics().await);
    assert_eq!(counted(&m), (1.0, 1.0, 0.0));
    assert_eq!(
        m.get(
            "atlas_invites_removal_age_seconds_count",
            &[("org_id", ORG)]
        ),
        Some(1.0)
    );
    let lines = read_audit(&path);
    assert_eq!(lines[..before.len()], before[..], "earlier lines kept");
    let mut after = summary(&lines[before.len()..]);
    after.sort();
    assert_eq!(after, [event("created", 4), event("removed", 1)]);
    let ids: BTreeSet<String> = lines.iter().map(|l| text(l, "event_id")).collect();
    assert_eq!(ids.len(), 3, "no event twice: {lines:#?}");
    // The removed invitation's details came from the state file.
    let removed = line_of(&lines, "removed", 1);
    assert_eq!(removed["invitee"], "dora@example.com");
    assert_eq!(removed["domain_class"], "internal");
    assert_eq!(line_of(&lines, "created", 4)["domain_class"], "free_mail");
    #[cfg(unix)]
    assert_eq!(mode(&path), 0o600, "still 0600 after a reopen");
    assert_no_address("the logs", &second.logs());
}

/// Without a state file the first poll after a start is a baseline: what changed while the
/// exporter was down is never reported; the file is appended to, and stays 0600.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_without_state_file_starts_a_baseline_and_appends() {
    let simulator = dora_and_gus().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let toml = config(&simulator, &audit_to(&path, None));

    let mut first = started_then_hal_invited(&simulator, &toml).await;
    first.terminate(Duration::from_secs(10));
    let before = read_audit(&path);
    assert_eq!(summary(&before), [event("created", 3)]);

    assert!(simulator.remove_invitation(ORG, &id(1)));
    simulator.add_invitation(ORG, invitation(4, "x@gmail.com", 0, 30 * DAY));

    let second = Exporter::start(&toml);
    wait_for_baseline(&second).await;
    assert_eq!(read_audit(&path), before, "the baseline reports nothing");
    // A change after the baseline is reported, and only it.
    simulator.add_invitation(ORG, invitation(5, "rita@example.com", 0, 30 * DAY));
    second
        .wait_for_metrics("the created event", |m| events(m, "created") == 1.0)
        .await;
    wait_for_polls(&simulator, 2).await;
    let m = Exposition::parse(&second.metrics().await);
    assert_eq!(counted(&m), (1.0, 0.0, 0.0));
    let lines = read_audit(&path);
    assert_eq!(lines[..before.len()], before[..], "earlier lines kept");
    assert_eq!(summary(&lines), [event("created", 3), event("created", 5)]);
    #[cfg(unix)]
    assert_eq!(mode(&path), 0o600);
}

/// The state file keeps each organisation's source: a restart that polls from the other source (the
/// org-users API lists other ids) is a new baseline, not a removal of everything listed before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_on_another_source_is_a_baseline_despite_the_state_file() {
    let simulator = dora_and_gus().await;
    let (_dir, path, state) = audit_files();
    let toml = config(&simulator, &audit_to(&path, Some(&state)));

    let mut first = started_then_hal_invited(&simulator, &toml).await;
    first.terminate(Duration::from_secs(10));
    let before = read_audit(&path);
    assert_eq!(summary(&before), [event("created", 3)]);
    assert!(simulator.remove_invitation(ORG, &id(1)));

    let users = toml.replace("source = \"invites\"", "source = \"org_users\"");
    assert_ne!(users, toml);
    let second = Exporter::start(&users);
    wait_for_baseline(&second).await;
    let users_path = format!("/api/atlas/v2/orgs/{ORG}/users");
    let user_listings = || {
        let requests = simulator.requests();
        requests
            .iter()
            .filter(|r| r.path.starts_with(&users_path))
            .count()
    };
    let target = user_listings() + 2;
    let deadline = Instant::now() + PATIENCE;
    while user_listings() < target {
        assert!(Instant::now() < deadline, "no further polls");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let m = Exposition::parse(&second.metrics().await);
    assert_eq!(
        counted(&m),
        (0.0, 0.0, 0.0),
        "a new baseline counts nothing"
    );
    assert_eq!(read_audit(&path), before, "and writes nothing");
}

/// `SIGKILL` right after an event's line reaches the file (so, often, before the state file is
/// replaced), twice: after each restart on the same state file no event is lost, and a repeated
/// line carries its earlier copy's `event_id`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_between_polls_loses_no_event_and_repeats_only_with_the_same_id() {
    let simulator = dora_and_gus().await;
    let (_dir, path, state) = audit_files();
    let toml = config(&simulator, &audit_to(&path, Some(&state)));

    let mut exporter = Exporter::start(&toml);
    wait_for_baseline(&exporter).await;
    let mut happened = BTreeSet::new();
    for (sent, gone) in [(3, 1), (4, 2)] {
        simulator.add_invitation(
            ORG,
            invitation(sent, "hal@partner.example.net", 0, 30 * DAY),
        );
        happened.insert(event("created", sent));
        // Killed as soon as the line is whole in the file: the state file is replaced right after.
        let deadline = Instant::now() + PATIENCE;
        while !summary(&read_audit(&path)).contains(&event("created", sent)) {
            assert!(Instant::now() < deadline, "no created line");
            tokio::task::yield_now().await;
        }
        kill_9(exporter);

        assert!(simulator.remove_invitation(ORG, &id(gone)));
        happened.insert(event("removed", gone));
        exporter = Exporter::start(&toml);
        wait_for_lines(&path, "the removal made while down", |lines| {
            summary(lines).contains(&event("removed", gone))
        })
        .await;
    }
    // A few more polls: whatever was to be repeated has been.
    wait_for_polls(&simulator, 3).await;
    let lines = read_audit(&path);

    let mut ids: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for line in &lines {
        let key = (text(line, "event"), text(line, "invitation_id"));
        ids.entry(key).or_default().insert(text(line, "event_id"));
    }
    let deduplicated: BTreeSet<(String, String)> = ids.keys().cloned().collect();
    assert_eq!(
        deduplicated, happened,
        "every event, and only those: {lines:#?}"
    );
    for line in &lines {
        assert_eq!(text(line, "event_id"), expected_event_id(line), "{line}");
    }
    for ((kind, invitation), event_ids) in &ids {
        assert_eq!(
            event_ids.len(),
            1,
            "every copy of {kind} {invitation} has the same id"
        );
    }
    let unique: BTreeSet<String> = lines.iter().map(|l| text(l, "event_id")).collect();
    assert_eq!(unique.len(), happened.len());
    // A repeat is allowed only across a kill: at most one per event per kill.
    assert!(lines.len() <= happened.len() + 2, "{lines:#?}");
    eprintln!(
        "{} lines for {} events ({} repeated across the kills)",
        lines.len(),
        happened.len(),
        lines.len() - happened.len()
    );
}

/// A corrupt state file: the exporter starts, warns naming the path (never a value from the file),
/// starts a baseline, and writes a valid state file that the next poll builds on. Two kinds of
/// corruption: bytes that are not JSON, and JSON of the wrong shape quoting an address.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_state_file_is_a_warned_baseline_then_rewritten() {
    let simulator = dora_and_gus().await;
    let wrong_shape = format!("{{\"version\":1,\"orgs\":{{\"{ORG}\":\"mallory@example.org\"}}}}");
    let garbage: [&[u8]; 2] = [
        b"\x00\xffnot json at all {\"version\":",
        wrong_shape.as_bytes(),
    ];
    let mut runs = Vec::new();
    for bytes in garbage {
        let dir = tempfile::tempdir().unwrap();
        let (path, state) = (
            dir.path().join("audit.jsonl"),
            dir.path().join("state.json"),
        );
        std::fs::write(&state, bytes).unwrap();
        let exporter = Exporter::start(&config(&simulator, &audit_to(&path, Some(&state))));
        runs.push((dir, path, state, exporter));
    }

    for (_, path, state, exporter) in &runs {
        let logs = exporter.logs();
        let warning = logs
            .lines()
            .find(|l| l.contains("WARN") && l.contains("audit state file"))
            .unwrap_or_else(|| panic!("no warning about the state file:\n{logs}"));
        assert!(warning.contains(state.to_str().unwrap()), "{warning}");
        assert!(warning.contains("corrupt"), "{warning}");
        // Rewritten valid after the first poll, which was a baseline: its lines, if it had any,
        // would be in the audit file before the state file is replaced.
        let deadline = Instant::now() + PATIENCE;
        let saved = loop {
            // The second kind of corruption is JSON already: only the right shape will do.
            let saved = std::fs::read(state)
                .ok()
                .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
                .filter(|saved| saved["orgs"][ORG]["invitations"].is_array());
            if let Some(saved) = saved {
                break saved;
            }
            assert!(
                Instant::now() < deadline,
                "the state file was never rewritten"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        assert_eq!(saved["version"], 1);
        let seen: BTreeSet<&str> = saved["orgs"][ORG]["invitations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_str().unwrap())
            .collect();
        assert_eq!(seen, BTreeSet::from([id(1).as_str(), id(2).as_str()]));
        assert_eq!(read_audit(path), Vec::<Value>::new(), "a baseline");
    }

    // The rewritten state is built on: a later removal is reported once by each.
    assert!(simulator.remove_invitation(ORG, &id(1)));
    for (_, path, _, exporter) in &runs {
        let m = exporter
            .wait_for_metrics("the removal", |m| events(m, "removed") == 1.0)
            .await;
        assert_eq!(counted(&m), (0.0, 1.0, 0.0), "nothing from the baseline");
        assert_eq!(summary(&read_audit(path)), [event("removed", 1)]);
        assert_no_address("the logs", &exporter.logs());
    }
}

/// The exporter as a process whose standard output is kept (the harness discards it).
struct Piped {
    child: Child,
    addr: String,
    stdout: PathBuf,
    stderr: PathBuf,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl Piped {
    fn start(config_toml: &str) -> Piped {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("atlas.toml");
        std::fs::write(&config, config_toml).unwrap();
        let (stdout, stderr) = (dir.path().join("stdout"), dir.path().join("stderr"));
        let mut child = Command::new(BIN)
            .args(["--config.file", config.to_str().unwrap()])
            .args([
                "--web.listen-address",
                "127.0.0.1:0",
                "--log.level",
                "debug",
            ])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            // The working directory is the temporary one: a relative path would land there.
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(File::create(&stdout).unwrap())
            .stderr(File::create(&stderr).unwrap())
            .spawn()
            .expect("start the exporter binary");
        let deadline = Instant::now() + Duration::from_secs(20);
        let addr = loop {
            let logs = std::fs::read_to_string(&stderr).unwrap();
            if let Some(address) = logs
                .split("serving metrics at http://")
                .nth(1)
                .and_then(|rest| rest.split("/metrics").next())
            {
                break address.to_owned();
            }
            if Instant::now() > deadline || child.try_wait().unwrap().is_some() {
                let _ = child.kill();
                let _ = child.wait();
                panic!("exporter did not start; logs:\n{logs}");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        Piped {
            child,
            addr,
            stdout,
            stderr,
            http: crate::util::client(),
            _dir: dir,
        }
    }

    fn stdout(&self) -> String {
        std::fs::read_to_string(&self.stdout).unwrap()
    }

    fn logs(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap()
    }

    async fn metrics(&self) -> Exposition {
        let response = self
            .http
            .get(format!("http://{}/metrics", self.addr))
            .send()
            .await
            .expect("request to the exporter");
        assert_eq!(response.status(), 200);
        Exposition::parse(&response.text().await.unwrap())
    }

    async fn wait_for_metrics(
        &self,
        what: &str,
        condition: impl Fn(&Exposition) -> bool,
    ) -> Exposition {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let m = self.metrics().await;
            if condition(&m) {
                return m;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; last scrape:\n{}\nlogs:\n{}",
                m.text,
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Piped {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Off by default: nothing on standard output and no file, though the events are counted; a path
/// or a state file alone does not turn it on. On, with `path = "-"`: standard output carries the
/// audit lines and nothing else, and no address reaches the logs or `/metrics` in any case.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn off_by_default_and_no_address_outside_the_stream() {
    let simulator = dora_and_gus().await;
    let files = tempfile::tempdir().unwrap();
    let (path, state) = (
        files.path().join("audit.jsonl"),
        files.path().join("state.json"),
    );
    let default = Piped::start(&config(&simulator, ""));
    let not_enabled = Piped::start(&config(
        &simulator,
        &format!(
            "[audit]\npath = {:?}\nstate_file = {:?}\n",
            path.to_str().unwrap(),
            state.to_str().unwrap()
        ),
    ));
    let stdout = Piped::start(&config(
        &simulator,
        "[audit]\nenabled = true\npath = \"-\"\n",
    ));
    let all = [&default, &not_enabled, &stdout];
    for exporter in all {
        exporter.wait_for_metrics("the baseline poll", polled).await;
    }
    assert!(simulator.remove_invitation(ORG, &id(1)));
    simulator.add_invitation(ORG, invitation(3, "x@gmail.com", 0, 30 * DAY));
    for exporter in all {
        exporter
            .wait_for_metrics("the events", |m| counted(m) == (1.0, 1.0, 0.0))
            .await;
    }

    for exporter in [&default, &not_enabled] {
        assert_eq!(exporter.stdout(), "", "nothing on standard output");
    }
    assert!(!path.exists() && !state.exists(), "no audit or state file");
    assert_eq!(
        std::fs::read_dir(files.path()).unwrap().count(),
        0,
        "nothing written beside them"
    );

    let lines = parse_lines(&stdout.stdout());
    let mut kinds = summary(&lines);
    kinds.sort();
    assert_eq!(kinds, [event("created", 3), event("removed", 1)]);
    assert_eq!(line_of(&lines, "removed", 1)["invitee"], "dora@example.com");

    for exporter in all {
        assert_no_address("the logs", &exporter.logs());
        assert_no_address("/metrics", &exporter.metrics().await.text);
    }
}
