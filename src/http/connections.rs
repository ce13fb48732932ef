//! The listener's bound on open connections (`--web.max-connections`) and who gives way past it.
//!
//! A peer that opens thousands of connections and sends half a request on each would otherwise hold
//! a task and a read buffer per connection until the header deadline, and the exporter's memory with
//! them. Past the bound, room is made by closing the oldest connection that has not yet sent a whole
//! request (a stalled one: the flood); a connection that has been served keeps its place, so a
//! scraper is never pushed out by strangers. When every open connection is being served, the new one
//! is closed unread. Either way the closed connection is counted as rejected. A scraper connects and
//! sends its request at once, so under a flood it is the newest connection, the last to give way.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

use prometheus::{IntCounter, IntGauge};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// The default `--web.max-connections`: 200 concurrent scrapers (the load target) five times over,
/// at a few KiB each while they wait for their request.
pub const DEFAULT_MAX_CONNECTIONS: u32 = 1024;

/// Closed connections that make a burst worth giving memory back for (see `memory.rs`).
pub(crate) const BURST: u64 = 256;

/// The open connections and the ones that may be closed to make room.
pub(crate) struct Connections {
    max: usize,
    inner: Mutex<Inner>,
    open: IntGauge,
    rejected: IntCounter,
    closed: AtomicU64,
    /// Notified every [`BURST`] closed connections.
    burst: Notify,
}

struct Inner {
    open: usize,
    /// Closed to make room, their tasks not yet ended: each still holds its buffers.
    closing: usize,
    /// Admission order; entries of served or closed connections are skipped and pruned.
    unserved: VecDeque<Weak<Slot>>,
}

/// One admitted connection's place.
#[derive(Default)]
struct Slot {
    /// A whole request arrived: the connection no longer gives way.
    served: AtomicBool,
    /// Set when the connection was closed to make room; its place is already free.
    evicted: AtomicBool,
    close: CancellationToken,
}

/// An admitted connection; dropping it frees its place.
pub(crate) struct Admitted {
    slot: Arc<Slot>,
    connections: Arc<Connections>,
}

impl Connections {
    /// `open` and `rejected` are the exporter's own series: the gauge and the counter.
    pub(crate) fn new(max: usize, open: IntGauge, rejected: IntCounter) -> Connections {
        Connections {
            max: max.max(1),
            inner: Mutex::new(Inner {
                open: 0,
                closing: 0,
                unserved: VecDeque::new(),
            }),
            open,
            rejected,
            closed: AtomicU64::new(0),
            burst: Notify::new(),
        }
    }

    /// Connections closed to make room whose tasks have not ended yet.
    pub(crate) fn closing(&self) -> usize {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).closing
    }

    /// Connections closed since the start.
    pub(crate) fn closed(&self) -> u64 {
        self.closed.load(Ordering::Relaxed)
    }

    /// Completes once [`BURST`] connections have closed since the last time it completed.
    pub(crate) async fn burst(&self) {
        self.burst.notified().await;
    }

    /// A place for a new connection, closing the oldest unserved one if the bound is reached;
    /// `None` when every open connection is being served: close the new one unread.
    pub(crate) fn admit(self: &Arc<Self>) -> Option<Admitted> {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if inner.open >= self.max {
            let Some(victim) = inner.oldest_unserved() else {
                self.rejected.inc();
                return None;
            };
            victim.evicted.store(true, Ordering::Release);
            victim.close.cancel();
            inner.open -= 1;
            inner.closing += 1;
            self.rejected.inc();
        }
        inner.open += 1;
        self.open.set(inner.open as i64);
        let slot = Arc::new(Slot::default());
        inner.unserved.push_back(Arc::downgrade(&slot));
        // Served and closed connections leave dead entries behind; sweep them before they add up.
        if inner.unserved.len() > 2 * self.max {
            inner
                .unserved
                .retain(|entry| entry.upgrade().is_some_and(|slot| slot.gives_way()));
        }
        Some(Admitted {
            slot,
            connections: self.clone(),
        })
    }
}

impl Inner {
    fn oldest_unserved(&mut self) -> Option<Arc<Slot>> {
        while let Some(entry) = self.unserved.pop_front() {
            if let Some(slot) = entry.upgrade().filter(|slot| slot.gives_way()) {
                return Some(slot);
            }
        }
        None
    }
}

impl Slot {
    fn gives_way(&self) -> bool {
        !self.served.load(Ordering::Acquire) && !self.evicted.load(Ordering::Acquire)
    }
}

impl Admitted {
    /// A whole request arrived on this connection: it keeps its place from now on.
    pub(crate) fn served(&self) {
        self.slot.served.store(true, Ordering::Release);
    }

    /// Completes when the connection was closed to make room for a newer one.
    pub(crate) async fn evicted(&self) {
        self.slot.close.cancelled().await;
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let closed = self.connections.closed.fetch_add(1, Ordering::Relaxed) + 1;
        if closed.is_multiple_of(BURST) {
            self.connections.burst.notify_one();
        }
        let mut inner = self
            .connections
            .inner
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if self.slot.evicted.load(Ordering::Acquire) {
            inner.closing -= 1;
            return;
        }
        inner.open -= 1;
        self.connections.open.set(inner.open as i64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connections(max: usize) -> Arc<Connections> {
        Arc::new(Connections::new(
            max,
            IntGauge::new("open", "open").unwrap(),
            IntCounter::new("rejected", "rejected").unwrap(),
        ))
    }

    fn is_evicted(admitted: &Admitted) -> bool {
        admitted.slot.close.is_cancelled()
    }

    #[test]
    fn past_the_bound_the_oldest_unserved_connection_gives_way() {
        let connections = connections(2);
        let first = connections.admit().unwrap();
        let second = connections.admit().unwrap();
        let third = connections.admit().unwrap();
        assert!(is_evicted(&first));
        assert!(!is_evicted(&second) && !is_evicted(&third));
        assert_eq!(connections.open.get(), 2);
        assert_eq!(connections.rejected.get(), 1);
        // The evicted connection's place was freed when it was chosen, not again when it closes.
        assert_eq!(connections.closing(), 1);
        drop(first);
        assert_eq!(connections.open.get(), 2);
        assert_eq!(connections.closing(), 0);
        drop(second);
        assert_eq!(connections.open.get(), 1);
    }

    #[test]
    fn served_connections_keep_their_place_and_newcomers_are_refused_when_all_are_served() {
        let connections = connections(2);
        let scraper = connections.admit().unwrap();
        scraper.served();
        let stalled = connections.admit().unwrap();
        let newer = connections.admit().unwrap();
        assert!(is_evicted(&stalled), "the unserved one gives way");
        assert!(!is_evicted(&scraper));
        newer.served();
        assert!(connections.admit().is_none(), "no one left to give way");
        assert_eq!(connections.rejected.get(), 2);
        assert_eq!(connections.open.get(), 2);
        drop(newer);
        assert!(
            connections.admit().is_some(),
            "a closed connection frees its place"
        );
    }

    #[test]
    fn dead_entries_are_swept_so_the_queue_stays_bounded() {
        let connections = connections(4);
        for _ in 0..1000 {
            let admitted = connections.admit().unwrap();
            admitted.served();
        }
        let inner = connections.inner.lock().unwrap();
        assert!(inner.unserved.len() <= 8, "{}", inner.unserved.len());
        assert_eq!(inner.open, 0);
    }
}
