//! `--demo`: starts the built-in Atlas simulator with its demo world and points the configuration at it.

use std::time::Duration;

use secrecy::SecretString;

use crate::config::{Config, Credentials, OrgConfig};
use crate::types::OrgId;
use atlas_sim::{
    DEMO_CHURN_PERIOD, DEMO_EXPECTED_INVITERS, DEMO_INTERNAL_DOMAIN, Simulator, World,
    generated_world,
};

/// The demo's poll interval when no configuration file sets one: short, so the rate-limited
/// organisation shows its 429s within a minute. Without a file the demo also sets `[policy]` to its
/// world's company (`example.com`) and inviters.
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
        // Named as an operator names them in the configuration, so that the status page can name an
        // organisation that never answered (the demo's Forbidden Org), not only show its id.
        let orgs = world
            .orgs
            .iter()
            .filter_map(|org| {
                Some(OrgConfig {
                    name: Some(org.name.clone()),
                    ..OrgConfig::new(OrgId::parse(&org.id)?)
                })
            })
            .collect();
        let simulator = Simulator::start(world).await?;
        // Into the churn's cycle, so that its first acceptance (half a period in) comes about 20 s
        // after the start and the lifecycle panels have data within the first minute.
        let into_cycle = jiff::SignedDuration::try_from(DEMO_CHURN_PERIOD / 2).unwrap_or_default()
            - jiff::SignedDuration::from_secs(20);
        simulator.set_churn_start(jiff::Timestamp::now() - into_cycle);
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
            // The demo world's own company and inviters, so that its risk series show something.
            config.policy.internal_domains = vec![DEMO_INTERNAL_DOMAIN.to_owned()];
            config.policy.expected_inviters = DEMO_EXPECTED_INVITERS
                .iter()
                .map(|inviter| (*inviter).to_owned())
                .collect();
        }
        config
    }
}
