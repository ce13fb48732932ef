//! One poll of one organisation: count its invitations while the bodies are decoded, log the
//! outcome, and hand it to the metrics stage.

use std::sync::Arc;

use jiff::Timestamp;
use tokio::time::Instant;

use atlas_client::{AtlasClient, Authenticator, CallRecord};

use crate::config::{MetricsSettings, OrgConfig, Source};
use crate::metrics::aggregate::{AggregateSettings, Aggregator};
use crate::metrics::self_metrics::SelfMetrics;
use crate::metrics::store::{PollOutcome, PolledData, Store};
use crate::poll::credential::{self, CredentialWatch};
use crate::poll::handover;
use crate::poll::source::{self, Fallbacks, FetchRequest};

/// Everything one poll needs, shared by all organisation loops.
pub struct Poller {
    pub client: Arc<AtlasClient>,
    pub store: Arc<Store>,
    pub self_metrics: Arc<SelfMetrics>,
    pub metrics: MetricsSettings,
    /// `atlas.source`, for organisations without their own.
    pub default_source: Source,
    pub fallbacks: Arc<Fallbacks>,
    /// When the service account secrets' expiry is read.
    pub credentials: Arc<CredentialWatch>,
}

impl Poller {
    /// Polls one organisation once and records the outcome. Retries inside the poll never run past
    /// `deadline`.
    pub async fn poll(&self, org: &OrgConfig, auth: &Authenticator, deadline: Instant) {
        let started = Instant::now();
        let mut calls: Vec<CallRecord> = Vec::new();
        let source = org.source.unwrap_or(self.default_source);
        let settings = AggregateSettings {
            expiry_windows: &self.metrics.expiry_windows,
            stale_age: self.metrics.stale_age,
        };
        // Counted while the bodies are decoded, against the poll's start: a poll takes seconds, an
        // invitation lives for 30 days.
        let aggregator = Aggregator::new(Timestamp::now(), &settings);
        let request = FetchRequest {
            org: &org.id,
            source,
            auth,
            deadline,
        };
        let fetched = source::fetch(
            &self.client,
            &self.fallbacks,
            request,
            &mut calls,
            aggregator,
        )
        .await;
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
        let result = fetched.result.map(|listing| {
            let aggregate = listing.items.finish();
            tracing::debug!(org = %org.id, source = fetched.source.label(), pending = aggregate.pending, expired = aggregate.expired, ?duration, "poll succeeded");
            PolledData { aggregate, org_name: listing.org_name, deprecated: listing.deprecated, sunset: listing.sunset }
        });
        if let Err(error) = &result {
            let last = calls.last();
            tracing::warn!(
                org = %org.id,
                endpoint = last.map(|c| c.endpoint.label()).unwrap_or(fetched.source.endpoint_label()),
                status = last.and_then(|c| c.status),
                error_code = %error.error_code(),
                %error,
                "poll failed"
            );
        }
        // After the invitations, so that a failure above is logged with its own call, and never
        // failing the poll: a slow fact read at most once per poll.slow_interval.
        credential::read_if_due(
            &self.credentials,
            &self.client,
            &self.store,
            &org.id,
            auth,
            deadline,
            &mut calls,
        )
        .await;
        let calls = handover::calls(calls);
        self.self_metrics.observe_calls(&calls);
        self.store.record(PollOutcome {
            org: org.id.clone(),
            source: fetched.source,
            finished_at,
            duration,
            calls,
            result: result.map_err(|error| handover::failure(&error)),
        });
    }
}
