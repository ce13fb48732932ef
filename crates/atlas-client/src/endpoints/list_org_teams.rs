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

    crate::tests::named_listing::named_org_listing_tests!(
        list_org_teams,
        Endpoint::LIST_ORG_TEAMS,
        "list_org_teams",
        "2023-01-01",
        "teams",
        "team"
    );

    /// What the spec's examples make of a `PaginatedTeamView` (as a mock server built from the spec
    /// answers): every field in its own name, `links` included.
    const SPEC_EXAMPLE: &str = r#"{"links":[{"href":"https://cloud.mongodb.com/api/atlas","rel":"self"}],"results":[{"id":"32b6e34b3d91647abb20e7b8","links":[{"href":"https://cloud.mongodb.com/api/atlas","rel":"self"}],"name":"string"}],"totalCount":0}"#;

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
}
