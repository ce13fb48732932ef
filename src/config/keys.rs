//! Every configuration key, declared once: its dotted path, kind, default, flag and documented rule.
//!
//! The validation (types, bounds, words), the defaults layer, the typing of environment variables and
//! flags, the example-file test and the key tables of docs/configuration.md all read [`KEYS`]. Adding a
//! plain key takes one entry here and one field where its typed value is used (see `validate.rs`).
//! What a key is, and what each kind checks, is in `kind.rs`.

use std::time::Duration;

use super::kind::{Key, Kind, NONZERO};
use super::rules::{check_base_url, check_listen_address, log_level};
use super::settings::DiscoverySettings;

/// The keys of one `[[orgs]]` table; `auth` is a table with the keys of `[auth]`. Organisations are
/// not scalar keys (they are a list, and not settable from the environment): `orgs.rs` reads them,
/// reusing the kinds of `poll.interval` and `atlas.source` for their overrides.
pub(crate) const ORG_KEYS: &[&str] = &["id", "name", "interval", "source", "auth"];

/// Tests poll a local simulator every second; anything faster is a mistake.
pub(crate) const MIN_INTERVAL: Duration = Duration::from_secs(1);

pub(crate) const SOURCES: &[&str] = &["auto", "invites", "org_users"];
pub(crate) const LOG_FORMATS: &[&str] = &["text", "json"];

/// The key at a dotted path.
pub(crate) fn key(path: &str) -> Option<&'static Key> {
    KEYS.iter().find(|key| key.path == path)
}

/// The declared default of a duration key, for settings built without loading.
fn default_duration(path: &str) -> Duration {
    key(path)
        .and_then(|key| key.default)
        .and_then(|raw| humantime::parse_duration(raw).ok())
        .unwrap_or_default()
}

/// Discovery as declared by default; the discovery tests build their settings from it.
impl Default for DiscoverySettings {
    fn default() -> Self {
        DiscoverySettings {
            enabled: false,
            interval: default_duration("discovery.interval"),
            include: Vec::new(),
            exclude: Vec::new(),
        }
    }
}

/// The sections, in the order of [`KEYS`].
pub(crate) fn sections() -> Vec<&'static str> {
    let mut sections: Vec<&str> = Vec::new();
    for key in KEYS {
        if !sections.contains(&key.section()) {
            sections.push(key.section());
        }
    }
    sections
}

/// The keys of one section, in order.
pub(crate) fn section_keys(section: &str) -> impl Iterator<Item = &'static Key> {
    KEYS.iter().filter(move |key| key.section() == section)
}

const fn duration(min: Duration) -> Kind {
    Kind::Duration { min }
}

const fn count(min: u64, max: u64) -> Kind {
    Kind::Integer { min, max }
}

/// The order is the order of messages and of the documentation's tables.
pub(crate) const KEYS: &[Key] = &[
    Key::new("atlas.base_url", Kind::Checked(check_base_url), Some("https://cloud.mongodb.com")).doc(
        "`http` or `https` URL, scheme://host[:port] only (no path, query, fragment or user info); a trailing `/` is removed. \
         Plain `http://` is refused unless the host is loopback (`127.0.0.0/8`, `::1`, `localhost`), which is what tests and \
         `--demo` use. The token endpoint is `base_url` + `/api/oauth/token`.",
    ),
    Key::new("atlas.timeout", duration(NONZERO), Some("30s"))
        .doc("greater than 0; the limit of one HTTP request."),
    Key::new("atlas.max_response_bytes", Kind::Bytes, Some("33554432"))
        .doc("at least 1 (the default is 32 MiB); a larger body is cut off and counted as an error."),
    Key::new("atlas.source", Kind::Word(SOURCES), Some("auto")).doc(
        "`auto`, `invites` or `org_users` (exactly so, lower case): which API lists invitations. \
         An `[[orgs]]` entry may override it.",
    ),
    Key::new("auth.client_id", Kind::Text, None)
        .doc("service account (recommended, OAuth 2.0 client credentials); not empty."),
    Key::new("auth.client_secret", Kind::Secret, None).doc(
        "the secret inline. With `client_id`, exactly one of `client_secret`, `client_secret_file`, `client_secret_env`.",
    ),
    Key::new("auth.client_secret_file", Kind::Path, None).doc("file holding the secret."),
    Key::new("auth.client_secret_env", Kind::Text, None)
        .doc("the **name** of an environment variable holding the secret."),
    Key::new("auth.public_key", Kind::Text, None)
        .doc("legacy programmatic API key (HTTP Digest); not empty."),
    Key::new("auth.private_key", Kind::Secret, None).doc(
        "the private key inline. With `public_key`, exactly one of `private_key`, `private_key_file`, `private_key_env`.",
    ),
    Key::new("auth.private_key_file", Kind::Path, None).doc("file holding the private key."),
    Key::new("auth.private_key_env", Kind::Text, None)
        .doc("the **name** of an environment variable holding the private key."),
    Key::new("poll.interval", duration(MIN_INTERVAL), Some("5m")).doc(
        "at least `1s`. Under `1m` against a non-loopback `base_url` the exporter starts but logs one warning: \
         Atlas rate-limits its API and invitations change slowly.",
    ),
    Key::new("poll.concurrency", count(1, usize::MAX as u64), Some("4"))
        .doc("at least 1; the most polls in flight at once, across organisations."),
    Key::new("poll.jitter", Kind::Fraction { max: 0.5, of: "the interval" }, Some("0.1")).doc(
        "from `0.0` to `0.5`; each poll is moved by ± this fraction of its interval. Independently of it, every \
         organisation is polled once at start and then placed at a random phase of its interval (its second poll \
         comes after 0.5 to 1.5 intervals), so many organisations spread over the interval instead of bursting at its start.",
    ),
    Key::new("poll.keep_stale_for", duration(NONZERO), Some("15m")).doc(
        "greater than 0 and at least the longest poll interval (the global one and every org override); after this \
         long without a successful poll an organisation keeps only `org_info`, `poll_success`, `last_success` and \
         the API counters.",
    ),
    Key::new("metrics.expiry_windows", Kind::Windows, Some("24h, 72h, 168h")).doc(
        "at least one; each greater than 0; no two of the same length (`\"24h\"` and `\"1d\"` collide). Each \
         window's `within` label on `atlas_invites_role_expiring` is the text exactly as written.",
    ),
    Key::new("metrics.stale_age", duration(NONZERO), Some("7d")).doc(
        "greater than 0; pending invitations created at least this long ago count in `atlas_invites_stale`.",
    ),
    Key::new("discovery.enabled", Kind::Boolean, Some("false")).doc("requires `[auth]`."),
    Key::new("discovery.interval", duration(MIN_INTERVAL), Some("1h"))
        .doc("at least `1s`; how often the organisation list is refreshed."),
    Key::new("discovery.include", Kind::OrgPatterns, Some("[]"))
        .doc("when not empty, only discovered organisations matching an entry are polled."),
    Key::new("discovery.exclude", Kind::OrgPatterns, Some("[]")).doc(
        "discovered organisations matching an entry are not polled; exclude wins over include.",
    ),
    Key::new("sharding.total", count(1, u32::MAX as u64), None)
        .flag("--sharding.total")
        .doc("at least 1: the number of replicas. Required when `index` is set."),
    Key::new("sharding.index", Kind::ShardIndex, None)
        .flag("--sharding.index")
        .doc("from 0 to `total - 1`, or `\"from_hostname\"`. Required when `total` is set."),
    Key::new("web.listen_address", Kind::Checked(check_listen_address), Some("0.0.0.0:10046"))
        .flag("--web.listen-address")
        .doc(
            "`IP:port` (`127.0.0.1:10046`, `[::]:10046`) or `:port` for every IPv4 interface. Host names are not \
             accepted. The default port, 10046, is in the 10000+ block of the Prometheus port allocations.",
        ),
    Key::new("log.level", Kind::Checked(log_level), Some("info"))
        .flag("--log.level")
        .doc(
            "`trace`, `debug`, `info`, `warn`, `error` or `off`, or comma-separated tracing directives each a level \
             or `target=level` (`info,atlas_invites_exporter=debug`).",
        ),
    Key::new("log.format", Kind::Word(LOG_FORMATS), Some("text"))
        .flag("--log.format")
        .doc("`text` or `json`."),
];
