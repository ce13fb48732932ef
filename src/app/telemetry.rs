//! Logging: tracing-subscriber to standard error, as text or JSON, filtered by `--log.level`.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error("invalid log level {level:?}: {reason}")]
    InvalidLevel { level: String, reason: String },
    #[error("logging was already initialised")]
    AlreadyInitialised,
}

/// Installs the global subscriber. `level` is a tracing filter: `info`, `debug`, `atlas_invites_exporter=debug`.
pub fn init(level: &str, format: LogFormat) -> Result<(), TelemetryError> {
    let filter = EnvFilter::builder()
        .parse(level)
        .map_err(|e| TelemetryError::InvalidLevel {
            level: level.to_owned(),
            reason: e.to_string(),
        })?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    let result = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
    result.map_err(|_| TelemetryError::AlreadyInitialised)
}
