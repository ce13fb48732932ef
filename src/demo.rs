//! `--demo`: the built-in Atlas simulator and a configuration pointing at it.

use crate::config::Config;

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("cannot start the Atlas simulator: {0}")]
    Simulator(#[from] std::io::Error),
}

/// A running demo simulator; dropping it stops the simulator.
pub struct DemoHandle;

/// Starts the simulator and points `config` at it.
pub async fn prepare(config: Config, _from_file: bool) -> Result<(DemoHandle, Config), DemoError> {
    // Filled in once the simulator module lands.
    let _ = &config;
    Err(DemoError::Simulator(std::io::Error::other(
        "simulator not available yet",
    )))
}
