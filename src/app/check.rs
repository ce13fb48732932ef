//! `check`: one real request per configured organisation, reported as a table, to prove credentials,
//! access and which Atlas API each organisation ends up on.

use std::fmt::Write;

use crate::config::Config;
use crate::http::hint;
use std::sync::Arc;

use crate::metrics::aggregate::{AggregateSettings, Aggregator};
use crate::metrics::facts::projects::ProjectState;
use crate::metrics::policy::Policy;
use crate::poll::connect::{self, Authenticators};
use crate::poll::legacy::{self, LegacyCall, ProjectMemory};
use crate::poll::slow::SlowSchedule;
use crate::poll::source::{self, Fallbacks, FetchRequest};
use crate::types::ActiveSource;
use atlas_client::{ApiError, AtlasClient};

/// Longest cause or hint printed under a row: a transport error's chain of causes can run long.
const MAX_NOTE_CHARS: usize = 240;
/// Longest organisation name printed, so that one long name does not push the table off screen.
const MAX_NAME_CHARS: usize = 40;

/// One organisation's result.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckRow {
    pub org_id: String,
    /// The configured name, else the `orgName` Atlas returned, else empty.
    pub name: String,
    /// The API the organisation ended up on (after any automatic fallback).
    pub source: ActiveSource,
    /// Pending invitations of the org listing, or the error code.
    pub result: Result<u64, String>,
    /// The roles of the calls Atlas refused (403), each once.
    pub roles_needed: Vec<&'static str>,
    /// What the projects showed of legacy project invitations; `None` when not read.
    pub projects: Option<ProjectsRow>,
    /// Why a call failed below its error code: the transport's cause (DNS, TLS, refused connection,
    /// proxy), or what the failure means (a wrong organisation id). Bounded, secrets left out.
    pub notes: Vec<String>,
}

/// Projects by whether their legacy invitations could be read, and the pending ones found.
#[derive(Debug, Clone, PartialEq)]
pub struct ProjectsRow {
    pub read: u64,
    pub forbidden: u64,
    pub failed: u64,
    pub legacy_pending: u64,
}

/// Makes one request per organisation (sequentially: this is an interactive command).
pub async fn run(config: &Config) -> Vec<CheckRow> {
    let client = AtlasClient::new(connect::client_settings(&config.atlas));
    let authenticators = Authenticators::new(config);
    let fallbacks = Fallbacks::default();
    let mut rows = Vec::new();
    for org in &config.orgs {
        let source = org.source.unwrap_or(config.atlas.source);
        let initial = source.starts_on();
        let configured_name = org
            .name
            .as_deref()
            .map(|name| bounded(name, MAX_NAME_CHARS));
        let (Ok(client), Some(auth)) = (&client, authenticators.for_org(org)) else {
            let (code, notes) = match &client {
                Err(error) => (error.error_code(), cause_of(error).into_iter().collect()),
                Ok(_) => ("NO_CREDENTIALS".to_owned(), Vec::new()),
            };
            rows.push(CheckRow {
                org_id: org.id.to_string(),
                name: configured_name.unwrap_or_default(),
                source: initial,
                result: Err(code),
                roles_needed: Vec::new(),
                projects: None,
                notes,
            });
            continue;
        };
        let deadline = tokio::time::Instant::now() + config.atlas.timeout * 3;
        let mut calls = Vec::new();
        // The same definition of "pending" as the metrics, and the same decoding: the poller's.
        let settings = AggregateSettings {
            expiry_windows: &[],
            stale_age: config.metrics.stale_age,
            policy: Arc::new(Policy::new(&config.policy)),
        };
        // The listing first, so that its row says what a poll's listing meets; the projects after.
        let aggregator = Aggregator::new(jiff::Timestamp::now(), &settings);
        let request = FetchRequest {
            org: &org.id,
            source,
            auth: &auth,
            deadline,
        };
        let fetched = source::fetch(client, &fallbacks, request, &mut calls, aggregator).await;
        let legacy = legacy::read(LegacyCall {
            client,
            memory: &ProjectMemory::default(),
            slow: &SlowSchedule::new(config.poll.slow_interval),
            org: &org.id,
            mode: org
                .project_invitations
                .unwrap_or(config.atlas.project_invitations),
            policy: &settings.policy,
            keep_details: false,
            auth: &auth,
            deadline,
            calls: &mut calls,
        })
        .await;
        let projects = legacy.coverage.as_ref().map(|coverage| ProjectsRow {
            read: coverage.count(ProjectState::Read),
            forbidden: coverage.count(ProjectState::Forbidden),
            failed: coverage.count(ProjectState::Failed),
            legacy_pending: coverage.legacy_pending(),
        });
        let mut roles_needed: Vec<&'static str> = Vec::new();
        // A 403 names a role only when it was for lack of one: an access list refuses by address.
        for role in calls
            .iter()
            .filter(|call| call.status == Some(403))
            .filter(|call| {
                !call
                    .error_code
                    .as_deref()
                    .is_some_and(atlas_client::is_access_list_refusal)
            })
            .filter_map(|call| role_for(call.endpoint.label()))
        {
            if !roles_needed.contains(&role) {
                roles_needed.push(role);
            }
        }
        let mut notes: Vec<String> = fetched.explanation().into_iter().collect();
        let mut name = configured_name;
        let result = match fetched.result {
            Ok(listing) => {
                name = name.or(listing.org_name.map(|n| bounded(&n, MAX_NAME_CHARS)));
                Ok(listing.items.finish().pending)
            }
            Err(error) => {
                notes.extend(cause_of(&error));
                let code = error.error_code();
                // No role is named for it (above), so say what is wrong instead.
                if atlas_client::is_access_list_refusal(&code) {
                    notes.push(hint::hint(error.status(), &code).text.to_owned());
                }
                Err(code)
            }
        };
        rows.push(CheckRow {
            org_id: org.id.to_string(),
            name: name.unwrap_or_default(),
            source: fetched.source,
            result,
            roles_needed,
            projects,
            notes,
        });
    }
    rows
}

/// The Atlas role a call needs, by its `endpoint` label: what a 403 of it means is missing.
const PROJECT_OWNER: &str = "Project Owner";

fn role_for(endpoint: &str) -> Option<&'static str> {
    match endpoint {
        "list_org_invites" => Some("Organization Owner"),
        "list_org_users" | "get_org_groups" | "list_org_teams" => Some("Organization Member"),
        "list_group_invites" => Some(PROJECT_OWNER),
        "get_org_service_account" => Some("Organization Read Only"),
        _ => None,
    }
}

/// The cause a transport failure carries (what DNS, TLS, the connection or the proxy said), bounded;
/// `None` for errors whose code says it all. Atlas' own answers are left out: their `detail` and a
/// body that did not decode may quote what an organisation holds.
fn cause_of(error: &ApiError) -> Option<String> {
    match error {
        ApiError::Connection(cause) | ApiError::Tls(cause) | ApiError::ClientSetup(cause) => {
            Some(format!(
                "cause: {}",
                bounded(&without_userinfo(cause), MAX_NOTE_CHARS)
            ))
        }
        _ => None,
    }
}

/// `scheme://user:password@host` → `scheme://***@host`: a proxy URL in a transport error may carry
/// the proxy's credentials, which are never printed.
fn without_userinfo(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let (before, after) = rest.split_at(at + 3);
        out.push_str(before);
        let authority_end = after
            .find(|c: char| c == '/' || c == '?' || c == '#' || c.is_whitespace() || c == ')')
            .unwrap_or(after.len());
        match after[..authority_end].rfind('@') {
            Some(userinfo_end) => {
                out.push_str("***");
                rest = &after[userinfo_end..];
            }
            None => rest = after,
        }
    }
    out.push_str(rest);
    out
}

/// `text` on one line, control characters as spaces, cut to `max` characters with `…`.
fn bounded(text: &str, max: usize) -> String {
    let clean = |c: char| if c.is_control() { ' ' } else { c };
    if text.chars().count() <= max {
        return text.chars().map(clean).collect();
    }
    let mut cut: String = text
        .chars()
        .take(max.saturating_sub(1))
        .map(clean)
        .collect();
    cut.push('…');
    cut
}

/// The configuration's warnings, as a normal start logs them, for the lines before the table.
pub fn format_warnings(config: &Config) -> String {
    let mut out = String::new();
    for warning in &config.warnings {
        let _ = writeln!(out, "warning: {warning}");
    }
    if !out.is_empty() {
        out.push('\n');
    }
    out
}

/// The table printed by `check`: one row per organisation, columns as wide as their widest cell,
/// and a row's notes (causes, hints) on indented lines under it.
pub fn format_table(rows: &[CheckRow]) -> String {
    const HEADER: [&str; 7] = [
        "ORG",
        "NAME",
        "SOURCE",
        "RESULT",
        "DETAIL",
        "ROLE NEEDED",
        "PROJECTS (LEGACY INVITATIONS)",
    ];
    let cells: Vec<[String; 7]> = rows.iter().map(cells_of).collect();
    let mut widths = HEADER.map(|h| h.chars().count());
    for row in &cells {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &[&str]| {
        let mut text = String::new();
        for (index, cell) in cells.iter().enumerate() {
            if index + 1 == cells.len() {
                text.push_str(cell);
            } else {
                let _ = write!(text, "{cell:<width$}  ", width = widths[index]);
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(&HEADER);
    for (row, cells) in rows.iter().zip(&cells) {
        line(&cells.each_ref().map(String::as_str));
        for note in &row.notes {
            line(&[&format!("    {note}")]);
        }
    }
    out
}

fn cells_of(row: &CheckRow) -> [String; 7] {
    let (result, detail) = match &row.result {
        Ok(pending) => ("ok", format!("{pending} pending")),
        Err(code) => ("error", code.clone()),
    };
    let projects = match &row.projects {
        None => "not read".to_owned(),
        Some(p) => {
            let mut text = format!("{} read, {} forbidden", p.read, p.forbidden);
            if p.forbidden > 0 && row.roles_needed.contains(&PROJECT_OWNER) {
                text.push_str(" (needs Project Owner)");
            }
            if p.failed > 0 {
                let _ = write!(text, ", {} failed", p.failed);
            }
            let _ = write!(text, "; {} legacy pending", p.legacy_pending);
            text
        }
    };
    let roles = if row.roles_needed.is_empty() {
        "-".to_owned()
    } else {
        row.roles_needed.join(", ")
    };
    [
        row.org_id.clone(),
        row.name.clone(),
        row.source.label().to_owned(),
        result.to_owned(),
        detail,
        roles,
        projects,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_credentials_in_a_cause_are_hidden() {
        assert_eq!(
            without_userinfo("proxy http://user:pa@ss@proxy.example:3128/ refused"),
            "proxy http://***@proxy.example:3128/ refused"
        );
        assert_eq!(
            without_userinfo("error sending request for url (https://cloud.mongodb.com/api)"),
            "error sending request for url (https://cloud.mongodb.com/api)"
        );
        assert_eq!(without_userinfo("a://b@c d://e"), "a://***@c d://e");
    }

    #[test]
    fn notes_are_one_bounded_line() {
        assert_eq!(bounded("a\nb\tc", 10), "a b c");
        let long = "x".repeat(300);
        let cut = bounded(&long, MAX_NOTE_CHARS);
        assert_eq!(cut.chars().count(), MAX_NOTE_CHARS);
        assert!(cut.ends_with('…'));
    }

    #[test]
    fn transport_errors_carry_their_cause_and_atlas_answers_do_not() {
        let cause = cause_of(&ApiError::Tls(
            "invalid peer certificate: UnknownIssuer".into(),
        ));
        assert_eq!(
            cause.as_deref(),
            Some("cause: invalid peer certificate: UnknownIssuer")
        );
        let atlas = ApiError::Status {
            status: 404,
            error_code: Some("RESOURCE_NOT_FOUND".into()),
            detail: Some("Cannot find resource".into()),
            retry_after: None,
        };
        assert_eq!(cause_of(&atlas), None);
    }
}
