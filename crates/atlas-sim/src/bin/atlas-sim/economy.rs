//! The economy report: what the exporter asked of Atlas, counted over the whole intervals after the
//! first poll of every organisation, so that start-up does not count as steady state.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use atlas_sim::RecordedRequest;

use crate::buckets::{Kind, kind, report_shares};

/// What the report needs to know of the world and the run.
pub struct Setup<'a> {
    pub org_ids: &'a [String],
    pub project_ids: &'a [String],
    pub interval: Duration,
    pub token_lifetime: Duration,
    pub started: Instant,
}

fn stats(values: &[f64]) -> (f64, f64, f64) {
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let max = values.iter().copied().fold(0.0, f64::max);
    let mean = values.iter().sum::<f64>() / values.len().max(1) as f64;
    (mean, min, max)
}

pub fn economy(requests: &[RecordedRequest], setup: &Setup<'_>) -> String {
    let Setup {
        org_ids,
        project_ids,
        interval,
        token_lifetime,
        started,
    } = *setup;
    let mut out = String::new();
    let Some(last) = requests.last().map(|r| r.received_at) else {
        return "no requests\n".to_owned();
    };
    let mut first_poll: BTreeMap<&str, Instant> = BTreeMap::new();
    for r in requests {
        if let Kind::Listing(org) = kind(r) {
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
    let window = window_end.duration_since(window_start);
    let in_window =
        |r: &&RecordedRequest| r.received_at >= window_start && r.received_at < window_end;
    let tenth = |at: Instant| {
        let phase = at.duration_since(window_start).as_secs_f64() / interval.as_secs_f64();
        ((phase.fract() * 10.0) as usize).min(9)
    };
    let mut per_org: BTreeMap<&str, (u32, u32)> =
        org_ids.iter().map(|id| (id.as_str(), (0, 0))).collect();
    let mut per_project: BTreeMap<&str, u32> =
        project_ids.iter().map(|id| (id.as_str(), 0)).collect();
    let mut project_failures = 0;
    let mut project_seconds: BTreeMap<u64, u32> = BTreeMap::new();
    let mut slow: BTreeMap<&str, u32> = BTreeMap::new();
    let mut tokens = 0;
    let mut other = 0;
    let mut phase_buckets = [0u32; 10];
    let mut project_phases = [0u32; 10];
    for r in requests.iter().filter(in_window) {
        match kind(r) {
            Kind::Token => tokens += 1,
            Kind::Listing(org) if per_org.contains_key(org) => {
                let entry = per_org.get_mut(org).expect("checked");
                entry.0 += 1;
                if r.status == 401 {
                    entry.1 += 1;
                }
                phase_buckets[tenth(r.received_at)] += 1;
            }
            Kind::Project(group) if per_project.contains_key(group) => {
                *per_project.get_mut(group).expect("checked") += 1;
                if r.status != 200 {
                    project_failures += 1;
                }
                project_phases[tenth(r.received_at)] += 1;
                let second = r.received_at.duration_since(window_start).as_secs();
                *project_seconds.entry(second).or_default() += 1;
            }
            Kind::Slow(name) => *slow.entry(name).or_default() += 1,
            _ => other += 1,
        }
    }
    let per_interval: Vec<f64> = per_org
        .values()
        .map(|(n, _)| f64::from(*n) / whole)
        .collect();
    let (mean, min, max) = stats(&per_interval);
    let challenges: u32 = per_org.values().map(|(_, c)| c).sum();
    let _ = writeln!(
        out,
        "steady state: {whole} whole intervals of {}s ({:.1}s)",
        interval.as_secs(),
        window.as_secs_f64()
    );
    let _ = writeln!(
        out,
        "HTTP round trips per org per interval: mean {mean:.3}, min {min:.3}, max {max:.3} (401 challenges among them: {challenges})"
    );
    let _ = writeln!(
        out,
        "token fetches: {tokens} in the window (token lifetime {}s: at most {:.0} expected), other requests: {other}",
        token_lifetime.as_secs(),
        (window.as_secs_f64() / token_lifetime.as_secs_f64()).ceil()
    );
    let _ = writeln!(
        out,
        "polls by tenth of the interval (a burst shows as one large bucket): {phase_buckets:?}"
    );
    if !project_ids.is_empty() {
        let per_interval: Vec<f64> = per_project
            .values()
            .map(|n| f64::from(*n) / whole)
            .collect();
        let (mean, min, max) = stats(&per_interval);
        let calls: u32 = per_project.values().sum();
        let _ = writeln!(
            out,
            "project invitation calls per project per interval: mean {mean:.3}, min {min:.3}, max {max:.3} ({} projects, {calls} calls, {project_failures} not 200)",
            project_ids.len()
        );
        let busiest = project_seconds.values().max().copied().unwrap_or(0);
        let _ = writeln!(
            out,
            "project calls by tenth of the interval: {project_phases:?}; busiest second {busiest} calls (mean {:.1} per second)",
            f64::from(calls) / window.as_secs_f64()
        );
    }
    let slow_total: u32 = slow.values().sum();
    let _ = writeln!(
        out,
        "slow calls (groups, teams, active count, serviceAccounts) in the window: {slow_total} {slow:?} (0 expected while the slow interval is longer than the run)"
    );
    gaps(&mut out, requests, org_ids, interval);
    report_shares(&mut out, "steady state", requests, window_start, window_end);
    report_shares(
        &mut out,
        "whole run, start included",
        requests,
        started,
        last + Duration::from_millis(1),
    );
    out
}

/// Gaps between consecutive calls of one org over the whole run: a retry, a Digest challenge or a
/// second page would show as a gap far shorter than the interval (jitter moves polls by at most 10%
/// each way, so two polls are at least 0.8 interval apart).
fn gaps(out: &mut String, requests: &[RecordedRequest], org_ids: &[String], interval: Duration) {
    let mut times: BTreeMap<&str, Vec<Instant>> = BTreeMap::new();
    for r in requests {
        if let Kind::Listing(org) = kind(r) {
            times.entry(org).or_default().push(r.received_at);
        }
    }
    let mut gaps = Vec::new();
    for org in org_ids {
        let Some(times) = times.get(org.as_str()) else {
            continue;
        };
        gaps.extend(
            times
                .windows(2)
                .map(|pair| pair[1].duration_since(pair[0]).as_secs_f64() / interval.as_secs_f64()),
        );
    }
    let short = gaps.iter().filter(|gap| **gap < 0.5).count();
    let (mean_gap, min_gap, max_gap) = stats(&gaps);
    let _ = writeln!(
        out,
        "gaps between calls of one org, in intervals: {} gaps, mean {mean_gap:.3}, min {min_gap:.3}, max {max_gap:.3}; shorter than half an interval (extra round trips): {short}",
        gaps.len()
    );
}
