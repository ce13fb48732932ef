//! `GET /api/atlas/v2/orgs/{orgId}/teams` (listOrgTeams, 2023-01-01): an org's teams as
//! `PaginatedTeamView` of `TeamResponse`.

use hyper::Request;
use hyper::body::Incoming;
use serde::Serialize;

use crate::handler::ORG_PATHS;
use crate::handler::call::Call;
use crate::handler::org::{EndpointFuture, OrgPath, Parent};
use crate::handler::paginated::{Listed, OrgListing, serve_listing};
use crate::listing::{InvalidQuery, Page, paginate};
use crate::response::{DateStyle, Link};
use crate::state::Bucket;
use crate::world::{OrgRole, SimOrg};

#[linkme::distributed_slice(ORG_PATHS)]
static TEAMS: OrgPath = OrgPath {
    parent: Parent::Org,
    suffix: "teams",
    scope: "teams",
    bucket: Bucket::Teams,
    role: OrgRole::Member,
    item: false,
    sunsets: false,
    endpoint: teams_endpoint,
};

fn teams_endpoint<'a>(
    request: Request<Incoming>,
    call: Call<'a>,
    org_id: &'a str,
    path: &'static OrgPath,
) -> EndpointFuture<'a> {
    Box::pin(serve_listing(Teams, request, call, org_id, path))
}

struct Teams;

/// `TeamResponse`, field names as in the spec.
#[derive(Serialize)]
struct TeamResponse<'a> {
    id: &'a str,
    links: Vec<Link>,
    name: &'a str,
}

impl OrgListing for Teams {
    type Query = Page;

    fn query(
        &self,
        pairs: &[(String, String)],
        _content_type: &'static str,
        _org: Option<&SimOrg>,
    ) -> Result<Page, InvalidQuery> {
        Page::from_query(pairs)
    }

    // Teams have no dates, so an "invalid dates" fault serves them as they are.
    fn body(&self, org: &SimOrg, page: &Page, at: &Listed<'_>, _: DateStyle) -> serde_json::Value {
        let items: Vec<TeamResponse<'_>> = org
            .teams
            .iter()
            .map(|team| TeamResponse {
                id: &team.id,
                links: vec![Link {
                    href: format!("{}/{}", at.resource_url, team.id),
                    rel: "self",
                }],
                name: &team.name,
            })
            .collect();
        paginate(&items, page, &at.resource_url, at.raw_query)
    }
}
