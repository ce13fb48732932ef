//! What the poll stage hands to the metrics stage, in the exporter's own terms: invitations counted
//! into the aggregate as the client decodes them, and calls and failures as plain data.

use atlas_client::{ApiError, CallRecord, Endpoint, InvitationSink, InvitationView};

use crate::audit::record::{InvitationDetails, InvitationId, SeenInvitation};
use crate::metrics::aggregate::{Aggregator, Grant};
use crate::metrics::invitees::InviteeCounter;
use crate::metrics::policy::Policy;
use crate::metrics::status::scrub_detail;
use crate::types::{Call, PollFailure};

/// Each invitation is counted as the scanner reads it, nothing of it is kept.
impl InvitationSink for Aggregator {
    fn add(&mut self, invitation: InvitationView<'_>) {
        let pending = self.tally(
            invitation.created_at,
            invitation.expires_at,
            invitation.org_roles,
            invitation.project_roles,
        );
        if pending {
            self.tally_teams(invitation.team_ids);
            let expected = self.policy().inviter_expected(invitation.inviter_username);
            let roles = invitation
                .org_roles
                .iter()
                .copied()
                .chain(invitation.project_roles.iter().map(|(_, role)| *role));
            self.tally_policy(invitation.username, expected, roles);
        }
    }
}

/// The poll path's sink: as the aggregator, but an invitee who also has legacy project invitations
/// is set aside, to be counted once with them.
impl InvitationSink for InviteeCounter {
    fn add(&mut self, invitation: InvitationView<'_>) {
        if !self.has_legacy(invitation.username) {
            self.aggregator().add(invitation);
            return;
        }
        let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
        let grant = Grant {
            created: invitation.created_at,
            expires: invitation.expires_at,
            org_roles: invitation.org_roles.iter().map(|r| text(r)).collect(),
            project_roles: invitation
                .project_roles
                .iter()
                .map(|(project, role)| (text(project), text(role)))
                .collect(),
            team_ids: invitation.team_ids.iter().map(|t| text(t)).collect(),
            inviter_expected: self
                .aggregator()
                .policy()
                .inviter_expected(invitation.inviter_username),
        };
        self.set_aside(invitation.username, grant);
    }
}

/// The poll path's sink: the counter, and what the lifecycle needs of each invitation (its id and
/// dates; its details too while the audit stream is on).
#[derive(Clone, Debug)]
pub struct PollSink {
    pub counter: InviteeCounter,
    pub seen: Vec<SeenInvitation>,
    /// Keep each invitation's personal details (the audit stream is on).
    pub details: bool,
}

impl PollSink {
    /// The sink of a poll with no legacy invitation and the audit stream off: what the benches time
    /// against their floor.
    pub fn new(aggregator: Aggregator) -> PollSink {
        PollSink {
            counter: InviteeCounter::new(aggregator, Vec::new()),
            seen: Vec::new(),
            details: false,
        }
    }

    /// The organisation's numbers (what is seen is the lifecycle's, dropped here).
    pub fn finish(self) -> crate::metrics::aggregate::OrgAggregate {
        self.counter.finish()
    }
}

impl InvitationSink for PollSink {
    fn add(&mut self, invitation: InvitationView<'_>) {
        if invitation.expires_at.is_some() {
            let details = self.details.then(|| {
                let policy = self.counter.aggregator().policy();
                details(
                    policy,
                    invitation.username,
                    invitation.inviter_username,
                    invitation
                        .org_roles
                        .iter()
                        .copied()
                        .chain(invitation.project_roles.iter().map(|(_, role)| *role)),
                    invitation.project_roles.iter().map(|(project, _)| *project),
                    invitation.team_ids.iter().copied(),
                )
            });
            self.seen.push(SeenInvitation {
                id: InvitationId::from_bytes(invitation.id),
                created_at: invitation.created_at,
                expires_at: invitation.expires_at,
                details: details.map(Box::new),
            });
        }
        self.counter.add(invitation);
    }
}

/// An invitation's personal details and policy classes, for the audit stream.
pub(crate) fn details<'a>(
    policy: &Policy,
    username: &[u8],
    inviter: Option<&[u8]>,
    roles: impl Iterator<Item = &'a [u8]> + Clone,
    projects: impl Iterator<Item = &'a [u8]>,
    teams: impl Iterator<Item = &'a [u8]>,
) -> InvitationDetails {
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    let once = |items: &mut Vec<String>, item: String| {
        if !items.contains(&item) {
            items.push(item);
        }
    };
    let class = policy.domain_class(username);
    let tier = policy.highest_tier(roles.clone());
    let expected = policy.inviter_expected(inviter);
    let (mut role_names, mut project_ids, mut team_ids) = (Vec::new(), Vec::new(), Vec::new());
    roles.for_each(|role| once(&mut role_names, text(role)));
    projects.for_each(|project| once(&mut project_ids, text(project)));
    teams.for_each(|team| once(&mut team_ids, text(team)));
    InvitationDetails {
        invitee: text(username),
        inviter: inviter.map(text),
        roles: role_names,
        project_ids,
        team_ids,
        domain_class: class.label().to_owned(),
        tier: tier.label().to_owned(),
        risk_reasons: policy
            .risks(class, tier, expected)
            .map(|reason| reason.label().to_owned())
            .collect(),
    }
}

/// Every `endpoint` label value, so that the latency series exist before the first call.
pub fn endpoint_labels() -> Vec<&'static str> {
    Endpoint::all()
        .iter()
        .map(|endpoint| endpoint.label())
        .collect()
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
        token_fetch: record.endpoint == Endpoint::OAUTH_TOKEN,
    }
}

/// A failed poll, as the metrics and the status page tell it: `endpoint` is the label of the call
/// that failed. Only Atlas' own `detail` is kept, scrubbed: the other variants' text is ours or
/// reqwest's (it may name a proxy's URL), and the page's hint says what they mean.
pub fn failure(error: &ApiError, endpoint: &'static str) -> PollFailure {
    let detail = match error {
        ApiError::Status {
            detail: Some(detail),
            ..
        } => Some(scrub_detail(detail)).filter(|d| !d.trim().is_empty()),
        _ => None,
    };
    PollFailure {
        error_code: error.error_code(),
        endpoint,
        status: error.status(),
        detail,
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
