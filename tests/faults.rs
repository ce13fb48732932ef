//! The fault suite of issue 5: every way Atlas or the network fails, served by the simulator over real
//! sockets to the real binary.
//!
//! Each test runs two organisations: A, the faulty one, on the global service account, and B, the
//! healthy one, on its own API key (Digest), so token faults reach A alone. For every fault episode the
//! suite checks, on every scrape while the fault lasts, that `/metrics` answers, that A keeps its last
//! good data and that B is untouched; then that each failed call was counted exactly once under the
//! right `error_code`, that the `poll failed` log line names the org, endpoint, status and error code,
//! and that A recovers on the next poll. Each test ends by bounding A's requests by its polls (no retry
//! storm) and by searching everything the exporter emitted for a secret.
//!
//! Covered elsewhere, not repeated here: a stale Digest nonce and a bearer token expiring mid-run with
//! a working token endpoint (`exporter::api_key_digest_reuses_the_challenge_and_survives_a_stale_nonce`,
//! `exporter::one_token_serves_many_polls_and_an_expired_token_is_refreshed_once`: both are answered
//! inside the call and count no error), 401/403/404 error codes (`exporter::client_errors_...`), data
//! older than `keep_stale_for` (`exporter::data_older_than_keep_stale_for_...`).

use std::ops::RangeInclusive;
use std::time::{Duration, Instant};

use atlas_sim::{Fault, SimInvitation, SimOrg, Simulator, World};
use base64::Engine as _;

use crate::util::{Exporter, Exposition, run_binary, write_temp};

const ORG_A: &str = "aaaaaaaaaaaaaaaaaaaaaaa1";
const ORG_B: &str = "bbbbbbbbbbbbbbbbbbbbbbb2";
const CLIENT_ID: &str = "mdb_sa_id_faults";
const CLIENT_SECRET: &str = "mdb_sa_sk_FAULTS-secret-do-not-leak";
const PUBLIC_KEY: &str = "faultpub";
const PRIVATE_KEY: &str = "PRIVATE-faults-key-do-not-leak-0000";
const A_PENDING: f64 = 4.0;
const B_PENDING: f64 = 2.0;
const INVITES: &str = "list_org_invites";
const TOKEN: &str = "oauth_token";
/// How long an episode may take before the test gives up.
const EPISODE_LIMIT: Duration = Duration::from_secs(30);

fn world() -> World {
    let invitations = |prefix: &str, count: usize| {
        (0..count)
            .map(|i| {
                SimInvitation::sent_ago(
                    format!("{prefix}{i:023x}"),
                    format!("{prefix}{i}@example.com"),
                    3600 * (i as i64 + 1),
                )
            })
            .collect()
    };
    World {
        orgs: vec![
            SimOrg::new(ORG_A, "Faulty A", invitations("a", A_PENDING as usize)),
            SimOrg::new(ORG_B, "Healthy B", invitations("b", B_PENDING as usize)),
        ],
        service_accounts: vec![(CLIENT_ID.into(), CLIENT_SECRET.into())],
        api_keys: vec![(PUBLIC_KEY.into(), PRIVATE_KEY.into())],
        ..World::default()
    }
}

/// What a test may change in the configuration.
struct Settings {
    timeout: &'static str,
    max_response_bytes: u64,
    /// A's own poll interval (B always polls every second).
    org_a_interval: &'static str,
}

const DEFAULTS: Settings = Settings {
    timeout: "1s",
    max_response_bytes: 65_536,
    org_a_interval: "1s",
};

/// A's poll lasts at most its interval, and a retry is only taken with 1 s left for the attempt after
/// its backoff. The backoff is a tenth of the shortest poll interval (B's 1 s) at most, so the waits
/// before the second and third attempts are up to 100 ms and 200 ms: in a 2 s poll the third attempt
/// is decided with about 1.7 s left where 1.2 s is needed, and all three attempts always fit. (In a
/// 1 s poll no retry fits at all.)
const THREE_ATTEMPTS: Settings = Settings {
    org_a_interval: "2s",
    ..DEFAULTS
};

fn config(base_url: &str, settings: &Settings) -> String {
    format!(
        "[auth]\nclient_id = \"{CLIENT_ID}\"\nclient_secret = \"{CLIENT_SECRET}\"\n\
         [atlas]\nbase_url = \"{base_url}\"\nsource = \"invites\"\ntimeout = \"{}\"\nmax_response_bytes = {}\n\
         [poll]\ninterval = \"1s\"\njitter = 0.0\n\
         [[orgs]]\nid = \"{ORG_A}\"\ninterval = \"{}\"\n\
         [[orgs]]\nid = \"{ORG_B}\"\n[orgs.auth]\npublic_key = \"{PUBLIC_KEY}\"\nprivate_key = \"{PRIVATE_KEY}\"\n",
        settings.timeout, settings.max_response_bytes, settings.org_a_interval
    )
}

fn org(id: &str) -> [(&'static str, &str); 1] {
    [("org_id", id)]
}

fn errors(m: &Exposition, org_id: &str, endpoint: &str, code: &str) -> f64 {
    m.get(
        "atlas_invites_api_errors_total",
        &[
            ("org_id", org_id),
            ("endpoint", endpoint),
            ("error_code", code),
        ],
    )
    .unwrap_or(0.0)
}

fn successes(m: &Exposition, org_id: &str) -> f64 {
    m.get(
        "atlas_invites_api_requests_total",
        &[("org_id", org_id), ("endpoint", INVITES), ("code", "200")],
    )
    .unwrap_or(0.0)
}

/// The log lines that end one poll of `org_id`, failed or not.
fn poll_lines<'a>(logs: &'a str, org_id: &str, outcome: &str) -> Vec<&'a str> {
    let org_field = format!("org={org_id}");
    logs.lines()
        .filter(|line| line.contains(outcome) && line.split(' ').any(|field| field == org_field))
        .collect()
}

/// One way a failed call may be counted and logged.
#[derive(Clone, Copy, Debug)]
struct Counted {
    endpoint: &'static str,
    code: &'static str,
    /// The status the `poll failed` line names; None when no response arrived.
    status: Option<u16>,
}

const fn counted(endpoint: &'static str, code: &'static str, status: Option<u16>) -> Counted {
    Counted {
        endpoint,
        code,
        status,
    }
}

impl Counted {
    fn matches(&self, line: &str) -> bool {
        let fields: Vec<&str> = line.split(' ').collect();
        let status_ok = match self.status {
            Some(status) => fields.contains(&format!("status={status}").as_str()),
            None => !line.contains(" status="),
        };
        fields.contains(&format!("endpoint=\"{}\"", self.endpoint).as_str())
            && fields.contains(&format!("error_code={}", self.code).as_str())
            && status_ok
    }
}

/// A fault episode: what is queued, and what it must be counted as.
struct Episode {
    faults: Vec<Fault>,
    /// Queue on the token endpoint (after expiring A's token) instead of A's API calls.
    on_token_endpoint: bool,
    /// Every error count the episode adds, one entry per failed call (a multiset).
    counted: Vec<Counted>,
    /// How many of A's polls fail (each with a `poll failed` line).
    failed_polls: RangeInclusive<usize>,
}

impl Episode {
    /// `n` copies of `fault` on A's API calls, each counted once the same way.
    fn repeated(
        fault: Fault,
        n: usize,
        counted_as: Counted,
        failed_polls: RangeInclusive<usize>,
    ) -> Episode {
        Episode {
            faults: vec![fault; n],
            on_token_endpoint: false,
            counted: vec![counted_as; n],
            failed_polls,
        }
    }

    /// One fault that fails one poll and is not retried.
    fn once(fault: Fault, counted_as: Counted) -> Episode {
        Episode::repeated(fault, 1, counted_as, 1..=1)
    }
}

/// A simulator and an exporter polling A and B through it.
struct Rig {
    simulator: Simulator,
    exporter: Exporter,
}

impl Rig {
    async fn start(settings: &Settings) -> Rig {
        let simulator = Simulator::start(world()).await.unwrap();
        let exporter = Exporter::start(&config(&simulator.base_url(), settings));
        exporter
            .wait_for_metrics("both orgs polled", |m| {
                m.get("atlas_invites_pending", &org(ORG_A)) == Some(A_PENDING)
                    && m.get("atlas_invites_pending", &org(ORG_B)) == Some(B_PENDING)
            })
            .await;
        Rig {
            simulator,
            exporter,
        }
    }

    /// Scrapes, and checks what must hold while A fails: A keeps its last good data, B is intact.
    async fn scrape_intact(&self) -> Exposition {
        let m = Exposition::parse(&self.exporter.metrics().await);
        assert_eq!(
            m.get("atlas_invites_pending", &org(ORG_A)),
            Some(A_PENDING),
            "A's last good data is kept\n{}",
            self.exporter.logs()
        );
        assert_eq!(m.get("atlas_invites_pending", &org(ORG_B)), Some(B_PENDING));
        assert_eq!(m.get("atlas_invites_poll_success", &org(ORG_B)), Some(1.0));
        assert_eq!(
            m.sum("atlas_invites_api_errors_total", &org(ORG_B)),
            0.0,
            "B is untouched\n{}",
            m.text
        );
        m
    }

    /// Scrapes (checking [`Rig::scrape_intact`]) until `done` holds.
    async fn scrape_until(&self, what: &str, done: impl Fn(&Exposition) -> bool) -> Exposition {
        let deadline = Instant::now() + EPISODE_LIMIT;
        loop {
            let m = self.scrape_intact().await;
            if done(&m) {
                return m;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; last scrape:\n{}\nlogs:\n{}",
                m.text,
                self.exporter.logs()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Runs one episode and checks everything issue 5 asks of it.
    async fn run(&self, episode: Episode) {
        let what = format!("{:?}", episode.faults);
        let first_request = self.simulator.requests().len();
        let before = self.scrape_intact().await;
        let failed_lines_before = poll_lines(&self.exporter.logs(), ORG_A, "poll failed").len();
        let b_successes_before = successes(&before, ORG_B);
        let mut expected: Vec<(Counted, f64)> = Vec::new();
        for counted in &episode.counted {
            match expected
                .iter_mut()
                .find(|(c, _)| (c.endpoint, c.code) == (counted.endpoint, counted.code))
            {
                Some((_, n)) => *n += 1.0,
                None => expected.push((*counted, 1.0)),
            }
        }
        let count_before = |c: &Counted| errors(&before, ORG_A, c.endpoint, c.code);
        let counted_so_far = |m: &Exposition| {
            expected
                .iter()
                .all(|(c, n)| errors(m, ORG_A, c.endpoint, c.code) - count_before(c) >= *n)
        };

        if episode.on_token_endpoint {
            self.simulator.push_token_faults(episode.faults.clone());
            self.simulator.expire_tokens();
        } else {
            self.simulator.push_faults(ORG_A, episode.faults.clone());
        }
        let counted_at = self
            .scrape_until(&format!("{what} counted"), counted_so_far)
            .await;
        let recovered_from = successes(&counted_at, ORG_A);
        let m = self
            .scrape_until(&format!("recovery from {what}"), |m| {
                successes(m, ORG_A) > recovered_from
                    && m.get("atlas_invites_poll_success", &org(ORG_A)) == Some(1.0)
            })
            .await;

        // Exactly once per failed call, and nothing else counted for A.
        for (c, n) in &expected {
            assert_eq!(
                errors(&m, ORG_A, c.endpoint, c.code) - count_before(c),
                *n,
                "{what}: {} {} counted once per failed call\n{}",
                c.endpoint,
                c.code,
                m.text
            );
        }
        assert_eq!(
            m.sum("atlas_invites_api_errors_total", &org(ORG_A))
                - before.sum("atlas_invites_api_errors_total", &org(ORG_A)),
            episode.counted.len() as f64,
            "{what}: no other error counted\n{}",
            m.text
        );
        // Every queued fault was served to exactly one request.
        let faulted = self.simulator.requests()[first_request..]
            .iter()
            .filter(|request| request.fault.is_some())
            .count();
        assert_eq!(faulted, episode.faults.len(), "{what}");
        if !episode.on_token_endpoint {
            assert_eq!(self.simulator.pending_faults(ORG_A), 0);
        }

        let logs = self.exporter.logs();
        let failed_lines = poll_lines(&logs, ORG_A, "poll failed");
        let new_lines = &failed_lines[failed_lines_before..];
        assert!(
            episode.failed_polls.contains(&new_lines.len()),
            "{what}: {} failed polls, expected {:?}:\n{}",
            new_lines.len(),
            episode.failed_polls,
            new_lines.join("\n")
        );
        for line in new_lines {
            assert!(
                episode.counted.iter().any(|c| c.matches(line)),
                "{what}: the log line names the org, endpoint, status and error code of {:?}:\n{line}",
                episode.counted
            );
        }
        assert!(
            successes(&m, ORG_B) > b_successes_before,
            "B kept polling through {what}"
        );
    }

    /// A's requests are bounded by its polls: at most three attempts each (one more request per
    /// attempt when a 401 is answered with a fresh token).
    fn assert_no_retry_storm(&self, requests_per_attempt: usize) {
        let logs = self.exporter.logs();
        let polls = poll_lines(&logs, ORG_A, "poll succeeded").len()
            + poll_lines(&logs, ORG_A, "poll failed").len();
        let requests = self
            .simulator
            .requests()
            .iter()
            .filter(|request| request.org_id.as_deref() == Some(ORG_A))
            .count();
        // +1: a poll may be in flight.
        assert!(
            requests <= 3 * requests_per_attempt * (polls + 1),
            "{requests} requests for {polls} polls"
        );
    }

    /// Nothing the exporter emitted (logs at debug level, metrics, landing page) holds a secret.
    async fn assert_nothing_secret_emitted(&self) {
        let landing = self.exporter.get("/").await.text().await.unwrap();
        let metrics = self.exporter.metrics().await;
        let logs = self.exporter.logs();
        assert!(logs.contains(" DEBUG "), "debug logging is on");
        assert!(!logs.contains("panicked"), "the exporter panicked:\n{logs}");
        assert_no_secret(
            &[&landing, &metrics, &logs],
            &self.simulator.issued_tokens(),
        );
    }
}

/// Asserts that no output holds a secret, a bearer token, or anything of an Authorization header.
fn assert_no_secret(outputs: &[&str], tokens: &[String]) {
    let basic =
        base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"));
    for output in outputs {
        for secret in [CLIENT_SECRET, PRIVATE_KEY, basic.as_str()] {
            assert!(!output.contains(secret), "a secret leaked:\n{output}");
        }
        let lower = output.to_lowercase();
        for header in ["authorization", "bearer ", "digest username", "basic "] {
            assert!(!lower.contains(header), "{header:?} appears in:\n{output}");
        }
        for token in tokens {
            assert!(
                !output.contains(token.as_str()),
                "a token leaked:\n{output}"
            );
        }
    }
}

fn status(status: u16, code: Option<&str>, retry_after: Option<&str>) -> Fault {
    Fault::Status {
        status,
        error_code: code.map(str::to_owned),
        retry_after: retry_after.map(str::to_owned),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spoiled_bodies_fail_one_call_and_the_next_poll_recovers() {
    let rig = Rig::start(&DEFAULTS).await;
    let invalid = counted(INVITES, "INVALID_RESPONSE", Some(200));
    for fault in [
        Fault::TruncatedJson,
        Fault::MalformedJson,
        Fault::WrongShape,
        Fault::InvalidDates,
        Fault::Html { status: 200 },
    ] {
        rig.run(Episode::once(fault, invalid)).await;
    }
    rig.run(Episode::once(
        Fault::Oversized { bytes: 200_000 },
        counted(INVITES, "BODY_TOO_LARGE", Some(200)),
    ))
    .await;
    rig.assert_no_retry_storm(1);
    rig.assert_nothing_secret_emitted().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_connections_get_three_attempts_then_the_poll_fails() {
    let rig = Rig::start(&THREE_ATTEMPTS).await;
    rig.run(Episode {
        faults: vec![Fault::ResetMidBody, Fault::TruncatedBody, Fault::Reset],
        on_token_endpoint: false,
        counted: vec![
            counted(INVITES, "CONNECTION", Some(200)),
            counted(INVITES, "CONNECTION", Some(200)),
            counted(INVITES, "CONNECTION", None),
        ],
        failed_polls: 1..=1,
    })
    .await;
    rig.assert_no_retry_storm(1);
    rig.assert_nothing_secret_emitted().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_server_and_a_trickling_body_are_cut_at_the_timeout() {
    let rig = Rig::start(&DEFAULTS).await;
    rig.run(Episode::once(
        Fault::Hang,
        counted(INVITES, "TIMEOUT", None),
    ))
    .await;

    // A body of a few hundred bytes at one byte a second would take minutes; the timeout (1 s) ends
    // it, and the poll's deadline leaves no room for a retry.
    let started = Instant::now();
    rig.run(Episode::once(
        Fault::Trickle {
            bytes_per_second: 1,
        },
        counted(INVITES, "TIMEOUT", Some(200)),
    ))
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
    rig.assert_no_retry_storm(1);
    rig.assert_nothing_secret_emitted().await;
}

/// The exporter's resident set size, from /proc.
fn resident_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().strip_suffix("kB"))
        .and_then(|value| value.trim().parse().ok())
        .expect("VmRSS in /proc/<pid>/status");
    kib * 1024
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_body_is_cut_at_max_response_bytes_and_memory_stays_flat() {
    const LIMIT: u64 = 4 * 1024 * 1024;
    let rig = Rig::start(&Settings {
        max_response_bytes: LIMIT,
        ..DEFAULTS
    })
    .await;
    let body_too_large = counted(INVITES, "BODY_TOO_LARGE", Some(200));
    // Warm up the allocator with one endless body before measuring.
    rig.run(Episode::once(Fault::Endless, body_too_large)).await;
    let pid = rig.exporter.pid();
    let start = resident_bytes(pid);
    rig.run(Episode::repeated(Fault::Endless, 5, body_too_large, 5..=5))
        .await;
    let after_five = resident_bytes(pid);
    rig.run(Episode::repeated(Fault::Endless, 5, body_too_large, 5..=5))
        .await;
    let after_ten = resident_bytes(pid);
    // Unbounded, each endless body would have been read at loopback speed for a whole second. Bounded,
    // the allocator keeps a few buffers of up to the limit, and that is all: flat after that.
    assert!(
        after_five.saturating_sub(start) < 6 * LIMIT,
        "RSS grew from {start} to {after_five} bytes over five endless bodies"
    );
    assert!(
        after_ten.saturating_sub(after_five) < LIMIT,
        "RSS kept growing, from {after_five} to {after_ten} bytes over five more"
    );
    rig.assert_no_retry_storm(1);
    rig.assert_nothing_secret_emitted().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_are_counted_once_and_never_retried_past_the_poll() {
    let rig = Rig::start(&DEFAULTS).await;
    let rate_limited = counted(INVITES, "RATE_LIMITED", Some(429));
    // Retry-After: 1 leaves no room for a retry in a 1 s poll.
    rig.run(Episode::once(
        status(429, Some("RATE_LIMITED"), Some("1")),
        rate_limited,
    ))
    .await;
    // Retry-After longer than the interval: no retry inside the poll, and the next poll tries again.
    let first_request = rig.simulator.requests().len();
    rig.run(Episode::once(
        status(429, Some("RATE_LIMITED_TOKEN_BUCKET"), Some("30")),
        counted(INVITES, "RATE_LIMITED_TOKEN_BUCKET", Some(429)),
    ))
    .await;
    let requests: Vec<_> = rig.simulator.requests()[first_request..]
        .iter()
        .filter(|request| request.org_id.as_deref() == Some(ORG_A))
        .cloned()
        .collect();
    let limited = requests
        .iter()
        .position(|request| request.fault.is_some())
        .unwrap();
    let next = &requests[limited + 1];
    let gap = next.received_at - requests[limited].received_at;
    assert_eq!(next.status, 200);
    assert!(
        gap > Duration::from_millis(700) && gap < Duration::from_millis(2500),
        "the next attempt is the next poll's, one interval later: {gap:?}"
    );
    rig.assert_no_retry_storm(1);
    rig.assert_nothing_secret_emitted().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_error_and_rate_limit_bursts_get_three_attempts_then_the_poll_fails() {
    let rig = Rig::start(&THREE_ATTEMPTS).await;
    rig.run(Episode::repeated(
        status(429, Some("RATE_LIMITED"), None),
        3,
        counted(INVITES, "RATE_LIMITED", Some(429)),
        1..=1,
    ))
    .await;
    rig.run(Episode::repeated(
        status(503, Some("SERVICE_UNAVAILABLE"), None),
        3,
        counted(INVITES, "SERVICE_UNAVAILABLE", Some(503)),
        1..=1,
    ))
    .await;
    rig.run(Episode {
        faults: vec![
            status(500, Some("UNEXPECTED_ERROR"), None),
            Fault::Html { status: 502 },
            status(503, None, None),
        ],
        on_token_endpoint: false,
        counted: vec![
            counted(INVITES, "UNEXPECTED_ERROR", Some(500)),
            counted(INVITES, "HTTP_502", Some(502)),
            counted(INVITES, "HTTP_503", Some(503)),
        ],
        failed_polls: 1..=1,
    })
    .await;
    rig.assert_no_retry_storm(1);
    rig.assert_nothing_secret_emitted().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_endpoint_refusing_or_down_after_a_token_expired_mid_run() {
    let rig = Rig::start(&THREE_ATTEMPTS).await;
    // The expired token earns a 401; the refresh is refused, so that 401 is the call's outcome.
    rig.run(Episode {
        faults: vec![Fault::OAuthError {
            status: 401,
            error: "invalid_client".into(),
        }],
        on_token_endpoint: true,
        counted: vec![
            counted(TOKEN, "INVALID_CLIENT", Some(401)),
            counted(INVITES, "USER_UNAUTHORIZED", Some(401)),
        ],
        failed_polls: 1..=1,
    })
    .await;
    // The token endpoint drops the connection three times: the first refresh fails the call as above;
    // the next poll fetches the token itself, twice in vain, and the third attempt succeeds.
    rig.run(Episode {
        faults: vec![Fault::Reset; 3],
        on_token_endpoint: true,
        counted: vec![
            counted(TOKEN, "CONNECTION", None),
            counted(TOKEN, "CONNECTION", None),
            counted(TOKEN, "CONNECTION", None),
            counted(INVITES, "USER_UNAUTHORIZED", Some(401)),
        ],
        failed_polls: 1..=1,
    })
    .await;
    // A's requests: one 401 and one retry per refreshed call.
    rig.assert_no_retry_storm(2);
    rig.assert_nothing_secret_emitted().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_refused_keeps_the_last_data_and_recovers_when_atlas_returns() {
    let Rig {
        simulator,
        exporter,
    } = Rig::start(&DEFAULTS).await;
    let address = simulator.local_addr();
    drop(simulator);

    let m = exporter
        .wait_for_metrics("both orgs refused", |m| {
            errors(m, ORG_A, INVITES, "CONNECTION") >= 1.0
                && errors(m, ORG_B, INVITES, "CONNECTION") >= 1.0
                && m.get("atlas_invites_poll_success", &org(ORG_A)) == Some(0.0)
                && m.get("atlas_invites_poll_success", &org(ORG_B)) == Some(0.0)
        })
        .await;
    for (org_id, pending) in [(ORG_A, A_PENDING), (ORG_B, B_PENDING)] {
        assert_eq!(
            m.get("atlas_invites_pending", &org(org_id)),
            Some(pending),
            "last good data kept"
        );
        // Each failed call counted once: every call without a response is an error, CONNECTION, or
        // TIMEOUT should the poll's deadline cut a call short.
        assert_eq!(
            m.get(
                "atlas_invites_api_requests_total",
                &[("org_id", org_id), ("endpoint", INVITES), ("code", "")]
            ),
            Some(
                errors(&m, org_id, INVITES, "CONNECTION") + errors(&m, org_id, INVITES, "TIMEOUT")
            ),
            "{}",
            m.text
        );
        let logs = exporter.logs();
        let failed = poll_lines(&logs, org_id, "poll failed");
        assert!(!failed.is_empty());
        assert!(
            failed.iter().all(|line| {
                (counted(INVITES, "CONNECTION", None).matches(line)
                    && line.contains("Connection refused"))
                    || counted(INVITES, "TIMEOUT", None).matches(line)
            }),
            "{failed:?}"
        );
    }

    // Atlas comes back on the same address: both orgs recover on their next poll.
    let deadline = Instant::now() + Duration::from_secs(10);
    let simulator = loop {
        match Simulator::start_on(address, world()).await {
            Ok(simulator) => break simulator,
            Err(error) => {
                assert!(
                    Instant::now() < deadline,
                    "cannot rebind {address}: {error}"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    let m = exporter
        .wait_for_metrics("both orgs recovered", |m| {
            m.get("atlas_invites_poll_success", &org(ORG_A)) == Some(1.0)
                && m.get("atlas_invites_poll_success", &org(ORG_B)) == Some(1.0)
        })
        .await;
    // The new simulator knows neither A's token nor B's nonce: both are renewed inside the call, so
    // the outage is the only error ever counted.
    let outage: f64 = [ORG_A, ORG_B]
        .iter()
        .map(|org_id| {
            errors(&m, org_id, INVITES, "CONNECTION") + errors(&m, org_id, INVITES, "TIMEOUT")
        })
        .sum();
    assert_eq!(
        m.sum("atlas_invites_api_errors_total", &[]),
        outage,
        "{}",
        m.text
    );
    let rig = Rig {
        simulator,
        exporter,
    };
    rig.assert_nothing_secret_emitted().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unresolvable_host_is_a_connection_error_and_metrics_are_still_served() {
    let exporter = Exporter::start(&config("https://nonexistent.invalid", &DEFAULTS));
    let m = exporter
        .wait_for_metrics("DNS failures counted", |m| {
            errors(m, ORG_A, TOKEN, "CONNECTION") >= 2.0
                && errors(m, ORG_B, INVITES, "CONNECTION") >= 2.0
        })
        .await;
    assert_eq!(m.get("atlas_invites_poll_success", &org(ORG_A)), Some(0.0));
    assert!(!m.has("atlas_invites_pending"));
    let logs = exporter.logs();
    for (org_id, endpoint) in [(ORG_A, TOKEN), (ORG_B, INVITES)] {
        let failed = poll_lines(&logs, org_id, "poll failed");
        assert!(
            failed.iter().all(|line| {
                (counted(endpoint, "CONNECTION", None).matches(line) && line.contains("dns error"))
                    || counted(endpoint, "TIMEOUT", None).matches(line)
            }),
            "{failed:?}"
        );
        // At most three attempts per poll, each counted once.
        let attempts = m
            .get(
                "atlas_invites_api_requests_total",
                &[("org_id", org_id), ("endpoint", endpoint), ("code", "")],
            )
            .unwrap_or(0.0);
        assert!(attempts <= 3.0 * (failed.len() as f64 + 1.0), "{attempts}");
    }
    assert_eq!(exporter.get("/").await.status(), 200);
}

fn self_signed_certificate() -> (String, String) {
    let certified =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .unwrap();
    (certified.cert.pem(), certified.signing_key.serialize_pem())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_that_does_not_verify_is_refused_counted_and_never_bypassed() {
    let (cert, key) = self_signed_certificate();
    let simulator = Simulator::start_tls(world(), &cert, &key).await.unwrap();
    let exporter = Exporter::start(&config(&simulator.base_url(), &DEFAULTS));
    let m = exporter
        .wait_for_metrics(
            "TLS failures counted (not retried: a retry cannot make it verify)",
            |m| errors(m, ORG_A, TOKEN, "TLS") >= 1.0 && errors(m, ORG_B, INVITES, "TLS") >= 1.0,
        )
        .await;
    assert!(!m.has("atlas_invites_pending"));
    assert_eq!(m.get("atlas_invites_poll_success", &org(ORG_B)), Some(0.0));
    assert!(
        simulator.requests().is_empty(),
        "not one request got past the handshake: {:?}",
        simulator.requests()
    );
    let failures = simulator.tls_failures();
    assert!(
        failures.iter().all(|f| f.contains("alert")),
        "the exporter aborted each handshake: {failures:?}"
    );
    let logs = exporter.logs();
    let failed = poll_lines(&logs, ORG_B, "poll failed");
    assert!(
        !failed.is_empty()
            && failed.iter().all(|line| {
                counted(INVITES, "TLS", None).matches(line)
                    && line.contains("invalid peer certificate")
            }),
        "{failed:?}"
    );
    assert_no_secret(&[&logs, &m.text], &[]);

    // The same simulator with its certificate trusted (SSL_CERT_FILE replaces the system roots):
    // the refusal above was the certificate's, and nothing else's.
    let (_dir, cert_file) = write_temp("simulator.pem", &cert);
    let (config_dir, config_file) =
        write_temp("atlas.toml", &config(&simulator.base_url(), &DEFAULTS));
    let trusting = Exporter::spawn(
        &["--config.file", config_file.to_str().unwrap()],
        &[("SSL_CERT_FILE", cert_file.to_str().unwrap())],
        config_dir,
    );
    trusting
        .wait_for_metrics("polls over verified TLS", |m| {
            m.get("atlas_invites_pending", &org(ORG_A)) == Some(A_PENDING)
                && m.get("atlas_invites_pending", &org(ORG_B)) == Some(B_PENDING)
        })
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_under_faults_prints_error_codes_and_no_secret() {
    let simulator = Simulator::start(world()).await.unwrap();
    simulator.push_token_faults([Fault::OAuthError {
        status: 401,
        error: "invalid_client".into(),
    }]);
    simulator.push_faults(ORG_B, [Fault::Html { status: 200 }]);
    let (_dir, path) = write_temp("atlas.toml", &config(&simulator.base_url(), &DEFAULTS));
    let path = path.to_str().unwrap().to_owned();
    let (status, stdout, stderr) = tokio::task::spawn_blocking(move || {
        run_binary(
            &["check", "--config.file", &path, "--log.level", "debug"],
            &[],
        )
    })
    .await
    .unwrap();
    assert_eq!(status.code(), Some(1), "{stdout}{stderr}");
    let row = |org_id: &str| {
        stdout
            .lines()
            .find(|line| line.starts_with(org_id))
            .unwrap_or_else(|| panic!("{stdout}"))
            .to_owned()
    };
    assert!(row(ORG_A).contains("INVALID_CLIENT"), "{stdout}");
    assert!(row(ORG_B).contains("INVALID_RESPONSE"), "{stdout}");
    assert_no_secret(&[&stdout, &stderr], &simulator.issued_tokens());
}

/// Issue 5: secret files readable by the group or others are warned about at start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_file_readable_by_others_is_warned_about() {
    use std::os::unix::fs::PermissionsExt as _;
    let simulator = Simulator::start(world()).await.unwrap();
    let (dir, secret_file) = write_temp("client_secret", CLIENT_SECRET);
    std::fs::set_permissions(&secret_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let toml = config(&simulator.base_url(), &DEFAULTS).replace(
        &format!("client_secret = \"{CLIENT_SECRET}\""),
        &format!("client_secret_file = \"{}\"", secret_file.display()),
    );
    let exporter = Exporter::start(&toml);
    exporter.wait_ready().await;
    let logs = exporter.logs();
    let warning = logs
        .lines()
        .find(|line| line.contains("readable by"))
        .unwrap_or_else(|| panic!("no warning about the secret file's permissions:\n{logs}"));
    assert!(
        warning.contains(&secret_file.display().to_string()),
        "{warning}"
    );
    assert_no_secret(&[&logs], &simulator.issued_tokens());
    drop(dir);
}
