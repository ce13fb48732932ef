//! The metric catalogue: every family rendered at poll time, its name, type and help, in the order
//! the exposition shows them. The only place a metric name of the catalogue is spelled.

use prometheus::proto::MetricType;

/// A metric family rendered per organisation at poll time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    OrgInfo,
    Pending,
    Expired,
    Stale,
    RolePending,
    RoleExpiring,
    RoleNextExpiry,
    RoleOldestCreated,
    ProjectPending,
    TeamPending,
    DomainPending,
    TierPending,
    UnexpectedInviterPending,
    RiskyPending,
    EventsTotal,
    RemovalAge,
    OrgUserLimit,
    PollSuccess,
    LastSuccess,
    PollDuration,
    ApiRequests,
    ApiErrors,
    SourceInfo,
    ApiSunset,
    ApiDeprecated,
    ShardInfo,
    PolicyInternalDomains,
    CredentialSecretExpiry,
    CredentialSecretLastUsed,
}

/// Name, type and help of one family: the only place metric names are spelled.
pub struct FamilySpec {
    pub family: Family,
    pub name: &'static str,
    pub kind: MetricType,
    pub help: &'static str,
}

pub const CATALOG: [FamilySpec; 29] = [
    spec(
        Family::OrgInfo,
        "atlas_invites_org_info",
        MetricType::GAUGE,
        "Configured Atlas organisation; always 1. Join on org_id for the name.",
    ),
    spec(
        Family::Pending,
        "atlas_invites_pending",
        MetricType::GAUGE,
        "Pending invitations (expiresAt in the future), as of the last successful poll.",
    ),
    spec(
        Family::Expired,
        "atlas_invites_expired",
        MetricType::GAUGE,
        "Listed invitations whose expiresAt has passed, as of the last successful poll.",
    ),
    spec(
        Family::Stale,
        "atlas_invites_stale",
        MetricType::GAUGE,
        "Pending invitations created at least metrics.stale_age ago, as of the last successful poll.",
    ),
    spec(
        Family::RolePending,
        "atlas_invites_role_pending",
        MetricType::GAUGE,
        "Pending invitations granting the role (org or project role), as of the last successful poll.",
    ),
    spec(
        Family::RoleExpiring,
        "atlas_invites_role_expiring",
        MetricType::GAUGE,
        "Pending invitations granting the role that expire within the window, as of the last successful poll.",
    ),
    spec(
        Family::RoleNextExpiry,
        "atlas_invites_role_next_expiry_timestamp_seconds",
        MetricType::GAUGE,
        "Soonest expiresAt among pending invitations granting the role.",
    ),
    spec(
        Family::RoleOldestCreated,
        "atlas_invites_role_oldest_created_timestamp_seconds",
        MetricType::GAUGE,
        "createdAt of the oldest pending invitation granting the role.",
    ),
    spec(
        Family::ProjectPending,
        "atlas_invites_project_pending",
        MetricType::GAUGE,
        "Pending invitations assigning any role in the project (Atlas groupId).",
    ),
    spec(
        Family::TeamPending,
        "atlas_invites_team_pending",
        MetricType::GAUGE,
        "Pending invitees who will join the team (Atlas teamIds), as of the last successful poll.",
    ),
    spec(
        Family::DomainPending,
        "atlas_invites_domain_pending",
        MetricType::GAUGE,
        "Pending invitees by the class of their mail domain (internal, external, free_mail), per [policy].",
    ),
    spec(
        Family::TierPending,
        "atlas_invites_tier_pending",
        MetricType::GAUGE,
        "Pending invitees by the highest privilege tier of the roles granted (owner, admin, write, read).",
    ),
    spec(
        Family::UnexpectedInviterPending,
        "atlas_invites_unexpected_inviter_pending",
        MetricType::GAUGE,
        "Pending invitees invited by someone policy.expected_inviters does not name, or by nobody.",
    ),
    spec(
        Family::RiskyPending,
        "atlas_invites_risky_pending",
        MetricType::GAUGE,
        "Pending invitees a pager should look at, by reason (owner_external, free_mail, unexpected_inviter).",
    ),
    spec(
        Family::EventsTotal,
        "atlas_invites_events_total",
        MetricType::COUNTER,
        "Invitation lifecycle events between consecutive successful polls: created, removed (accepted or revoked), expired.",
    ),
    spec(
        Family::RemovalAge,
        "atlas_invites_removal_age_seconds",
        MetricType::HISTOGRAM,
        "Age of each removed invitation when it was gone: how long people take to accept (or revoked ones lived).",
    ),
    spec(
        Family::OrgUserLimit,
        "atlas_invites_org_user_limit",
        MetricType::GAUGE,
        "Members an organisation may have, active and pending together (metrics.org_user_limit).",
    ),
    spec(
        Family::PollSuccess,
        "atlas_invites_poll_success",
        MetricType::GAUGE,
        "1 if the last poll of the organisation succeeded, 0 otherwise.",
    ),
    spec(
        Family::LastSuccess,
        "atlas_invites_last_success_timestamp_seconds",
        MetricType::GAUGE,
        "End of the last successful poll of the organisation; 0 if none yet.",
    ),
    spec(
        Family::PollDuration,
        "atlas_invites_poll_duration_seconds",
        MetricType::GAUGE,
        "Duration of the last poll of the organisation, retries included.",
    ),
    spec(
        Family::ApiRequests,
        "atlas_invites_api_requests_total",
        MetricType::COUNTER,
        "Atlas API calls by endpoint and final HTTP status (empty code: no response).",
    ),
    spec(
        Family::ApiErrors,
        "atlas_invites_api_errors_total",
        MetricType::COUNTER,
        "Failed Atlas API calls by endpoint and Atlas errorCode (or the exporter's own code).",
    ),
    spec(
        Family::SourceInfo,
        "atlas_invites_source_info",
        MetricType::GAUGE,
        "The Atlas API the organisation's invitations are read from, and its resource version; always 1.",
    ),
    spec(
        Family::ApiSunset,
        "atlas_invites_api_sunset_timestamp_seconds",
        MetricType::GAUGE,
        "When Atlas says the endpoint goes away (its Sunset response header).",
    ),
    spec(
        Family::ApiDeprecated,
        "atlas_invites_api_deprecated",
        MetricType::GAUGE,
        "1 when Atlas marked the endpoint deprecated (a Deprecation response header).",
    ),
    spec(
        Family::ShardInfo,
        "atlas_invites_shard_info",
        MetricType::GAUGE,
        "This replica's shard: it polls the organisations whose id modulo total is index; always 1.",
    ),
    spec(
        Family::PolicyInternalDomains,
        "atlas_invites_policy_internal_domains",
        MetricType::GAUGE,
        "Internal mail domains configured in policy.internal_domains; 0 means every invitee is external or free-mail.",
    ),
    spec(
        Family::CredentialSecretExpiry,
        "atlas_invites_credential_secret_expiry_timestamp_seconds",
        MetricType::GAUGE,
        "When the service account secret the exporter uses expires (Atlas' expiresAt), by client id.",
    ),
    spec(
        Family::CredentialSecretLastUsed,
        "atlas_invites_credential_secret_last_used_timestamp_seconds",
        MetricType::GAUGE,
        "When Atlas last saw the service account secret the exporter uses (lastUsedAt), by client id.",
    ),
];

/// The one family computed at scrape time: it moves with the clock, not with polls.
pub const TIME_TO_EXPIRY: FamilySpec = spec(
    Family::RoleNextExpiry,
    "atlas_invites_role_time_to_expiry_seconds",
    MetricType::GAUGE,
    "Seconds from the scrape until the soonest expiry among pending invitations granting the role.",
);

const fn spec(
    family: Family,
    name: &'static str,
    kind: MetricType,
    help: &'static str,
) -> FamilySpec {
    FamilySpec {
        family,
        name,
        kind,
        help,
    }
}
