//! Command-line flags, Prometheus style (`--config.file`, `--web.listen-address`, …), and subcommands.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::config::Overrides;

#[derive(Debug, Parser)]
#[command(
    name = "atlas-invites-exporter",
    version,
    about = "Prometheus exporter for MongoDB Atlas organisation invitations"
)]
pub struct Cli {
    /// Path to the TOML configuration file.
    #[arg(long = "config.file", value_name = "PATH", global = true)]
    pub config_file: Option<PathBuf>,

    /// Address to listen on for HTTP (default 0.0.0.0:10046).
    #[arg(long = "web.listen-address", value_name = "ADDR")]
    pub listen_address: Option<String>,

    /// Log filter: error, warn, info, debug, trace, or a tracing directive.
    #[arg(long = "log.level", value_name = "LEVEL", global = true)]
    pub log_level: Option<String>,

    /// Log format: text or json.
    #[arg(long = "log.format", value_name = "FORMAT", global = true)]
    pub log_format: Option<String>,

    /// Path to an exporter-toolkit web configuration file (YAML): TLS, basic auth, response headers.
    #[arg(long = "web.config.file", value_name = "PATH")]
    pub web_config_file: Option<PathBuf>,

    /// Serve /-/healthy without basic auth, for liveness probes (TLS client certificates still apply).
    #[arg(long = "web.health-open")]
    pub web_health_open: bool,

    /// Connections open at once. Past it, the oldest connection that has not sent a whole request is
    /// closed to make room, or the new one if all are being served. About 20 KiB each while open.
    #[arg(
        long = "web.max-connections",
        value_name = "N",
        default_value_t = crate::http::DEFAULT_MAX_CONNECTIONS,
        value_parser = clap::value_parser!(u32).range(1..=1_000_000)
    )]
    pub web_max_connections: u32,

    /// Let POST /-/reload reload the configuration (SIGHUP always does); without it, it answers 403.
    #[arg(long = "web.enable-lifecycle")]
    pub web_enable_lifecycle: bool,

    /// Number of replicas sharing the organisations (overrides [sharding] total).
    #[arg(long = "sharding.total", value_name = "N")]
    pub sharding_total: Option<String>,

    /// This replica's shard, 0-based, or "from_hostname" (overrides [sharding] index).
    #[arg(long = "sharding.index", value_name = "I")]
    pub sharding_index: Option<String>,

    /// Threads that serve HTTP and run the polls (publication and password checks have threads of
    /// their own). One serves a pre-rendered /metrics at static-file speed and keeps the exporter
    /// from competing for cores with what it runs beside, like node_exporter's --runtime.gomaxprocs=1.
    #[arg(
        long = "runtime.worker-threads",
        value_name = "N",
        default_value_t = 1,
        value_parser = clap::value_parser!(u16).range(1..=256)
    )]
    pub worker_threads: u16,

    /// Run against the built-in Atlas simulator: no Atlas account needed.
    #[arg(long, global = true)]
    pub demo: bool,

    /// Demo with this many generated organisations (5 invitations each) instead of the demo world:
    /// for load, soak and performance runs.
    #[arg(long = "demo.orgs", value_name = "N", hide = true, requires = "demo")]
    pub demo_orgs: Option<u32>,

    /// With --demo.orgs: every N-th call of each organisation answers 429 (N = 20 injects 5% faults).
    #[arg(
        long = "demo.fault-every",
        value_name = "N",
        hide = true,
        requires = "demo_orgs"
    )]
    pub demo_fault_every: Option<u32>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate the configuration, make one real request per organisation, print a table.
    ///
    /// Exits 0 if every organisation answered, 1 if one did not, 2 for a usage or configuration
    /// error. With --demo, runs against the built-in Atlas simulator.
    Check,
}

impl Cli {
    pub fn overrides(&self) -> Overrides {
        Overrides {
            config_file: self.config_file.clone(),
            listen_address: self.listen_address.clone(),
            log_level: self.log_level.clone(),
            log_format: self.log_format.clone(),
            sharding_total: self.sharding_total.clone(),
            sharding_index: self.sharding_index.clone(),
        }
    }
}
