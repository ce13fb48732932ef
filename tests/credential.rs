//! The exporter's own credential: the service account secret's expiry and last use, read once per
//! `poll.slow_interval`, the secret in use told by its masked value, and refusals that never fail
//! the organisation's poll; against the simulator, through the real binary.

use atlas_sim::{
    Fault, RecordedRequest, SimInvitation, SimOrg, SimServiceAccountSecret, SimTime, Simulator,
    World,
};

use crate::util::{Exporter, Exposition};

const ORG_A: &str = "aaaaaaaaaaaaaaaaaaaaaaa1";
const ORG_B: &str = "bbbbbbbbbbbbbbbbbbbbbbb2";
const CLIENT_ID: &str = "mdb_sa_id_0123456789abcdef01234567";
const CLIENT_SECRET: &str = "mdb_sa_sk_credential-test-do-not-leak-9f3e";
const PUBLIC_KEY: &str = "credpub";
const PRIVATE_KEY: &str = "PRIVATE-credential-do-not-leak";
const DAY: i64 = 86_400;

fn orgs() -> Vec<SimOrg> {
    [ORG_A, ORG_B]
        .iter()
        .map(|id| {
            SimOrg::new(
                *id,
                "Org",
                vec![
                    SimInvitation::sent_ago("000000000000000000000001", "a@example.com", 3600)
                        .with_org_roles(["ORG_MEMBER"]),
                ],
            )
        })
        .collect()
}

/// Two secrets: ours (its masked value shows our secret's start and end), expiring in 10 days, and
/// another expiring sooner, which must not be taken for ours.
fn world() -> World {
    let ours = SimServiceAccountSecret {
        last_used: Some(SimTime::FromNow(-3600)),
        masked: Some(format!(
            "{}...{}",
            &CLIENT_SECRET[..10],
            &CLIENT_SECRET[CLIENT_SECRET.len() - 4..]
        )),
        ..SimServiceAccountSecret::expiring_in(CLIENT_ID, "aaaaaaaaaaaaaaaaaaaaaa01", 10 * DAY)
    };
    let other = SimServiceAccountSecret {
        masked: Some("mdb_sa_sk_...zzzz".to_owned()),
        ..SimServiceAccountSecret::expiring_in(CLIENT_ID, "aaaaaaaaaaaaaaaaaaaaaa02", 2 * DAY)
    };
    World {
        orgs: orgs(),
        service_accounts: vec![(CLIENT_ID.into(), CLIENT_SECRET.into())],
        service_account_secrets: vec![ours, other],
        api_keys: vec![(PUBLIC_KEY.into(), PRIVATE_KEY.into())],
        ..World::default()
    }
}

fn config(simulator: &Simulator, auth: &str) -> String {
    format!(
        "{auth}[atlas]\nbase_url = \"{}\"\nsource = \"invites\"\ntimeout = \"2s\"\n[poll]\ninterval = \"1s\"\njitter = 0.0\n[[orgs]]\nid = \"{ORG_A}\"\n[[orgs]]\nid = \"{ORG_B}\"\n",
        simulator.base_url()
    )
}

fn service_account() -> String {
    format!("[auth]\nclient_id = \"{CLIENT_ID}\"\nclient_secret = \"{CLIENT_SECRET}\"\n")
}

fn service_account_reads(requests: &[RecordedRequest]) -> usize {
    requests
        .iter()
        .filter(|r| r.path.contains("/serviceAccounts/"))
        .count()
}

fn invitation_listings(requests: &[RecordedRequest], org: &str) -> usize {
    requests
        .iter()
        .filter(|r| r.path == format!("/api/atlas/v2/orgs/{org}/invites"))
        .count()
}

fn expiry(m: &Exposition) -> Option<f64> {
    m.get(
        "atlas_invites_credential_secret_expiry_timestamp_seconds",
        &[("credential", CLIENT_ID)],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_secret_in_use_is_read_once_per_slow_interval_and_exported() {
    let simulator = Simulator::start(world()).await.unwrap();
    let exporter = Exporter::start(&config(&simulator, &service_account()));
    let m = exporter
        .wait_for_metrics("the secret's expiry", |m| expiry(m).is_some())
        .await;
    let now = jiff::Timestamp::now().as_second() as f64;
    let expires = expiry(&m).unwrap();
    assert!(
        (expires - (now + 10.0 * DAY as f64)).abs() < 120.0,
        "ours, in 10 days, not the other one in 2: {expires} at {now}"
    );
    let last_used = m
        .get(
            "atlas_invites_credential_secret_last_used_timestamp_seconds",
            &[("credential", CLIENT_ID)],
        )
        .expect("lastUsedAt exported");
    assert!((last_used - (now - 3600.0)).abs() < 120.0, "{last_used}");

    // Several polls of both organisations later (1 s interval), still one reading: the slow
    // interval is an hour, and the two organisations share the credential.
    exporter
        .wait_for_metrics("three more polls of each organisation", |_| {
            let requests = simulator.requests();
            invitation_listings(&requests, ORG_A) >= 4 && invitation_listings(&requests, ORG_B) >= 4
        })
        .await;
    assert_eq!(service_account_reads(&simulator.requests()), 1);
    let m = Exposition::parse(&exporter.metrics().await);
    let reads: f64 = m.sum(
        "atlas_invites_api_requests_total",
        &[("endpoint", "get_org_service_account"), ("code", "200")],
    );
    assert_eq!(reads, 1.0, "counted under the organisation that read it");
    assert!(!exporter.logs().contains(CLIENT_SECRET));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_read_is_logged_once_and_never_fails_the_poll() {
    let simulator = Simulator::start(world()).await.unwrap();
    for org in [ORG_A, ORG_B] {
        simulator.push_path_faults(
            org,
            "serviceAccounts",
            [Fault::Status {
                status: 403,
                error_code: Some("USER_UNAUTHORIZED".into()),
                retry_after: None,
            }],
        );
    }
    let toml = config(&simulator, &service_account())
        .replace("[poll]\n", "[poll]\nslow_interval = \"1s\"\n");
    let exporter = Exporter::start(&toml);
    // The first read is refused; with a 1 s slow interval a later one reads it.
    let m = exporter
        .wait_for_metrics("the refusal counted, then a good read", |m| {
            m.sum(
                "atlas_invites_api_errors_total",
                &[("endpoint", "get_org_service_account")],
            ) >= 1.0
                && expiry(m).is_some()
        })
        .await;
    for org in [ORG_A, ORG_B] {
        assert_eq!(
            m.get("atlas_invites_poll_success", &[("org_id", org)]),
            Some(1.0),
            "the refusal does not fail the poll"
        );
    }
    let logs = exporter.logs();
    assert_eq!(
        logs.matches("cannot read this service account's secret expiry")
            .count(),
        1,
        "{logs}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_key_has_no_secret_expiry_to_read() {
    let simulator = Simulator::start(world()).await.unwrap();
    let auth = format!("[auth]\npublic_key = \"{PUBLIC_KEY}\"\nprivate_key = \"{PRIVATE_KEY}\"\n");
    let exporter = Exporter::start(&config(&simulator, &auth));
    let m = exporter
        .wait_for_metrics("two polls of each organisation", |_| {
            let requests = simulator.requests();
            invitation_listings(&requests, ORG_A) >= 2 && invitation_listings(&requests, ORG_B) >= 2
        })
        .await;
    assert_eq!(service_account_reads(&simulator.requests()), 0);
    assert!(!m.has("atlas_invites_credential_secret_expiry_timestamp_seconds"));
}
