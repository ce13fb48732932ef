//! `atlas-sim`: the Atlas simulator as a process of its own, for `benches/scrape.sh`: the exporter is measured
//! (memory, CPU, scrapes) without the simulator inside it, and the simulator counts what the exporter
//! asked of Atlas (target 4 of issue 6: round trips per organisation and interval, token fetches, how
//! the polls spread over the interval).
//!
//! `atlas-sim --serve ORGS AUTH INTERVAL_SECS JITTER DIR [PROJECTS]`, AUTH `service-account` or
//! `api-key`, PROJECTS the projects per organisation (default 0: `generated_world`; more:
//! `generated_world_with_projects`, each project with one legacy invitation): writes
//! `DIR/exporter.toml` (the exporter's configuration for this simulator), serves until SIGTERM,
//! then writes `DIR/economy.txt`. Without `--serve` it does nothing. Build it with
//! `cargo build --release -p atlas-sim`; it is `target/release/atlas-sim`.
//!
//! The economy report (`economy.rs`) counts, in steady state: the org listing's round trips per
//! organisation and interval (`/orgs/{orgId}/invites`, or `/orgs/{orgId}/users` without
//! `orgMembershipStatuses=ACTIVE`: comparable with the reports from before projects), token
//! fetches, how the polls fall into tenths of the interval; the legacy project invitation calls
//! per project and interval and their tenths; the slow calls (groups, teams, active count,
//! serviceAccounts); and, for each Atlas rate-limit bucket (`buckets.rs`), the highest per-key
//! rate per minute as a share of the bucket's refill, in steady state and over the whole run.

// A binary's root takes its modules from its own folder (src/bin/); these are this binary's only.
#[path = "atlas-sim/buckets.rs"]
mod buckets;
#[path = "atlas-sim/economy.rs"]
mod economy;

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use atlas_sim::{
    DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_PRIVATE_KEY, DEMO_PUBLIC_KEY, Simulator,
    generated_world, generated_world_with_projects,
};

struct Args {
    orgs: u32,
    api_key: bool,
    interval: Duration,
    jitter: f64,
    dir: PathBuf,
    projects: u32,
}

fn args() -> Option<Args> {
    let args: Vec<String> = std::env::args().collect();
    let at = args.iter().position(|a| a == "--serve")?;
    let rest = args.get(at + 1..at + 6)?;
    Some(Args {
        orgs: rest[0].parse().ok()?,
        api_key: rest[1] == "api-key",
        interval: Duration::from_secs(rest[2].parse().ok()?),
        jitter: rest[3].parse().ok()?,
        dir: PathBuf::from(&rest[4]),
        projects: match args.get(at + 6) {
            Some(projects) => projects.parse().ok()?,
            None => 0,
        },
    })
}

fn main() -> std::io::Result<()> {
    let Some(args) = args() else {
        println!("atlas-sim: nothing to do without --serve (benches/scrape.sh runs it)");
        return Ok(());
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(serve(args))
}

async fn serve(args: Args) -> std::io::Result<()> {
    let world = if args.projects == 0 {
        generated_world(args.orgs, None)
    } else {
        generated_world_with_projects(args.orgs, args.projects, None)
    };
    let org_ids: Vec<String> = world.orgs.iter().map(|org| org.id.clone()).collect();
    let project_ids: Vec<String> = world
        .orgs
        .iter()
        .flat_map(|org| org.projects.iter().map(|project| project.id.clone()))
        .collect();
    let token_lifetime = world.token_lifetime;
    let simulator = Simulator::start(world).await?;
    let started = Instant::now();

    let mut config = format!(
        "[atlas]\nbase_url = \"{}\"\n\n[poll]\ninterval = \"{}s\"\njitter = {}\nkeep_stale_for = \"{}s\"\n\n[auth]\n",
        simulator.base_url(),
        args.interval.as_secs(),
        args.jitter,
        args.interval.as_secs() * 4
    );
    if args.api_key {
        let _ = writeln!(
            config,
            "public_key = \"{DEMO_PUBLIC_KEY}\"\nprivate_key = \"{DEMO_PRIVATE_KEY}\""
        );
    } else {
        let _ = writeln!(
            config,
            "client_id = \"{DEMO_CLIENT_ID}\"\nclient_secret = \"{DEMO_CLIENT_SECRET}\""
        );
    }
    for id in &org_ids {
        let _ = write!(config, "\n[[orgs]]\nid = \"{id}\"\n");
    }
    std::fs::write(args.dir.join("exporter.toml"), config)?;

    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = terminate.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    let report = economy::economy(
        &simulator.requests(),
        &economy::Setup {
            org_ids: &org_ids,
            project_ids: &project_ids,
            interval: args.interval,
            token_lifetime,
            started,
        },
    );
    std::fs::write(args.dir.join("economy.txt"), report)
}
