//! Routing: which endpoint a request goes to, and the hyper service that logs each request, hands it
//! to its endpoint and turns the outcome into a response (or a reset). The endpoints are the files of
//! `endpoints/`, each registering itself in [`FIXED_PATHS`] (an exact path: `POST /api/oauth/token`,
//! `GET /api/atlas/v2/orgs`) or [`ORG_PATHS`] (`GET /api/atlas/v2/orgs/{orgId}/{suffix}`); routing reads
//! only these two slices. What endpoints share is in `call.rs`, `auth.rs`, `fault.rs`, `form.rs`,
//! `org.rs`, `paginated.rs` and `answer.rs`.
//!
//! To add an endpoint `GET /api/atlas/v2/orgs/{orgId}/{suffix}`: the data it serves in `SimOrg`
//! (world.rs, with its default in `SimOrg::new`), and ONE new file in `endpoints/` holding its JSON, its
//! endpoint function and its route entry:
//!
//! ```ignore
//! #[linkme::distributed_slice(crate::handler::ORG_PATHS)]
//! static TEAMS: OrgPath = OrgPath { suffix: "teams", scope: "teams", bucket: Bucket::Teams,
//!     role: OrgRole::Member, item: false, sunsets: false, endpoint: teams_endpoint };
//! ```
//!
//! For a paginated listing the endpoint hands an [`paginated::OrgListing`] (media types, query, body)
//! to `serve_listing`. No `mod` line and no table to edit: `endpoints/mod.rs` makes every file of the
//! folder a module (`build.rs` makes cargo notice a new file), and the linker gathers the entries.
//! Routing, the request log, the checks, faults (`Simulator::push_path_faults`), behaviours
//! (`Simulator::set_path_behaviour`), spoils and rate-limit headers then follow.

mod answer;
mod auth;
mod call;
mod endpoints;
mod fault;
mod form;
mod org;
mod paginated;

use std::convert::Infallible;
use std::sync::Arc;

use hyper::body::Incoming;
use hyper::header::{self, HeaderMap};
use hyper::{Request, Response, StatusCode};

use crate::response::{Delivery, SimBody, api_error};
use crate::state::{AuthKind, ConnectionControl, RecordedRequest, Shared};
use call::{Call, Outcome};
use org::{EndpointFuture, OrgPath, Parent};

/// Every `/api/atlas/v2/orgs/{orgId}/{suffix}` path served, one entry per file of `endpoints/` that
/// serves one; routing and dispatch read only this (and [`FIXED_PATHS`]).
#[linkme::distributed_slice]
static ORG_PATHS: [OrgPath];

/// Every path served exactly as written (no id in it), one entry per file of `endpoints/` serving one.
#[linkme::distributed_slice]
static FIXED_PATHS: [FixedPath];

/// An exact path's endpoint: the request and the call.
type FixedEndpoint = for<'a> fn(Request<Incoming>, Call<'a>) -> EndpointFuture<'a>;

/// One path served as written, e.g. `/api/oauth/token`: whatever it checks, its endpoint checks.
#[derive(Debug)]
struct FixedPath {
    path: &'static str,
    endpoint: FixedEndpoint,
}

// By path: one entry per path (and fn pointers compare unreliably).
impl PartialEq for FixedPath {
    fn eq(&self, other: &FixedPath) -> bool {
        self.path == other.path
    }
}

impl Eq for FixedPath {}

/// The scope (fault queue and behaviour) of the org path named so (see `OrgPath::is_named`: `teams`,
/// `groups/{groupId}/invites`), None for no such path.
pub(crate) fn org_path_scope(name: &str) -> Option<&'static str> {
    ORG_PATHS
        .iter()
        .find(|path| path.is_named(name))
        .map(|path| path.scope)
}

#[cfg(test)]
fn org_path(suffix: &str) -> Option<&'static OrgPath> {
    registered(Parent::Org, suffix)
}

fn registered(parent: Parent, suffix: &str) -> Option<&'static OrgPath> {
    ORG_PATHS
        .iter()
        .find(|path| path.parent == parent && path.suffix == suffix)
}

/// Why a request got no answer: the connection is to be reset (an error makes hyper drop it at once).
#[derive(Debug, thiserror::Error)]
#[error("simulated connection reset")]
pub(crate) struct ResetConnection;

/// The hyper service: logs the request, answers it, and records the status answered.
pub(crate) async fn handle(
    request: Request<Incoming>,
    shared: Arc<Shared>,
    connection: Arc<ConnectionControl>,
) -> Result<Response<SimBody>, ResetConnection> {
    let path = request.uri().path().to_owned();
    let route = Route::of(&path);
    let gzip = accepts_gzip(request.headers());
    let sequence = {
        let mut state = shared.lock();
        let org_id = match route {
            Route::Org { org_id, .. } => Some(org_id.to_owned()),
            Route::Group { group_id, .. } => state.project_owner(group_id).map(str::to_owned),
            Route::Fixed(_) | Route::Unknown => None,
        };
        state.record(RecordedRequest {
            method: request.method().as_str().to_owned(),
            path: path.clone(),
            query: request.uri().query().map(str::to_owned),
            auth: AuthKind::of(request.headers().get(header::AUTHORIZATION)),
            status: 0,
            org_id,
            credential: None,
            received_at: std::time::Instant::now(),
            fault: None,
        })
    };
    let call = Call {
        shared: &shared,
        sequence,
    };

    let outcome = match route {
        Route::Fixed(fixed) => (fixed.endpoint)(request, call).await,
        Route::Org { org_id, path } => (path.endpoint)(request, call, org_id, path).await,
        Route::Group { group_id, path } => (path.endpoint)(request, call, group_id, path).await,
        Route::Unknown => api_error(
            StatusCode::NOT_FOUND,
            Some("RESOURCE_NOT_FOUND"),
            &format!("Cannot find resource {path}."),
        )
        .into(),
    };

    match outcome {
        Outcome::Reply(reply) => {
            shared.lock().set_status(sequence, reply.status.as_u16());
            tracing::debug!(target: "atlas_simulator", %path, status = reply.status.as_u16(), "answered");
            if reply.delivery == Delivery::ResetHalfway {
                connection.reset_on_close();
            }
            Ok(reply.into_response(gzip))
        }
        Outcome::Hang => {
            let never: Infallible = std::future::pending().await;
            match never {}
        }
        Outcome::Reset => {
            tracing::debug!(target: "atlas_simulator", %path, "resetting the connection");
            connection.reset_on_close();
            Err(ResetConnection)
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route<'a> {
    Fixed(&'static FixedPath),
    /// `{orgId}` as sent, even when it is not a valid id.
    Org {
        org_id: &'a str,
        path: &'static OrgPath,
    },
    /// `{groupId}` as sent, even when it is not a valid id.
    Group {
        group_id: &'a str,
        path: &'static OrgPath,
    },
    Unknown,
}

impl Route<'_> {
    fn of(path: &str) -> Route<'_> {
        if let Some(fixed) = FIXED_PATHS.iter().find(|fixed| fixed.path == path) {
            return Route::Fixed(fixed);
        }
        [Parent::Org, Parent::Group]
            .into_iter()
            .find_map(|parent| Route::under(parent, path))
            .unwrap_or(Route::Unknown)
    }

    /// The route of `path` when it is one of `parent`'s registered paths.
    fn under(parent: Parent, path: &str) -> Option<Route<'_>> {
        let (id, suffix) = path
            .strip_prefix(parent.prefix())?
            .strip_prefix('/')?
            .split_once('/')?;
        let (collection, item) = match suffix.split_once('/') {
            Some((collection, item)) => (collection, Some(item)),
            None => (suffix, None),
        };
        let path = registered(parent, collection)?;
        let item_ok = match item {
            Some(item) => path.item && !item.is_empty() && !item.contains('/'),
            None => !path.item,
        };
        if id.is_empty() || !item_ok {
            return None;
        }
        Some(match parent {
            Parent::Org => Route::Org { org_id: id, path },
            Parent::Group => Route::Group { group_id: id, path },
        })
    }
}

fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|coding| {
            let mut parts = coding.split(';');
            let name = parts.next().unwrap_or("").trim();
            let refused = parts.any(|param| {
                let param = param.trim();
                param
                    .strip_prefix("q=")
                    .is_some_and(|q| q.trim().parse::<f32>().is_ok_and(|q| q <= 0.0))
            });
            name.eq_ignore_ascii_case("gzip") && !refused
        })
}

#[cfg(test)]
mod tests {
    use hyper::header::HeaderValue;
    use proptest::prelude::*;

    use super::endpoints::invites::Query;
    use super::form::parse_form;
    use super::org::is_atlas_id;
    use super::*;
    use crate::listing::{OrgsQuery, UsersQuery, UsersVersion};

    #[test]
    fn paths_are_recognised_only_exactly() {
        let org = |org_id, suffix| Route::Org {
            org_id,
            path: org_path(suffix).unwrap(),
        };
        assert_eq!(
            Route::of("/api/atlas/v2/orgs/6523f1a0c8e4b2d9f0a1b001/invites"),
            org("6523f1a0c8e4b2d9f0a1b001", "invites")
        );
        assert_eq!(
            Route::of("/api/atlas/v2/orgs/6523f1a0c8e4b2d9f0a1b001/users"),
            org("6523f1a0c8e4b2d9f0a1b001", "users")
        );
        assert_eq!(
            Route::of("/api/atlas/v2/orgs/not-an-id/invites"),
            org("not-an-id", "invites")
        );
        assert_eq!(
            Route::of("/api/atlas/v2/orgs/6523f1a0c8e4b2d9f0a1b001/serviceAccounts/mdb_sa_id_x"),
            org("6523f1a0c8e4b2d9f0a1b001", "serviceAccounts")
        );
        let fixed = |path| Route::Fixed(FIXED_PATHS.iter().find(|f| f.path == path).unwrap());
        assert_eq!(Route::of("/api/atlas/v2/orgs"), fixed("/api/atlas/v2/orgs"));
        assert_eq!(Route::of("/api/oauth/token"), fixed("/api/oauth/token"));
        for unknown in [
            "/api/atlas/v2/orgs/",
            "/api/atlas/v2/orgs//invites",
            "/api/atlas/v2/orgs/a/b/invites",
            "/api/atlas/v2/orgs/a/invites/",
            "/api/atlas/v2/orgs/a/users/b",
            "/api/atlas/v2/orgs/a/clusters",
            "/api/atlas/v2/orgsx/a/users",
            "/api/atlas/v2/orgs/a/serviceAccounts",
            "/api/atlas/v2/orgs/a/serviceAccounts/",
            "/api/atlas/v2/orgs/a/serviceAccounts/b/c",
            "/api/atlas/v2/orgs/a/invites/b",
        ] {
            assert_eq!(Route::of(unknown), Route::Unknown, "{unknown}");
        }
        assert!(is_atlas_id("6523f1a0c8e4b2d9f0a1b001"));
        assert!(!is_atlas_id("6523F1A0C8E4B2D9F0A1B001"));
        assert!(!is_atlas_id("6523f1a0c8e4b2d9f0a1b00"));
    }

    #[test]
    fn project_paths_are_recognised_only_exactly() {
        let project = "6523f1a0c8e4b2d9f0a1c101";
        let Route::Group { group_id, path } =
            Route::of("/api/atlas/v2/groups/6523f1a0c8e4b2d9f0a1c101/invites")
        else {
            panic!("not a project path");
        };
        assert_eq!(
            (group_id, path.parent, path.suffix),
            (project, Parent::Group, "invites")
        );
        for unknown in [
            "/api/atlas/v2/groups/a/users",
            "/api/atlas/v2/groups//invites",
            "/api/atlas/v2/groups/a/invites/b",
            "/api/atlas/v2/groups/a",
            "/api/atlas/v2/groups",
        ] {
            assert_eq!(Route::of(unknown), Route::Unknown, "{unknown}");
        }
    }

    #[test]
    fn every_path_is_registered_once() {
        // Not a list of the paths: a new endpoint file must not need this test changed.
        let mut keys: Vec<String> = ORG_PATHS
            .iter()
            .map(|path| format!("{}/{{id}}/{}", path.parent.prefix(), path.suffix))
            .chain(FIXED_PATHS.iter().map(|path| path.path.to_owned()))
            .collect();
        let count = keys.len();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), count, "{keys:?}");
        assert!(
            ORG_PATHS
                .iter()
                .all(|path| org_path_scope(&match path.parent {
                    Parent::Org => path.suffix.to_owned(),
                    Parent::Group => format!("groups/{{groupId}}/{}", path.suffix),
                }) == Some(path.scope))
        );
        for known in ["invites", "users", "serviceAccounts"] {
            assert!(org_path(known).is_some(), "{known}");
        }
        assert_eq!(FIXED_PATHS.len(), 2);
    }

    #[test]
    fn gzip_is_chosen_only_when_accepted() {
        let with = |value: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::ACCEPT_ENCODING, HeaderValue::from_static(value));
            accepts_gzip(&headers)
        };
        assert!(with("gzip"));
        assert!(with("br, GZIP;q=0.5"));
        assert!(!with("gzip;q=0"));
        assert!(!with("identity"));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }

    proptest! {
        #[test]
        fn parsers_never_panic(input in "\\PC{0,100}") {
            let _ = parse_form(input.as_bytes());
            let _ = Query::parse(Some(&input));
            let _ = Route::of(&input);
            let pairs = parse_form(input.as_bytes()).unwrap_or_default();
            for legacy in [false, true] {
                let _ = UsersQuery::parse(&pairs, UsersVersion::WithPending, legacy);
            }
            let _ = OrgsQuery::parse(&pairs);
        }
    }
}
