//! Per-organisation state (last good data, API counters, last error) and when it is published.
//!
//! Pollers hand each outcome to [`Store::record`], which re-renders that organisation's fragment only.
//! A publisher task ([`Store::run_publisher`]) has the fragments stitched into an immutable
//! [`Snapshot`] (see `snapshot.rs`) and publishes it; bursts of polls coalesce into one publication.
//! The HTTP side only ever reads the latest `Arc<Snapshot>`, through a `watch::Receiver`.

use std::collections::{BTreeMap, HashSet};
use std::iter::once;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use jiff::Timestamp;
use tokio::sync::{Notify, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::config::{ExpiryWindow, OrgConfig, Source};
use crate::metrics::aggregate::OrgAggregate;
use crate::metrics::exposition::{self, GlobalView, LifecycleTotals, OrgFragment, OrgView};
use crate::metrics::facts::OrgFact;
use crate::metrics::label;
use crate::metrics::snapshot::{self, Snapshot};
use crate::metrics::status::{self, OrgStatus};
use crate::types::{ActiveSource, Call, CredentialSecret, LifecycleObserved, OrgId, PollFailure};

/// Distinct error codes kept per endpoint before new ones become `OTHER`.
pub const MAX_ERROR_CODES_PER_ENDPOINT: usize = 50;

/// What one poll of one organisation produced.
#[derive(Debug)]
pub struct PollOutcome {
    pub org: OrgId,
    /// The API the poll read from (the last one asked).
    pub source: ActiveSource,
    /// When the poll started: the status page's last attempt.
    pub started_at: Timestamp,
    pub finished_at: Timestamp,
    pub duration: Duration,
    pub calls: Vec<Call>,
    pub result: Result<PolledData, PollFailure>,
    /// Facts read by this poll beside the invitations; a fact not mentioned keeps its last value.
    pub facts: Vec<FactUpdate>,
    /// What changed since the previous successful poll; `None` for a failed poll or a baseline.
    pub lifecycle: Option<LifecycleObserved>,
}

/// A fact read by a poll.
#[derive(Debug)]
pub enum FactUpdate {
    /// Its new value, replacing the one with the same key.
    Read(Arc<dyn OrgFact>),
    /// Atlas will not tell it (a refusal): its series go.
    Forget(&'static str),
}

/// The data of a successful poll.
#[derive(Debug)]
pub struct PolledData {
    pub aggregate: OrgAggregate,
    /// The organisation's name as Atlas reported it, if the response carried one.
    pub org_name: Option<String>,
    /// The response carried a `Deprecation` header.
    pub deprecated: bool,
    /// The response's `Sunset` header.
    pub sunset: Option<Timestamp>,
    /// `Deprecation` and `Sunset` of the other endpoints the poll read, by `endpoint` label: the
    /// legacy project invitations'.
    pub other_notices: Vec<(&'static str, bool, Option<Timestamp>)>,
}

/// Settings the store renders with.
#[derive(Clone, Debug)]
pub struct StoreSettings {
    pub expiry_windows: Vec<ExpiryWindow>,
    pub keep_stale_for: Duration,
    /// `atlas.source`, for organisations without their own.
    pub default_source: Source,
    /// `(index, total)` of this replica; `(0, 1)` when not sharded.
    pub shard: (u32, u32),
    /// Readiness then also waits for the first discovery attempt.
    pub discovery_enabled: bool,
    /// `metrics.org_user_limit`.
    pub org_user_limit: u64,
    /// `policy.internal_domains` configured.
    pub internal_domains: usize,
}

impl StoreSettings {
    /// Settings without sources, sharding or discovery (tests, simple embeddings).
    pub fn new(expiry_windows: Vec<ExpiryWindow>, keep_stale_for: Duration) -> StoreSettings {
        StoreSettings {
            expiry_windows,
            keep_stale_for,
            default_source: Source::Auto,
            shard: (0, 1),
            discovery_enabled: false,
            org_user_limit: 500,
            internal_domains: 0,
        }
    }

    fn initial_source(&self, org: &OrgConfig) -> ActiveSource {
        org.source.unwrap_or(self.default_source).starts_on()
    }
}

struct OrgState {
    id: OrgId,
    source: ActiveSource,
    configured_name: Option<String>,
    api_name: Option<String>,
    attempted: bool,
    poll_success: bool,
    last_attempt: Option<Timestamp>,
    last_success: Option<Timestamp>,
    /// The last poll's failure, its code bounded as the label is; `None` after a success.
    failure: Option<PollFailure>,
    poll_duration: Option<Duration>,
    data: Option<Arc<OrgAggregate>>,
    requests: BTreeMap<(&'static str, String), u64>,
    errors: BTreeMap<(&'static str, String), u64>,
    /// Its facts beside the invitations, each as last read, in key order.
    facts: Vec<Arc<dyn OrgFact>>,
    lifecycle: LifecycleTotals,
    fragment: Arc<OrgFragment>,
}

impl OrgState {
    fn new(org: &OrgConfig, settings: &StoreSettings) -> OrgState {
        let mut state = OrgState {
            id: org.id.clone(),
            source: settings.initial_source(org),
            configured_name: org
                .name
                .clone()
                .map(|name| label::bounded_owned("org_name", name)),
            api_name: None,
            attempted: false,
            poll_success: false,
            last_attempt: None,
            last_success: None,
            failure: None,
            poll_duration: None,
            data: None,
            requests: BTreeMap::new(),
            errors: BTreeMap::new(),
            facts: Vec::new(),
            lifecycle: LifecycleTotals::default(),
            fragment: Arc::default(),
        };
        state.render(settings, Timestamp::now());
        state
    }

    fn name(&self) -> &str {
        self.configured_name
            .as_deref()
            .or(self.api_name.as_deref())
            .unwrap_or(self.id.as_str())
    }

    /// The last good data, unless it is older than `keep_stale_for`.
    fn live_data(&self, now: Timestamp, keep_stale_for: Duration) -> Option<&Arc<OrgAggregate>> {
        let last_success = self.last_success?;
        let age = now.duration_since(last_success).unsigned_abs();
        (age <= keep_stale_for)
            .then_some(self.data.as_ref())
            .flatten()
    }

    fn render(&mut self, settings: &StoreSettings, now: Timestamp) {
        let data = self.live_data(now, settings.keep_stale_for).cloned();
        let view = OrgView {
            org_id: self.id.as_str(),
            org_name: self.name(),
            poll_success: self.poll_success,
            last_success: self
                .last_success
                .map(|t| t.as_millisecond() as f64 / 1000.0),
            poll_duration: self.poll_duration,
            data: data.as_deref(),
            expiry_windows: &settings.expiry_windows,
            requests: &self.requests,
            errors: &self.errors,
            source: (self.source.label(), self.source.api_version()),
            facts: &self.facts,
            org_user_limit: settings.org_user_limit,
            lifecycle: &self.lifecycle,
        };
        self.fragment = Arc::new(exposition::render_org(&view));
    }

    fn apply(&mut self, update: FactUpdate) {
        let key = match &update {
            FactUpdate::Read(fact) => fact.key(),
            FactUpdate::Forget(key) => key,
        };
        self.facts.retain(|fact| fact.key() != key);
        if let FactUpdate::Read(fact) = update {
            self.facts.push(fact);
            self.facts.sort_by_key(|fact| fact.key());
        }
    }

    fn status(&self, now: Timestamp, settings: &StoreSettings) -> OrgStatus {
        OrgStatus {
            id: self.id.to_string(),
            name: self.name().to_owned(),
            source: self.source.label(),
            api_version: self.source.api_version(),
            attempted: self.attempted,
            poll_success: self.poll_success,
            last_attempt: self.last_attempt,
            last_duration: self.poll_duration,
            last_success: self.last_success,
            failure: self.failure.clone(),
            figures: self
                .live_data(now, settings.keep_stale_for)
                .map(|data| status::figures(data, &self.facts, &settings.expiry_windows)),
        }
    }
}

/// What belongs to no organisation: discovery's calls, what Atlas says about endpoints, the shard.
#[derive(Default)]
struct GlobalState {
    requests: BTreeMap<(&'static str, String), u64>,
    errors: BTreeMap<(&'static str, String), u64>,
    /// endpoint → (deprecated, sunset seconds), as Atlas last said.
    endpoints: BTreeMap<&'static str, (bool, Option<i64>)>,
    discovery_attempted: bool,
    /// Service account client id → its secret in use, as Atlas last said.
    credentials: BTreeMap<String, CredentialSecret>,
    fragment: Arc<OrgFragment>,
}

impl GlobalState {
    fn render(&mut self, shard: (u32, u32), internal_domains: usize) {
        let view = GlobalView {
            requests: &self.requests,
            errors: &self.errors,
            endpoints: &self.endpoints,
            credentials: &self.credentials,
            internal_domains,
            shard,
        };
        self.fragment = Arc::new(exposition::render_global(&view));
    }
}

/// Keeps the `error_code` label bounded: a sane pattern, and at most
/// [`MAX_ERROR_CODES_PER_ENDPOINT`] distinct codes per endpoint over the process's life.
#[derive(Default)]
struct ErrorCodes {
    seen: BTreeMap<&'static str, HashSet<String>>,
}

impl ErrorCodes {
    fn bound(&mut self, endpoint: &'static str, code: &str) -> String {
        if !is_valid_error_code(code) {
            return "OTHER".to_owned();
        }
        let seen = self.seen.entry(endpoint).or_default();
        if seen.contains(code) {
            return code.to_owned();
        }
        if seen.len() >= MAX_ERROR_CODES_PER_ENDPOINT {
            return "OTHER".to_owned();
        }
        seen.insert(code.to_owned());
        code.to_owned()
    }
}

/// `^[A-Z][A-Z0-9_]{0,63}$`
fn is_valid_error_code(code: &str) -> bool {
    let bytes = code.as_bytes();
    matches!(bytes.first(), Some(b'A'..=b'Z'))
        && bytes.len() <= 64
        && bytes
            .iter()
            .all(|b| matches!(b, b'A'..=b'Z' | b'0'..=b'9' | b'_'))
}

/// Adds the calls' statuses and bounded error codes to the counters.
fn count_calls(
    calls: &[Call],
    requests: &mut BTreeMap<(&'static str, String), u64>,
    errors: &mut BTreeMap<(&'static str, String), u64>,
    error_codes: &mut ErrorCodes,
) {
    for call in calls {
        let endpoint = call.endpoint;
        let code = call.status.map(|s| s.to_string()).unwrap_or_default();
        *requests.entry((endpoint, code)).or_default() += 1;
        if let Some(error_code) = &call.error_code {
            let bounded = error_codes.bound(endpoint, error_code);
            *errors.entry((endpoint, bounded)).or_default() += 1;
        }
    }
}

struct Inner {
    settings: StoreSettings,
    orgs: BTreeMap<OrgId, OrgState>,
    global: GlobalState,
    error_codes: ErrorCodes,
    generation: u64,
}

/// The shared state between the pollers and the HTTP server.
pub struct Store {
    inner: Mutex<Inner>,
    dirty: Notify,
    published: watch::Sender<Arc<Snapshot>>,
}

impl Store {
    pub fn new(orgs: &[OrgConfig], settings: StoreSettings) -> Store {
        let states = orgs
            .iter()
            .map(|org| (org.id.clone(), OrgState::new(org, &settings)))
            .collect();
        let mut global = GlobalState {
            discovery_attempted: !settings.discovery_enabled,
            ..GlobalState::default()
        };
        global.render(settings.shard, settings.internal_domains);
        let (published, _) = watch::channel(Arc::new(Snapshot::default()));
        Store {
            inner: Mutex::new(Inner {
                settings,
                orgs: states,
                global,
                error_codes: ErrorCodes::default(),
                generation: 0,
            }),
            dirty: Notify::new(),
            published,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic elsewhere while holding the lock must not take the exporter down with it.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Starts tracking an organisation (discovery found it). Does nothing if it is known already.
    pub fn add_org(&self, org: &OrgConfig) {
        let mut inner = self.lock();
        let Inner { orgs, settings, .. } = &mut *inner;
        if let Some(state) = orgs.get_mut(&org.id) {
            // Kept with its data and counters; only a new configured name (a reload) shows.
            let name = org
                .name
                .clone()
                .map(|name| label::bounded_owned("org_name", name));
            if state.configured_name == name {
                return;
            }
            state.configured_name = name;
            state.render(settings, Timestamp::now());
            drop(inner);
            self.dirty.notify_one();
            return;
        }
        let state = OrgState::new(org, &inner.settings);
        inner.orgs.insert(org.id.clone(), state);
        drop(inner);
        self.dirty.notify_one();
    }

    /// Forgets an organisation and all its series (it vanished from discovery).
    pub fn remove_org(&self, id: &OrgId) {
        if self.lock().orgs.remove(id).is_some() {
            self.dirty.notify_one();
        }
    }

    /// Keeps only these organisations (a reload removed the others).
    pub fn retain_orgs(&self, keep: &HashSet<OrgId>) {
        let mut inner = self.lock();
        let before = inner.orgs.len();
        inner.orgs.retain(|id, _| keep.contains(id));
        let changed = inner.orgs.len() != before;
        drop(inner);
        if changed {
            self.dirty.notify_one();
        }
    }

    /// Applies new settings (a reload) and re-renders everything with them.
    pub fn reconfigure(&self, settings: StoreSettings) {
        let mut inner = self.lock();
        let now = Timestamp::now();
        let Inner {
            settings: current,
            orgs,
            global,
            ..
        } = &mut *inner;
        if settings.discovery_enabled && !current.discovery_enabled {
            global.discovery_attempted = false;
        }
        if !settings.discovery_enabled {
            global.discovery_attempted = true;
        }
        *current = settings;
        for state in orgs.values_mut() {
            state.render(current, now);
        }
        global.render(current.shard, current.internal_domains);
        drop(inner);
        self.dirty.notify_one();
    }

    /// Counts calls made for no particular organisation (discovery).
    pub fn record_global_calls(&self, calls: &[Call]) {
        let mut inner = self.lock();
        let Inner {
            error_codes,
            global,
            settings,
            ..
        } = &mut *inner;
        count_calls(calls, &mut global.requests, &mut global.errors, error_codes);
        global.render(settings.shard, settings.internal_domains);
        drop(inner);
        self.dirty.notify_one();
    }

    /// What Atlas says of a service account's secret in use; `None` forgets it (Atlas would not say).
    pub fn record_credential(&self, client_id: &str, secret: Option<CredentialSecret>) {
        let mut inner = self.lock();
        let Inner {
            global, settings, ..
        } = &mut *inner;
        let changed = match secret {
            Some(secret) => global.credentials.insert(client_id.to_owned(), secret) != Some(secret),
            None => global.credentials.remove(client_id).is_some(),
        };
        if changed {
            global.render(settings.shard, settings.internal_domains);
            drop(inner);
            self.dirty.notify_one();
        }
    }

    /// Discovery has run once, successfully or not: readiness no longer waits for it.
    pub fn mark_discovery_attempted(&self) {
        let mut inner = self.lock();
        if inner.global.discovery_attempted {
            return;
        }
        inner.global.discovery_attempted = true;
        drop(inner);
        self.dirty.notify_one();
    }

    /// Applies one poll's outcome to its organisation and schedules a publication.
    pub fn record(&self, outcome: PollOutcome) {
        let mut inner = self.lock();
        let Inner {
            orgs,
            error_codes,
            global,
            settings,
            ..
        } = &mut *inner;
        let Some(state) = orgs.get_mut(&outcome.org) else {
            // The org was removed while its poll was in flight.
            return;
        };
        count_calls(
            &outcome.calls,
            &mut state.requests,
            &mut state.errors,
            error_codes,
        );
        state.attempted = true;
        state.last_attempt = Some(outcome.started_at);
        state.source = outcome.source;
        state.poll_duration = Some(outcome.duration);
        match outcome.result {
            Ok(polled) => {
                state.poll_success = true;
                state.last_success = Some(outcome.finished_at);
                state.failure = None;
                if polled.org_name.is_some() {
                    state.api_name = polled
                        .org_name
                        .map(|name| label::bounded_owned("org_name", name));
                }
                state.data = Some(Arc::new(polled.aggregate));
                let (endpoint, deprecated) = (outcome.source.endpoint_label(), polled.deprecated);
                let listing = (endpoint, deprecated, polled.sunset);
                let mut changed = false;
                for (endpoint, deprecated, sunset) in once(listing).chain(polled.other_notices) {
                    let notice = (deprecated, sunset.map(|t| t.as_second()));
                    changed |= global.endpoints.insert(endpoint, notice) != Some(notice);
                }
                if changed {
                    global.render(settings.shard, settings.internal_domains);
                }
            }
            Err(mut error) => {
                state.poll_success = false;
                error.error_code = error_codes.bound("poll", &error.error_code);
                state.failure = Some(error);
            }
        }
        for update in outcome.facts {
            state.apply(update);
        }
        if let Some(observed) = &outcome.lifecycle {
            state.lifecycle.add(observed);
        }
        state.render(settings, outcome.finished_at);
        drop(inner);
        self.dirty.notify_one();
    }

    pub fn subscribe(&self) -> watch::Receiver<Arc<Snapshot>> {
        self.published.subscribe()
    }

    /// Stitches and publishes now; returns the new snapshot.
    pub fn publish(&self) -> Arc<Snapshot> {
        let now = Timestamp::now();
        let (generation, fragments, orgs, discovery_attempted) = {
            let mut inner = self.lock();
            inner.generation += 1;
            let fragments: Vec<Arc<OrgFragment>> = std::iter::once(inner.global.fragment.clone())
                .chain(inner.orgs.values().map(|o| o.fragment.clone()))
                .collect();
            let orgs = inner
                .orgs
                .values()
                .map(|o| o.status(now, &inner.settings))
                .collect();
            (
                inner.generation,
                fragments,
                orgs,
                inner.global.discovery_attempted,
            )
        };
        let snapshot = Arc::new(snapshot::stitch(
            generation,
            &fragments,
            orgs,
            discovery_attempted,
        ));
        self.published.send_replace(snapshot.clone());
        snapshot
    }

    /// Publishes once at start, then after every batch of recorded outcomes, until cancelled.
    pub async fn run_publisher(self: Arc<Self>, cancel: CancellationToken) {
        self.publish();
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = self.dirty.notified() => {}
            }
            // Stitching and deflating are CPU work proportional to the whole exposition: off the async threads.
            let store = self.clone();
            let started = Instant::now();
            if tokio::task::spawn_blocking(move || store.publish())
                .await
                .is_err()
            {
                tracing::error!("publishing the metrics snapshot failed");
            }
            // With many organisations, polls finish many times a second and each would start a
            // publication of the whole exposition (10 ms at 1,000 organisations): back to back, that
            // is a core taken from the scrapes. Outcomes recorded meanwhile wait for the next one.
            let rest = publication_rest(started.elapsed());
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tokio::time::sleep(rest) => {}
            }
        }
    }
}

/// Publication may take at most a tenth of one core: after a publication that took `took`, the next
/// waits nine times as long, never more than [`MAX_PUBLICATION_REST`].
fn publication_rest(took: Duration) -> Duration {
    took.saturating_mul(9).min(MAX_PUBLICATION_REST)
}

/// How stale a recorded poll may be before it is published, at most.
const MAX_PUBLICATION_REST: Duration = Duration::from_secs(1);

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    use crate::metrics::facts::teams::TeamNames;

    const ORG_A: &str = "aaaaaaaaaaaaaaaaaaaaaaaa";
    const ORG_B: &str = "bbbbbbbbbbbbbbbbbbbbbbbb";

    #[test]
    fn publication_takes_at_most_a_tenth_of_a_core_and_waits_at_most_a_second() {
        let took = Duration::from_millis(10);
        let rest = publication_rest(took);
        assert_eq!(took + rest, took * 10);
        assert_eq!(
            publication_rest(Duration::from_micros(50)),
            Duration::from_micros(450)
        );
        assert_eq!(
            publication_rest(Duration::from_millis(500)),
            MAX_PUBLICATION_REST
        );
    }

    fn store(keep_stale_for: Duration) -> Store {
        let orgs = [ORG_A, ORG_B]
            .iter()
            .map(|id| OrgConfig::new(OrgId::parse(id).unwrap()))
            .collect::<Vec<_>>();
        Store::new(&orgs, StoreSettings::new(vec![], keep_stale_for))
    }

    fn success(org: &str, pending: u64, at: Timestamp) -> PollOutcome {
        PollOutcome {
            org: OrgId::parse(org).unwrap(),
            source: ActiveSource::Invites,
            started_at: at,
            finished_at: at,
            duration: Duration::from_millis(10),
            calls: vec![Call {
                endpoint: "list_org_invites",
                status: Some(200),
                error_code: None,
                duration: Duration::from_millis(9),
                token_fetch: false,
            }],
            result: Ok(PolledData {
                aggregate: OrgAggregate {
                    pending,
                    ..OrgAggregate::default()
                },
                org_name: Some("Name".into()),
                deprecated: true,
                sunset: Timestamp::from_second(1_814_400_000).ok(),
                other_notices: Vec::new(),
            }),
            facts: Vec::new(),
            lifecycle: None,
        }
    }

    fn failure(org: &str, code: &str, at: Timestamp) -> PollOutcome {
        PollOutcome {
            org: OrgId::parse(org).unwrap(),
            source: ActiveSource::Invites,
            started_at: at,
            finished_at: at,
            duration: Duration::from_millis(10),
            calls: vec![Call {
                endpoint: "list_org_invites",
                status: Some(503),
                error_code: Some(code.into()),
                duration: Duration::from_millis(9),
                token_fetch: false,
            }],
            result: Err(PollFailure {
                error_code: code.into(),
                endpoint: "list_org_invites",
                status: Some(503),
                detail: Some("Atlas is down.".into()),
            }),
            facts: Vec::new(),
            lifecycle: None,
        }
    }

    fn teams(names: &[(&str, &str)]) -> FactUpdate {
        let names = names
            .iter()
            .map(|(id, name)| ((*id).to_owned(), (*name).to_owned()));
        FactUpdate::Read(Arc::new(TeamNames::new(names)))
    }

    #[test]
    fn facts_are_grouped_under_one_header_kept_through_polls_and_forgotten_on_refusal() {
        let store = store(Duration::from_secs(900));
        let now = Timestamp::now();
        let mut with_teams = success(ORG_A, 1, now);
        with_teams.facts.push(teams(&[("t1", "Platform")]));
        store.record(with_teams);
        let mut with_teams = success(ORG_B, 1, now);
        with_teams.facts.push(teams(&[("t2", "Data")]));
        store.record(with_teams);
        let text = body(&store.publish());
        assert_eq!(
            text.matches("# TYPE atlas_invites_team_info gauge").count(),
            1
        );
        let header = text.find("# HELP atlas_invites_team_info").unwrap();
        assert!(
            text.find("# HELP atlas_invites_shard_info").unwrap() < header,
            "after the catalogue's families"
        );
        assert!(text[header..].contains(&format!(
            "org_id=\"{ORG_A}\",team_id=\"t1\",team_name=\"Platform\""
        )));
        assert!(text[header..].contains(&format!(
            "org_id=\"{ORG_B}\",team_id=\"t2\",team_name=\"Data\""
        )));

        // A poll that read no fact keeps the last reading; a failed one too.
        store.record(success(ORG_A, 2, now));
        store.record(failure(ORG_B, "SERVICE_UNAVAILABLE", now));
        let text = body(&store.publish());
        assert_eq!(
            text.matches("atlas_invites_team_info{").count(),
            2,
            "{text}"
        );

        // A refusal forgets it.
        let mut refused = success(ORG_A, 2, now);
        refused.facts.push(FactUpdate::Forget("teams"));
        store.record(refused);
        let text = body(&store.publish());
        assert!(!text.contains("team_id=\"t1\""));
        assert!(text.contains("team_id=\"t2\""));
    }

    fn body(snapshot: &Snapshot) -> String {
        String::from_utf8(snapshot.body.to_vec()).unwrap()
    }

    #[test]
    fn endpoint_notices_shard_and_source_are_exported() {
        let store = store(Duration::from_secs(900));
        store.record(success(ORG_A, 1, Timestamp::now()));
        let text = body(&store.publish());
        assert!(
            text.contains("atlas_invites_api_deprecated{endpoint=\"list_org_invites\"} 1\n"),
            "{text}"
        );
        assert!(text.contains(
            "atlas_invites_api_sunset_timestamp_seconds{endpoint=\"list_org_invites\"} 1814400000\n"
        ));
        assert!(text.contains("atlas_invites_shard_info{index=\"0\",total=\"1\"} 1\n"));
        assert!(text.contains(&format!(
            "atlas_invites_source_info{{org_id=\"{ORG_A}\",source=\"invites\",api_version=\"2023-01-01\"}} 1\n"
        )));
    }

    #[test]
    fn removed_orgs_lose_every_series_and_added_orgs_wait_for_their_poll() {
        let store = store(Duration::from_secs(900));
        store.record(success(ORG_A, 1, Timestamp::now()));
        store.record(success(ORG_B, 1, Timestamp::now()));
        assert!(store.publish().ready());
        store.remove_org(&OrgId::parse(ORG_B).unwrap());
        let new = OrgConfig::new(OrgId::parse("cccccccccccccccccccccccc").unwrap());
        store.add_org(&new);
        let snapshot = store.publish();
        assert!(!body(&snapshot).contains(ORG_B));
        assert!(!snapshot.ready(), "the added org has not been polled");
        store.record(failure(ORG_B, "LATE", Timestamp::now()));
        assert!(
            !body(&store.publish()).contains(ORG_B),
            "a late outcome of a removed org is dropped"
        );
    }

    #[test]
    fn not_ready_until_every_org_was_attempted() {
        let store = store(Duration::from_secs(900));
        assert!(!store.publish().ready());
        store.record(success(ORG_A, 1, Timestamp::now()));
        assert!(!store.publish().ready());
        store.record(failure(ORG_B, "SERVICE_UNAVAILABLE", Timestamp::now()));
        assert!(store.publish().ready());
    }

    #[test]
    fn a_failed_poll_keeps_the_last_good_data_and_counts_the_error() {
        let store = store(Duration::from_secs(900));
        store.record(success(ORG_A, 3, Timestamp::now()));
        store.record(failure(ORG_A, "SERVICE_UNAVAILABLE", Timestamp::now()));
        let text = body(&store.publish());
        assert!(
            text.contains(&format!("atlas_invites_pending{{org_id=\"{ORG_A}\"}} 3\n")),
            "{text}"
        );
        assert!(text.contains(&format!(
            "atlas_invites_poll_success{{org_id=\"{ORG_A}\"}} 0\n"
        )));
        assert!(text.contains(&format!(
            "atlas_invites_api_errors_total{{org_id=\"{ORG_A}\",endpoint=\"list_org_invites\",error_code=\"SERVICE_UNAVAILABLE\"}} 1\n"
        )));
        assert!(text.contains(&format!(
            "atlas_invites_api_requests_total{{org_id=\"{ORG_A}\",endpoint=\"list_org_invites\",code=\"200\"}} 1\n"
        )));
    }

    #[test]
    fn data_older_than_keep_stale_for_is_dropped_at_the_next_failure() {
        let store = store(Duration::from_secs(60));
        let start = Timestamp::now();
        store.record(success(ORG_A, 3, start));
        store.record(failure(
            ORG_A,
            "SERVICE_UNAVAILABLE",
            start + jiff::SignedDuration::from_secs(61),
        ));
        let text = body(&store.publish());
        assert!(!text.contains("atlas_invites_pending{"), "{text}");
        assert!(text.contains(&format!(
            "atlas_invites_org_info{{org_id=\"{ORG_A}\",org_name=\"Name\"}} 1"
        )));
        assert!(text.contains("atlas_invites_last_success_timestamp_seconds"));
    }

    #[test]
    fn each_family_header_appears_once_with_all_orgs_grouped_under_it() {
        let store = store(Duration::from_secs(900));
        store.record(success(ORG_A, 1, Timestamp::now()));
        store.record(success(ORG_B, 2, Timestamp::now()));
        let text = body(&store.publish());
        assert_eq!(
            text.matches("# TYPE atlas_invites_pending gauge").count(),
            1
        );
        let a = text
            .find(&format!("atlas_invites_pending{{org_id=\"{ORG_A}\"}}"))
            .unwrap();
        let b = text
            .find(&format!("atlas_invites_pending{{org_id=\"{ORG_B}\"}}"))
            .unwrap();
        let next_header = text[a..].find("# HELP").map(|i| i + a).unwrap();
        assert!(b < next_header);
    }

    #[test]
    fn gzip_body_decompresses_to_the_body() {
        let store = store(Duration::from_secs(900));
        store.record(success(ORG_A, 1, Timestamp::now()));
        let snapshot = store.publish();
        let mut decoded = String::new();
        std::io::Read::read_to_string(
            &mut flate2::read::GzDecoder::new(&snapshot.body_gzip.finish_with(b"")[..]),
            &mut decoded,
        )
        .unwrap();
        assert_eq!(decoded, body(&snapshot));
    }

    fn success_with_a_role(org: &str, next_expiry: i64, at: Timestamp) -> PollOutcome {
        let mut outcome = success(org, 1, at);
        if let Ok(polled) = &mut outcome.result {
            polled.aggregate.roles.insert(
                "ORG_OWNER".into(),
                crate::metrics::aggregate::RoleStats {
                    pending: 1,
                    next_expiry: Some(next_expiry),
                    ..Default::default()
                },
            );
        }
        outcome
    }

    fn joined((head, tail): (Bytes, Bytes)) -> Vec<u8> {
        [head, tail].concat()
    }

    #[test]
    fn scrapes_within_one_second_share_one_tail_and_the_next_second_renders_anew() {
        let store = store(Duration::from_secs(900));
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        store.record(success_with_a_role(ORG_A, 1_800_000_100, Timestamp::now()));
        let snapshot = store.publish();
        let renders = std::cell::Cell::new(0);
        let self_metrics = |out: &mut Vec<u8>| {
            renders.set(renders.get() + 1);
            out.extend_from_slice(b"self 1\n");
        };
        let (head, tail) = snapshot.scrape_parts(now, false, self_metrics);
        assert_eq!(
            head.as_ptr(),
            snapshot.body.as_ptr(),
            "the published body is not copied"
        );
        let later_same_second = now + jiff::SignedDuration::from_millis(999);
        let (_, same_tail) = snapshot.scrape_parts(later_same_second, false, self_metrics);
        assert_eq!(
            tail.as_ptr(),
            same_tail.as_ptr(),
            "the same tail, not a copy"
        );
        assert_eq!(renders.get(), 1);
        let text = String::from_utf8(joined((head, tail))).unwrap();
        assert!(text.starts_with(&body(&snapshot)), "{text}");
        assert!(
            text.ends_with(&format!(
                "# TYPE atlas_invites_role_time_to_expiry_seconds gauge\n\
                 atlas_invites_role_time_to_expiry_seconds{{org_id=\"{ORG_A}\",role=\"ORG_OWNER\"}} 100\nself 1\n"
            )),
            "{text}"
        );

        let next_second = now + jiff::SignedDuration::from_secs(1);
        let next = joined(snapshot.scrape_parts(next_second, false, self_metrics));
        assert_eq!(renders.get(), 2);
        assert!(
            String::from_utf8(next.clone())
                .unwrap()
                .ends_with("ORG_OWNER\"} 99\nself 1\n")
        );

        let gzip = joined(snapshot.scrape_parts(next_second, true, self_metrics));
        assert_eq!(renders.get(), 3, "each encoding is rendered once");
        let mut decoded = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gzip[..]), &mut decoded)
            .unwrap();
        assert_eq!(decoded, next);
    }

    #[test]
    fn error_codes_are_bounded_by_pattern_and_count() {
        let mut codes = ErrorCodes::default();
        assert_eq!(codes.bound("e", "lower_case"), "OTHER");
        assert_eq!(codes.bound("e", "A\"B"), "OTHER");
        assert_eq!(codes.bound("e", &"A".repeat(65)), "OTHER");
        assert_eq!(codes.bound("e", &"A".repeat(64)), "A".repeat(64));
        for i in 1..MAX_ERROR_CODES_PER_ENDPOINT {
            assert_eq!(codes.bound("e", &format!("CODE_{i}")), format!("CODE_{i}"));
        }
        assert_eq!(codes.bound("e", "ONE_TOO_MANY"), "OTHER");
        assert_eq!(
            codes.bound("e", "CODE_1"),
            "CODE_1",
            "known codes keep their name"
        );
        assert_eq!(
            codes.bound("other_endpoint", "ONE_TOO_MANY"),
            "ONE_TOO_MANY"
        );
    }
}
