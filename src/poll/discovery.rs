//! Which organisations this replica polls: the configured ones, plus (with `[discovery]`) the ones the
//! global credential can see, filtered by `include`/`exclude`, then cut down to this replica's shard.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::config::{DiscoverySettings, OrgConfig, Sharding};
use crate::metrics::self_metrics::SelfMetrics;
use crate::metrics::store::Store;
use crate::poll::handover;
use crate::poll::scheduler::Scheduler;
use crate::types::OrgId;
use atlas_client::{AtlasClient, Organization};

/// The organisations to poll. Configured organisations always count (their names and overrides win);
/// discovered ones count unless deleted, excluded, or (with a non-empty `include`) not included.
pub fn desired_orgs(
    configured: &[OrgConfig],
    discovered: &[Organization],
    settings: &DiscoverySettings,
    sharding: Option<&Sharding>,
) -> Vec<OrgConfig> {
    let mut orgs: Vec<OrgConfig> = configured.to_vec();
    for org in discovered {
        if org.is_deleted {
            continue;
        }
        let Some(id) = OrgId::parse(&org.id) else {
            tracing::warn!(org = %org.id.escape_debug(), "discovery listed an organisation with a malformed id; skipped");
            continue;
        };
        if orgs.iter().any(|o| o.id == id) {
            continue;
        }
        let included = settings.include.is_empty()
            || settings.include.iter().any(|p| p.matches(&id, &org.name));
        let excluded = settings.exclude.iter().any(|p| p.matches(&id, &org.name));
        if included && !excluded {
            orgs.push(OrgConfig {
                name: Some(org.name.clone()),
                ..OrgConfig::new(id)
            });
        }
    }
    if let Some(sharding) = sharding {
        orgs.retain(|org| sharding.owns(&org.id));
    }
    orgs
}

/// Everything the discovery loop needs.
pub struct Discovery {
    pub client: Arc<AtlasClient>,
    pub scheduler: Arc<Scheduler>,
    pub store: Arc<Store>,
    pub self_metrics: Arc<SelfMetrics>,
    pub configured: Vec<OrgConfig>,
    pub settings: DiscoverySettings,
    pub sharding: Option<Sharding>,
    /// Bound on one listing, retries included.
    pub timeout: Duration,
    /// The last successful listing, kept across reloads so a reload does not drop discovered orgs.
    pub last_listing: Arc<Mutex<Option<Vec<Organization>>>>,
}

impl Discovery {
    /// Lists the organisations now and every `interval`, and reconciles the scheduler with them. A
    /// failed listing keeps the current set.
    pub async fn run(self, cancel: CancellationToken) {
        loop {
            // Read at each listing: a reload that rotates the global credential keeps discovery running.
            let Some(auth) = self.scheduler.authenticators().default_credential() else {
                tracing::error!("discovery needs the global [auth] credential; it does not run");
                self.store.mark_discovery_attempted();
                return;
            };
            let mut calls = Vec::new();
            let deadline = Instant::now() + self.timeout.min(self.settings.interval);
            let listing = tokio::select! {
                _ = cancel.cancelled() => return,
                listing = self.client.list_orgs(&auth, deadline, &mut calls) => listing,
            };
            let calls = handover::calls(calls);
            self.self_metrics.observe_calls(&calls);
            self.store.record_global_calls(&calls);
            match listing {
                Ok(listing) => {
                    *self.last_listing.lock().unwrap_or_else(|p| p.into_inner()) =
                        Some(listing.items.clone());
                    let orgs = desired_orgs(
                        &self.configured,
                        &listing.items,
                        &self.settings,
                        self.sharding.as_ref(),
                    );
                    tracing::debug!(
                        visible = listing.items.len(),
                        polled = orgs.len(),
                        "discovery listed organisations"
                    );
                    self.scheduler.reconcile_unless_cancelled(&cancel, orgs);
                }
                Err(error) => {
                    tracing::warn!(endpoint = "list_orgs", error_code = %error.error_code(), %error, "discovery failed; keeping the current organisations");
                }
            }
            self.store.mark_discovery_attempted();
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tokio::time::sleep(self.settings.interval) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::OrgPattern;

    fn listed(id: &str, name: &str, deleted: bool) -> Organization {
        Organization {
            id: id.into(),
            name: name.into(),
            is_deleted: deleted,
        }
    }

    fn ids(orgs: &[OrgConfig]) -> Vec<&str> {
        orgs.iter().map(|o| o.id.as_str()).collect()
    }

    const A: &str = "aaaaaaaaaaaaaaaaaaaaaaaa";
    const B: &str = "bbbbbbbbbbbbbbbbbbbbbbbb";
    const C: &str = "cccccccccccccccccccccccc";

    #[test]
    fn configured_orgs_win_and_deleted_or_malformed_ones_are_skipped() {
        let configured = vec![OrgConfig {
            name: Some("From config".into()),
            ..OrgConfig::new(OrgId::parse(A).unwrap())
        }];
        let discovered = vec![
            listed(A, "From API", false),
            listed(B, "Beta", true),
            listed("nope", "Bad", false),
            listed(C, "Gamma", false),
        ];
        let orgs = desired_orgs(
            &configured,
            &discovered,
            &DiscoverySettings::default(),
            None,
        );
        assert_eq!(ids(&orgs), [A, C]);
        assert_eq!(orgs[0].name.as_deref(), Some("From config"));
        assert_eq!(orgs[1].name.as_deref(), Some("Gamma"));
    }

    #[test]
    fn include_and_exclude_by_id_and_glob() {
        let discovered = vec![
            listed(A, "Acme Prod", false),
            listed(B, "Acme Dev", false),
            listed(C, "Other", false),
        ];
        let settings = DiscoverySettings {
            include: vec![
                OrgPattern::NameGlob("Acme*".into()),
                OrgPattern::Id(OrgId::parse(C).unwrap()),
            ],
            exclude: vec![OrgPattern::NameGlob("* Dev".into())],
            ..DiscoverySettings::default()
        };
        assert_eq!(
            ids(&desired_orgs(&[], &discovered, &settings, None)),
            [A, C]
        );
    }

    #[test]
    fn shards_partition_every_org_exactly_once() {
        let discovered: Vec<Organization> = (0..30)
            .map(|i| {
                listed(
                    &format!("{:024x}", 0x6523f1a0c8e4b2d9f0a1b000u128 + i * 7),
                    "x",
                    false,
                )
            })
            .collect();
        let mut seen = Vec::new();
        for index in 0..3 {
            let sharding = Sharding { total: 3, index };
            seen.extend(
                desired_orgs(
                    &[],
                    &discovered,
                    &DiscoverySettings::default(),
                    Some(&sharding),
                )
                .into_iter()
                .map(|o| o.id),
            );
        }
        seen.sort();
        let mut all: Vec<OrgId> = discovered
            .iter()
            .map(|o| OrgId::parse(&o.id).unwrap())
            .collect();
        all.sort();
        assert_eq!(seen, all);
    }
}
