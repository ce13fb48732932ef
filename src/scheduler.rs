//! The poll schedule: one loop per organisation, interval ± jitter, at most `concurrency` polls in flight,
//! and the set of organisations itself, which discovery may change while running.
//!
//! A slow organisation only holds its own loop and one permit; it never delays another's schedule
//! beyond the shared concurrency cap. Cancellation drops in-flight polls (and their retry sleeps).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jiff::Timestamp;
use rand::Rng;
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::aggregate::{AggregateSettings, Aggregator};
use crate::atlas::{AtlasClient, Authenticator, CallRecord};
use crate::collect::{self, Fallbacks, FetchRequest};
use crate::config::{Config, Credentials, MetricsSettings, OrgConfig, PollSettings, Source};
use crate::invitation::OrgId;
use crate::self_metrics::SelfMetrics;
use crate::snapshot::{PollOutcome, PolledData, Store};

/// One [`Authenticator`] per credential, so organisations sharing a credential share its token or
/// Digest challenge.
pub struct Authenticators {
    default: Option<Arc<Authenticator>>,
    by_credential: Mutex<HashMap<String, Arc<Authenticator>>>,
}

impl Authenticators {
    pub fn new(config: &Config) -> Authenticators {
        let authenticators = Authenticators {
            default: config
                .auth
                .as_ref()
                .map(|c| Arc::new(Authenticator::new(c))),
            by_credential: Mutex::new(HashMap::new()),
        };
        for org in &config.orgs {
            authenticators.for_org(org);
        }
        authenticators
    }

    /// The organisation's own credential if it has one, else the global one.
    pub fn for_org(&self, org: &OrgConfig) -> Option<Arc<Authenticator>> {
        let Some(credentials) = &org.auth else {
            return self.default.clone();
        };
        let mut by_credential = self.by_credential.lock().unwrap_or_else(|p| p.into_inner());
        let authenticator = by_credential
            .entry(credential_key(credentials))
            .or_insert_with(|| Arc::new(Authenticator::new(credentials)));
        Some(authenticator.clone())
    }

    /// The global credential, used by discovery.
    pub fn default_credential(&self) -> Option<Arc<Authenticator>> {
        self.default.clone()
    }
}

/// Identifies a credential without its secret.
fn credential_key(credentials: &Credentials) -> String {
    match credentials {
        Credentials::ServiceAccount { client_id, .. } => format!("service-account:{client_id}"),
        Credentials::ApiKey { public_key, .. } => format!("api-key:{public_key}"),
    }
}

/// Everything one poll needs, shared by all organisation loops.
pub struct Poller {
    pub client: Arc<AtlasClient>,
    pub store: Arc<Store>,
    pub self_metrics: Arc<SelfMetrics>,
    pub metrics: MetricsSettings,
    /// `atlas.source`, for organisations without their own.
    pub default_source: Source,
    pub fallbacks: Arc<Fallbacks>,
}

impl Poller {
    /// Polls one organisation once and records the outcome. Retries inside the poll never run past
    /// `deadline`.
    pub async fn poll(&self, org: &OrgConfig, auth: &Authenticator, deadline: Instant) {
        let started = Instant::now();
        let mut calls: Vec<CallRecord> = Vec::new();
        let source = org.source.unwrap_or(self.default_source);
        let settings = AggregateSettings {
            expiry_windows: &self.metrics.expiry_windows,
            stale_age: self.metrics.stale_age,
        };
        // Counted while the bodies are decoded, against the poll's start: a poll takes seconds, an
        // invitation lives for 30 days.
        let aggregator = Aggregator::new(Timestamp::now(), &settings);
        let request = FetchRequest {
            org: &org.id,
            source,
            auth,
            deadline,
        };
        let fetched = collect::fetch(
            &self.client,
            &self.fallbacks,
            request,
            &mut calls,
            aggregator,
        )
        .await;
        let finished_at = Timestamp::now();
        let duration = started.elapsed();
        self.self_metrics.observe_calls(&calls);
        if let Some(reason) = &fetched.switched {
            tracing::warn!(
                org = %org.id,
                "switched to the org-users API (GET /orgs/{{orgId}}/users, version 2025-02-19) for the rest of this \
                 process's life: {}. To make this permanent, set source = \"org_users\" for this organisation \
                 (or [atlas] source = \"org_users\")",
                reason.describe()
            );
        }
        let result = fetched.result.map(|listing| {
            let aggregate = listing.items.finish();
            tracing::debug!(org = %org.id, source = fetched.source.label(), pending = aggregate.pending, expired = aggregate.expired, ?duration, "poll succeeded");
            PolledData { aggregate, org_name: listing.org_name, deprecated: listing.deprecated, sunset: listing.sunset }
        });
        if let Err(error) = &result {
            let last = calls.last();
            tracing::warn!(
                org = %org.id,
                endpoint = last.map(|c| c.endpoint.label()).unwrap_or(fetched.source.endpoint().label()),
                status = last.and_then(|c| c.status),
                error_code = %error.error_code(),
                %error,
                "poll failed"
            );
        }
        self.store.record(PollOutcome {
            org: org.id.clone(),
            source: fetched.source,
            finished_at,
            duration,
            calls,
            result,
        });
    }
}

/// Runs one loop per organisation and changes the set of organisations on request.
pub struct Scheduler {
    poller: Arc<Poller>,
    authenticators: Authenticators,
    poll: PollSettings,
    permits: Arc<Semaphore>,
    tracker: TaskTracker,
    cancel: CancellationToken,
    running: Mutex<HashMap<OrgId, Running>>,
}

struct Running {
    org: OrgConfig,
    stop: CancellationToken,
}

impl Scheduler {
    /// Loops are spawned on `tracker` and end when `cancel` fires.
    pub fn new(
        poller: Arc<Poller>,
        authenticators: Authenticators,
        poll: PollSettings,
        tracker: TaskTracker,
        cancel: CancellationToken,
    ) -> Scheduler {
        let permits = Arc::new(Semaphore::new(poll.concurrency.max(1)));
        Scheduler {
            poller,
            authenticators,
            poll,
            permits,
            tracker,
            cancel,
            running: Mutex::new(HashMap::new()),
        }
    }

    pub fn authenticators(&self) -> &Authenticators {
        &self.authenticators
    }

    /// Makes the running organisations exactly `orgs`: starts the new ones, stops the vanished ones
    /// (their series go), and restarts those whose settings changed.
    pub fn reconcile(&self, orgs: Vec<OrgConfig>) {
        let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        let wanted: HashMap<OrgId, OrgConfig> =
            orgs.into_iter().map(|org| (org.id.clone(), org)).collect();
        running.retain(|id, current| {
            let keep = wanted
                .get(id)
                .is_some_and(|org| same_settings(org, &current.org));
            if !keep {
                current.stop.cancel();
                if !wanted.contains_key(id) {
                    tracing::info!(org = %id, "organisation no longer polled");
                    self.poller.store.remove_org(id);
                }
            }
            keep
        });
        for (id, org) in wanted {
            if running.contains_key(&id) {
                continue;
            }
            let Some(auth) = self.authenticators.for_org(&org) else {
                tracing::error!(org = %id, "no credentials for this organisation; it is not polled");
                continue;
            };
            self.poller.store.add_org(&org);
            let stop = self.cancel.child_token();
            let schedule = Schedule {
                interval: org.interval(&self.poll),
                jitter: self.poll.jitter,
            };
            let (poller, permits, task_org, task_stop) = (
                self.poller.clone(),
                self.permits.clone(),
                org.clone(),
                stop.clone(),
            );
            self.tracker.spawn(async move {
                tokio::select! {
                    _ = task_stop.cancelled() => {}
                    _ = org_loop(&task_org, &auth, schedule, &poller, &permits) => {}
                }
            });
            running.insert(id, Running { org, stop });
        }
    }

    /// The organisations being polled.
    pub fn running(&self) -> Vec<OrgId> {
        let running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        let mut ids: Vec<OrgId> = running.keys().cloned().collect();
        ids.sort();
        ids
    }
}

/// Whether a running loop can go on as it is.
fn same_settings(a: &OrgConfig, b: &OrgConfig) -> bool {
    a.name == b.name
        && a.interval == b.interval
        && a.source == b.source
        && a.auth.as_ref().map(credential_key) == b.auth.as_ref().map(credential_key)
}

async fn org_loop(
    org: &OrgConfig,
    auth: &Authenticator,
    schedule: Schedule,
    poller: &Poller,
    permits: &Semaphore,
) {
    // The first poll comes at once, so the exporter is ready as soon as every organisation has
    // answered; the second is placed at a random phase of the interval, so that organisations started
    // together spread over the whole interval instead of bursting at its start; from then on each
    // keeps its phase, moved by the jitter.
    let mut next = Instant::now();
    let delay = |polls: u64| {
        if polls == 0 {
            schedule.phase_delay(&mut rand::rng())
        } else {
            schedule.next_delay(&mut rand::rng())
        }
    };
    for polls in 0.. {
        tokio::time::sleep_until(next).await;
        let started = Instant::now();
        next = started + delay(polls);
        let Ok(_permit) = permits.acquire().await else {
            return;
        };
        // A poll may use at most one interval, so it never overlaps the next one.
        poller.poll(org, auth, started + schedule.interval).await;
    }
}

/// When an organisation is polled.
#[derive(Clone, Copy, Debug)]
struct Schedule {
    interval: Duration,
    jitter: f64,
}

impl Schedule {
    /// The delay from the first poll to the second: uniform over half an interval to one and a
    /// half, so the second poll's phase is uniform over the interval while never following the
    /// first by less than half an interval.
    fn phase_delay(&self, rng: &mut impl Rng) -> Duration {
        self.interval.mul_f64(rng.random_range(0.5..1.5))
    }

    fn next_delay(&self, rng: &mut impl Rng) -> Duration {
        self.interval
            .mul_f64(1.0 + self.jitter * rng.random_range(-1.0..=1.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_stay_within_the_jitter_bounds() {
        let schedule = Schedule {
            interval: Duration::from_secs(100),
            jitter: 0.1,
        };
        let mut rng = rand::rng();
        for _ in 0..1000 {
            let next = schedule.next_delay(&mut rng);
            assert!(
                (Duration::from_secs(90)..=Duration::from_secs(110)).contains(&next),
                "{next:?}"
            );
        }
    }

    #[test]
    fn second_polls_spread_over_the_whole_interval() {
        let schedule = Schedule {
            interval: Duration::from_secs(100),
            jitter: 0.0,
        };
        let mut rng = rand::rng();
        let mut per_tenth = [0u32; 10];
        for _ in 0..10_000 {
            let phase = schedule.phase_delay(&mut rng);
            assert!(
                (Duration::from_secs(50)..Duration::from_secs(150)).contains(&phase),
                "{phase:?}"
            );
            per_tenth[(phase.as_secs() % 100 / 10) as usize] += 1;
        }
        // Uniform: 1,000 expected per tenth; 800 is more than six standard deviations below.
        assert!(per_tenth.iter().all(|&n| n > 800), "{per_tenth:?}");
    }

    #[test]
    fn zero_jitter_is_exact() {
        let schedule = Schedule {
            interval: Duration::from_secs(60),
            jitter: 0.0,
        };
        let mut rng = rand::rng();
        assert_eq!(schedule.next_delay(&mut rng), Duration::from_secs(60));
    }

    #[test]
    fn credentials_are_identified_without_their_secret() {
        let key = credential_key(&Credentials::ServiceAccount {
            client_id: "mdb_sa_id_1".into(),
            client_secret: "very-secret".to_owned().into(),
        });
        assert_eq!(key, "service-account:mdb_sa_id_1");
    }
}
