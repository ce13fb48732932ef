//! atlas-invites-exporter: a Prometheus exporter for MongoDB Atlas organisation invitations.
//!
//! # Layout
//!
//! The stages follow the data flow, each a folder:
//!
//! - [`config`]: figment layering (defaults, TOML file, environment, flags) into a validated [`config::Config`];
//! - [`poll`]: which organisations, when, and one poll of one organisation through the
//!   [`atlas_client`] crate;
//! - [`metrics`]: aggregation, the metric catalogue and rendering, the store and the published snapshot;
//! - `audit`: the opt-in stream of invitation lifecycle events (personal data) and its state file;
//! - [`http`]: the hyper server: `/metrics`, the landing page, health, readiness, reload;
//! - [`app`]: wiring, reload and shutdown, and the binary's edge (flags, logging, `check`, `--demo`);
//! - [`types`]: plain data the stages share.
//!
//! The scrape path only reads the published snapshot; it never waits on Atlas. The Atlas simulator that
//! `--demo` and the tests run is the crate `atlas_sim` (crates/atlas-sim).

// The binary (src/main.rs) is a crate of its own: it reaches the library through `app`, `config` and
// `http`. The other stages are the library's inside; they are public only for the benches, the fuzz
// targets and the integration tests that call them directly, and hidden from its documentation.
pub mod app;
pub(crate) mod audit;
pub mod config;
pub mod http;
/// Public for the benches (aggregation, rendering, publication) and the hostile-input tests.
#[doc(hidden)]
pub mod metrics;
/// Public for `handover::count`, which the benches, fuzz targets and property tests feed
/// decoded invitations through, and `endpoint_labels`, which the benches build self metrics with.
#[doc(hidden)]
pub mod poll;
/// Public for the benches, which build poll outcomes from these plain types.
#[doc(hidden)]
pub mod types;

/// The exporter's name, as it appears in the User-Agent, the landing page and logs.
pub const NAME: &str = "atlas-invites-exporter";
/// The crate version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The git revision the binary was built from, when the build knew it.
pub const REVISION: &str = match option_env!("ATLAS_EXPORTER_REVISION") {
    Some(r) => r,
    None => "unknown",
};
