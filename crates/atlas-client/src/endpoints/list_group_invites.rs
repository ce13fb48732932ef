//! `listGroupInvites` (`GET /api/atlas/v2/groups/{groupId}/invites`): the legacy invitations of one
//! project, a bare JSON array. Deprecated (sunset 2027-07-01): the listing carries what the
//! `Deprecation` and `Sunset` headers say, as `listOrgInvites` does.

use jiff::Timestamp;
use serde::Deserialize;
use tokio::time::Instant;

use crate::call::{CallRecord, Endpoint};
use crate::client::{AtlasClient, Listing, path_segment};
use crate::model::{Text, parse_json};
use crate::transport::ApiRequest;
use crate::{ApiError, Authenticator};

crate::call::endpoint! {
    /// `GET /api/atlas/v2/groups/{groupId}/invites` ([`AtlasClient::list_group_invites`]).
    LIST_GROUP_INVITES = "list_group_invites", version "2023-01-01";
}

/// One invitation to a project (`GroupInvitation`), from the deprecated project invitations API.
/// These are invisible to `listOrgUsers`; since 2023 Atlas makes organisation invitations instead.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupInvitation {
    /// `id`: 24 hexadecimal digits. Optional in the spec, yet read-only: required here, as an
    /// invitation that cannot be named cannot be reported.
    pub id: String,
    /// `username`: the invitee's e-mail address. Optional in the spec, required here.
    pub username: String,
    /// `inviterUsername`: who sent it, when Atlas says.
    pub inviter_username: Option<String>,
    /// `groupId`: the project's id, when Atlas says.
    pub group_id: Option<String>,
    /// `groupName`: the project's name, when Atlas says.
    pub group_name: Option<String>,
    /// `roles`: organisation or project roles, opaque strings; empty when absent.
    pub roles: Vec<String>,
    /// `createdAt`, seconds since the epoch (fractions dropped). Optional in the spec, required
    /// here: an invitation without it cannot be aged.
    pub created_at: i64,
    /// `expiresAt`, seconds since the epoch; `None` when absent or null.
    pub expires_at: Option<i64>,
}

impl AtlasClient {
    /// `GET /api/atlas/v2/groups/{group_id}/invites` (resource version 2023-01-01, deprecated): the
    /// project's pending invitations, one call with retries. `group_id` is percent-encoded, so it
    /// can only name one path segment. Every call made is appended to `calls`.
    pub async fn list_group_invites(
        &self,
        group_id: &str,
        auth: &Authenticator,
        deadline: Instant,
        calls: &mut Vec<CallRecord>,
    ) -> Result<Listing<Vec<GroupInvitation>>, ApiError> {
        let path = format!("/api/atlas/v2/groups/{}/invites", path_segment(group_id));
        let request = ApiRequest {
            endpoint: Endpoint::LIST_GROUP_INVITES,
            path_and_query: &path,
        };
        let fetched = self
            .get(&request, auth, deadline, calls, &parse_group_invitations)
            .await?;
        Ok(fetched.into_listing())
    }
}

/// `GroupInvitation` as sent. Dates are RFC 3339 with an offset, read by jiff as every invitation
/// date is; `links` is not read.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireGroupInvitation<'a> {
    #[serde(borrow)]
    id: Text<'a>,
    #[serde(borrow)]
    username: Text<'a>,
    #[serde(borrow)]
    inviter_username: Option<Text<'a>>,
    #[serde(borrow)]
    group_id: Option<Text<'a>>,
    #[serde(borrow)]
    group_name: Option<Text<'a>>,
    #[serde(borrow)]
    roles: Option<Vec<Text<'a>>>,
    created_at: Timestamp,
    expires_at: Option<Timestamp>,
}

/// Decodes a `listGroupInvites` body: a bare array of `GroupInvitation`.
fn parse_group_invitations(body: &[u8]) -> Result<Vec<GroupInvitation>, ApiError> {
    let wire: Vec<WireGroupInvitation<'_>> = parse_json(body)?;
    Ok(wire
        .into_iter()
        .map(|invitation| GroupInvitation {
            id: invitation.id.into_owned(),
            username: invitation.username.into_owned(),
            inviter_username: invitation.inviter_username.map(Text::into_owned),
            group_id: invitation.group_id.map(Text::into_owned),
            group_name: invitation.group_name.map(Text::into_owned),
            roles: invitation
                .roles
                .unwrap_or_default()
                .into_iter()
                .map(Text::into_owned)
                .collect(),
            created_at: invitation.created_at.as_second(),
            expires_at: invitation.expires_at.map(Timestamp::as_second),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::server::{Reply, TestServer};
    use crate::tests::{api_key, atlas_error, client, far_deadline, outcomes};

    const INVITES: Endpoint = Endpoint::LIST_GROUP_INVITES;
    const GROUP: &str = "5f0e1a2b3c4d5e6f7a8b9c0d";
    const PATH: &str = "/api/atlas/v2/groups/5f0e1a2b3c4d5e6f7a8b9c0d/invites";

    /// What the spec's examples make of the bare array of `GroupInvitation` (as a mock server built
    /// from the spec answers): every field in its own name, `links` included.
    const SPEC_EXAMPLE: &str = r#"[{"createdAt":"2019-08-24T14:15:22Z","expiresAt":"2019-08-24T14:15:22Z","groupId":"32b6e34b3d91647abb20e7b8","groupName":"string","id":"32b6e34b3d91647abb20e7b8","inviterUsername":"user@example.com","links":[{"href":"https://cloud.mongodb.com/api/atlas","rel":"self"}],"roles":["string"],"username":"user@example.com"}]"#;

    fn seconds(text: &str) -> i64 {
        text.parse::<Timestamp>().unwrap().as_second()
    }

    async fn list(
        server: &TestServer,
        group_id: &str,
    ) -> (
        Result<Listing<Vec<GroupInvitation>>, ApiError>,
        Vec<CallRecord>,
    ) {
        let mut calls = Vec::new();
        let result = client(server)
            .list_group_invites(group_id, &api_key(), far_deadline(), &mut calls)
            .await;
        (result, calls)
    }

    #[test]
    fn the_endpoint_is_registered_with_its_version() {
        assert!(Endpoint::all().contains(&INVITES));
        assert_eq!(INVITES.label(), "list_group_invites");
        assert_eq!(INVITES.api_version(), Some("2023-01-01"));
    }

    #[test]
    fn the_spec_example_decodes_field_for_field() {
        assert_eq!(
            parse_group_invitations(SPEC_EXAMPLE.as_bytes()).unwrap(),
            [GroupInvitation {
                id: "32b6e34b3d91647abb20e7b8".into(),
                username: "user@example.com".into(),
                inviter_username: Some("user@example.com".into()),
                group_id: Some("32b6e34b3d91647abb20e7b8".into()),
                group_name: Some("string".into()),
                roles: vec!["string".into()],
                created_at: seconds("2019-08-24T14:15:22Z"),
                expires_at: Some(seconds("2019-08-24T14:15:22Z")),
            }]
        );
    }

    #[test]
    fn optional_fields_may_be_absent_or_null_and_offsets_are_applied() {
        let body = r#"[{"id":"32b6e34b3d91647abb20e7b8","username":"a@example.com","createdAt":"2026-03-01T12:00:00.75+02:00","expiresAt":null,"roles":null,"inviterUsername":null}]"#;
        assert_eq!(
            parse_group_invitations(body.as_bytes()).unwrap(),
            [GroupInvitation {
                id: "32b6e34b3d91647abb20e7b8".into(),
                username: "a@example.com".into(),
                inviter_username: None,
                group_id: None,
                group_name: None,
                roles: vec![],
                created_at: seconds("2026-03-01T10:00:00Z"),
                expires_at: None,
            }]
        );
        assert_eq!(parse_group_invitations(b"[]").unwrap(), []);
    }

    #[test]
    fn an_invitation_without_what_names_or_ages_it_is_an_invalid_response() {
        for body in [
            r#"[{"username":"a@example.com","createdAt":"2026-01-01T00:00:00Z"}]"#,
            r#"[{"id":"x","createdAt":"2026-01-01T00:00:00Z"}]"#,
            r#"[{"id":"x","username":"a@example.com"}]"#,
            r#"[{"id":"x","username":"a@example.com","createdAt":"2026-01-01T00:00:00"}]"#,
            r#"[{"id":"x","username":"a@example.com","createdAt":"2026-01-01T00:00:00Z","roles":"GROUP_OWNER"}]"#,
            r#"{"results":[]}"#,
            "<html></html>",
        ] {
            assert!(
                matches!(
                    parse_group_invitations(body.as_bytes()),
                    Err(ApiError::InvalidResponse { .. })
                ),
                "{body}"
            );
        }
    }

    #[tokio::test]
    async fn the_bare_array_is_asked_for_in_its_version_with_its_lifecycle() {
        let server = TestServer::start(|_| {
            Reply::json(200, SPEC_EXAMPLE)
                .header("deprecation", "@1688169599")
                .header("sunset", "Thu, 01 Jul 2027 00:00:00 GMT")
        })
        .await;
        let (result, calls) = list(&server, GROUP).await;
        let listing = result.unwrap();
        let requests = server.requests();
        assert_eq!(requests.len(), 1, "not paginated");
        assert_eq!(requests[0].method, hyper::Method::GET);
        assert_eq!(requests[0].path, PATH);
        assert_eq!(
            requests[0].header("accept"),
            Some("application/vnd.atlas.2023-01-01+json")
        );
        assert_eq!(listing.items.len(), 1);
        assert_eq!(listing.items[0].username, "user@example.com");
        assert!(listing.deprecated);
        assert_eq!(
            listing.sunset,
            Some("2027-07-01T00:00:00Z".parse().unwrap())
        );
        assert_eq!(listing.org_name, None);
        assert_eq!(outcomes(&calls), [(INVITES, Some(200), None)]);
    }

    #[tokio::test]
    async fn forbidden_and_gone_are_status_errors() {
        for (status, code) in [(403, "USER_UNAUTHORIZED"), (410, "GONE")] {
            let server = TestServer::start(move |_| atlas_error(status, code)).await;
            let (result, calls) = list(&server, GROUP).await;
            let error = result.unwrap_err();
            assert!(
                matches!(&error, ApiError::Status { status: s, .. } if *s == status),
                "{error:?}"
            );
            assert_eq!(error.status(), Some(status));
            assert_eq!(outcomes(&calls), [(INVITES, Some(status), Some(code))]);
            assert_eq!(server.requests().len(), 1, "not retried");
        }
    }

    #[tokio::test]
    async fn a_group_id_can_only_name_one_path_segment() {
        let server = TestServer::start(|_| Reply::json(200, "[]")).await;
        let (result, _) = list(&server, "x/../../orgs/y?z=#").await;
        assert!(result.unwrap().items.is_empty());
        assert_eq!(
            server.requests()[0].path,
            "/api/atlas/v2/groups/x%2F..%2F..%2Forgs%2Fy%3Fz%3D%23/invites"
        );
    }
}
