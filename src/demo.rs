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

/// Starts the simulator on a loopback port and returns it (dropping it stops it) with `config`
/// pointed at it: its base URL, its service account and its organisations. A configuration file, if
/// given, still sets everything else (interval, windows, listen address).
pub async fn prepare(
    mut config: Config,
    from_file: bool,
) -> Result<(Simulator, Config), DemoError> {
    let world = World::demo();
    let credentials = world.service_accounts.first().cloned();
    let orgs: Vec<OrgConfig> = world
        .orgs
        .iter()
        .filter_map(|org| OrgId::parse(&org.id))
        .map(OrgConfig::new)
        .collect();
    let simulator = Simulator::start(world).await?;
    config.atlas.base_url = simulator.base_url();
    if let Some((client_id, client_secret)) = credentials {
        config.auth = Some(Credentials::ServiceAccount {
            client_id,
            client_secret: SecretString::from(client_secret),
        });
    }
    config.orgs = orgs;
    if !from_file {
        config.poll.interval = DEMO_POLL_INTERVAL;
    }
    tracing::info!(
        simulator = %simulator.base_url(),
        orgs = config.orgs.len(),
        "demo mode: polling the built-in Atlas simulator, no Atlas account needed"
    );
    Ok((simulator, config))
}
