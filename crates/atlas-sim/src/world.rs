//! The simulated Atlas world: organisations, their invitations, members, projects (with their legacy
//! project invitations) and teams, credentials and their roles, behaviours and scripted faults.

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use jiff::Timestamp;

use crate::protocol::SUNSET;

mod churn;
mod invitation;
mod projects;

pub use churn::{Churn, MIN_CHURN_PERIOD_SECS};
pub use invitation::{INVITATION_LIFETIME_SECS, SimInvitation, SimTime};
pub use projects::{ProjectAccess, SimProject, SimTeam};

/// Seconds in an hour and in a day.
pub(crate) const HOUR: i64 = 3600;
pub(crate) const DAY: i64 = 24 * HOUR;

/// Everything the simulator serves. Credentials are plain strings because they only open the simulator.
#[derive(Clone)]
pub struct World {
    /// The organisations served.
    pub orgs: Vec<SimOrg>,
    /// Service accounts as (client_id, client_secret).
    pub service_accounts: Vec<(String, String)>,
    /// The secrets `getOrgServiceAccount` lists, by client id. A service account with none declared
    /// here is listed with one secret per entry of `service_accounts` (see
    /// [`SimServiceAccountSecret::standing`]).
    pub service_account_secrets: Vec<SimServiceAccountSecret>,
    /// API keys as (public_key, private_key).
    pub api_keys: Vec<(String, String)>,
    /// `expires_in` of issued bearer tokens; a token is refused once this has elapsed.
    pub token_lifetime: Duration,
    /// A Digest nonce goes stale after this many successful uses (None: never).
    pub nonce_max_uses: Option<u32>,
    /// Which credential holds which role in which org. A credential named in no grant is Owner of every
    /// org and sees every org; one named in any grant reaches only the orgs granted to it.
    pub grants: Vec<Grant>,
    /// The `Sunset` HTTP-date sent (with a `Deprecation` header) on org and project invites listings;
    /// None sends neither.
    pub invites_sunset: Option<String>,
    /// How many requests the request log keeps (the oldest are forgotten). Tests read the log; a demo
    /// polled every second for days must not grow with it.
    pub request_log_limit: usize,
}

/// The request log's default length: enough for any test.
pub const DEFAULT_REQUEST_LOG_LIMIT: usize = 100_000;

impl Default for World {
    fn default() -> Self {
        World {
            orgs: Vec::new(),
            service_accounts: Vec::new(),
            service_account_secrets: Vec::new(),
            api_keys: Vec::new(),
            token_lifetime: Duration::from_secs(3600),
            nonce_max_uses: None,
            grants: Vec::new(),
            invites_sunset: Some(SUNSET.to_owned()),
            request_log_limit: DEFAULT_REQUEST_LOG_LIMIT,
        }
    }
}

// Hand-written so that a logged World never shows a secret, even the demo ones.
impl fmt::Debug for World {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let client_ids: Vec<&str> = self
            .service_accounts
            .iter()
            .map(|(id, _)| id.as_str())
            .collect();
        let public_keys: Vec<&str> = self.api_keys.iter().map(|(key, _)| key.as_str()).collect();
        f.debug_struct("World")
            .field("orgs", &self.orgs)
            .field("service_account_client_ids", &client_ids)
            .field("service_account_secrets", &self.service_account_secrets)
            .field("api_key_public_keys", &public_keys)
            .field("token_lifetime", &self.token_lifetime)
            .field("nonce_max_uses", &self.nonce_max_uses)
            .field("grants", &self.grants)
            .field("invites_sunset", &self.invites_sunset)
            .finish()
    }
}

/// What `getOrgServiceAccount` says about one secret of a service account: its dates and masked
/// value, never the secret itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimServiceAccountSecret {
    /// The service account's client id.
    pub client_id: String,
    /// `id`: 24 lowercase hex digits.
    pub id: String,
    /// `createdAt`.
    pub created: SimTime,
    /// `expiresAt`.
    pub expires: SimTime,
    /// `lastUsedAt`; None is served as null.
    pub last_used: Option<SimTime>,
    /// `maskedSecretValue`; None leaves the field out.
    pub masked: Option<String>,
}

impl SimServiceAccountSecret {
    /// A secret of `client_id` created 30 days ago, expiring in `expires_in_secs` seconds (negative:
    /// expired), last used now, with no masked value.
    pub fn expiring_in(
        client_id: impl Into<String>,
        id: impl Into<String>,
        expires_in_secs: i64,
    ) -> SimServiceAccountSecret {
        SimServiceAccountSecret {
            client_id: client_id.into(),
            id: id.into(),
            created: SimTime::FromNow(-30 * DAY),
            expires: SimTime::FromNow(expires_in_secs),
            last_used: Some(SimTime::FromNow(0)),
            masked: None,
        }
    }

    /// What is listed for a service account whose secrets were not declared: `secret` created 30 days
    /// ago, expiring in 335 (Atlas' longest lifetime is 365 days), last used now, masked as Atlas does.
    pub fn standing(
        client_id: impl Into<String>,
        id: impl Into<String>,
        secret: &str,
    ) -> SimServiceAccountSecret {
        SimServiceAccountSecret::expiring_in(client_id, id, 335 * DAY).with_masked_secret(secret)
    }

    /// Masks `secret` as Atlas shows it: [`masked_secret_value`].
    pub fn with_masked_secret(mut self, secret: &str) -> SimServiceAccountSecret {
        self.masked = Some(masked_secret_value(secret));
        self
    }
}

/// `secret` masked as in `maskedSecretValue`: its first 10 characters, `...` and its last 4, or just
/// `mdb_sa_sk_...` for a secret too short to show that much of without showing all of it.
pub fn masked_secret_value(secret: &str) -> String {
    let count = secret.chars().count();
    if count < 14 {
        return "mdb_sa_sk_...".to_owned();
    }
    let head: String = secret.chars().take(10).collect();
    let tail: String = secret.chars().skip(count - 4).collect();
    format!("{head}...{tail}")
}

/// A credential's role in one organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// A service account's client_id or an API key's public key.
    pub credential: String,
    /// The organisation the role is held in.
    pub org_id: String,
    /// The role held there.
    pub role: OrgRole,
}

impl Grant {
    /// `role` for `credential` in the organisation `org_id`.
    pub fn new(credential: impl Into<String>, org_id: impl Into<String>, role: OrgRole) -> Grant {
        Grant {
            credential: credential.into(),
            org_id: org_id.into(),
            role,
        }
    }
}

/// The two organisation roles the exporter's endpoints care about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum OrgRole {
    /// Organization Member: enough for `/users`, not for the invitations endpoint.
    Member,
    /// Organization Owner: everything.
    Owner,
}

/// One organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimOrg {
    /// 24 lowercase hex digits, as Atlas.
    pub id: String,
    /// The display name (`name` on `/orgs`, `orgName` on invitations).
    pub name: String,
    /// Served as PENDING or INVITATION_EXPIRED by `/users`, and as they are by `/invites`.
    pub invitations: Vec<SimInvitation>,
    /// How its invites and users calls are answered when no fault is queued.
    pub behaviour: Behaviour,
    /// How many generated ACTIVE members `/users` lists after the invitations.
    pub active_users: u32,
    /// How many generated INVITATION_REJECTED entries `/users` lists (never on `/invites`).
    pub rejected: u32,
    /// Plays an Atlas from before `orgMembershipStatuses`: that parameter gets 400, the single
    /// `orgMembershipStatus` knows only PENDING and ACTIVE, and expired invitations are still PENDING.
    pub legacy_status_filter: bool,
    /// Listed by `/orgs` with `isDeleted: true`; its invites and users paths answer 404.
    pub is_deleted: bool,
    /// The invitations endpoint is past its sunset for this org: 410 `VERSION_GONE`.
    pub invites_gone: bool,
    /// Its projects, listed by `/orgs/{orgId}/groups` in this order; each serves its legacy invitations
    /// on `/groups/{groupId}/invites`. A project id must be unique across orgs (the first org wins).
    pub projects: Vec<SimProject>,
    /// Its teams, listed by `/orgs/{orgId}/teams` in this order.
    pub teams: Vec<SimTeam>,
    /// Invitations that come and go on a schedule counted from the simulator's start, listed by
    /// `/invites` and `/users` after `invitations` (see [`SimOrg::listed_invitations`]).
    pub churn: Option<Churn>,
}

impl SimOrg {
    /// An organisation with normal behaviour.
    pub fn new(
        id: impl Into<String>,
        name: impl Into<String>,
        invitations: Vec<SimInvitation>,
    ) -> SimOrg {
        SimOrg {
            id: id.into(),
            name: name.into(),
            invitations,
            behaviour: Behaviour::Normal,
            active_users: 0,
            rejected: 0,
            legacy_status_filter: false,
            is_deleted: false,
            invites_gone: false,
            projects: Vec::new(),
            teams: Vec::new(),
            churn: None,
        }
    }

    /// The invitations listed at `now` by a simulator whose churn counts from `started`: the declared
    /// ones, then the churned ones. Borrowed when there is no churn: the hot path copies nothing.
    pub fn listed_invitations(
        &self,
        started: Timestamp,
        now: Timestamp,
    ) -> Cow<'_, [SimInvitation]> {
        match self.churn {
            None => Cow::Borrowed(&self.invitations),
            Some(churn) => {
                let mut listed = self.invitations.clone();
                listed.extend(churn.invitations_at(&self.id, started, now));
                Cow::Owned(listed)
            }
        }
    }

    /// Makes invitations come and go on `churn`'s schedule.
    pub fn with_churn(mut self, churn: Churn) -> SimOrg {
        self.churn = Some(churn);
        self
    }

    /// Replaces the projects.
    pub fn with_projects(mut self, projects: Vec<SimProject>) -> SimOrg {
        self.projects = projects;
        self
    }

    /// Replaces the teams.
    pub fn with_teams(mut self, teams: Vec<SimTeam>) -> SimOrg {
        self.teams = teams;
        self
    }

    /// Replaces the number of generated ACTIVE members.
    pub fn with_active_users(mut self, active_users: u32) -> SimOrg {
        self.active_users = active_users;
        self
    }
}

/// How an organisation answers invites and users calls that carry no scripted fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Behaviour {
    /// Answer normally.
    #[default]
    Normal,
    /// 403 every time (the credential lacks the Organization Owner role).
    Forbidden,
    /// Every n-th call answers 429 `RATE_LIMITED_TOKEN_BUCKET` (n = 0: never), with `Retry-After` when set.
    RateLimitedEvery {
        /// Which calls are refused: every n-th (0: none).
        n: u32,
        /// The `Retry-After` seconds to send, if any.
        retry_after_secs: Option<u64>,
    },
}

/// A scripted misbehaviour, served once to one request in place of the normal answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// An Atlas ApiError body `{"detail","error","errorCode","reason"}`; no errorCode field when None.
    /// An out-of-range status becomes 500.
    Status {
        /// The HTTP status.
        status: u16,
        /// The `errorCode` field, if any.
        error_code: Option<String>,
        /// A `Retry-After` header value to send, if any.
        retry_after: Option<String>,
    },
    /// An Atlas ApiError body with this `detail`: Atlas' sentences may quote what the request sent,
    /// so a client must treat the text as untrusted (and never show a secret quoted in it).
    /// An out-of-range status becomes 500.
    Detail {
        /// The HTTP status.
        status: u16,
        /// The `errorCode` field.
        error_code: String,
        /// The `detail` field, as sent.
        detail: String,
    },
    /// An HTML error page (text/html), as a proxy in front of Atlas would send.
    Html {
        /// The HTTP status.
        status: u16,
    },
    /// 200 with a JSON syntax error.
    MalformedJson,
    /// 200 whose JSON is cut off halfway; the HTTP message itself is complete (Content-Length matches).
    TruncatedJson,
    /// 200 whose Content-Length promises the whole body, but the connection is closed (FIN) after half of it.
    TruncatedBody,
    /// 200 whose Content-Length promises the whole body; after half of it, and a pause long enough for the
    /// client to have read the headers, the connection is reset (TCP RST), as a crashing peer does.
    ResetMidBody,
    /// No answer at all: the connection is reset (TCP RST) as soon as the request is read.
    Reset,
    /// 200 with the normal body (and its Content-Length), sent `bytes_per_second` bytes a second (at
    /// least 1), the first ones at once. Only the client's own deadline ends it early.
    Trickle {
        /// How many bytes are sent each second.
        bytes_per_second: u32,
    },
    /// 200 with a chunked body that never ends: a JSON array of invitations, streamed until the client
    /// hangs up. Only a client that bounds what it reads survives it.
    Endless,
    /// 200 with valid JSON of the wrong shape: an object instead of the array on `/invites`, the bare
    /// results array instead of the paginated envelope on `/users` and `/orgs`, an array for the token.
    WrongShape,
    /// 200 whose dates are not RFC 3339 (for the token: a non-numeric `expires_in`; for `/orgs`, which
    /// has no dates: a string `isDeleted`).
    InvalidDates,
    /// 200 with a valid-looking JSON body padded to exactly this many bytes (at least 2).
    Oversized {
        /// The body's exact size.
        bytes: usize,
    },
    /// Wait, then answer normally.
    Delay(Duration),
    /// Never answer; the connection stays open until the client gives up or the simulator stops.
    Hang,
    /// An OAuth error body `{"error","error_description"}`, as the token endpoint sends.
    OAuthError {
        /// The HTTP status.
        status: u16,
        /// The OAuth `error` code, e.g. `invalid_client`.
        error: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::Timestamp;

    #[test]
    fn secrets_are_masked_by_characters_and_short_ones_show_nothing() {
        assert_eq!(
            masked_secret_value("mdb_sa_sk_0123456789abcd"),
            "mdb_sa_sk_...abcd"
        );
        assert_eq!(
            masked_secret_value("mdb_sa_sk_ééééabcdéfgh"),
            "mdb_sa_sk_...éfgh"
        );
        assert_eq!(masked_secret_value("0123456789abc"), "mdb_sa_sk_...");
        assert_eq!(masked_secret_value(""), "mdb_sa_sk_...");
    }

    #[test]
    fn resolve_truncates_to_seconds_and_never_overflows() {
        let now: Timestamp = "2024-05-01T12:34:56.789Z".parse().unwrap();
        assert_eq!(
            SimTime::FromNow(-60).resolve(now).to_string(),
            "2024-05-01T12:33:56Z"
        );
        assert_eq!(
            SimTime::FromNow(i64::MAX).resolve(now).as_second(),
            Timestamp::MAX.as_second()
        );
        assert_eq!(
            SimTime::FromNow(i64::MIN).resolve(now).as_second(),
            Timestamp::MIN.as_second()
        );
    }
}
