//! `check` through the binary: the table's names and notes, transport causes, configuration
//! warnings, a wrong organisation id, `--demo`, and the exit codes.

use atlas_sim::{Behaviour, Fault, SimInvitation, SimOrg, Simulator, World};

use crate::util::{run_binary, write_temp};

const ORG_A: &str = "aaaaaaaaaaaaaaaaaaaaaaa1";
const ORG_B: &str = "bbbbbbbbbbbbbbbbbbbbbbb2";
const ORG_UNKNOWN: &str = "ccccccccccccccccccccccc3";
const CLIENT_ID: &str = "mdb_sa_id_check";
const SECRET: &str = "check-secret-never-printed";

fn world() -> World {
    let invitation = |id: &str| SimInvitation::sent_ago(id.to_owned(), "someone@example.com", 3600);
    World {
        orgs: vec![
            SimOrg::new(
                ORG_A,
                "Name From Atlas",
                vec![invitation("aaaaaaaaaaaaaaaaaaaaa001")],
            ),
            SimOrg::new(
                ORG_B,
                "Atlas Name Not Shown",
                vec![invitation("bbbbbbbbbbbbbbbbbbbbb001")],
            ),
        ],
        service_accounts: vec![(CLIENT_ID.into(), SECRET.into())],
        ..World::default()
    }
}

fn config(base_url: &str, extra: &str, orgs: &str) -> String {
    format!(
        "[auth]\nclient_id = \"{CLIENT_ID}\"\nclient_secret = \"{SECRET}\"\n[atlas]\nbase_url = \"{base_url}\"\ntimeout = \"2s\"\n{extra}\n{orgs}"
    )
}

/// Runs `check` off the async runtime, so that the simulator keeps answering.
async fn check(args: Vec<String>) -> (Option<i32>, String, String) {
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (status, stdout, stderr) = run_binary(&args, &[]);
        (status.code(), stdout, stderr)
    })
    .await
    .unwrap()
}

fn row<'a>(stdout: &'a str, org: &str) -> &'a str {
    stdout
        .lines()
        .find(|line| line.starts_with(org))
        .unwrap_or_else(|| panic!("no row for {org}:\n{stdout}"))
}

/// The lines printed under an organisation's row.
fn notes<'a>(stdout: &'a str, org: &str) -> Vec<&'a str> {
    stdout
        .lines()
        .skip_while(|line| !line.starts_with(org))
        .skip(1)
        .take_while(|line| line.starts_with("    "))
        .collect()
}

/// Names come from the configuration, else from Atlas; a wrong id is said to be one; warnings come
/// first; one failing organisation makes the exit code 1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_warnings_and_a_wrong_org_id() {
    let simulator = Simulator::start(world()).await.unwrap();
    let orgs = format!(
        "[[orgs]]\nid = \"{ORG_A}\"\n[[orgs]]\nid = \"{ORG_B}\"\nname = \"Configured Name\"\n[[orgs]]\nid = \"{ORG_UNKNOWN}\"\n"
    );
    // Filters without discovery: valid, with a warning.
    let extra = "[discovery]\ninclude = [\"prod-*\"]\n";
    let (_dir, path) = write_temp("atlas.toml", &config(&simulator.base_url(), extra, &orgs));
    let (code, stdout, stderr) = check(vec![
        "check".into(),
        "--config.file".into(),
        path.to_str().unwrap().into(),
    ])
    .await;
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(
        stdout.starts_with("warning: discovery.include has no effect"),
        "{stdout}"
    );
    let header = stdout.lines().find(|l| l.starts_with("ORG")).unwrap();
    assert!(
        header.contains("NAME") && header.contains("DETAIL"),
        "{header}"
    );
    assert!(row(&stdout, ORG_A).contains("Name From Atlas"), "{stdout}");
    let b = row(&stdout, ORG_B);
    assert!(
        b.contains("Configured Name") && !b.contains("Atlas Name"),
        "{b}"
    );
    assert!(row(&stdout, ORG_A).contains(" ok "), "{stdout}");
    let unknown = row(&stdout, ORG_UNKNOWN);
    assert!(
        unknown.contains("error") && unknown.contains("RESOURCE_NOT_FOUND"),
        "{unknown}"
    );
    let hint = notes(&stdout, ORG_UNKNOWN);
    assert!(
        hint.iter().any(|l| l.contains("check the organisation id")),
        "{stdout}"
    );
    // Not a lack of role: no role is named for it.
    assert!(!unknown.contains("Organization"), "{unknown}");
    for text in [&stdout, &stderr] {
        assert!(
            !text.contains(SECRET) && !text.contains("someone@example.com"),
            "{text}"
        );
    }
}

/// A transport failure shows what the transport said, on a line under the row.
#[test]
fn a_refused_connection_shows_its_cause() {
    // Port 9 (discard) on loopback: nothing listens, the connection is refused.
    let orgs = format!("[[orgs]]\nid = \"{ORG_A}\"\nname = \"Prod\"\n");
    let (_dir, path) = write_temp("atlas.toml", &config("http://127.0.0.1:9", "", &orgs));
    let (status, stdout, stderr) =
        run_binary(&["check", "--config.file", path.to_str().unwrap()], &[]);
    assert_eq!(status.code(), Some(1), "{stdout}{stderr}");
    assert!(row(&stdout, ORG_A).contains("CONNECTION"), "{stdout}");
    let cause = notes(&stdout, ORG_A);
    assert!(
        cause
            .iter()
            .any(|l| l.contains("cause:") && l.contains("refused")),
        "{stdout}"
    );
    assert!(!stdout.contains(SECRET) && !stderr.contains(SECRET));
}

/// A certificate that does not verify is named as the cause.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_that_does_not_verify_shows_its_cause() {
    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let simulator = Simulator::start_tls(
        world(),
        &certified.cert.pem(),
        &certified.signing_key.serialize_pem(),
    )
    .await
    .unwrap();
    let orgs = format!("[[orgs]]\nid = \"{ORG_A}\"\n");
    let (_dir, path) = write_temp("atlas.toml", &config(&simulator.base_url(), "", &orgs));
    let (code, stdout, stderr) = check(vec![
        "check".into(),
        "--config.file".into(),
        path.to_str().unwrap().into(),
    ])
    .await;
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(row(&stdout, ORG_A).contains("TLS"), "{stdout}");
    assert!(
        notes(&stdout, ORG_A)
            .iter()
            .any(|l| l.contains("cause:") && l.contains("certificate")),
        "{stdout}"
    );
}

/// `check --demo` needs nothing else: the table of the demo world, with its one failing organisation.
#[test]
fn check_runs_against_the_demo() {
    let (status, stdout, stderr) = run_binary(&["check", "--demo"], &[]);
    // The demo world has an organisation whose credential is refused, on purpose.
    assert_eq!(status.code(), Some(1), "{stdout}{stderr}");
    let rows: Vec<&str> = stdout
        .lines()
        .filter(|l| l.len() > 24 && l.as_bytes()[..24].iter().all(u8::is_ascii_hexdigit))
        .collect();
    assert_eq!(rows.len(), 5, "{stdout}");
    assert!(
        rows.iter().filter(|r| r.contains(" ok ")).count() >= 4,
        "{stdout}"
    );
    assert!(stdout.contains("Acme Production"), "{stdout}");
    // The same with the flag before the subcommand.
    let (status, before, _) = run_binary(&["--demo", "check"], &[]);
    assert_eq!(status.code(), Some(1));
    assert_eq!(before.lines().count(), stdout.lines().count());
}

/// Exit codes: 0 when every organisation answered, 2 for a usage error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_codes() {
    let simulator = Simulator::start(world()).await.unwrap();
    let orgs = format!("[[orgs]]\nid = \"{ORG_A}\"\n");
    let (_dir, path) = write_temp("atlas.toml", &config(&simulator.base_url(), "", &orgs));
    let (code, stdout, stderr) = check(vec![
        "check".into(),
        "--config.file".into(),
        path.to_str().unwrap().into(),
    ])
    .await;
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    let (code, _, stderr) = check(vec!["check".into(), "--no-such-flag".into()]).await;
    assert_eq!(code, Some(2), "{stderr}");
}

/// A 403 for lack of a role names the role; a 403 from the API access list names none and says to
/// mend the access list.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_a_refusal_for_lack_of_role_names_a_role() {
    let simulator = Simulator::start(world()).await.unwrap();
    simulator.set_behaviour(ORG_A, Behaviour::Forbidden);
    let access_list = || Fault::Status {
        status: 403,
        error_code: Some("IP_ADDRESS_NOT_ON_ACCESS_LIST".into()),
        retry_after: None,
    };
    // The invitations call and the org-users call that `auto` tries after a 403.
    simulator.push_faults(ORG_B, [access_list(), access_list()]);
    let orgs = format!("[[orgs]]\nid = \"{ORG_A}\"\n[[orgs]]\nid = \"{ORG_B}\"\n");
    let (_dir, path) = write_temp("atlas.toml", &config(&simulator.base_url(), "", &orgs));
    let (code, stdout, stderr) = check(vec![
        "check".into(),
        "--config.file".into(),
        path.to_str().unwrap().into(),
    ])
    .await;
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(
        row(&stdout, ORG_A).contains("Organization Owner"),
        "{stdout}"
    );
    let refused = row(&stdout, ORG_B);
    assert!(
        refused.contains("IP_ADDRESS_NOT_ON_ACCESS_LIST") && !refused.contains("Organization"),
        "{stdout}"
    );
    assert!(
        notes(&stdout, ORG_B)
            .iter()
            .any(|l| l.contains("access list")),
        "{stdout}"
    );
}
