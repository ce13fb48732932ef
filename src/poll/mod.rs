//! The poll stage: which organisations to poll (configured and discovered, cut to this replica's
//! shard), when (one loop each, interval ± jitter, a concurrency cap), and one poll of one
//! organisation through the Atlas client, whose outcome goes to the metrics stage.
//!
//! - `scheduler`: the loops and the running set of organisations;
//! - `org_poll`: one poll of one organisation, counted into an aggregate while its bodies are decoded;
//! - `source`: which API an organisation is read from, and the automatic fallback;
//! - `connect`: the client's settings and one authenticator per credential;
//! - `discovery`: the organisations the credentials can see;
//! - `handover`: what this stage hands to the metrics stage, in the exporter's own terms.

pub(crate) mod connect;
pub(crate) mod credential;
pub(crate) mod discovery;
pub mod handover;
pub(crate) mod org_poll;
pub(crate) mod scheduler;
pub(crate) mod slow;
pub(crate) mod source;

pub use handover::endpoint_labels;
