//! When slowly changing facts are due: at most once per `poll.slow_interval` per key (a credential,
//! an organisation), read by whichever poll comes first, across reloads.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use tokio::time::Instant;

/// The next reading of each key's fact.
#[derive(Debug)]
pub struct SlowSchedule<K> {
    inner: Mutex<Inner<K>>,
}

#[derive(Debug)]
struct Inner<K> {
    slow_interval: Duration,
    due: HashMap<K, Due>,
}

#[derive(Debug)]
struct Due {
    next: Instant,
    /// Who read it last: another reader for the same key (a new authenticator after a rotated
    /// secret) reads at once.
    reader: usize,
    /// A refusal was logged: it is logged once, not every slow interval.
    refusal_logged: bool,
}

impl<K: Hash + Eq + Clone> SlowSchedule<K> {
    pub fn new(slow_interval: Duration) -> SlowSchedule<K> {
        SlowSchedule {
            inner: Mutex::new(Inner {
                slow_interval,
                due: HashMap::new(),
            }),
        }
    }

    /// A reload's `poll.slow_interval`; readings already made keep their time.
    pub fn set_slow_interval(&self, slow_interval: Duration) {
        self.lock().slow_interval = slow_interval;
    }

    fn lock(&self) -> MutexGuard<'_, Inner<K>> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether `reader` reads `key`'s fact now: the first caller in a slow interval does, and
    /// another reader than the last at once.
    pub fn claim(&self, key: &K, reader: usize, now: Instant) -> bool {
        let mut inner = self.lock();
        let slow_interval = inner.slow_interval;
        let due = inner.due.entry(key.clone()).or_insert(Due {
            next: now,
            reader,
            refusal_logged: false,
        });
        if now < due.next && due.reader == reader {
            return false;
        }
        due.next = now + slow_interval;
        due.reader = reader;
        true
    }

    /// A failure that may pass (a timeout, a 5xx): the next poll tries again.
    pub fn retry_soon(&self, key: &K) {
        if let Some(due) = self.lock().due.get_mut(key) {
            due.next = Instant::now();
        }
    }

    /// True the first time a refusal is met for `key`.
    pub fn first_refusal(&self, key: &K) -> bool {
        self.lock()
            .due
            .get_mut(key)
            .is_some_and(|due| !std::mem::replace(&mut due.refusal_logged, true))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_reading_per_slow_interval_per_key() {
        let schedule = SlowSchedule::new(Duration::from_secs(3600));
        let start = Instant::now();
        assert!(schedule.claim(&"a", 1, start), "due at once");
        assert!(!schedule.claim(&"a", 1, start + Duration::from_secs(60)));
        assert!(schedule.claim(&"b", 1, start), "each key on its own");
        assert!(schedule.claim(&"a", 1, start + Duration::from_secs(3600)));
    }

    #[test]
    fn another_reader_for_the_same_key_reads_at_once() {
        let schedule = SlowSchedule::new(Duration::from_secs(3600));
        let start = Instant::now();
        assert!(schedule.claim(&"a", 1, start));
        assert!(
            schedule.claim(&"a", 2, start + Duration::from_secs(1)),
            "a rotated secret"
        );
        assert!(!schedule.claim(&"a", 2, start + Duration::from_secs(2)));
    }

    #[test]
    fn a_failure_that_may_pass_is_retried_and_a_refusal_logged_once() {
        let schedule = SlowSchedule::new(Duration::from_secs(3600));
        let start = Instant::now();
        assert!(!schedule.first_refusal(&"a"), "never read");
        assert!(schedule.claim(&"a", 1, start));
        schedule.retry_soon(&"a");
        assert!(schedule.claim(&"a", 1, Instant::now()));
        assert!(schedule.first_refusal(&"a"));
        assert!(!schedule.first_refusal(&"a"));
    }
}
