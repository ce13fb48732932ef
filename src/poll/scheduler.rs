//! The poll schedule: one loop per organisation, interval ± jitter, at most `concurrency` polls in flight,
//! and the set of organisations itself, which discovery may change while running.
//!
//! A slow organisation only holds its own loop and one permit; it never delays another's schedule
//! beyond the shared concurrency cap. Cancellation drops in-flight polls (and their retry sleeps).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::Rng;
use tokio::sync::{Semaphore, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use atlas_client::Authenticator;

use crate::config::{OrgConfig, PollSettings};
use crate::poll::connect::Authenticators;
use crate::poll::legacy;
use crate::poll::org_poll::Poller;
use crate::types::OrgId;

/// Runs one loop per organisation and changes the set of organisations on request.
pub struct Scheduler {
    /// Read by every loop at each poll, so that a reload's metrics settings, default source or
    /// client take effect without restarting any loop.
    poller: watch::Sender<Arc<Poller>>,
    /// Fixed for the scheduler's life: a reload that changes it starts a new scheduler.
    jitter: f64,
    permits: Arc<Semaphore>,
    tracker: TaskTracker,
    cancel: CancellationToken,
    state: Mutex<State>,
}

/// What a reload may change in a running scheduler, under one lock with the loops it decides on.
struct State {
    authenticators: Arc<Authenticators>,
    poll: PollSettings,
    running: HashMap<OrgId, Running>,
}

struct Running {
    org: OrgConfig,
    /// The effective interval, `poll.interval` unless the organisation overrides it.
    interval: Duration,
    auth: Arc<Authenticator>,
    stop: CancellationToken,
}

/// What a reconciliation did, for the reload's log line.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Reconciled {
    pub started: usize,
    pub restarted: usize,
    pub stopped: usize,
    pub kept: usize,
}

impl Scheduler {
    /// Loops are spawned on `tracker` and end when `cancel` fires.
    pub fn new(
        poller: Arc<Poller>,
        authenticators: Arc<Authenticators>,
        poll: PollSettings,
        tracker: TaskTracker,
        cancel: CancellationToken,
    ) -> Scheduler {
        let permits = Arc::new(Semaphore::new(poll.concurrency.max(1)));
        Scheduler {
            poller: watch::Sender::new(poller),
            jitter: poll.jitter,
            permits,
            tracker,
            cancel,
            state: Mutex::new(State {
                authenticators,
                poll,
                running: HashMap::new(),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The credentials in force.
    pub fn authenticators(&self) -> Arc<Authenticators> {
        self.lock().authenticators.clone()
    }

    /// What the loops use from their next poll on.
    pub fn set_poller(&self, poller: Arc<Poller>) {
        self.poller.send_replace(poller);
    }

    /// A reload: new credentials and poll settings, then the organisations reconciled with them. A
    /// loop whose organisation, interval and credential are unchanged keeps its schedule.
    pub fn reconfigure(
        &self,
        authenticators: Arc<Authenticators>,
        poll: PollSettings,
        orgs: Vec<OrgConfig>,
    ) -> Reconciled {
        let mut state = self.lock();
        state.authenticators = authenticators;
        state.poll = poll;
        self.reconcile_locked(&mut state, orgs)
    }

    /// Discovery's reconciliation, unless `cancel` (discovery's own) has fired: checked under the
    /// lock a reload takes, so a discovery that a reload has stopped cannot undo the reload with its
    /// old settings.
    pub fn reconcile_unless_cancelled(&self, cancel: &CancellationToken, orgs: Vec<OrgConfig>) {
        let mut state = self.lock();
        if !cancel.is_cancelled() {
            self.reconcile_locked(&mut state, orgs);
        }
    }

    /// Makes the running organisations exactly `orgs`: starts the new ones, stops the vanished ones
    /// (their series go), and restarts those whose name, source or project-invitations override,
    /// effective interval or credential changed; a restarted organisation lists its projects again
    /// at its next poll.
    fn reconcile_locked(&self, state: &mut State, orgs: Vec<OrgConfig>) -> Reconciled {
        let mut done = Reconciled::default();
        let (store, slow) = {
            let poller = self.poller.borrow();
            (poller.store.clone(), poller.slow.clone())
        };
        let wanted: HashMap<OrgId, OrgConfig> =
            orgs.into_iter().map(|org| (org.id.clone(), org)).collect();
        let State {
            authenticators,
            poll,
            running,
        } = state;
        running.retain(|id, current| {
            let keep = wanted.get(id).is_some_and(|org| {
                let auth = authenticators.for_org(org);
                current.org.name == org.name
                    && current.org.source == org.source
                    && current.org.project_invitations == org.project_invitations
                    && current.interval == org.interval(poll)
                    && auth.is_some_and(|auth| Arc::ptr_eq(&auth, &current.auth))
            });
            if keep {
                done.kept += 1;
            } else {
                current.stop.cancel();
                if wanted.contains_key(id) {
                    done.restarted += 1;
                    legacy::retry_listing(&slow, id);
                } else {
                    done.stopped += 1;
                    tracing::info!(org = %id, "organisation no longer polled");
                    store.remove_org(id);
                }
            }
            keep
        });
        for (id, org) in wanted {
            if running.contains_key(&id) {
                continue;
            }
            let Some(auth) = authenticators.for_org(&org) else {
                tracing::error!(org = %id, "no credentials for this organisation; it is not polled");
                continue;
            };
            store.add_org(&org);
            let stop = self.cancel.child_token();
            let interval = org.interval(poll);
            let schedule = Schedule {
                interval,
                jitter: self.jitter,
            };
            let (pollers, permits, task_org, task_auth, task_stop) = (
                self.poller.subscribe(),
                self.permits.clone(),
                org.clone(),
                auth.clone(),
                stop.clone(),
            );
            self.tracker.spawn(async move {
                tokio::select! {
                    _ = task_stop.cancelled() => {}
                    _ = org_loop(&task_org, &task_auth, schedule, pollers, &permits) => {}
                }
            });
            let started = Running {
                org,
                interval,
                auth,
                stop,
            };
            running.insert(id, started);
        }
        done.started = running.len().saturating_sub(done.kept + done.restarted);
        done
    }

    /// The organisations being polled.
    pub fn running(&self) -> Vec<OrgId> {
        let mut ids: Vec<OrgId> = self.lock().running.keys().cloned().collect();
        ids.sort();
        ids
    }
}

async fn org_loop(
    org: &OrgConfig,
    auth: &Authenticator,
    schedule: Schedule,
    pollers: watch::Receiver<Arc<Poller>>,
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
        // Cloned, not borrowed: the watch's lock must not be held across the poll.
        let poller = pollers.borrow().clone();
        // A poll may use at most one interval, so it never overlaps the next one. Boxed: a poll's
        // state is kilobytes, and inline it would size every organisation's sleeping loop (5 MiB
        // at 1,000 organisations) though at most `concurrency` polls run at once.
        Box::pin(poller.poll(org, auth, started + schedule.interval)).await;
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
