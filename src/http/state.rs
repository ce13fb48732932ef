//! What every request handler reads: the published snapshot, the exporter's own metrics, the reload
//! handle and the scrape admission, never the store that publishes.

use std::sync::Arc;

use tokio::sync::watch;

use super::admission::Admission;
use crate::app::reload::ReloadHandle;
use crate::metrics::self_metrics::SelfMetrics;
use crate::metrics::snapshot::Snapshot;

/// What the handlers read.
pub struct HttpState {
    /// The published snapshot: all the handlers read, never the store that publishes it.
    pub snapshot: watch::Receiver<Arc<Snapshot>>,
    pub self_metrics: Arc<SelfMetrics>,
    /// Serves `POST /-/reload`; `None` answers it with 503.
    pub reload: Option<ReloadHandle>,
    /// `--web.enable-lifecycle`: without it `POST /-/reload` answers 403, so that whoever reaches the
    /// port cannot make the exporter reload (and re-poll) at will.
    pub lifecycle: bool,
    /// `[web] runbook_url`: where the status page's hints link to; empty, they name the section.
    pub runbook_url: String,
    /// Turns for `/metrics` answers.
    pub scrapes: Admission,
}
