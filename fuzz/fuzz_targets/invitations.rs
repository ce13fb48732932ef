//! Fuzzes the `listOrgInvites` body decoder, and the aggregation of whatever it accepts (extreme dates,
//! odd roles and project ids), as one poll would use them.

#![no_main]

use std::time::Duration;

use atlas_invites_exporter::aggregate::{AggregateSettings, OrgAggregate};
use atlas_invites_exporter::atlas::model::parse_org_invitations;
use atlas_invites_exporter::config::ExpiryWindow;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    let Ok(parsed) = parse_org_invitations(body) else {
        return;
    };
    let windows = [ExpiryWindow {
        label: "24h".to_owned(),
        duration: Duration::from_secs(86_400),
    }];
    let settings = AggregateSettings {
        expiry_windows: &windows,
        stale_age: Duration::from_secs(7 * 86_400),
    };
    for now in [
        jiff::Timestamp::MIN,
        jiff::Timestamp::UNIX_EPOCH,
        jiff::Timestamp::MAX,
    ] {
        let _ = OrgAggregate::compute(&parsed.invitations, now, &settings);
    }
});
