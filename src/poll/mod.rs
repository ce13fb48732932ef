//! The poll stage: which organisations to poll (configured and discovered, cut to this replica's
//! shard), when (one loop each, interval ± jitter, a concurrency cap), and one poll of one
//! organisation through the Atlas client, whose outcome goes to the metrics stage.
//!
//! - `scheduler`: the loops and the running set of organisations;
//! - `org_poll`: one poll of one organisation, counted into an aggregate while its bodies are decoded;
//! - `source`: which API an organisation is read from, and the automatic fallback;
//! - `connect`: the client's settings and one authenticator per credential;
//! - `discovery`: the organisations the credentials can see;
//! - `handover`: what this stage hands to the metrics stage, in the exporter's own terms;
//! - `legacy`: the projects' legacy invitations, read before the org listing to be merged with it;
//! - `facts`: facts beside the invitations (teams, seats), a file each, read once per slow interval;
//! - `lifecycle`: what changed by invitation id since the last successful poll (created, removed,
//!   expired), for the events counter and the audit stream;
//! - `slow`: when slowly changing facts are due; `credential`: the exporter's own secret's expiry.

pub(crate) mod connect;
pub(crate) mod credential;
pub(crate) mod discovery;
pub(crate) mod facts;
pub mod handover;
pub(crate) mod legacy;
pub(crate) mod lifecycle;
pub(crate) mod org_poll;
pub(crate) mod scheduler;
pub(crate) mod slow;
pub(crate) mod source;

pub use handover::endpoint_labels;
