//! One poll of one organisation: count its invitations while the bodies are decoded, log the
//! outcome, and hand it to the metrics stage.

use std::sync::Arc;

use jiff::Timestamp;
use tokio::time::Instant;

use atlas_client::{AtlasClient, Authenticator, CallRecord, Endpoint};

use crate::audit::Audit;
use crate::audit::record::SeenInvitation;
use crate::config::{MetricsSettings, OrgConfig, ProjectInvitations, Source};
use crate::metrics::aggregate::{AggregateSettings, Aggregator};
use crate::metrics::invitees::InviteeCounter;
use crate::metrics::policy::Policy;
use crate::metrics::self_metrics::SelfMetrics;
use crate::metrics::store::{FactUpdate, PollOutcome, PolledData, Store};
use crate::poll::facts::{self, FactCall};
use crate::poll::handover::PollSink;
use crate::poll::legacy::{self, LegacyCall, LegacyInvitation, ProjectMemory};
use crate::poll::lifecycle::LifecycleMemory;
use crate::poll::slow::SlowSchedule;
use crate::poll::source::{self, Fallbacks, FetchRequest};
use crate::poll::{credential, handover};
use crate::types::{ActiveSource, LifecycleObserved};

/// Everything one poll needs, shared by all organisation loops.
pub struct Poller {
    pub client: Arc<AtlasClient>,
    pub store: Arc<Store>,
    pub self_metrics: Arc<SelfMetrics>,
    pub metrics: MetricsSettings,
    /// `atlas.source`, for organisations without their own.
    pub default_source: Source,
    pub fallbacks: Arc<Fallbacks>,
    /// `atlas.project_invitations`, for organisations without their own.
    pub default_project_invitations: ProjectInvitations,
    /// When slowly changing facts are next read: service account secrets (by client id) and each
    /// organisation's projects, teams and seats (`{orgId}/{fact}`).
    pub slow: Arc<SlowSchedule<String>>,
    /// Each organisation's projects and their last good legacy invitations.
    pub projects: Arc<ProjectMemory>,
    /// `[policy]`, ready to class pending invitees.
    pub policy: Arc<Policy>,
    /// Each organisation's invitations at its last successful poll, for the lifecycle events.
    pub lifecycle: Arc<LifecycleMemory>,
    /// Where lifecycle events are written with their personal details, when `[audit]` is on.
    pub audit: Option<Arc<Audit>>,
}

impl Poller {
    /// Polls one organisation once and records the outcome. Retries inside the poll never run past
    /// `deadline`.
    pub async fn poll(&self, org: &OrgConfig, auth: &Authenticator, deadline: Instant) {
        let started = Instant::now();
        let started_at = Timestamp::now();
        let mut calls: Vec<CallRecord> = Vec::new();
        let source = org.source.unwrap_or(self.default_source);
        let settings = AggregateSettings {
            expiry_windows: &self.metrics.expiry_windows,
            stale_age: self.metrics.stale_age,
            policy: self.policy.clone(),
        };
        // Legacy project invitations first, so that the org listing can merge their invitees; with
        // at most half of the poll's time, so that the org listing always has the other half.
        let legacy = legacy::read(LegacyCall {
            client: &self.client,
            memory: &self.projects,
            slow: &self.slow,
            org: &org.id,
            mode: org
                .project_invitations
                .unwrap_or(self.default_project_invitations),
            policy: &self.policy,
            keep_details: self.audit.is_some(),
            auth,
            deadline: started + deadline.saturating_duration_since(started) / 2,
            calls: &mut calls,
        })
        .await;
        // Counted while the bodies are decoded, against the poll's start: a poll takes seconds, an
        // invitation lives for 30 days.
        let now = Timestamp::now();
        let aggregator = Aggregator::new(now, &settings);
        let keep_details = self.audit.is_some();
        let legacy_notice = legacy.notice;
        let legacy_seen: Vec<SeenInvitation> = legacy
            .invitations
            .iter()
            .map(LegacyInvitation::seen)
            .collect();
        let legacy_grants = legacy
            .invitations
            .into_iter()
            .map(|invitation| invitation.counted)
            .collect();
        let sink = PollSink {
            counter: InviteeCounter::new(aggregator, legacy_grants),
            seen: legacy_seen,
            details: keep_details,
        };
        let listing_calls = calls.len();
        let request = FetchRequest {
            org: &org.id,
            source,
            auth,
            deadline,
        };
        let fetched = source::fetch(&self.client, &self.fallbacks, request, &mut calls, sink).await;
        let finished_at = Timestamp::now();
        let duration = started.elapsed();
        if let Some(reason) = &fetched.switched {
            tracing::warn!(
                org = %org.id,
                "switched to the org-users API (GET /orgs/{{orgId}}/users, version 2025-02-19) for the rest of this \
                 process's life: {}. To make this permanent, set source = \"org_users\" for this organisation \
                 (or [atlas] source = \"org_users\")",
                reason.describe()
            );
        }
        // Before the result is taken apart: it says what a failure means (a wrong id, a failed fallback).
        let explanation = fetched.explanation();
        let mut seen = Vec::new();
        let result = fetched.result.map(|listing| {
            let aggregate = listing.items.counter.finish();
            seen = listing.items.seen;
            tracing::debug!(org = %org.id, source = fetched.source.label(), pending = aggregate.pending, expired = aggregate.expired, ?duration, "poll succeeded");
            let other_notices = legacy_notice
                .map(|(deprecated, sunset)| (Endpoint::LIST_GROUP_INVITES.label(), deprecated, sunset))
                .into_iter()
                .collect();
            PolledData { aggregate, org_name: listing.org_name, deprecated: listing.deprecated, sunset: listing.sunset, other_notices }
        });
        // The listing's last call (a token fetch, or a page), not one of the projects' before it.
        let failed_endpoint = calls[listing_calls..]
            .last()
            .map_or(fetched.source.endpoint_label(), |c| c.endpoint.label());
        if let Err(error) = &result {
            let last = calls[listing_calls..].last();
            tracing::warn!(
                org = %org.id,
                endpoint = failed_endpoint,
                status = last.and_then(|c| c.status),
                error_code = %error.error_code(),
                %error,
                hint = explanation.as_deref(),
                "poll failed"
            );
        }
        // After the invitations, so that a failure above is logged with its own call, and never
        // failing the poll: a slow fact read at most once per poll.slow_interval.
        credential::read_if_due(
            &self.slow,
            &self.client,
            &self.store,
            &org.id,
            auth,
            deadline,
            &mut calls,
        )
        .await;
        let mut facts = vec![match legacy.coverage {
            Some(coverage) => FactUpdate::Read(Arc::new(coverage)),
            None => FactUpdate::Forget("projects"),
        }];
        // The other facts only after a listing that succeeded: a broken credential or network makes
        // one failing call chain per poll, not one per fact.
        if result.is_ok() {
            if legacy.listing_failed {
                legacy::retry_listing(&self.slow, &org.id);
            }
            let fact_call = FactCall {
                client: &self.client,
                org: &org.id,
                auth,
                deadline,
                calls: &mut calls,
            };
            facts.extend(facts::read_due(&self.slow, fact_call).await);
        }
        let lifecycle = match &result {
            Ok(polled) => {
                let name = org.name.as_deref().or(polled.org_name.as_deref());
                self.observe_lifecycle(org, name, fetched.source, now, seen)
                    .await
            }
            Err(_) => None,
        };
        let calls = handover::calls(calls);
        self.self_metrics.observe_calls(&calls);
        self.store.record(PollOutcome {
            org: org.id.clone(),
            source: fetched.source,
            started_at,
            finished_at,
            duration,
            calls,
            result: result.map_err(|error| handover::failure(&error, failed_endpoint)),
            facts,
            lifecycle,
        });
    }

    /// Compares this poll's invitations with the last successful poll's; with the audit stream on,
    /// writes the events, then the state file (in that order: a crash between the two repeats a
    /// line, never loses one).
    async fn observe_lifecycle(
        &self,
        org: &OrgConfig,
        org_name: Option<&str>,
        source: ActiveSource,
        now: Timestamp,
        seen: Vec<SeenInvitation>,
    ) -> Option<LifecycleObserved> {
        match &self.audit {
            Some(audit) => {
                let name = org_name.unwrap_or(org.id.as_str());
                audit
                    .observe_and_record(&org.id, name, source, now, seen, &self.lifecycle)
                    .await
            }
            None => self
                .lifecycle
                .observe(&org.id, source, now.as_second(), seen)
                .map(|observation| observation.counts),
        }
    }
}
