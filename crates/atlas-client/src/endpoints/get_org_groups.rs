//! `getOrgGroups` (`GET /api/atlas/v2/orgs/{orgId}/groups`): the projects ("groups") of one
//! organisation that the credentials can see, every page.

use serde::Deserialize;
use tokio::time::Instant;

use crate::call::{CallRecord, Endpoint};
use crate::client::{AtlasClient, Listing, path_segment};
use crate::model::{Page, Text, parse_json};
use crate::{ApiError, Authenticator};

crate::call::endpoint! {
    /// `GET /api/atlas/v2/orgs/{orgId}/groups`, one call per page ([`AtlasClient::get_org_groups`]).
    GET_ORG_GROUPS = "get_org_groups", version "2023-01-01";
}

/// A project of an organisation (`Group`: Atlas calls projects "groups"), what an invitation's
/// `groupRoleAssignments` name by `groupId`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    /// `id`: 24 hexadecimal digits, as Atlas sent it (not validated here).
    pub id: String,
    /// `name`: the project's human-readable name, as Atlas sent it.
    pub name: String,
}

impl AtlasClient {
    /// `GET /api/atlas/v2/orgs/{org_id}/groups` (resource version 2023-01-01), every page: the projects
    /// of the organisation that the credentials can see. Every call made is appended to `calls`.
    pub async fn get_org_groups(
        &self,
        org_id: &str,
        auth: &Authenticator,
        deadline: Instant,
        calls: &mut Vec<CallRecord>,
    ) -> Result<Listing<Vec<Group>>, ApiError> {
        let path = format!("/api/atlas/v2/orgs/{}/groups", path_segment(org_id));
        self.list_paged(
            Endpoint::GET_ORG_GROUPS,
            &path,
            auth,
            deadline,
            calls,
            parse_groups_page,
        )
        .await
    }
}

/// `PaginatedAtlasGroupView`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PaginatedAtlasGroupView<'a> {
    #[serde(borrow)]
    results: Vec<GroupWire<'a>>,
    total_count: Option<u64>,
}

/// `Group`, the items of `PaginatedAtlasGroupView`. `name` is required by the spec and `id` is
/// read-only (always in responses): a project without either is rejected rather than made up.
/// The other required fields (`clusterCount`, `created`, `orgId`) are not needed and not read.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GroupWire<'a> {
    #[serde(borrow)]
    id: Text<'a>,
    #[serde(borrow)]
    name: Text<'a>,
}

fn parse_groups_page(body: &[u8]) -> Result<Page<Group>, ApiError> {
    let wire: PaginatedAtlasGroupView<'_> = parse_json(body)?;
    Ok(Page::from_results(wire.results, wire.total_count, |group| {
        Group {
            id: group.id.into_owned(),
            name: group.name.into_owned(),
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::server::{Reply, TestServer};
    use crate::tests::{
        ORG, api_key, atlas_error, client, far_deadline, outcomes, page_nums, paging_server,
        query_value,
    };

    const GROUPS: Endpoint = Endpoint::GET_ORG_GROUPS;
    const PATH: &str = "/api/atlas/v2/orgs/32b6e34b3d91647abb20e7b8/groups";

    /// What the spec's examples make of a `PaginatedAtlasGroupView` (as a mock server built from the
    /// spec answers): every field of `Group` in its own name.
    const SPEC_EXAMPLE: &str = r#"{"links":[{"href":"https://cloud.mongodb.com/api/atlas","rel":"self"}],"results":[{"clusterCount":0,"created":"2019-08-24T14:15:22Z","id":"32b6e34b3d91647abb20e7b8","links":[{"href":"https://cloud.mongodb.com/api/atlas","rel":"self"}],"name":"string","orgId":"32b6e34b3d91647abb20e7b8","regionUsageRestrictions":"COMMERCIAL_FEDRAMP_REGIONS_ONLY","tags":[{"key":"string","value":"string"}],"withDefaultAlertsSettings":true}],"totalCount":0}"#;

    fn group(n: usize) -> String {
        format!(r#"{{"id":"{n:024x}","name":"project-{n}","links":[]}}"#)
    }

    async fn list(
        client: &AtlasClient,
    ) -> (Result<Listing<Vec<Group>>, ApiError>, Vec<CallRecord>) {
        let mut calls = Vec::new();
        let result = client
            .get_org_groups(ORG, &api_key(), far_deadline(), &mut calls)
            .await;
        (result, calls)
    }

    #[test]
    fn the_endpoint_is_registered_with_its_version() {
        assert!(Endpoint::all().contains(&GROUPS));
        assert_eq!(GROUPS.label(), "get_org_groups");
        assert_eq!(GROUPS.api_version(), Some("2023-01-01"));
    }

    #[test]
    fn the_spec_example_decodes_field_for_field() {
        let page = parse_groups_page(SPEC_EXAMPLE.as_bytes()).unwrap();
        assert_eq!((page.results, page.total_count), (1, Some(0)));
        assert_eq!(
            page.items,
            [Group {
                id: "32b6e34b3d91647abb20e7b8".into(),
                name: "string".into()
            }]
        );
    }

    #[test]
    fn a_project_without_id_or_name_is_an_invalid_response() {
        for body in [
            r#"{"results":[{"name":"a"}]}"#,
            r#"{"results":[{"id":"32b6e34b3d91647abb20e7b8"}]}"#,
            r#"{"results":[{"id":"32b6e34b3d91647abb20e7b8","name":7}]}"#,
            r#"{"totalCount":1}"#,
            "[]",
        ] {
            assert!(
                matches!(
                    parse_groups_page(body.as_bytes()),
                    Err(ApiError::InvalidResponse { .. })
                ),
                "{body}"
            );
        }
    }

    #[tokio::test]
    async fn projects_are_paged_across_page_boundaries_in_order() {
        let server = TestServer::start(paging_server((0..5).map(group).collect(), 2)).await;
        let (result, calls) = list(&client(&server).with_items_per_page(2)).await;
        let listing = result.unwrap();
        let names: Vec<&str> = listing.items.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["project-0", "project-1", "project-2", "project-3", "project-4"]);
        assert_eq!(listing.items[4].id, format!("{:024x}", 4));
        assert_eq!(page_nums(&server), [1, 2, 3]);
        let requests = server.requests();
        assert!(requests.iter().all(|request| {
            request.path.starts_with(&format!("{PATH}?itemsPerPage=2&pageNum="))
                && query_value(request, "itemsPerPage") == Some("2")
                && request.header("accept") == Some("application/vnd.atlas.2023-01-01+json")
        }));
        assert_eq!(outcomes(&calls), [(GROUPS, Some(200), None); 3]);
    }

    #[tokio::test]
    async fn a_full_page_of_500_goes_on_to_the_next() {
        let server = TestServer::start(paging_server((0..501).map(group).collect(), 500)).await;
        let (result, calls) = list(&client(&server)).await;
        assert_eq!(result.unwrap().items.len(), 501);
        assert_eq!(page_nums(&server), [1, 2]);
        assert_eq!(calls.len(), 2);
    }

    #[tokio::test]
    async fn forbidden_and_gone_are_status_errors() {
        for (status, code) in [(403, "USER_UNAUTHORIZED"), (410, "GONE")] {
            let server = TestServer::start(move |_| atlas_error(status, code)).await;
            let (result, calls) = list(&client(&server)).await;
            let error = result.unwrap_err();
            assert!(
                matches!(&error, ApiError::Status { status: s, .. } if *s == status),
                "{error:?}"
            );
            assert_eq!(error.status(), Some(status));
            assert_eq!(outcomes(&calls), [(GROUPS, Some(status), Some(code))]);
        }
    }

    #[tokio::test]
    async fn an_org_id_can_only_name_one_path_segment() {
        let server = TestServer::start(|_| Reply::json(200, r#"{"results":[]}"#)).await;
        let mut calls = Vec::new();
        client(&server)
            .get_org_groups("../groups?x=", &api_key(), far_deadline(), &mut calls)
            .await
            .unwrap();
        assert!(
            server.requests()[0]
                .path
                .starts_with("/api/atlas/v2/orgs/..%2Fgroups%3Fx%3D/groups?"),
            "{}",
            server.requests()[0].path
        );
    }
}
