//! The poll schedule: one loop per organisation, interval ± jitter, at most `concurrency` polls in flight.
//!
//! A slow organisation only holds its own loop and one permit; it never delays another's schedule
//! beyond the shared concurrency cap. Cancellation drops in-flight polls (and their retry sleeps).

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use rand::Rng;
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::aggregate::{AggregateSettings, OrgAggregate};
use crate::atlas::{AtlasClient, Authenticator, CallRecord};
use crate::config::{MetricsSettings, OrgConfig, PollSettings};
use crate::self_metrics::SelfMetrics;
use crate::snapshot::{PollOutcome, PolledData, Store};

/// Everything one poll needs, shared by all organisation loops.
pub struct Poller {
    pub client: Arc<AtlasClient>,
    pub auth: Arc<Authenticator>,
    pub store: Arc<Store>,
    pub self_metrics: Arc<SelfMetrics>,
    pub metrics: MetricsSettings,
}

impl Poller {
    /// Polls one organisation once and records the outcome. Retries inside the poll never run past
    /// `deadline`.
    pub async fn poll(&self, org: &OrgConfig, deadline: Instant) {
        let started = Instant::now();
        let mut calls: Vec<CallRecord> = Vec::new();
        let listing = self
            .client
            .list_org_invites(&org.id, &self.auth, deadline, &mut calls)
            .await;
        let finished_at = Timestamp::now();
        let duration = started.elapsed();
        self.self_metrics.observe_calls(&calls);
        let result = listing.map(|listing| {
            let settings =
                AggregateSettings { expiry_windows: &self.metrics.expiry_windows, stale_age: self.metrics.stale_age };
            let aggregate = OrgAggregate::compute(&listing.items, finished_at, &settings);
            tracing::debug!(org = %org.id, pending = aggregate.pending, expired = aggregate.expired, ?duration, "poll succeeded");
            PolledData { aggregate, org_name: listing.org_name }
        });
        if let Err(error) = &result {
            let last = calls.last();
            tracing::warn!(
                org = %org.id,
                endpoint = last.map(|c| c.endpoint.label()).unwrap_or("list_org_invites"),
                status = last.and_then(|c| c.status),
                error_code = %error.error_code(),
                %error,
                "poll failed"
            );
        }
        self.store.record(PollOutcome {
            org: org.id.clone(),
            finished_at,
            duration,
            calls,
            result,
        });
    }
}

/// Starts one loop per organisation on `tracker`; they run until `cancel` fires.
pub fn spawn(
    tracker: &TaskTracker,
    orgs: &[OrgConfig],
    poll: &PollSettings,
    poller: Arc<Poller>,
    cancel: CancellationToken,
) {
    let permits = Arc::new(Semaphore::new(poll.concurrency.max(1)));
    for org in orgs {
        let interval = org.interval(poll);
        let schedule = Schedule {
            interval,
            jitter: poll.jitter,
        };
        let (org, poller, permits, cancel) =
            (org.clone(), poller.clone(), permits.clone(), cancel.clone());
        tracker.spawn(async move {
            tokio::select! {
                _ = cancel.cancelled() => {}
                _ = org_loop(&org, schedule, &poller, &permits) => {}
            }
        });
    }
}

async fn org_loop(org: &OrgConfig, schedule: Schedule, poller: &Poller, permits: &Semaphore) {
    // The first poll comes at start, spread over the jitter fraction so orgs do not burst together.
    let mut next = Instant::now() + schedule.first_delay(&mut rand::rng());
    loop {
        tokio::time::sleep_until(next).await;
        let started = Instant::now();
        next = started + schedule.next_delay(&mut rand::rng());
        let Ok(_permit) = permits.acquire().await else {
            return;
        };
        // A poll may use at most one interval, so it never overlaps the next one.
        poller.poll(org, started + schedule.interval).await;
    }
}

/// When an organisation is polled.
#[derive(Clone, Copy, Debug)]
struct Schedule {
    interval: Duration,
    jitter: f64,
}

impl Schedule {
    fn first_delay(&self, rng: &mut impl Rng) -> Duration {
        self.interval.mul_f64(self.jitter * rng.random::<f64>())
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
            let first = schedule.first_delay(&mut rng);
            assert!(first <= Duration::from_secs(10), "{first:?}");
            let next = schedule.next_delay(&mut rng);
            assert!(
                (Duration::from_secs(90)..=Duration::from_secs(110)).contains(&next),
                "{next:?}"
            );
        }
    }

    #[test]
    fn zero_jitter_is_exact() {
        let schedule = Schedule {
            interval: Duration::from_secs(60),
            jitter: 0.0,
        };
        let mut rng = rand::rng();
        assert_eq!(schedule.first_delay(&mut rng), Duration::ZERO);
        assert_eq!(schedule.next_delay(&mut rng), Duration::from_secs(60));
    }
}
