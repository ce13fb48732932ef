//! `listOrgTeams` (`GET /api/atlas/v2/orgs/{orgId}/teams`): the teams of one organisation that the
//! credentials can see, every page.

use serde::Deserialize;
use tokio::time::Instant;

use crate::call::{CallRecord, Endpoint};
use crate::client::{AtlasClient, Listing, path_segment};
use crate::model::{Page, Text, parse_json};
use crate::{ApiError, Authenticator};

crate::call::endpoint! {
    /// `GET /api/atlas/v2/orgs/{orgId}/teams`, one call per page ([`AtlasClient::list_org_teams`]).
    LIST_ORG_TEAMS = "list_org_teams", version "2023-01-01";
}

/// A team of an organisation (`TeamResponse`), what an invitation's `teamIds` name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Team {
    /// `id`: 24 hexadecimal digits, as Atlas sent it (not validated here).
    pub id: String,
    /// `name`: the team's human-readable name, as Atlas sent it.
    pub name: String,
}

impl AtlasClient {
    /// `GET /api/atlas/v2/orgs/{org_id}/teams` (resource version 2023-01-01), every page: the teams
    /// of the organisation that the credentials can see (Atlas returns only those). Every call made
    /// is appended to `calls`.
    pub async fn list_org_teams(
        &self,
        org_id: &str,
        auth: &Authenticator,
        deadline: Instant,
        calls: &mut Vec<CallRecord>,
    ) -> Result<Listing<Vec<Team>>, ApiError> {
        let path = format!("/api/atlas/v2/orgs/{}/teams", path_segment(org_id));
        self.list_paged(
            Endpoint::LIST_ORG_TEAMS,
            &path,
            auth,
            deadline,
            calls,
            parse_teams_page,
        )
        .await
    }
}

/// `PaginatedTeamView`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PaginatedTeamView<'a> {
    #[serde(borrow)]
    results: Vec<TeamResponse<'a>>,
    total_count: Option<u64>,
}

/// `TeamResponse`. The spec requires neither field, but `id` is read-only (always in responses) and
/// a team without its name could not be shown: such a page is rejected rather than made up.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TeamResponse<'a> {
    #[serde(borrow)]
    id: Text<'a>,
    #[serde(borrow)]
    name: Text<'a>,
}

fn parse_teams_page(body: &[u8]) -> Result<Page<Team>, ApiError> {
    let wire: PaginatedTeamView<'_> = parse_json(body)?;
    Ok(Page::from_results(wire.results, wire.total_count, |team| {
        Team {
            id: team.id.into_owned(),
            name: team.name.into_owned(),
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

    const TEAMS: Endpoint = Endpoint::LIST_ORG_TEAMS;
    const PATH: &str = "/api/atlas/v2/orgs/32b6e34b3d91647abb20e7b8/teams";

    /// What the spec's examples make of a `PaginatedTeamView` (as a mock server built from the spec
    /// answers): every field in its own name, `links` included.
    const SPEC_EXAMPLE: &str = r#"{"links":[{"href":"https://cloud.mongodb.com/api/atlas","rel":"self"}],"results":[{"id":"32b6e34b3d91647abb20e7b8","links":[{"href":"https://cloud.mongodb.com/api/atlas","rel":"self"}],"name":"string"}],"totalCount":0}"#;

    fn team(n: usize) -> String {
        format!(r#"{{"id":"{n:024x}","name":"team-{n}","links":[]}}"#)
    }

    async fn list(
        client: &AtlasClient,
    ) -> (Result<Listing<Vec<Team>>, ApiError>, Vec<CallRecord>) {
        let mut calls = Vec::new();
        let result = client
            .list_org_teams(ORG, &api_key(), far_deadline(), &mut calls)
            .await;
        (result, calls)
    }

    #[test]
    fn the_endpoint_is_registered_with_its_version() {
        assert!(Endpoint::all().contains(&TEAMS));
        assert_eq!(TEAMS.label(), "list_org_teams");
        assert_eq!(TEAMS.api_version(), Some("2023-01-01"));
    }

    #[test]
    fn the_spec_example_decodes_field_for_field() {
        let page = parse_teams_page(SPEC_EXAMPLE.as_bytes()).unwrap();
        assert_eq!((page.results, page.total_count), (1, Some(0)));
        assert_eq!(
            page.items,
            [Team {
                id: "32b6e34b3d91647abb20e7b8".into(),
                name: "string".into()
            }]
        );
    }

    #[test]
    fn a_team_without_id_or_name_is_an_invalid_response() {
        for body in [
            r#"{"results":[{"name":"a"}]}"#,
            r#"{"results":[{"id":"32b6e34b3d91647abb20e7b8"}]}"#,
            r#"{"results":[{"id":"32b6e34b3d91647abb20e7b8","name":7}]}"#,
            r#"{"totalCount":1}"#,
            "[]",
        ] {
            assert!(
                matches!(
                    parse_teams_page(body.as_bytes()),
                    Err(ApiError::InvalidResponse { .. })
                ),
                "{body}"
            );
        }
    }

    #[tokio::test]
    async fn teams_are_paged_across_page_boundaries_in_order() {
        let server = TestServer::start(paging_server((0..5).map(team).collect(), 2)).await;
        let (result, calls) = list(&client(&server).with_items_per_page(2)).await;
        let listing = result.unwrap();
        let names: Vec<&str> = listing.items.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["team-0", "team-1", "team-2", "team-3", "team-4"]);
        assert_eq!(listing.items[4].id, format!("{:024x}", 4));
        assert_eq!(page_nums(&server), [1, 2, 3]);
        let requests = server.requests();
        assert!(requests.iter().all(|request| {
            request.path.starts_with(&format!("{PATH}?itemsPerPage=2&pageNum="))
                && query_value(request, "itemsPerPage") == Some("2")
                && request.header("accept") == Some("application/vnd.atlas.2023-01-01+json")
        }));
        assert_eq!(outcomes(&calls), [(TEAMS, Some(200), None); 3]);
    }

    #[tokio::test]
    async fn a_full_page_of_500_goes_on_to_the_next() {
        let server = TestServer::start(paging_server((0..501).map(team).collect(), 500)).await;
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
            assert_eq!(outcomes(&calls), [(TEAMS, Some(status), Some(code))]);
        }
    }

    #[tokio::test]
    async fn an_org_id_can_only_name_one_path_segment() {
        let server = TestServer::start(|_| Reply::json(200, r#"{"results":[]}"#)).await;
        let mut calls = Vec::new();
        client(&server)
            .list_org_teams("../groups?x=", &api_key(), far_deadline(), &mut calls)
            .await
            .unwrap();
        assert!(
            server.requests()[0]
                .path
                .starts_with("/api/atlas/v2/orgs/..%2Fgroups%3Fx%3D/teams?"),
            "{}",
            server.requests()[0].path
        );
    }
}
