//! What each recorded request is, for the economy report, and the Atlas rate-limit bucket it draws
//! from (`/work/shared/reference/atlas-admin-api.md` §8 and its notes: mongodb/docs
//! `includes/api-rate-limits.rst`, 2026-04-10).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use atlas_sim::RecordedRequest;

const API: &str = "/api/atlas/v2/";

/// What the exporter asked, as the report counts it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind<'a> {
    /// One org listing round trip: `/orgs/{orgId}/invites`, or `/orgs/{orgId}/users` without
    /// `orgMembershipStatuses=ACTIVE` (that one, or `orgMembershipStatus=ACTIVE` for an Atlas from
    /// before that parameter, is the active members' count, a slow call).
    Listing(&'a str),
    /// `/groups/{groupId}/invites`: one project's legacy invitations.
    Project(&'a str),
    /// Read once per `poll.slow_interval`: `/orgs/{orgId}/groups`, `/teams`, the active count,
    /// `/serviceAccounts/{clientId}`; the name is the one the report prints.
    Slow(&'static str),
    /// `POST /api/oauth/token`.
    Token,
    Other,
}

fn segments(r: &RecordedRequest) -> Vec<&str> {
    r.path
        .strip_prefix(API)
        .map(|rest| rest.split('/').collect())
        .unwrap_or_default()
}

fn asks_active_count(r: &RecordedRequest) -> bool {
    r.query.as_deref().is_some_and(|query| {
        query
            .split('&')
            .any(|p| p == "orgMembershipStatuses=ACTIVE" || p == "orgMembershipStatus=ACTIVE")
    })
}

pub fn kind(r: &RecordedRequest) -> Kind<'_> {
    if r.path.ends_with("/oauth/token") {
        return Kind::Token;
    }
    match segments(r).as_slice() {
        ["orgs", org, "invites"] => Kind::Listing(org),
        ["orgs", _, "users"] if asks_active_count(r) => Kind::Slow("active count"),
        ["orgs", org, "users"] => Kind::Listing(org),
        ["orgs", _, "groups"] => Kind::Slow("groups"),
        ["orgs", _, "teams", ..] => Kind::Slow("teams"),
        ["orgs", _, "serviceAccounts", ..] => Kind::Slow("serviceAccounts"),
        ["groups", group, "invites"] => Kind::Project(group),
        _ => Kind::Other,
    }
}

/// A token bucket as the reference documents it; Atlas keeps one per endpoint set and scope key.
pub struct Bucket {
    pub name: &'static str,
    pub scope: &'static str,
    pub capacity: u32,
    pub refill_per_minute: f64,
}

pub const BUCKETS: [Bucket; 6] = [
    Bucket {
        name: "Organizations",
        scope: "per org",
        capacity: 500,
        refill_per_minute: 250.0,
    },
    Bucket {
        name: "MongoDB Cloud Users",
        scope: "per org",
        capacity: 500,
        refill_per_minute: 250.0,
    },
    Bucket {
        name: "Teams",
        scope: "per org",
        capacity: 1200,
        refill_per_minute: 500.0,
    },
    Bucket {
        name: "Projects",
        scope: "per project",
        capacity: 1200,
        refill_per_minute: 500.0,
    },
    Bucket {
        name: "Organizations",
        scope: "per user (GET /orgs)",
        capacity: 300,
        refill_per_minute: 100.0,
    },
    Bucket {
        name: "OAuth token",
        scope: "per IP and client",
        capacity: 50,
        refill_per_minute: 50.0,
    },
];

/// The bucket (index into [`BUCKETS`]) and key a request draws from; None for a path the reference
/// puts in no bucket (`/orgs/{orgId}/serviceAccounts/…`).
fn bucket_of(r: &RecordedRequest) -> Option<(usize, &str)> {
    let credential = r.credential.as_deref().unwrap_or("-");
    if r.path.ends_with("/oauth/token") {
        return Some((5, credential));
    }
    match segments(r).as_slice() {
        ["orgs"] => Some((4, credential)),
        ["orgs", org] | ["orgs", org, "invites" | "groups", ..] => Some((0, org)),
        ["orgs", org, "users", ..] => Some((1, org)),
        ["orgs", org, "teams", ..] => Some((2, org)),
        ["groups", group, "invites", ..] => Some((3, group)),
        _ => None,
    }
}

/// The most requests one key made in any `span` (a sliding window) among sorted times.
fn busiest(times: &[Instant], span: Duration) -> usize {
    let mut start = 0;
    let mut most = 0;
    for (end, at) in times.iter().enumerate() {
        while at.duration_since(times[start]) >= span {
            start += 1;
        }
        most = most.max(end + 1 - start);
    }
    most
}

/// For each bucket: the highest per-key rate per minute among `requests` received in
/// `[from, to)`, over a sliding minute (or the whole span when shorter, scaled to a minute), as a
/// share of the bucket's refill. Appends one line per bucket and one for the highest of all.
pub fn report_shares(
    out: &mut String,
    label: &str,
    requests: &[RecordedRequest],
    from: Instant,
    to: Instant,
) {
    let length = to
        .saturating_duration_since(from)
        .min(Duration::from_secs(60));
    if length.is_zero() {
        return;
    }
    let mut times: BTreeMap<(usize, &str), Vec<Instant>> = BTreeMap::new();
    for r in requests
        .iter()
        .filter(|r| r.received_at >= from && r.received_at < to)
    {
        if let Some(key) = bucket_of(r) {
            times.entry(key).or_default().push(r.received_at);
        }
    }
    let _ = writeln!(
        out,
        "rate-limit buckets, {label} ({:.1}s; busiest {:.1}s of one key, per minute, over the refill per minute):",
        to.saturating_duration_since(from).as_secs_f64(),
        length.as_secs_f64()
    );
    let mut highest: (f64, &str, &str) = (0.0, "none", "");
    for (index, bucket) in BUCKETS.iter().enumerate() {
        let (mut rate, mut keys, mut top) = (0.0, 0, "-");
        for ((_, key), at) in times.range((index, "")..(index + 1, "")) {
            keys += 1;
            let per_minute = busiest(at, length) as f64 * 60.0 / length.as_secs_f64();
            if per_minute > rate {
                (rate, top) = (per_minute, key);
            }
        }
        let share = 100.0 * rate / bucket.refill_per_minute;
        if share > highest.0 {
            highest = (share, bucket.name, bucket.scope);
        }
        let _ = writeln!(
            out,
            "  {} ({}, capacity {}, refill {:.0}/60s): {keys} keys, highest {rate:.1}/min = {share:.2} % (key {top})",
            bucket.name, bucket.scope, bucket.capacity, bucket.refill_per_minute
        );
    }
    let _ = writeln!(
        out,
        "  highest share of any bucket, {label}: {:.2} % ({}, {})",
        highest.0, highest.1, highest.2
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busiest_counts_a_sliding_window() {
        let t = Instant::now();
        let at = |s: u64| t + Duration::from_secs(s);
        let times = [at(0), at(10), at(20), at(65), at(70), at(75), at(80)];
        assert_eq!(busiest(&times, Duration::from_secs(60)), 4);
        assert_eq!(busiest(&times, Duration::from_secs(10)), 2);
        assert_eq!(busiest(&[], Duration::from_secs(60)), 0);
    }
}
