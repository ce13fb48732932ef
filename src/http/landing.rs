//! The landing page: name, version, links, and one row per organisation. No secrets, no e-mail addresses.

use std::fmt::Write;

use bytes::Bytes;
use hyper::header::{self, HeaderValue};
use hyper::{Response, StatusCode};

use super::body::{Body, with_length};
use crate::metrics::snapshot::Snapshot;

pub fn page(snapshot: &Snapshot) -> Response<Body> {
    let mut html = String::with_capacity(2048 + snapshot.orgs.len() * 256);
    let name = crate::NAME;
    let version = crate::VERSION;
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{name}</title>\
         <style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}\
         td,th{{border:1px solid #ccc;padding:4px 8px;text-align:left}}</style></head><body>\
         <h1>{name}</h1><p>Prometheus exporter for MongoDB Atlas organisation invitations, version {version}.</p>\
         <ul><li><a href=\"metrics\">Metrics</a></li><li><a href=\"-/healthy\">Health</a></li>\
         <li><a href=\"-/ready\">Readiness</a></li></ul>\
         <h2>Organisations</h2><table><tr><th>Organisation</th><th>ID</th><th>Last success</th>\
         <th>Last error</th><th>Pending invitations</th></tr>"
    );
    for org in &snapshot.orgs {
        let last_success = match org.last_success {
            Some(t) => t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
            None if org.attempted => "never".to_owned(),
            None => "not polled yet".to_owned(),
        };
        let pending = org
            .pending
            .map_or_else(|| "–".to_owned(), |p| p.to_string());
        let _ = write!(
            html,
            "<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&org.name),
            escape(&org.id),
            last_success,
            escape(org.last_error_code.as_deref().unwrap_or("")),
            pending
        );
    }
    html.push_str("</table></body></html>\n");
    let mut response = Response::new(Body::new(Bytes::from(html)));
    *response.status_mut() = StatusCode::OK;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    with_length(response)
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
    use crate::metrics::snapshot::OrgStatus;

    #[test]
    fn org_names_are_escaped() {
        let snapshot = Snapshot {
            orgs: vec![OrgStatus {
                id: "a".repeat(24),
                name: "<script>alert(\"x\")</script> & Zürich".into(),
                source: "invites",
                attempted: true,
                poll_success: false,
                last_success: None,
                last_error_code: Some("RATE_LIMITED".into()),
                pending: None,
            }],
            ..Snapshot::default()
        };
        let response = page(&snapshot);
        let body = String::from_utf8(futures_body(response.into_body())).unwrap();
        assert!(
            body.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Zürich"),
            "{body}"
        );
        assert!(!body.contains("<script>"));
        assert!(body.contains("RATE_LIMITED"));
    }

    fn futures_body(body: crate::http::body::Body) -> Vec<u8> {
        use http_body_util::BodyExt;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        runtime.block_on(async { body.collect().await.unwrap().to_bytes().to_vec() })
    }
}
