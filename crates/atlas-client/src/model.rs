//! The Atlas JSON we read, as serde types: field names checked against the official OpenAPI spec.
//!
//! Only the fields the exporter uses are declared; serde ignores the rest, so e-mail addresses
//! (`username`, `inviterUsername`) are never even decoded. Strings borrow from the response body
//! unless they contain escapes. Role names stay opaque strings: Atlas adds roles without notice.

use std::borrow::Cow;

use jiff::Timestamp;
use secrecy::SecretString;
use serde::Deserialize;

use crate::ApiError;

/// One invitation, reduced to what its counting needs: the reference decoders' output. No e-mail
/// addresses are kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invitation {
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
/// body where it can be: dates in seconds since the epoch, role names and project ids as UTF-8 bytes
/// (checked by the decoder), so that a sink can count them without allocating.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct InvitationView<'a> {
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
    /// A view of the given parts; for sinks' tests and for decoders outside this crate.
    pub fn new(
        created_at: i64,
        expires_at: Option<i64>,
        org_roles: &'a [&'a [u8]],
        project_roles: &'a [(&'a [u8], &'a [u8])],
    ) -> InvitationView<'a> {
        InvitationView {
            created_at,
            expires_at,
            org_roles,
            project_roles,
        }
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
        then(InvitationView {
            created_at: self.created_at.as_second(),
            expires_at: self.expires_at.map(Timestamp::as_second),
            org_roles: &org_roles,
            project_roles: &project_roles,
        })
    }
}

/// A JSON string, borrowed from the body when it has no escape sequences.
#[derive(Clone, Debug, Deserialize)]
#[serde(transparent)]
pub struct Text<'a>(#[serde(borrow)] pub Cow<'a, str>);

impl Text<'_> {
    fn into_owned(self) -> String {
        self.0.into_owned()
    }
}

impl AsRef<str> for Text<'_> {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// `OrganizationInvitation` (`components.schemas`), as returned by `listOrgInvites`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrganizationInvitation<'a> {
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

/// What a page said about itself, for pagination.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageCounts {
    /// Entries on the page, skipped ones included.
    pub results: usize,
    /// `totalCount`, when Atlas sent it.
    pub total_count: Option<u64>,
}

/// One page of a paginated listing (`Paginated…View`), already in our own terms.
/// Public only for the fuzz targets and property tests.
#[doc(hidden)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// How many entries the page held, skipped ones included: pagination counts these, not `items`.
    pub results: usize,
    /// `totalCount`, when Atlas sent it. The spec calls it an estimate.
    pub total_count: Option<u64>,
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

/// An RFC 3339 date-time with its offset, as the spec's `format: date-time` promises.
fn parse_date_time(field: &str, text: &Text<'_>) -> Result<Timestamp, ApiError> {
    text.0.parse().map_err(|error| ApiError::InvalidResponse {
        reason: format!("{field} is not an RFC 3339 date-time ({error})"),
    })
}

/// An organisation the credentials can see, from `listOrgs`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Organization {
    /// 24 hexadecimal digits, as Atlas sent it (not validated here).
    pub id: String,
    /// The organisation's human-readable name, as Atlas sent it.
    pub name: String,
    /// Deleted organisations are still listed; they have no invitations to poll.
    pub is_deleted: bool,
}

/// `PaginatedOrganizationView`, as returned by `listOrgs`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaginatedOrganizationView<'a> {
    /// `results`: this page's organisations.
    #[serde(borrow)]
    pub results: Vec<AtlasOrganization<'a>>,
    /// `totalCount`: the spec's estimate of entries across all pages. Atlas omits it only when asked
    /// `includeCount=false`, which this client never sends.
    pub total_count: Option<u64>,
}

/// `AtlasOrganization`. `id` is read-only, so always in responses; an organisation without one could
/// not be polled, and the listing is rejected rather than silently shortened.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AtlasOrganization<'a> {
    /// `id`: the organisation's 24-hexadecimal-digit id.
    #[serde(borrow)]
    pub id: Text<'a>,
    /// `name`: the organisation's human-readable name (required by the spec).
    #[serde(borrow)]
    pub name: Text<'a>,
    /// `isDeleted`; `None` when absent, which [`Organization::is_deleted`] reads as not deleted.
    pub is_deleted: Option<bool>,
}

/// Decodes one `listOrgs` page.
pub(crate) fn parse_organizations_page(body: &[u8]) -> Result<Page<Organization>, ApiError> {
    let wire: PaginatedOrganizationView<'_> = parse_json(body)?;
    let results = wire.results.len();
    let items = wire
        .results
        .into_iter()
        .map(|org| Organization {
            id: org.id.into_owned(),
            name: org.name.into_owned(),
            is_deleted: org.is_deleted.unwrap_or(false),
        })
        .collect();
    Ok(Page {
        items,
        results,
        total_count: wire.total_count,
    })
}

/// Atlas' `ApiError` body. Everything is optional: a Digest 401 has no `errorCode`, a proxy sends HTML.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AtlasErrorBody<'a> {
    #[serde(borrow)]
    pub error_code: Option<Text<'a>>,
    #[serde(borrow)]
    pub detail: Option<Text<'a>>,
}

impl AtlasErrorBody<'_> {
    pub(crate) fn parse(body: &[u8]) -> Option<AtlasErrorBody<'_>> {
        serde_json::from_slice(body).ok()
    }
}

/// The token endpoint's success body (`POST /api/oauth/token`).
#[derive(Deserialize)]
pub(crate) struct TokenResponse<'a> {
    pub access_token: SecretString,
    pub expires_in: u64,
    #[serde(borrow)]
    pub token_type: Option<Text<'a>>,
}

/// An OAuth 2.0 error body (RFC 6749 §5.2): `error` is a string, unlike Atlas' integer `error`.
#[derive(Debug, Deserialize)]
pub(crate) struct OAuthErrorBody<'a> {
    #[serde(borrow)]
    pub error: Text<'a>,
}

impl OAuthErrorBody<'_> {
    pub(crate) fn parse(body: &[u8]) -> Option<OAuthErrorBody<'_>> {
        serde_json::from_slice(body).ok()
    }
}

pub(crate) fn parse_json<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(invalid_json)
}

fn invalid_json(error: serde_json::Error) -> ApiError {
    ApiError::InvalidResponse {
        reason: match error.classify() {
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
                format!("body is not valid JSON ({error})")
            }
            _ => format!("unexpected JSON ({error})"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC_EXAMPLE: &str =
        include_str!("../../../tests/fixtures/atlas/org_invites_spec_example.json");
    const VARIANTS: &str = include_str!("../../../tests/fixtures/atlas/org_invites_variants.json");
    const ORG_USERS: &str = include_str!("../../../tests/fixtures/atlas/org_users_statuses.json");
    const ORGS: &str = include_str!("../../../tests/fixtures/atlas/orgs_page.json");

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn the_spec_example_decodes_field_for_field() {
        let parsed = parse_org_invitations(SPEC_EXAMPLE.as_bytes()).unwrap();
        assert_eq!(parsed.org_name.as_deref(), Some("string"));
        assert_eq!(
            parsed.invitations,
            vec![Invitation {
                created_at: ts("2019-08-24T14:15:22Z"),
                expires_at: Some(ts("2019-08-24T14:15:22Z")),
                org_roles: vec!["ORG_OWNER".into()],
                project_roles: vec![ProjectRole {
                    project_id: "32b6e34b3d91647abb20e7b8".into(),
                    role: "string".into()
                }],
            }]
        );
    }

    #[test]
    fn offsets_extra_fields_unknown_roles_and_missing_arrays_are_accepted() {
        let parsed = parse_org_invitations(VARIANTS.as_bytes()).unwrap();
        assert_eq!(parsed.org_name.as_deref(), Some("Zürich \"Ops\""));
        assert_eq!(parsed.invitations.len(), 3);

        let first = &parsed.invitations[0];
        // 12:00+02:00 is 10:00 UTC: the offset must be applied, not dropped.
        assert_eq!(first.created_at, ts("2026-03-01T10:00:00Z"));
        assert_eq!(first.expires_at, Some(ts("2026-03-31T10:00:00.5Z")));
        assert_eq!(first.org_roles, vec!["ORG_MEMBER", "ORG_FUTURE_ROLE"]);
        assert_eq!(
            first.project_roles,
            vec![
                ProjectRole {
                    project_id: "aaaaaaaaaaaaaaaaaaaaaaaa".into(),
                    role: "GROUP_OWNER".into()
                },
                ProjectRole {
                    project_id: "bbbbbbbbbbbbbbbbbbbbbbbb".into(),
                    role: "GROUP_BRAND_NEW".into()
                },
            ]
        );

        let second = &parsed.invitations[1];
        assert_eq!(second.created_at, ts("2026-03-02T05:30:00Z"));
        assert!(second.org_roles.is_empty());
        // The assignment without a groupRole is dropped; the complete one is kept.
        assert_eq!(
            second.project_roles,
            vec![ProjectRole {
                project_id: "cccccccccccccccccccccccc".into(),
                role: "GROUP_READ_ONLY".into()
            }]
        );

        let third = &parsed.invitations[2];
        assert_eq!(third.org_roles, vec!["ORG_OWNER"]);
        assert!(third.project_roles.is_empty());
    }

    #[test]
    fn an_empty_array_is_an_empty_listing() {
        let parsed = parse_org_invitations(include_bytes!(
            "../../../tests/fixtures/atlas/org_invites_empty.json"
        ))
        .unwrap();
        assert_eq!(
            parsed,
            OrgInvitations {
                invitations: vec![],
                org_name: None
            }
        );
    }

    #[test]
    fn plain_strings_are_borrowed_and_escaped_ones_owned() {
        let body = br#"[{"createdAt":"2026-01-01T00:00:00Z","expiresAt":"2026-01-31T00:00:00Z","roles":["ORG_OWNER","ORG_\u0041"]}]"#;
        let wire: Vec<OrganizationInvitation<'_>> = parse_json(body).unwrap();
        let roles = wire[0].roles.as_ref().unwrap();
        assert!(matches!(roles[0].0, Cow::Borrowed("ORG_OWNER")));
        assert!(matches!(&roles[1].0, Cow::Owned(s) if s == "ORG_A"));
    }

    #[test]
    fn missing_dates_are_invalid_responses() {
        for body in [
            r#"[{"expiresAt":"2026-01-31T00:00:00Z"}]"#,
            r#"[{"createdAt":"2026-01-01T00:00:00Z"}]"#,
            r#"[{"createdAt":"2026-01-01T00:00:00Z","expiresAt":null}]"#,
        ] {
            let error = parse_org_invitations(body.as_bytes()).unwrap_err();
            assert!(
                matches!(error, ApiError::InvalidResponse { .. }),
                "{body}: {error:?}"
            );
        }
    }

    #[test]
    fn dates_without_an_offset_are_rejected() {
        let body = br#"[{"createdAt":"2026-01-01T00:00:00","expiresAt":"2026-01-31T00:00:00Z"}]"#;
        assert!(matches!(
            parse_org_invitations(body),
            Err(ApiError::InvalidResponse { .. })
        ));
    }

    #[test]
    fn non_json_and_wrong_shapes_are_invalid_responses() {
        let html = parse_org_invitations(b"<html><body>Bad gateway</body></html>").unwrap_err();
        assert!(
            matches!(&html, ApiError::InvalidResponse { reason } if reason.starts_with("body is not valid JSON"))
        );
        let object = parse_org_invitations(br#"{"results":[]}"#).unwrap_err();
        assert!(
            matches!(&object, ApiError::InvalidResponse { reason } if reason.starts_with("unexpected JSON"))
        );
        let truncated =
            parse_org_invitations(br#"[{"createdAt":"2026-01-01T00:00:00Z","#).unwrap_err();
        assert!(matches!(truncated, ApiError::InvalidResponse { .. }));
    }

    #[test]
    fn atlas_and_oauth_error_bodies_are_told_apart() {
        let atlas = br#"{"detail":"x","error":429,"errorCode":"RATE_LIMITED","reason":"Too Many Requests"}"#;
        let parsed = AtlasErrorBody::parse(atlas).unwrap();
        assert_eq!(parsed.error_code.unwrap().0, "RATE_LIMITED");
        assert!(
            OAuthErrorBody::parse(atlas).is_none(),
            "an integer `error` is not an OAuth error"
        );

        let oauth =
            br#"{"error_description":"Invalid credentials provided.","error":"invalid_client"}"#;
        assert_eq!(
            OAuthErrorBody::parse(oauth).unwrap().error.0,
            "invalid_client"
        );

        let digest_401 = br#"{"error" : 401, "reason" : "Unauthorized", "detail" : "You are not authorized for this resource."}"#;
        assert!(
            AtlasErrorBody::parse(digest_401)
                .unwrap()
                .error_code
                .is_none()
        );
    }

    fn project_role(project_id: &str, role: &str) -> ProjectRole {
        ProjectRole {
            project_id: project_id.into(),
            role: role.into(),
        }
    }

    /// A one-entry `PaginatedOrgUserView` around `user`'s JSON fields.
    fn one_user(fields: &str) -> String {
        format!(
            r#"{{"results":[{{"id":"5f0e1a2b3c4d5e6f7a8b9c01","username":"u@example.com",{fields}}}]}}"#
        )
    }

    #[test]
    fn pending_and_expired_users_become_invitations_and_the_rest_is_skipped() {
        let page = parse_org_users_page(ORG_USERS.as_bytes()).unwrap();
        assert_eq!(page.results, 5, "skipped entries still count for paging");
        assert_eq!(page.total_count, Some(5));
        assert_eq!(
            page.items,
            vec![
                Invitation {
                    // 12:00+02:00 is 10:00 UTC.
                    created_at: ts("2026-03-01T10:00:00Z"),
                    expires_at: Some(ts("2026-03-31T10:00:00Z")),
                    org_roles: vec!["ORG_MEMBER".into(), "ORG_GROUP_CREATOR".into()],
                    // One project role per role of each assignment.
                    project_roles: vec![
                        project_role("aaaaaaaaaaaaaaaaaaaaaaaa", "GROUP_OWNER"),
                        project_role("aaaaaaaaaaaaaaaaaaaaaaaa", "GROUP_READ_ONLY"),
                        project_role("bbbbbbbbbbbbbbbbbbbbbbbb", "GROUP_DATA_ACCESS_READ_ONLY"),
                    ],
                },
                Invitation {
                    created_at: ts("2026-01-01T00:00:00Z"),
                    expires_at: Some(ts("2026-01-31T00:00:00Z")),
                    org_roles: vec!["ORG_READ_ONLY".into()],
                    project_roles: vec![],
                },
            ]
        );
    }

    #[test]
    fn membership_statuses_decode_and_unknown_ones_are_tolerated() {
        for (json, status) in [
            (r#""PENDING""#, MembershipStatus::Pending),
            (
                r#""INVITATION_EXPIRED""#,
                MembershipStatus::InvitationExpired,
            ),
            (
                r#""INVITATION_REJECTED""#,
                MembershipStatus::InvitationRejected,
            ),
            (r#""ACTIVE""#, MembershipStatus::Active),
            (r#""INVITATION_REVOKED""#, MembershipStatus::Unknown),
            (r#""pending""#, MembershipStatus::Unknown),
        ] {
            assert_eq!(
                serde_json::from_str::<MembershipStatus>(json).unwrap(),
                status,
                "{json}"
            );
        }
    }

    #[test]
    fn a_null_or_absent_expiry_is_none() {
        for expiry in [r#","invitationExpiresAt":null"#, ""] {
            let body = one_user(&format!(
                r#""orgMembershipStatus":"PENDING","roles":{{}},"invitationCreatedAt":"2026-01-01T00:00:00Z"{expiry}"#
            ));
            let page = parse_org_users_page(body.as_bytes()).unwrap();
            assert_eq!(page.items.len(), 1, "{body}");
            assert_eq!(page.items[0].expires_at, None);
            assert_eq!(page.items[0].created_at, ts("2026-01-01T00:00:00Z"));
        }
    }

    #[test]
    fn an_invitation_without_its_creation_date_is_an_invalid_response() {
        for status in ["PENDING", "INVITATION_EXPIRED"] {
            let body = one_user(&format!(
                r#""orgMembershipStatus":"{status}","roles":{{}},"invitationExpiresAt":"2026-01-31T00:00:00Z""#
            ));
            let error = parse_org_users_page(body.as_bytes()).unwrap_err();
            assert!(
                matches!(&error, ApiError::InvalidResponse { reason } if reason.contains(status) && reason.contains("invitationCreatedAt")),
                "{error:?}"
            );
        }
        // A member has no invitation dates, and needs none.
        let active = one_user(r#""orgMembershipStatus":"ACTIVE","roles":{}"#);
        assert_eq!(
            parse_org_users_page(active.as_bytes()).unwrap().items,
            vec![]
        );
    }

    #[test]
    fn invitation_dates_must_be_rfc3339_with_an_offset() {
        for (created, expires) in [
            ("2026-01-01T00:00:00", "2026-01-31T00:00:00Z"),
            ("2026-01-01T00:00:00Z", "31/01/2026"),
        ] {
            let body = one_user(&format!(
                r#""orgMembershipStatus":"PENDING","roles":{{}},"invitationCreatedAt":"{created}","invitationExpiresAt":"{expires}""#
            ));
            assert!(
                matches!(
                    parse_org_users_page(body.as_bytes()),
                    Err(ApiError::InvalidResponse { .. })
                ),
                "{body}"
            );
        }
    }

    #[test]
    fn missing_roles_and_incomplete_assignments_grant_nothing() {
        let body = one_user(
            r#""orgMembershipStatus":"PENDING","invitationCreatedAt":"2026-01-01T00:00:00Z""#,
        );
        let invitation = &parse_org_users_page(body.as_bytes()).unwrap().items[0];
        assert!(invitation.org_roles.is_empty() && invitation.project_roles.is_empty());

        let body = one_user(
            r#""orgMembershipStatus":"PENDING","invitationCreatedAt":"2026-01-01T00:00:00Z","roles":{"groupRoleAssignments":[{"groupId":"aaaaaaaaaaaaaaaaaaaaaaaa"},{"groupRoles":["GROUP_OWNER"]},{"groupId":"bbbbbbbbbbbbbbbbbbbbbbbb","groupRoles":[]},{"groupId":"cccccccccccccccccccccccc","groupRoles":["GROUP_FUTURE_ROLE"]}]}"#,
        );
        let invitation = &parse_org_users_page(body.as_bytes()).unwrap().items[0];
        assert!(invitation.org_roles.is_empty());
        assert_eq!(
            invitation.project_roles,
            vec![project_role(
                "cccccccccccccccccccccccc",
                "GROUP_FUTURE_ROLE"
            )]
        );
    }

    #[test]
    fn org_user_pages_without_results_or_with_a_wrong_shape_are_invalid() {
        for body in [
            r#"{"totalCount":0}"#,
            r#"[]"#,
            r#"{"results":[{"roles":{}}]}"#,
            r#"{"results":[],"totalCount":-1}"#,
        ] {
            assert!(
                matches!(
                    parse_org_users_page(body.as_bytes()),
                    Err(ApiError::InvalidResponse { .. })
                ),
                "{body}"
            );
        }
        let empty = parse_org_users_page(br#"{"links":[],"results":[]}"#).unwrap();
        assert_eq!(
            empty,
            Page {
                items: vec![],
                results: 0,
                total_count: None
            }
        );
    }

    #[test]
    fn org_user_strings_are_borrowed_from_the_body() {
        let body = ORG_USERS.as_bytes();
        let wire: PaginatedOrgUserView<'_> = parse_json(body).unwrap();
        let roles = wire.results[0].roles.as_ref().unwrap();
        let org_roles = roles.org_roles.as_ref().unwrap();
        assert!(matches!(org_roles[0].0, Cow::Borrowed("ORG_MEMBER")));
        let assignment = &roles.group_role_assignments.as_ref().unwrap()[0];
        assert!(matches!(
            assignment.group_id.as_ref().unwrap().0,
            Cow::Borrowed("aaaaaaaaaaaaaaaaaaaaaaaa")
        ));
    }

    /// The settings and clock every test of the two decoders counts against.
    #[test]
    fn organizations_decode_with_deleted_ones_flagged() {
        let page = parse_organizations_page(ORGS.as_bytes()).unwrap();
        assert_eq!((page.results, page.total_count), (3, Some(3)));
        let organization = |id: &str, name: &str, is_deleted| Organization {
            id: id.into(),
            name: name.into(),
            is_deleted,
        };
        assert_eq!(
            page.items,
            vec![
                organization("32b6e34b3d91647abb20e7b8", "Acme-Production", false),
                organization("0123456789abcdef01234567", "Acme-Old_(2019)", true),
                // No isDeleted: not deleted.
                organization("fedcba9876543210fedcba98", "Zürich-Ops", false),
            ]
        );
    }

    #[test]
    fn an_organization_without_id_or_name_is_an_invalid_response() {
        for body in [
            r#"{"results":[{"name":"Acme"}]}"#,
            r#"{"results":[{"id":"32b6e34b3d91647abb20e7b8"}]}"#,
            r#"{"results":[{"id":"32b6e34b3d91647abb20e7b8","name":"Acme","isDeleted":"no"}]}"#,
        ] {
            assert!(
                matches!(
                    parse_organizations_page(body.as_bytes()),
                    Err(ApiError::InvalidResponse { .. })
                ),
                "{body}"
            );
        }
        let null_flag = parse_organizations_page(
            br#"{"results":[{"id":"32b6e34b3d91647abb20e7b8","name":"Acme","isDeleted":null}]}"#,
        )
        .unwrap();
        assert!(!null_flag.items[0].is_deleted);
    }
}
