//! The poll side of the running exporter, and what a reload changes in it: only what the new
//! configuration changed. Unchanged credentials keep their tokens and Digest sessions, unchanged
//! organisations their schedules, and the client and discovery run on while their settings hold.

use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::audit::Audit;
use crate::config::{Config, DiscoverySettings, OrgConfig, Sharding};
use crate::metrics::policy::Policy;
use crate::metrics::self_metrics::SelfMetrics;
use crate::metrics::store::{Store, StoreSettings};
use crate::poll::connect::{self, Authenticators};
use crate::poll::discovery::{self, Discovery};
use crate::poll::legacy::ProjectMemory;
use crate::poll::lifecycle::LifecycleMemory;
use crate::poll::org_poll::Poller;
use crate::poll::scheduler::{Reconciled, Scheduler};
use crate::poll::slow::SlowSchedule;
use crate::poll::source::Fallbacks;
use atlas_client::{ApiError, AtlasClient, Organization};

/// What lives across reloads.
pub(super) struct Shared {
    pub(super) store: Arc<Store>,
    pub(super) self_metrics: Arc<SelfMetrics>,
    pub(super) fallbacks: Arc<Fallbacks>,
    /// When slow facts (service account secrets, projects, teams, seats) are read: across reloads,
    /// so that a reload costs no call.
    pub(super) slow: Arc<SlowSchedule<String>>,
    /// Each organisation's projects and their last good legacy invitations.
    pub(super) projects: Arc<ProjectMemory>,
    /// Each organisation's invitations at its last successful poll, for the lifecycle events.
    pub(super) lifecycle: Arc<LifecycleMemory>,
    /// The audit stream, opened at start: `[audit]` changes apply at the next start.
    pub(super) audit: Option<Arc<Audit>>,
    pub(super) last_listing: Arc<Mutex<Option<Vec<Organization>>>>,
    pub(super) tracker: TaskTracker,
}

pub(super) fn store_settings(config: &Config) -> StoreSettings {
    StoreSettings {
        expiry_windows: config.metrics.expiry_windows.clone(),
        keep_stale_for: config.poll.keep_stale_for,
        default_source: config.atlas.source,
        shard: config.sharding.map_or((0, 1), |s| (s.index, s.total)),
        discovery_enabled: config.discovery.enabled,
        org_user_limit: config.metrics.org_user_limit,
        internal_domains: config.policy.internal_domains.len(),
    }
}

/// What the client is built from: `[atlas]` less `source`, and the shortest poll interval, which
/// bounds its retry backoff.
#[derive(Debug, Clone, PartialEq)]
struct ClientKey {
    base_url: String,
    timeout: Duration,
    max_response_bytes: u64,
    shortest_interval: Duration,
    /// A digest of `proxy_url`: a changed proxy rebuilds the client, and the key, which may be
    /// logged, holds no password.
    proxy_url_digest: [u8; 32],
    ca_file: String,
    ca_only: bool,
}

impl ClientKey {
    fn of(config: &Config) -> ClientKey {
        ClientKey {
            base_url: config.atlas.base_url.clone(),
            timeout: config.atlas.timeout,
            max_response_bytes: config.atlas.max_response_bytes,
            shortest_interval: connect::shortest_poll_interval(&config.poll, &config.orgs),
            proxy_url_digest: Sha256::digest(config.atlas.proxy_url.expose_secret().as_bytes())
                .into(),
            ca_file: config.atlas.ca_file.clone(),
            ca_only: config.atlas.ca_only,
        }
    }

    fn build(&self, config: &Config) -> Result<AtlasClient, ApiError> {
        Ok(AtlasClient::new(connect::client_settings(&config.atlas))?
            .with_poll_interval(self.shortest_interval))
    }
}

/// A running discovery task and what it was started with.
struct RunningDiscovery {
    settings: DiscoverySettings,
    configured: Vec<OrgConfig>,
    sharding: Option<Sharding>,
    stop: CancellationToken,
}

impl RunningDiscovery {
    /// Whether it lists and filters as `config` would have it. A change of client or scheduler is
    /// checked by the caller.
    fn serves(&self, config: &Config) -> bool {
        self.settings == config.discovery
            && self.sharding == config.sharding
            && self.configured.len() == config.orgs.len()
            && self
                .configured
                .iter()
                .zip(&config.orgs)
                .all(|(a, b)| connect::same_org_config(a, b))
    }
}

/// What a reload did, for its log line.
#[derive(Debug, Default)]
pub(super) struct Applied {
    pub(super) orgs: Reconciled,
    pub(super) client_kept: bool,
    pub(super) loops_kept: bool,
    /// `None` when discovery is off.
    pub(super) discovery_kept: Option<bool>,
}

/// The client, the scheduler and its loops, and discovery, as one configuration started them.
pub(super) struct Polling {
    client: Arc<AtlasClient>,
    client_key: ClientKey,
    scheduler: Arc<Scheduler>,
    /// `poll.concurrency` and `poll.jitter`, fixed for a scheduler's life.
    schedule_key: (usize, f64),
    scheduler_stop: CancellationToken,
    discovery: Option<RunningDiscovery>,
    /// The parent of every token here: the exporter's shutdown.
    cancel: CancellationToken,
}

impl Polling {
    /// Starts the poll side for `config`. The store keeps every organisation still wanted, with its
    /// data and counters.
    pub(super) fn start(
        config: &Config,
        shared: &Shared,
        cancel: &CancellationToken,
    ) -> Result<Polling, ApiError> {
        let client_key = ClientKey::of(config);
        let client = Arc::new(client_key.build(config)?);
        let poller = poller(config, shared, &client);
        let scheduler_stop = cancel.child_token();
        let scheduler = Arc::new(Scheduler::new(
            poller,
            Arc::new(Authenticators::new(config)),
            config.poll.clone(),
            shared.tracker.clone(),
            scheduler_stop.clone(),
        ));
        let mut polling = Polling {
            client,
            client_key,
            scheduler,
            schedule_key: (config.poll.concurrency, config.poll.jitter),
            scheduler_stop,
            discovery: None,
            cancel: cancel.clone(),
        };
        let authenticators = polling.scheduler.authenticators();
        polling.reconcile(config, shared, authenticators);
        Ok(polling)
    }

    /// Applies a reload's configuration, changing only what differs from the running one. Nothing
    /// changes when it fails.
    pub(super) fn apply(&mut self, config: &Config, shared: &Shared) -> Result<Applied, ApiError> {
        let client_key = ClientKey::of(config);
        let client_kept = client_key == self.client_key;
        if !client_kept {
            // The only step that can fail, so it comes before anything is changed.
            self.client = Arc::new(client_key.build(config)?);
            self.client_key = client_key;
        }
        let poller = poller(config, shared, &self.client);
        let authenticators = Arc::new(Authenticators::renewed(
            config,
            Some(&self.scheduler.authenticators()),
        ));
        let schedule_key = (config.poll.concurrency, config.poll.jitter);
        let loops_kept = schedule_key == self.schedule_key;
        if loops_kept {
            self.scheduler.set_poller(poller);
        } else {
            // The permits and the jitter are the scheduler's own: every loop starts again.
            self.scheduler_stop.cancel();
            self.scheduler_stop = self.cancel.child_token();
            self.scheduler = Arc::new(Scheduler::new(
                poller,
                authenticators.clone(),
                config.poll.clone(),
                shared.tracker.clone(),
                self.scheduler_stop.clone(),
            ));
            self.schedule_key = schedule_key;
        }
        // A discovery is kept only if it would list and filter as the new configuration says, with
        // the same client, for the same scheduler: restarting it costs an immediate listing.
        let discovery_kept = self
            .discovery
            .as_ref()
            .filter(|_| config.discovery.enabled && client_kept && loops_kept)
            .is_some_and(|running| running.serves(config));
        if !discovery_kept && let Some(running) = self.discovery.take() {
            // Before the scheduler changes: a stopped discovery then cannot reconcile it any more.
            running.stop.cancel();
        }
        let orgs = self.reconcile(config, shared, authenticators);
        Ok(Applied {
            orgs,
            client_kept,
            loops_kept,
            discovery_kept: config.discovery.enabled.then_some(discovery_kept),
        })
    }

    /// Points the store and the scheduler at `config`'s organisations, and starts discovery when it
    /// is wanted and not running.
    fn reconcile(
        &mut self,
        config: &Config,
        shared: &Shared,
        authenticators: Arc<Authenticators>,
    ) -> Reconciled {
        shared.store.reconfigure(store_settings(config));
        let discovered = if config.discovery.enabled {
            shared
                .last_listing
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone()
                .unwrap_or_default()
        } else {
            Vec::new()
        };
        let orgs = discovery::desired_orgs(
            &config.orgs,
            &discovered,
            &config.discovery,
            config.sharding.as_ref(),
        );
        let keep: HashSet<_> = orgs.iter().map(|org| org.id.clone()).collect();
        shared.store.retain_orgs(&keep);
        shared.lifecycle.retain(&keep);
        let reconciled = self
            .scheduler
            .reconfigure(authenticators, config.poll.clone(), orgs);
        if config.discovery.enabled && self.discovery.is_none() {
            let stop = self.scheduler_stop.child_token();
            let discovery = Discovery {
                client: self.client.clone(),
                scheduler: self.scheduler.clone(),
                store: shared.store.clone(),
                self_metrics: shared.self_metrics.clone(),
                configured: config.orgs.clone(),
                settings: config.discovery.clone(),
                sharding: config.sharding,
                timeout: config.atlas.timeout * 3,
                last_listing: shared.last_listing.clone(),
            };
            shared.tracker.spawn(discovery.run(stop.clone()));
            self.discovery = Some(RunningDiscovery {
                settings: config.discovery.clone(),
                configured: config.orgs.clone(),
                sharding: config.sharding,
                stop,
            });
        }
        reconciled
    }

    /// How many organisations are polled.
    pub(super) fn orgs(&self) -> usize {
        self.scheduler.running().len()
    }
}

/// What every loop reads at each poll: cheap to build, so every reload builds one.
fn poller(config: &Config, shared: &Shared, client: &Arc<AtlasClient>) -> Arc<Poller> {
    shared.slow.set_slow_interval(config.poll.slow_interval);
    Arc::new(Poller {
        client: client.clone(),
        store: shared.store.clone(),
        self_metrics: shared.self_metrics.clone(),
        metrics: config.metrics.clone(),
        default_source: config.atlas.source,
        fallbacks: shared.fallbacks.clone(),
        default_project_invitations: config.atlas.project_invitations,
        slow: shared.slow.clone(),
        projects: shared.projects.clone(),
        policy: Arc::new(Policy::new(&config.policy)),
        lifecycle: shared.lifecycle.clone(),
        audit: shared.audit.clone(),
    })
}
