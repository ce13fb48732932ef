//! Validation of the merged layers into [`Config`]: every section read against the declared keys,
//! then the rules that span keys (credentials against organisations and discovery, `keep_stale_for`
//! against every interval), and the warnings.

use std::path::PathBuf;
use std::time::Duration;

use atlas_client::NetworkSettings;
use figment::Figment;
use figment::value::{Dict, Tag, Value};

use super::check::Checker;
use super::credentials::CredentialCheck;
use super::environment::Environment;
use super::error::ConfigError;
use super::keys;
use super::rules::base_url_is_loopback;
use super::settings::{
    AtlasSettings, AuditSettings, Config, DiscoverySettings, LogSettings, MetricsSettings,
    OrgConfig, PolicySettings, PollSettings, WebSettings,
};

/// Below this, polling the real Atlas risks its rate limits for little benefit.
const RECOMMENDED_MIN_REMOTE_INTERVAL: Duration = Duration::from_secs(60);

/// A validated configuration, and what the loader should warn about once.
#[derive(Debug)]
pub(crate) struct Validated {
    pub config: Config,
    pub warnings: Vec<String>,
}

/// Validates the merged figment. `demo` allows missing credentials (`auth` is then `None`, and the
/// demo supplies the simulator's) and missing organisations. `env` answers the variables the
/// configuration names: `client_secret_env`, `private_key_env` and `HOSTNAME`.
pub(crate) fn validate(
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
    let sections = keys::sections();
    let top_level: Vec<&str> = sections.iter().copied().chain(["orgs"]).collect();
    let empty = Dict::new();
    let root = checker.table("", &root, &top_level).unwrap_or(&empty);
    let tables: Vec<Dict> = sections
        .iter()
        .map(|&name| {
            let known: Vec<&str> = keys::section_keys(name).map(|key| key.name()).collect();
            // A misplaced `auth = "…"` may be a secret: never echo it.
            let show_value = keys::section_keys(name).all(|key| key.kind.shows_value());
            match root.get(name) {
                Some(value) => checker
                    .table_showing(name, value, &known, show_value)
                    .cloned()
                    .unwrap_or_default(),
                None => Dict::new(),
            }
        })
        .collect();
    let table = |name: &str| -> &Dict {
        sections
            .iter()
            .position(|section| *section == name)
            .map_or(&empty, |index| &tables[index])
    };

    let atlas = AtlasSettings::read(&mut checker, table("atlas"));
    if let Some(atlas) = &atlas {
        check_network(&mut checker, table("atlas"), atlas);
    }
    let global_auth = match root.get("auth") {
        // Already reported as not a table: "no credentials" would only repeat it.
        Some(value) if !matches!(value, Value::Dict(..)) => CredentialCheck::Invalid,
        _ => checker.credentials("auth", table("auth")),
    };
    let poll = PollSettings::read(&mut checker, table("poll"));
    let metrics = MetricsSettings::read(&mut checker, table("metrics"));
    let policy = PolicySettings::read(&mut checker, table("policy"));
    let audit = AuditSettings::read(&mut checker, table("audit"));
    let discovery = DiscoverySettings::read(&mut checker, table("discovery"));
    // What else is required depends on `enabled`, even when a filter is invalid.
    let discovery_enabled = match &discovery {
        Some(discovery) => discovery.enabled,
        None => enabled_alone(&mut checker, table("discovery")),
    };
    let sharding = checker.sharding(table("sharding"));
    let web = WebSettings::read(&mut checker, table("web"));
    let log = LogSettings::read(&mut checker, table("log"));
    let orgs = checker.orgs(root.get("orgs"), demo, discovery_enabled);
    let auth = match global_auth {
        CredentialCheck::Valid(credentials) => Some(credentials),
        CredentialCheck::Invalid => None,
        CredentialCheck::Absent => {
            if !demo {
                checker.without_global_credentials(table("discovery"), discovery_enabled, &orgs);
            }
            None
        }
    };
    let orgs = orgs.valid;
    // Against a dropped organisation the comparison would report a problem the user may not have.
    let orgs_complete = checker
        .errors
        .iter()
        .all(|error| !may_hide_an_interval(&error.key));
    if let Some(poll) = &poll
        && orgs_complete
    {
        keep_stale_for_covers_intervals(&mut checker, table("poll"), poll, &orgs);
    }

    let (
        Some(atlas),
        Some(poll),
        Some(metrics),
        Some(policy),
        Some(audit),
        Some(discovery),
        Some(web),
        Some(log),
    ) = (atlas, poll, metrics, policy, audit, discovery, web, log)
    else {
        if checker.errors.is_empty() {
            checker.push("config", Tag::Default, "a declared key has no value");
        }
        return Err(checker.errors);
    };
    if !checker.errors.is_empty() {
        return Err(checker.errors);
    }
    let mut warnings = std::mem::take(&mut checker.warnings);
    warnings.extend(warnings_about(&atlas, &poll, &discovery, &orgs));
    Ok(Validated {
        config: Config {
            atlas,
            auth,
            poll,
            metrics,
            policy,
            audit,
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

/// `discovery.enabled` when another discovery key is invalid; false when it is itself invalid. Its
/// errors were reported when the section was read.
fn enabled_alone(checker: &mut Checker<'_>, table: &Dict) -> bool {
    let reported = checker.errors.len();
    let enabled = checker.get(table, "discovery.enabled");
    checker.errors.truncate(reported);
    enabled.unwrap_or(false)
}

/// Whether an error at `key` may have hidden a poll setting, or dropped an organisation with an
/// interval of its own: an org's credentials or source cannot.
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

/// An org's series are dropped `keep_stale_for` after its last success: shorter than the
/// interval, they would vanish between two successful polls.
fn keep_stale_for_covers_intervals(
    checker: &mut Checker<'_>,
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
        checker.push(
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

/// What a valid configuration should still be warned about.
fn warnings_about(
    atlas: &AtlasSettings,
    poll: &PollSettings,
    discovery: &DiscoverySettings,
    orgs: &[OrgConfig],
) -> Vec<String> {
    let mut warnings = Vec::new();
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
        .map(|org| org.interval(poll))
        .min()
        .unwrap_or(poll.interval);
    if !base_url_is_loopback(&atlas.base_url) && shortest_interval < RECOMMENDED_MIN_REMOTE_INTERVAL
    {
        warnings.push(format!(
            "poll interval {} is below {} against {}: Atlas rate-limits its API, and invitations change slowly",
            humantime::format_duration(shortest_interval),
            humantime::format_duration(RECOMMENDED_MIN_REMOTE_INTERVAL),
            atlas.base_url
        ));
    }
    warnings
}

/// What the client would refuse of `[atlas]`'s proxy and certificate authorities, each under its
/// key, so that it stops the start (or a reload) as a configuration error, before any call.
fn check_network(checker: &mut Checker<'_>, table: &Dict, atlas: &AtlasSettings) {
    let network = atlas.network();
    let tag = |key: &str| table.get(key).map_or(Tag::Default, Value::tag);
    let pieces = [
        (
            "proxy_url",
            NetworkSettings {
                proxy_url: network.proxy_url.clone(),
                ..NetworkSettings::default()
            },
        ),
        (
            "ca_file",
            NetworkSettings {
                ca_file: network.ca_file.clone(),
                ..NetworkSettings::default()
            },
        ),
        (
            "ca_only",
            NetworkSettings {
                ca_only: network.ca_only && network.ca_file.is_none(),
                ..NetworkSettings::default()
            },
        ),
    ];
    for (key, piece) in pieces {
        if let Err(reason) = piece.check() {
            checker.push(format!("atlas.{key}"), tag(key), reason);
        }
    }
}
