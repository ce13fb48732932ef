//! Every pending grant of access: legacy project invitations merged with the org invitations by
//! invitee (the counting rule), projects the credential may not read, teams and seats; against the
//! simulator, through the real binary.

use atlas_sim::{
    Behaviour, Fault, ProjectAccess, RecordedRequest, SimInvitation, SimOrg, SimProject, SimTeam,
    SimTime, Simulator, World,
};

use crate::util::{Exporter, Exposition};

const ORG: &str = "aaaaaaaaaaaaaaaaaaaaaaa1";
const P_SHARED: &str = "bbbbbbbbbbbbbbbbbbbbbb01";
const P_ALONE: &str = "bbbbbbbbbbbbbbbbbbbbbb02";
const P_FORBIDDEN: &str = "bbbbbbbbbbbbbbbbbbbbbb03";
const P_GONE: &str = "bbbbbbbbbbbbbbbbbbbbbb04";
const TEAM_LISTED: &str = "cccccccccccccccccccccc01";
const TEAM_QUIET: &str = "cccccccccccccccccccccc02";
const TEAM_UNLISTED: &str = "cccccccccccccccccccccc09";
const CLIENT_ID: &str = "mdb_sa_id_0123456789abcdef01234567";
const CLIENT_SECRET: &str = "mdb_sa_sk_coverage-test-do-not-leak-77";
const DAY: i64 = 86_400;

fn invitation(id: &str, username: &str, created_ago: i64, expires_in: i64) -> SimInvitation {
    SimInvitation::sent_ago(id, username, created_ago)
        .with_dates(SimTime::FromNow(-created_ago), SimTime::FromNow(expires_in))
}

fn legacy(id: &str, username: &str, role: &str, expires_in: i64) -> SimInvitation {
    invitation(id, username, 10 * DAY, expires_in).with_org_roles([role])
}

fn project(id: &str, name: &str, invitations: Vec<SimInvitation>) -> SimProject {
    SimProject {
        id: id.into(),
        name: name.into(),
        invitations,
        access: ProjectAccess::Normal,
    }
}

/// Dana has an org invitation (ORG_MEMBER, GROUP_READ_ONLY in the shared project) and, written
/// with other capitals, a legacy GROUP_OWNER invitation in the shared project expiring in 2 days.
/// Eve has an org invitation only, Frank a legacy one only; one project refuses (403), one is gone.
fn org() -> SimOrg {
    let mut org = SimOrg::new(
        ORG,
        "Coverage",
        vec![
            invitation(
                "000000000000000000000001",
                "dana@example.com",
                DAY,
                29 * DAY,
            )
            .with_org_roles(["ORG_MEMBER"])
            .with_project_role(P_SHARED, "GROUP_READ_ONLY"),
            invitation("000000000000000000000002", "eve@example.com", DAY, 29 * DAY)
                .with_org_roles(["ORG_MEMBER"]),
        ],
    );
    org.invitations[0].team_ids = vec![TEAM_LISTED.into(), TEAM_UNLISTED.into()];
    org.projects = vec![
        project(
            P_SHARED,
            "Shared",
            vec![legacy(
                "000000000000000000000011",
                "Dana@Example.COM",
                "GROUP_OWNER",
                2 * DAY,
            )],
        ),
        project(
            P_ALONE,
            "Alone",
            vec![legacy(
                "000000000000000000000012",
                "frank@example.com",
                "GROUP_READ_ONLY",
                20 * DAY,
            )],
        ),
        SimProject {
            access: ProjectAccess::Forbidden,
            ..project(P_FORBIDDEN, "Forbidden", Vec::new())
        },
        SimProject {
            access: ProjectAccess::Gone,
            ..project(P_GONE, "Gone", Vec::new())
        },
    ];
    org.teams = vec![
        SimTeam {
            id: TEAM_LISTED.into(),
            name: "Platform".into(),
        },
        SimTeam {
            id: TEAM_QUIET.into(),
            name: "Data".into(),
        },
    ];
    org.active_users = 120;
    org
}

fn world() -> World {
    World {
        orgs: vec![org()],
        service_accounts: vec![(CLIENT_ID.into(), CLIENT_SECRET.into())],
        ..World::default()
    }
}

fn config(simulator: &Simulator, extra_atlas: &str) -> String {
    format!(
        "[auth]\nclient_id = \"{CLIENT_ID}\"\nclient_secret = \"{CLIENT_SECRET}\"\n\
         [atlas]\nbase_url = \"{}\"\nsource = \"invites\"\ntimeout = \"2s\"\n{extra_atlas}\
         [poll]\ninterval = \"1s\"\njitter = 0.0\n[[orgs]]\nid = \"{ORG}\"\n",
        simulator.base_url()
    )
}

fn calls_to(requests: &[RecordedRequest], path: &str) -> usize {
    requests.iter().filter(|r| r.path == path).count()
}

fn group_invites(project: &str) -> String {
    format!("/api/atlas/v2/groups/{project}/invites")
}

fn org_path(suffix: &str) -> String {
    format!("/api/atlas/v2/orgs/{ORG}/{suffix}")
}

fn value(m: &Exposition, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let mut all = vec![("org_id", ORG)];
    all.extend_from_slice(labels);
    m.get(name, &all)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_project_invitations_count_each_invitee_once_with_the_union_of_their_roles() {
    let simulator = Simulator::start(world()).await.unwrap();
    let exporter = Exporter::start(&config(&simulator, ""));
    let m = exporter
        .wait_for_metrics("the projects' coverage", |m| {
            m.has("atlas_invites_projects") && m.has("atlas_invites_pending")
        })
        .await;
    let now = jiff::Timestamp::now().as_second() as f64;

    // Dana (org + legacy), Eve (org), Frank (legacy only): three invitees, not four invitations.
    assert_eq!(value(&m, "atlas_invites_pending", &[]), Some(3.0));
    assert_eq!(
        value(&m, "atlas_invites_stale", &[]),
        Some(2.0),
        "Dana's and Frank's oldest pending invitations are 10 days old"
    );
    let role = |role: &str| value(&m, "atlas_invites_role_pending", &[("role", role)]);
    assert_eq!(role("ORG_MEMBER"), Some(2.0));
    assert_eq!(role("GROUP_OWNER"), Some(1.0), "Dana's legacy role is hers");
    assert_eq!(role("GROUP_READ_ONLY"), Some(2.0), "Dana and Frank");
    let owner_expiry = value(
        &m,
        "atlas_invites_role_next_expiry_timestamp_seconds",
        &[("role", "GROUP_OWNER")],
    )
    .unwrap();
    assert!((owner_expiry - (now + 2.0 * DAY as f64)).abs() < 120.0);
    let read_only_created = value(
        &m,
        "atlas_invites_role_oldest_created_timestamp_seconds",
        &[("role", "GROUP_READ_ONLY")],
    )
    .unwrap();
    assert!(
        (read_only_created - (now - 10.0 * DAY as f64)).abs() < 120.0,
        "the oldest invitation granting it: Frank's legacy one"
    );
    let project = |id: &str| value(&m, "atlas_invites_project_pending", &[("project_id", id)]);
    assert_eq!(
        project(P_SHARED),
        Some(1.0),
        "Dana once, though invited twice there"
    );
    assert_eq!(project(P_ALONE), Some(1.0));

    // What the projects listed before merging, and how much of the org could be seen.
    let legacy = |id: &str| {
        value(
            &m,
            "atlas_invites_legacy_project_pending",
            &[("project_id", id)],
        )
    };
    assert_eq!(legacy(P_SHARED), Some(1.0));
    assert_eq!(legacy(P_ALONE), Some(1.0));
    assert_eq!(legacy(P_FORBIDDEN), None);
    let state = |s: &str| value(&m, "atlas_invites_projects", &[("state", s)]);
    assert_eq!(
        (state("read"), state("forbidden"), state("failed")),
        (Some(2.0), Some(1.0), Some(0.0))
    );
    assert_eq!(
        value(
            &m,
            "atlas_invites_project_info",
            &[("project_id", P_ALONE), ("project_name", "Alone")]
        ),
        Some(1.0)
    );
    assert_eq!(value(&m, "atlas_invites_poll_success", &[]), Some(1.0));
    // The project invitations API is deprecated too, and sunsets with the org one: its headers
    // become the same series as the org listing's (AtlasInvitesApiSunset watches both).
    let endpoint = [("endpoint", "list_group_invites")];
    assert_eq!(
        m.get("atlas_invites_api_sunset_timestamp_seconds", &endpoint),
        Some(1_814_400_000.0)
    );
    assert_eq!(m.get("atlas_invites_api_deprecated", &endpoint), Some(1.0));
    let exposition = exporter.metrics().await;
    assert!(
        !exposition.to_lowercase().contains("dana@example.com"),
        "no e-mail address in any label"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn projects_are_listed_once_per_slow_interval_and_a_gone_project_is_asked_once() {
    let simulator = Simulator::start(world()).await.unwrap();
    let exporter = Exporter::start(&config(&simulator, ""));
    exporter
        .wait_for_metrics("four polls", |_| {
            calls_to(&simulator.requests(), &org_path("invites")) >= 4
        })
        .await;
    let requests = simulator.requests();
    let polls = calls_to(&requests, &org_path("invites"));
    assert_eq!(calls_to(&requests, &org_path("groups")), 1);
    assert_eq!(calls_to(&requests, &org_path("teams")), 1);
    assert_eq!(calls_to(&requests, &group_invites(P_GONE)), 1);
    // Every poll asks the readable and the forbidden projects once; the poll in flight may have
    // asked them already.
    for project in [P_SHARED, P_ALONE, P_FORBIDDEN] {
        let asked = calls_to(&requests, &group_invites(project));
        assert!(
            asked == polls || asked == polls + 1,
            "{project}: {asked} for {polls} polls"
        );
    }
    let logs = exporter.logs();
    assert_eq!(logs.matches("is no longer asked").count(), 1, "{logs}");
    assert!(!logs.contains(CLIENT_SECRET));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn project_invitations_off_asks_no_project() {
    let simulator = Simulator::start(world()).await.unwrap();
    let exporter = Exporter::start(&config(&simulator, "project_invitations = \"off\"\n"));
    let m = exporter
        .wait_for_metrics("three polls", |_| {
            calls_to(&simulator.requests(), &org_path("invites")) >= 3
        })
        .await;
    let requests = simulator.requests();
    assert_eq!(calls_to(&requests, &org_path("groups")), 0);
    assert!(
        !requests
            .iter()
            .any(|r| r.path.starts_with("/api/atlas/v2/groups/"))
    );
    assert!(!m.has("atlas_invites_projects"));
    assert_eq!(
        value(&m, "atlas_invites_pending", &[]),
        Some(2.0),
        "the org invitations alone"
    );
}

/// The teams listing refused: no name is known, but every team a pending invitee will join keeps
/// its info series, unnamed (the dashboard's team panel joins on it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_teams_listing_keeps_the_pending_teams_unnamed() {
    let simulator = Simulator::start(world()).await.unwrap();
    simulator.set_path_behaviour(ORG, "teams", Behaviour::Forbidden);
    let exporter = Exporter::start(&config(&simulator, ""));
    let m = exporter
        .wait_for_metrics("the teams", |m| {
            m.has("atlas_invites_team_pending") && m.has("atlas_invites_team_info")
        })
        .await;
    let info = |id: &str, name: &str| {
        value(
            &m,
            "atlas_invites_team_info",
            &[("team_id", id), ("team_name", name)],
        )
    };
    assert_eq!(info(TEAM_LISTED, ""), Some(1.0));
    assert_eq!(info(TEAM_UNLISTED, ""), Some(1.0));
    assert_eq!(info(TEAM_QUIET, "Data"), None, "nothing was listed");
    assert_eq!(
        value(
            &m,
            "atlas_invites_api_requests_total",
            &[("endpoint", "list_org_teams"), ("code", "403")]
        ),
        Some(1.0)
    );
    assert_eq!(value(&m, "atlas_invites_poll_success", &[]), Some(1.0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn teams_and_seats_are_exported_with_names_and_the_limit() {
    let simulator = Simulator::start(world()).await.unwrap();
    let exporter = Exporter::start(&config(&simulator, ""));
    let m = exporter
        .wait_for_metrics("teams and seats", |m| {
            m.has("atlas_invites_team_info") && m.has("atlas_invites_org_users")
        })
        .await;
    let team = |id: &str| value(&m, "atlas_invites_team_pending", &[("team_id", id)]);
    assert_eq!(team(TEAM_LISTED), Some(1.0));
    assert_eq!(
        team(TEAM_UNLISTED),
        Some(1.0),
        "a team the listing does not show"
    );
    assert_eq!(team(TEAM_QUIET), None, "no pending invitee joins it");
    let info = |id: &str, name: &str| {
        value(
            &m,
            "atlas_invites_team_info",
            &[("team_id", id), ("team_name", name)],
        )
    };
    assert_eq!(info(TEAM_LISTED, "Platform"), Some(1.0));
    assert_eq!(info(TEAM_QUIET, "Data"), Some(1.0));
    assert_eq!(info(TEAM_UNLISTED, ""), Some(1.0));
    let users = |status: &str| value(&m, "atlas_invites_org_users", &[("status", status)]);
    assert_eq!(users("active"), Some(120.0));
    assert_eq!(users("pending"), Some(3.0));
    assert_eq!(value(&m, "atlas_invites_org_user_limit", &[]), Some(500.0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_shows_the_projects_read_and_refused_and_the_role_a_refusal_needed() {
    let simulator = Simulator::start(world()).await.unwrap();
    let (_dir, path) = crate::util::write_temp("atlas.toml", &config(&simulator, ""));
    let path = path.to_str().unwrap().to_owned();
    let (status, stdout, stderr) = tokio::task::spawn_blocking(move || {
        crate::util::run_binary(&["check", "--config.file", &path], &[])
    })
    .await
    .unwrap();
    assert!(status.success(), "{stdout}{stderr}");
    let row = stdout.lines().find(|l| l.starts_with(ORG)).unwrap();
    assert!(
        row.contains("2 read, 1 forbidden (needs Project Owner)")
            && row.contains("2 legacy pending"),
        "{row}"
    );
    assert!(
        row.contains("Project Owner") && !row.contains("Organization Owner"),
        "only the refused call's role: {row}"
    );
    assert!(!stdout.contains(CLIENT_SECRET) && !stderr.contains(CLIENT_SECRET));
}

/// The exporter on a configuration file the test rewrites before a SIGHUP, once its projects are
/// listed.
async fn reloadable() -> (Simulator, tempfile::TempDir, std::path::PathBuf, Exporter) {
    let simulator = Simulator::start(world()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("atlas.toml");
    std::fs::write(&path, config(&simulator, "")).unwrap();
    let exporter = Exporter::spawn(
        &["--config.file", path.to_str().unwrap()],
        &[],
        tempfile::tempdir().unwrap(),
    );
    exporter
        .wait_for_metrics("the projects listed", |m| m.has("atlas_invites_projects"))
        .await;
    (simulator, dir, path, exporter)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_that_changes_the_organisation_lists_its_projects_again_and_off_stops_asking() {
    let (simulator, _dir, path, exporter) = reloadable().await;

    // A new name restarts the organisation's loop: its projects are listed again.
    let renamed = config(&simulator, "").replace(
        &format!("id = \"{ORG}\"\n"),
        &format!("id = \"{ORG}\"\nname = \"Renamed\"\n"),
    );
    std::fs::write(&path, renamed).unwrap();
    exporter.sighup();
    exporter
        .wait_for_metrics("the projects listed again", |_| {
            calls_to(&simulator.requests(), &org_path("groups")) == 2
        })
        .await;

    // Off for this organisation: no project is asked any more, and the coverage series go.
    let off = config(&simulator, "").replace(
        &format!("id = \"{ORG}\"\n"),
        &format!("id = \"{ORG}\"\nproject_invitations = \"off\"\n"),
    );
    std::fs::write(&path, off).unwrap();
    exporter.sighup();
    let m = exporter
        .wait_for_metrics("the coverage series gone", |m| {
            !m.has("atlas_invites_projects")
        })
        .await;
    assert_eq!(value(&m, "atlas_invites_pending", &[]), Some(2.0));
    let asked = calls_to(&simulator.requests(), &group_invites(P_SHARED));
    exporter
        .wait_for_metrics("two more polls", |_| {
            calls_to(&simulator.requests(), &org_path("invites")) >= 2 + asked
        })
        .await;
    assert_eq!(
        calls_to(&simulator.requests(), &group_invites(P_SHARED)),
        asked,
        "no project asked after the reload"
    );
}

/// The global `[atlas] project_invitations` turned off and on again by reloads (no organisation
/// restarts): the projects are listed again at once, not a `poll.slow_interval` (1 h) later.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn projects_turned_off_and_on_by_reloads_are_listed_again_at_once() {
    let (simulator, _dir, path, exporter) = reloadable().await;
    std::fs::write(&path, config(&simulator, "project_invitations = \"off\"\n")).unwrap();
    exporter.sighup();
    exporter
        .wait_for_metrics("the coverage series gone", |m| {
            !m.has("atlas_invites_projects")
        })
        .await;
    std::fs::write(&path, config(&simulator, "")).unwrap();
    exporter.sighup();
    let m = exporter
        .wait_for_metrics("the projects listed again", |m| {
            m.has("atlas_invites_projects")
        })
        .await;
    assert_eq!(
        value(&m, "atlas_invites_projects", &[("state", "read")]),
        Some(2.0)
    );
    assert_eq!(calls_to(&simulator.requests(), &org_path("groups")), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_project_keeps_its_last_listing_and_never_fails_the_poll() {
    let simulator = Simulator::start(world()).await.unwrap();
    let exporter = Exporter::start(&config(&simulator, ""));
    exporter
        .wait_for_metrics("a first good reading", |m| {
            value(m, "atlas_invites_projects", &[("state", "read")]) == Some(2.0)
        })
        .await;
    // The next project calls fail: the shared project's, asked first, at least (with a 1 s interval
    // a project's call has no time to retry, so the next ones meet the other two faults).
    let unavailable = Fault::Status {
        status: 503,
        error_code: Some("SERVICE_UNAVAILABLE".into()),
        retry_after: None,
    };
    simulator.push_path_faults(ORG, "groups/{groupId}/invites", vec![unavailable; 3]);
    let m = exporter
        .wait_for_metrics("the shared project failed", |m| {
            value(m, "atlas_invites_projects", &[("state", "failed")]) >= Some(1.0)
        })
        .await;
    assert_eq!(value(&m, "atlas_invites_poll_success", &[]), Some(1.0));
    assert_eq!(
        value(
            &m,
            "atlas_invites_legacy_project_pending",
            &[("project_id", P_SHARED)]
        ),
        Some(1.0),
        "its last good listing is kept"
    );
    assert_eq!(
        value(&m, "atlas_invites_role_pending", &[("role", "GROUP_OWNER")]),
        Some(1.0),
        "and still merged: Dana's legacy role"
    );
    assert_eq!(value(&m, "atlas_invites_pending", &[]), Some(3.0));
    assert!(
        m.sum(
            "atlas_invites_api_errors_total",
            &[
                ("endpoint", "list_group_invites"),
                ("error_code", "SERVICE_UNAVAILABLE")
            ]
        ) >= 1.0
    );
}
