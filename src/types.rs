//! Plain data shared by the stages: the organisation id, the API an organisation is read from, and
//! what a poll hands to the metrics (its calls and its failure) in the exporter's own terms, so that
//! the metrics stage never names a type of the Atlas client.

use std::time::Duration;

/// A 24-hex-digit Atlas organisation id, validated at construction.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OrgId(String);

impl OrgId {
    /// Accepts exactly 24 lowercase hexadecimal digits, the pattern of the Atlas API (`^([a-f0-9]{24})$`).
    pub fn parse(s: &str) -> Option<OrgId> {
        (s.len() == 24 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
            .then(|| OrgId(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for OrgId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The seven organisation roles Atlas documents; their series are always present, as 0 when unused.
pub const ORG_ROLES: [&str; 7] = [
    "ORG_OWNER",
    "ORG_MEMBER",
    "ORG_GROUP_CREATOR",
    "ORG_BILLING_ADMIN",
    "ORG_BILLING_READ_ONLY",
    "ORG_STREAM_PROCESSING_ADMIN",
    "ORG_READ_ONLY",
];

/// How much power a role gives, from most to least: the `tier` label.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tier {
    Owner,
    Admin,
    Write,
    Read,
}

impl Tier {
    /// Every tier, most powerful first.
    pub const ALL: [Tier; 4] = [Tier::Owner, Tier::Admin, Tier::Write, Tier::Read];

    /// The `tier` label value, and its name in `[policy.tiers]`.
    pub fn label(self) -> &'static str {
        match self {
            Tier::Owner => "owner",
            Tier::Admin => "admin",
            Tier::Write => "write",
            Tier::Read => "read",
        }
    }
}

/// The API an organisation's invitations were read from (in the audit state file as its label).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActiveSource {
    Invites,
    OrgUsers,
}

impl ActiveSource {
    /// The `source` label value.
    pub fn label(self) -> &'static str {
        match self {
            ActiveSource::Invites => "invites",
            ActiveSource::OrgUsers => "org_users",
        }
    }

    /// The Atlas resource version asked for.
    pub fn api_version(self) -> &'static str {
        match self {
            ActiveSource::Invites => atlas_client::INVITES_API_VERSION,
            ActiveSource::OrgUsers => atlas_client::ORG_USERS_API_VERSION,
        }
    }

    /// The `endpoint` label value of the listing this source calls.
    pub fn endpoint_label(self) -> &'static str {
        match self {
            ActiveSource::Invites => atlas_client::Endpoint::LIST_ORG_INVITES.label(),
            ActiveSource::OrgUsers => atlas_client::Endpoint::LIST_ORG_USERS.label(),
        }
    }

    /// The Atlas role the credential needs for this API.
    pub fn required_role(self) -> &'static str {
        match self {
            ActiveSource::Invites => "Organization Owner",
            ActiveSource::OrgUsers => "Organization Member",
        }
    }
}

/// One Atlas call (one attempt of it, or one page), as the API metrics count it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Call {
    /// The `endpoint` label value.
    pub endpoint: &'static str,
    /// The HTTP status, `None` when no response arrived (timeout, connection).
    pub status: Option<u16>,
    /// Atlas' `errorCode` (or our classification), `None` for a success.
    pub error_code: Option<String>,
    pub duration: Duration,
    /// An OAuth token fetch, counted by `atlas_invites_oauth_token_requests_total` too.
    pub token_fetch: bool,
}

/// Why a poll produced no data, as far as the metrics and the status page tell it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PollFailure {
    /// Atlas' `errorCode`, or our classification (`TIMEOUT`, `CONNECTION`, …).
    pub error_code: String,
    /// The `endpoint` label of the call that failed: the org listing's last call (a page, or the
    /// token fetch before it).
    pub endpoint: &'static str,
    /// The HTTP status, `None` when no response arrived (timeout, connection, TLS).
    pub status: Option<u16>,
    /// Atlas' `detail`, bounded and with addresses replaced where it is built: the status page shows
    /// it to whoever can open it. Never anything of ours (no credential, no URL).
    pub detail: Option<String>,
}

/// Upper bounds of `atlas_invites_removal_age_seconds`: 1h, 6h, 1d, 3d, 7d, 14d, 21d, 30d.
pub const REMOVAL_AGE_BUCKETS: [f64; 8] = [
    3_600.0,
    21_600.0,
    86_400.0,
    259_200.0,
    604_800.0,
    1_209_600.0,
    1_814_400.0,
    2_592_000.0,
];

/// What one successful poll saw change since the previous one, by invitation id.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LifecycleObserved {
    pub created: u64,
    pub removed: u64,
    pub expired: u64,
    /// Seconds from creation to removal, one per removed invitation.
    pub removal_ages: Vec<i64>,
}

/// What Atlas says of the service account secret the exporter authenticates with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CredentialSecret {
    /// `expiresAt`, seconds since the epoch.
    pub expires_at: i64,
    /// `lastUsedAt`, seconds since the epoch, when Atlas gives it.
    pub last_used_at: Option<i64>,
}
