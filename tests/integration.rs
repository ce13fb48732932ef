//! Integration tests: the real binary and the real servers, over sockets on 127.0.0.1.
//! One test binary (one link step) with a module per area.

mod util;

/// The import rules of docs/architecture.md, read from the source.
mod architecture;

/// Command line and configuration errors, through the binary.
mod cli;
/// The exporter's own credential: service account secret expiry and last use.
mod credential;
/// End to end against the simulator: auth schemes, metric values, failures, lifecycle.
mod exporter;
/// Every fault of Atlas and the network, against the simulator: counted, logged, survived, no secret emitted.
mod faults;
/// Hostile names, roles and project ids; property tests of the JSON, Digest and configuration parsers.
mod hostile;
/// The listener under a connection flood: --web.max-connections and the connection series.
mod listener;
/// Live reload: SIGHUP and POST /-/reload.
mod reload;
/// The org-users source, automatic fallback, discovery, per-org credentials and sharding.
mod sources;
/// `--web.config.file`: TLS, mutual TLS, basic auth, headers, refusal of invalid files, reload.
mod web;
