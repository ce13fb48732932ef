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

    crate::tests::named_listing::named_org_listing_tests!(
        get_org_groups,
        Endpoint::GET_ORG_GROUPS,
        "get_org_groups",
        "2023-01-01",
        "groups",
        "project"
    );

    /// What the spec's examples make of a `PaginatedAtlasGroupView` (as a mock server built from the
    /// spec answers): every field of `Group` in its own name.
    const SPEC_EXAMPLE: &str = r#"{"links":[{"href":"https://cloud.mongodb.com/api/atlas","rel":"self"}],"results":[{"clusterCount":0,"created":"2019-08-24T14:15:22Z","id":"32b6e34b3d91647abb20e7b8","links":[{"href":"https://cloud.mongodb.com/api/atlas","rel":"self"}],"name":"string","orgId":"32b6e34b3d91647abb20e7b8","regionUsageRestrictions":"COMMERCIAL_FEDRAMP_REGIONS_ONLY","tags":[{"key":"string","value":"string"}],"withDefaultAlertsSettings":true}],"totalCount":0}"#;

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
}
