//! What the poll stage hands to the metrics stage, in the exporter's own terms: invitations counted
//! into the aggregate as the client decodes them, and calls and failures as plain data.

use atlas_client::{ApiError, CallRecord, Endpoint, InvitationSink, InvitationView};

use crate::metrics::aggregate::Aggregator;
use crate::types::{Call, PollFailure};

/// The poll path's sink: each invitation is counted as the scanner reads it, nothing of it is kept.
impl InvitationSink for Aggregator {
    fn add(&mut self, invitation: InvitationView<'_>) {
        self.tally(
            invitation.created_at,
            invitation.expires_at,
            invitation.org_roles,
            invitation.project_roles,
        );
    }
}

/// Every `endpoint` label value, so that the latency series exist before the first call.
pub fn endpoint_labels() -> Vec<&'static str> {
    Endpoint::all().map(Endpoint::label).to_vec()
}

/// The calls of a poll, as the API metrics count them.
pub fn calls(records: Vec<CallRecord>) -> Vec<Call> {
    records.into_iter().map(call).collect()
}

fn call(record: CallRecord) -> Call {
    Call {
        endpoint: record.endpoint.label(),
        status: record.status,
        error_code: record.error_code,
        duration: record.duration,
        token_fetch: record.endpoint == Endpoint::OAuthToken,
    }
}

/// A failed poll, as the metrics and the landing page tell it.
pub fn failure(error: &ApiError) -> PollFailure {
    PollFailure {
        error_code: error.error_code(),
    }
}

/// The reference decoders' invitations, counted as the poll path counts what it scans: what the
/// property tests, fuzz targets and benches compare the poll path with. Public for them alone.
#[doc(hidden)]
pub fn count(
    invitations: &[atlas_client::Invitation],
    now: jiff::Timestamp,
    settings: &crate::metrics::aggregate::AggregateSettings<'_>,
) -> crate::metrics::aggregate::OrgAggregate {
    let mut aggregator = Aggregator::new(now, settings);
    atlas_client::replay(invitations, &mut aggregator);
    aggregator.finish()
}
