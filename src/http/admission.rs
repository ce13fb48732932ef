//! Admission of scrapes: a few `/metrics` bodies in flight at once, the rest served in arrival order.
//!
//! Two hundred scrapers of a 5 MB exposition on two cores, all sending at once, share the CPU and the
//! sockets unevenly: most answers took 0.2–0.7 s but a few took over 2 s, one 9.7 s
//! (`benches/load.sh`). In arrival order, each waits for the answers ahead of it and no more: the
//! slowest then took 0.73 s. A client that stops reading
//! keeps its turn for at most [`MAX_TURN`], so it cannot hold up the others.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Semaphore, oneshot};

/// The longest one answer may hold its turn: after that it goes on without one.
pub const MAX_TURN: Duration = Duration::from_secs(1);

/// Turns for `/metrics` answers, handed out first come, first served.
#[derive(Clone, Debug)]
pub struct Admission {
    turns: Arc<Semaphore>,
}

impl Default for Admission {
    /// Four answers per core (at least eight): enough to keep every core and the kernel's socket
    /// copies busy, few enough that arrival order decides who waits. On two cores, 200 scrapers of
    /// 1,000 organisations: 4 turns gave 369 answers/s, 8 gave 407 (no turns: 472 and 9 over 2 s).
    fn default() -> Admission {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Admission::new((4 * cores).max(8))
    }
}

impl Admission {
    pub fn new(turns: usize) -> Admission {
        Admission {
            turns: Arc::new(Semaphore::new(turns.max(1))),
        }
    }

    /// Waits for a turn. The turn ends when the returned [`Turn`] is dropped, or after [`MAX_TURN`].
    pub async fn admit(&self) -> Turn {
        let (ended, end) = oneshot::channel::<()>();
        // The semaphore is never closed; if it were, answering without a turn is the safe side.
        if let Ok(permit) = self.turns.clone().acquire_owned().await {
            tokio::spawn(async move {
                let _permit = permit;
                // Err (the Turn dropped) or Ok (never sent) both end the turn; so does the deadline.
                let _ = tokio::time::timeout(MAX_TURN, end).await;
            });
        }
        Turn { _ended: ended }
    }

    #[cfg(test)]
    fn available(&self) -> usize {
        self.turns.available_permits()
    }
}

/// One answer's turn; dropping it lets the next answer start.
#[derive(Debug)]
pub struct Turn {
    _ended: oneshot::Sender<()>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn answers_wait_in_arrival_order_for_a_turn() {
        let admission = Admission::new(1);
        let first = admission.admit().await;
        let second = tokio::spawn({
            let admission = admission.clone();
            async move { admission.admit().await }
        });
        tokio::task::yield_now().await;
        assert!(!second.is_finished(), "no turn was free");
        drop(first);
        let second = second.await.unwrap();
        assert_eq!(admission.available(), 0);
        drop(second);
        // The holder task notices the dropped turn on its next poll.
        for _ in 0..3 {
            tokio::task::yield_now().await;
        }
        assert_eq!(admission.available(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_turn_held_too_long_is_taken_back() {
        let admission = Admission::new(1);
        let _stalled = admission.admit().await;
        let started = tokio::time::Instant::now();
        let _next = admission.admit().await;
        assert_eq!(started.elapsed(), MAX_TURN);
    }
}
