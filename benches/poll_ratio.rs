//! The poll path's speed as a ratio to serde_json walking the same bytes into `IgnoredAny`, measured
//! in pairs: each round times the floor and the decoder back to back (alternating which goes first)
//! and keeps their ratio, so a slow phase of a shared machine slows both halves of a pair alike.
//! The divan cases in `benches/poll.rs` time each decoder on its own, which on this machine moved
//! the ratio by ±0.2 from run to run (docs/performance.md).
//!
//! `cargo bench --bench poll_ratio` measures and prints a table; `cargo test --bench poll_ratio`
//! (CI's smoke mode) runs one short round per case and checks that the decoders agree.

mod bodies;

use std::hint::black_box;
use std::time::{Duration, Instant};

use atlas_client::InvitationSink;
use atlas_client::model::{parse_org_invitations, parse_org_users_page};
use bodies::{COUNTS, aggregate, aggregator, invites_body, users_page};
use serde::de::IgnoredAny;

/// Rounds per case; odd, for a median.
const ROUNDS: usize = 41;
/// Bytes decoded per timing, so that a timing lasts a few milliseconds at any body size.
const BYTES_PER_TIMING: usize = 4 << 20;

fn main() {
    let measuring = std::env::args().any(|arg| arg == "--bench");
    let (counts, rounds): (&[usize], usize) = if measuring {
        (COUNTS, ROUNDS)
    } else {
        (&COUNTS[..2], 1)
    };
    println!(
        "| body | entries | bytes | IgnoredAny MB/s | decoder MB/s | ratio: median | min | max |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for &count in counts {
        let body = invites_body(count);
        let reference = parse_org_invitations(&body).map(|p| aggregate(&p.invitations));
        let poller = |body: &[u8]| {
            let mut aggregator = aggregator();
            aggregator
                .add_invitations(body)
                .map(|_| aggregator.finish())
        };
        assert_eq!(poller(&body).ok(), reference.ok(), "the decoders disagree");
        report("listOrgInvites", count, &body, rounds, measuring, poller);
    }
    for &count in counts {
        let body = users_page(count);
        let reference = parse_org_users_page(&body).map(|p| aggregate(&p.items));
        let poller = |body: &[u8]| {
            let mut aggregator = aggregator();
            aggregator
                .add_org_users_page(body)
                .map(|_| aggregator.finish())
        };
        assert_eq!(poller(&body).ok(), reference.ok(), "the decoders disagree");
        report("listOrgUsers page", count, &body, rounds, measuring, poller);
    }
}

/// Times `decode` against the floor in `rounds` pairs and prints one table row.
fn report<T>(
    name: &str,
    count: usize,
    body: &[u8],
    rounds: usize,
    measuring: bool,
    decode: impl Fn(&[u8]) -> T,
) {
    let repeats = if measuring {
        (BYTES_PER_TIMING / body.len()).max(1)
    } else {
        1
    };
    let floor = || {
        time(repeats, || {
            serde_json::from_slice::<IgnoredAny>(black_box(body)).is_ok()
        })
    };
    let ours = || time(repeats, || decode(black_box(body)));
    // Warm both up (caches, allocator, branch predictors) before the first pair.
    floor();
    ours();
    let (mut ratios, mut fastest_floor, mut fastest_ours) =
        (Vec::new(), Duration::MAX, Duration::MAX);
    for round in 0..rounds {
        let (floor_time, our_time) = if round % 2 == 0 {
            let floor_time = floor();
            (floor_time, ours())
        } else {
            let our_time = ours();
            (floor(), our_time)
        };
        fastest_floor = fastest_floor.min(floor_time);
        fastest_ours = fastest_ours.min(our_time);
        // Our speed over the floor's: the floor's time over ours.
        ratios.push(floor_time.as_secs_f64() / our_time.as_secs_f64());
    }
    ratios.sort_by(f64::total_cmp);
    let speed = |time: Duration| (body.len() * repeats) as f64 / time.as_secs_f64() / 1e6;
    println!(
        "| {name} | {count} | {} | {:.0} | {:.0} | **{:.2}** | {:.2} | {:.2} |",
        body.len(),
        speed(fastest_floor),
        speed(fastest_ours),
        ratios[ratios.len() / 2],
        ratios[0],
        ratios[ratios.len() - 1],
    );
}

fn time<T>(repeats: usize, mut run: impl FnMut() -> T) -> Duration {
    let start = Instant::now();
    for _ in 0..repeats {
        black_box(run());
    }
    start.elapsed()
}
