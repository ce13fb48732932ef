//! `check`: one real request per configured organisation, reported as a table, to prove credentials,
//! access and which Atlas API each organisation ends up on.

use std::fmt::Write;

use crate::config::Config;
use crate::metrics::aggregate::{AggregateSettings, Aggregator};
use crate::poll::connect::{self, Authenticators};
use crate::poll::source::{self, Fallbacks, FetchRequest};
use crate::types::ActiveSource;
use atlas_client::AtlasClient;

/// One organisation's result.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckRow {
    pub org_id: String,
    /// The API the organisation ended up on (after any automatic fallback).
    pub source: ActiveSource,
    /// Pending invitations, or the error code.
    pub result: Result<u64, String>,
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
        let (Ok(client), Some(auth)) = (&client, authenticators.for_org(org)) else {
            let code = client
                .as_ref()
                .err()
                .map_or_else(|| "NO_CREDENTIALS".to_owned(), |e| e.error_code());
            rows.push(CheckRow {
                org_id: org.id.to_string(),
                source: initial,
                result: Err(code),
            });
            continue;
        };
        let deadline = tokio::time::Instant::now() + config.atlas.timeout * 3;
        let mut calls = Vec::new();
        // The same definition of "pending" as the metrics, and the same decoding: the poller's.
        let settings = AggregateSettings {
            expiry_windows: &[],
            stale_age: config.metrics.stale_age,
        };
        let aggregator = Aggregator::new(jiff::Timestamp::now(), &settings);
        let request = FetchRequest {
            org: &org.id,
            source,
            auth: &auth,
            deadline,
        };
        let fetched = source::fetch(client, &fallbacks, request, &mut calls, aggregator).await;
        let result = fetched
            .result
            .map(|listing| listing.items.finish().pending)
            .map_err(|error| error.error_code());
        rows.push(CheckRow {
            org_id: org.id.to_string(),
            source: fetched.source,
            result,
        });
    }
    rows
}

/// The table printed by `check`.
pub fn format_table(rows: &[CheckRow]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<26} {:<10} {:<7} {:<28} ROLE NEEDED",
        "ORG", "SOURCE", "RESULT", "DETAIL"
    );
    for row in rows {
        let (result, detail) = match &row.result {
            Ok(pending) => ("ok", format!("{pending} pending")),
            Err(code) => ("error", code.clone()),
        };
        let _ = writeln!(
            out,
            "{:<26} {:<10} {:<7} {:<28} {}",
            row.org_id,
            row.source.label(),
            result,
            detail,
            row.source.required_role()
        );
    }
    out
}
