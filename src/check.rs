//! `check`: one real request per organisation, reported as a table, to prove credentials and access.

use std::fmt::Write;

use crate::atlas::{AtlasClient, Authenticator, ClientSettings};
use crate::config::Config;

/// One organisation's result.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckRow {
    pub org_id: String,
    pub result: Result<u64, String>,
}

/// Makes one request per organisation (sequentially: this is an interactive command).
pub async fn run(config: &Config) -> Vec<CheckRow> {
    let client = match AtlasClient::new(ClientSettings {
        base_url: config.atlas.base_url.clone(),
        timeout: config.atlas.timeout,
        max_response_bytes: config.atlas.max_response_bytes,
    }) {
        Ok(client) => client,
        Err(error) => {
            let code = error.error_code();
            return config
                .orgs
                .iter()
                .map(|o| CheckRow {
                    org_id: o.id.to_string(),
                    result: Err(code.clone()),
                })
                .collect();
        }
    };
    let auth = Authenticator::new(&config.auth);
    let mut rows = Vec::new();
    for org in &config.orgs {
        let deadline = tokio::time::Instant::now() + config.atlas.timeout * 3;
        let mut calls = Vec::new();
        let result = client
            .list_org_invites(&org.id, &auth, deadline, &mut calls)
            .await;
        let now = jiff::Timestamp::now();
        let result = result
            .map(|listing| {
                listing
                    .items
                    .iter()
                    .filter(|i| i.expires_at.is_some_and(|e| e > now))
                    .count() as u64
            })
            .map_err(|error| error.error_code());
        rows.push(CheckRow {
            org_id: org.id.to_string(),
            result,
        });
    }
    rows
}

/// The table printed by `check`.
pub fn format_table(rows: &[CheckRow]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{:<26} {:<7} DETAIL", "ORG", "RESULT");
    for row in rows {
        let (result, detail) = match &row.result {
            Ok(pending) => ("ok", format!("{pending} pending")),
            Err(code) => ("error", code.clone()),
        };
        let _ = writeln!(out, "{:<26} {:<7} {}", row.org_id, result, detail);
    }
    out
}
