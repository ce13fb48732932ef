//! The declarations against what is written elsewhere: `config/example.toml` and the key tables of
//! `docs/configuration.md`, which must say what `keys.rs` declares.

use std::path::Path;

use figment::providers::{Format, Toml};
use figment::value::{Dict, Value};
use secrecy::ExposeSecret;

use super::{ORG, SECRET, defaults, ok};
use crate::config::environment::MONGODB_ENV_VARS;
use crate::config::keys::{self, KEYS, ORG_KEYS};
use crate::config::kind::{Key, Kind};
use crate::config::load::Overrides;
use crate::config::settings::{Credentials, DiscoverySettings, LogFormat, Source};

#[test]
fn example_file_documents_every_key_and_loads_with_its_defaults() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/example.toml");
    let text = std::fs::read_to_string(&example).expect("config/example.toml");
    for section in keys::sections() {
        assert!(
            text.contains(&format!("[{section}]")),
            "[{section}] missing"
        );
        for key in keys::section_keys(section) {
            assert!(
                text.contains(&format!("{} = ", key.name())),
                "{} missing",
                key.path
            );
        }
    }
    for key in ORG_KEYS {
        assert!(
            text.contains(&format!("{key} = ")) || text.contains(&format!("[orgs.{key}]")),
            "orgs {key} missing"
        );
    }
    for key in keys::section_keys("auth") {
        assert!(
            text.contains(&format!("# {} = ", key.name())),
            "orgs.auth {} missing",
            key.name()
        );
    }
    // "Every key is shown with its default value", as the example says of itself.
    let file = <Toml as Format>::from_str::<Dict>(&text).expect("example.toml is TOML");
    for key in KEYS {
        let written = file
            .get(key.section())
            .and_then(|section| section.as_dict())
            .and_then(|section| section.get(key.name()));
        if let (Some(written), Some(default)) = (written, key.default_value()) {
            assert_eq!(
                as_toml(written),
                as_toml(&default),
                "{} is not its default",
                key.path
            );
        }
    }

    // The example reads the secret from /run/secrets; an operator would mount it, the test
    // points the same key elsewhere from the environment.
    let secret_dir = tempfile::tempdir().expect("temp dir");
    let secret_path = secret_dir.path().join("client_secret");
    std::fs::write(&secret_path, format!("{SECRET}\n")).expect("write secret");
    let overrides = Overrides {
        config_file: Some(example),
        ..Overrides::default()
    };
    let config = ok(
        &overrides,
        vec![(
            "ATLAS_EXPORTER_AUTH__CLIENT_SECRET_FILE".to_owned(),
            secret_path.display().to_string(),
        )],
    );
    let defaults = defaults();
    assert_eq!(config.atlas.base_url, defaults.atlas.base_url);
    assert_eq!(config.atlas.timeout, defaults.atlas.timeout);
    assert_eq!(
        config.atlas.max_response_bytes,
        defaults.atlas.max_response_bytes
    );
    assert_eq!(config.poll.interval, defaults.poll.interval);
    assert_eq!(config.poll.concurrency, defaults.poll.concurrency);
    assert_eq!(config.poll.jitter, defaults.poll.jitter);
    assert_eq!(config.poll.keep_stale_for, defaults.poll.keep_stale_for);
    assert_eq!(
        config.metrics.expiry_windows,
        defaults.metrics.expiry_windows
    );
    assert_eq!(config.metrics.stale_age, defaults.metrics.stale_age);
    assert_eq!(config.web.listen_address, defaults.web.listen_address);
    assert_eq!(config.log.level, defaults.log.level);
    assert_eq!(config.log.format, LogFormat::Text);
    assert_eq!(config.orgs.len(), 1);
    assert_eq!(config.orgs[0].id.as_str(), ORG);
    match &config.auth {
        Some(Credentials::ServiceAccount { client_secret, .. }) => {
            assert_eq!(client_secret.expose_secret(), SECRET)
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(config.atlas.source, Source::Auto);
    assert_eq!(config.orgs[0].source, None);
    assert!(config.orgs[0].auth.is_none());
    assert_eq!(config.discovery, defaults.discovery);
    assert_eq!(config.discovery, DiscoverySettings::default());
    assert_eq!(config.sharding, None);
}

/// A value as written in TOML.
fn as_toml(value: &Value) -> String {
    match value {
        Value::String(_, text) => format!("{text:?}"),
        Value::Bool(_, flag) => flag.to_string(),
        Value::Num(_, num) => match num.to_f64() {
            Some(float) => float.to_string(),
            None => match (num.to_u128_lossy(), num.to_i128()) {
                (Some(unsigned), _) => unsigned.to_string(),
                (None, Some(signed)) => signed.to_string(),
                (None, None) => format!("{num:?}"),
            },
        },
        Value::Array(_, items) => {
            let items: Vec<String> = items.iter().map(as_toml).collect();
            format!("[{}]", items.join(", "))
        }
        Value::Dict(_, entries) => {
            let entries: Vec<String> = entries
                .iter()
                .map(|(name, value)| format!("{name} = {}", as_toml(value)))
                .collect();
            format!("{{{}}}", entries.join(", "))
        }
        other => format!("{other:?}"),
    }
}

/// A default as the documentation shows it: as written in TOML.
fn documented_default(key: &Key) -> String {
    key.default_value()
        .map_or_else(|| "—".to_owned(), |value| format!("`{}`", as_toml(&value)))
}

fn documented_type(kind: &Kind) -> &'static str {
    match kind {
        Kind::Text | Kind::Checked(_) | Kind::Word(_) => "string",
        Kind::Secret => "secret string",
        Kind::Path => "path",
        Kind::Duration { .. } => "duration",
        Kind::Integer { .. } | Kind::Bytes => "integer",
        Kind::Fraction { .. } => "number",
        Kind::Boolean => "boolean",
        Kind::Windows => "array of durations",
        Kind::OrgPatterns | Kind::List(_) => "array of strings",
        Kind::Tiers => "table of arrays of strings",
        Kind::ShardIndex => "integer or `\"from_hostname\"`",
    }
}

fn documented_environment(key: &Key) -> String {
    let mut names = vec![format!("`{}`", key.env_var())];
    names.extend(
        MONGODB_ENV_VARS
            .iter()
            .filter(|(_, path)| *path == key.path)
            .map(|(var, _)| format!("`{var}`")),
    );
    let hint = match key.kind {
        Kind::Boolean => " (`true`/`false`)",
        Kind::Windows | Kind::OrgPatterns | Kind::List(_) => " (`a,b` or `[a, b]`)",
        Kind::Tiers => " (`owner=A B,admin=C`)",
        _ => "",
    };
    format!("{}{hint}", names.join(", "))
}

/// The key table of one section, as docs/configuration.md must show it.
fn key_table(section: &str) -> String {
    let with_flags = keys::section_keys(section).any(|key| key.flag.is_some());
    let mut columns = vec!["key", "type", "default", "environment"];
    if with_flags {
        columns.push("flag");
    }
    columns.push("rule");
    let mut lines = vec![
        format!("| {} |", columns.join(" | ")),
        format!("|{}", "---|".repeat(columns.len())),
    ];
    for key in keys::section_keys(section) {
        let mut cells = vec![
            format!("`{}`", key.name()),
            documented_type(&key.kind).to_owned(),
            documented_default(key),
            documented_environment(key),
        ];
        if with_flags {
            cells.push(
                key.flag
                    .map_or_else(|| "—".to_owned(), |flag| format!("`{flag}`")),
            );
        }
        cells.push(key.doc.to_owned());
        lines.push(format!("| {} |", cells.join(" | ")));
    }
    lines.join("\n")
}

/// The first table after `heading` and before the next heading: its lines, and where they are.
fn table_after(doc: &str, heading: &str) -> Option<(std::ops::Range<usize>, String)> {
    let lines: Vec<&str> = doc.lines().collect();
    let at = lines.iter().position(|line| *line == heading)?;
    let rest = &lines[at + 1..];
    let end = rest
        .iter()
        .position(|line| line.starts_with("#"))
        .unwrap_or(rest.len());
    let start = rest[..end].iter().position(|line| line.starts_with('|'))?;
    let len = rest[start..]
        .iter()
        .take_while(|line| line.starts_with('|'))
        .count();
    let range = at + 1 + start..at + 1 + start + len;
    Some((range.clone(), lines[range].join("\n")))
}

/// Set `UPDATE_CONFIG_DOCS=1` to rewrite the tables from the declarations instead of comparing.
#[test]
fn documented_key_tables_match_the_declarations() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/configuration.md");
    let mut doc = std::fs::read_to_string(&path).expect("docs/configuration.md");
    let update = std::env::var_os("UPDATE_CONFIG_DOCS").is_some();
    let mut problems = Vec::new();
    for section in keys::sections() {
        let heading = format!("### `[{section}]`");
        let expected = key_table(section);
        match table_after(&doc, &heading) {
            None => problems.push(format!("{heading} has no key table; expected:\n{expected}")),
            Some((_, documented)) if documented == expected => {}
            Some((range, documented)) => {
                if update {
                    let mut lines: Vec<&str> = doc.lines().collect();
                    lines.splice(range, expected.lines());
                    doc = lines.join("\n") + "\n";
                } else {
                    problems.push(format!(
                        "{heading}: docs/configuration.md has\n{documented}\nbut src/config/keys.rs declares\n{expected}"
                    ));
                }
            }
        }
    }
    match table_after(&doc, "### `[[orgs]]`") {
        Some((_, table)) => {
            let documented: Vec<&str> = table
                .lines()
                .skip(2)
                .filter_map(|row| row.split('`').nth(1))
                .collect();
            if documented != ORG_KEYS {
                problems.push(format!(
                    "### `[[orgs]]` documents {documented:?}, the declared keys are {ORG_KEYS:?}"
                ));
            }
        }
        None => problems.push("### `[[orgs]]` has no key table".to_owned()),
    }
    if update {
        std::fs::write(&path, doc).expect("write docs/configuration.md");
    }
    assert!(
        problems.is_empty(),
        "{}\n(UPDATE_CONFIG_DOCS=1 cargo test --lib documented_key_tables rewrites the tables)",
        problems.join("\n\n")
    );
}

/// Each environment variable a table shows is one the loader maps back to its key.
#[test]
fn declared_environment_variables_name_their_keys() {
    for key in KEYS {
        assert_eq!(
            crate::config::environment::env_key_path(&key.env_var()).as_deref(),
            Some(key.path)
        );
    }
    for (var, path) in MONGODB_ENV_VARS {
        assert!(
            keys::key(path).is_some(),
            "{var} sets {path}, which is not declared"
        );
    }
}
