//! Layering of the configuration sources with figment, and the errors a user sees.
//!
//! Every layer is a figment provider whose metadata names exactly where its values came from, down to
//! the single environment variable or flag, so an error can say `environment variable
//! ATLAS_EXPORTER_POLL__INTERVAL` rather than "the environment".

use std::path::{Path, PathBuf};

use figment::providers::{Format, Toml};
use figment::value::{Dict, Map, Value};
use figment::{Figment, Metadata, Profile, Provider};

use super::environment::{ENV_PREFIX, Environment, env_key_path, is_config_variable};
use super::error::{ConfigError, ConfigErrors};
use super::keys::{self, KEYS};
use super::settings::Config;
use super::validate::{self, Validated};

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
            Ok(value) => env.insert(name, value),
            Err(_) if is_config_variable(&name) => errors.push(ConfigError {
                key: env_key_path(&name).unwrap_or_else(|| name.clone()),
                message: "the value is not valid UTF-8".to_owned(),
                source_name: format!("environment variable {name}"),
            }),
            Err(_) => env.insert_not_unicode(name),
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
fn with_warnings(loaded: Validated) -> Config {
    let mut config = loaded.config;
    config.warnings = loaded.warnings;
    config
}

pub(crate) fn load_layers(
    overrides: &Overrides,
    demo: bool,
    env: impl IntoIterator<Item = (String, String)>,
    errors: Vec<ConfigError>,
) -> Result<Validated, ConfigErrors> {
    load_environment(overrides, demo, &Environment::from_pairs(env), errors)
}

fn load_environment(
    overrides: &Overrides,
    demo: bool,
    env: &Environment,
    mut errors: Vec<ConfigError>,
) -> Result<Validated, ConfigErrors> {
    let mut figment = Figment::new().merge(Layer::new(Metadata::named("default"), defaults()));
    // A file that cannot be read or parsed contributes nothing, so validating without it would add
    // follow-on errors ("no organisations configured", "no credentials") that its fix removes.
    let mut file_failed = false;
    if let Some(path) = &overrides.config_file {
        match file_layer(path) {
            Ok(layer) => figment = figment.merge(layer),
            Err(error) => {
                errors.push(error);
                file_failed = true;
            }
        }
    }
    for name in env.values().keys().filter(|name| is_config_variable(name)) {
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
    if file_failed {
        return Err(ConfigErrors(errors));
    }
    for layer in env_layers(env) {
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

/// Whether nothing at all configures the exporter: no `--config.file`, no `--demo` and no
/// configuration variable in the process environment. A first run looks like this, and a short hint
/// serves it better than the list of everything missing.
pub fn nothing_configured(overrides: &Overrides, demo: bool) -> bool {
    !demo
        && overrides.config_file.is_none()
        && !std::env::vars_os()
            .filter_map(|(name, _)| name.into_string().ok())
            .any(|name| is_config_variable(&name))
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

/// The declared defaults, one figment layer named `default`.
fn defaults() -> Dict {
    let mut root = Dict::new();
    for key in KEYS {
        if let Some(value) = key.default_value() {
            let section = root
                .entry(key.section().to_owned())
                .or_insert_with(|| Value::from(Dict::new()));
            if let Value::Dict(_, section) = section {
                section.insert(key.name().to_owned(), value);
            }
        }
    }
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

/// One layer per variable, so each value's metadata names its own variable. MongoDB's variables
/// come first, so that `ATLAS_EXPORTER_*` wins when both set the same key.
fn env_layers(env: &Environment) -> Vec<Layer> {
    let mut mongodb = Vec::new();
    let mut ours = Vec::new();
    for (name, value) in env.values() {
        if !is_config_variable(name) {
            continue;
        }
        let Some(dotted) = env_key_path(name) else {
            continue;
        };
        let path: Vec<String> = dotted.split('.').map(str::to_owned).collect();
        let typed = typed_value(&dotted, value);
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

/// Environment values and flags are strings: typed as their key declares (see `Kind::value_of`).
fn typed_value(dotted: &str, raw: &str) -> Value {
    match keys::key(dotted) {
        Some(key) => key.kind.value_of(raw),
        None => Value::from(raw),
    }
}

fn flag_layers(overrides: &Overrides) -> Vec<Layer> {
    let flags = [
        ("web.listen_address", &overrides.listen_address),
        ("log.level", &overrides.log_level),
        ("log.format", &overrides.log_format),
        ("sharding.total", &overrides.sharding_total),
        ("sharding.index", &overrides.sharding_index),
    ];
    flags
        .into_iter()
        .filter_map(|(dotted, value)| {
            let flag = keys::key(dotted)?.flag?;
            let path: Vec<String> = dotted.split('.').map(str::to_owned).collect();
            let typed = typed_value(dotted, value.as_ref()?);
            Some(Layer::single(format!("flag {flag}"), &path, typed))
        })
        .collect()
}
