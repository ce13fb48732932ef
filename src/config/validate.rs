//! Validation of the raw configuration into [`super::Config`].
//!
//! serde's derived `Deserialize` stops at the first problem, but a user fixing a config file wants every
//! mistake in one run. So instead of extracting into a struct, this walks figment's merged value tree
//! against the schema below, converting each leaf on its own and collecting every error. Each value
//! carries figment's tag, which names the layer (file, environment variable, flag, default) it came from.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::value::{Dict, Num, Tag, Value};
use secrecy::SecretString;

use super::load::{ConfigError, ENV_PREFIX, Environment};
use super::{
    AtlasSettings, Config, Credentials, DEFAULT_BASE_URL, DEFAULT_CONCURRENCY,
    DEFAULT_DISCOVERY_INTERVAL, DEFAULT_JITTER, DEFAULT_KEEP_STALE_FOR, DEFAULT_LISTEN_ADDRESS,
    DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_POLL_INTERVAL, DEFAULT_STALE_AGE, DEFAULT_TIMEOUT,
    DiscoverySettings, ExpiryWindow, LogFormat, LogSettings, MetricsSettings, OrgConfig,
    OrgPattern, PollSettings, Sharding, Source, WebSettings,
};
use crate::types::OrgId;

/// How a leaf is read; the loader also uses it to type environment variables, which are all strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum LeafKind {
    Text,
    /// A string that must never be echoed back in a message.
    Secret,
    Duration,
    Integer,
    /// An integer, or a word with a meaning of its own (`sharding.index = "from_hostname"`).
    IntegerOrText,
    Boolean,
    Fraction,
    TextList,
}

type Section = (&'static str, &'static [(&'static str, LeafKind)]);

/// The shape of the TOML file: every section and key the exporter knows.
pub(super) const SCHEMA: &[Section] = &[
    (
        "atlas",
        &[
            ("base_url", LeafKind::Text),
            ("timeout", LeafKind::Duration),
            ("max_response_bytes", LeafKind::Integer),
            ("source", LeafKind::Text),
        ],
    ),
    ("auth", AUTH_KEYS),
    (
        "poll",
        &[
            ("interval", LeafKind::Duration),
            ("concurrency", LeafKind::Integer),
            ("jitter", LeafKind::Fraction),
            ("keep_stale_for", LeafKind::Duration),
        ],
    ),
    (
        "metrics",
        &[
            ("expiry_windows", LeafKind::TextList),
            ("stale_age", LeafKind::Duration),
        ],
    ),
    (
        "discovery",
        &[
            ("enabled", LeafKind::Boolean),
            ("interval", LeafKind::Duration),
            ("include", LeafKind::TextList),
            ("exclude", LeafKind::TextList),
        ],
    ),
    (
        "sharding",
        &[
            ("total", LeafKind::Integer),
            ("index", LeafKind::IntegerOrText),
        ],
    ),
    ("web", &[("listen_address", LeafKind::Text)]),
    (
        "log",
        &[("level", LeafKind::Text), ("format", LeafKind::Text)],
    ),
];

/// The keys of `[auth]`, and of an organisation's own `[orgs.auth]`.
pub(super) const AUTH_KEYS: &[(&str, LeafKind)] = &[
    ("client_id", LeafKind::Text),
    ("client_secret", LeafKind::Secret),
    ("client_secret_file", LeafKind::Text),
    ("client_secret_env", LeafKind::Text),
    ("public_key", LeafKind::Text),
    ("private_key", LeafKind::Secret),
    ("private_key_file", LeafKind::Text),
    ("private_key_env", LeafKind::Text),
];

/// The keys of one `[[orgs]]` table; `auth` is a table with [`AUTH_KEYS`].
pub(super) const ORG_KEYS: &[&str] = &["id", "name", "interval", "source", "auth"];

/// `sharding.index` read from the StatefulSet ordinal at the end of `HOSTNAME`.
const FROM_HOSTNAME: &str = "from_hostname";
const HOSTNAME: &str = "HOSTNAME";

pub(super) const DEFAULT_LOG_LEVEL: &str = "info";
pub(super) const DEFAULT_LOG_FORMAT: &str = "text";

/// Tests poll a local simulator every second; anything faster is a mistake.
const MIN_INTERVAL: Duration = Duration::from_secs(1);
/// Below this, polling the real Atlas risks its rate limits for little benefit.
const RECOMMENDED_MIN_REMOTE_INTERVAL: Duration = Duration::from_secs(60);
const MAX_JITTER: f64 = 0.5;
/// The minimum for durations that only need to be positive.
const NONZERO: Duration = Duration::from_nanos(1);
const LOG_LEVELS: [&str; 6] = ["trace", "debug", "info", "warn", "error", "off"];

/// A validated configuration, and what the loader should warn about once.
#[derive(Debug)]
pub(super) struct Validated {
    pub config: Config,
    pub warnings: Vec<String>,
}

/// Validates the merged figment. `demo` allows missing credentials (`auth` is then `None`, and the
/// demo supplies the simulator's) and missing organisations. `env` answers the variables the
/// configuration names: `client_secret_env`, `private_key_env` and `HOSTNAME`.
pub(super) fn validate(
    figment: &Figment,
    demo: bool,
    source_file: Option<PathBuf>,
    env: &Environment,
) -> Result<Validated, Vec<ConfigError>> {
    let mut checker = Checker {
        figment,
        env,
        errors: Vec::new(),
        warnings: Vec::new(),
    };
    let root = match figment.find_value("") {
        Ok(root) => root,
        Err(error) => {
            // Our providers never fail, so this means figment itself could not merge the layers.
            return Err(vec![ConfigError {
                key: String::new(),
                message: format!("cannot merge the configuration layers: {}", error.kind),
                source_name: "default".to_owned(),
            }]);
        }
    };
    let empty = Dict::new();
    let root = checker
        .table("", &root, &top_level_keys())
        .unwrap_or(&empty);
    let section = |checker: &mut Checker<'_>, name: &str| -> Dict {
        let known: Vec<&str> = SCHEMA
            .iter()
            .find(|(section, _)| *section == name)
            .map(|(_, keys)| keys.iter().map(|(key, _)| *key).collect())
            .unwrap_or_default();
        // A misplaced `auth = "…"` may be a secret: never echo it.
        let show_value = name != "auth";
        match root.get(name) {
            Some(value) => checker
                .table_showing(name, value, &known, show_value)
                .cloned()
                .unwrap_or_default(),
            None => Dict::new(),
        }
    };

    let atlas_table = section(&mut checker, "atlas");
    let auth_table = section(&mut checker, "auth");
    let poll_table = section(&mut checker, "poll");
    let metrics_table = section(&mut checker, "metrics");
    let discovery_table = section(&mut checker, "discovery");
    let sharding_table = section(&mut checker, "sharding");
    let web_table = section(&mut checker, "web");
    let log_table = section(&mut checker, "log");

    let (atlas, base_url_is_loopback) = checker.atlas(&atlas_table);
    let global_auth = match root.get("auth") {
        // Already reported as not a table: "no credentials" would only repeat it.
        Some(value) if !matches!(value, Value::Dict(..)) => CredentialCheck::Invalid,
        _ => checker.credentials("auth", &auth_table),
    };
    let poll = checker.poll(&poll_table);
    let metrics = checker.metrics(&metrics_table);
    let discovery = checker.discovery(&discovery_table);
    let sharding = checker.sharding(&sharding_table);
    let web = checker.web(&web_table);
    let log = checker.log(&log_table);
    let orgs = checker.orgs(root.get("orgs"), demo, discovery.enabled);
    let auth = match global_auth {
        CredentialCheck::Valid(credentials) => Some(credentials),
        CredentialCheck::Invalid => None,
        CredentialCheck::Absent => {
            if !demo {
                checker.without_global_credentials(&discovery_table, &discovery, &orgs);
            }
            None
        }
    };
    let orgs = orgs.valid;
    // Against a fallback value the comparison would report a problem the user does not have.
    let intervals_valid = checker
        .errors
        .iter()
        .all(|error| !may_hide_an_interval(&error.key));
    if intervals_valid {
        checker.keep_stale_for_covers_intervals(&poll_table, &poll, &orgs);
    }

    if !checker.errors.is_empty() {
        return Err(checker.errors);
    }
    let mut warnings = std::mem::take(&mut checker.warnings);
    if !discovery.enabled {
        for (key, patterns) in [
            ("discovery.include", &discovery.include),
            ("discovery.exclude", &discovery.exclude),
        ] {
            if !patterns.is_empty() {
                warnings.push(format!(
                    "{key} has no effect while discovery.enabled is false: it filters discovered organisations only"
                ));
            }
        }
    }
    let shortest_interval = orgs
        .iter()
        .map(|org| org.interval(&poll))
        .min()
        .unwrap_or(poll.interval);
    if !base_url_is_loopback && shortest_interval < RECOMMENDED_MIN_REMOTE_INTERVAL {
        warnings.push(format!(
            "poll interval {} is below {} against {}: Atlas rate-limits its API, and invitations change slowly",
            humantime::format_duration(shortest_interval),
            humantime::format_duration(RECOMMENDED_MIN_REMOTE_INTERVAL),
            atlas.base_url
        ));
    }
    Ok(Validated {
        config: Config {
            atlas,
            auth,
            poll,
            metrics,
            orgs,
            discovery,
            sharding,
            web,
            log,
            source_file,
            warnings: Vec::new(),
        },
        warnings,
    })
}

/// Whether an error at `key` may have left a poll interval at its fallback, or dropped an
/// organisation with its own: an org's credentials or source cannot.
fn may_hide_an_interval(key: &str) -> bool {
    if key.starts_with("poll.") {
        return true;
    }
    let Some(rest) = key.strip_prefix("orgs") else {
        return false;
    };
    let field = rest.split_once("].").map(|(_, field)| field);
    !matches!(field, Some(field) if field.starts_with("auth") || field == "source")
}

fn parse_source(raw: &str) -> Option<Source> {
    [Source::Auto, Source::Invites, Source::OrgUsers]
        .into_iter()
        .find(|source| source.as_str() == raw)
}

/// The StatefulSet ordinal at the end of a pod name: `atlas-invites-exporter-2` → 2.
fn hostname_ordinal(hostname: &str) -> Option<u32> {
    let (_, ordinal) = hostname.trim().rsplit_once('-')?;
    if ordinal.is_empty() || !ordinal.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    ordinal.parse().ok()
}

/// An `include`/`exclude` entry: an organisation id when it is one, a name glob otherwise.
fn parse_org_pattern(raw: &str) -> Result<OrgPattern, String> {
    if raw.trim().is_empty() {
        return Err(
            "must not be empty: write an organisation id or a name glob like \"Acme*\"".to_owned(),
        );
    }
    if let Some(id) = OrgId::parse(raw) {
        return Ok(OrgPattern::Id(id));
    }
    // A name glob this close to an id is a mistyped id that would silently match nothing.
    if raw.len() == 24 && raw.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!(
            "{raw:?} looks like an organisation id, but ids are written in lowercase: {:?}",
            raw.to_ascii_lowercase()
        ));
    }
    Ok(OrgPattern::NameGlob(raw.to_owned()))
}

fn top_level_keys() -> Vec<&'static str> {
    SCHEMA
        .iter()
        .map(|(section, _)| *section)
        .chain(["orgs"])
        .collect()
}

fn join_key(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_owned()
    } else {
        format!("{parent}.{key}")
    }
}

/// A value's type for messages; the value itself only when it is safe to show.
fn describe(value: &Value, show_value: bool) -> String {
    match (value, show_value) {
        (Value::String(_, text), true) => format!("string {text:?}"),
        (Value::String(..), false) => "a string".to_owned(),
        (Value::Char(_, c), true) => format!("string {:?}", c.to_string()),
        (Value::Char(..), false) => "a string".to_owned(),
        (Value::Bool(_, b), true) => format!("boolean {b}"),
        (Value::Bool(..), false) => "a boolean".to_owned(),
        (Value::Num(_, num), true) => describe_number(num),
        (Value::Num(_, num), false) if num.to_f64().is_some() => "a float".to_owned(),
        (Value::Num(..), false) => "an integer".to_owned(),
        (Value::Empty(..), _) => "an empty value".to_owned(),
        (Value::Dict(..), _) => "a table".to_owned(),
        (Value::Array(..), _) => "an array".to_owned(),
    }
}

fn describe_number(num: &Num) -> String {
    match num.to_f64() {
        Some(float) => format!("float {float}"),
        None => match (num.to_u128_lossy(), num.to_i128()) {
            (Some(unsigned), _) => format!("integer {unsigned}"),
            (None, Some(signed)) => format!("integer {signed}"),
            (None, None) => "a number".to_owned(),
        },
    }
}

fn is_loopback_host(host: &str) -> bool {
    let unbracketed = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    match unbracketed.parse::<IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => host.eq_ignore_ascii_case("localhost"),
    }
}

/// Returns the normalised base URL (no trailing slash) and whether its host is loopback.
fn check_base_url(raw: &str) -> Result<(String, bool), String> {
    // A URL with user info may carry a password: never echo it.
    let shown = if raw.contains('@') {
        "the value".to_owned()
    } else {
        format!("{raw:?}")
    };
    let url = reqwest::Url::parse(raw)
        .map_err(|error| format!("{shown} is not a valid URL ({error})"))?;
    if !matches!(url.scheme(), "https" | "http") {
        return Err(format!(
            "scheme must be https (or http for a loopback host), found {:?}",
            url.scheme()
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not contain a user name or password: use the [auth] section".to_owned());
    }
    let Some(host) = url.host_str() else {
        return Err(format!("{shown} has no host"));
    };
    let loopback = is_loopback_host(host);
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return Err(format!(
            "{shown} must be scheme://host[:port] only, without a path, query or fragment"
        ));
    }
    if url.scheme() == "http" && !loopback {
        return Err(format!(
            "{shown} uses plain http:// for a host that is not loopback; credentials and tokens would cross the network unencrypted: use https://"
        ));
    }
    Ok((url.as_str().trim_end_matches('/').to_owned(), loopback))
}

fn parse_listen_address(raw: &str) -> Result<SocketAddr, String> {
    let expected = "expected IP:port, like \"0.0.0.0:10046\", \"127.0.0.1:10046\", \"[::]:10046\" or \":10046\"";
    // Prometheus exporters accept ":port" for "every interface".
    if let Some(port) = raw.strip_prefix(':') {
        return port
            .parse::<u16>()
            .map(|port| SocketAddr::from((Ipv4Addr::UNSPECIFIED, port)))
            .map_err(|_| format!("{expected}, found {raw:?}"));
    }
    raw.parse::<SocketAddr>()
        .map_err(|_| format!("{expected}, found {raw:?}"))
}

fn check_log_level(raw: &str) -> Result<(), String> {
    let help = "expected trace, debug, info, warn, error or off, or directives like \"info,atlas_invites_exporter=debug\"";
    if raw.trim().is_empty() {
        return Err(format!("must not be empty; {help}"));
    }
    // A bare word that is not a level is a valid EnvFilter directive (it enables a target named so),
    // but here it is almost always a misspelt level.
    for directive in raw.split(',').map(str::trim).filter(|d| !d.is_empty()) {
        if !directive.contains('=')
            && !LOG_LEVELS.contains(&directive.to_ascii_lowercase().as_str())
        {
            return Err(format!("unknown level {directive:?}; {help}"));
        }
    }
    tracing_subscriber::EnvFilter::builder()
        .parse(raw)
        .map(|_| ())
        .map_err(|error| format!("invalid filter {raw:?} ({error}); {help}"))
}

/// A warning when a secret file can be read by its group or by everyone.
fn secret_file_permission_warning(path: &Path) -> Option<String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).ok()?.permissions().mode();
        if mode & 0o044 != 0 {
            let who = if mode & 0o004 != 0 {
                "everyone"
            } else {
                "its group"
            };
            return Some(format!(
                "secret file {} is readable by {who} (mode {:o}); make it readable by the exporter's user only (chmod 600)",
                path.display(),
                mode & 0o777
            ));
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    None
}

/// Reads a secret file: its content with surrounding whitespace trimmed.
fn read_secret_file(path: &Path) -> Result<SecretString, String> {
    let content = std::fs::read_to_string(path)
        .map_err(|error| format!("cannot read secret file {}: {error}", path.display()))?;
    let trimmed = content.trim();
    if trimmed.is_empty() {
        return Err(format!("secret file {} is empty", path.display()));
    }
    Ok(SecretString::from(trimmed.to_owned()))
}

/// The keys of one credential kind, to share the checks between service accounts and API keys.
struct CredentialKeys {
    kind: &'static str,
    id: &'static str,
    secret: &'static str,
    secret_file: &'static str,
    /// Names the environment variable holding the secret.
    secret_env: &'static str,
}

impl CredentialKeys {
    fn all(&self) -> [&'static str; 4] {
        [self.id, self.secret, self.secret_file, self.secret_env]
    }
}

const SERVICE_ACCOUNT_KEYS: CredentialKeys = CredentialKeys {
    kind: "service account",
    id: "client_id",
    secret: "client_secret",
    secret_file: "client_secret_file",
    secret_env: "client_secret_env",
};

const API_KEY_KEYS: CredentialKeys = CredentialKeys {
    kind: "API key",
    id: "public_key",
    secret: "private_key",
    secret_file: "private_key_file",
    secret_env: "private_key_env",
};

/// What one credential table (`[auth]` or `[orgs.auth]`) held.
enum CredentialCheck {
    /// No credential key at all.
    Absent,
    /// Something was configured and every problem with it has been reported.
    Invalid,
    Valid(Credentials),
}

/// The three ways of giving a secret; exactly one may be used.
#[derive(Clone, Copy)]
enum SecretFrom {
    Inline,
    File,
    Environment,
}

/// The `[[orgs]]` entries, and what deciding whether global credentials are needed takes.
struct Orgs {
    valid: Vec<OrgConfig>,
    /// Index and tag of every entry without an `auth` key, valid or not.
    without_own_auth: Vec<(usize, Tag)>,
    /// Whether any entry has an `auth` key, even an invalid one.
    any_own_auth: bool,
}

struct Checker<'f> {
    figment: &'f Figment,
    env: &'f Environment,
    errors: Vec<ConfigError>,
    /// Problems that do not stop the exporter, logged once logging is set up.
    warnings: Vec<String>,
}

impl Checker<'_> {
    fn source(&self, tag: Tag) -> String {
        self.figment
            .get_metadata(tag)
            .map(|metadata| metadata.name.to_string())
            .unwrap_or_else(|| "default".to_owned())
    }

    fn push(&mut self, key: impl Into<String>, tag: Tag, message: impl Into<String>) {
        let source_name = self.source(tag);
        self.errors.push(ConfigError {
            key: key.into(),
            message: message.into(),
            source_name,
        });
    }

    /// A table, with its unknown keys reported. The values of unknown keys are never shown: a
    /// misspelt `client_secrte` still holds a secret.
    fn table<'v>(&mut self, key: &str, value: &'v Value, known: &[&str]) -> Option<&'v Dict> {
        self.table_showing(key, value, known, true)
    }

    /// [`Checker::table`], showing a value that is not a table only when `show_value`.
    fn table_showing<'v>(
        &mut self,
        key: &str,
        value: &'v Value,
        known: &[&str],
        show_value: bool,
    ) -> Option<&'v Dict> {
        match value {
            Value::Dict(_, dict) => {
                for (name, child) in dict {
                    if !known.contains(&name.as_str()) {
                        self.push(
                            join_key(key, name),
                            child.tag(),
                            format!("unknown key; expected one of: {}", known.join(", ")),
                        );
                    }
                }
                Some(dict)
            }
            other => {
                self.push(
                    key,
                    other.tag(),
                    format!("expected a table, found {}", describe(other, show_value)),
                );
                None
            }
        }
    }

    fn text(&mut self, key: &str, value: &Value) -> Option<String> {
        match value {
            Value::String(_, text) => Some(text.clone()),
            Value::Char(_, c) => Some(c.to_string()),
            other => {
                self.push(
                    key,
                    other.tag(),
                    format!("expected a string, found {}", describe(other, true)),
                );
                None
            }
        }
    }

    fn secret(&mut self, key: &str, value: &Value) -> Option<SecretString> {
        match value {
            Value::String(_, text) => Some(SecretString::from(text.trim().to_owned())),
            other => {
                self.push(
                    key,
                    other.tag(),
                    format!("expected a string, found {}", describe(other, false)),
                );
                None
            }
        }
    }

    /// A duration in humantime syntax, and the text it was written as.
    fn duration(&mut self, key: &str, value: &Value) -> Option<(String, Duration)> {
        let Value::String(_, text) = value else {
            self.push(
                key,
                value.tag(),
                format!(
                    "expected a duration string like \"30s\" or \"2m 30s\", found {}",
                    describe(value, true)
                ),
            );
            return None;
        };
        match humantime::parse_duration(text) {
            Ok(duration) => Some((text.clone(), duration)),
            Err(error) => {
                self.push(
                    key,
                    value.tag(),
                    format!(
                        "invalid duration {text:?} ({error}); expected a duration like \"30s\", \"5m\", \"2m 30s\" or \"7d\""
                    ),
                );
                None
            }
        }
    }

    fn boolean(&mut self, key: &str, value: &Value) -> Option<bool> {
        match value {
            Value::Bool(_, flag) => Some(*flag),
            other => {
                self.push(
                    key,
                    other.tag(),
                    format!("expected true or false, found {}", describe(other, true)),
                );
                None
            }
        }
    }

    fn source_setting(&mut self, key: &str, value: &Value) -> Option<Source> {
        let raw = self.text(key, value)?;
        let source = parse_source(&raw);
        if source.is_none() {
            self.push(
                key,
                value.tag(),
                format!("expected \"auto\", \"invites\" or \"org_users\", found {raw:?}"),
            );
        }
        source
    }

    fn integer(&mut self, key: &str, value: &Value) -> Option<u64> {
        if let Value::Num(_, num) = value
            && num.to_f64().is_none()
        {
            if let Some(unsigned) = num.to_u128_lossy() {
                if let Ok(fitting) = u64::try_from(unsigned) {
                    return Some(fitting);
                }
                self.push(key, value.tag(), format!("{unsigned} is too large"));
                return None;
            }
            self.push(key, value.tag(), "must not be negative");
            return None;
        }
        self.push(
            key,
            value.tag(),
            format!("expected an integer, found {}", describe(value, true)),
        );
        None
    }

    fn fraction(&mut self, key: &str, value: &Value) -> Option<f64> {
        if let Value::Num(_, num) = value {
            let as_float = num
                .to_f64()
                .or_else(|| num.to_u128_lossy().map(|n| n as f64))
                .or_else(|| num.to_i128().map(|n| n as f64));
            if as_float.is_some() {
                return as_float;
            }
        }
        self.push(
            key,
            value.tag(),
            format!("expected a number, found {}", describe(value, true)),
        );
        None
    }

    fn text_list(&mut self, key: &str, value: &Value) -> Option<Vec<(String, Tag)>> {
        let Value::Array(_, items) = value else {
            self.push(
                key,
                value.tag(),
                format!(
                    "expected an array of strings, found {}",
                    describe(value, true)
                ),
            );
            return None;
        };
        let mut texts = Vec::with_capacity(items.len());
        let mut all_text = true;
        for (index, item) in items.iter().enumerate() {
            match self.text(&format!("{key}[{index}]"), item) {
                Some(text) => texts.push((text, item.tag())),
                None => all_text = false,
            }
        }
        all_text.then_some(texts)
    }

    /// A duration of at least `minimum`, with a message naming the limit.
    fn bounded_duration(
        &mut self,
        key: &str,
        value: &Value,
        minimum: Duration,
    ) -> Option<(String, Duration)> {
        let (text, duration) = self.duration(key, value)?;
        if duration < minimum {
            let message = if minimum == NONZERO {
                format!("must be greater than 0, found {text:?}")
            } else {
                format!(
                    "must be at least {}, found {text:?}",
                    humantime::format_duration(minimum)
                )
            };
            self.push(key, value.tag(), message);
            return None;
        }
        Some((text, duration))
    }

    fn positive_duration(&mut self, key: &str, value: Option<&Value>) -> Option<Duration> {
        self.bounded_duration(key, value?, NONZERO)
            .map(|(_, duration)| duration)
    }

    fn atlas(&mut self, table: &Dict) -> (AtlasSettings, bool) {
        let mut base_url = DEFAULT_BASE_URL.to_owned();
        let mut loopback = false;
        if let Some(value) = table.get("base_url")
            && let Some(raw) = self.text("atlas.base_url", value)
        {
            match check_base_url(&raw) {
                Ok((normalised, is_loopback)) => {
                    base_url = normalised;
                    loopback = is_loopback;
                }
                Err(message) => self.push("atlas.base_url", value.tag(), message),
            }
        }
        let timeout = self
            .positive_duration("atlas.timeout", table.get("timeout"))
            .unwrap_or(DEFAULT_TIMEOUT);
        let mut max_response_bytes = DEFAULT_MAX_RESPONSE_BYTES;
        if let Some(value) = table.get("max_response_bytes")
            && let Some(bytes) = self.integer("atlas.max_response_bytes", value)
        {
            if bytes == 0 {
                self.push(
                    "atlas.max_response_bytes",
                    value.tag(),
                    "must be greater than 0",
                );
            } else {
                max_response_bytes = bytes;
            }
        }
        let source = table
            .get("source")
            .and_then(|value| self.source_setting("atlas.source", value))
            .unwrap_or_default();
        let settings = AtlasSettings {
            base_url,
            timeout,
            max_response_bytes,
            source,
        };
        (settings, loopback)
    }

    /// The first key of `keys` present in the table, with its tag, to name a credential kind's source.
    fn first_present(table: &Dict, keys: &CredentialKeys) -> Option<(&'static str, Tag)> {
        keys.all()
            .into_iter()
            .find_map(|key| table.get(key).map(|value| (key, value.tag())))
    }

    /// One credential table, `[auth]` or `[orgs.auth]` (`prefix` is its key), complete on its own.
    fn credentials(&mut self, prefix: &str, table: &Dict) -> CredentialCheck {
        let service_account = Self::first_present(table, &SERVICE_ACCOUNT_KEYS);
        let api_key = Self::first_present(table, &API_KEY_KEYS);
        if let (Some((sa_key, sa_tag)), Some((key_key, key_tag))) = (service_account, api_key) {
            let sa_source = self.source(sa_tag);
            self.push(
                prefix,
                key_tag,
                format!(
                    "both a service account ({prefix}.{sa_key} from {sa_source}) and an API key ({prefix}.{key_key}) are configured; keep one"
                ),
            );
            // Each kind's own problems are still worth reporting in the same run.
            self.credential_pair(prefix, table, &SERVICE_ACCOUNT_KEYS);
            self.credential_pair(prefix, table, &API_KEY_KEYS);
            return CredentialCheck::Invalid;
        }
        if service_account.is_some() {
            return match self.credential_pair(prefix, table, &SERVICE_ACCOUNT_KEYS) {
                Some((client_id, client_secret)) => {
                    CredentialCheck::Valid(Credentials::ServiceAccount {
                        client_id,
                        client_secret,
                    })
                }
                None => CredentialCheck::Invalid,
            };
        }
        if api_key.is_some() {
            return match self.credential_pair(prefix, table, &API_KEY_KEYS) {
                Some((public_key, private_key)) => CredentialCheck::Valid(Credentials::ApiKey {
                    public_key,
                    private_key,
                }),
                None => CredentialCheck::Invalid,
            };
        }
        CredentialCheck::Absent
    }

    /// The id and secret of one credential kind, reporting what is missing, doubled or unreadable.
    fn credential_pair(
        &mut self,
        prefix: &str,
        table: &Dict,
        keys: &CredentialKeys,
    ) -> Option<(String, SecretString)> {
        let id_key = format!("{prefix}.{}", keys.id);
        let secret_key = format!("{prefix}.{}", keys.secret);
        let file_key = format!("{prefix}.{}", keys.secret_file);
        let env_key = format!("{prefix}.{}", keys.secret_env);
        let id_value = table.get(keys.id);
        let given: Vec<(SecretFrom, &String, &Value)> = [
            (SecretFrom::Inline, &secret_key, table.get(keys.secret)),
            (SecretFrom::File, &file_key, table.get(keys.secret_file)),
            (
                SecretFrom::Environment,
                &env_key,
                table.get(keys.secret_env),
            ),
        ]
        .into_iter()
        .filter_map(|(from, key, value)| value.map(|value| (from, key, value)))
        .collect();

        let id = match id_value {
            Some(value) => self.text(&id_key, value).and_then(|id| {
                let id = id.trim().to_owned();
                if id.is_empty() {
                    self.push(&id_key, value.tag(), "must not be empty");
                    None
                } else {
                    Some(id)
                }
            }),
            None => {
                let (present, tag) = given
                    .first()
                    .map_or((&secret_key, Tag::Default), |(_, key, value)| {
                        (*key, value.tag())
                    });
                self.push(
                    &id_key,
                    tag,
                    format!(
                        "missing: {present} is set, so the {} also needs {id_key}",
                        keys.kind
                    ),
                );
                None
            }
        };

        let secret = match given.as_slice() {
            [] => {
                let tag = id_value.map_or(Tag::Default, Value::tag);
                self.push(
                    &secret_key,
                    tag,
                    format!(
                        "missing: {id_key} is set, so the {} also needs {secret_key}, {file_key} or {env_key}",
                        keys.kind
                    ),
                );
                None
            }
            [(from, key, value)] => self.secret_from(*from, key, value),
            [(_, first_key, first_value), rest @ ..] => {
                let first_source = self.source(first_value.tag());
                for (_, key, value) in rest {
                    self.push(
                        *key,
                        value.tag(),
                        format!(
                            "{first_key} (from {first_source}) and {key} are both set; keep one"
                        ),
                    );
                }
                None
            }
        };
        Some((id?, secret?))
    }

    /// The secret given one way, checked: not empty, readable, set.
    fn secret_from(&mut self, from: SecretFrom, key: &str, value: &Value) -> Option<SecretString> {
        use secrecy::ExposeSecret;
        match from {
            SecretFrom::Inline => self.secret(key, value).and_then(|secret| {
                if secret.expose_secret().is_empty() {
                    self.push(key, value.tag(), "must not be empty");
                    None
                } else {
                    Some(secret)
                }
            }),
            SecretFrom::File => self.text(key, value).and_then(|raw| {
                let path = self.resolve_path(&raw, value.tag());
                if let Some(warning) = secret_file_permission_warning(&path) {
                    self.warnings.push(format!("{key}: {warning}"));
                }
                read_secret_file(&path)
                    .map_err(|message| self.push(key, value.tag(), message))
                    .ok()
            }),
            SecretFrom::Environment => {
                let name = self.text(key, value)?;
                let name = name.trim();
                let problem = if name.is_empty() {
                    Some(
                        "must name an environment variable, like \"ATLAS_CLIENT_SECRET\""
                            .to_owned(),
                    )
                } else if name.starts_with(ENV_PREFIX) {
                    Some(format!(
                        "{name:?} is under {ENV_PREFIX}, whose variables are configuration keys; choose a name outside it, like \"ATLAS_CLIENT_SECRET\""
                    ))
                } else {
                    None
                };
                if let Some(problem) = problem {
                    self.push(key, value.tag(), problem);
                    return None;
                }
                match self.env.var(name) {
                    Ok(secret) => Some(SecretString::from(secret.trim().to_owned())),
                    Err(problem) => {
                        self.push(key, value.tag(), problem);
                        None
                    }
                }
            }
        }
    }

    /// No `[auth]` at all: reports whatever then lacks a credential.
    fn without_global_credentials(
        &mut self,
        discovery_table: &Dict,
        discovery: &DiscoverySettings,
        orgs: &Orgs,
    ) {
        if discovery.enabled {
            let tag = discovery_table
                .get("enabled")
                .map_or(Tag::Default, Value::tag);
            self.push(
                "discovery.enabled",
                tag,
                "discovery lists organisations with the global credentials, and there are none: set [auth] (an [orgs.auth] serves its own organisation only)",
            );
        } else if !orgs.any_own_auth {
            self.push(
                "auth",
                Tag::Default,
                "no credentials: set auth.client_id and auth.client_secret (service account, recommended) or auth.public_key and auth.private_key (API key), or give every [[orgs]] entry its own [orgs.auth]",
            );
        } else {
            for (index, tag) in &orgs.without_own_auth {
                self.push(
                    format!("orgs[{index}].auth"),
                    *tag,
                    "missing: there is no global [auth], so this organisation needs its own [orgs.auth]",
                );
            }
        }
    }

    /// Relative paths written in the config file are relative to that file, as in Prometheus;
    /// relative paths from the environment or flags are relative to the working directory.
    fn resolve_path(&self, raw: &str, tag: Tag) -> PathBuf {
        let path = PathBuf::from(raw);
        if path.is_absolute() {
            return path;
        }
        let file_dir = self
            .figment
            .get_metadata(tag)
            .and_then(|metadata| metadata.source.as_ref())
            .and_then(|source| source.file_path())
            .and_then(Path::parent);
        match file_dir {
            Some(dir) => dir.join(path),
            None => path,
        }
    }

    fn poll(&mut self, table: &Dict) -> PollSettings {
        let interval = table
            .get("interval")
            .and_then(|value| self.bounded_duration("poll.interval", value, MIN_INTERVAL))
            .map_or(DEFAULT_POLL_INTERVAL, |(_, duration)| duration);
        let mut concurrency = DEFAULT_CONCURRENCY;
        if let Some(value) = table.get("concurrency")
            && let Some(count) = self.integer("poll.concurrency", value)
        {
            match usize::try_from(count) {
                Ok(0) => self.push("poll.concurrency", value.tag(), "must be at least 1"),
                Ok(count) => concurrency = count,
                Err(_) => self.push(
                    "poll.concurrency",
                    value.tag(),
                    format!("{count} is too large"),
                ),
            }
        }
        let mut jitter = DEFAULT_JITTER;
        if let Some(value) = table.get("jitter")
            && let Some(fraction) = self.fraction("poll.jitter", value)
        {
            if (0.0..=MAX_JITTER).contains(&fraction) {
                jitter = fraction;
            } else {
                self.push(
                    "poll.jitter",
                    value.tag(),
                    format!(
                        "must be a fraction of the interval from 0.0 to {MAX_JITTER}, found {fraction}"
                    ),
                );
            }
        }
        let keep_stale_for = self
            .positive_duration("poll.keep_stale_for", table.get("keep_stale_for"))
            .unwrap_or(DEFAULT_KEEP_STALE_FOR);
        PollSettings {
            interval,
            concurrency,
            jitter,
            keep_stale_for,
        }
    }

    /// An org's series are dropped `keep_stale_for` after its last success: shorter than the
    /// interval, they would vanish between two successful polls.
    fn keep_stale_for_covers_intervals(
        &mut self,
        table: &Dict,
        poll: &PollSettings,
        orgs: &[OrgConfig],
    ) {
        let Some(value) = table.get("keep_stale_for") else {
            return;
        };
        let longest = orgs
            .iter()
            .map(|org| org.interval(poll))
            .chain([poll.interval])
            .max()
            .unwrap_or(poll.interval);
        if poll.keep_stale_for < longest {
            self.push(
                "poll.keep_stale_for",
                value.tag(),
                format!(
                    "{} is shorter than the longest poll interval ({}): series would be dropped between two successful polls",
                    humantime::format_duration(poll.keep_stale_for),
                    humantime::format_duration(longest)
                ),
            );
        }
    }

    fn metrics(&mut self, table: &Dict) -> MetricsSettings {
        let mut expiry_windows = Vec::new();
        if let Some(value) = table.get("expiry_windows")
            && let Some(texts) = self.text_list("metrics.expiry_windows", value)
        {
            if texts.is_empty() {
                self.push(
                    "metrics.expiry_windows",
                    value.tag(),
                    "must list at least one window, like [\"24h\"]",
                );
            }
            let mut seen: HashMap<Duration, String> = HashMap::new();
            for (index, (text, tag)) in texts.into_iter().enumerate() {
                let key = format!("metrics.expiry_windows[{index}]");
                let item = Value::String(tag, text);
                let Some((label, duration)) = self.bounded_duration(&key, &item, NONZERO) else {
                    continue;
                };
                if let Some(first) = seen.get(&duration) {
                    self.push(
                        key,
                        tag,
                        format!("{label:?} duplicates {first:?}: each window must be different"),
                    );
                    continue;
                }
                seen.insert(duration, label.clone());
                expiry_windows.push(ExpiryWindow { label, duration });
            }
        }
        let stale_age = self
            .positive_duration("metrics.stale_age", table.get("stale_age"))
            .unwrap_or(DEFAULT_STALE_AGE);
        MetricsSettings {
            expiry_windows,
            stale_age,
        }
    }

    fn discovery(&mut self, table: &Dict) -> DiscoverySettings {
        let enabled = table
            .get("enabled")
            .and_then(|value| self.boolean("discovery.enabled", value))
            .unwrap_or(false);
        let interval = table
            .get("interval")
            .and_then(|value| self.bounded_duration("discovery.interval", value, MIN_INTERVAL))
            .map_or(DEFAULT_DISCOVERY_INTERVAL, |(_, duration)| duration);
        let include = self.org_patterns("discovery.include", table.get("include"));
        let exclude = self.org_patterns("discovery.exclude", table.get("exclude"));
        DiscoverySettings {
            enabled,
            interval,
            include,
            exclude,
        }
    }

    fn org_patterns(&mut self, key: &str, value: Option<&Value>) -> Vec<OrgPattern> {
        let Some(texts) = value.and_then(|value| self.text_list(key, value)) else {
            return Vec::new();
        };
        let mut patterns = Vec::with_capacity(texts.len());
        for (index, (text, tag)) in texts.into_iter().enumerate() {
            match parse_org_pattern(&text) {
                Ok(pattern) => patterns.push(pattern),
                Err(message) => self.push(format!("{key}[{index}]"), tag, message),
            }
        }
        patterns
    }

    /// `None` when neither key is set; a configured `total = 1` is still `Some`.
    fn sharding(&mut self, table: &Dict) -> Option<Sharding> {
        let total_value = table.get("total");
        let index_value = table.get("index");
        let total = match (total_value, index_value) {
            (None, None) => return None,
            (None, Some(index)) => {
                self.push(
                    "sharding.total",
                    index.tag(),
                    "missing: sharding.index is set, so sharding.total (the number of replicas) is needed too",
                );
                None
            }
            (Some(value), _) => {
                self.integer("sharding.total", value)
                    .and_then(|total| match u32::try_from(total) {
                        Ok(0) => {
                            self.push("sharding.total", value.tag(), "must be at least 1");
                            None
                        }
                        Ok(total) => Some(total),
                        Err(_) => {
                            self.push(
                                "sharding.total",
                                value.tag(),
                                format!("{total} is too large"),
                            );
                            None
                        }
                    })
            }
        };
        let index = match index_value {
            None => {
                let tag = total_value.map_or(Tag::Default, Value::tag);
                self.push(
                    "sharding.index",
                    tag,
                    format!(
                        "missing: sharding.total is set, so sharding.index is needed too: a number from 0 to total - 1, or {FROM_HOSTNAME:?}"
                    ),
                );
                None
            }
            Some(value) => self.shard_index(value, total),
        };
        Some(Sharding {
            total: total?,
            index: index?,
        })
    }

    /// `sharding.index`: a number, or the StatefulSet ordinal in `HOSTNAME`. Compared with `total`
    /// only when that is valid, so a bad total is not reported twice.
    fn shard_index(&mut self, value: &Value, total: Option<u32>) -> Option<u32> {
        const KEY: &str = "sharding.index";
        let (index, origin) = match value {
            Value::String(_, text) if text == FROM_HOSTNAME => {
                let hostname = match self.env.var(HOSTNAME) {
                    Ok(hostname) => hostname.trim().to_owned(),
                    Err(problem) => {
                        self.push(
                            KEY,
                            value.tag(),
                            format!(
                                "{FROM_HOSTNAME:?} reads the StatefulSet ordinal from {HOSTNAME}, but {problem}"
                            ),
                        );
                        return None;
                    }
                };
                let Some(ordinal) = hostname_ordinal(&hostname) else {
                    self.push(
                        KEY,
                        value.tag(),
                        format!(
                            "{FROM_HOSTNAME:?}: {HOSTNAME} {hostname:?} does not end in -<ordinal> like a StatefulSet pod (atlas-invites-exporter-2)"
                        ),
                    );
                    return None;
                };
                (
                    ordinal,
                    format!("{HOSTNAME} {hostname:?} gives ordinal {ordinal}"),
                )
            }
            Value::Num(..) => {
                let index = self.integer(KEY, value)?;
                let Ok(index) = u32::try_from(index) else {
                    self.push(KEY, value.tag(), format!("{index} is too large"));
                    return None;
                };
                (index, format!("found {index}"))
            }
            other => {
                self.push(
                    KEY,
                    other.tag(),
                    format!(
                        "expected a number from 0 to sharding.total - 1 or {FROM_HOSTNAME:?}, found {}",
                        describe(other, true)
                    ),
                );
                return None;
            }
        };
        if let Some(total) = total
            && index >= total
        {
            self.push(
                KEY,
                value.tag(),
                format!(
                    "must be below sharding.total ({total}): {origin}; every replica needs its own index from 0 to {}",
                    total - 1
                ),
            );
            return None;
        }
        Some(index)
    }

    fn web(&mut self, table: &Dict) -> WebSettings {
        let fallback = SocketAddr::from((Ipv4Addr::UNSPECIFIED, 10046));
        let listen_address = table
            .get("listen_address")
            .and_then(|value| {
                let raw = self.text("web.listen_address", value)?;
                parse_listen_address(&raw)
                    .map_err(|message| self.push("web.listen_address", value.tag(), message))
                    .ok()
            })
            .or_else(|| DEFAULT_LISTEN_ADDRESS.parse().ok())
            .unwrap_or(fallback);
        WebSettings { listen_address }
    }

    fn log(&mut self, table: &Dict) -> LogSettings {
        let level = table
            .get("level")
            .and_then(|value| {
                let raw = self.text("log.level", value)?;
                check_log_level(&raw)
                    .map_err(|message| self.push("log.level", value.tag(), message))
                    .ok()
                    .map(|()| raw)
            })
            .unwrap_or_else(|| DEFAULT_LOG_LEVEL.to_owned());
        let format = table
            .get("format")
            .and_then(|value| {
                let raw = self.text("log.format", value)?;
                match raw.as_str() {
                    "text" => Some(LogFormat::Text),
                    "json" => Some(LogFormat::Json),
                    _ => {
                        self.push(
                            "log.format",
                            value.tag(),
                            format!("expected \"text\" or \"json\", found {raw:?}"),
                        );
                        None
                    }
                }
            })
            .unwrap_or(LogFormat::Text);
        LogSettings { level, format }
    }

    /// The `[[orgs]]` entries; none is an error unless the demo or discovery supplies them.
    fn orgs(&mut self, value: Option<&Value>, demo: bool, discovery: bool) -> Orgs {
        let missing = "no organisations configured: add at least one [[orgs]] table with an id, or set discovery.enabled = true";
        let none_needed = demo || discovery;
        let mut orgs = Orgs {
            valid: Vec::new(),
            without_own_auth: Vec::new(),
            any_own_auth: false,
        };
        let items = match value {
            None => {
                if !none_needed {
                    self.push("orgs", Tag::Default, missing);
                }
                return orgs;
            }
            Some(Value::Array(tag, items)) => {
                if items.is_empty() && !none_needed {
                    self.push("orgs", *tag, missing);
                }
                items
            }
            Some(other) => {
                self.push(
                    "orgs",
                    other.tag(),
                    format!(
                        "expected an array of [[orgs]] tables, found {}",
                        describe(other, true)
                    ),
                );
                return orgs;
            }
        };
        let auth_keys: Vec<&str> = AUTH_KEYS.iter().map(|(key, _)| *key).collect();
        let mut first_index_of: HashMap<OrgId, usize> = HashMap::new();
        for (index, item) in items.iter().enumerate() {
            let prefix = format!("orgs[{index}]");
            let Some(table) = self.table(&prefix, item, ORG_KEYS) else {
                continue;
            };
            let id_key = format!("{prefix}.id");
            let id = match table.get("id") {
                None => {
                    self.push(&id_key, item.tag(), "missing: every org needs an id");
                    None
                }
                Some(value) => self.text(&id_key, value).and_then(|raw| {
                    let Some(id) = OrgId::parse(&raw) else {
                        self.push(
                            &id_key,
                            value.tag(),
                            format!("{raw:?} is not an Atlas organisation id: expected 24 lowercase hexadecimal digits"),
                        );
                        return None;
                    };
                    if let Some(first) = first_index_of.get(&id) {
                        self.push(
                            &id_key,
                            value.tag(),
                            format!("{raw:?} duplicates orgs[{first}].id"),
                        );
                        return None;
                    }
                    first_index_of.insert(id.clone(), index);
                    Some(id)
                }),
            };
            let name_key = format!("{prefix}.name");
            let name = table.get("name").and_then(|value| {
                let name = self.text(&name_key, value)?;
                if name.trim().is_empty() {
                    self.push(
                        &name_key,
                        value.tag(),
                        "must not be empty; omit it to use the name from Atlas",
                    );
                    return None;
                }
                Some(name)
            });
            let interval = table.get("interval").and_then(|value| {
                self.bounded_duration(&format!("{prefix}.interval"), value, MIN_INTERVAL)
                    .map(|(_, duration)| duration)
            });
            let source = table
                .get("source")
                .and_then(|value| self.source_setting(&format!("{prefix}.source"), value));
            let auth_key = format!("{prefix}.auth");
            let auth = match table.get("auth") {
                None => {
                    orgs.without_own_auth.push((index, item.tag()));
                    None
                }
                Some(value) => {
                    orgs.any_own_auth = true;
                    self.table_showing(&auth_key, value, &auth_keys, false)
                        .and_then(|auth_table| match self.credentials(&auth_key, auth_table) {
                            CredentialCheck::Valid(credentials) => Some(credentials),
                            CredentialCheck::Invalid => None,
                            CredentialCheck::Absent => {
                                self.push(
                                    &auth_key,
                                    value.tag(),
                                    "empty: set client_id with client_secret, client_secret_file or client_secret_env (or public_key with private_key, private_key_file or private_key_env), or remove it to use [auth]",
                                );
                                None
                            }
                        })
                }
            };
            if let Some(id) = id {
                orgs.valid.push(OrgConfig {
                    name,
                    interval,
                    source,
                    auth,
                    ..OrgConfig::new(id)
                });
            }
        }
        orgs
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use secrecy::ExposeSecret;

    use super::super::load::tests::{ConfigFile, ORG, SECRET, env, errors, valid_toml};
    use super::super::load::{Overrides, load_layers};
    use super::*;

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

    fn raw_case(
        name: &'static str,
        toml: String,
        key: &'static str,
        message: &'static str,
    ) -> Case {
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
        assert_eq!(config.orgs[1].interval(&config.poll), DEFAULT_POLL_INTERVAL);
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
            &format!("{ONE_ORG}[orgs.auth]\nclient_id = \"mdb_sa_id_own\"\nclient_secret = \"{SECRET}\"\n"),
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
}
