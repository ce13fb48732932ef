//! Validation: each kind of mistake reported once, under its key and source, and every valid value
//! converted as written.

use std::time::Duration;

use secrecy::ExposeSecret;

use super::{ConfigFile, ORG, SECRET, defaults, env, errors, valid_toml};
use crate::config::load::{Overrides, load_layers};
use crate::config::rules::{check_log_level, hostname_ordinal, parse_org_pattern};
use crate::config::settings::{Config, Credentials, ExpiryWindow, OrgPattern, Source};
use crate::config::validate::Validated;
use crate::types::OrgId;

const SERVICE_ACCOUNT: &str = "[auth]\nclient_id = \"mdb_sa_id_1\"\nclient_secret = \"x\"\n";
const ONE_ORG: &str = "[[orgs]]\nid = \"32b6e34b3d91647abb20e7b8\"\n";
/// An `[orgs.auth]` for the org table just above it.
const OWN_AUTH: &str = "[orgs.auth]\nclient_id = \"mdb_sa_id_own\"\nclient_secret = \"own\"\n";

/// A file that should produce exactly one error, at `key`, from the file.
struct Case {
    name: &'static str,
    toml: String,
    key: &'static str,
    message: &'static str,
}

fn case(name: &'static str, extra: &str, key: &'static str, message: &'static str) -> Case {
    Case {
        name,
        toml: valid_toml(extra),
        key,
        message,
    }
}

fn raw_case(name: &'static str, toml: String, key: &'static str, message: &'static str) -> Case {
    Case {
        name,
        toml,
        key,
        message,
    }
}

#[test]
fn each_error_kind_names_its_key_and_the_file() {
    let missing_secret = "/nonexistent/atlas-secret";
    let cases = vec![
        case(
            "unknown key",
            "[poll]\nintervall = \"5m\"\n",
            "poll.intervall",
            "unknown key",
        ),
        case(
            "unknown section",
            "[atlass]\ntimeout = \"5s\"\n",
            "atlass",
            "unknown key",
        ),
        raw_case(
            "section of the wrong type",
            format!("web = 10046\n{}", valid_toml("")),
            "web",
            "expected a table, found integer 10046",
        ),
        case(
            "wrong type",
            "[poll]\nconcurrency = \"four\"\n",
            "poll.concurrency",
            "expected an integer, found string \"four\"",
        ),
        case(
            "float for an integer",
            "[atlas]\nmax_response_bytes = 1.5\n",
            "atlas.max_response_bytes",
            "expected an integer",
        ),
        case(
            "negative integer",
            "[poll]\nconcurrency = -1\n",
            "poll.concurrency",
            "must not be negative",
        ),
        case(
            "bad duration",
            "[poll]\ninterval = \"ten seconds\"\n",
            "poll.interval",
            "invalid duration \"ten seconds\"",
        ),
        case(
            "keep_stale_for is not compared with an invalid interval",
            "[poll]\ninterval = \"fast\"\nkeep_stale_for = \"1m\"\n",
            "poll.interval",
            "invalid duration",
        ),
        case(
            "duration as a number",
            "[poll]\ninterval = 300\n",
            "poll.interval",
            "expected a duration string",
        ),
        case(
            "interval under 1s",
            "[poll]\ninterval = \"500ms\"\n",
            "poll.interval",
            "must be at least 1s",
        ),
        case(
            "zero timeout",
            "[atlas]\ntimeout = \"0s\"\n",
            "atlas.timeout",
            "must be greater than 0",
        ),
        case(
            "zero max_response_bytes",
            "[atlas]\nmax_response_bytes = 0\n",
            "atlas.max_response_bytes",
            "must be greater than 0",
        ),
        case(
            "jitter above 0.5",
            "[poll]\njitter = 0.7\n",
            "poll.jitter",
            "from 0.0 to 0.5",
        ),
        case(
            "negative jitter",
            "[poll]\njitter = -0.1\n",
            "poll.jitter",
            "from 0.0 to 0.5",
        ),
        case(
            "zero concurrency",
            "[poll]\nconcurrency = 0\n",
            "poll.concurrency",
            "at least 1",
        ),
        case(
            "zero keep_stale_for",
            "[poll]\nkeep_stale_for = \"0s\"\n",
            "poll.keep_stale_for",
            "greater than 0",
        ),
        case(
            "keep_stale_for under the interval",
            "[poll]\ninterval = \"20m\"\n",
            "poll.keep_stale_for",
            "shorter than the longest poll interval (20m)",
        ),
        case(
            "empty expiry windows",
            "[metrics]\nexpiry_windows = []\n",
            "metrics.expiry_windows",
            "at least one window",
        ),
        case(
            "duplicate expiry windows",
            "[metrics]\nexpiry_windows = [\"24h\", \"1d\"]\n",
            "metrics.expiry_windows[1]",
            "duplicates \"24h\"",
        ),
        case(
            "bad expiry window",
            "[metrics]\nexpiry_windows = [\"24h\", \"soon\"]\n",
            "metrics.expiry_windows[1]",
            "invalid duration",
        ),
        case(
            "expiry window of the wrong type",
            "[metrics]\nexpiry_windows = [\"24h\", 3]\n",
            "metrics.expiry_windows[1]",
            "expected a string",
        ),
        case(
            "zero stale_age",
            "[metrics]\nstale_age = \"0d\"\n",
            "metrics.stale_age",
            "greater than 0",
        ),
        case(
            "bad listen address",
            "[web]\nlisten_address = \"localhost:80\"\n",
            "web.listen_address",
            "expected IP:port",
        ),
        case(
            "bad log level",
            "[log]\nlevel = \"verbose\"\n",
            "log.level",
            "unknown level \"verbose\"",
        ),
        case(
            "bad log directive",
            "[log]\nlevel = \"info,hyper=loud\"\n",
            "log.level",
            "invalid filter",
        ),
        case(
            "bad log format",
            "[log]\nformat = \"logfmt\"\n",
            "log.format",
            "expected \"text\" or \"json\"",
        ),
        case(
            "unparseable base_url",
            "[atlas]\nbase_url = \"cloud.mongodb.com\"\n",
            "atlas.base_url",
            "not a valid URL",
        ),
        case(
            "base_url scheme",
            "[atlas]\nbase_url = \"ftp://cloud.mongodb.com\"\n",
            "atlas.base_url",
            "scheme must be https",
        ),
        case(
            "plain http to a remote host",
            "[atlas]\nbase_url = \"http://cloud.mongodb.com\"\n",
            "atlas.base_url",
            "plain http://",
        ),
        case(
            "base_url with a path",
            "[atlas]\nbase_url = \"https://cloud.mongodb.com/api\"\n",
            "atlas.base_url",
            "without a path",
        ),
        case(
            "runbook_url scheme",
            "[web]\nrunbook_url = \"file:///srv/runbook.md\"\n",
            "web.runbook_url",
            "must be an http:// or https:// URL",
        ),
        case(
            "runbook_url with a fragment",
            "[web]\nrunbook_url = \"https://wiki.example/runbook#top\"\n",
            "web.runbook_url",
            "must not end with a #fragment",
        ),
        case(
            "empty org name",
            "name = \" \"\n",
            "orgs[0].name",
            "must not be empty",
        ),
        raw_case(
            "unknown key in an org",
            format!("{SERVICE_ACCOUNT}[[orgs]]\nid = \"{ORG}\"\nidd = \"x\"\n"),
            "orgs[0].idd",
            "unknown key",
        ),
        raw_case(
            "malformed org id",
            format!("{SERVICE_ACCOUNT}[[orgs]]\nid = \"32B6E34B3D91647ABB20E7B8\"\n"),
            "orgs[0].id",
            "24 lowercase hexadecimal digits",
        ),
        raw_case(
            "short org id",
            format!("{SERVICE_ACCOUNT}[[orgs]]\nid = \"32b6e34b\"\n"),
            "orgs[0].id",
            "not an Atlas organisation id",
        ),
        raw_case(
            "missing org id",
            format!("{SERVICE_ACCOUNT}[[orgs]]\nname = \"Production\"\n"),
            "orgs[0].id",
            "missing",
        ),
        raw_case(
            "duplicate org id",
            format!(
                "{SERVICE_ACCOUNT}{ONE_ORG}[[orgs]]\nid = \"5f0e1d2c3b4a59687f6e5d4c\"\n{ONE_ORG}"
            ),
            "orgs[2].id",
            "duplicates orgs[0].id",
        ),
        raw_case(
            "org interval under 1s",
            format!("{SERVICE_ACCOUNT}[[orgs]]\nid = \"{ORG}\"\ninterval = \"100ms\"\n"),
            "orgs[0].interval",
            "at least 1s",
        ),
        raw_case(
            "orgs of the wrong type",
            format!("orgs = \"{ORG}\"\n{SERVICE_ACCOUNT}"),
            "orgs",
            "expected an array of [[orgs]] tables",
        ),
        raw_case(
            "empty orgs",
            format!("orgs = []\n{SERVICE_ACCOUNT}"),
            "orgs",
            "no organisations configured",
        ),
        raw_case(
            "both credential kinds",
            format!(
                "[auth]\nclient_id = \"id\"\nclient_secret = \"x\"\npublic_key = \"pk\"\nprivate_key = \"y\"\n{ONE_ORG}"
            ),
            "auth",
            "both a service account",
        ),
        raw_case(
            "client_id without a secret",
            format!("[auth]\nclient_id = \"id\"\n{ONE_ORG}"),
            "auth.client_secret",
            "auth.client_id is set",
        ),
        raw_case(
            "private key without a public key",
            format!("[auth]\nprivate_key = \"y\"\n{ONE_ORG}"),
            "auth.public_key",
            "auth.private_key is set",
        ),
        raw_case(
            "secret and secret file",
            format!(
                "[auth]\nclient_id = \"id\"\nclient_secret = \"x\"\nclient_secret_file = \"s\"\n{ONE_ORG}"
            ),
            "auth.client_secret_file",
            "are both set",
        ),
        raw_case(
            "unreadable secret file",
            format!(
                "[auth]\nclient_id = \"id\"\nclient_secret_file = \"{missing_secret}\"\n{ONE_ORG}"
            ),
            "auth.client_secret_file",
            "cannot read secret file /nonexistent/atlas-secret",
        ),
        raw_case(
            "empty inline secret",
            format!("[auth]\npublic_key = \"pk\"\nprivate_key = \"  \"\n{ONE_ORG}"),
            "auth.private_key",
            "must not be empty",
        ),
        raw_case(
            "empty id",
            format!("[auth]\nclient_id = \"\"\nclient_secret = \"x\"\n{ONE_ORG}"),
            "auth.client_id",
            "must not be empty",
        ),
        case(
            "unknown source",
            "[atlas]\nsource = \"org-users\"\n",
            "atlas.source",
            "expected \"auto\", \"invites\" or \"org_users\", found \"org-users\"",
        ),
        case(
            "source is case-sensitive",
            "[atlas]\nsource = \"Auto\"\n",
            "atlas.source",
            "found \"Auto\"",
        ),
        case(
            "source of the wrong type",
            "[atlas]\nsource = 1\n",
            "atlas.source",
            "expected a string",
        ),
        case(
            "unknown org source",
            "source = \"legacy\"\n",
            "orgs[0].source",
            "expected \"auto\", \"invites\" or \"org_users\", found \"legacy\"",
        ),
        case(
            "discovery.enabled not a boolean",
            "[discovery]\nenabled = \"yes\"\n",
            "discovery.enabled",
            "expected true or false, found string \"yes\"",
        ),
        case(
            "discovery interval under 1s",
            "[discovery]\ninterval = \"0s\"\n",
            "discovery.interval",
            "at least 1s",
        ),
        case(
            "bad discovery interval",
            "[discovery]\ninterval = \"hourly\"\n",
            "discovery.interval",
            "invalid duration \"hourly\"",
        ),
        case(
            "empty include entry",
            "[discovery]\nenabled = true\ninclude = [\"Acme*\", \" \"]\n",
            "discovery.include[1]",
            "must not be empty",
        ),
        case(
            "empty exclude entry",
            "[discovery]\nenabled = true\nexclude = [\"\"]\n",
            "discovery.exclude[0]",
            "must not be empty",
        ),
        case(
            "upper-case id in a filter",
            "[discovery]\nenabled = true\nexclude = [\"32B6E34B3D91647ABB20E7B8\"]\n",
            "discovery.exclude[0]",
            "ids are written in lowercase: \"32b6e34b3d91647abb20e7b8\"",
        ),
        case(
            "include not a list",
            "[discovery]\ninclude = \"Acme*\"\n",
            "discovery.include",
            "expected an array of strings",
        ),
        case(
            "include entry not a string",
            "[discovery]\ninclude = [7]\n",
            "discovery.include[0]",
            "expected a string",
        ),
        case(
            "unknown discovery key",
            "[discovery]\nenable = true\n",
            "discovery.enable",
            "unknown key",
        ),
        case(
            "zero shards",
            "[sharding]\ntotal = 0\nindex = 0\n",
            "sharding.total",
            "must be at least 1",
        ),
        case(
            "index at total",
            "[sharding]\ntotal = 2\nindex = 2\n",
            "sharding.index",
            "must be below sharding.total (2): found 2",
        ),
        case(
            "index is not compared with an invalid total",
            "[sharding]\ntotal = \"two\"\nindex = 1\n",
            "sharding.total",
            "expected an integer",
        ),
        case(
            "index without total",
            "[sharding]\nindex = 1\n",
            "sharding.total",
            "missing: sharding.index is set",
        ),
        case(
            "total without index",
            "[sharding]\ntotal = 2\n",
            "sharding.index",
            "missing: sharding.total is set",
        ),
        case(
            "index as a quoted number",
            "[sharding]\ntotal = 2\nindex = \"1\"\n",
            "sharding.index",
            "expected a number from 0 to sharding.total - 1 or \"from_hostname\", found string \"1\"",
        ),
        case(
            "negative index",
            "[sharding]\ntotal = 2\nindex = -1\n",
            "sharding.index",
            "must not be negative",
        ),
        case(
            "unknown sharding key",
            "[sharding]\ntotal = 2\nindex = 0\nreplicas = 2\n",
            "sharding.replicas",
            "unknown key",
        ),
        case(
            "org auth without a secret, the global one notwithstanding",
            "[orgs.auth]\nclient_id = \"mdb_sa_id_2\"\n",
            "orgs[0].auth.client_secret",
            "orgs[0].auth.client_id is set, so the service account also needs orgs[0].auth.client_secret, orgs[0].auth.client_secret_file or orgs[0].auth.client_secret_env",
        ),
        case(
            "org auth without an id, the global one notwithstanding",
            "[orgs.auth]\nclient_secret = \"x\"\n",
            "orgs[0].auth.client_id",
            "missing: orgs[0].auth.client_secret is set",
        ),
        case(
            "org auth with both kinds",
            "[orgs.auth]\nclient_id = \"a\"\nclient_secret = \"x\"\npublic_key = \"pk\"\nprivate_key = \"y\"\n",
            "orgs[0].auth",
            "both a service account (orgs[0].auth.client_id from",
        ),
        case(
            "org auth with an unknown key",
            "[orgs.auth]\nclient_id = \"a\"\nclient_secret = \"x\"\nclient_secrte = \"y\"\n",
            "orgs[0].auth.client_secrte",
            "unknown key",
        ),
        case("empty org auth", "[orgs.auth]\n", "orgs[0].auth", "empty"),
        case(
            "org auth not a table",
            "auth = \"hunter2\"\n",
            "orgs[0].auth",
            "expected a table, found a string",
        ),
        case(
            "org secret inline and from a file",
            "[orgs.auth]\npublic_key = \"pk\"\nprivate_key = \"y\"\nprivate_key_file = \"k\"\n",
            "orgs[0].auth.private_key_file",
            "orgs[0].auth.private_key (from",
        ),
        raw_case(
            "secret inline and from the environment",
            format!(
                "[auth]\nclient_id = \"id\"\nclient_secret = \"x\"\nclient_secret_env = \"PROD_SECRET\"\n{ONE_ORG}"
            ),
            "auth.client_secret_env",
            "are both set; keep one",
        ),
        raw_case(
            "secret variable under our prefix",
            format!(
                "[auth]\nclient_id = \"id\"\nclient_secret_env = \"ATLAS_EXPORTER_SECRET\"\n{ONE_ORG}"
            ),
            "auth.client_secret_env",
            "configuration keys",
        ),
        raw_case(
            "secret variable without a name",
            format!("[auth]\npublic_key = \"pk\"\nprivate_key_env = \" \"\n{ONE_ORG}"),
            "auth.private_key_env",
            "must name an environment variable",
        ),
        raw_case(
            "discovery without global credentials",
            format!("[discovery]\nenabled = true\n{ONE_ORG}{OWN_AUTH}"),
            "discovery.enabled",
            "global credentials, and there are none",
        ),
        raw_case(
            "discovery alone without any credentials",
            "[discovery]\nenabled = true\n".to_owned(),
            "discovery.enabled",
            "set [auth]",
        ),
        raw_case(
            "no global credentials and an org without its own",
            format!("{ONE_ORG}{OWN_AUTH}[[orgs]]\nid = \"5f0e1d2c3b4a59687f6e5d4c\"\n"),
            "orgs[1].auth",
            "there is no global [auth], so this organisation needs its own",
        ),
        raw_case(
            "auth section not a table",
            "auth = \"hunter2\"\n[[orgs]]\nid = \"32b6e34b3d91647abb20e7b8\"\n".to_owned(),
            "auth",
            "expected a table, found a string",
        ),
        case(
            "internal domain that is an address",
            "[policy]\ninternal_domains = [\"example.com\", \"alice@example.com\"]\n",
            "policy.internal_domains[1]",
            "is not a mail domain",
        ),
        case(
            "wildcard inside a domain",
            "[policy]\nfree_mail_domains = [\"mail.*.com\"]\n",
            "policy.free_mail_domains[0]",
            "is not a mail domain",
        ),
        case(
            "inviter without a domain",
            "[policy]\nexpected_inviters = [\"alice\"]\n",
            "policy.expected_inviters[0]",
            "is not an inviter",
        ),
        case(
            "a role in two tiers",
            "[policy.tiers]\nowner = [\"GROUP_CLUSTER_MANAGER\"]\nadmin = [\"GROUP_CLUSTER_MANAGER\"]\n",
            "policy.tiers.admin",
            "is already in the owner tier",
        ),
        case(
            "unknown tier",
            "[policy.tiers]\nsuperuser = [\"ORG_OWNER\"]\n",
            "policy.tiers.superuser",
            "unknown key; expected one of: owner, admin, write, read",
        ),
        case(
            "role in lower case",
            "[policy.tiers]\nread = [\"org_member\"]\n",
            "policy.tiers.read[0]",
            "is not an Atlas role name",
        ),
    ];
    for case in cases {
        let file = ConfigFile::new(&case.toml);
        let all = errors(&file.overrides(), false, vec![]);
        assert_eq!(all.len(), 1, "{}: {all:#?}", case.name);
        let error = &all[0];
        assert_eq!(error.key, case.key, "{}: {error}", case.name);
        assert!(
            error.message.contains(case.message),
            "{}: {error}",
            case.name
        );
        assert!(
            !error.to_string().contains("hunter2"),
            "{}: {error}",
            case.name
        );
        let expected_source = if case.name == "keep_stale_for under the interval" {
            "default".to_owned()
        } else {
            file.source()
        };
        assert_eq!(error.source_name, expected_source, "{}", case.name);
    }
}

#[test]
fn missing_credentials_and_orgs_are_reported_as_defaults() {
    let found: Vec<_> = errors(&Overrides::default(), false, vec![])
        .into_iter()
        .map(|e| (e.key, e.source_name))
        .collect();
    let expected = [("orgs", "default"), ("auth", "default")];
    assert_eq!(
        found,
        expected.map(|(k, s)| (k.to_owned(), s.to_owned())).to_vec()
    );
}

#[test]
fn mixed_credentials_across_layers_name_both_sources() {
    let file = ConfigFile::new(&valid_toml(""));
    let all = errors(
        &file.overrides(),
        false,
        env(&[
            ("MONGODB_ATLAS_PUBLIC_KEY", "pk"),
            ("MONGODB_ATLAS_PRIVATE_KEY", "y"),
        ]),
    );
    assert_eq!(all.len(), 1, "{all:#?}");
    assert_eq!(all[0].key, "auth");
    assert_eq!(
        all[0].source_name,
        "environment variable MONGODB_ATLAS_PUBLIC_KEY"
    );
    assert!(all[0].message.contains(&file.source()), "{}", all[0]);
}

#[test]
fn every_problem_is_reported_at_once() {
    let file = ConfigFile::new(&format!(
        "[auth]\nclient_id = \"id\"\n\
         [poll]\ninterval = \"fast\"\njitter = 2.0\ncolour = \"blue\"\n\
         [log]\nformat = \"xml\"\n\
         [[orgs]]\nid = \"nope\"\n[[orgs]]\nid = \"{ORG}\"\n[[orgs]]\nid = \"{ORG}\"\n"
    ));
    let mut keys: Vec<_> = errors(&file.overrides(), false, vec![])
        .into_iter()
        .map(|e| e.key)
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "auth.client_secret",
            "log.format",
            "orgs[0].id",
            "orgs[2].id",
            "poll.colour",
            "poll.interval",
            "poll.jitter",
        ]
    );
}

fn validated(toml: &str, env_pairs: &[(&str, &str)]) -> Validated {
    let file = ConfigFile::new(toml);
    match load_layers(&file.overrides(), false, env(env_pairs), Vec::new()) {
        Ok(validated) => validated,
        Err(errors) => panic!("{errors}"),
    }
}

#[test]
fn loopback_hosts_may_use_plain_http() {
    for (url, normalised) in [
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("http://127.1.2.3", "http://127.1.2.3"),
        ("http://localhost:1234/", "http://localhost:1234"),
        ("http://[::1]:1234", "http://[::1]:1234"),
        ("https://cloud.mongodb.com/", "https://cloud.mongodb.com"),
    ] {
        let v = validated(
            &valid_toml(&format!("[atlas]\nbase_url = \"{url}\"\n")),
            &[],
        );
        assert_eq!(v.config.atlas.base_url, normalised);
    }
}

#[test]
fn short_intervals_warn_once_only_against_remote_atlas() {
    let remote = validated(
        &format!(
            "{SERVICE_ACCOUNT}[poll]\ninterval = \"30s\"\n\
             [[orgs]]\nid = \"{ORG}\"\ninterval = \"10s\"\n\
             [[orgs]]\nid = \"5f0e1d2c3b4a59687f6e5d4c\"\ninterval = \"20s\"\n"
        ),
        &[],
    );
    assert_eq!(remote.warnings.len(), 1, "{:?}", remote.warnings);
    assert!(remote.warnings[0].contains("10s"), "{:?}", remote.warnings);

    let local = validated(
        &valid_toml(
            "[poll]\ninterval = \"1s\"\nkeep_stale_for = \"3s\"\n[atlas]\nbase_url = \"http://127.0.0.1:4000\"\n",
        ),
        &[],
    );
    assert!(local.warnings.is_empty(), "{:?}", local.warnings);
    assert_eq!(local.config.poll.interval, Duration::from_secs(1));

    let default = validated(&valid_toml(""), &[]);
    assert!(default.warnings.is_empty(), "{:?}", default.warnings);
}

#[test]
fn values_are_converted_as_written() {
    let v = validated(
        &format!(
            "{SERVICE_ACCOUNT}\
             [atlas]\ntimeout = \"2m 30s\"\n\
             [poll]\njitter = 0\nconcurrency = 16\n\
             [metrics]\nexpiry_windows = [\"2d 12h\", \"1h\"]\n\
             [web]\nlisten_address = \":9100\"\n\
             [log]\nlevel = \"info,atlas_invites_exporter=debug\"\n\
             [[orgs]]\nid = \"{ORG}\"\nname = \"Prod \\\"EU\\\" Zürich\"\ninterval = \"10m\"\n\
             [[orgs]]\nid = \"5f0e1d2c3b4a59687f6e5d4c\"\n"
        ),
        &[("ATLAS_EXPORTER_POLL__KEEP_STALE_FOR", "1h")],
    );
    let config = v.config;
    assert_eq!(config.atlas.timeout, Duration::from_secs(150));
    assert_eq!(config.poll.jitter, 0.0);
    assert_eq!(config.poll.concurrency, 16);
    assert_eq!(config.poll.keep_stale_for, Duration::from_secs(3600));
    assert_eq!(
        config.metrics.expiry_windows,
        [
            ExpiryWindow {
                label: "2d 12h".into(),
                duration: Duration::from_secs(60 * 3600)
            },
            ExpiryWindow {
                label: "1h".into(),
                duration: Duration::from_secs(3600)
            },
        ]
    );
    assert_eq!(config.web.listen_address.to_string(), "0.0.0.0:9100");
    assert_eq!(config.log.level, "info,atlas_invites_exporter=debug");
    assert_eq!(config.orgs[0].name.as_deref(), Some("Prod \"EU\" Zürich"));
    assert_eq!(
        config.orgs[0].interval(&config.poll),
        Duration::from_secs(600)
    );
    assert_eq!(config.orgs[1].name, None);
    assert_eq!(
        config.orgs[1].interval(&config.poll),
        defaults().poll.interval
    );
}

#[test]
fn secret_files_are_trimmed_and_relative_to_the_config_file() {
    let file = ConfigFile::new(&format!(
        "[auth]\npublic_key = \"pk\"\nprivate_key_file = \"keys/private\"\n{ONE_ORG}"
    ));
    std::fs::create_dir(file.dir.path().join("keys")).expect("mkdir");
    std::fs::write(
        file.dir.path().join("keys/private"),
        format!("  {SECRET}\n\n"),
    )
    .expect("write secret");
    let config = match load_layers(&file.overrides(), false, vec![], Vec::new()) {
        Ok(v) => v.config,
        Err(errors) => panic!("{errors}"),
    };
    match config.auth {
        Some(Credentials::ApiKey {
            public_key,
            private_key,
        }) => {
            assert_eq!(public_key, "pk");
            assert_eq!(private_key.expose_secret(), SECRET);
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn empty_secret_file_is_an_error_naming_the_path() {
    let file = ConfigFile::new(&format!(
        "[auth]\nclient_id = \"id\"\nclient_secret_file = \"secret\"\n{ONE_ORG}"
    ));
    let secret_path = file.dir.path().join("secret");
    std::fs::write(&secret_path, " \n").expect("write secret");
    let all = errors(&file.overrides(), false, vec![]);
    assert_eq!(all.len(), 1, "{all:#?}");
    assert_eq!(all[0].key, "auth.client_secret_file");
    assert_eq!(all[0].source_name, file.source());
    assert!(
        all[0]
            .message
            .contains(&format!("{} is empty", secret_path.display())),
        "{}",
        all[0]
    );
}

#[test]
fn demo_mode_keeps_configured_credentials_and_orgs() {
    let file = ConfigFile::new(&valid_toml(""));
    let config = match load_layers(&file.overrides(), true, vec![], Vec::new()) {
        Ok(v) => v.config,
        Err(errors) => panic!("{errors}"),
    };
    assert_eq!(
        config.auth.as_ref().map(Credentials::describe).as_deref(),
        Some("service account mdb_sa_id_1")
    );
    assert_eq!(config.orgs.len(), 1);

    // Demo mode relaxes only what the demo supplies: other mistakes are still errors.
    let file = ConfigFile::new("[poll]\ninterval = \"0s\"\n");
    let all = errors(&file.overrides(), true, vec![]);
    let keys: Vec<_> = all.iter().map(|e| e.key.as_str()).collect();
    assert_eq!(keys, ["poll.interval"]);
}

/// The secret of the first credential in the config: the org's own when `org`, else the global.
fn secret_of(config: &Config, org: bool) -> String {
    let credentials = if org {
        config.orgs[0].auth.as_ref()
    } else {
        config.auth.as_ref()
    };
    match credentials {
        Some(Credentials::ServiceAccount { client_secret, .. }) => {
            client_secret.expose_secret().to_owned()
        }
        Some(Credentials::ApiKey { private_key, .. }) => private_key.expose_secret().to_owned(),
        None => panic!("no credentials in {config:?}"),
    }
}

#[test]
fn secrets_named_by_environment_variables() {
    let global =
        format!("[auth]\nclient_id = \"id\"\nclient_secret_env = \"PROD_SECRET\"\n{ONE_ORG}");
    let own = format!(
        "{SERVICE_ACCOUNT}{ONE_ORG}[orgs.auth]\npublic_key = \"pk\"\nprivate_key_env = \"STAGING_KEY\"\n"
    );
    let padded = format!("  {SECRET}\n");
    type Expected = Result<&'static str, (&'static str, &'static str)>;
    /// (name, toml, environment, the org's own secret?, Ok(secret) or Err((key, message)))
    type Case<'a> = (&'a str, &'a String, Vec<(&'a str, &'a str)>, bool, Expected);
    let cases: Vec<Case<'_>> = vec![
        (
            "global, set",
            &global,
            vec![("PROD_SECRET", SECRET)],
            false,
            Ok(SECRET),
        ),
        (
            "global, trimmed",
            &global,
            vec![("PROD_SECRET", padded.as_str())],
            false,
            Ok(SECRET),
        ),
        (
            "global, unset",
            &global,
            vec![("PROD_SECRETS", SECRET)],
            false,
            Err((
                "auth.client_secret_env",
                "environment variable PROD_SECRET is not set",
            )),
        ),
        (
            "global, empty",
            &global,
            vec![("PROD_SECRET", "")],
            false,
            Err((
                "auth.client_secret_env",
                "environment variable PROD_SECRET is empty",
            )),
        ),
        (
            "global, blank",
            &global,
            vec![("PROD_SECRET", " \n")],
            false,
            Err((
                "auth.client_secret_env",
                "environment variable PROD_SECRET is empty",
            )),
        ),
        (
            "org, set",
            &own,
            vec![("STAGING_KEY", SECRET)],
            true,
            Ok(SECRET),
        ),
        (
            "org, unset",
            &own,
            vec![],
            true,
            Err((
                "orgs[0].auth.private_key_env",
                "environment variable STAGING_KEY is not set",
            )),
        ),
        (
            "org, empty",
            &own,
            vec![("STAGING_KEY", "")],
            true,
            Err((
                "orgs[0].auth.private_key_env",
                "environment variable STAGING_KEY is empty",
            )),
        ),
    ];
    for (name, toml, environment, org, expected) in cases {
        let file = ConfigFile::new(toml);
        let result = load_layers(&file.overrides(), false, env(&environment), Vec::new());
        match (result, expected) {
            (Ok(validated), Ok(secret)) => {
                assert_eq!(secret_of(&validated.config, org), secret, "{name}");
            }
            (Err(errors), Err((key, message))) => {
                assert_eq!(errors.0.len(), 1, "{name}: {errors}");
                let error = &errors.0[0];
                assert_eq!(error.key, key, "{name}: {error}");
                assert!(error.message.contains(message), "{name}: {error}");
                assert_eq!(error.source_name, file.source(), "{name}");
            }
            (Ok(validated), Err(_)) => {
                panic!("{name}: expected an error, got {:?}", validated.config)
            }
            (Err(errors), Ok(_)) => panic!("{name}: {errors}"),
        }
    }

    // The variable's name may itself come from the environment; the error names that layer.
    let file = ConfigFile::new(&format!("[auth]\nclient_id = \"id\"\n{ONE_ORG}"));
    let all = errors(
        &file.overrides(),
        false,
        env(&[("ATLAS_EXPORTER_AUTH__CLIENT_SECRET_ENV", "PROD_SECRET")]),
    );
    let found: Vec<_> = all
        .iter()
        .map(|e| (e.key.as_str(), e.source_name.as_str()))
        .collect();
    assert_eq!(
        found,
        [(
            "auth.client_secret_env",
            "environment variable ATLAS_EXPORTER_AUTH__CLIENT_SECRET_ENV"
        )]
    );
}

#[test]
fn shard_index_from_the_statefulset_ordinal_in_hostname() {
    // (name, [sharding] table, HOSTNAME, Ok(index) or Err((key, message)))
    type Expected = Result<u32, (&'static str, &'static str)>;
    let cases: Vec<(&str, &str, Option<&str>, Expected)> = vec![
        (
            "ordinal",
            "total = 3",
            Some("atlas-invites-exporter-2"),
            Ok(2),
        ),
        (
            "first pod",
            "total = 3",
            Some("atlas-invites-exporter-0"),
            Ok(0),
        ),
        ("one shard", "total = 1", Some("exporter-0"), Ok(0)),
        (
            "HOSTNAME unset",
            "total = 3",
            None,
            Err((
                "sharding.index",
                "reads the StatefulSet ordinal from HOSTNAME, but environment variable HOSTNAME is not set",
            )),
        ),
        (
            "HOSTNAME empty",
            "total = 3",
            Some(""),
            Err(("sharding.index", "environment variable HOSTNAME is empty")),
        ),
        (
            "no ordinal",
            "total = 3",
            Some("exporter"),
            Err((
                "sharding.index",
                "HOSTNAME \"exporter\" does not end in -<ordinal>",
            )),
        ),
        (
            "dash without digits",
            "total = 3",
            Some("exporter-"),
            Err((
                "sharding.index",
                "HOSTNAME \"exporter-\" does not end in -<ordinal>",
            )),
        ),
        (
            "ordinal with letters",
            "total = 3",
            Some("exporter-5d8f9-x2k"),
            Err(("sharding.index", "does not end in -<ordinal>")),
        ),
        (
            "ordinal too big",
            "total = 3",
            Some("atlas-invites-exporter-3"),
            Err((
                "sharding.index",
                "must be below sharding.total (3): HOSTNAME \"atlas-invites-exporter-3\" gives ordinal 3",
            )),
        ),
        (
            "bad total is reported alone",
            "total = 0",
            Some("atlas-invites-exporter-3"),
            Err(("sharding.total", "must be at least 1")),
        ),
    ];
    for (name, table, hostname, expected) in cases {
        let file = ConfigFile::new(&valid_toml(&format!(
            "[sharding]\n{table}\nindex = \"from_hostname\"\n"
        )));
        let environment: Vec<(&str, &str)> =
            hostname.map(|h| ("HOSTNAME", h)).into_iter().collect();
        let result = load_layers(&file.overrides(), false, env(&environment), Vec::new());
        match (result, expected) {
            (Ok(validated), Ok(index)) => {
                let sharding = validated.config.sharding.expect("sharded");
                assert_eq!(sharding.index, index, "{name}");
            }
            (Err(errors), Err((key, message))) => {
                assert_eq!(errors.0.len(), 1, "{name}: {errors}");
                let error = &errors.0[0];
                assert_eq!(error.key, key, "{name}: {error}");
                assert!(error.message.contains(message), "{name}: {error}");
                assert_eq!(error.source_name, file.source(), "{name}");
            }
            (Ok(validated), Err(_)) => panic!(
                "{name}: expected an error, got {:?}",
                validated.config.sharding
            ),
            (Err(errors), Ok(_)) => panic!("{name}: {errors}"),
        }
    }
}

#[test]
fn hostname_ordinals() {
    for (hostname, expected) in [
        ("atlas-invites-exporter-2", Some(2)),
        ("a-10", Some(10)),
        ("a-007", Some(7)),
        ("exporter", None),
        ("exporter-", None),
        ("exporter-1a", None),
        ("exporter--1", Some(1)),
        ("exporter-99999999999", None),
    ] {
        assert_eq!(hostname_ordinal(hostname), expected, "{hostname}");
    }
}

#[test]
fn who_needs_global_credentials() {
    let own_api_key = "[orgs.auth]\npublic_key = \"pk_own\"\nprivate_key = \"key\"\n";
    let other = "[[orgs]]\nid = \"5f0e1d2c3b4a59687f6e5d4c\"\n";

    // Every org with its own credentials, discovery off: no global credentials needed.
    let v = validated(&format!("{ONE_ORG}{OWN_AUTH}{other}{own_api_key}"), &[]);
    let config = v.config;
    assert!(config.auth.is_none());
    let described: Vec<_> = config
        .orgs
        .iter()
        .map(|org| org.auth.as_ref().map(Credentials::describe))
        .collect();
    assert_eq!(
        described,
        [
            Some("service account mdb_sa_id_own".to_owned()),
            Some("API key pk_own".to_owned())
        ]
    );
    assert_eq!(secret_of(&config, true), "own");

    // Global and own side by side: each org keeps what it was given.
    let v = validated(&format!("{SERVICE_ACCOUNT}{ONE_ORG}{OWN_AUTH}{other}"), &[]);
    assert_eq!(
        v.config.auth.as_ref().map(Credentials::describe).as_deref(),
        Some("service account mdb_sa_id_1")
    );
    assert!(v.config.orgs[0].auth.is_some());
    assert!(v.config.orgs[1].auth.is_none());

    // Discovery with global credentials needs no [[orgs]] at all.
    for orgs in ["", "orgs = []\n"] {
        let v = validated(
            &format!("{orgs}{SERVICE_ACCOUNT}[discovery]\nenabled = true\n"),
            &[],
        );
        assert!(v.config.discovery.enabled);
        assert!(v.config.orgs.is_empty());
        assert!(v.config.auth.is_some());
    }

    // Demo mode asks for nothing; with nothing configured, `auth` is None.
    let file = ConfigFile::new("[discovery]\nenabled = true\n");
    let config = match load_layers(&file.overrides(), true, vec![], Vec::new()) {
        Ok(v) => v.config,
        Err(errors) => panic!("{errors}"),
    };
    assert!(config.auth.is_none());
}

#[test]
fn own_credentials_never_appear_in_debug() {
    let config = validated(
        &format!(
            "{ONE_ORG}[orgs.auth]\nclient_id = \"mdb_sa_id_own\"\nclient_secret = \"{SECRET}\"\n"
        ),
        &[],
    )
    .config;
    let debug = format!("{config:?}");
    assert!(debug.contains("mdb_sa_id_own"), "{debug}");
    assert!(!debug.contains(SECRET), "{debug}");
}

#[test]
fn sources_as_written() {
    let default = validated(&valid_toml(""), &[]).config;
    assert_eq!(default.atlas.source, Source::Auto);
    assert_eq!(default.orgs[0].source, None);
    for (written, source) in [
        ("auto", Source::Auto),
        ("invites", Source::Invites),
        ("org_users", Source::OrgUsers),
    ] {
        let config = validated(
            &format!(
                "{SERVICE_ACCOUNT}[atlas]\nsource = \"{written}\"\n{ONE_ORG}source = \"{written}\"\n"
            ),
            &[],
        )
        .config;
        assert_eq!(config.atlas.source, source, "{written}");
        assert_eq!(config.orgs[0].source, Some(source), "{written}");
        assert_eq!(source.as_str(), written);
    }
}

#[test]
fn filters_are_ids_or_name_globs() {
    let id = OrgId::parse(ORG).expect("id");
    for (written, expected) in [
        (ORG, Ok(OrgPattern::Id(id))),
        ("Acme*", Ok(OrgPattern::NameGlob("Acme*".into()))),
        (
            "Acme Production",
            Ok(OrgPattern::NameGlob("Acme Production".into())),
        ),
        // Not 24 digits: a name, however hexadecimal it looks.
        ("32b6e34b", Ok(OrgPattern::NameGlob("32b6e34b".into()))),
        ("", Err("must not be empty")),
        ("  ", Err("must not be empty")),
        ("32B6E34B3D91647ABB20E7B8", Err("lowercase")),
    ] {
        match (parse_org_pattern(written), expected) {
            (Ok(pattern), Ok(expected)) => assert_eq!(pattern, expected, "{written:?}"),
            (Err(message), Err(part)) => {
                assert!(message.contains(part), "{written:?}: {message}")
            }
            (got, expected) => panic!("{written:?}: got {got:?}, expected {expected:?}"),
        }
    }

    let v = validated(
        &valid_toml(&format!(
            "[discovery]\nenabled = true\ninterval = \"2h\"\ninclude = [\"{ORG}\", \"Acme*\"]\nexclude = [\"*Sandbox\"]\n"
        )),
        &[],
    );
    let discovery = v.config.discovery;
    assert!(discovery.enabled);
    assert_eq!(discovery.interval, Duration::from_secs(7200));
    assert_eq!(
        discovery.include,
        [
            OrgPattern::Id(OrgId::parse(ORG).expect("id")),
            OrgPattern::NameGlob("Acme*".into())
        ]
    );
    assert_eq!(discovery.exclude, [OrgPattern::NameGlob("*Sandbox".into())]);
    assert!(v.warnings.is_empty(), "{:?}", v.warnings);

    // Filters without discovery do nothing: worth a warning, not an error.
    let v = validated(&valid_toml("[discovery]\ninclude = [\"Acme*\"]\n"), &[]);
    assert_eq!(v.warnings.len(), 1, "{:?}", v.warnings);
    assert!(
        v.warnings[0].contains("discovery.include has no effect"),
        "{:?}",
        v.warnings
    );
}

#[test]
fn credential_errors_do_not_hide_the_keep_stale_for_check() {
    let file = ConfigFile::new(&format!(
        "{SERVICE_ACCOUNT}[poll]\ninterval = \"20m\"\n{ONE_ORG}[orgs.auth]\nclient_id = \"a\"\n"
    ));
    let mut keys: Vec<_> = errors(&file.overrides(), false, vec![])
        .into_iter()
        .map(|e| e.key)
        .collect();
    keys.sort();
    assert_eq!(keys, ["orgs[0].auth.client_secret", "poll.keep_stale_for"]);
}

#[test]
fn log_levels_accept_plain_levels_and_directives() {
    for level in [
        "trace",
        "DEBUG",
        "info",
        "warn",
        "error",
        "off",
        "warn,atlas_invites_exporter=trace",
    ] {
        assert_eq!(check_log_level(level), Ok(()), "{level}");
    }
    for level in ["", "verbose", "info,chatty"] {
        assert!(check_log_level(level).is_err(), "{level}");
    }
}

#[test]
fn policy_lists_are_kept_in_lower_case_and_tiers_come_from_the_file_or_the_environment() {
    let file = ConfigFile::new(&valid_toml(
        "[policy]\ninternal_domains = [\"Example.COM\", \"*.Example.co.uk\"]\nexpected_inviters = [\"*@Platform.example.com\"]\n[policy.tiers]\nadmin = [\"GROUP_CLUSTER_MANAGER\"]\n",
    ));
    let config = super::ok(&file.overrides(), vec![]);
    assert_eq!(
        config.policy.internal_domains,
        ["example.com", "*.example.co.uk"]
    );
    assert_eq!(config.policy.expected_inviters, ["*@platform.example.com"]);
    assert_eq!(
        config.policy.tiers.0,
        [(
            crate::types::Tier::Admin,
            "GROUP_CLUSTER_MANAGER".to_owned()
        )]
    );
    let from_env = super::ok(
        &file.overrides(),
        env(&[(
            "ATLAS_EXPORTER_POLICY__TIERS",
            "owner=GROUP_SEARCH_INDEX_EDITOR GROUP_STREAM_PROCESSING_OWNER,read=ORG_BILLING_ADMIN",
        )]),
    );
    // The environment's tiers merge with the file's.
    let mut tiers = from_env.policy.tiers.0.clone();
    tiers.sort();
    assert_eq!(
        tiers,
        [
            (
                crate::types::Tier::Owner,
                "GROUP_SEARCH_INDEX_EDITOR".to_owned()
            ),
            (
                crate::types::Tier::Owner,
                "GROUP_STREAM_PROCESSING_OWNER".to_owned()
            ),
            (
                crate::types::Tier::Admin,
                "GROUP_CLUSTER_MANAGER".to_owned()
            ),
            (crate::types::Tier::Read, "ORG_BILLING_ADMIN".to_owned()),
        ]
    );
}
