//! Fuzzes the `listOrgUsers` page decoder, and the aggregation of the invitations it keeps.

#![no_main]

use std::time::Duration;

use atlas_invites_exporter::aggregate::{AggregateSettings, OrgAggregate};
use atlas_invites_exporter::atlas::model::parse_org_users_page;
use atlas_invites_exporter::config::ExpiryWindow;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    let Ok(page) = parse_org_users_page(body) else {
        return;
    };
    assert!(
        page.items.len() <= page.results,
        "kept more entries than the page had"
    );
    let windows = [ExpiryWindow {
        label: "168h".to_owned(),
        duration: Duration::from_secs(7 * 86_400),
    }];
    let settings = AggregateSettings {
        expiry_windows: &windows,
        stale_age: Duration::MAX,
    };
    for now in [
        jiff::Timestamp::MIN,
        jiff::Timestamp::UNIX_EPOCH,
        jiff::Timestamp::MAX,
    ] {
        let _ = OrgAggregate::compute(&page.items, now, &settings);
    }
});
