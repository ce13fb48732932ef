//! One invitation as the simulator serves it (`SimInvitation`), and the times it is declared with
//! (`SimTime`), relative to each response or fixed.

use jiff::Timestamp;

/// Atlas invitations expire 30 days after they are sent (reference §9).
pub const INVITATION_LIFETIME_SECS: i64 = 30 * 24 * 3600;

/// One organisation invitation, as the simulator will serialise it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimInvitation {
    /// 24 lowercase hex digits.
    pub id: String,
    /// The invitee (`username`, an email address).
    pub username: String,
    /// Who sent the invitation (`inviterUsername`); None leaves the field out of every listing, as
    /// the exporter must count an invitation nobody is named for as sent by an unexpected inviter.
    pub inviter_username: Option<String>,
    /// When it was sent (`createdAt`).
    pub created: SimTime,
    /// When it expires (`expiresAt`).
    pub expires: SimTime,
    /// Organisation roles (`roles`).
    pub org_roles: Vec<String>,
    /// Project roles (`groupRoleAssignments`) as (groupId, groupRole).
    pub project_roles: Vec<(String, String)>,
    /// The teams the invitee joins (`teamIds`), served once each, in this order.
    pub team_ids: Vec<String>,
}

impl SimInvitation {
    /// A pending ORG_MEMBER invitation sent `created_secs_ago` seconds before each response, with Atlas's
    /// 30-day lifetime. Adjust the public fields or use the `with_*` methods for anything else.
    pub fn sent_ago(
        id: impl Into<String>,
        username: impl Into<String>,
        created_secs_ago: i64,
    ) -> SimInvitation {
        let created = created_secs_ago.saturating_neg();
        SimInvitation {
            id: id.into(),
            username: username.into(),
            inviter_username: Some("owner@example.com".to_owned()),
            created: SimTime::FromNow(created),
            expires: SimTime::FromNow(created.saturating_add(INVITATION_LIFETIME_SECS)),
            org_roles: vec!["ORG_MEMBER".to_owned()],
            project_roles: Vec::new(),
            team_ids: Vec::new(),
        }
    }

    /// `teamIds` as served: each team once (`uniqueItems`), in declared order.
    pub(crate) fn team_ids(&self) -> Vec<&str> {
        let mut ids: Vec<&str> = Vec::new();
        for id in &self.team_ids {
            if !ids.contains(&id.as_str()) {
                ids.push(id);
            }
        }
        ids
    }

    /// Replaces the teams the invitee joins.
    pub fn with_team_ids<I, S>(mut self, team_ids: I) -> SimInvitation
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.team_ids = team_ids.into_iter().map(Into::into).collect();
        self
    }

    /// Replaces the organisation roles.
    pub fn with_org_roles<I, S>(mut self, roles: I) -> SimInvitation
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.org_roles = roles.into_iter().map(Into::into).collect();
        self
    }

    /// Adds one project role assignment.
    pub fn with_project_role(
        mut self,
        group_id: impl Into<String>,
        role: impl Into<String>,
    ) -> SimInvitation {
        self.project_roles.push((group_id.into(), role.into()));
        self
    }

    /// Replaces the inviter.
    pub fn with_inviter(mut self, inviter_username: impl Into<String>) -> SimInvitation {
        self.inviter_username = Some(inviter_username.into());
        self
    }

    /// Names no inviter: `inviterUsername` is left out (never null) on `/invites`, `/users` and
    /// `/groups/{groupId}/invites`.
    pub fn without_inviter(mut self) -> SimInvitation {
        self.inviter_username = None;
        self
    }

    /// Replaces both dates.
    pub fn with_dates(mut self, created: SimTime, expires: SimTime) -> SimInvitation {
        self.created = created;
        self.expires = expires;
        self
    }
}

/// A date, either fixed or relative to the moment a response is built (so the demo stays realistic).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimTime {
    /// This instant, whenever the response is built.
    At(Timestamp),
    /// Seconds relative to the moment the response is built; negative is the past.
    FromNow(i64),
}

impl SimTime {
    /// The instant this stands for, truncated to whole seconds as Atlas serves them.
    pub fn resolve(self, now: Timestamp) -> Timestamp {
        let seconds = match self {
            SimTime::At(at) => at.as_second(),
            SimTime::FromNow(offset) => now.as_second().saturating_add(offset),
        };
        let clamped = seconds.clamp(Timestamp::MIN.as_second(), Timestamp::MAX.as_second());
        Timestamp::from_second(clamped).unwrap_or(now)
    }
}
