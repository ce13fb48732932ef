//! `listOrgUsers` asked only for its count of active members (`totalCount` of
//! `orgMembershipStatuses=ACTIVE`), what an organisation's 500-user cap is measured against; a
//! call of the `list_org_users` endpoint, declared in `client/mod.rs`.

use serde::Deserialize;
use serde::de::IgnoredAny;
use tokio::time::Instant;

use crate::call::{CallRecord, Endpoint};
use crate::client::{AtlasClient, path_segment};
use crate::model::parse_json;
use crate::transport::ApiRequest;
use crate::{ApiError, Authenticator};

impl AtlasClient {
    /// `GET /api/atlas/v2/orgs/{org_id}/users?orgMembershipStatuses=ACTIVE&itemsPerPage=1&includeCount=true`
    /// (resource version 2025-02-19, the `list_org_users` endpoint): how many active members the
    /// organisation has, Atlas' `totalCount`, in one call with retries. An organisation that
    /// [`list_org_users`](AtlasClient::list_org_users) found answering 400 to
    /// `orgMembershipStatuses` is asked with `orgMembershipStatus=ACTIVE` instead. A body without
    /// `totalCount` is [`ApiError::InvalidResponse`]. Every call made is appended to `calls`.
    pub async fn count_active_org_users(
        &self,
        org_id: &str,
        auth: &Authenticator,
        deadline: Instant,
        calls: &mut Vec<CallRecord>,
    ) -> Result<u64, ApiError> {
        let filter = if self.uses_single_status_filter(org_id) {
            "orgMembershipStatus=ACTIVE"
        } else {
            "orgMembershipStatuses=ACTIVE"
        };
        let path = format!(
            "/api/atlas/v2/orgs/{}/users?{filter}&itemsPerPage=1&includeCount=true",
            path_segment(org_id)
        );
        let request = ApiRequest {
            endpoint: Endpoint::LIST_ORG_USERS,
            path_and_query: &path,
        };
        let fetched = self
            .get(&request, auth, deadline, calls, &parse_total_count)
            .await?;
        Ok(fetched.value)
    }
}

/// `PaginatedOrgUserView`, only as far as its count: `results` (required by the spec) must be
/// there, but its one entry is not read.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CountedPage {
    #[allow(dead_code, reason = "required, so a body of another shape is refused")]
    results: IgnoredAny,
    total_count: Option<u64>,
}

fn parse_total_count(body: &[u8]) -> Result<u64, ApiError> {
    let page: CountedPage = parse_json(body)?;
    page.total_count.ok_or_else(|| ApiError::InvalidResponse {
        reason: "the page of active users has no totalCount".to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::server::{Reply, TestServer};
    use crate::tests::{ORG, api_key, atlas_error, client, far_deadline, outcomes};

    const USERS: Endpoint = Endpoint::LIST_ORG_USERS;

    /// One active member, as the spec's `OrgActiveUserResponse` has it, and the count of all.
    const PAGE: &str = r#"{"links":[],"results":[{"id":"32b6e34b3d91647abb20e7b8","orgMembershipStatus":"ACTIVE","roles":{"orgRoles":["ORG_OWNER"]},"teamIds":[],"username":"a@example.com","country":"US","createdAt":"2024-01-01T00:00:00Z","firstName":"A","lastName":"B"}],"totalCount":437}"#;

    async fn count(server: &TestServer) -> (Result<u64, ApiError>, Vec<CallRecord>) {
        let mut calls = Vec::new();
        let result = client(server)
            .count_active_org_users(ORG, &api_key(), far_deadline(), &mut calls)
            .await;
        (result, calls)
    }

    #[tokio::test]
    async fn one_call_asks_for_the_count_of_active_members() {
        let server = TestServer::start(|_| Reply::json(200, PAGE)).await;
        let (result, calls) = count(&server).await;
        assert_eq!(result.unwrap(), 437);
        let requests = server.requests();
        assert_eq!(requests.len(), 1);
        assert_eq!(
            requests[0].path,
            "/api/atlas/v2/orgs/32b6e34b3d91647abb20e7b8/users\
             ?orgMembershipStatuses=ACTIVE&itemsPerPage=1&includeCount=true"
        );
        assert_eq!(
            requests[0].header("accept"),
            Some("application/vnd.atlas.2025-02-19+json")
        );
        assert_eq!(outcomes(&calls), [(USERS, Some(200), None)]);
    }

    #[test]
    fn a_page_without_total_count_or_of_another_shape_is_an_invalid_response() {
        assert_eq!(parse_total_count(br#"{"results":[],"totalCount":0}"#), Ok(0));
        for body in [
            r#"{"results":[]}"#,
            r#"{"results":[],"totalCount":null}"#,
            r#"{"results":[],"totalCount":-1}"#,
            r#"{"totalCount":3}"#,
            "[]",
            "<html></html>",
        ] {
            assert!(
                matches!(
                    parse_total_count(body.as_bytes()),
                    Err(ApiError::InvalidResponse { .. })
                ),
                "{body}"
            );
        }
    }

    #[tokio::test]
    async fn a_body_without_total_count_fails_the_call() {
        let server = TestServer::start(|_| Reply::json(200, r#"{"results":[]}"#)).await;
        let (result, calls) = count(&server).await;
        assert!(matches!(result, Err(ApiError::InvalidResponse { .. })));
        assert_eq!(
            outcomes(&calls),
            [(USERS, Some(200), Some("INVALID_RESPONSE"))]
        );
    }

    #[tokio::test]
    async fn forbidden_and_gone_are_status_errors() {
        for (status, code) in [(403, "USER_UNAUTHORIZED"), (410, "GONE")] {
            let server = TestServer::start(move |_| atlas_error(status, code)).await;
            let (result, calls) = count(&server).await;
            let error = result.unwrap_err();
            assert!(
                matches!(&error, ApiError::Status { status: s, .. } if *s == status),
                "{error:?}"
            );
            assert_eq!(error.status(), Some(status));
            assert_eq!(outcomes(&calls), [(USERS, Some(status), Some(code))]);
        }
    }

    #[tokio::test]
    async fn an_organisation_on_the_single_status_form_is_counted_with_it() {
        let invalid = r#"{"error":400,"errorCode":"INVALID_QUERY_PARAMETER"}"#;
        let server = TestServer::start(move |request| {
            if request.path.contains("orgMembershipStatuses=") {
                Reply::json(400, invalid)
            } else if request.path.contains("orgMembershipStatus=PENDING") {
                Reply::json(200, r#"{"results":[]}"#)
            } else {
                Reply::json(200, PAGE)
            }
        })
        .await;
        let client = client(&server);
        let mut calls = Vec::new();
        client
            .list_org_users(ORG, &api_key(), far_deadline(), &mut calls, Vec::new())
            .await
            .unwrap();
        let mut calls = Vec::new();
        let total = client
            .count_active_org_users(ORG, &api_key(), far_deadline(), &mut calls)
            .await;
        assert_eq!(total, Ok(437));
        assert!(
            server
                .requests()
                .last()
                .unwrap()
                .path
                .contains("?orgMembershipStatus=ACTIVE&itemsPerPage=1&includeCount=true")
        );
        assert_eq!(calls.len(), 1);
    }
}
