//! The exposition: rendering one organisation after its poll, stitching and deflating all of them at
//! publication, and the scrape (the scrape-time tail and the whole body, plain and gzip).
//!
//! `cargo bench --bench exposition` measures; `cargo test --benches` runs each case once (CI's smoke
//! test). The organisations are the ones `benches/scrape.sh` serves (`atlas_sim::generated_world`: five
//! invitations each), polled once.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use atlas_client::{Invitation, ProjectRole};
use atlas_invites_exporter::config::{ExpiryWindow, OrgConfig};
use atlas_invites_exporter::metrics::aggregate::{AggregateSettings, OrgAggregate};
use atlas_invites_exporter::metrics::exposition::{self, LifecycleTotals, OrgView};
use atlas_invites_exporter::metrics::self_metrics::SelfMetrics;
use atlas_invites_exporter::metrics::snapshot::Snapshot;
use atlas_invites_exporter::metrics::store::{PollOutcome, PolledData, Store, StoreSettings};
use atlas_invites_exporter::types::OrgId;
use atlas_invites_exporter::types::{ActiveSource, Call};
use atlas_sim::{SimOrg, generated_world};
use divan::counter::BytesCount;
use divan::{Bencher, black_box};
use jiff::{SignedDuration, Timestamp};

fn main() {
    divan::main();
}

const ORGS: &[u32] = &[100, 1_000];
const DAY: u64 = 86_400;

fn windows() -> Vec<ExpiryWindow> {
    ["24h", "72h", "168h"]
        .iter()
        .map(|label| ExpiryWindow {
            label: (*label).to_owned(),
            duration: humantime::parse_duration(label).unwrap_or_default(),
        })
        .collect()
}

/// The aggregate a poll of this simulated organisation produces at `now`.
fn aggregate(org: &SimOrg, now: Timestamp, windows: &[ExpiryWindow]) -> OrgAggregate {
    let invitations: Vec<Invitation> = org
        .invitations
        .iter()
        .map(|invitation| Invitation {
            created_at: invitation.created.resolve(now),
            expires_at: Some(invitation.expires.resolve(now)),
            org_roles: invitation.org_roles.clone(),
            project_roles: invitation
                .project_roles
                .iter()
                .map(|(project_id, role)| ProjectRole {
                    project_id: project_id.clone(),
                    role: role.clone(),
                })
                .collect(),
            ..Invitation::default()
        })
        .collect();
    let settings = AggregateSettings {
        expiry_windows: windows,
        stale_age: Duration::from_secs(7 * DAY),
        policy: std::sync::Arc::default(),
    };
    atlas_invites_exporter::poll::handover::count(&invitations, now, &settings)
}

/// A store of `count` organisations, each with one successful poll recorded.
fn polled_store(count: u32) -> Store {
    let orgs = generated_world(count, None).orgs;
    let windows = windows();
    let configs: Vec<OrgConfig> = orgs
        .iter()
        .filter_map(|org| OrgId::parse(&org.id))
        .map(OrgConfig::new)
        .collect();
    let store = Store::new(
        &configs,
        StoreSettings::new(windows.clone(), Duration::from_secs(900)),
    );
    let now = Timestamp::now();
    for org in &orgs {
        let Some(id) = OrgId::parse(&org.id) else {
            continue;
        };
        store.record(PollOutcome {
            org: id,
            source: ActiveSource::Invites,
            started_at: now,
            finished_at: now,
            duration: Duration::from_millis(120),
            calls: vec![Call {
                endpoint: "list_org_invites",
                status: Some(200),
                error_code: None,
                duration: Duration::from_millis(110),
                token_fetch: false,
            }],
            result: Ok(PolledData {
                aggregate: aggregate(org, now, &windows),
                org_name: Some(org.name.clone()),
                deprecated: true,
                sunset: Timestamp::from_second(1_814_400_000).ok(),
                other_notices: Vec::new(),
            }),
            facts: Vec::new(),
            lifecycle: None,
        });
    }
    store
}

/// After a poll: one organisation's series into per-family fragments.
#[divan::bench]
fn render_org(bencher: Bencher) {
    let windows = windows();
    let world = generated_world(1, None);
    let org = &world.orgs[0];
    let data = aggregate(org, Timestamp::now(), &windows);
    let mut requests = BTreeMap::new();
    requests.insert(("list_org_invites", "200".to_owned()), 42);
    let errors = BTreeMap::new();
    bencher.bench(|| {
        exposition::render_org(black_box(&OrgView {
            org_id: &org.id,
            org_name: &org.name,
            poll_success: true,
            last_success: Some(1_800_000_000.0),
            poll_duration: Some(Duration::from_millis(120)),
            data: Some(&data),
            expiry_windows: &windows,
            requests: &requests,
            errors: &errors,
            source: ("invites", "2023-01-01"),
            facts: &[],
            org_user_limit: 500,
            lifecycle: &LifecycleTotals::default(),
        }))
    });
}

/// After a batch of polls: every organisation's fragments stitched into one body, deflated once.
#[divan::bench(args = ORGS)]
fn publish(bencher: Bencher, orgs: u32) {
    let store = polled_store(orgs);
    let bytes = store.publish().body.len();
    bencher
        .counter(BytesCount::new(bytes))
        .bench(|| store.publish());
}

/// Scrape-time work that cannot be published in advance: the time-to-expiry family.
#[divan::bench(args = ORGS)]
fn time_to_expiry(bencher: Bencher, orgs: u32) {
    let snapshot = polled_store(orgs).publish();
    let now = Timestamp::now();
    bencher.bench(|| {
        let mut out = Vec::new();
        snapshot.render_scrape_time(&mut out, black_box(now));
        out
    });
}

/// One scrape in a second of its own (nothing shared with an earlier scrape): the published part and
/// the tail with the time-to-expiry family and the exporter's own metrics, as sent. Each iteration
/// uses a fresh second.
mod scrape_first_in_its_second {
    use super::*;

    fn bench(bencher: Bencher, orgs: u32, gzip: bool) {
        let snapshot: Arc<Snapshot> = polled_store(orgs).publish();
        let self_metrics = SelfMetrics::new(&atlas_invites_exporter::poll::endpoint_labels());
        let mut now = Timestamp::now();
        let (published, tail) = snapshot.scrape_parts(now, gzip, |out| self_metrics.render(out));
        bencher
            .counter(BytesCount::new(published.len() + tail.len()))
            .bench_local(|| {
                now += SignedDuration::from_secs(1);
                snapshot.scrape_parts(now, gzip, |out| self_metrics.render(out))
            });
    }

    #[divan::bench(args = ORGS)]
    fn plain(bencher: Bencher, orgs: u32) {
        bench(bencher, orgs, false);
    }

    #[divan::bench(args = ORGS)]
    fn gzip(bencher: Bencher, orgs: u32) {
        bench(bencher, orgs, true);
    }
}

/// Scrapes that share their second with an earlier one (Prometheus HA pairs, wrk): reference counts.
#[divan::bench(args = ORGS)]
fn scrape_same_second(bencher: Bencher, orgs: u32) {
    let snapshot = polled_store(orgs).publish();
    let self_metrics = SelfMetrics::new(&atlas_invites_exporter::poll::endpoint_labels());
    let now = Timestamp::now();
    bencher.bench(|| snapshot.scrape_parts(black_box(now), true, |out| self_metrics.render(out)));
}
