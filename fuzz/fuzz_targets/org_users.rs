//! Fuzzes the `listOrgUsers` page decoders differentially: the poller's (counting while decoding) must
//! accept exactly what the reference (decode into invitations, then compute) accepts and give the same
//! numbers and page counts, at extreme clocks too.

#![no_main]

use std::time::Duration;

use atlas_invites_exporter::metrics::aggregate::{AggregateSettings, Aggregator};
use atlas_client::InvitationSink;
use atlas_client::model::parse_org_users_page;
use atlas_invites_exporter::config::ExpiryWindow;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    let windows = [ExpiryWindow {
        label: "168h".to_owned(),
        duration: Duration::from_secs(7 * 86_400),
    }];
    let settings = AggregateSettings {
        expiry_windows: &windows,
        stale_age: Duration::MAX,
        policy: std::sync::Arc::default(),
    };
    let reference = parse_org_users_page(body);
    if let Ok(page) = &reference {
        assert!(
            page.items.len() <= page.results,
            "kept more entries than the page had"
        );
    }
    for now in [
        jiff::Timestamp::MIN,
        jiff::Timestamp::UNIX_EPOCH,
        jiff::Timestamp::MAX,
    ] {
        let mut aggregator = Aggregator::new(now, &settings);
        let counted = aggregator.add_org_users_page(body);
        match &reference {
            Ok(page) => {
                let counts = counted.expect("only the reference decoder accepted it");
                assert_eq!(
                    (counts.results, counts.total_count),
                    (page.results, page.total_count)
                );
                assert_eq!(
                    aggregator.finish(),
                    atlas_invites_exporter::poll::handover::count(&page.items, now, &settings)
                );
            }
            // Whatever the poller's scanner declines, the reference decides: same error, word for word.
            Err(error) => assert_eq!(
                counted.as_ref().map(drop).map_err(ToString::to_string),
                Err(error.to_string()),
                "only the poller's decoder accepted it"
            ),
        }
    }
});
