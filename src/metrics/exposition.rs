//! The text exposition of one organisation's series (the families are `catalog.rs`'s).
//!
//! Each organisation is rendered on its own, after its poll, into one fragment per metric family.
//! [`crate::metrics::store`] stitches the fragments of all organisations family by family under the shared
//! `# HELP`/`# TYPE` headers, so a poll costs work proportional to one organisation, not to all of them.
//! Encoding (escaping of label values included) is the `prometheus` crate's `TextEncoder`.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use prometheus::proto::{
    Bucket, Counter, Gauge, Histogram, LabelPair, Metric, MetricFamily, MetricType,
};
use prometheus::{Encoder, TextEncoder};

use crate::config::ExpiryWindow;
use crate::metrics::aggregate::OrgAggregate;
pub use crate::metrics::catalog::{CATALOG, Family, FamilySpec, TIME_TO_EXPIRY};
use crate::metrics::facts::{FactContext, FactFamily, OrgFact};
use crate::metrics::policy::{DomainClass, RiskReason};
use crate::types::{CredentialSecret, LifecycleObserved, REMOVAL_AGE_BUCKETS, Tier};

/// The Content-Type of the Prometheus text format we serve.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Everything needed to render one organisation, borrowed from its state.
pub struct OrgView<'a> {
    pub org_id: &'a str,
    pub org_name: &'a str,
    pub poll_success: bool,
    /// Seconds since the epoch; `None` before the first success.
    pub last_success: Option<f64>,
    pub poll_duration: Option<Duration>,
    /// The invitation numbers of the last successful poll, unless too old to keep (`keep_stale_for`).
    pub data: Option<&'a OrgAggregate>,
    pub expiry_windows: &'a [ExpiryWindow],
    /// `(endpoint, code)` → calls; code is "" when no response arrived.
    pub requests: &'a BTreeMap<(&'static str, String), u64>,
    /// `(endpoint, error_code)` → failed calls; codes already bounded.
    pub errors: &'a BTreeMap<(&'static str, String), u64>,
    /// The API in use: `(source, api_version)`.
    pub source: (&'a str, &'a str),
    /// Its facts beside the invitations, each as last read.
    pub facts: &'a [Arc<dyn OrgFact>],
    /// `metrics.org_user_limit`.
    pub org_user_limit: u64,
    /// Its lifecycle events and removal ages since the process started.
    pub lifecycle: &'a LifecycleTotals,
}

/// An organisation's lifecycle counters: events by kind (created, removed, expired) and the
/// histogram of removal ages (cumulative per bucket of [`REMOVAL_AGE_BUCKETS`]).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LifecycleTotals {
    pub events: [u64; 3],
    pub buckets: [u64; 8],
    pub count: u64,
    pub sum: f64,
}

impl LifecycleTotals {
    /// Adds one poll's observations.
    pub fn add(&mut self, observed: &LifecycleObserved) {
        self.events[0] += observed.created;
        self.events[1] += observed.removed;
        self.events[2] += observed.expired;
        for age in &observed.removal_ages {
            let age = *age as f64;
            for (bucket, bound) in self.buckets.iter_mut().zip(REMOVAL_AGE_BUCKETS) {
                if age <= bound {
                    *bucket += 1;
                }
            }
            self.count += 1;
            self.sum += age;
        }
    }
}

/// The `event` label values, in [`LifecycleTotals::events`] order.
const EVENTS: [&str; 3] = ["created", "removed", "expired"];

/// The series that belong to no organisation.
pub struct GlobalView<'a> {
    /// Calls made for no particular organisation (discovery), exported with `org_id=""`.
    pub requests: &'a BTreeMap<(&'static str, String), u64>,
    pub errors: &'a BTreeMap<(&'static str, String), u64>,
    /// endpoint → (deprecated, sunset in seconds since the epoch), as Atlas last said.
    pub endpoints: &'a BTreeMap<&'static str, (bool, Option<i64>)>,
    /// Service account client id → its secret in use.
    pub credentials: &'a BTreeMap<String, CredentialSecret>,
    /// `policy.internal_domains` configured.
    pub internal_domains: usize,
    /// `(index, total)`.
    pub shard: (u32, u32),
}

/// One organisation's series: sample lines per family (index as in [`CATALOG`]), and the inputs of the
/// scrape-time time-to-expiry gauges.
#[derive(Clone, Debug, Default)]
pub struct OrgFragment {
    pub families: Vec<Vec<u8>>,
    /// `atlas_invites_role_time_to_expiry_seconds{...} ` (with the trailing space) and the expiry it counts to.
    pub expiry_lines: Vec<(Vec<u8>, i64)>,
    /// The sample lines of the organisation's facts ([`crate::metrics::facts`]), by family.
    pub facts: Vec<(&'static FactFamily, Vec<u8>)>,
}

/// The `# HELP` and `# TYPE` lines of a family, as the encoder writes them.
pub fn header(spec: &FamilySpec) -> Vec<u8> {
    let (header, _) = encode(spec, vec![gauge_metric(&[], 0.0)]);
    header
}

/// The `# HELP` and `# TYPE` lines of the time-to-expiry family, encoded once: scrapes need them.
pub fn time_to_expiry_header() -> &'static [u8] {
    static HEADER: OnceLock<Vec<u8>> = OnceLock::new();
    HEADER.get_or_init(|| header(&TIME_TO_EXPIRY))
}

pub fn render_org(view: &OrgView<'_>) -> OrgFragment {
    let org = ("org_id", view.org_id);
    let mut families: Vec<Vec<Metric>> = vec![Vec::new(); CATALOG.len()];
    let mut push = |family: Family, metric: Metric| families[family as usize].push(metric);

    push(
        Family::OrgInfo,
        gauge_metric(&[org, ("org_name", view.org_name)], 1.0),
    );
    push(
        Family::SourceInfo,
        gauge_metric(
            &[
                org,
                ("source", view.source.0),
                ("api_version", view.source.1),
            ],
            1.0,
        ),
    );
    push(
        Family::PollSuccess,
        gauge_metric(&[org], if view.poll_success { 1.0 } else { 0.0 }),
    );
    push(
        Family::LastSuccess,
        gauge_metric(&[org], view.last_success.unwrap_or(0.0)),
    );
    push(
        Family::OrgUserLimit,
        gauge_metric(&[org], view.org_user_limit as f64),
    );
    for (event, count) in EVENTS.iter().zip(view.lifecycle.events) {
        push(
            Family::EventsTotal,
            counter_metric(&[org, ("event", event)], count),
        );
    }
    // Like a histogram child created on its first observation: an organisation whose invitations
    // were never removed has nothing to say about their age, and 11 series of zeros per organisation
    // are a tenth of the exposition at 1,000 organisations.
    if view.lifecycle.count > 0 {
        push(Family::RemovalAge, histogram_metric(&[org], view.lifecycle));
    }
    for ((endpoint, code), count) in view.requests {
        push(
            Family::ApiRequests,
            counter_metric(&[org, ("endpoint", endpoint), ("code", code)], *count),
        );
    }
    for ((endpoint, code), count) in view.errors {
        push(
            Family::ApiErrors,
            counter_metric(&[org, ("endpoint", endpoint), ("error_code", code)], *count),
        );
    }

    let mut next_expiries = Vec::new();
    if let Some(data) = view.data {
        if let Some(duration) = view.poll_duration {
            push(
                Family::PollDuration,
                gauge_metric(&[org], duration.as_secs_f64()),
            );
        }
        push(Family::Pending, gauge_metric(&[org], data.pending as f64));
        push(Family::Expired, gauge_metric(&[org], data.expired as f64));
        push(Family::Stale, gauge_metric(&[org], data.stale as f64));
        for (role, stats) in &data.roles {
            let role_labels = [org, ("role", role.as_str())];
            push(
                Family::RolePending,
                gauge_metric(&role_labels, stats.pending as f64),
            );
            for (window, count) in view.expiry_windows.iter().zip(&stats.expiring) {
                push(
                    Family::RoleExpiring,
                    gauge_metric(
                        &[
                            org,
                            ("role", role.as_str()),
                            ("within", window.label.as_str()),
                        ],
                        *count as f64,
                    ),
                );
            }
            if let Some(next) = stats.next_expiry {
                push(
                    Family::RoleNextExpiry,
                    gauge_metric(&role_labels, next as f64),
                );
                next_expiries.push((gauge_metric(&role_labels, 0.0), next));
            }
            if let Some(oldest) = stats.oldest_created {
                push(
                    Family::RoleOldestCreated,
                    gauge_metric(&role_labels, oldest as f64),
                );
            }
        }
        for (project, count) in &data.projects {
            push(
                Family::ProjectPending,
                gauge_metric(&[org, ("project_id", project.as_str())], *count as f64),
            );
        }
        for (team, count) in &data.teams {
            push(
                Family::TeamPending,
                gauge_metric(&[org, ("team_id", team.as_str())], *count as f64),
            );
        }
        for (class, count) in DomainClass::ALL.iter().zip(data.domains) {
            push(
                Family::DomainPending,
                gauge_metric(&[org, ("domain_class", class.label())], count as f64),
            );
        }
        for (tier, count) in Tier::ALL.iter().zip(data.tiers) {
            push(
                Family::TierPending,
                gauge_metric(&[org, ("tier", tier.label())], count as f64),
            );
        }
        if let Some(unexpected) = data.unexpected_inviter {
            push(
                Family::UnexpectedInviterPending,
                gauge_metric(&[org], unexpected as f64),
            );
        }
        for (reason, count) in RiskReason::ALL.iter().zip(data.risky) {
            push(
                Family::RiskyPending,
                gauge_metric(&[org, ("reason", reason.label())], count as f64),
            );
        }
    }
    let context = FactContext {
        org_id: view.org_id,
        data: view.data,
    };
    let facts = view
        .facts
        .iter()
        .flat_map(|fact| {
            fact.families()
                .iter()
                .zip(fact.samples(&context))
                .map(|(family, metrics)| (family, fact_samples(family, metrics)))
        })
        .filter(|(_, lines)| !lines.is_empty())
        .collect();

    let families = CATALOG
        .iter()
        .zip(families)
        .map(|(spec, metrics)| {
            if metrics.is_empty() {
                Vec::new()
            } else {
                encode(spec, metrics).1
            }
        })
        .collect();
    let expiry_lines = next_expiries
        .into_iter()
        .map(|(metric, next)| {
            let (_, line) = encode(&TIME_TO_EXPIRY, vec![metric]);
            (sample_prefix(line), next)
        })
        .collect();
    OrgFragment {
        families,
        expiry_lines,
        facts,
    }
}

pub fn render_global(view: &GlobalView<'_>) -> OrgFragment {
    let mut families: Vec<Vec<Metric>> = vec![Vec::new(); CATALOG.len()];
    let mut push = |family: Family, metric: Metric| families[family as usize].push(metric);
    let org = ("org_id", "");
    for ((endpoint, code), count) in view.requests {
        push(
            Family::ApiRequests,
            counter_metric(&[org, ("endpoint", endpoint), ("code", code)], *count),
        );
    }
    for ((endpoint, code), count) in view.errors {
        push(
            Family::ApiErrors,
            counter_metric(&[org, ("endpoint", endpoint), ("error_code", code)], *count),
        );
    }
    for (endpoint, (deprecated, sunset)) in view.endpoints {
        if *deprecated {
            push(
                Family::ApiDeprecated,
                gauge_metric(&[("endpoint", endpoint)], 1.0),
            );
        }
        if let Some(sunset) = sunset {
            push(
                Family::ApiSunset,
                gauge_metric(&[("endpoint", endpoint)], *sunset as f64),
            );
        }
    }
    for (client_id, secret) in view.credentials {
        let labels = [("credential", client_id.as_str())];
        push(
            Family::CredentialSecretExpiry,
            gauge_metric(&labels, secret.expires_at as f64),
        );
        if let Some(last_used) = secret.last_used_at {
            push(
                Family::CredentialSecretLastUsed,
                gauge_metric(&labels, last_used as f64),
            );
        }
    }
    push(
        Family::PolicyInternalDomains,
        gauge_metric(&[], view.internal_domains as f64),
    );
    let (index, total) = (view.shard.0.to_string(), view.shard.1.to_string());
    push(
        Family::ShardInfo,
        gauge_metric(&[("index", &index), ("total", &total)], 1.0),
    );
    OrgFragment {
        families: encode_families(families),
        expiry_lines: Vec::new(),
        facts: Vec::new(),
    }
}

fn encode_families(families: Vec<Vec<Metric>>) -> Vec<Vec<u8>> {
    CATALOG
        .iter()
        .zip(families)
        .map(|(spec, metrics)| {
            if metrics.is_empty() {
                Vec::new()
            } else {
                encode(spec, metrics).1
            }
        })
        .collect()
}

/// Appends the time-to-expiry family for `now` (seconds since the epoch) to `out`.
pub fn render_time_to_expiry<'a>(
    out: &mut Vec<u8>,
    header: &[u8],
    lines: impl Iterator<Item = &'a (Vec<u8>, i64)>,
    now: i64,
) {
    // Runs on scrapes, over every organisation: no allocation per line.
    let mut digits = itoa::Buffer::new();
    let mut wrote_header = false;
    for (prefix, next_expiry) in lines {
        if !wrote_header {
            out.extend_from_slice(header);
            wrote_header = true;
        }
        out.extend_from_slice(prefix);
        out.extend_from_slice(digits.format(next_expiry.saturating_sub(now)).as_bytes());
        out.push(b'\n');
    }
}

/// Cuts a single encoded sample line `name{labels} 0\n` back to `name{labels} `.
fn sample_prefix(mut line: Vec<u8>) -> Vec<u8> {
    // The value never contains a space, so the last space ends the labels (which may contain spaces).
    let cut = line
        .iter()
        .rposition(|&b| b == b' ')
        .map_or(line.len(), |i| i + 1);
    line.truncate(cut);
    line
}

/// Encodes one family and splits it into its two header lines and its sample lines.
fn encode(spec: &FamilySpec, metrics: Vec<Metric>) -> (Vec<u8>, Vec<u8>) {
    encode_named(spec.name, spec.kind, spec.help, metrics)
}

/// The `# HELP` and `# TYPE` lines of a fact's family.
pub(crate) fn fact_header(spec: &FactFamily) -> Vec<u8> {
    encode_named(
        spec.name,
        spec.kind,
        spec.help,
        vec![gauge_metric(&[], 0.0)],
    )
    .0
}

/// The sample lines of a fact's family.
pub(crate) fn fact_samples(spec: &FactFamily, metrics: Vec<Metric>) -> Vec<u8> {
    if metrics.is_empty() {
        return Vec::new();
    }
    encode_named(spec.name, spec.kind, spec.help, metrics).1
}

fn encode_named(
    name: &str,
    kind: MetricType,
    help: &str,
    metrics: Vec<Metric>,
) -> (Vec<u8>, Vec<u8>) {
    let mut family = MetricFamily::default();
    family.set_name(name.to_owned());
    family.set_help(help.to_owned());
    family.set_field_type(kind);
    family.set_metric(metrics);
    let mut text = Vec::new();
    if let Err(error) = TextEncoder::new().encode(&[family], &mut text) {
        // Only reachable through a programming error (an empty family or an invalid name).
        tracing::error!(%error, family = name, "cannot encode metric family");
        return (Vec::new(), Vec::new());
    }
    // HELP text is escaped by the encoder, so it holds no raw newline: the header is two lines.
    let header_end = text
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'\n')
        .nth(1)
        .map_or(text.len(), |(i, _)| i + 1);
    let samples = text.split_off(header_end);
    (text, samples)
}

fn labels(pairs: &[(&str, &str)]) -> Vec<LabelPair> {
    pairs
        .iter()
        .map(|(name, value)| {
            let mut pair = LabelPair::default();
            pair.set_name((*name).to_owned());
            pair.set_value((*value).to_owned());
            pair
        })
        .collect()
}

pub(crate) fn gauge_metric(pairs: &[(&str, &str)], value: f64) -> Metric {
    let mut gauge = Gauge::default();
    gauge.set_value(value);
    let mut metric = Metric::from_label(labels(pairs));
    metric.set_gauge(gauge);
    metric
}

fn histogram_metric(pairs: &[(&str, &str)], totals: &LifecycleTotals) -> Metric {
    let mut histogram = Histogram::default();
    histogram.set_sample_count(totals.count);
    histogram.set_sample_sum(totals.sum);
    let buckets = REMOVAL_AGE_BUCKETS
        .iter()
        .zip(totals.buckets)
        .map(|(bound, count)| {
            let mut bucket = Bucket::default();
            bucket.set_upper_bound(*bound);
            bucket.set_cumulative_count(count);
            bucket
        })
        .collect();
    histogram.set_bucket(buckets);
    let mut metric = Metric::from_label(labels(pairs));
    metric.set_histogram(histogram);
    metric
}

pub(crate) fn counter_metric(pairs: &[(&str, &str)], value: u64) -> Metric {
    let mut counter = Counter::default();
    counter.set_value(value as f64);
    let mut metric = Metric::from_label(labels(pairs));
    metric.set_counter(counter);
    metric
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view<'a>(
        data: Option<&'a OrgAggregate>,
        windows: &'a [ExpiryWindow],
        requests: &'a BTreeMap<(&'static str, String), u64>,
        errors: &'a BTreeMap<(&'static str, String), u64>,
    ) -> OrgView<'a> {
        OrgView {
            org_id: "0123456789abcdef01234567",
            org_name: "Zürich \"Ops\"\\\nteam",
            poll_success: true,
            last_success: Some(1_800_000_000.0),
            poll_duration: Some(Duration::from_millis(250)),
            data,
            expiry_windows: windows,
            requests,
            errors,
            source: ("invites", "2023-01-01"),
            facts: &[],
            org_user_limit: 500,
            lifecycle: &LIFECYCLE,
        }
    }

    static LIFECYCLE: LifecycleTotals = LifecycleTotals {
        events: [0; 3],
        buckets: [0; 8],
        count: 0,
        sum: 0.0,
    };

    fn text(fragment: &OrgFragment, family: Family) -> String {
        String::from_utf8(fragment.families[family as usize].clone()).unwrap()
    }

    #[test]
    fn catalog_order_matches_family_discriminants() {
        for (index, spec) in CATALOG.iter().enumerate() {
            assert_eq!(spec.family as usize, index, "{}", spec.name);
        }
    }

    #[test]
    fn label_values_are_escaped_by_the_encoder() {
        let (requests, errors) = (BTreeMap::new(), BTreeMap::new());
        let fragment = render_org(&view(None, &[], &requests, &errors));
        assert_eq!(
            text(&fragment, Family::OrgInfo),
            "atlas_invites_org_info{org_id=\"0123456789abcdef01234567\",org_name=\"Zürich \\\"Ops\\\"\\\\\\nteam\"} 1\n"
        );
    }

    #[test]
    fn without_data_only_info_success_last_success_and_api_counters_remain() {
        let mut requests = BTreeMap::new();
        requests.insert(("list_org_invites", "503".to_owned()), 2);
        let mut errors = BTreeMap::new();
        errors.insert(("list_org_invites", "SERVICE_UNAVAILABLE".to_owned()), 2);
        let fragment = render_org(&view(None, &[], &requests, &errors));
        let present: Vec<&str> = CATALOG
            .iter()
            .filter(|spec| !fragment.families[spec.family as usize].is_empty())
            .map(|spec| spec.name)
            .collect();
        assert_eq!(
            present,
            [
                "atlas_invites_org_info",
                "atlas_invites_events_total",
                "atlas_invites_org_user_limit",
                "atlas_invites_poll_success",
                "atlas_invites_last_success_timestamp_seconds",
                "atlas_invites_api_requests_total",
                "atlas_invites_api_errors_total",
                "atlas_invites_source_info"
            ]
        );
        assert!(fragment.expiry_lines.is_empty());
        assert_eq!(
            text(&fragment, Family::ApiErrors),
            "atlas_invites_api_errors_total{org_id=\"0123456789abcdef01234567\",endpoint=\"list_org_invites\",error_code=\"SERVICE_UNAVAILABLE\"} 2\n"
        );
    }

    #[test]
    fn time_to_expiry_prefix_keeps_spaces_inside_labels() {
        assert_eq!(
            sample_prefix(b"m{a=\"x y\"} 0\n".to_vec()),
            b"m{a=\"x y\"} ".to_vec()
        );
    }

    #[test]
    fn time_to_expiry_counts_down_from_now_under_one_header() {
        let lines = [
            (b"m{role=\"A\"} ".to_vec(), 1_000),
            (b"m{role=\"B\"} ".to_vec(), 400),
        ];
        let mut out = b"before\n".to_vec();
        render_time_to_expiry(&mut out, b"# header\n", lines.iter(), 500);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "before\n# header\nm{role=\"A\"} 500\nm{role=\"B\"} -100\n"
        );
        let mut empty = Vec::new();
        render_time_to_expiry(&mut empty, b"# header\n", [].iter(), 500);
        assert!(empty.is_empty(), "no header without samples");
        assert_eq!(time_to_expiry_header(), header(&TIME_TO_EXPIRY).as_slice());
    }

    #[test]
    fn header_is_help_and_type() {
        assert_eq!(
            String::from_utf8(header(&CATALOG[1])).unwrap(),
            format!(
                "# HELP atlas_invites_pending {}\n# TYPE atlas_invites_pending gauge\n",
                CATALOG[1].help
            )
        );
    }
}
