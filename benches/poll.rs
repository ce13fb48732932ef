//! The poll path: decoding a `listOrgInvites` body or an org-users page into invitations and
//! aggregating them, against the floor of serde_json walking the same bytes into `IgnoredAny`.
//!
//! `cargo bench --bench poll` measures; `cargo test --benches` runs each case once (CI's smoke test).
//! The bodies (`bodies`) have the JSON shape the simulator serves. `benches/poll_ratio.rs` measures
//! the same decoders against the same floor in pairs, which a shared machine's noise cannot skew.

mod bodies;

use atlas_client::InvitationSink;
use atlas_client::model::{parse_org_invitations, parse_org_users_page};
use bodies::{COUNTS, aggregate, aggregator, invites_body, users_page};
use divan::counter::BytesCount;
use divan::{Bencher, black_box};
use serde::de::IgnoredAny;

fn main() {
    divan::main();
}

/// `GET /orgs/{orgId}/invites`: one body per poll.
mod list_org_invites {
    use super::*;

    /// The floor: serde_json checking the JSON and discarding every value.
    #[divan::bench(args = COUNTS)]
    fn ignored_any(bencher: Bencher, count: usize) {
        let body = invites_body(count);
        bencher
            .counter(BytesCount::of_slice(&body))
            .bench(|| serde_json::from_slice::<IgnoredAny>(black_box(&body)).is_ok());
    }

    /// What a poll does with the body: typed decoding into invitations, then the aggregate.
    #[divan::bench(args = COUNTS)]
    fn parse_and_aggregate(bencher: Bencher, count: usize) {
        let body = invites_body(count);
        assert_eq!(
            parse_org_invitations(&body)
                .map(|p| p.invitations.len())
                .ok(),
            Some(count)
        );
        bencher.counter(BytesCount::of_slice(&body)).bench(|| {
            parse_org_invitations(black_box(&body)).map(|parsed| aggregate(&parsed.invitations))
        });
    }

    /// The same result, decoded straight into the aggregate (`aggregate_org_invitations`).
    #[divan::bench(args = COUNTS)]
    fn aggregate_while_decoding(bencher: Bencher, count: usize) {
        let body = invites_body(count);
        let expected = parse_org_invitations(&body)
            .map(|p| aggregate(&p.invitations))
            .ok();
        let mut check = aggregator();
        let _ = check.add_invitations(&body);
        assert_eq!(Some(check.finish()), expected);
        bencher.counter(BytesCount::of_slice(&body)).bench(|| {
            let mut aggregator = aggregator();
            aggregator
                .add_invitations(black_box(&body))
                .map(|_| aggregator.finish())
        });
    }
}

/// `GET /orgs/{orgId}/users?orgMembershipStatuses=PENDING&orgMembershipStatuses=INVITATION_EXPIRED`.
mod list_org_users {
    use super::*;

    #[divan::bench(args = COUNTS)]
    fn ignored_any(bencher: Bencher, count: usize) {
        let body = users_page(count);
        bencher
            .counter(BytesCount::of_slice(&body))
            .bench(|| serde_json::from_slice::<IgnoredAny>(black_box(&body)).is_ok());
    }

    #[divan::bench(args = COUNTS)]
    fn parse_and_aggregate(bencher: Bencher, count: usize) {
        let body = users_page(count);
        assert_eq!(
            parse_org_users_page(&body).map(|p| p.results).ok(),
            Some(count)
        );
        bencher
            .counter(BytesCount::of_slice(&body))
            .bench(|| parse_org_users_page(black_box(&body)).map(|page| aggregate(&page.items)));
    }

    /// The same result, decoded straight into the aggregate (`aggregate_org_users_page`).
    #[divan::bench(args = COUNTS)]
    fn aggregate_while_decoding(bencher: Bencher, count: usize) {
        let body = users_page(count);
        let expected = parse_org_users_page(&body)
            .map(|p| aggregate(&p.items))
            .ok();
        let mut check = aggregator();
        let _ = check.add_org_users_page(&body);
        assert_eq!(Some(check.finish()), expected);
        bencher.counter(BytesCount::of_slice(&body)).bench(|| {
            let mut aggregator = aggregator();
            aggregator
                .add_org_users_page(black_box(&body))
                .map(|_| aggregator.finish())
        });
    }
}
