//! The body of `GET /orgs/{orgId}/users`: an org's invitations, rejected invitations and active
//! members in listing order, serialised as `PaginatedOrgUserView` (2025-02-19) or
//! `PaginatedAppUserView` (2023-01-01) with field names exactly as the OpenAPI spec.

use jiff::Timestamp;
use serde::Serialize;

// Through the re-export that the handlers' own listings use too.
use super::paginate;
use super::users::{MembershipStatus, UsersQuery};
use crate::response::{DateStyle, Link};
use crate::world::{DAY, SimInvitation, SimTime};

/// One entry of an org's member list, in the order `/users` lists them.
#[derive(Debug, Clone, Copy)]
enum Member<'a> {
    Invited(&'a SimInvitation, MembershipStatus),
    /// The n-th (from 1) generated rejected invitation.
    Rejected(u32),
    /// The n-th (from 1) generated active member.
    Active(u32),
}

/// An org's members and invitations, and how `/users` serialises them.
#[derive(Debug)]
pub(crate) struct OrgMembers<'a> {
    pub(crate) base_url: &'a str,
    pub(crate) org_id: &'a str,
    pub(crate) invitations: &'a [SimInvitation],
    pub(crate) active_users: u32,
    pub(crate) rejected: u32,
    /// An older Atlas: no INVITATION_EXPIRED or INVITATION_REJECTED; expired invitations stay PENDING.
    pub(crate) legacy: bool,
    pub(crate) now: Timestamp,
}

impl<'a> OrgMembers<'a> {
    /// Every entry with one of `statuses` (and `username`, when given), in a stable order: invitations as
    /// declared, then rejected invitations, then active members.
    fn members(&self, statuses: &[MembershipStatus], username: Option<&str>) -> Vec<Member<'a>> {
        let invitations = self.invitations.iter().map(|invitation| {
            let expired = invitation.expires.resolve(self.now) <= self.now;
            let status = if expired && !self.legacy {
                MembershipStatus::InvitationExpired
            } else {
                MembershipStatus::Pending
            };
            Member::Invited(invitation, status)
        });
        let rejected = if self.legacy { 0 } else { self.rejected };
        let all = invitations
            .chain((1..=rejected).map(Member::Rejected))
            .chain((1..=self.active_users).map(Member::Active));
        all.filter(|member| statuses.contains(&member.status()))
            .filter(|member| {
                username.is_none_or(|wanted| member.username().eq_ignore_ascii_case(wanted))
            })
            .collect()
    }

    /// `PaginatedOrgUserView` (2025-02-19).
    pub(crate) fn with_pending(
        &self,
        query: &UsersQuery,
        resource_url: &str,
        raw_query: Option<&str>,
        dates: DateStyle,
    ) -> serde_json::Value {
        let members = self.members(&query.statuses, query.username.as_deref());
        let items: Vec<OrgUserResponse<'_>> = members
            .iter()
            .map(|member| self.org_user(*member, dates))
            .collect();
        paginate(&items, &query.page, resource_url, raw_query)
    }

    /// `PaginatedAppUserView` (2023-01-01): active members only.
    pub(crate) fn active_only(
        &self,
        query: &UsersQuery,
        resource_url: &str,
        raw_query: Option<&str>,
        dates: DateStyle,
    ) -> serde_json::Value {
        let items: Vec<CloudAppUser<'_>> = (1..=self.active_users)
            .map(|n| self.cloud_app_user(n, dates))
            .collect();
        paginate(&items, &query.page, resource_url, raw_query)
    }

    /// Generated ids end in the org id's last 14 digits, a kind and a counter, so they are valid,
    /// stable across calls and unique across orgs.
    fn generated_id(&self, kind: u8, n: u32) -> String {
        let org_part = self.org_id.get(10..).unwrap_or("00000000000000");
        format!("{org_part}{kind:02x}{n:08x}")
    }

    fn org_user(&self, member: Member<'a>, dates: DateStyle) -> OrgUserResponse<'a> {
        let status = member.status().as_str();
        match member {
            Member::Invited(invitation, _) => OrgUserResponse::Pending(OrgPendingUserResponse {
                id: invitation.id.clone(),
                invitation_created_at: dates.render(invitation.created.resolve(self.now)),
                invitation_expires_at: Some(dates.render(invitation.expires.resolve(self.now))),
                inviter_username: invitation.inviter_username.clone(),
                org_membership_status: status,
                roles: OrgUserRolesResponse::of(invitation),
                team_ids: invitation.team_ids(),
                username: invitation.username.clone(),
            }),
            Member::Rejected(n) => OrgUserResponse::Pending(OrgPendingUserResponse {
                id: self.generated_id(0xe0, n),
                invitation_created_at: dates
                    .render(SimTime::FromNow(-(20 * DAY + i64::from(n) * 60)).resolve(self.now)),
                invitation_expires_at: None,
                inviter_username: Some("owner@example.com".to_owned()),
                org_membership_status: status,
                roles: OrgUserRolesResponse::member(),
                team_ids: Vec::new(),
                username: member.username(),
            }),
            Member::Active(n) => OrgUserResponse::Active(OrgActiveUserResponse {
                created_at: dates.render(self.member_since(n)),
                first_name: "Active",
                id: self.generated_id(0xac, n),
                last_name: format!("User {n}"),
                org_membership_status: status,
                roles: if n == 1 {
                    OrgUserRolesResponse::owner()
                } else {
                    OrgUserRolesResponse::member()
                },
                team_ids: [],
                username: member.username(),
            }),
        }
    }

    fn cloud_app_user(&self, n: u32, dates: DateStyle) -> CloudAppUser<'a> {
        let id = self.generated_id(0xac, n);
        let username = Member::Active(n).username();
        CloudAppUser {
            country: "US",
            created_at: dates.render(self.member_since(n)),
            email_address: username.clone(),
            first_name: "Active",
            last_name: format!("User {n}"),
            links: vec![Link {
                href: format!("{}/api/atlas/v2/users/{id}", self.base_url),
                rel: "self",
            }],
            id,
            mobile_number: "2125550100",
            roles: vec![CloudAccessRoleAssignment {
                org_id: self.org_id,
                role_name: if n == 1 { "ORG_OWNER" } else { "ORG_MEMBER" },
            }],
            team_ids: [],
            username,
        }
    }

    fn member_since(&self, n: u32) -> Timestamp {
        SimTime::FromNow(-(400 * DAY + i64::from(n) * 3600)).resolve(self.now)
    }
}

impl Member<'_> {
    fn status(&self) -> MembershipStatus {
        match self {
            Member::Invited(_, status) => *status,
            Member::Rejected(_) => MembershipStatus::InvitationRejected,
            Member::Active(_) => MembershipStatus::Active,
        }
    }

    fn username(&self) -> String {
        match self {
            Member::Invited(invitation, _) => invitation.username.clone(),
            Member::Rejected(n) => format!("rejected{n}@example.com"),
            Member::Active(n) => format!("user{n}@example.com"),
        }
    }
}

/// `OrgUserResponse`: its discriminator is `orgMembershipStatus`, so no tag of our own.
#[derive(Debug, Serialize)]
#[serde(untagged)]
enum OrgUserResponse<'a> {
    Pending(OrgPendingUserResponse<'a>),
    Active(OrgActiveUserResponse<'a>),
}

/// `OrgPendingUserResponse`, also for INVITATION_EXPIRED and INVITATION_REJECTED.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct OrgPendingUserResponse<'a> {
    id: String,
    invitation_created_at: String,
    /// Null for rejected invitations.
    invitation_expires_at: Option<String>,
    /// The spec lists it as required here, unlike on `OrganizationInvitation`; an invitation naming no
    /// inviter still leaves it out (never null), so that `/users` shows the same invitation as
    /// `/invites` does and a client reading either must cope with its absence.
    #[serde(skip_serializing_if = "Option::is_none")]
    inviter_username: Option<String>,
    org_membership_status: &'static str,
    roles: OrgUserRolesResponse<'a>,
    team_ids: Vec<&'a str>,
    username: String,
}

/// `OrgActiveUserResponse`, with only the required fields (and `teamIds`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct OrgActiveUserResponse<'a> {
    created_at: String,
    first_name: &'static str,
    id: String,
    last_name: String,
    org_membership_status: &'static str,
    roles: OrgUserRolesResponse<'a>,
    team_ids: [&'static str; 0],
    username: String,
}

/// `OrgUserRolesResponse`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct OrgUserRolesResponse<'a> {
    group_role_assignments: Vec<GroupRoleAssignment<'a>>,
    org_roles: Vec<&'a str>,
}

/// `GroupRoleAssignment`: all of one project's roles together.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct GroupRoleAssignment<'a> {
    group_id: &'a str,
    group_roles: Vec<&'a str>,
}

impl<'a> OrgUserRolesResponse<'a> {
    /// Project roles grouped by project in first-seen order, each list without repeats (`uniqueItems`).
    fn of(invitation: &'a SimInvitation) -> OrgUserRolesResponse<'a> {
        let mut assignments: Vec<GroupRoleAssignment<'a>> = Vec::new();
        for (group_id, role) in &invitation.project_roles {
            match assignments
                .iter_mut()
                .find(|assignment| assignment.group_id == group_id.as_str())
            {
                Some(assignment) if assignment.group_roles.contains(&role.as_str()) => {}
                Some(assignment) => assignment.group_roles.push(role),
                None => assignments.push(GroupRoleAssignment {
                    group_id,
                    group_roles: vec![role],
                }),
            }
        }
        let mut org_roles: Vec<&str> = Vec::new();
        for role in &invitation.org_roles {
            if !org_roles.contains(&role.as_str()) {
                org_roles.push(role);
            }
        }
        OrgUserRolesResponse {
            group_role_assignments: assignments,
            org_roles,
        }
    }

    fn member() -> OrgUserRolesResponse<'a> {
        OrgUserRolesResponse {
            group_role_assignments: Vec::new(),
            org_roles: vec!["ORG_MEMBER"],
        }
    }

    fn owner() -> OrgUserRolesResponse<'a> {
        OrgUserRolesResponse {
            group_role_assignments: Vec::new(),
            org_roles: vec!["ORG_OWNER"],
        }
    }
}

/// `CloudAppUser` as the 2023-01-01 version serves it (never with `password`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct CloudAppUser<'a> {
    country: &'static str,
    created_at: String,
    email_address: String,
    first_name: &'static str,
    id: String,
    last_name: String,
    links: Vec<Link>,
    mobile_number: &'static str,
    roles: Vec<CloudAccessRoleAssignment<'a>>,
    team_ids: [&'static str; 0],
    username: String,
}

/// `CloudAccessRoleAssignment` for an org role.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct CloudAccessRoleAssignment<'a> {
    org_id: &'a str,
    role_name: &'static str,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_roles_are_grouped_by_project_without_repeats() {
        let invitation = SimInvitation::sent_ago("6523f1a0c8e4b2d9f0a1e101", "a@example.com", 60)
            .with_org_roles(["ORG_MEMBER", "ORG_MEMBER", "ORG_GROUP_CREATOR"])
            .with_project_role("6523f1a0c8e4b2d9f0a1c101", "GROUP_OWNER")
            .with_project_role("6523f1a0c8e4b2d9f0a1c102", "GROUP_READ_ONLY")
            .with_project_role("6523f1a0c8e4b2d9f0a1c101", "GROUP_READ_ONLY")
            .with_project_role("6523f1a0c8e4b2d9f0a1c101", "GROUP_OWNER");
        let roles = serde_json::to_value(OrgUserRolesResponse::of(&invitation)).unwrap();
        assert_eq!(
            roles,
            serde_json::json!({
                "orgRoles": ["ORG_MEMBER", "ORG_GROUP_CREATOR"],
                "groupRoleAssignments": [
                    {"groupId": "6523f1a0c8e4b2d9f0a1c101", "groupRoles": ["GROUP_OWNER", "GROUP_READ_ONLY"]},
                    {"groupId": "6523f1a0c8e4b2d9f0a1c102", "groupRoles": ["GROUP_READ_ONLY"]}
                ]
            })
        );
    }

    #[test]
    fn generated_ids_are_atlas_ids_unique_across_orgs_and_kinds() {
        let members = |org_id: &'static str| OrgMembers {
            base_url: "http://x",
            org_id,
            invitations: &[],
            active_users: 0,
            rejected: 0,
            legacy: false,
            now: Timestamp::UNIX_EPOCH,
        };
        let a = members("6523f1a0c8e4b2d9f0a1b001");
        let b = members("6523f1a0c8e4b2d9f0a1b002");
        let ids = [
            a.generated_id(0xac, 1),
            a.generated_id(0xe0, 1),
            a.generated_id(0xac, 2),
            b.generated_id(0xac, 1),
        ];
        for id in &ids {
            assert_eq!(id.len(), 24, "{id}");
            assert!(
                id.bytes()
                    .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
            );
        }
        let mut unique = ids.to_vec();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), ids.len());
    }
}
