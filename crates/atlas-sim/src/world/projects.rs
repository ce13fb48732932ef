//! An organisation's projects (with their legacy project invitations and how their invitations
//! endpoint answers) and teams, as the world declares them.

use super::invitation::SimInvitation;

/// One project (an Atlas "group") of an organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimProject {
    /// 24 lowercase hex digits; its first 8 are its creation time, as in an ObjectId.
    pub id: String,
    /// The display name (`name` on `/groups`, `groupName` on its invitations); Atlas allows no spaces.
    pub name: String,
    /// Legacy project invitations, served by `/groups/{groupId}/invites` as `GroupInvitation`s: their
    /// `project_roles` are ignored and their `org_roles` are the `roles` served, which for these hold
    /// GROUP_* role names. Atlas' org listings never show them.
    pub invitations: Vec<SimInvitation>,
    /// Whether the caller may read its invitations.
    pub access: ProjectAccess,
}

impl SimProject {
    /// A project with no invitations and normal access.
    pub fn new(id: impl Into<String>, name: impl Into<String>) -> SimProject {
        SimProject {
            id: id.into(),
            name: name.into(),
            invitations: Vec::new(),
            access: ProjectAccess::Normal,
        }
    }

    /// Replaces the legacy project invitations.
    pub fn with_invitations(mut self, invitations: Vec<SimInvitation>) -> SimProject {
        self.invitations = invitations;
        self
    }

    /// Replaces the access.
    pub fn with_access(mut self, access: ProjectAccess) -> SimProject {
        self.access = access;
        self
    }
}

/// How a project's invitations endpoint answers an org member who passed the org's checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProjectAccess {
    /// Serve them.
    #[default]
    Normal,
    /// 403: the credential lacks the Project Owner role listGroupInvites needs.
    Forbidden,
    /// 410 `VERSION_GONE`: the endpoint is past its sunset for this project.
    Gone,
}

/// One team of an organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimTeam {
    /// 24 lowercase hex digits.
    pub id: String,
    /// The display name.
    pub name: String,
}

impl SimTeam {
    /// A team.
    pub fn new(id: impl Into<String>, name: impl Into<String>) -> SimTeam {
        SimTeam {
            id: id.into(),
            name: name.into(),
        }
    }
}
