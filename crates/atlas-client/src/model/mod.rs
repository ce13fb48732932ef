//! The Atlas JSON we read, as serde types: field names checked against the official OpenAPI spec.
//!
//! Only the fields the exporter uses are declared; serde ignores the rest. The invitee's and the
//! inviter's e-mail addresses (`username`, `inviterUsername`) are read, so that an invitation can be
//! named: they are personal data, never logged here. Strings borrow from the response body
//! unless they contain escapes. Role names stay opaque strings: Atlas adds roles without notice.
//!
//! The types live in `invitations` (the two invitation listings) and `json` (what every body
//! shares); both are re-exported here whole, so `model::X` names each of them. Every other
//! endpoint's types are in its own file of `endpoints/`.

mod invitations;
mod json;

pub use invitations::*;
pub use json::*;

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use jiff::Timestamp;

    use super::*;
    use crate::ApiError;

    const SPEC_EXAMPLE: &str =
        include_str!("../../../../tests/fixtures/atlas/org_invites_spec_example.json");
    const VARIANTS: &str =
        include_str!("../../../../tests/fixtures/atlas/org_invites_variants.json");
    const ORG_USERS: &str =
        include_str!("../../../../tests/fixtures/atlas/org_users_statuses.json");

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
                id: "32b6e34b3d91647abb20e7b8".into(),
                username: "user@example.com".into(),
                inviter_username: Some("user@example.com".into()),
                team_ids: vec!["string".into()],
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
            "../../../../tests/fixtures/atlas/org_invites_empty.json"
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
                    id: "5f0e1a2b3c4d5e6f7a8b9c01".into(),
                    username: "pending.user@example.com".into(),
                    inviter_username: Some("admin@example.com".into()),
                    team_ids: vec!["fedcba9876543210fedcba98".into()],
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
                    id: "5f0e1a2b3c4d5e6f7a8b9c02".into(),
                    username: "expired.user@example.com".into(),
                    inviter_username: Some("admin@example.com".into()),
                    team_ids: vec![],
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

    #[test]
    fn absent_or_null_ids_addresses_and_teams_are_empty() {
        let invites = parse_org_invitations(
            br#"[{"createdAt":"2026-01-01T00:00:00Z","expiresAt":"2026-01-31T00:00:00Z","id":null,"teamIds":null}]"#,
        )
        .unwrap();
        let users = parse_org_users_page(
            br#"{"results":[{"orgMembershipStatus":"PENDING","invitationCreatedAt":"2026-01-01T00:00:00Z","inviterUsername":null}]}"#,
        )
        .unwrap();
        for invitation in [&invites.invitations[0], &users.items[0]] {
            assert_eq!(invitation.id, "");
            assert_eq!(invitation.username, "");
            assert_eq!(invitation.inviter_username, None);
            assert!(invitation.team_ids.is_empty());
        }
        // Of the wrong type, they are refused as any field is.
        assert!(parse_org_invitations(
            br#"[{"createdAt":"2026-01-01T00:00:00Z","expiresAt":"2026-01-31T00:00:00Z","teamIds":"a"}]"#
        )
        .is_err());
        assert!(
            parse_org_users_page(br#"{"results":[{"orgMembershipStatus":"ACTIVE","id":7}]}"#)
                .is_err()
        );
    }
}
