//! Our own invitation type: what an invitation means to the metrics, whichever Atlas API it came from.

use jiff::Timestamp;

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

/// One project role granted by an invitation: Atlas calls projects "groups".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProjectRole {
    pub project_id: String,
    pub role: String,
}

/// One invitation, reduced to the fields the metrics use. No e-mail addresses are kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invitation {
    pub created_at: Timestamp,
    /// `None` only for rejected invitations from the org-users API, which never expire.
    pub expires_at: Option<Timestamp>,
    /// Organisation roles (`ORG_OWNER`, …), opaque strings: Atlas adds roles without notice.
    pub org_roles: Vec<String>,
    pub project_roles: Vec<ProjectRole>,
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
