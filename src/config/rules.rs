//! The rules of single values that are more than a type and a bound: URLs, addresses, log filters,
//! organisation ids and filters, StatefulSet ordinals. Pure functions from text to a value or a message.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use super::values::{OrgPattern, Source};
use crate::types::OrgId;

const LOG_LEVELS: [&str; 6] = ["trace", "debug", "info", "warn", "error", "off"];

pub(crate) fn parse_source(raw: &str) -> Option<Source> {
    [Source::Auto, Source::Invites, Source::OrgUsers]
        .into_iter()
        .find(|source| source.as_str() == raw)
}

/// The StatefulSet ordinal at the end of a pod name: `atlas-invites-exporter-2` → 2.
pub(crate) fn hostname_ordinal(hostname: &str) -> Option<u32> {
    let (_, ordinal) = hostname.trim().rsplit_once('-')?;
    if ordinal.is_empty() || !ordinal.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    ordinal.parse().ok()
}

/// A role name as Atlas writes them (`ORG_OWNER`, `GROUP_DATA_ACCESS_ADMIN`).
pub(crate) fn parse_role(raw: &str) -> Result<String, String> {
    let valid = raw.len() <= 64
        && raw.bytes().next().is_some_and(|b| b.is_ascii_uppercase())
        && raw
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
    if valid {
        Ok(raw.to_owned())
    } else {
        Err(format!(
            "{raw:?} is not an Atlas role name (upper case letters, digits and _, like \"GROUP_OWNER\")"
        ))
    }
}

/// A mail domain (`example.com`), or every subdomain of one (`*.example.co.uk`); kept in lower case.
pub(crate) fn parse_domain_pattern(raw: &str) -> Result<String, String> {
    let lower = raw.trim().to_ascii_lowercase();
    let domain = lower.strip_prefix("*.").unwrap_or(&lower);
    let labels_valid = !domain.is_empty()
        && domain.split('.').all(|label| {
            !label.is_empty()
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b >= 0x80)
        });
    if labels_valid && domain.contains('.') {
        Ok(lower)
    } else {
        Err(format!(
            "{raw:?} is not a mail domain: write \"example.com\", or \"*.example.com\" for its subdomains"
        ))
    }
}

/// Who may invite: an address (`alice@example.com`) or everyone at a domain (`*@example.com`); kept
/// in lower case.
pub(crate) fn parse_inviter_pattern(raw: &str) -> Result<String, String> {
    let lower = raw.trim().to_ascii_lowercase();
    let message = || {
        format!(
            "{raw:?} is not an inviter: write an address like \"alice@example.com\", or \"*@example.com\" for everyone at a domain"
        )
    };
    let (local, domain) = lower.rsplit_once('@').ok_or_else(message)?;
    if local.is_empty() || (local.contains('*') && local != "*") {
        return Err(message());
    }
    parse_domain_pattern(domain)
        .ok()
        .filter(|domain| !domain.starts_with("*."))
        .ok_or_else(message)?;
    Ok(lower)
}

/// An `include`/`exclude` entry: an organisation id when it is one, a name glob otherwise.
pub(crate) fn parse_org_pattern(raw: &str) -> Result<OrgPattern, String> {
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

/// Whether a base URL that passed [`check_base_url`] names a loopback host.
pub(crate) fn base_url_is_loopback(url: &str) -> bool {
    reqwest::Url::parse(url)
        .ok()
        .and_then(|url| url.host_str().map(is_loopback_host))
        .unwrap_or(false)
}

/// The normalised base URL: no trailing slash.
pub(crate) fn check_base_url(raw: &str) -> Result<String, String> {
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
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

pub(crate) fn parse_listen_address(raw: &str) -> Result<SocketAddr, String> {
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

pub(crate) fn check_listen_address(raw: &str) -> Result<String, String> {
    parse_listen_address(raw).map(|_| raw.to_owned())
}

/// Empty, or the `http(s)` URL where `docs/runbook.md` is published, without a fragment (the status
/// page appends each section's anchor).
pub(crate) fn check_runbook_url(raw: &str) -> Result<String, String> {
    if raw.is_empty() {
        return Ok(String::new());
    }
    let url = reqwest::Url::parse(raw)
        .map_err(|error| format!("{raw:?} is not a valid URL ({error})"))?;
    if !matches!(url.scheme(), "https" | "http") || url.host_str().is_none() {
        return Err(format!("{raw:?} must be an http:// or https:// URL"));
    }
    if url.fragment().is_some() {
        return Err(format!(
            "{raw:?} must not end with a #fragment: each hint appends its section's"
        ));
    }
    Ok(url.to_string())
}

/// [`check_log_level`], keeping the filter as written.
pub(crate) fn log_level(raw: &str) -> Result<String, String> {
    check_log_level(raw).map(|()| raw.to_owned())
}

pub(crate) fn check_log_level(raw: &str) -> Result<(), String> {
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
