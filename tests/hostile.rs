//! Hostile input on our side (issue 5): names, roles and project ids that try to break the exposition
//! or the landing page, and property tests of every parser that reads what Atlas or the operator
//! sends (the invitation and org-users JSON, the Digest challenge, the configuration file). The fuzz
//! targets in `fuzz/` cover the same parsers for longer; these run on every `cargo test`.

use std::io::Write as _;
use std::process::{Command, Stdio};
use std::time::Duration;

use atlas_client::model::{parse_org_invitations, parse_org_users_page};
use atlas_client::parse_challenge;
use atlas_client::{Invitation, InvitationSink, ProjectRole};
use atlas_invites_exporter::config::{ExpiryWindow, Overrides, load_from};
use atlas_invites_exporter::metrics::aggregate::{AggregateSettings, Aggregator};
use atlas_sim::{SimInvitation, SimOrg, Simulator, World};
use jiff::Timestamp;
use proptest::prelude::*;
use reqwest::header::HeaderValue;
use serde_json::{Value, json};

use crate::util::{Exporter, Exposition};

const ORG_QUOTES: &str = "aaaaaaaaaaaaaaaaaaaaaaa1";
const ORG_LONG: &str = "bbbbbbbbbbbbbbbbbbbbbbb2";
const CLIENT_ID: &str = "mdb_sa_id_hostile";
const CLIENT_SECRET: &str = "mdb_sa_sk_hostile-do-not-leak";

/// Everything the text format must escape or carry as is, and everything HTML must escape.
const NASTY: &str = "Acme \"Prod\" \\ C:\\new\\ line\nbreak\r\ttab <script>alert('x')</script> & Zürich 東京 🚀 {a=\"b\"} # not a comment";

fn long(text: &str, bytes: usize) -> String {
    text.repeat(bytes / text.len() + 1)
}

/// A label value as the exporter must export it: at most 256 bytes, longer values cut at a
/// character boundary and marked with "…" (3 bytes).
fn as_label(value: &str) -> String {
    if value.len() <= 256 {
        return value.to_owned();
    }
    let mut cut = String::new();
    for c in value.chars() {
        if cut.len() + c.len_utf8() > 253 {
            break;
        }
        cut.push(c);
    }
    cut + "…"
}

fn hostile_world() -> World {
    let long_name = long("Ω long name ", 16 * 1024);
    let long_role = long("ROLE_", 4 * 1024);
    let long_project = long("f00d", 4 * 1024);
    let nasty = SimInvitation::sent_ago("000000000000000000000001", "x@example.com", 3600)
        .with_org_roles(["ORG_MEMBER", NASTY, "ORG_\u{0}NUL"])
        .with_project_role(NASTY, "GROUP_\"OWNER\"\n")
        .with_project_role("6523f1a0c8e4b2d9f0a1c101", NASTY);
    let lengthy = SimInvitation::sent_ago("000000000000000000000002", "y@example.com", 7200)
        .with_org_roles([long_role.as_str()])
        .with_project_role(long_project.as_str(), long_role.as_str());
    World {
        orgs: vec![
            SimOrg::new(ORG_QUOTES, NASTY, vec![nasty]),
            SimOrg::new(ORG_LONG, long_name, vec![lengthy]),
        ],
        service_accounts: vec![(CLIENT_ID.into(), CLIENT_SECRET.into())],
        ..World::default()
    }
}

/// `promtool check metrics` on the scrape, when promtool is installed (CI installs it).
fn promtool_check(scrape: &str) -> Option<(bool, String)> {
    let mut child = match Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(child) => child,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return None,
        Err(error) => panic!("cannot run promtool: {error}"),
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(scrape.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    Some((output.status.success(), report))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_names_roles_and_project_ids_keep_metrics_valid_and_the_page_escaped() {
    let world = hostile_world();
    let long_name = as_label(&world.orgs[1].name);
    let long_role = as_label(&world.orgs[1].invitations[0].org_roles[0]);
    let long_project = as_label(&world.orgs[1].invitations[0].project_roles[0].0);
    assert!(long_name.ends_with('…') && long_role.ends_with('…') && long_project.ends_with('…'));
    let simulator = Simulator::start(world).await.unwrap();
    let mut toml = format!(
        "[auth]\nclient_id = \"{CLIENT_ID}\"\nclient_secret = \"{CLIENT_SECRET}\"\n[atlas]\nbase_url = \"{}\"\nsource = \"invites\"\ntimeout = \"2s\"\n[poll]\ninterval = \"1s\"\njitter = 0.0\n",
        simulator.base_url()
    );
    for org in [ORG_QUOTES, ORG_LONG] {
        toml.push_str(&format!("[[orgs]]\nid = \"{org}\"\n"));
    }
    let exporter = Exporter::start(&toml);
    let m = exporter
        .wait_for_metrics("both orgs polled", |m| {
            m.get("atlas_invites_pending", &[("org_id", ORG_QUOTES)]) == Some(1.0)
                && m.get("atlas_invites_pending", &[("org_id", ORG_LONG)]) == Some(1.0)
        })
        .await;

    // Every hostile string comes back as Atlas sent it, through the text format's escaping, and cut
    // to 256 bytes if longer: a server with label_value_length_limit would refuse the whole scrape.
    for (name, labels) in m.samples.keys() {
        for (label, value) in labels {
            assert!(
                value.len() <= 256,
                "{name}{{{label}}} is {} bytes",
                value.len()
            );
        }
    }
    let role = |org: &str, role: &str| {
        m.get(
            "atlas_invites_role_pending",
            &[("org_id", org), ("role", role)],
        )
    };
    let project = |org: &str, project: &str| {
        m.get(
            "atlas_invites_project_pending",
            &[("org_id", org), ("project_id", project)],
        )
    };
    assert_eq!(
        m.get(
            "atlas_invites_org_info",
            &[("org_id", ORG_QUOTES), ("org_name", NASTY)]
        ),
        Some(1.0),
        "{}",
        m.text
    );
    assert_eq!(
        m.get(
            "atlas_invites_org_info",
            &[("org_id", ORG_LONG), ("org_name", &long_name)]
        ),
        Some(1.0)
    );
    assert_eq!(role(ORG_QUOTES, NASTY), Some(1.0));
    assert_eq!(role(ORG_QUOTES, "ORG_\u{0}NUL"), Some(1.0));
    assert_eq!(role(ORG_QUOTES, "GROUP_\"OWNER\"\n"), Some(1.0));
    assert_eq!(project(ORG_QUOTES, NASTY), Some(1.0));
    assert_eq!(role(ORG_LONG, &long_role), Some(1.0));
    assert_eq!(project(ORG_LONG, &long_project), Some(1.0));
    // One line per sample: no raw newline escaped from a label value.
    for line in m.text.lines().filter(|l| !l.starts_with('#')) {
        assert!(
            line.starts_with("atlas_invites_") || line.starts_with("process_") || line.is_empty(),
            "a label value broke out of its line: {line:?}"
        );
    }

    match promtool_check(&m.text) {
        Some((ok, report)) => assert!(ok, "promtool check metrics failed:\n{report}"),
        None => eprintln!("promtool not installed; `apt-get install prometheus` to run this check"),
    }
    // The gzip path stitches the same fragments: it must parse the same.
    let gzipped = reqwest::Client::builder()
        .no_gzip()
        .build()
        .unwrap()
        .get(exporter.url("/metrics"))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let mut decoded = String::new();
    std::io::Read::read_to_string(
        &mut flate2::read::GzDecoder::new(&gzipped[..]),
        &mut decoded,
    )
    .unwrap();
    let from_gzip = Exposition::parse(&decoded);
    assert_eq!(
        from_gzip.get(
            "atlas_invites_org_info",
            &[("org_id", ORG_QUOTES), ("org_name", NASTY)]
        ),
        Some(1.0)
    );

    let landing = exporter.get("/").await.text().await.unwrap();
    assert!(!landing.contains("<script>"), "{landing}");
    assert!(landing.contains(
        "Acme &quot;Prod&quot; \\ C:\\new\\ line\nbreak\r\ttab &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; Zürich 東京 🚀"
    ));
    assert!(landing.contains(&long_name));

    // Each cut value is logged once, however many polls met it.
    exporter
        .wait_for_metrics("a second poll of the long org", |m| {
            m.sum(
                "atlas_invites_api_requests_total",
                &[("org_id", ORG_LONG), ("endpoint", "list_org_invites")],
            ) >= 2.0
        })
        .await;
    let logs = exporter.logs();
    for what in ["org_name", "role", "project_id"] {
        let lines = logs
            .lines()
            .filter(|l| {
                l.contains("is longer than 256 bytes") && l.contains(&format!("what=\"{what}\""))
            })
            .count();
        assert_eq!(lines, 1, "{what}: {logs}");
    }
}

// ---------------------------------------------------------------------------------------------------
// Property tests of the parsers (the fuzz targets' fast companions)
// ---------------------------------------------------------------------------------------------------

/// Any JSON value, nested a few levels, with the field names the parsers look for among the keys.
fn arbitrary_json() -> impl Strategy<Value = Value> {
    let key = prop::sample::select(vec![
        "createdAt",
        "expiresAt",
        "roles",
        "groupRoleAssignments",
        "groupId",
        "groupRole",
        "groupRoles",
        "orgName",
        "results",
        "totalCount",
        "orgMembershipStatus",
        "invitationCreatedAt",
        "invitationExpiresAt",
        "orgRoles",
        "id",
        "x",
    ]);
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        prop::sample::select(vec![
            "PENDING",
            "INVITATION_EXPIRED",
            "INVITATION_REJECTED",
            "ACTIVE",
            "2024-05-01T12:00:00Z",
            "2024-05-01T12:00:00+25:00",
            "-009999-01-01T00:00:00Z",
            "9999-12-31T23:59:60Z",
            "",
        ])
        .prop_map(Value::from),
        ".*".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 64, 8, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(key.clone(), inner, 0..6).prop_map(|map| Value::Object(
                map.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
            )),
        ]
    })
}

/// Both decoders of both bodies, on the same bytes: the poller's (counting while decoding) accepts
/// exactly what the reference (invitations, then compute) accepts, with the same numbers.
fn decoders_agree(body: &[u8]) -> Result<(), TestCaseError> {
    let windows = [ExpiryWindow {
        label: "24h".to_owned(),
        duration: Duration::from_secs(86_400),
    }];
    let settings = AggregateSettings {
        expiry_windows: &windows,
        stale_age: Duration::from_secs(7 * 86_400),
        policy: std::sync::Arc::default(),
    };
    let now = jiff::Timestamp::from_second(1_800_000_000).unwrap();

    let mut counted = Aggregator::new(now, &settings);
    let org_name = counted.add_invitations(body);
    match parse_org_invitations(body) {
        Ok(parsed) => {
            prop_assert_eq!(org_name.ok(), Some(parsed.org_name));
            prop_assert_eq!(
                counted.finish(),
                atlas_invites_exporter::poll::handover::count(&parsed.invitations, now, &settings)
            );
        }
        Err(error) => prop_assert_eq!(
            org_name.map(drop).map_err(|e| e.to_string()),
            Err(error.to_string())
        ),
    }

    let mut counted = Aggregator::new(now, &settings);
    let counts = counted.add_org_users_page(body);
    match parse_org_users_page(body) {
        Ok(page) => {
            let counts = counts.map(|c| (c.results, c.total_count));
            prop_assert_eq!(counts.ok(), Some((page.results, page.total_count)));
            prop_assert_eq!(
                counted.finish(),
                atlas_invites_exporter::poll::handover::count(&page.items, now, &settings)
            );
        }
        Err(error) => prop_assert_eq!(
            counts.map(drop).map_err(|e| e.to_string()),
            Err(error.to_string())
        ),
    }
    Ok(())
}

proptest! {
    #[test]
    fn invitation_and_org_user_bodies_of_any_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..512)) {
        decoders_agree(&body)?;
    }

    #[test]
    fn invitation_and_org_user_bodies_of_any_json_never_panic(value in arbitrary_json()) {
        let body = serde_json::to_vec(&value).unwrap();
        decoders_agree(&body)?;
        let wrapped = serde_json::to_vec(&json!({ "results": [value], "totalCount": 1 })).unwrap();
        decoders_agree(&wrapped)?;
        let listed = serde_json::to_vec(&json!([value])).unwrap();
        decoders_agree(&listed)?;
    }

    #[test]
    fn digest_challenges_of_any_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        if let Ok(value) = HeaderValue::from_bytes(&bytes) {
            let _ = parse_challenge(&value);
        }
    }

    #[test]
    fn digest_challenge_soup_never_panics(
        soup in r#"(Digest|digest|DIGEST|Basic)? ?((realm|nonce|qop|algorithm|opaque|stale|domain|charset|userhash)=("[^"]{0,12}"|[a-zA-Z0-9+/=,-]{0,12}|"[a-z, -]*)[, ]{0,2}){0,8}"#
    ) {
        if let Ok(value) = HeaderValue::from_str(&soup) {
            let _ = parse_challenge(&value);
        }
    }
}

/// A wire invitation with arbitrary dates, roles and projects, and what it must decode to.
fn arbitrary_invitation() -> impl Strategy<Value = (Value, Invitation)> {
    let any_text = "\\PC{0,24}";
    let seconds = Timestamp::MIN.as_second()..=Timestamp::MAX.as_second();
    (
        seconds.clone(),
        seconds,
        prop::collection::vec(any_text, 0..4),
        prop::collection::vec((any_text, any_text), 0..4),
    )
        .prop_map(|(created, expires, roles, projects)| {
            let created = Timestamp::from_second(created).unwrap();
            let expires = Timestamp::from_second(expires).unwrap();
            let wire = json!({
                "createdAt": created.to_string(),
                "expiresAt": expires.to_string(),
                "id": "0".repeat(24),
                "orgId": "a".repeat(24),
                "orgName": "ignored unless first",
                "roles": roles,
                "groupRoleAssignments": projects
                    .iter()
                    .map(|(group_id, group_role)| json!({ "groupId": group_id, "groupRole": group_role }))
                    .collect::<Vec<_>>(),
                "teamIds": [],
                "username": "x@example.com",
                "inviterUsername": "y@example.com",
            });
            let ours = Invitation {
                created_at: created,
                expires_at: Some(expires),
                org_roles: roles,
                project_roles: projects
                    .into_iter()
                    .map(|(project_id, role)| ProjectRole { project_id, role })
                    .collect(),
                id: "0".repeat(24),
                username: "x@example.com".to_owned(),
                inviter_username: Some("y@example.com".to_owned()),
                team_ids: Vec::new(),
            };
            (wire, ours)
        })
}

proptest! {
    #[test]
    fn valid_invitations_round_trip(
        invitations in prop::collection::vec(arbitrary_invitation(), 0..8),
        org_name in "\\PC{0,32}",
    ) {
        let (mut wire, ours): (Vec<Value>, Vec<Invitation>) = invitations.into_iter().unzip();
        if let Some(first) = wire.first_mut() {
            first["orgName"] = Value::from(org_name.clone());
        }
        let body = serde_json::to_vec(&wire).unwrap();
        let parsed = parse_org_invitations(&body).unwrap();
        prop_assert_eq!(parsed.invitations, ours.clone());
        // Valid bodies of arbitrary text: the poller's scanner takes most of them, and must agree.
        decoders_agree(&body)?;
        prop_assert_eq!(parsed.org_name, ours.first().map(|_| org_name));

        // The same invitations as org users, among members and rejected ones that must be skipped.
        let mut results = Vec::new();
        for (index, invitation) in ours.iter().enumerate() {
            let status = if index % 2 == 0 { "PENDING" } else { "INVITATION_EXPIRED" };
            let mut groups: Vec<(String, Vec<String>)> = Vec::new();
            for role in &invitation.project_roles {
                match groups.iter_mut().find(|(project, _)| *project == role.project_id) {
                    Some((_, roles)) => roles.push(role.role.clone()),
                    None => groups.push((role.project_id.clone(), vec![role.role.clone()])),
                }
            }
            results.push(json!({ "orgMembershipStatus": "ACTIVE", "username": "m@example.com" }));
            results.push(json!({
                "id": invitation.id,
                "username": invitation.username,
                "inviterUsername": invitation.inviter_username,
                "teamIds": invitation.team_ids,
                "orgMembershipStatus": status,
                "invitationCreatedAt": invitation.created_at.to_string(),
                "invitationExpiresAt": invitation.expires_at.map(|t| t.to_string()),
                "roles": {
                    "orgRoles": invitation.org_roles,
                    "groupRoleAssignments": groups
                        .iter()
                        .map(|(project, roles)| json!({ "groupId": project, "groupRoles": roles }))
                        .collect::<Vec<_>>(),
                },
            }));
            results.push(json!({ "orgMembershipStatus": "INVITATION_REJECTED", "invitationExpiresAt": null }));
        }
        let page = json!({ "results": results, "totalCount": results.len() });
        let body = serde_json::to_vec(&page).unwrap();
        decoders_agree(&body)?;
        let parsed = parse_org_users_page(&body).unwrap();
        prop_assert_eq!(parsed.results, results.len());
        prop_assert_eq!(parsed.total_count, Some(results.len() as u64));
        // Project roles come back grouped by project, in first-seen order.
        let regrouped: Vec<Invitation> = ours
            .into_iter()
            .map(|mut invitation| {
                let mut grouped: Vec<ProjectRole> = Vec::new();
                let mut projects: Vec<String> = Vec::new();
                for role in &invitation.project_roles {
                    if !projects.contains(&role.project_id) {
                        projects.push(role.project_id.clone());
                    }
                }
                for project in projects {
                    grouped.extend(
                        invitation.project_roles.iter().filter(|r| r.project_id == project).cloned(),
                    );
                }
                invitation.project_roles = grouped;
                invitation
            })
            .collect();
        prop_assert_eq!(parsed.items, regrouped);
    }
}

// ---------------------------------------------------------------------------------------------------
// The configuration loader: whatever the file says, an error naming the key and the source, or a
// configuration; never a panic.
// ---------------------------------------------------------------------------------------------------

/// Loads `toml` as the configuration file, with an empty environment.
fn load_toml(toml: &str) -> Result<(), Vec<(String, String)>> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("atlas.toml");
    std::fs::write(&path, toml).unwrap();
    let overrides = Overrides {
        config_file: Some(path),
        ..Overrides::default()
    };
    load_from(&overrides, false, Vec::new())
        .map(|_| ())
        .map_err(|errors| {
            errors
                .0
                .into_iter()
                .map(|error| (error.key, error.source_name))
                .collect()
        })
}

/// A TOML value of any type, as text.
fn toml_value() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|f| {
            if f.is_nan() {
                "nan".to_owned()
            } else if f.is_infinite() {
                if f > 0.0 { "inf" } else { "-inf" }.to_owned()
            } else {
                format!("{f:?}")
            }
        }),
        any::<bool>().prop_map(|b| b.to_string()),
        "\\PC{0,20}".prop_map(|s| format!("{s:?}")),
        prop::sample::select(vec![
            "\"1s\"",
            "\"0s\"",
            "\"-1s\"",
            "\"1ns\"",
            "\"18446744073709551615s\"",
            "\"99999999999y\"",
            "\"24h\"",
            "\"\"",
            "\"auto\"",
            "\"org_users\"",
            "\"invites\"",
            "\"from_hostname\"",
            "\"0.0.0.0:99999\"",
            "\"[::1]:0\"",
            "\"http://\"",
            "\"https://cloud.mongodb.com\"",
            "\"debug\"",
            "\"json\"",
            "\"aaaaaaaaaaaaaaaaaaaaaaa1\"",
            "\"Acme*\"",
            "\"/dev/null\"",
            "\"/nonexistent\"",
            "\"HOME\"",
            "1979-05-27T07:32:00Z",
            "0.5",
            "-0.0",
            "1e309",
        ])
        .prop_map(str::to_owned),
    ];
    leaf.prop_recursive(2, 12, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4)
                .prop_map(|items| format!("[{}]", items.join(", "))),
            prop::collection::vec(("[a-z_]{1,8}", inner), 0..3).prop_map(|pairs| {
                let fields: Vec<String> = pairs
                    .into_iter()
                    .map(|(k, v)| format!("{k} = {v}"))
                    .collect();
                format!("{{ {} }}", fields.join(", "))
            }),
        ]
    })
}

/// A configuration file built from the exporter's own sections and keys (and a few unknown ones),
/// each set to a value of any type.
fn config_file() -> impl Strategy<Value = String> {
    let section = prop::sample::select(vec![
        "atlas",
        "auth",
        "poll",
        "metrics",
        "discovery",
        "sharding",
        "web",
        "log",
        "nope",
    ]);
    let key = prop::sample::select(vec![
        "base_url",
        "timeout",
        "max_response_bytes",
        "source",
        "client_id",
        "client_secret",
        "client_secret_file",
        "client_secret_env",
        "public_key",
        "private_key",
        "private_key_file",
        "private_key_env",
        "interval",
        "concurrency",
        "jitter",
        "keep_stale_for",
        "expiry_windows",
        "stale_age",
        "enabled",
        "include",
        "exclude",
        "total",
        "index",
        "listen_address",
        "level",
        "format",
        "id",
        "name",
        "unknown",
    ]);
    let table = (
        section,
        prop::collection::vec((key.clone(), toml_value()), 0..5),
    );
    let org = prop::collection::vec((key, toml_value()), 0..5);
    (
        prop::collection::vec(table, 0..5),
        prop::collection::vec(org, 0..3),
    )
        .prop_map(|(tables, orgs)| {
            let mut toml = String::new();
            for (section, entries) in tables {
                toml.push_str(&format!("[{section}]\n"));
                for (key, value) in entries {
                    toml.push_str(&format!("{key} = {value}\n"));
                }
            }
            for entries in orgs {
                toml.push_str("[[orgs]]\n");
                for (key, value) in entries {
                    toml.push_str(&format!("{key} = {value}\n"));
                }
            }
            toml
        })
}

fn assert_errors_name_key_and_source(toml: &str, errors: &[(String, String)]) {
    assert!(!errors.is_empty(), "an error list is never empty\n{toml}");
    for (key, source) in errors {
        assert!(!key.is_empty(), "an error without its key\n{toml}");
        assert!(!source.is_empty(), "an error without its source\n{toml}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn any_configuration_file_loads_or_names_key_and_source(toml in config_file()) {
        if let Err(errors) = load_toml(&toml) {
            assert_errors_name_key_and_source(&toml, &errors);
        }
    }

    #[test]
    fn configuration_files_of_any_text_never_panic(toml in "\\PC{0,200}") {
        if let Err(errors) = load_toml(&toml) {
            assert_errors_name_key_and_source(&toml, &errors);
        }
    }
}

/// Found by the `config` fuzz target: a variable that is the bare prefix (or has an empty level, `__`
/// at the end or `___`) names no key, and its error says so with an empty key.
#[test]
fn environment_variables_without_a_key_are_errors_naming_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("atlas.toml");
    std::fs::write(&path, "").unwrap();
    let mut problems = Vec::new();
    for name in [
        "ATLAS_EXPORTER_",
        "ATLAS_EXPORTER_POLL__",
        "ATLAS_EXPORTER___INTERVAL",
    ] {
        let overrides = Overrides {
            config_file: Some(path.clone()),
            ..Overrides::default()
        };
        match load_from(&overrides, true, vec![(name.to_owned(), "1".to_owned())]) {
            Ok(_) => problems.push(format!("{name} was accepted")),
            Err(errors) => problems.extend(
                errors
                    .0
                    .into_iter()
                    .filter(|e| e.key.is_empty() || !e.source_name.contains(name))
                    .map(|e| format!("{name}: {e:?}")),
            ),
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}
