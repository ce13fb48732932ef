//! Integration tests: the real binary and the real servers, over sockets on 127.0.0.1.
//! One test binary (one link step) with a module per area.

mod util;

/// The import rules of docs/architecture.md, read from the source.
mod architecture;

/// The audit stream: every event kind and its line, the state file across a stop, a restart, a
/// SIGKILL and corruption, off by default, no address outside the stream.
mod audit;
/// `check`: names, causes, warnings, a wrong organisation id, `--demo`, exit codes.
mod check;
/// Command line and configuration errors, through the binary.
mod cli;
/// Legacy project invitations merged by invitee, projects not visible, teams and seats.
mod coverage;
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
/// Corporate networks through real proxies (tinyproxy, mitmproxy): proxy_url, HTTP(S)_PROXY and
/// NO_PROXY, ca_file and ca_only; skipped with a printed reason when a proxy is not installed.
mod network;
/// `[policy]`'s classes of pending invitees, and the lifecycle counters.
mod policy;
/// Live reload: SIGHUP and POST /-/reload.
mod reload;
/// The org-users source, automatic fallback, discovery, per-org credentials and sharding.
mod sources;
/// The status page (`/`): a failing organisation's endpoint, status, code, detail and hint.
mod status_page;
/// `--web.config.file`: TLS, mutual TLS, basic auth, headers, refusal of invalid files, reload.
mod web;
