//! The status page (`/`): a summary line, then per organisation its poll (source, API version, last
//! attempt, last success), its figures, and for a failing one what failed and what to do.
//!
//! Rendered from the published snapshot alone (it never waits on Atlas), without JavaScript, with
//! relative links only (it works behind a path prefix) but for the runbook's, when `[web]
//! runbook_url` says where it is published, and with every value escaped: organisation
//! names and `detail` come from Atlas. No secret and no e-mail address: the only text of Atlas'
//! shown besides names is `detail`, scrubbed by the poll stage and again here.

use std::fmt::Write;
use std::time::Duration;

use bytes::Bytes;
use hyper::header::{self, HeaderValue};
use hyper::{Response, StatusCode};
use jiff::Timestamp;

use super::body::{Body, with_length};
use super::hint::{RUNBOOK, hint};
use crate::metrics::snapshot::Snapshot;
use crate::metrics::status::{OrgFigures, OrgStatus, scrub_detail};
use crate::types::PollFailure;

/// The page's columns, for the failure row that spans them.
const COLUMNS: usize = 9;

/// Small and static: no web font, no script, no image; colours only repeat what the text says.
const STYLE: &str = "body{font-family:sans-serif;margin:1.5em;color:#222}\
    table{border-collapse:collapse;margin-top:.5em}td,th{border:1px solid #ccc;padding:4px 8px;\
    text-align:left;vertical-align:top}th{background:#f3f3f3}.num{text-align:right}\
    small{color:#555}.ok{color:#176117;font-weight:bold}.failing{color:#a61b1b;font-weight:bold}\
    .waiting{color:#7a5c00;font-weight:bold}tr.failure td{background:#fff4f4;border-top:none}\
    p.summary{font-size:1.1em;padding:.5em;border-left:4px solid #176117;background:#f4fbf4}\
    p.summary.bad{border-left-color:#a61b1b;background:#fff4f4}nav a{margin-right:1em}";

/// `runbook_url`: where docs/runbook.md is published (`[web] runbook_url`), empty for none.
pub fn page(snapshot: &Snapshot, runbook_url: &str) -> Response<Body> {
    let html = render(snapshot, Timestamp::now(), runbook_url);
    let mut response = Response::new(Body::new(Bytes::from(html)));
    *response.status_mut() = StatusCode::OK;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    with_length(response)
}

/// The page as of `now` (ages are counted against it).
fn render(snapshot: &Snapshot, now: Timestamp, runbook_url: &str) -> String {
    let mut html = String::with_capacity(4096 + snapshot.orgs.len() * 1024);
    let name = crate::NAME;
    let version = crate::VERSION;
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width\"><title>{name} status</title>\
         <style>{STYLE}</style></head><body>\
         <h1>{name}</h1><p>Prometheus exporter for MongoDB Atlas organisation invitations, version {version}. \
         Status as of the last poll of each organisation, shown at {}.</p>\
         <nav><a href=\"metrics\">Metrics</a><a href=\"-/healthy\">Health</a>\
         <a href=\"-/ready\">Readiness</a></nav>",
        time(now)
    );
    summary(&mut html, &snapshot.orgs, now);
    html.push_str(
        "<h2>Organisations</h2><table><tr><th>Organisation</th><th>Poll</th><th>Last attempt</th>\
         <th>Last success</th><th>Pending</th><th>Expiring soon</th><th>Stale</th>\
         <th>Owner invitations</th><th>Risk and coverage</th></tr>",
    );
    // Failing first: they are what the operator came for.
    let mut orgs: Vec<&OrgStatus> = snapshot.orgs.iter().collect();
    orgs.sort_by_key(|org| match (org.attempted, org.poll_success) {
        (true, false) => 0,
        (false, _) => 1,
        (true, true) => 2,
    });
    for org in orgs {
        row(&mut html, org, now, runbook_url);
    }
    html.push_str("</table>");
    if snapshot.orgs.is_empty() {
        html.push_str("<p>No organisation is configured or discovered yet.</p>");
    }
    html.push_str("</body></html>\n");
    html
}

/// How many organisations are OK and failing, and the oldest last success.
fn summary(html: &mut String, orgs: &[OrgStatus], now: Timestamp) {
    let ok = orgs
        .iter()
        .filter(|o| o.attempted && o.poll_success)
        .count();
    let failing = orgs
        .iter()
        .filter(|o| o.attempted && !o.poll_success)
        .count();
    let waiting = orgs.len() - ok - failing;
    let class = if failing > 0 {
        "summary bad"
    } else {
        "summary"
    };
    let _ = write!(
        html,
        "<p class=\"{class}\"><strong>{ok} of {} organisations OK, {failing} failing</strong>",
        orgs.len()
    );
    if waiting > 0 {
        let _ = write!(html, ", {waiting} not polled yet");
    }
    html.push_str(". Oldest last success: ");
    let never = orgs
        .iter()
        .find(|o| o.attempted && o.last_success.is_none());
    let oldest = orgs
        .iter()
        .filter_map(|o| Some((o.last_success?, o)))
        .min_by_key(|(at, _)| *at);
    match (never, oldest) {
        (Some(org), _) => {
            let _ = write!(html, "never ({} has not succeeded yet)", escape(&org.name));
        }
        (None, Some((at, org))) => {
            let _ = write!(
                html,
                "{}, {} ago ({})",
                time(at),
                age(now, at),
                escape(&org.name)
            );
        }
        (None, None) => html.push_str("none yet"),
    }
    html.push_str(".</p>");
}

fn row(html: &mut String, org: &OrgStatus, now: Timestamp, runbook_url: &str) {
    let (class, state) = match (org.attempted, org.poll_success) {
        (false, _) => ("waiting", "not polled yet"),
        (true, true) => ("ok", "OK"),
        (true, false) => ("failing", "FAILING"),
    };
    let _ = write!(
        html,
        "<tr><td><strong>{}</strong><br><small>",
        escape(&org.name)
    );
    // An organisation with no name yet (none configured, no answer) is named by its id already.
    if org.name != org.id {
        let _ = write!(html, "<code>{}</code><br>", escape(&org.id));
    }
    let _ = write!(
        html,
        "source {}, API {}</small></td><td class=\"{class}\">{state}</td><td>",
        escape(org.source),
        escape(org.api_version),
    );
    match org.last_attempt {
        Some(at) => {
            let _ = write!(html, "{}<br><small>{} ago", time(at), age(now, at));
            if let Some(took) = org.last_duration {
                let _ = write!(html, ", took {}", duration(took));
            }
            html.push_str("</small>");
        }
        None => html.push_str("not yet"),
    }
    html.push_str("</td><td>");
    match org.last_success {
        Some(at) => {
            let _ = write!(html, "{}<br><small>{} ago</small>", time(at), age(now, at));
        }
        None if org.attempted => html.push_str("never"),
        None => html.push_str("not yet"),
    }
    html.push_str("</td>");
    figures(html, org.figures.as_ref());
    html.push_str("</tr>");
    if let Some(failure) = org.failure.as_ref().filter(|_| !org.poll_success) {
        failure_row(html, failure, runbook_url);
    }
}

/// The figure cells; dashes while the organisation has no live data (never polled, or its last good
/// data older than `poll.keep_stale_for`).
fn figures(html: &mut String, figures: Option<&OrgFigures>) {
    let Some(f) = figures else {
        html.push_str(&"<td class=\"num\">–</td>".repeat(4));
        html.push_str("<td>no current data</td>");
        return;
    };
    let expiring = match &f.expiring {
        Some((window, count)) => format!("{count} <small>within {}</small>", escape(window)),
        None => "–".to_owned(),
    };
    let _ = write!(
        html,
        "<td class=\"num\">{}</td><td class=\"num\">{expiring}</td><td class=\"num\">{}</td>\
         <td class=\"num\">{}</td><td>",
        f.pending, f.stale, f.owner
    );
    let risky: Vec<String> = f
        .risky
        .iter()
        .filter(|(_, count)| *count > 0)
        .map(|(reason, count)| format!("{} {count}", escape(reason)))
        .collect();
    if risky.is_empty() {
        html.push_str("risky: none");
    } else {
        let _ = write!(html, "risky: {}", risky.join(", "));
    }
    for (what, count) in &f.coverage {
        let _ = write!(html, "<br>{}: {count}", escape(what));
    }
    html.push_str("</td>");
}

/// What failed (endpoint, status, code, Atlas' detail) and what to do, under the organisation's row.
fn failure_row(html: &mut String, failure: &PollFailure, runbook_url: &str) {
    let _ = write!(
        html,
        "<tr class=\"failure\"><td colspan=\"{COLUMNS}\"><strong>Last poll failed:</strong> \
         endpoint <code>{}</code>, ",
        escape(failure.endpoint)
    );
    match failure.status {
        Some(status) => {
            let _ = write!(html, "HTTP {status}");
        }
        None => html.push_str("no response"),
    }
    let _ = write!(html, ", <code>{}</code>", escape(&failure.error_code));
    if let Some(detail) = &failure.detail {
        let _ = write!(html, ": “{}”", escape(&scrub_detail(detail)));
    }
    let hint = hint(failure.status, &failure.error_code);
    let _ = write!(
        html,
        "<br><strong>What to do:</strong> {} ",
        escape(hint.text)
    );
    if runbook_url.is_empty() {
        let _ = write!(html, "Runbook: <code>{RUNBOOK}#{}</code>", hint.anchor);
    } else {
        let _ = write!(
            html,
            "<a href=\"{}#{}\">Runbook</a>",
            escape(runbook_url),
            hint.anchor
        );
    }
    html.push_str("</td></tr>");
}

/// A poll's duration: milliseconds below a second (most polls), else seconds to a tenth.
fn duration(took: Duration) -> String {
    if took < Duration::from_secs(1) {
        format!("{} ms", took.as_millis())
    } else {
        format!("{:.1} s", took.as_secs_f64())
    }
}

/// A timestamp to the second, in UTC.
fn time(at: Timestamp) -> String {
    at.strftime("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// How long ago `at` was, in the two largest units that matter to an operator.
fn age(now: Timestamp, at: Timestamp) -> String {
    let seconds = now.as_second().saturating_sub(at.as_second()).max(0);
    let d = Duration::from_secs(seconds.unsigned_abs());
    let s = d.as_secs();
    match s {
        0..60 => format!("{s} s"),
        60..3_600 => format!("{} min", s / 60),
        3_600..86_400 => format!("{} h {} min", s / 3_600, s % 3_600 / 60),
        _ => format!("{} d {} h", s / 86_400, s % 86_400 / 3_600),
    }
}

/// Escapes text for HTML element content and attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;

    fn at(seconds_ago: i64) -> Option<Timestamp> {
        Timestamp::from_second(NOW - seconds_ago).ok()
    }

    fn ok_org(name: &str, success_ago: i64) -> OrgStatus {
        OrgStatus {
            id: "b".repeat(24),
            name: name.into(),
            source: "invites",
            api_version: "2023-01-01",
            attempted: true,
            poll_success: true,
            last_attempt: at(success_ago + 2),
            last_duration: Some(Duration::from_millis(1_500)),
            last_success: at(success_ago),
            failure: None,
            figures: Some(OrgFigures {
                pending: 7,
                expiring: Some(("24h".into(), 2)),
                stale: 1,
                owner: 3,
                risky: vec![("owner_external", 1), ("free_mail", 0)],
                coverage: vec![("projects forbidden", 1)],
            }),
        }
    }

    fn failing_org(name: &str, status: Option<u16>, code: &str, detail: &str) -> OrgStatus {
        OrgStatus {
            id: "a".repeat(24),
            name: name.into(),
            poll_success: false,
            last_success: None,
            failure: Some(PollFailure {
                error_code: code.into(),
                endpoint: "list_org_invites",
                status,
                detail: Some(detail.into()),
            }),
            figures: None,
            ..ok_org(name, 0)
        }
    }

    fn page_of(orgs: Vec<OrgStatus>) -> String {
        let snapshot = Snapshot {
            orgs,
            ..Snapshot::default()
        };
        render(&snapshot, Timestamp::from_second(NOW).unwrap(), "")
    }

    #[test]
    fn hostile_names_and_details_are_escaped_and_addresses_scrubbed() {
        let body = page_of(vec![failing_org(
            "<script>alert(\"x\")</script> & Zürich",
            Some(403),
            "<b>CODE</b>",
            "<img src=x onerror=alert(1)> invited eve.admin@example.com",
        )]);
        assert!(
            body.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Zürich"),
            "{body}"
        );
        assert!(body.contains("&lt;img src=x onerror=alert(1)&gt; invited …@example.com"));
        assert!(body.contains("&lt;b&gt;CODE&lt;/b&gt;"));
        assert!(!body.contains("<script>") && !body.contains("<img") && !body.contains("<b>"));
        assert!(!body.contains("eve.admin"));
    }

    #[test]
    fn a_failing_org_shows_what_failed_and_what_to_do() {
        let body = page_of(vec![failing_org(
            "Forbidden Org",
            Some(401),
            "USER_UNAUTHORIZED",
            "Current user is not authorized.",
        )]);
        assert!(body.contains("endpoint <code>list_org_invites</code>, HTTP 401, <code>USER_UNAUTHORIZED</code>: “Current user is not authorized.”"), "{body}");
        assert!(body.contains("Atlas rejected the credentials"));
        assert!(
            body.contains("Runbook: <code>docs/runbook.md#atlasinvitescredentialsrejected</code>")
        );
        let timeout = page_of(vec![failing_org("T", None, "TIMEOUT", "")]);
        assert!(
            timeout.contains("no response, <code>TIMEOUT</code>"),
            "{timeout}"
        );
        assert!(timeout.contains("proxy settings"));
        assert!(timeout.contains("#atlasinvitespollfailing"));
        let limited = page_of(vec![failing_org("R", Some(429), "RATE_LIMITED", "")]);
        assert!(limited.contains("#atlasinvitesapiratelimited"));
    }

    /// With `[web] runbook_url`, a hint links to its section there, the URL escaped; without, the
    /// page names the section and links nowhere outside itself.
    #[test]
    fn a_published_runbook_is_linked_from_each_hint() {
        let snapshot = Snapshot {
            orgs: vec![failing_org("F", Some(401), "INVALID_CLIENT", "")],
            ..Snapshot::default()
        };
        let now = Timestamp::from_second(NOW).unwrap();
        let linked = render(
            &snapshot,
            now,
            "https://wiki.example/ops?space=atlas&page=runbook",
        );
        assert!(
            linked.contains(
                "<a href=\"https://wiki.example/ops?space=atlas&amp;page=runbook#atlasinvitescredentialsrejected\">Runbook</a>"
            ),
            "{linked}"
        );
        let named = render(&snapshot, now, "");
        assert!(named.contains("<code>docs/runbook.md#atlasinvitescredentialsrejected</code>"));
        assert!(!named.contains("://"), "{named}");
    }

    #[test]
    fn every_link_is_relative() {
        let body = page_of(vec![ok_org("A", 60)]);
        let links: Vec<&str> = body.split("href=\"").skip(1).collect();
        assert_eq!(links.len(), 3);
        for link in links {
            assert!(!link.starts_with('/') && !link.contains("://"), "{link}");
        }
        assert!(body.contains("href=\"metrics\"") && body.contains("href=\"-/ready\""));
        assert!(!body.contains("<script"));
    }

    #[test]
    fn the_summary_counts_orgs_and_names_the_oldest_success() {
        let body = page_of(vec![ok_org("Old", 7_500), ok_org("New", 30)]);
        assert!(
            body.contains("2 of 2 organisations OK, 0 failing"),
            "{body}"
        );
        assert!(
            body.contains("Oldest last success: 2027-01-15 05:55:00 UTC, 2 h 5 min ago (Old)"),
            "{body}"
        );
        assert!(body.contains("<p class=\"summary\">"));
        let body = page_of(vec![
            ok_org("Fine", 30),
            failing_org("Broken", Some(403), "USER_UNAUTHORIZED", ""),
        ]);
        assert!(
            body.contains("1 of 2 organisations OK, 1 failing"),
            "{body}"
        );
        assert!(body.contains("Oldest last success: never (Broken has not succeeded yet)"));
        assert!(body.contains("summary bad"));
        assert!(
            body.find("Broken").unwrap() < body.find("Fine").unwrap(),
            "failing orgs first"
        );
    }

    #[test]
    fn figures_and_poll_times_are_shown() {
        let body = page_of(vec![ok_org("A", 60)]);
        assert!(body.contains("source invites, API 2023-01-01"), "{body}");
        assert!(body.contains("1 min ago, took 1.5 s"));
        assert!(body.contains(&format!("<code>{}</code>", "b".repeat(24))));
        let quick = page_of(vec![OrgStatus {
            last_duration: Some(Duration::from_millis(42)),
            ..ok_org(&"b".repeat(24), 60)
        }]);
        assert!(quick.contains("took 42 ms"), "{quick}");
        assert!(
            !quick.contains("<code>bbb"),
            "an unnamed org's id once: {quick}"
        );
        assert!(body.contains("<td class=\"num\">7</td>"));
        assert!(body.contains("2 <small>within 24h</small>"));
        assert!(body.contains("risky: owner_external 1<br>projects forbidden: 1"));
        let waiting = page_of(vec![OrgStatus {
            attempted: false,
            last_attempt: None,
            last_success: None,
            figures: None,
            ..ok_org("W", 0)
        }]);
        assert!(waiting.contains("not polled yet") && waiting.contains("no current data"));
        assert!(waiting.contains("Oldest last success: none yet"));
    }

    #[test]
    fn the_response_is_html() {
        let response = page(&Snapshot::default(), "");
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "text/html; charset=utf-8"
        );
    }
}
