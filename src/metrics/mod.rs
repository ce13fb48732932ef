//! The metrics stage: from a poll's outcome to the published exposition that `/metrics` serves.
//!
//! - `aggregate`: the numbers of one organisation (pure arithmetic, no I/O, no clock);
//! - `catalog`: every family rendered at poll time (name, type, help), in exposition order;
//! - `exposition`: the rendering of one organisation's series;
//! - `facts`: an organisation's facts beside its invitations (projects, teams, seats), a file each;
//! - `policy`: `[policy]`'s classes (domain, tier, inviter) of a pending invitee;
//! - `invitees`: the counting rule that merges an invitee's org and legacy project invitations;
//! - `store`: per-organisation state (last good data, API counters) and when to publish;
//! - `snapshot`: the published exposition, stitched from the fragments and completed at scrape time;
//! - `status`: what the status page shows of an organisation (`OrgStatus`), and Atlas' `detail` scrubbed;
//! - `compression`: gzip that deflates the poll-time part once per publication;
//! - `self_metrics`: the exporter's own process, build and API-latency metrics.
//!
//! Nothing here names a type of the Atlas client: the poll stage hands over plain data
//! ([`crate::types`]).

pub mod aggregate;
pub mod catalog;
pub(crate) mod compression;
pub mod exposition;
pub mod facts;
pub mod invitees;
pub(crate) mod label;
pub mod policy;
pub mod self_metrics;
pub mod snapshot;
pub mod status;
pub mod store;
