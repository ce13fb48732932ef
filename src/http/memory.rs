//! Gives the memory of a burst of connections back to the system once the burst is over.
//!
//! glibc's allocator keeps what a burst freed for reuse: after 12,000 stalled connections the
//! exporter stayed at 66 MiB instead of the 10 MiB it had before, for good (`benches/flood.sh`),
//! which is how a pod drifts towards its memory limit. `malloc_trim` hands the free pages back; it
//! costs a few milliseconds, so it runs once per burst, after a second with few closes, never on the
//! scrape path. A replacement allocator that returns memory on its own would do too, but it changes
//! every allocation of the scrape path for the sake of a rare event. Other C libraries: nothing to do.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::connections::{BURST, Connections};

/// A second with fewer closes than this ends a burst.
const QUIET: u64 = BURST / 4;

/// Runs until `shutdown`: after each burst of closed connections, once it is over, trims the heap.
pub(crate) async fn trim_after_bursts(connections: &Connections, shutdown: CancellationToken) {
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            () = connections.burst() => {}
        }
        loop {
            let before = connections.closed();
            tokio::select! {
                _ = shutdown.cancelled() => return,
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
            if connections.closed() - before < QUIET {
                break;
            }
        }
        // Blocking for milliseconds on a large heap: not on the thread that serves scrapes.
        let trimmed = tokio::task::spawn_blocking(trim).await.unwrap_or(false);
        tracing::debug!(
            trimmed,
            "connection burst over; free memory returned to the system"
        );
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn trim() -> bool {
    // SAFETY: malloc_trim takes no pointers and only releases pages the allocator holds free; it
    // locks each arena as malloc does, so it is safe to call while other threads allocate.
    unsafe { libc::malloc_trim(0) == 1 }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn trim() -> bool {
    false
}
