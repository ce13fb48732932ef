//! `--demo`: starts the built-in Atlas simulator with its demo world and points the configuration at it.

use std::time::Duration;

use secrecy::SecretString;

use crate::config::{Config, Credentials, OrgConfig};
use crate::types::OrgId;
use atlas_sim::{Simulator, World, generated_world};

/// The demo's poll interval when no configuration file sets one: short, so the rate-limited
/// organisation shows its 429s within a minute.
pub const DEMO_POLL_INTERVAL: Duration = Duration::from_secs(15);

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("cannot start the Atlas simulator")]
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
        Demo::start_world(World::demo(), from_file).await
    }

    /// Nobody reads the request log of a demo: keep it short, so a long run stays flat in memory.
    const REQUEST_LOG_LIMIT: usize = 1_000;

    /// Starts the simulator with `orgs` generated organisations of five invitations each; with
    /// `fault_every`, every n-th call of each answers 429 (load, soak and performance runs).
    pub async fn start_generated(
        orgs: u32,
        fault_every: Option<u32>,
        from_file: bool,
    ) -> Result<Demo, DemoError> {
        Demo::start_world(generated_world(orgs, fault_every), from_file).await
    }

    async fn start_world(mut world: World, from_file: bool) -> Result<Demo, DemoError> {
        world.request_log_limit = Demo::REQUEST_LOG_LIMIT;
        let (client_id, client_secret) =
            world.service_accounts.first().cloned().unwrap_or_default();
        let orgs = world
            .orgs
            .iter()
            .filter_map(|org| OrgId::parse(&org.id))
            .map(OrgConfig::new)
            .collect();
        let simulator = Simulator::start(world).await?;
        tracing::info!(
            simulator = %simulator.base_url(),
            "demo mode: polling the built-in Atlas simulator, no Atlas account needed"
        );
        Ok(Demo {
            simulator,
            client_id,
            client_secret,
            orgs,
            from_file,
        })
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
