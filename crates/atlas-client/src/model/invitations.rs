//! The invitations, as `listOrgInvites` and `listOrgUsers` send them, and the reference decoders
//! that turn them into [`Invitation`]s.

use jiff::Timestamp;
use serde::Deserialize;

use super::json::{Page, Text, parse_json};
use crate::ApiError;

/// One invitation, reduced to what its counting and its naming need: the reference decoders'
/// output. It holds the invitee's and the inviter's e-mail addresses (and shows them in `Debug`):
/// personal data, to be kept out of logs by whoever holds it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Invitation {
    /// The invitation's id (`id` of `listOrgInvites`), or the invited user's id (`id` of a pending
    /// `listOrgUsers` entry); empty when Atlas left it out.
    pub id: String,
    /// `username`: the invitee's e-mail address; empty when Atlas left it out.
    pub username: String,
    /// `inviterUsername`: who sent the invitation, where the body says.
    pub inviter_username: Option<String>,
    /// `teamIds`: the teams the invitee joins on accepting, as listed; empty when absent.
    pub team_ids: Vec<String>,
    /// When the invitation was sent.
    pub created_at: Timestamp,
    /// `None` only for rejected invitations from the org-users API, which never expire.
    pub expires_at: Option<Timestamp>,
    /// Organisation roles (`ORG_OWNER`, …), opaque strings: Atlas adds roles without notice.
    pub org_roles: Vec<String>,
    /// Project roles, one per project and role.
    pub project_roles: Vec<ProjectRole>,
}

/// One project role granted by an invitation: Atlas calls projects "groups".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProjectRole {
    /// The project's 24-hexadecimal-digit id, as Atlas sent it.
    pub project_id: String,
    /// The role's name (`GROUP_OWNER`, …).
    pub role: String,
}

/// One invitation as a decoder hands it to an [`crate::InvitationSink`], borrowed from the response
/// body where it can be: dates in seconds since the epoch, ids, addresses, role names and project
/// ids as UTF-8 bytes (checked by the decoder), so that a sink can count them without allocating.
///
/// [`InvitationView::new`] makes one with the counting fields only; [`InvitationView::with_identity`]
/// and [`InvitationView::with_teams`] add the rest.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct InvitationView<'a> {
    /// The invitation's id (`id` of `listOrgInvites`), or the invited user's id (`id` of a pending
    /// `listOrgUsers` entry); empty when Atlas left it out.
    pub id: &'a [u8],
    /// `username`: the invitee's e-mail address; empty when Atlas left it out.
    pub username: &'a [u8],
    /// `inviterUsername`: who sent the invitation; `None` when absent or null.
    pub inviter_username: Option<&'a [u8]>,
    /// `teamIds`: the teams the invitee joins on accepting, as listed (duplicates possible).
    pub team_ids: &'a [&'a [u8]],
    /// `createdAt`, seconds since the epoch (fractions dropped).
    pub created_at: i64,
    /// `expiresAt`, seconds since the epoch; `None` for a rejected invitation.
    pub expires_at: Option<i64>,
    /// Organisation roles, as listed (duplicates possible).
    pub org_roles: &'a [&'a [u8]],
    /// `(project id, role)` pairs, as listed (duplicates possible).
    pub project_roles: &'a [(&'a [u8], &'a [u8])],
}

impl<'a> InvitationView<'a> {
    /// A view of the given parts, with no id, addresses or teams; for sinks' tests and for
    /// decoders outside this crate.
    pub fn new(
        created_at: i64,
        expires_at: Option<i64>,
        org_roles: &'a [&'a [u8]],
        project_roles: &'a [(&'a [u8], &'a [u8])],
    ) -> InvitationView<'a> {
        InvitationView {
            id: b"",
            username: b"",
            inviter_username: None,
            team_ids: &[],
            created_at,
            expires_at,
            org_roles,
            project_roles,
        }
    }

    /// This view with who it is: the id, the invitee's address and the inviter's.
    pub fn with_identity(
        self,
        id: &'a [u8],
        username: &'a [u8],
        inviter_username: Option<&'a [u8]>,
    ) -> InvitationView<'a> {
        InvitationView {
            id,
            username,
            inviter_username,
            ..self
        }
    }

    /// This view with the teams the invitee joins.
    pub fn with_teams(self, team_ids: &'a [&'a [u8]]) -> InvitationView<'a> {
        InvitationView { team_ids, ..self }
    }
}

impl Invitation {
    /// Hands this invitation to `then` as an [`InvitationView`].
    pub fn with_view<T>(&self, then: impl FnOnce(InvitationView<'_>) -> T) -> T {
        let org_roles: Vec<&[u8]> = self.org_roles.iter().map(|r| r.as_bytes()).collect();
        let project_roles: Vec<(&[u8], &[u8])> = self
            .project_roles
            .iter()
            .map(|p| (p.project_id.as_bytes(), p.role.as_bytes()))
            .collect();
        let team_ids: Vec<&[u8]> = self.team_ids.iter().map(|t| t.as_bytes()).collect();
        then(
            InvitationView::new(
                self.created_at.as_second(),
                self.expires_at.map(Timestamp::as_second),
                &org_roles,
                &project_roles,
            )
            .with_identity(
                self.id.as_bytes(),
                self.username.as_bytes(),
                self.inviter_username.as_deref().map(str::as_bytes),
            )
            .with_teams(&team_ids),
        )
    }
}
/// `OrganizationInvitation` (`components.schemas`), as returned by `listOrgInvites`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrganizationInvitation<'a> {
    /// `id`: the invitation's 24-hexadecimal-digit id (read-only, so always sent).
    #[serde(borrow)]
    pub id: Option<Text<'a>>,
    /// `username`: the invitee's e-mail address; optional in the spec.
    #[serde(borrow)]
    pub username: Option<Text<'a>>,
    /// `inviterUsername`: who sent the invitation.
    #[serde(borrow)]
    pub inviter_username: Option<Text<'a>>,
    /// `teamIds`: the teams the invitee joins on accepting.
    #[serde(borrow)]
    pub team_ids: Option<Vec<Text<'a>>>,
    /// The spec marks it optional, but an invitation without dates cannot be counted: the listing is
    /// rejected rather than silently miscounted.
    pub created_at: Timestamp,
    /// `expiresAt`; optional in the spec too, and required here for the same reason as `created_at`.
    pub expires_at: Timestamp,
    /// `roles`: the organisation roles the invitee will get; `None` when absent.
    #[serde(borrow)]
    pub roles: Option<Vec<Text<'a>>>,
    /// `groupRoleAssignments`: the projects the invitee will be added to on accepting, one role
    /// each; `None` when absent.
    #[serde(borrow)]
    pub group_role_assignments: Option<Vec<GroupRole<'a>>>,
    /// `orgName`, the organisation's human-readable name. Required by the spec, yet tolerated absent:
    /// counting does not need it.
    #[serde(borrow)]
    pub org_name: Option<Text<'a>>,
}

/// `GroupRole`: one project ("group") role granted by an invitation. Both fields are optional in the spec.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupRole<'a> {
    /// `groupId`: the project's 24-hexadecimal-digit id.
    #[serde(borrow)]
    pub group_id: Option<Text<'a>>,
    /// `groupRole`: the role's name (`GROUP_OWNER`, …); a free-form string in the spec.
    #[serde(borrow)]
    pub group_role: Option<Text<'a>>,
}

/// The invitations of one organisation, in our own terms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrgInvitations {
    /// Every invitation of the listing, in Atlas' order.
    pub invitations: Vec<Invitation>,
    /// `orgName` of the first invitation that had one.
    pub org_name: Option<String>,
}

/// Decodes a `listOrgInvites` body (a bare JSON array) into our invitation type.
pub fn parse_org_invitations(body: &[u8]) -> Result<OrgInvitations, ApiError> {
    let wire: Vec<OrganizationInvitation<'_>> = parse_json(body)?;
    let mut org_name = None;
    let invitations = wire
        .into_iter()
        .map(|invitation| {
            if org_name.is_none() {
                org_name = invitation.org_name.map(Text::into_owned);
            }
            Invitation {
                id: owned_or_empty(invitation.id),
                username: owned_or_empty(invitation.username),
                inviter_username: invitation.inviter_username.map(Text::into_owned),
                team_ids: owned_all(invitation.team_ids),
                created_at: invitation.created_at,
                expires_at: Some(invitation.expires_at),
                org_roles: invitation
                    .roles
                    .unwrap_or_default()
                    .into_iter()
                    .map(Text::into_owned)
                    .collect(),
                project_roles: invitation
                    .group_role_assignments
                    .unwrap_or_default()
                    .into_iter()
                    // A role without its project (or the reverse) grants nothing we can count.
                    .filter_map(
                        |assignment| match (assignment.group_id, assignment.group_role) {
                            (Some(project), Some(role)) => Some(ProjectRole {
                                project_id: project.into_owned(),
                                role: role.into_owned(),
                            }),
                            _ => None,
                        },
                    )
                    .collect(),
            }
        })
        .collect();
    Ok(OrgInvitations {
        invitations,
        org_name,
    })
}
/// `PaginatedOrgUserView`, as returned by `listOrgUsers` on resource version 2025-02-19.
/// `links` is not declared: pagination goes by `pageNum` (which `rel` values Atlas sends is unconfirmed).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaginatedOrgUserView<'a> {
    /// `results`: this page's members and invitations.
    #[serde(borrow)]
    pub results: Vec<OrgUserResponse<'a>>,
    /// `totalCount`: the spec's estimate of entries across all pages. Atlas omits it only when asked
    /// `includeCount=false`, which this client never sends.
    pub total_count: Option<u64>,
}

/// `OrgUserResponse`: a member (`OrgActiveUserResponse`) or an invitation (`OrgPendingUserResponse`),
/// told apart by `orgMembershipStatus`. The invitation dates stay text until the status says they
/// matter, so an active user, or an entry of a status Atlas adds later, can never fail the page.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrgUserResponse<'a> {
    /// `id`: the user's 24-hexadecimal-digit id (required by the spec, tolerated absent).
    #[serde(borrow)]
    pub id: Option<Text<'a>>,
    /// `username`: the user's e-mail address (required by the spec, tolerated absent).
    #[serde(borrow)]
    pub username: Option<Text<'a>>,
    /// `inviterUsername`: who sent the invitation; pending entries only (`OrgPendingUserResponse`).
    #[serde(borrow)]
    pub inviter_username: Option<Text<'a>>,
    /// `teamIds`: the teams the user is in, or joins on accepting.
    #[serde(borrow)]
    pub team_ids: Option<Vec<Text<'a>>>,
    /// `orgMembershipStatus`: whether this entry is a member or an invitation, and in which state.
    pub org_membership_status: MembershipStatus,
    /// Required by the spec; an invitation without it grants no role we could count.
    #[serde(borrow)]
    pub roles: Option<OrgUserRolesResponse<'a>>,
    /// `invitationCreatedAt`, when the invitation was sent: required for invitations, absent for
    /// active users. Parsed as an RFC 3339 date-time only for pending and expired entries.
    #[serde(borrow)]
    pub invitation_created_at: Option<Text<'a>>,
    /// `null` for rejected invitations, absent for active users.
    #[serde(borrow)]
    pub invitation_expires_at: Option<Text<'a>>,
}

/// `orgMembershipStatus`. The enum grew inside resource version 2025-02-19 (`INVITATION_EXPIRED`,
/// `INVITATION_REJECTED`), so it may grow again: anything else is `Unknown`, not an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MembershipStatus {
    /// `PENDING`: invited, not yet accepted.
    Pending,
    /// `INVITATION_EXPIRED`: the invitation expired before it was accepted.
    InvitationExpired,
    /// `INVITATION_REJECTED`: the invitee declined; it grants nothing and has no expiry date.
    InvitationRejected,
    /// `ACTIVE`: a member of the organisation, not an invitation.
    Active,
    /// Any status this code does not know; such entries are skipped.
    #[serde(other)]
    Unknown,
}

impl MembershipStatus {
    /// The status as Atlas spells it (`Unknown` stands for any other spelling).
    pub fn as_str(self) -> &'static str {
        match self {
            MembershipStatus::Pending => "PENDING",
            MembershipStatus::InvitationExpired => "INVITATION_EXPIRED",
            MembershipStatus::InvitationRejected => "INVITATION_REJECTED",
            MembershipStatus::Active => "ACTIVE",
            MembershipStatus::Unknown => "unknown",
        }
    }
}

/// `OrgUserRolesResponse`. Both arrays are optional in the spec.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrgUserRolesResponse<'a> {
    /// `orgRoles`: the organisation roles (`ORG_OWNER`, …); `None` when absent.
    #[serde(borrow)]
    pub org_roles: Option<Vec<Text<'a>>>,
    /// `groupRoleAssignments`: the project roles, grouped by project; `None` when absent.
    #[serde(borrow)]
    pub group_role_assignments: Option<Vec<GroupRoleAssignment<'a>>>,
}

/// `GroupRoleAssignment`: every role of one project, unlike the invitations API's one-role `GroupRole`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupRoleAssignment<'a> {
    /// `groupId`: the project's 24-hexadecimal-digit id.
    #[serde(borrow)]
    pub group_id: Option<Text<'a>>,
    /// `groupRoles`: the role names granted in that project (`GROUP_OWNER`, …).
    #[serde(borrow)]
    pub group_roles: Option<Vec<Text<'a>>>,
}

/// Decodes one `listOrgUsers` page, keeping the pending and expired invitations.
/// Public only for the fuzz targets and property tests.
#[doc(hidden)]
pub fn parse_org_users_page(body: &[u8]) -> Result<Page<Invitation>, ApiError> {
    let wire: PaginatedOrgUserView<'_> = parse_json(body)?;
    let results = wire.results.len();
    let mut items = Vec::with_capacity(results);
    for user in wire.results {
        if let Some(invitation) = user.into_invitation()? {
            items.push(invitation);
        }
    }
    Ok(Page {
        items,
        results,
        total_count: wire.total_count,
    })
}

impl OrgUserResponse<'_> {
    /// The invitation this entry stands for, or `None` for members, rejected invitations (which
    /// grant nothing) and statuses newer than this code.
    fn into_invitation(self) -> Result<Option<Invitation>, ApiError> {
        if !matches!(
            self.org_membership_status,
            MembershipStatus::Pending | MembershipStatus::InvitationExpired
        ) {
            return Ok(None);
        }
        let created_at = self
            .invitation_created_at
            .ok_or_else(|| ApiError::InvalidResponse {
                reason: format!(
                    "a {} user has no invitationCreatedAt",
                    self.org_membership_status.as_str()
                ),
            })?;
        let created_at = parse_date_time("invitationCreatedAt", &created_at)?;
        let expires_at = self
            .invitation_expires_at
            .map(|expires_at| parse_date_time("invitationExpiresAt", &expires_at))
            .transpose()?;
        let (org_roles, assignments) = self
            .roles
            .map(|roles| (roles.org_roles, roles.group_role_assignments))
            .unwrap_or_default();
        let project_roles = assignments
            .unwrap_or_default()
            .into_iter()
            // Roles without their project (or a project without roles) grant nothing we can count.
            .filter_map(|assignment| Some((assignment.group_id?, assignment.group_roles?)))
            .flat_map(|(project, roles)| {
                let project = project.into_owned();
                roles.into_iter().map(move |role| ProjectRole {
                    project_id: project.clone(),
                    role: role.into_owned(),
                })
            })
            .collect();
        Ok(Some(Invitation {
            id: owned_or_empty(self.id),
            username: owned_or_empty(self.username),
            inviter_username: self.inviter_username.map(Text::into_owned),
            team_ids: owned_all(self.team_ids),
            created_at,
            expires_at,
            org_roles: org_roles
                .unwrap_or_default()
                .into_iter()
                .map(Text::into_owned)
                .collect(),
            project_roles,
        }))
    }
}

/// The string, or empty when absent or null: an id or an address is not needed to count.
fn owned_or_empty(text: Option<Text<'_>>) -> String {
    text.map(Text::into_owned).unwrap_or_default()
}

/// Every string of an optional array, owned; empty when absent or null.
fn owned_all(texts: Option<Vec<Text<'_>>>) -> Vec<String> {
    texts
        .unwrap_or_default()
        .into_iter()
        .map(Text::into_owned)
        .collect()
}

/// An RFC 3339 date-time with its offset, as the spec's `format: date-time` promises.
fn parse_date_time(field: &str, text: &Text<'_>) -> Result<Timestamp, ApiError> {
    text.0.parse().map_err(|error| ApiError::InvalidResponse {
        reason: format!("{field} is not an RFC 3339 date-time ({error})"),
    })
}
