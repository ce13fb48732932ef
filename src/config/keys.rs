//! Every configuration key, declared once: its dotted path, kind, default, flag and documented rule,
//! each plain key as the field of the settings struct that holds its typed value.
//!
//! The validation, the defaults layer, the typing of environment variables and flags, the example-file
//! test and the key tables of docs/configuration.md all read [`KEYS`]; `validate.rs` reads each plain
//! section with the `read` that `section!` generates for it. What a kind checks is in `kind.rs`.
//!
//! To add a key to a plain section (`[atlas]`, `[poll]`, `[metrics]`, `[discovery]`, `[web]`, `[log]`):
//!
//! 1. Declare it as a field of the section's struct below:
//!    `name: Type = Key::new(kind, Some("default")).doc("rule")`. The field's name is the key's
//!    (`poll.name`, `ATLAS_EXPORTER_POLL__NAME`). `Type` is what the exporter reads: any type with a
//!    `FromTyped` (`check.rs`) for the kind's value. The default is written as in an environment
//!    variable (`"5m"`, `"4"`, `"24h, 72h"`); a plain key has one. The rule is the last column of
//!    the key's row in docs/configuration.md.
//! 2. Use it: `config.poll.name`.
//! 3. Show it with its default in config/example.toml, then rewrite the tables of the docs:
//!    `UPDATE_CONFIG_DOCS=1 cargo test --lib documented_key_tables`. The tests in
//!    `tests/declarations.rs` fail until both say what is declared here.
//!
//! A `[discovery]` key also needs its value in `Default for DiscoverySettings`, below. Beyond plain
//! keys: a flag (`.flag("--poll.name")`) also needs its argument in `app/cli.rs` and its field in
//! `Overrides` and line in `flag_layers` (`load.rs`); a key an `[[orgs]]` entry overrides, its name
//! in `ORG_KEYS`, a field in `OrgConfig` and its reading in `orgs.rs`; a new section, a `section!`
//! here, its place in `SECTIONS`, a field in `Config` (`settings.rs`) and its `read` in
//! `validate.rs`. `[auth]` and `[sharding]`, whose keys only make sense together, are declared with
//! `section! { const … }` and read by hand, in `credentials.rs` and `sharding.rs`.

use std::net::SocketAddr;
use std::time::Duration;

use figment::value::{Dict, Tag};
use secrecy::SecretString;

use super::check::{Checker, FromTyped};
use super::kind::{Key, Kind, NONZERO};
use super::rules::{
    check_base_url, check_listen_address, check_runbook_url, log_level, parse_domain_pattern,
    parse_inviter_pattern,
};
use super::values::{ExpiryWindow, LogFormat, OrgPattern, ProjectInvitations, Source, TierRoles};

/// The keys of one `[[orgs]]` table; `auth` is a table with the keys of `[auth]`. Organisations are
/// not scalar keys (they are a list, and not settable from the environment): `orgs.rs` reads them,
/// reusing the kinds of `poll.interval` and `atlas.source` for their overrides.
pub(crate) const ORG_KEYS: &[&str] = &[
    "id",
    "name",
    "interval",
    "source",
    "project_invitations",
    "auth",
];

/// Tests poll a local simulator every second; anything faster is a mistake.
pub(crate) const MIN_INTERVAL: Duration = Duration::from_secs(1);

pub(crate) const SOURCES: &[&str] = &["auto", "invites", "org_users"];
pub(crate) const PROJECT_INVITATIONS: &[&str] = &["auto", "on", "off"];
pub(crate) const LOG_FORMATS: &[&str] = &["text", "json"];

/// One section: with `struct`, a settings struct whose every field is a key (`section.field`), its
/// keys as `KEYS`, and `read`; with `const`, only the keys, for a section read by hand.
macro_rules! section {
    (
        $(#[$attr:meta])*
        $vis:vis struct $name:ident in $section:literal {
            $($(#[$field_attr:meta])* $field:ident: $type:ty = $key:expr),+ $(,)?
        }
    ) => {
        $(#[$attr])*
        $vis struct $name {
            $($(#[$field_attr])* $vis $field: $type,)+
        }

        impl $name {
            pub(crate) const KEYS: &[Key] =
                &[$($key.at(concat!($section, ".", stringify!($field)))),+];

            /// Every key is read, so every problem is reported; `None` unless all are valid.
            pub(crate) fn read(checker: &mut Checker<'_>, table: &Dict) -> Option<$name> {
                $(let $field = checker.get(table, concat!($section, ".", stringify!($field)));)+
                Some($name { $($field: $field?),+ })
            }
        }
    };
    (
        $(#[$attr:meta])*
        $vis:vis const $name:ident in $section:literal {
            $($field:ident = $key:expr),+ $(,)?
        }
    ) => {
        $(#[$attr])*
        $vis const $name: &[Key] = &[$($key.at(concat!($section, ".", stringify!($field)))),+];
    };
}

const fn duration(min: Duration) -> Kind {
    Kind::Duration { min }
}

const fn count(min: u64, max: u64) -> Kind {
    Kind::Integer { min, max }
}

section! {
    #[derive(Debug, Clone)]
    pub struct AtlasSettings in "atlas" {
        /// Scheme, host and optional port, no trailing slash: `https://cloud.mongodb.com`.
        base_url: String = Key::new(
            Kind::Checked(check_base_url),
            Some("https://cloud.mongodb.com"),
        )
        .doc(
            "`http` or `https` URL, scheme://host[:port] only (no path, query, fragment or user info); a trailing `/` is removed. \
             Plain `http://` is refused unless the host is loopback (`127.0.0.0/8`, `::1`, `localhost`), which is what tests and \
             `--demo` use. The token endpoint is `base_url` + `/api/oauth/token`.",
        ),
        timeout: Duration = Key::new(duration(NONZERO), Some("30s"))
            .doc("greater than 0; the limit of one HTTP request."),
        max_response_bytes: u64 = Key::new(Kind::Bytes, Some("33554432")).doc(
            "at least 1 (the default is 32 MiB); a larger body is cut off and counted as an error.",
        ),
        /// Which API lists invitations, unless an organisation overrides it.
        source: Source = Key::new(Kind::Word(SOURCES), Some("auto")).doc(
            "`auto`, `invites` or `org_users` (exactly so, lower case): which API lists invitations. \
             An `[[orgs]]` entry may override it.",
        ),
        /// Whether legacy project invitations are read, unless an organisation overrides it.
        project_invitations: ProjectInvitations = Key::new(Kind::Word(PROJECT_INVITATIONS), Some("auto")).doc(
            "`auto`, `on` or `off`: whether each poll also reads every project's legacy invitations \
             (`GET /groups/{groupId}/invites`, deprecated, needs Project Owner), which the org listings cannot see. \
             `auto` stops asking a project once it answers 410; `on` counts a 410 as a failure. An `[[orgs]]` entry may override it.",
        ),
        /// Empty: the environment's proxies.
        proxy_url: SecretString = Key::new(Kind::Secret, Some("")).doc(
            "empty for the environment's `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` and `NO_PROXY` (or lower case), read as curl \
             reads them (but upper-case `HTTP_PROXY` counts too); else `http://[user:password@]host:port` (or `https://`), the proxy of every request to Atlas, \
             whatever those variables say, except to the hosts `NO_PROXY` names. Checked at start and reload (exit code 2). \
             A secret: never shown in messages or logs.",
        ),
        /// Empty: the system's certificate authorities only.
        ca_file: String = Key::new(Kind::Text, Some("")).doc(
            "empty for none; a PEM file (relative to the working directory) of certificate authorities trusted in addition \
             to the system's: a TLS-inspecting proxy's, or a private CA's. Checked at start and reload (exit code 2), \
             read when the HTTP client is built.",
        ),
        ca_only: bool = Key::new(Kind::Boolean, Some("false")).doc(
            "`true`: only `ca_file`'s authorities are trusted, not the system's. Needs `ca_file`.",
        ),
    }
}

section! {
    /// `[auth]`, and the keys of every `[orgs.auth]`: `credentials.rs` reads them, a kind of credential
    /// at a time.
    const AUTH in "auth" {
        client_id = Key::new(Kind::Text, None)
            .doc("service account (recommended, OAuth 2.0 client credentials); not empty."),
        client_secret = Key::new(Kind::Secret, None).doc(
            "the secret inline. With `client_id`, exactly one of `client_secret`, `client_secret_file`, `client_secret_env`.",
        ),
        client_secret_file = Key::new(Kind::Path, None).doc("file holding the secret."),
        client_secret_env = Key::new(Kind::Text, None)
            .doc("the **name** of an environment variable holding the secret."),
        public_key = Key::new(Kind::Text, None)
            .doc("legacy programmatic API key (HTTP Digest); not empty."),
        private_key = Key::new(Kind::Secret, None).doc(
            "the private key inline. With `public_key`, exactly one of `private_key`, `private_key_file`, `private_key_env`.",
        ),
        private_key_file = Key::new(Kind::Path, None).doc("file holding the private key."),
        private_key_env = Key::new(Kind::Text, None)
            .doc("the **name** of an environment variable holding the private key."),
    }
}

section! {
    #[derive(Debug, Clone)]
    pub struct PollSettings in "poll" {
        interval: Duration = Key::new(duration(MIN_INTERVAL), Some("5m")).doc(
            "at least `1s`. Under `1m` against a non-loopback `base_url` the exporter starts but logs one warning: \
             Atlas rate-limits its API and invitations change slowly.",
        ),
        concurrency: usize = Key::new(count(1, usize::MAX as u64), Some("4"))
            .doc("at least 1; the most polls in flight at once, across organisations."),
        /// Fraction of the interval, 0.0 to 0.5.
        jitter: f64 = Key::new(Kind::Fraction { max: 0.5, of: "the interval" }, Some("0.1")).doc(
            "from `0.0` to `0.5`; each poll is moved by ± this fraction of its interval. Independently of it, every \
             organisation is polled once at start and then placed at a random phase of its interval (its second poll \
             comes after 0.5 to 1.5 intervals), so many organisations spread over the interval instead of bursting at its start.",
        ),
        keep_stale_for: Duration = Key::new(duration(NONZERO), Some("15m")).doc(
            "greater than 0 and at least the longest poll interval (the global one and every org override); after this \
             long without a successful poll an organisation keeps only `org_info`, `poll_success`, `last_success` and \
             the API counters.",
        ),
        slow_interval: Duration = Key::new(duration(MIN_INTERVAL), Some("1h")).doc(
            "at least `1s`; how often facts that change slowly are read: the expiry of the exporter's own service \
             account secret, and each organisation's projects, teams and active members. Also read at start.",
        ),
    }
}

section! {
    #[derive(Debug, Clone)]
    pub struct MetricsSettings in "metrics" {
        expiry_windows: Vec<ExpiryWindow> = Key::new(Kind::Windows, Some("24h, 72h, 168h")).doc(
            "at least one; each greater than 0; no two of the same length (`\"24h\"` and `\"1d\"` collide). Each \
             window's `within` label on `atlas_invites_role_expiring` is the text exactly as written.",
        ),
        stale_age: Duration = Key::new(duration(NONZERO), Some("7d")).doc(
            "greater than 0; pending invitations created at least this long ago count in `atlas_invites_stale`.",
        ),
        org_user_limit: u64 = Key::new(count(1, 1_000_000), Some("500")).doc(
            "from 1 to 1000000; the members an organisation may have, active and pending together (Atlas' limit is 500), \
             exported as `atlas_invites_org_user_limit`.",
        ),
    }
}

section! {
    /// `[policy]`: which pending invitations matter to a security team.
    #[derive(Debug, Clone, PartialEq)]
    pub struct PolicySettings in "policy" {
        internal_domains: Vec<String> = Key::new(Kind::List(parse_domain_pattern), Some("[]")).doc(
            "mail domains (`example.com`) or all subdomains of one (`*.example.co.uk`), any case; an invitee at one is \
             `internal`, unless the domain is also free-mail.",
        ),
        free_mail_domains: Vec<String> = Key::new(Kind::List(parse_domain_pattern), Some("[]")).doc(
            "added to the built-in list of consumer mail domains (docs/metrics.md); an invitee at one is `free_mail`.",
        ),
        expected_inviters: Vec<String> = Key::new(Kind::List(parse_inviter_pattern), Some("[]")).doc(
            "addresses (`alice@example.com`) or domains (`*@platform.example.com`) that may invite; when not empty, \
             invitations from anyone else, or without an inviter, count as unexpected.",
        ),
        tiers: TierRoles = Key::new(Kind::Tiers, Some("{}")).doc(
            "`[policy.tiers]`: `owner`, `admin`, `write` or `read` = role names, over the default mapping \
             (docs/metrics.md); a role in no tier is `read`, logged once.",
        ),
    }
}

section! {
    /// `[audit]`: one JSON line per invitation lifecycle event, with personal data; off by default.
    #[derive(Debug, Clone, PartialEq)]
    pub struct AuditSettings in "audit" {
        enabled: bool = Key::new(Kind::Boolean, Some("false"))
            .doc("writes the stream; it holds invitees' and inviters' addresses (docs/operations.md)."),
        path: String = Key::new(Kind::Text, Some("-")).doc(
            "`-` for standard output, or a file (relative to the working directory), opened to append, created `0600`.",
        ),
        state_file: String = Key::new(Kind::Text, Some("")).doc(
            "empty for none; a file (relative to the working directory) where the last seen invitations are kept, \
             so that a restart neither repeats nor loses an event.",
        ),
    }
}

section! {
    /// `[discovery]`: poll every organisation the credentials can see, filtered.
    #[derive(Debug, Clone, PartialEq)]
    pub struct DiscoverySettings in "discovery" {
        enabled: bool = Key::new(Kind::Boolean, Some("false")).doc("requires `[auth]`."),
        interval: Duration = Key::new(duration(MIN_INTERVAL), Some("1h"))
            .doc("at least `1s`; how often the organisation list is refreshed."),
        /// Empty: include every visible organisation.
        include: Vec<OrgPattern> = Key::new(Kind::OrgPatterns, Some("[]"))
            .doc("when not empty, only discovered organisations matching an entry are polled."),
        exclude: Vec<OrgPattern> = Key::new(Kind::OrgPatterns, Some("[]")).doc(
            "discovered organisations matching an entry are not polled; exclude wins over include.",
        ),
    }
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

section! {
    /// `sharding.rs` reads them: each is required with the other, and the index is checked against
    /// the total.
    const SHARDING in "sharding" {
        total = Key::new(count(1, u32::MAX as u64), None)
            .flag("--sharding.total")
            .doc("at least 1: the number of replicas. Required when `index` is set."),
        index = Key::new(Kind::ShardIndex, None)
            .flag("--sharding.index")
            .doc("from 0 to `total - 1`, or `\"from_hostname\"`. Required when `total` is set."),
    }
}

section! {
    #[derive(Debug, Clone, PartialEq)]
    pub struct WebSettings in "web" {
        listen_address: SocketAddr = Key::new(
            Kind::Checked(check_listen_address),
            Some("0.0.0.0:10046"),
        )
        .flag("--web.listen-address")
        .doc(
            "`IP:port` (`127.0.0.1:10046`, `[::]:10046`) or `:port` for every IPv4 interface. Host names are not \
             accepted. The default port, 10046, is in the 10000+ block of the Prometheus port allocations.",
        ),
        runbook_url: String = Key::new(Kind::Checked(check_runbook_url), Some("")).doc(
            "empty: the status page names each hint's runbook section (`docs/runbook.md#…`); else the `http(s)` URL where \
             docs/runbook.md is published (the alert rules' `runbook_url` prefix), and each hint links to its section there.",
        ),
    }
}

section! {
    #[derive(Debug, Clone)]
    pub struct LogSettings in "log" {
        /// A tracing filter directive: `info`, `debug`, `atlas_invites_exporter=debug,info`.
        level: String = Key::new(Kind::Checked(log_level), Some("info"))
            .flag("--log.level")
            .doc(
                "`trace`, `debug`, `info`, `warn`, `error` or `off`, or comma-separated tracing directives each a level \
                 or `target=level` (`info,atlas_invites_exporter=debug`).",
            ),
        format: LogFormat = Key::new(Kind::Word(LOG_FORMATS), Some("text"))
            .flag("--log.format")
            .doc("`text` or `json`."),
    }
}

/// The sections in the order of messages and of the documentation's tables.
const SECTIONS: &[&[Key]] = &[
    AtlasSettings::KEYS,
    AUTH,
    PollSettings::KEYS,
    MetricsSettings::KEYS,
    PolicySettings::KEYS,
    AuditSettings::KEYS,
    DiscoverySettings::KEYS,
    SHARDING,
    WebSettings::KEYS,
    LogSettings::KEYS,
];

/// Every key, in the order of [`SECTIONS`].
pub(crate) const KEYS: &[Key] = &flatten::<{ key_count(SECTIONS) }>(SECTIONS);

const fn key_count(sections: &[&[Key]]) -> usize {
    let (mut count, mut section) = (0, 0);
    while section < sections.len() {
        count += sections[section].len();
        section += 1;
    }
    count
}

/// At compile time, so that `KEYS` stays a plain slice that every reader iterates in place.
const fn flatten<const N: usize>(sections: &[&[Key]]) -> [Key; N] {
    let mut keys = [sections[0][0]; N];
    let (mut at, mut section) = (0, 0);
    while section < sections.len() {
        let mut index = 0;
        while index < sections[section].len() {
            keys[at] = sections[section][index];
            at += 1;
            index += 1;
        }
        section += 1;
    }
    keys
}

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

// Here rather than in `check.rs`: it looks the key up among the declarations, which name the checker.
impl Checker<'_> {
    /// The declared key at `path`, from `table` (one section) or else its default, checked and
    /// converted to the type of the field it fills. `None` when absent without a default, or invalid.
    pub(crate) fn get<T: FromTyped>(&mut self, table: &Dict, path: &str) -> Option<T> {
        let Some(key) = key(path) else {
            self.push(path, Tag::Default, "is read but not declared in keys.rs");
            return None;
        };
        let default;
        let value = match table.get(key.name()) {
            Some(value) => value,
            None => {
                default = key.default_value()?;
                &default
            }
        };
        let typed = self.check(path, &key.kind, value)?;
        let converted = T::from_typed(typed);
        if converted.is_none() {
            self.push(
                path,
                value.tag(),
                "is declared with a kind its setting cannot hold",
            );
        }
        converted
    }
}
