//! Layering of the configuration sources with figment, and the errors a user sees.
//!
//! Every layer is a figment provider whose metadata names exactly where its values came from, down to
//! the single environment variable or flag, so an error can say `environment variable
//! ATLAS_EXPORTER_POLL__INTERVAL` rather than "the environment".

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use figment::providers::{Format, Toml};
use figment::value::{Dict, Map, Value};
use figment::{Figment, Metadata, Profile, Provider};

use super::validate::{self, DEFAULT_LOG_FORMAT, DEFAULT_LOG_LEVEL, LeafKind, SCHEMA};
use super::{
    Config, DEFAULT_BASE_URL, DEFAULT_CONCURRENCY, DEFAULT_DISCOVERY_INTERVAL,
    DEFAULT_EXPIRY_WINDOWS, DEFAULT_JITTER, DEFAULT_KEEP_STALE_FOR, DEFAULT_LISTEN_ADDRESS,
    DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_POLL_INTERVAL, DEFAULT_STALE_AGE, DEFAULT_TIMEOUT, Source,
};

/// Environment variables under this prefix are configuration keys, `__` separating the levels:
/// `ATLAS_EXPORTER_POLL__INTERVAL` is `poll.interval`.
pub const ENV_PREFIX: &str = "ATLAS_EXPORTER_";

/// Variables under [`ENV_PREFIX`] that are not configuration keys: `ATLAS_EXPORTER_REVISION` is read
/// at build time (see `REVISION` in `lib.rs`) and may still be set when the binary runs.
pub const IGNORED_ENV_VARS: &[&str] = &["ATLAS_EXPORTER_REVISION"];

/// The variables MongoDB's own tools read, and the keys they set. `ATLAS_EXPORTER_*` wins over them.
pub const MONGODB_ENV_VARS: [(&str, &str); 4] = [
    ("MONGODB_ATLAS_CLIENT_ID", "client_id"),
    ("MONGODB_ATLAS_CLIENT_SECRET", "client_secret"),
    ("MONGODB_ATLAS_PUBLIC_KEY", "public_key"),
    ("MONGODB_ATLAS_PRIVATE_KEY", "private_key"),
];

/// Values from the command line, the last and strongest layer.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub config_file: Option<PathBuf>,
    pub listen_address: Option<String>,
    pub log_level: Option<String>,
    pub log_format: Option<String>,
    /// `--sharding.total`: a number, typed like the environment variable.
    pub sharding_total: Option<String>,
    /// `--sharding.index`: a number or `from_hostname`.
    pub sharding_index: Option<String>,
}

/// The process environment as the loader saw it: the `ATLAS_EXPORTER_*` layers come from it, and so
/// do the variables the configuration names (`client_secret_env`, `HOSTNAME` for `from_hostname`).
#[derive(Default)]
pub(super) struct Environment {
    values: HashMap<String, String>,
    /// Variables whose value is not UTF-8: named in an error only if the configuration asks for one.
    not_unicode: HashSet<String>,
}

impl Environment {
    fn from_pairs(pairs: impl IntoIterator<Item = (String, String)>) -> Environment {
        Environment {
            values: pairs.into_iter().collect(),
            not_unicode: HashSet::new(),
        }
    }

    /// The value of `name`, or why there is none, as the end of a sentence naming the variable.
    pub(super) fn var(&self, name: &str) -> Result<&str, String> {
        if self.not_unicode.contains(name) {
            return Err(format!("environment variable {name} is not valid UTF-8"));
        }
        match self.values.get(name) {
            None => Err(format!("environment variable {name} is not set")),
            Some(value) if value.trim().is_empty() => {
                Err(format!("environment variable {name} is empty"))
            }
            Some(value) => Ok(value),
        }
    }
}

// Hand-written so that a secret held in an unrelated variable can never reach a log through `{:?}`.
impl std::fmt::Debug for Environment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Environment")
            .field("variables", &self.values.len())
            .finish_non_exhaustive()
    }
}

/// One problem with the configuration, naming the key and where its value came from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {message} (from {source_name})")]
pub struct ConfigError {
    /// Dotted key path: `poll.interval`, `orgs[2].id`.
    pub key: String,
    pub message: String,
    /// `TOML file /etc/atlas.toml`, `environment variable ATLAS_EXPORTER_POLL__INTERVAL`, `default`, `flag --web.listen-address`.
    pub source_name: String,
}

/// Every problem found, reported together.
#[derive(Debug, Clone, thiserror::Error)]
#[error("invalid configuration:\n{}", .0.iter().map(|e| format!("  - {e}")).collect::<Vec<_>>().join("\n"))]
pub struct ConfigErrors(pub Vec<ConfigError>);

/// Loads defaults, then the TOML file, then the environment (`ATLAS_EXPORTER_*` and MongoDB's own
/// `MONGODB_ATLAS_*` variables), then the flags; validates; and returns every problem at once.
/// `demo` relaxes the requirement for credentials and orgs, which the demo supplies itself: without
/// configured credentials it returns a placeholder `Credentials::ServiceAccount` with empty values.
pub fn load(overrides: &Overrides, demo: bool) -> Result<Config, ConfigErrors> {
    // `std::env::vars` panics on a non-UTF-8 variable; a daemon must not, whatever its environment.
    // Every variable is kept, not only ours: the configuration may name one (`client_secret_env`,
    // `HOSTNAME`).
    let mut errors = Vec::new();
    let mut env = Environment::default();
    for (name, value) in std::env::vars_os() {
        let Ok(name) = name.into_string() else {
            continue;
        };
        match value.into_string() {
            Ok(value) => {
                env.values.insert(name, value);
            }
            Err(_) if is_config_variable(&name) => errors.push(ConfigError {
                key: env_key_path(&name).unwrap_or_else(|| name.clone()),
                message: "the value is not valid UTF-8".to_owned(),
                source_name: format!("environment variable {name}"),
            }),
            Err(_) => {
                env.not_unicode.insert(name);
            }
        }
    }
    let loaded = load_environment(overrides, demo, &env, errors)?;
    Ok(with_warnings(loaded))
}

/// [`load`] with the environment given as `(name, value)` pairs instead of read from the process, so
/// tests running in parallel threads need not share one mutable environment.
// Used by the tests; public for the integration tests once `config` re-exports it.
pub fn load_from(
    overrides: &Overrides,
    demo: bool,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<Config, ConfigErrors> {
    let loaded = load_layers(overrides, demo, env, Vec::new())?;
    Ok(with_warnings(loaded))
}

/// Keeps the warnings in the configuration: loading happens before logging is set up, so the
/// caller logs them ([`Config::warnings`]).
fn with_warnings(loaded: validate::Validated) -> Config {
    let mut config = loaded.config;
    config.warnings = loaded.warnings;
    config
}

pub(super) fn load_layers(
    overrides: &Overrides,
    demo: bool,
    env: impl IntoIterator<Item = (String, String)>,
    errors: Vec<ConfigError>,
) -> Result<validate::Validated, ConfigErrors> {
    load_environment(overrides, demo, &Environment::from_pairs(env), errors)
}

fn load_environment(
    overrides: &Overrides,
    demo: bool,
    env: &Environment,
    mut errors: Vec<ConfigError>,
) -> Result<validate::Validated, ConfigErrors> {
    let mut figment = Figment::new().merge(Layer::new(Metadata::named("default"), defaults()));
    if let Some(path) = &overrides.config_file {
        match file_layer(path) {
            Ok(layer) => figment = figment.merge(layer),
            Err(error) => errors.push(error),
        }
    }
    for name in env.values.keys().filter(|name| is_config_variable(name)) {
        if env_key_path(name).is_none() {
            errors.push(ConfigError {
                key: name.clone(),
                message: format!(
                    "does not name a configuration key: write {ENV_PREFIX}<SECTION>__<KEY>, like {ENV_PREFIX}POLL__INTERVAL"
                ),
                source_name: format!("environment variable {name}"),
            });
        }
    }
    for layer in env_layers(&env.values) {
        figment = figment.merge(layer);
    }
    for layer in flag_layers(overrides) {
        figment = figment.merge(layer);
    }
    match validate::validate(&figment, demo, overrides.config_file.clone(), env) {
        Ok(validated) if errors.is_empty() => Ok(validated),
        Ok(_) => Err(ConfigErrors(errors)),
        Err(more) => {
            errors.extend(more);
            Err(ConfigErrors(errors))
        }
    }
}

/// One figment layer: a dictionary and the name of where it came from.
struct Layer {
    metadata: Metadata,
    dict: Dict,
}

impl Layer {
    fn new(metadata: Metadata, dict: Dict) -> Layer {
        Layer { metadata, dict }
    }

    /// A layer holding a single value at `path`.
    fn single(name: String, path: &[String], value: Value) -> Layer {
        let mut nested = value;
        for segment in path.iter().rev() {
            let mut dict = Dict::new();
            dict.insert(segment.clone(), nested);
            nested = Value::from(dict);
        }
        let dict = match nested {
            Value::Dict(_, dict) => dict,
            _ => Dict::new(),
        };
        Layer::new(Metadata::named(name), dict)
    }
}

impl Provider for Layer {
    fn metadata(&self) -> Metadata {
        self.metadata.clone()
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        Ok(Profile::Default.collect(self.dict.clone()))
    }
}

fn defaults() -> Dict {
    let duration = |d| Value::from(humantime::format_duration(d).to_string());
    let table = |entries: Vec<(&str, Value)>| -> Value {
        Value::from(
            entries
                .into_iter()
                .map(|(key, value)| (key.to_owned(), value))
                .collect::<Dict>(),
        )
    };
    let mut root = Dict::new();
    root.insert(
        "atlas".into(),
        table(vec![
            ("base_url", Value::from(DEFAULT_BASE_URL)),
            ("timeout", duration(DEFAULT_TIMEOUT)),
            (
                "max_response_bytes",
                Value::from(DEFAULT_MAX_RESPONSE_BYTES),
            ),
            ("source", Value::from(Source::default().as_str())),
        ]),
    );
    root.insert(
        "poll".into(),
        table(vec![
            ("interval", duration(DEFAULT_POLL_INTERVAL)),
            ("concurrency", Value::from(DEFAULT_CONCURRENCY)),
            ("jitter", Value::from(DEFAULT_JITTER)),
            ("keep_stale_for", duration(DEFAULT_KEEP_STALE_FOR)),
        ]),
    );
    root.insert(
        "metrics".into(),
        table(vec![
            (
                "expiry_windows",
                Value::from(DEFAULT_EXPIRY_WINDOWS.to_vec()),
            ),
            ("stale_age", duration(DEFAULT_STALE_AGE)),
        ]),
    );
    root.insert(
        "discovery".into(),
        table(vec![
            ("enabled", Value::from(false)),
            ("interval", duration(DEFAULT_DISCOVERY_INTERVAL)),
            ("include", Value::from(Vec::<Value>::new())),
            ("exclude", Value::from(Vec::<Value>::new())),
        ]),
    );
    root.insert(
        "web".into(),
        table(vec![(
            "listen_address",
            Value::from(DEFAULT_LISTEN_ADDRESS),
        )]),
    );
    root.insert(
        "log".into(),
        table(vec![
            ("level", Value::from(DEFAULT_LOG_LEVEL)),
            ("format", Value::from(DEFAULT_LOG_FORMAT)),
        ]),
    );
    root
}

fn file_layer(path: &Path) -> Result<Layer, ConfigError> {
    let name = format!("TOML file {}", path.display());
    let text = std::fs::read_to_string(path).map_err(|error| ConfigError {
        key: "config.file".to_owned(),
        message: format!("cannot read {}: {error}", path.display()),
        source_name: "flag --config.file".to_owned(),
    })?;
    // Only the parser's message and position: its default rendering quotes the offending line,
    // which may hold a secret.
    let dict = <Toml as Format>::from_str::<Dict>(&text).map_err(|error| {
        let position = error
            .span()
            .map(|span| {
                let (line, column) = line_and_column(&text, span.start);
                format!(" at line {line}, column {column}")
            })
            .unwrap_or_default();
        ConfigError {
            key: "config.file".to_owned(),
            message: format!(
                "invalid TOML{position}: {}",
                error.message().trim().replace('\n', "; ")
            ),
            source_name: name.clone(),
        }
    })?;
    Ok(Layer::new(Metadata::named(name).source(path), dict))
}

fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

fn is_config_variable(name: &str) -> bool {
    (name.starts_with(ENV_PREFIX) && !IGNORED_ENV_VARS.contains(&name))
        || MONGODB_ENV_VARS.iter().any(|(var, _)| *var == name)
}

/// `ATLAS_EXPORTER_AUTH__CLIENT_SECRET` → `auth.client_secret`.
fn env_key_path(name: &str) -> Option<String> {
    if let Some((_, key)) = MONGODB_ENV_VARS.iter().find(|(var, _)| *var == name) {
        return Some(format!("auth.{key}"));
    }
    let dotted = name
        .strip_prefix(ENV_PREFIX)?
        .to_ascii_lowercase()
        .replace("__", ".");
    // `ATLAS_EXPORTER_` alone, or `ATLAS_EXPORTER___X`, would name an empty key.
    (!dotted.split('.').any(str::is_empty)).then_some(dotted)
}

/// One layer per variable, so each value's metadata names its own variable. MongoDB's variables
/// come first, so that `ATLAS_EXPORTER_*` wins when both set the same key.
fn env_layers(env: &HashMap<String, String>) -> Vec<Layer> {
    let mut mongodb = Vec::new();
    let mut ours = Vec::new();
    for (name, value) in env {
        if !is_config_variable(name) {
            continue;
        }
        let Some(dotted) = env_key_path(name) else {
            continue;
        };
        let path: Vec<String> = dotted.split('.').map(str::to_owned).collect();
        let typed = typed_value(&path, value.clone());
        let name = name.clone();
        let layer = Layer::single(format!("environment variable {name}"), &path, typed);
        if name.starts_with(ENV_PREFIX) {
            ours.push((name, layer));
        } else {
            mongodb.push((name, layer));
        }
    }
    // The process environment has no order; sort so the result never depends on it.
    mongodb.sort_by(|a, b| a.0.cmp(&b.0));
    ours.sort_by(|a, b| a.0.cmp(&b.0));
    mongodb
        .into_iter()
        .chain(ours)
        .map(|(_, layer)| layer)
        .collect()
}

/// Environment values and flags are strings; give them the type the key expects, so `4` is an integer
/// for `poll.concurrency` but stays the string `"4"` for `auth.client_id`. A value that does not
/// convert stays a string and fails validation with a type error naming the variable or flag.
fn typed_value(path: &[String], raw: String) -> Value {
    let kind = match path {
        [section, key] => SCHEMA
            .iter()
            .find(|(name, _)| name == section)
            .and_then(|(_, keys)| keys.iter().find(|(name, _)| name == key))
            .map(|(_, kind)| *kind),
        _ => None,
    };
    match kind {
        Some(LeafKind::Integer) => raw
            .trim()
            .parse::<u64>()
            .map(Value::from)
            .unwrap_or(Value::from(raw)),
        Some(LeafKind::IntegerOrText) => raw
            .trim()
            .parse::<u64>()
            .map(Value::from)
            .unwrap_or(Value::from(raw)),
        Some(LeafKind::Boolean) => match raw.trim().to_ascii_lowercase().as_str() {
            "true" => Value::from(true),
            "false" => Value::from(false),
            _ => Value::from(raw),
        },
        Some(LeafKind::Fraction) => raw
            .trim()
            .parse::<f64>()
            .map(Value::from)
            .unwrap_or(Value::from(raw)),
        Some(LeafKind::TextList) => {
            // Accept both `24h,72h` and figment's `[24h, 72h]`, quotes optional.
            let inner = raw
                .trim()
                .strip_prefix('[')
                .and_then(|rest| rest.strip_suffix(']'))
                .unwrap_or(raw.trim());
            let items: Vec<Value> = inner
                .split(',')
                .map(|item| item.trim().trim_matches('"').to_owned())
                .filter(|item| !item.is_empty())
                .map(Value::from)
                .collect();
            Value::from(items)
        }
        Some(LeafKind::Text | LeafKind::Secret | LeafKind::Duration) | None => Value::from(raw),
    }
}

fn flag_layers(overrides: &Overrides) -> Vec<Layer> {
    let flags = [
        (
            "--web.listen-address",
            ["web", "listen_address"],
            &overrides.listen_address,
        ),
        ("--log.level", ["log", "level"], &overrides.log_level),
        ("--log.format", ["log", "format"], &overrides.log_format),
        (
            "--sharding.total",
            ["sharding", "total"],
            &overrides.sharding_total,
        ),
        (
            "--sharding.index",
            ["sharding", "index"],
            &overrides.sharding_index,
        ),
    ];
    flags
        .into_iter()
        .filter_map(|(flag, path, value)| {
            let path = path.map(str::to_owned);
            value.as_ref().map(|value| {
                let typed = typed_value(&path, value.clone());
                Layer::single(format!("flag {flag}"), &path, typed)
            })
        })
        .collect()
}

#[cfg(test)]
pub(super) mod tests {
    use std::path::{Path, PathBuf};

    use secrecy::ExposeSecret;

    use super::*;
    use crate::config::validate::{AUTH_KEYS, ORG_KEYS};
    use crate::config::{Credentials, DiscoverySettings, LogFormat, Sharding};

    pub(in crate::config) const SECRET: &str = "s3cr3t-Value-never-shown";
    pub(in crate::config) const ORG: &str = "32b6e34b3d91647abb20e7b8";

    /// A config file in its own temporary directory, kept alive as long as the value.
    pub(in crate::config) struct ConfigFile {
        pub dir: tempfile::TempDir,
        pub path: PathBuf,
    }

    impl ConfigFile {
        pub fn new(toml: &str) -> ConfigFile {
            let dir = tempfile::tempdir().expect("temp dir");
            let path = dir.path().join("atlas.toml");
            std::fs::write(&path, toml).expect("write config");
            ConfigFile { dir, path }
        }

        pub fn source(&self) -> String {
            format!("TOML file {}", self.path.display())
        }

        pub fn overrides(&self) -> Overrides {
            Overrides {
                config_file: Some(self.path.clone()),
                ..Overrides::default()
            }
        }
    }

    /// A minimal valid file: a service account and one org, with `extra` appended.
    pub(in crate::config) fn valid_toml(extra: &str) -> String {
        format!(
            "[auth]\nclient_id = \"mdb_sa_id_1\"\nclient_secret = \"{SECRET}\"\n\n[[orgs]]\nid = \"{ORG}\"\n\n{extra}"
        )
    }

    pub(in crate::config) fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    pub(in crate::config) fn errors(
        overrides: &Overrides,
        demo: bool,
        env: Vec<(String, String)>,
    ) -> Vec<ConfigError> {
        match load_layers(overrides, demo, env, Vec::new()) {
            Ok(validated) => panic!("expected errors, got {:?}", validated.config),
            Err(ConfigErrors(errors)) => errors,
        }
    }

    fn ok(overrides: &Overrides, env: Vec<(String, String)>) -> Config {
        match load_from(overrides, false, env) {
            Ok(config) => config,
            Err(errors) => panic!("{errors}"),
        }
    }

    fn single_error(overrides: &Overrides, env: Vec<(String, String)>) -> ConfigError {
        let mut all = errors(overrides, false, env);
        assert_eq!(all.len(), 1, "{all:#?}");
        all.remove(0)
    }

    #[test]
    fn layers_apply_in_order_default_file_environment_flag() {
        let file = ConfigFile::new(&valid_toml("[log]\nlevel = \"debug\"\nformat = \"json\"\n"));
        let only_file = ok(&file.overrides(), vec![]);
        assert_eq!(only_file.log.level, "debug");
        assert_eq!(only_file.log.format, LogFormat::Json);
        // Untouched keys keep their defaults.
        assert_eq!(only_file.poll.interval, DEFAULT_POLL_INTERVAL);
        assert_eq!(
            only_file.web.listen_address.to_string(),
            DEFAULT_LISTEN_ADDRESS
        );

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
        // The file's absence does not hide the other problems.
        assert!(all.iter().any(|e| e.key == "auth"), "{all:#?}");
        assert!(all.iter().any(|e| e.key == "orgs"), "{all:#?}");
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
    fn example_file_documents_every_key_and_loads_with_its_defaults() {
        let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/example.toml");
        let text = std::fs::read_to_string(&example).expect("config/example.toml");
        for (section, keys) in SCHEMA {
            assert!(
                text.contains(&format!("[{section}]")),
                "[{section}] missing"
            );
            for (key, _) in *keys {
                assert!(
                    text.contains(&format!("{key} = ")),
                    "{section}.{key} missing"
                );
            }
        }
        for key in ORG_KEYS {
            assert!(
                text.contains(&format!("{key} = ")) || text.contains(&format!("[orgs.{key}]")),
                "orgs {key} missing"
            );
        }
        for (key, _) in AUTH_KEYS {
            assert!(
                text.contains(&format!("# {key} = ")),
                "orgs.auth {key} missing"
            );
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
        assert_eq!(config.atlas.base_url, DEFAULT_BASE_URL);
        assert_eq!(config.atlas.timeout, DEFAULT_TIMEOUT);
        assert_eq!(config.atlas.max_response_bytes, DEFAULT_MAX_RESPONSE_BYTES);
        assert_eq!(config.poll.interval, DEFAULT_POLL_INTERVAL);
        assert_eq!(config.poll.concurrency, DEFAULT_CONCURRENCY);
        assert_eq!(config.poll.jitter, DEFAULT_JITTER);
        assert_eq!(config.poll.keep_stale_for, DEFAULT_KEEP_STALE_FOR);
        let labels: Vec<_> = config
            .metrics
            .expiry_windows
            .iter()
            .map(|w| w.label.as_str())
            .collect();
        assert_eq!(labels, DEFAULT_EXPIRY_WINDOWS);
        assert_eq!(config.metrics.stale_age, DEFAULT_STALE_AGE);
        assert_eq!(
            config.web.listen_address.to_string(),
            DEFAULT_LISTEN_ADDRESS
        );
        assert_eq!(config.log.level, DEFAULT_LOG_LEVEL);
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
        assert_eq!(config.discovery, DiscoverySettings::default());
        assert_eq!(config.sharding, None);
    }

    #[test]
    fn defaults_alone_are_valid_in_demo_mode() {
        let config = load_from(&Overrides::default(), true, vec![]).expect("demo defaults");
        assert!(config.orgs.is_empty());
        assert_eq!(config.source_file, None);
        // The demo supplies the simulator's credentials itself.
        assert!(config.auth.is_none(), "{:?}", config.auth);
    }
}
