//! atlas-invites-exporter: a Prometheus exporter for MongoDB Atlas organisation invitations.
//!
//! # Layout
//!
//! The modules follow the data flow, from configuration to the HTTP response:
//!
//! - [`cli`]: command-line flags (Prometheus style) and the `check` subcommand.
//! - [`config`]: figment layering (defaults, TOML file, environment, flags) into a validated [`config::Config`].
//! - [`scheduler`]: one loop per organisation, interval with jitter, a global concurrency cap.
//! - [`atlas`]: the Atlas Administration API as far as we need it: HTTP client, retries, OAuth and Digest
//!   authentication, the wire model and error classification.
//! - [`invitation`]: our own invitation type, independent of the API version it came from.
//! - [`aggregate`]: pure functions from a list of invitations to the numbers we export.
//! - [`snapshot`]: the per-organisation state, and the published, pre-rendered exposition.
//! - [`exposition`]: the metric catalogue and the text rendering of one organisation's series.
//! - [`self_metrics`]: the exporter's own process, build and API-latency metrics.
//! - [`compression`]: gzip that compresses the unchanging part of `/metrics` once per publication.
//! - [`http`]: the hyper server: `/metrics`, the landing page, health and readiness.
//! - [`reload`]: live reload requests (SIGHUP, `POST /-/reload`).
//! - [`app`]: wiring, reload and shutdown; [`check`]: the one-shot credential check; [`telemetry`]: logging.
//!
//! The scrape path only reads the published snapshot; it never waits on Atlas. The Atlas simulator that
//! `--demo` and the tests run is the crate `atlas_sim` (crates/atlas-sim).

pub mod aggregate;
pub mod app;
pub mod atlas;
pub mod check;
pub mod cli;
pub mod collect;
pub mod compression;
pub mod config;
pub mod demo;
pub mod discovery;
pub mod exposition;
pub mod http;
pub mod invitation;
pub mod reload;
pub mod scheduler;
pub mod self_metrics;
pub mod snapshot;
pub mod telemetry;

/// The exporter's name, as it appears in the User-Agent, the landing page and logs.
pub const NAME: &str = "atlas-invites-exporter";
/// The crate version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The git revision the binary was built from, when the build knew it.
pub const REVISION: &str = match option_env!("ATLAS_EXPORTER_REVISION") {
    Some(r) => r,
    None => "unknown",
};
