//! The Atlas JSON we read, as serde types: field names checked against the official OpenAPI spec.
//!
//! Only the fields the exporter uses are declared; serde ignores the rest, so e-mail addresses
//! (`username`, `inviterUsername`) are never even decoded. Strings borrow from the response body
//! unless they contain escapes. Role names stay opaque strings: Atlas adds roles without notice.

use std::borrow::Cow;

use jiff::Timestamp;
use secrecy::SecretString;
use serde::Deserialize;

use crate::atlas::ApiError;
use crate::invitation::{Invitation, ProjectRole};

/// A JSON string, borrowed from the body when it has no escape sequences.
#[derive(Debug, Deserialize)]
#[serde(transparent)]
pub struct Text<'a>(#[serde(borrow)] pub Cow<'a, str>);

impl Text<'_> {
    fn into_owned(self) -> String {
        self.0.into_owned()
    }
}

/// `OrganizationInvitation` (`components.schemas`), as returned by `listOrgInvites`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrganizationInvitation<'a> {
    /// The spec marks it optional, but an invitation without dates cannot be counted: the listing is
    /// rejected rather than silently miscounted.
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    #[serde(borrow)]
    pub roles: Option<Vec<Text<'a>>>,
    #[serde(borrow)]
    pub group_role_assignments: Option<Vec<GroupRole<'a>>>,
    #[serde(borrow)]
    pub org_name: Option<Text<'a>>,
}

/// `GroupRole`: one project ("group") role granted by an invitation. Both fields are optional in the spec.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupRole<'a> {
    #[serde(borrow)]
    pub group_id: Option<Text<'a>>,
    #[serde(borrow)]
    pub group_role: Option<Text<'a>>,
}

/// The invitations of one organisation, in our own terms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrgInvitations {
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
    serde_json::from_slice(body).map_err(|error| ApiError::InvalidResponse {
        reason: match error.classify() {
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
                format!("body is not valid JSON ({error})")
            }
            _ => format!("unexpected JSON ({error})"),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC_EXAMPLE: &str =
        include_str!("../../tests/fixtures/atlas/org_invites_spec_example.json");
    const VARIANTS: &str = include_str!("../../tests/fixtures/atlas/org_invites_variants.json");

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
            "../../tests/fixtures/atlas/org_invites_empty.json"
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
}
