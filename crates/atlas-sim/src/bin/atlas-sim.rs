//! `atlas-sim`: the Atlas simulator as a process of its own, for `benches/scrape.sh`: the exporter is measured
//! (memory, CPU, scrapes) without the simulator inside it, and the simulator counts what the exporter
//! asked of Atlas (target 4 of issue 6: round trips per organisation and interval, token fetches, how
//! the polls spread over the interval).
//!
//! `atlas-sim --serve ORGS AUTH INTERVAL_SECS JITTER DIR`, AUTH `service-account` or `api-key`:
//! writes `DIR/exporter.toml` (the exporter's configuration for this simulator), serves until SIGTERM,
//! then writes `DIR/economy.txt`. Without `--serve` it does nothing. Build it with
//! `cargo build --release -p atlas-sim`; it is `target/release/atlas-sim`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use atlas_sim::{
    DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_PRIVATE_KEY, DEMO_PUBLIC_KEY, RecordedRequest,
    Simulator, generated_world,
};

struct Args {
    orgs: u32,
    api_key: bool,
    interval: Duration,
    jitter: f64,
    dir: PathBuf,
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
    let world = generated_world(args.orgs, None);
    let org_ids: Vec<String> = world.orgs.iter().map(|org| org.id.clone()).collect();
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
    let report = economy(
        &simulator.requests(),
        &org_ids,
        args.interval,
        token_lifetime,
        started,
    );
    std::fs::write(args.dir.join("economy.txt"), report)
}

/// What the exporter asked of Atlas: counted over the whole intervals after the first poll of every
/// organisation, so that start-up does not count as steady state.
fn economy(
    requests: &[RecordedRequest],
    org_ids: &[String],
    interval: Duration,
    token_lifetime: Duration,
    started: Instant,
) -> String {
    let mut out = String::new();
    let is_poll = |r: &RecordedRequest| {
        r.org_id.is_some() && (r.path.ends_with("/invites") || r.path.ends_with("/users"))
    };
    let Some(last) = requests.last().map(|r| r.received_at) else {
        return "no requests\n".to_owned();
    };
    let mut first_poll: BTreeMap<&str, Instant> = BTreeMap::new();
    for r in requests.iter().filter(|r| is_poll(r)) {
        if let Some(org) = r.org_id.as_deref() {
            first_poll.entry(org).or_insert(r.received_at);
        }
    }
    let (Some(first_of_all), Some(last_first)) = (
        first_poll.values().min().copied(),
        first_poll.values().max().copied(),
    ) else {
        return "no polls\n".to_owned();
    };
    let _ = writeln!(
        out,
        "orgs polled: {} of {}; first polls from {:.2}s to {:.2}s after the simulator started",
        first_poll.len(),
        org_ids.len(),
        first_of_all.duration_since(started).as_secs_f64(),
        last_first.duration_since(started).as_secs_f64()
    );
    // Steady state: from one interval after the last first poll, whole intervals only.
    let window_start = last_first + interval;
    let intervals =
        last.saturating_duration_since(window_start).as_secs_f64() / interval.as_secs_f64();
    let whole = intervals.floor();
    if whole < 1.0 {
        let _ = writeln!(
            out,
            "steady state: too short to count (need 2 intervals after the first polls)"
        );
        return out;
    }
    let window_end = window_start + interval.mul_f64(whole);
    let in_window =
        |r: &&RecordedRequest| r.received_at >= window_start && r.received_at < window_end;
    let mut per_org: BTreeMap<&str, (u32, u32)> =
        org_ids.iter().map(|id| (id.as_str(), (0, 0))).collect();
    let mut tokens = 0;
    let mut other = 0;
    let mut phase_buckets = [0u32; 10];
    for r in requests.iter().filter(in_window) {
        if r.path.ends_with("/oauth/token") {
            tokens += 1;
        } else if let Some(entry) = r
            .org_id
            .as_deref()
            .and_then(|org| per_org.get_mut(org))
            .filter(|_| is_poll(r))
        {
            entry.0 += 1;
            if r.status == 401 {
                entry.1 += 1;
            }
            let phase =
                r.received_at.duration_since(window_start).as_secs_f64() / interval.as_secs_f64();
            phase_buckets[((phase.fract() * 10.0) as usize).min(9)] += 1;
        } else {
            other += 1;
        }
    }
    let per_interval: Vec<f64> = per_org
        .values()
        .map(|(n, _)| f64::from(*n) / whole)
        .collect();
    let min = per_interval.iter().copied().fold(f64::INFINITY, f64::min);
    let max = per_interval.iter().copied().fold(0.0, f64::max);
    let mean = per_interval.iter().sum::<f64>() / per_interval.len().max(1) as f64;
    let challenges: u32 = per_org.values().map(|(_, c)| c).sum();
    let _ = writeln!(
        out,
        "steady state: {whole} whole intervals of {}s ({:.1}s)",
        interval.as_secs(),
        window_end.duration_since(window_start).as_secs_f64()
    );
    let _ = writeln!(
        out,
        "HTTP round trips per org per interval: mean {mean:.3}, min {min:.3}, max {max:.3} (401 challenges among them: {challenges})"
    );
    let _ = writeln!(
        out,
        "token fetches: {tokens} in the window (token lifetime {}s: at most {:.0} expected), other requests: {other}",
        token_lifetime.as_secs(),
        (window_end.duration_since(window_start).as_secs_f64() / token_lifetime.as_secs_f64())
            .ceil()
    );
    let _ = writeln!(
        out,
        "polls by tenth of the interval (a burst shows as one large bucket): {phase_buckets:?}"
    );
    // Gaps between consecutive calls of one org over the whole run: a retry, a Digest challenge or a
    // second page would show as a gap far shorter than the interval (jitter moves polls by at most 10%
    // each way, so two polls are at least 0.8 interval apart).
    let mut gaps = Vec::new();
    for org in org_ids {
        let times: Vec<Instant> = requests
            .iter()
            .filter(|r| is_poll(r) && r.org_id.as_deref() == Some(org))
            .map(|r| r.received_at)
            .collect();
        gaps.extend(
            times
                .windows(2)
                .map(|pair| pair[1].duration_since(pair[0]).as_secs_f64() / interval.as_secs_f64()),
        );
    }
    let short = gaps.iter().filter(|gap| **gap < 0.5).count();
    let min_gap = gaps.iter().copied().fold(f64::INFINITY, f64::min);
    let max_gap = gaps.iter().copied().fold(0.0, f64::max);
    let mean_gap = gaps.iter().sum::<f64>() / gaps.len().max(1) as f64;
    let _ = writeln!(
        out,
        "gaps between calls of one org, in intervals: {} gaps, mean {mean_gap:.3}, min {min_gap:.3}, max {max_gap:.3}; shorter than half an interval (extra round trips): {short}",
        gaps.len()
    );
    out
}
