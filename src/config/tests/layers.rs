//! Layering: defaults, file, environment and flags, each value typed by its key and each error
//! naming the layer it came from.

use secrecy::ExposeSecret;

use super::{ConfigFile, ORG, SECRET, defaults, env, errors, ok, single_error, valid_toml};
use crate::config::error::ConfigErrors;
use crate::config::load::{Overrides, load_from};
use crate::config::settings::{Credentials, DiscoverySettings, LogFormat, Sharding, Source};

#[test]
fn layers_apply_in_order_default_file_environment_flag() {
    let file = ConfigFile::new(&valid_toml("[log]\nlevel = \"debug\"\nformat = \"json\"\n"));
    let only_file = ok(&file.overrides(), vec![]);
    assert_eq!(only_file.log.level, "debug");
    assert_eq!(only_file.log.format, LogFormat::Json);
    // Untouched keys keep their defaults.
    assert_eq!(only_file.poll.interval, defaults().poll.interval);
    assert_eq!(only_file.web.listen_address, defaults().web.listen_address);

    let environment = env(&[("ATLAS_EXPORTER_LOG__LEVEL", "warn")]);
    assert_eq!(ok(&file.overrides(), environment.clone()).log.level, "warn");

    let flags = Overrides {
        log_level: Some("error".into()),
        log_format: Some("text".into()),
        listen_address: Some("127.0.0.1:9999".into()),
        ..file.overrides()
    };
    let with_flags = ok(&flags, environment);
    assert_eq!(with_flags.log.level, "error");
    assert_eq!(with_flags.log.format, LogFormat::Text);
    assert_eq!(with_flags.web.listen_address.to_string(), "127.0.0.1:9999");
    assert_eq!(with_flags.source_file.as_deref(), Some(file.path.as_path()));
}

#[test]
fn environment_values_are_typed_by_key() {
    let file = ConfigFile::new(&valid_toml(""));
    let config = ok(
        &file.overrides(),
        env(&[
            ("ATLAS_EXPORTER_POLL__CONCURRENCY", "8"),
            ("ATLAS_EXPORTER_POLL__JITTER", "0.25"),
            ("ATLAS_EXPORTER_AUTH__CLIENT_ID", "12345"),
            ("ATLAS_EXPORTER_METRICS__EXPIRY_WINDOWS", "12h, 2d"),
            ("ATLAS_EXPORTER_ATLAS__MAX_RESPONSE_BYTES", "1024"),
        ]),
    );
    assert_eq!(config.poll.concurrency, 8);
    assert_eq!(config.poll.jitter, 0.25);
    assert_eq!(config.atlas.max_response_bytes, 1024);
    let labels: Vec<_> = config
        .metrics
        .expiry_windows
        .iter()
        .map(|w| w.label.as_str())
        .collect();
    assert_eq!(labels, ["12h", "2d"]);
    match config.auth {
        Some(Credentials::ServiceAccount { client_id, .. }) => assert_eq!(client_id, "12345"),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn sharding_flags_override_environment_and_file() {
    let file = ConfigFile::new(&valid_toml("[sharding]\ntotal = 2\nindex = 0\n"));
    assert_eq!(
        ok(&file.overrides(), vec![]).sharding,
        Some(Sharding { total: 2, index: 0 })
    );

    let environment = env(&[
        ("ATLAS_EXPORTER_SHARDING__TOTAL", "4"),
        ("ATLAS_EXPORTER_SHARDING__INDEX", "3"),
    ]);
    assert_eq!(
        ok(&file.overrides(), environment.clone()).sharding,
        Some(Sharding { total: 4, index: 3 })
    );

    let flags = Overrides {
        sharding_total: Some("3".into()),
        sharding_index: Some("from_hostname".into()),
        ..file.overrides()
    };
    let mut with_hostname = environment.clone();
    with_hostname.push(("HOSTNAME".into(), "atlas-invites-exporter-1".into()));
    assert_eq!(
        ok(&flags, with_hostname).sharding,
        Some(Sharding { total: 3, index: 1 })
    );

    // Only one flag: the other key keeps the environment's value, and the error names the flag.
    let flags = Overrides {
        sharding_total: Some("3".into()),
        ..file.overrides()
    };
    let error = single_error(&flags, environment);
    assert_eq!(error.key, "sharding.index");
    assert_eq!(
        error.source_name,
        "environment variable ATLAS_EXPORTER_SHARDING__INDEX"
    );
    assert!(
        error.message.contains("below sharding.total (3)"),
        "{error}"
    );

    let flags = Overrides {
        sharding_total: Some("many".into()),
        sharding_index: Some("0".into()),
        ..file.overrides()
    };
    let error = single_error(&flags, vec![]);
    assert_eq!(
        (error.key.as_str(), error.source_name.as_str()),
        ("sharding.total", "flag --sharding.total")
    );
    assert!(error.message.contains("expected an integer"), "{error}");
}

#[test]
fn new_sections_are_typed_from_the_environment() {
    let file = ConfigFile::new(&valid_toml(""));
    let config = ok(
        &file.overrides(),
        env(&[
            ("ATLAS_EXPORTER_ATLAS__SOURCE", "org_users"),
            ("ATLAS_EXPORTER_DISCOVERY__ENABLED", "TRUE"),
            ("ATLAS_EXPORTER_DISCOVERY__INTERVAL", "30m"),
            (
                "ATLAS_EXPORTER_DISCOVERY__INCLUDE",
                "Acme*, 5f0e1d2c3b4a59687f6e5d4c",
            ),
            ("ATLAS_EXPORTER_DISCOVERY__EXCLUDE", "[\"*Sandbox*\"]"),
            ("ATLAS_EXPORTER_SHARDING__TOTAL", "1"),
            ("ATLAS_EXPORTER_SHARDING__INDEX", "0"),
        ]),
    );
    assert_eq!(config.atlas.source, Source::OrgUsers);
    let id = crate::types::OrgId::parse("5f0e1d2c3b4a59687f6e5d4c").expect("id");
    assert_eq!(
        config.discovery,
        DiscoverySettings {
            enabled: true,
            interval: std::time::Duration::from_secs(1800),
            include: vec![
                crate::config::OrgPattern::NameGlob("Acme*".into()),
                crate::config::OrgPattern::Id(id),
            ],
            exclude: vec![crate::config::OrgPattern::NameGlob("*Sandbox*".into())],
        }
    );
    // A single shard is still sharding as configured.
    assert_eq!(config.sharding, Some(Sharding { total: 1, index: 0 }));

    let error = single_error(
        &file.overrides(),
        env(&[("ATLAS_EXPORTER_DISCOVERY__ENABLED", "yes")]),
    );
    assert_eq!(error.key, "discovery.enabled");
    assert_eq!(
        error.source_name,
        "environment variable ATLAS_EXPORTER_DISCOVERY__ENABLED"
    );
    assert!(error.message.contains("expected true or false"), "{error}");
}

#[test]
fn bracketed_list_in_environment_is_accepted() {
    let file = ConfigFile::new(&valid_toml(""));
    let config = ok(
        &file.overrides(),
        env(&[("ATLAS_EXPORTER_METRICS__EXPIRY_WINDOWS", "[\"1h\",\"6h\"]")]),
    );
    let labels: Vec<_> = config
        .metrics
        .expiry_windows
        .iter()
        .map(|w| w.label.as_str())
        .collect();
    assert_eq!(labels, ["1h", "6h"]);
}

#[test]
fn mongodb_variables_supply_credentials_and_ours_win() {
    let file = ConfigFile::new(&format!("[[orgs]]\nid = \"{ORG}\"\n"));
    let config = ok(
        &file.overrides(),
        env(&[
            ("MONGODB_ATLAS_CLIENT_ID", "mdb_sa_id_from_mongodb"),
            ("MONGODB_ATLAS_CLIENT_SECRET", SECRET),
        ]),
    );
    match &config.auth {
        Some(Credentials::ServiceAccount {
            client_id,
            client_secret,
        }) => {
            assert_eq!(client_id, "mdb_sa_id_from_mongodb");
            assert_eq!(client_secret.expose_secret(), SECRET);
        }
        other => panic!("unexpected {other:?}"),
    }

    let config = ok(
        &file.overrides(),
        env(&[
            ("ATLAS_EXPORTER_AUTH__CLIENT_ID", "mdb_sa_id_ours"),
            ("MONGODB_ATLAS_CLIENT_ID", "mdb_sa_id_from_mongodb"),
            ("MONGODB_ATLAS_CLIENT_SECRET", SECRET),
        ]),
    );
    assert_eq!(
        config.auth.as_ref().map(Credentials::describe).as_deref(),
        Some("service account mdb_sa_id_ours")
    );

    let config = ok(
        &file.overrides(),
        env(&[
            ("MONGODB_ATLAS_PUBLIC_KEY", "abcdefgh"),
            ("MONGODB_ATLAS_PRIVATE_KEY", SECRET),
        ]),
    );
    match &config.auth {
        Some(Credentials::ApiKey {
            public_key,
            private_key,
        }) => {
            assert_eq!(public_key, "abcdefgh");
            assert_eq!(private_key.expose_secret(), SECRET);
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn environment_errors_name_the_variable() {
    let file = ConfigFile::new(&valid_toml(""));
    let error = single_error(
        &file.overrides(),
        env(&[("ATLAS_EXPORTER_POLL__INTERVAL", "soon")]),
    );
    assert_eq!(error.key, "poll.interval");
    assert_eq!(
        error.source_name,
        "environment variable ATLAS_EXPORTER_POLL__INTERVAL"
    );

    let error = single_error(
        &file.overrides(),
        env(&[("ATLAS_EXPORTER_POLL__CONCURRENCY", "many")]),
    );
    assert_eq!(error.key, "poll.concurrency");
    assert!(error.message.contains("expected an integer"), "{error}");
    assert_eq!(
        error.source_name,
        "environment variable ATLAS_EXPORTER_POLL__CONCURRENCY"
    );
}

#[test]
fn unknown_environment_keys_are_errors_but_revision_and_others_are_ignored() {
    let file = ConfigFile::new(&valid_toml(""));
    let all = errors(
        &file.overrides(),
        false,
        env(&[
            ("ATLAS_EXPORTER_POLL__INTERVALL", "5m"),
            ("ATLAS_EXPORTER_LISTEN", "x"),
            ("ATLAS_EXPORTER_REVISION", "abc123"),
            ("PATH", "/usr/bin"),
            ("HOSTNAME", "atlas-invites-exporter-0"),
            ("PROD_CLIENT_SECRET", SECRET),
            ("MONGODB_ATLAS_ORG_ID", ORG),
        ]),
    );
    let found: Vec<_> = all
        .iter()
        .map(|e| (e.key.as_str(), e.source_name.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            ("listen", "environment variable ATLAS_EXPORTER_LISTEN"),
            (
                "poll.intervall",
                "environment variable ATLAS_EXPORTER_POLL__INTERVALL"
            ),
        ]
    );
}

#[test]
fn flag_errors_name_the_flag() {
    let file = ConfigFile::new(&valid_toml(""));
    let overrides = Overrides {
        listen_address: Some("everywhere".into()),
        log_format: Some("logfmt".into()),
        log_level: Some("loud".into()),
        ..file.overrides()
    };
    let found: Vec<_> = errors(&overrides, false, vec![])
        .into_iter()
        .map(|e| (e.key, e.source_name))
        .collect();
    let expected = [
        ("web.listen_address", "flag --web.listen-address"),
        ("log.level", "flag --log.level"),
        ("log.format", "flag --log.format"),
    ];
    assert_eq!(
        found,
        expected.map(|(k, s)| (k.to_owned(), s.to_owned())).to_vec()
    );
}

#[test]
fn missing_config_file_names_the_path() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("absent.toml");
    let overrides = Overrides {
        config_file: Some(path.clone()),
        ..Overrides::default()
    };
    let all = errors(&overrides, false, vec![]);
    let error = &all[0];
    assert_eq!(error.key, "config.file");
    assert_eq!(error.source_name, "flag --config.file");
    assert!(
        error.message.contains(&path.display().to_string()),
        "{error}"
    );
    // Alone: "no credentials" and "no organisations" would only be the file's absence again.
    assert_eq!(all.len(), 1, "{all:#?}");
}

/// What is wrong with the environment whatever the file says (a variable that names no key) is still
/// reported; what is checked against the merged layers waits for a file that can be read.
#[test]
fn a_missing_file_keeps_the_environment_s_own_errors() {
    let dir = tempfile::tempdir().expect("temp dir");
    let overrides = Overrides {
        config_file: Some(dir.path().join("absent.toml")),
        ..Overrides::default()
    };
    let env = vec![("ATLAS_EXPORTER___X".to_owned(), "x".to_owned())];
    let all = errors(&overrides, false, env);
    let keys: Vec<&str> = all.iter().map(|e| e.key.as_str()).collect();
    assert_eq!(keys, ["config.file", "ATLAS_EXPORTER___X"], "{all:#?}");
}

#[test]
fn toml_syntax_error_names_the_position_but_not_the_line() {
    let file = ConfigFile::new(&format!(
        "[auth]\nclient_id = \"id\"\nclient_secret = \"{SECRET}\" oops\n"
    ));
    let all = errors(&file.overrides(), false, vec![]);
    let error = &all[0];
    assert_eq!(error.key, "config.file");
    assert_eq!(error.source_name, file.source());
    assert!(error.message.contains("line 3"), "{error}");
    assert!(!error.message.contains('\n'), "one line per error: {error}");
    assert!(!ConfigErrors(all.clone()).to_string().contains(SECRET));
}

#[test]
fn secrets_never_appear_in_errors_or_debug() {
    let file = ConfigFile::new(&format!(
        "[atlas]\nbase_url = \"https://user:{SECRET}@cloud.mongodb.com\"\n\
         [auth]\nclient_id = \"id\"\nclient_secrte = \"{SECRET}\"\nprivate_key = 12345\n\
         [[orgs]]\nid = \"{ORG}\"\n"
    ));
    let all = ConfigErrors(errors(&file.overrides(), false, vec![]));
    let shown = format!("{all}\n{all:?}");
    assert!(shown.contains("auth.client_secrte"), "{shown}");
    assert!(shown.contains("auth.private_key"), "{shown}");
    assert!(shown.contains("atlas.base_url"), "{shown}");
    assert!(!shown.contains(SECRET), "{shown}");
    assert!(!shown.contains("12345"), "{shown}");

    let file = ConfigFile::new(&valid_toml(""));
    let config = ok(&file.overrides(), vec![]);
    let debug = format!("{config:?}");
    assert!(debug.contains("mdb_sa_id_1"), "{debug}");
    assert!(!debug.contains(SECRET), "{debug}");
}

#[test]
fn secret_in_a_misnamed_environment_variable_is_not_shown() {
    let file = ConfigFile::new(&valid_toml(""));
    let all = ConfigErrors(errors(
        &file.overrides(),
        false,
        env(&[("ATLAS_EXPORTER_AUTH__CLIENT_SECRT", SECRET)]),
    ));
    let shown = format!("{all}\n{all:?}");
    assert!(
        shown.contains("ATLAS_EXPORTER_AUTH__CLIENT_SECRT"),
        "{shown}"
    );
    assert!(!shown.contains(SECRET), "{shown}");
}

#[test]
fn defaults_alone_are_valid_in_demo_mode() {
    let config = load_from(&Overrides::default(), true, vec![]).expect("demo defaults");
    assert!(config.orgs.is_empty());
    assert_eq!(config.source_file, None);
    // The demo supplies the simulator's credentials itself.
    assert!(config.auth.is_none(), "{:?}", config.auth);
}
