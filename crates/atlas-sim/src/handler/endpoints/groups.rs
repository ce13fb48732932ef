//! `GET /api/atlas/v2/orgs/{orgId}/groups` (getOrgGroups, 2023-01-01): an org's projects as
//! `PaginatedAtlasGroupView` of `Group`, optionally by name prefix.

use hyper::Request;
use hyper::body::Incoming;
use jiff::Timestamp;
use serde::Serialize;

use crate::handler::ORG_PATHS;
use crate::handler::call::Call;
use crate::handler::org::{EndpointFuture, OrgPath, Parent};
use crate::handler::paginated::{Listed, OrgListing, serve_listing};
use crate::listing::{InvalidQuery, Page, paginate};
use crate::response::{DateStyle, Link};
use crate::state::Bucket;
use crate::world::{DAY, OrgRole, SimOrg, SimProject};

// getOrgGroups is in the "Organizations" endpoint set (reference §8).
#[linkme::distributed_slice(ORG_PATHS)]
static GROUPS: OrgPath = OrgPath {
    parent: Parent::Org,
    suffix: "groups",
    scope: "groups",
    bucket: Bucket::Organizations,
    role: OrgRole::Member,
    item: false,
    sunsets: false,
    endpoint: groups_endpoint,
};

fn groups_endpoint<'a>(
    request: Request<Incoming>,
    call: Call<'a>,
    org_id: &'a str,
    path: &'static OrgPath,
) -> EndpointFuture<'a> {
    Box::pin(serve_listing(Groups, request, call, org_id, path))
}

struct Groups;

/// getOrgGroups' query: the page and `name`, a case-insensitive name prefix.
struct GroupsQuery {
    page: Page,
    name: Option<String>,
}

impl AsRef<Page> for GroupsQuery {
    fn as_ref(&self) -> &Page {
        &self.page
    }
}

/// `Group` with the fields the spec requires (`clusterCount`, `created`, `name`, `orgId`), `id` and
/// `links`; `regionUsageRestrictions` is Atlas for Government only.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Group<'a> {
    cluster_count: u64,
    created: String,
    id: &'a str,
    links: Vec<Link>,
    name: &'a str,
    org_id: &'a str,
}

impl OrgListing for Groups {
    type Query = GroupsQuery;

    fn query(
        &self,
        pairs: &[(String, String)],
        _content_type: &'static str,
        _org: Option<&SimOrg>,
    ) -> Result<GroupsQuery, InvalidQuery> {
        let mut names = pairs.iter().filter(|(key, _)| key == "name");
        let name = names.next().map(|(_, value)| value.to_lowercase());
        if names.next().is_some() {
            return Err(InvalidQuery(
                "Request query parameter name may be given only once.".to_owned(),
            ));
        }
        Ok(GroupsQuery {
            page: Page::from_query(pairs)?,
            name,
        })
    }

    fn body(
        &self,
        org: &SimOrg,
        query: &GroupsQuery,
        at: &Listed<'_>,
        dates: DateStyle,
    ) -> serde_json::Value {
        let now = Timestamp::now();
        let items: Vec<Group<'_>> = org
            .projects
            .iter()
            .filter(|project| {
                query
                    .name
                    .as_ref()
                    .is_none_or(|prefix| project.name.to_lowercase().starts_with(prefix))
            })
            .map(|project| Group {
                cluster_count: 0,
                created: dates.render(created(project, now)),
                id: &project.id,
                links: vec![Link {
                    href: format!("{}/api/atlas/v2/groups/{}", at.base_url, project.id),
                    rel: "self",
                }],
                name: &project.name,
                org_id: at.org_id,
            })
            .collect();
        paginate(&items, &query.page, &at.resource_url, at.raw_query)
    }
}

/// When the project was created: the time in its id, as in an ObjectId (a year ago for an id that
/// holds none, or none in the past).
fn created(project: &SimProject, now: Timestamp) -> Timestamp {
    project
        .id
        .get(..8)
        .and_then(|hex| i64::from_str_radix(hex, 16).ok())
        .filter(|&seconds| seconds > 0 && seconds < now.as_second())
        .and_then(|seconds| Timestamp::from_second(seconds).ok())
        .unwrap_or_else(|| Timestamp::from_second(now.as_second() - 365 * DAY).unwrap_or(now))
}
