//! What the audit stream says of one lifecycle event, and what is remembered of one invitation
//! between two polls (and across restarts, in the state file).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

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
    pub id: InvitationId,
    /// `createdAt`, seconds since the epoch.
    pub created_at: i64,
    /// `expiresAt`, seconds since the epoch; `None` for a rejected invitation.
    pub expires_at: Option<i64>,
    /// Boxed: absent while the stream is off, and then a pointer, not 200 bytes, per invitation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<Box<InvitationDetails>>,
}

/// An invitation's id as remembered between polls. Atlas' ids are ObjectIds (24 lower-case hex
/// digits), held in their 12 bytes so that recording one on the poll path allocates nothing; any
/// other text is held as it came. Written and read as the text Atlas sent, in the state file too.
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum InvitationId {
    ObjectId([u8; 12]),
    Text(Box<str>),
}

impl InvitationId {
    /// The id of a body's `id` field (UTF-8, as the scanner checked it).
    pub fn from_bytes(bytes: &[u8]) -> InvitationId {
        match object_id(bytes) {
            Some(id) => InvitationId::ObjectId(id),
            None => InvitationId::Text(String::from_utf8_lossy(bytes).into()),
        }
    }
}

/// The 12 bytes of 24 lower-case hex digits; upper case is kept as text, so that an id is written
/// back exactly as Atlas wrote it.
fn object_id(text: &[u8]) -> Option<[u8; 12]> {
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    if text.len() != 24 {
        return None;
    }
    let mut id = [0; 12];
    for (byte, [high, low]) in id.iter_mut().zip(text.as_chunks::<2>().0) {
        *byte = digit(*high)? << 4 | digit(*low)?;
    }
    Some(id)
}

impl From<&str> for InvitationId {
    fn from(text: &str) -> InvitationId {
        InvitationId::from_bytes(text.as_bytes())
    }
}

impl From<String> for InvitationId {
    fn from(text: String) -> InvitationId {
        match object_id(text.as_bytes()) {
            Some(id) => InvitationId::ObjectId(id),
            None => InvitationId::Text(text.into_boxed_str()),
        }
    }
}

impl fmt::Display for InvitationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InvitationId::ObjectId(id) => id.iter().try_for_each(|byte| write!(f, "{byte:02x}")),
            InvitationId::Text(text) => f.write_str(text),
        }
    }
}

impl fmt::Debug for InvitationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.to_string())
    }
}

impl Serialize for InvitationId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for InvitationId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<InvitationId, D::Error> {
        String::deserialize(deserializer).map(InvitationId::from)
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_come_back_as_atlas_wrote_them() {
        for text in [
            "6523f1a0c8e4b2d9f0a1b001",
            "6523F1A0C8E4B2D9F0A1B001",
            "6523f1a0c8e4b2d9f0a1b00",
            "6523f1a0c8e4b2d9f0a1b0011",
            "6523f1a0c8e4b2d9f0a1b00g",
            "legacy-7",
            "",
            "é523f1a0c8e4b2d9f0a1b00",
        ] {
            let id = InvitationId::from(text);
            assert_eq!(id.to_string(), text);
            assert_eq!(InvitationId::from(text.to_owned()), id);
            let json = serde_json::to_string(&id).unwrap();
            assert_eq!(json, serde_json::to_string(text).unwrap());
            assert_eq!(serde_json::from_str::<InvitationId>(&json).unwrap(), id);
        }
    }

    #[test]
    fn object_ids_are_held_in_twelve_bytes() {
        assert_eq!(
            InvitationId::from("00ff10a0c8e4b2d9f0a1b001"),
            InvitationId::ObjectId([
                0x00, 0xff, 0x10, 0xa0, 0xc8, 0xe4, 0xb2, 0xd9, 0xf0, 0xa1, 0xb0, 0x01
            ])
        );
        assert!(matches!(
            InvitationId::from("00FF10a0c8e4b2d9f0a1b001"),
            InvitationId::Text(_)
        ));
        // Two ids differing in case are two ids, as Atlas' are.
        assert_ne!(
            InvitationId::from("00ff10a0c8e4b2d9f0a1b001"),
            InvitationId::from("00FF10a0c8e4b2d9f0a1b001")
        );
    }
}
