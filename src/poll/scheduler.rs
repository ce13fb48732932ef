//! The poll schedule: one loop per organisation, interval ± jitter, at most `concurrency` polls in flight,
//! and the set of organisations itself, which discovery may change while running.
//!
//! A slow organisation only holds its own loop and one permit; it never delays another's schedule
//! beyond the shared concurrency cap. Cancellation drops in-flight polls (and their retry sleeps).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::Rng;
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use atlas_client::Authenticator;

use crate::config::{OrgConfig, PollSettings};
use crate::poll::connect::{Authenticators, credential_key};
use crate::poll::org_poll::Poller;
use crate::types::OrgId;

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
}
