//! The errors a user sees: one per problem, each naming the key and where its value came from.

/// One problem with the configuration, naming the key and where its value came from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {message} (from {source_name})")]
pub struct ConfigError {
    /// Dotted key path: `poll.interval`, `orgs[2].id`.
    pub key: String,
    pub message: String,
    /// `TOML file /etc/atlas.toml`, `environment variable ATLAS_EXPORTER_POLL__INTERVAL`, `default`, `flag --web.listen-address`.
    pub source_name: String,
}

/// Every problem found, reported together.
#[derive(Debug, Clone, thiserror::Error)]
#[error("invalid configuration:\n{}", .0.iter().map(|e| format!("  - {e}")).collect::<Vec<_>>().join("\n"))]
pub struct ConfigErrors(pub Vec<ConfigError>);
