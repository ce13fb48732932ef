//! What the audit stream says of one lifecycle event, and what is remembered of one invitation
//! between two polls (and across restarts, in the state file).

use serde::{Deserialize, Serialize};

/// A lifecycle event of one invitation, between two successful polls of its organisation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// An id not seen at the previous poll.
    Created,
    /// An id gone before its expiry: accepted or revoked.
    Removed,
    /// Its `expiresAt` passed since the previous poll, listed or not.
    Expired,
}

impl EventKind {
    /// The `event` label value, and the `event` field of an audit line.
    pub fn label(self) -> &'static str {
        match self {
            EventKind::Created => "created",
            EventKind::Removed => "removed",
            EventKind::Expired => "expired",
        }
    }
}

/// The personal part of an invitation: kept only while the audit stream is on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationDetails {
    /// The invitee's address (`username`), as Atlas wrote it.
    pub invitee: String,
    /// `inviterUsername`, when Atlas gave one.
    pub inviter: Option<String>,
    /// Every role granted, org and project roles, each once.
    pub roles: Vec<String>,
    pub project_ids: Vec<String>,
    pub team_ids: Vec<String>,
    /// `internal`, `external` or `free_mail`.
    pub domain_class: String,
    /// `owner`, `admin`, `write` or `read`: the highest of its roles.
    pub tier: String,
    /// `owner_external`, `free_mail`, `unexpected_inviter`, as the metric's `reason`.
    pub risk_reasons: Vec<String>,
}

/// What is remembered of one invitation from one poll to the next: its id and dates always; its
/// details only while the audit stream is on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeenInvitation {
    /// The invitation id (`id`), or the org user id on the org-users source.
    pub id: String,
    /// `createdAt`, seconds since the epoch.
    pub created_at: i64,
    /// `expiresAt`, seconds since the epoch; `None` for a rejected invitation.
    pub expires_at: Option<i64>,
    /// Boxed: absent while the stream is off, and then a pointer, not 200 bytes, per invitation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<Box<InvitationDetails>>,
}

/// One line of the audit stream.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// The same event always gets the same id: a shipper deduplicates on it (the stream is
    /// at-least-once across a crash).
    pub event_id: String,
    /// When the exporter saw the event: the poll's time (taken before its org listing, the instant
    /// its expiries and ages are counted against), RFC 3339.
    pub time: String,
    pub org_id: String,
    pub org_name: String,
    /// `created`, `removed` or `expired`.
    pub event: String,
    pub invitation_id: String,
    /// `createdAt`, RFC 3339.
    pub created_at: String,
    /// `expiresAt`, RFC 3339.
    pub expires_at: Option<String>,
    /// The invitee, inviter, roles, projects, teams and policy classes; absent only for an
    /// invitation remembered from before the stream was turned on.
    #[serde(flatten, default, skip_serializing_if = "Option::is_none")]
    pub details: Option<InvitationDetails>,
}
