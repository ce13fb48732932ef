//! The metrics stage: from a poll's outcome to the published exposition that `/metrics` serves.
//!
//! - `aggregate`: the numbers of one organisation (pure arithmetic, no I/O, no clock);
//! - `exposition`: the metric catalogue and the rendering of one organisation's series;
//! - `store`: per-organisation state (last good data, API counters) and when to publish;
//! - `snapshot`: the published exposition, stitched from the fragments and completed at scrape time;
//! - `compression`: gzip that deflates the poll-time part once per publication;
//! - `self_metrics`: the exporter's own process, build and API-latency metrics.
//!
//! Nothing here names a type of the Atlas client: the poll stage hands over plain data
//! ([`crate::types`]).

pub mod aggregate;
pub(crate) mod compression;
pub mod exposition;
pub(crate) mod label;
pub mod self_metrics;
pub mod snapshot;
pub mod store;
