//! `GET /api/atlas/v2/orgs/{orgId}/users`: an org's users, pending and active (2025-02-19) or active
//! only (2023-01-01).

use hyper::Request;
use hyper::body::Incoming;

use crate::handler::ORG_PATHS;
use crate::handler::call::Call;
use crate::handler::org::{EndpointFuture, OrgPath, Parent};
use crate::handler::paginated::{Listed, OrgListing, serve_listing};
use crate::listing::{InvalidQuery, OrgMembers, UsersQuery, UsersVersion};
use crate::protocol::{ATLAS_MEDIA_TYPE, ORG_USERS_MEDIA_TYPE};
use crate::response::DateStyle;
use crate::state::{Bucket, SHARED_SCOPE};
use crate::world::{OrgRole, SimOrg};

#[linkme::distributed_slice(ORG_PATHS)]
static USERS: OrgPath = OrgPath {
    parent: Parent::Org,
    suffix: "users",
    scope: SHARED_SCOPE,
    bucket: Bucket::CloudUsers,
    role: OrgRole::Member,
    item: false,
    sunsets: false,
    endpoint: users_endpoint,
};

fn users_endpoint<'a>(
    request: Request<Incoming>,
    call: Call<'a>,
    org_id: &'a str,
    path: &'static OrgPath,
) -> EndpointFuture<'a> {
    Box::pin(serve_listing(Users, request, call, org_id, path))
}

struct Users;

fn version(content_type: &str) -> UsersVersion {
    if content_type == ORG_USERS_MEDIA_TYPE {
        UsersVersion::WithPending
    } else {
        UsersVersion::ActiveOnly
    }
}

impl OrgListing for Users {
    type Query = UsersQuery;

    fn content_type(&self, accept: Option<&str>) -> Option<&'static str> {
        match accept {
            Some(ORG_USERS_MEDIA_TYPE) => Some(ORG_USERS_MEDIA_TYPE),
            Some(ATLAS_MEDIA_TYPE) => Some(ATLAS_MEDIA_TYPE),
            _ => None,
        }
    }

    fn query(
        &self,
        pairs: &[(String, String)],
        content_type: &'static str,
        org: Option<&SimOrg>,
    ) -> Result<UsersQuery, InvalidQuery> {
        let legacy = org.is_some_and(|org| org.legacy_status_filter);
        UsersQuery::parse(pairs, version(content_type), legacy)
    }

    fn body(
        &self,
        org: &SimOrg,
        query: &UsersQuery,
        at: &Listed<'_>,
        dates: DateStyle,
    ) -> serde_json::Value {
        // One instant for which invitations are listed and for their relative dates.
        let now = jiff::Timestamp::now();
        let invitations = org.listed_invitations(at.churn_start, now);
        let members = OrgMembers {
            base_url: at.base_url,
            org_id: at.org_id,
            invitations: &invitations,
            active_users: org.active_users,
            rejected: org.rejected,
            legacy: org.legacy_status_filter,
            now,
        };
        match version(at.content_type) {
            UsersVersion::WithPending => {
                members.with_pending(query, &at.resource_url, at.raw_query, dates)
            }
            UsersVersion::ActiveOnly => {
                members.active_only(query, &at.resource_url, at.raw_query, dates)
            }
        }
    }
}
