//! `--demo`: starts the built-in Atlas simulator with its demo world and points the configuration at it.

use std::time::Duration;

use secrecy::SecretString;

use crate::config::{Config, Credentials, OrgConfig};
use crate::invitation::OrgId;
use crate::simulator::{Simulator, World};

/// The demo's poll interval when no configuration file sets one: short, so the rate-limited
/// organisation shows its 429s within a minute.
pub const DEMO_POLL_INTERVAL: Duration = Duration::from_secs(15);

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("cannot start the Atlas simulator: {0}")]
    Simulator(#[from] std::io::Error),
}

/// The running simulator (dropping this stops it) and what a configuration needs to poll it.
pub struct Demo {
    pub simulator: Simulator,
    client_id: String,
    client_secret: String,
    orgs: Vec<OrgConfig>,
    from_file: bool,
}

impl Demo {
    /// Starts the simulator with the demo world on a loopback port. `from_file`: a configuration file
    /// was given, so its poll interval is kept.
    pub async fn start(from_file: bool) -> Result<Demo, DemoError> {
        let world = World::demo();
        let (client_id, client_secret) = world.service_accounts.first().cloned().unwrap_or_default();
        let orgs = world.orgs.iter().filter_map(|org| OrgId::parse(&org.id)).map(OrgConfig::new).collect();
        let simulator = Simulator::start(world).await?;
        tracing::info!(
            simulator = %simulator.base_url(),
            "demo mode: polling the built-in Atlas simulator, no Atlas account needed"
        );
        Ok(Demo { simulator, client_id, client_secret, orgs, from_file })
    }

    /// Points `config` at the simulator: its base URL, its service account and its organisations. The
    /// rest of the configuration (windows, listen address, …) is kept. Applied again on every reload.
    pub fn apply(&self, mut config: Config) -> Config {
        config.atlas.base_url = self.simulator.base_url();
        config.auth = Some(Credentials::ServiceAccount {
            client_id: self.client_id.clone(),
            client_secret: SecretString::from(self.client_secret.clone()),
        });
        config.orgs = self.orgs.clone();
        if !self.from_file {
            config.poll.interval = DEMO_POLL_INTERVAL;
        }
        config
    }
}
