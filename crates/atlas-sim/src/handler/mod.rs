//! Routing: which endpoint a request goes to, and the hyper service that logs each request, hands it
//! to its endpoint and turns the outcome into a response (or a reset). The endpoints are
//! `POST /api/oauth/token` (`token.rs`), `GET /api/atlas/v2/orgs` (`orgs.rs`) and the org paths of
//! [`ORG_PATHS`]: `GET /api/atlas/v2/orgs/{orgId}/invites` (`invites.rs`), `…/users` (`users.rs`) and
//! `…/serviceAccounts/{clientId}` (`service_account.rs`).
//! What they share is in `call.rs`, `auth.rs`, `fault.rs`, `form.rs`, `org.rs`, `paginated.rs` and
//! `answer.rs`.
//!
//! To add an endpoint `GET /api/atlas/v2/orgs/{orgId}/{suffix}`: the data it serves in `SimOrg`
//! (world.rs, with its default in `SimOrg::new`); a handler file here with its JSON, which for a
//! paginated listing is an [`paginated::OrgListing`] (media types, query, body) handed to
//! `serve_listing`; and its `mod` line and entry in [`ORG_PATHS`] (scope of faults and behaviour,
//! bucket, least role). Routing, the request log, the checks, faults (`Simulator::push_path_faults`),
//! behaviours (`Simulator::set_path_behaviour`), spoils and rate-limit headers then follow.

mod answer;
mod auth;
mod call;
mod fault;
mod form;
mod invites;
mod org;
mod orgs;
mod paginated;
mod service_account;
mod token;
mod users;

use std::convert::Infallible;
use std::sync::Arc;

use hyper::body::Incoming;
use hyper::header::{self, HeaderMap};
use hyper::{Request, Response, StatusCode};

use crate::response::{Delivery, SimBody, api_error};
use crate::state::{AuthKind, ConnectionControl, RecordedRequest, Shared};
use crate::state::{Bucket, SHARED_SCOPE};
use crate::world::OrgRole;
use call::{Call, Outcome};
use org::OrgPath;
use orgs::list_orgs_endpoint;
use token::token_endpoint;

const TOKEN_PATH: &str = "/api/oauth/token";
const ORGS_PATH: &str = "/api/atlas/v2/orgs";

/// Every `/api/atlas/v2/orgs/{orgId}/{suffix}` path served; routing and dispatch read only this.
static ORG_PATHS: &[OrgPath] = &[
    OrgPath {
        suffix: "invites",
        scope: SHARED_SCOPE,
        bucket: Bucket::Organizations,
        role: OrgRole::Owner,
        item: false,
        sunsets: true,
        endpoint: invites::invites_endpoint,
    },
    OrgPath {
        suffix: "users",
        scope: SHARED_SCOPE,
        bucket: Bucket::CloudUsers,
        role: OrgRole::Member,
        item: false,
        sunsets: false,
        endpoint: users::users_endpoint,
    },
    // Atlas' rate-limit bucket for service accounts is undocumented; "Organizations" is the nearest.
    OrgPath {
        suffix: "serviceAccounts",
        scope: "serviceAccounts",
        bucket: Bucket::Organizations,
        role: OrgRole::Member,
        item: true,
        sunsets: false,
        endpoint: service_account::service_account_endpoint,
    },
];

/// The scope (fault queue and behaviour) of the org path with this suffix, None for no such path.
pub(crate) fn org_path_scope(suffix: &str) -> Option<&'static str> {
    org_path(suffix).map(|path| path.scope)
}

fn org_path(suffix: &str) -> Option<&'static OrgPath> {
    ORG_PATHS.iter().find(|path| path.suffix == suffix)
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
    let sequence = shared.lock().record(RecordedRequest {
        method: request.method().as_str().to_owned(),
        path: path.clone(),
        query: request.uri().query().map(str::to_owned),
        auth: AuthKind::of(request.headers().get(header::AUTHORIZATION)),
        status: 0,
        org_id: match route {
            Route::Org { org_id, .. } => Some(org_id.to_owned()),
            _ => None,
        },
        credential: None,
        received_at: std::time::Instant::now(),
        fault: None,
    });
    let call = Call {
        shared: &shared,
        sequence,
    };

    let outcome = match route {
        Route::Token => token_endpoint(request, call).await,
        Route::Org { org_id, path } => (path.endpoint)(request, call, org_id, path).await,
        Route::ListOrgs => list_orgs_endpoint(request, call).await,
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
    Token,
    ListOrgs,
    /// `{orgId}` as sent, even when it is not a valid id.
    Org {
        org_id: &'a str,
        path: &'static OrgPath,
    },
    Unknown,
}

impl Route<'_> {
    fn of(path: &str) -> Route<'_> {
        if path == TOKEN_PATH {
            return Route::Token;
        }
        if path == ORGS_PATH {
            return Route::ListOrgs;
        }
        let Some((org_id, suffix)) = path
            .strip_prefix(ORGS_PATH)
            .and_then(|rest| rest.strip_prefix('/'))
            .and_then(|rest| rest.split_once('/'))
        else {
            return Route::Unknown;
        };
        let (collection, item) = match suffix.split_once('/') {
            Some((collection, item)) => (collection, Some(item)),
            None => (suffix, None),
        };
        let Some(path) = org_path(collection) else {
            return Route::Unknown;
        };
        let item_ok = match item {
            Some(item) => path.item && !item.is_empty() && !item.contains('/'),
            None => !path.item,
        };
        if org_id.is_empty() || !item_ok {
            return Route::Unknown;
        }
        Route::Org { org_id, path }
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

    use super::form::parse_form;
    use super::invites::Query;
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
        assert_eq!(Route::of("/api/atlas/v2/orgs"), Route::ListOrgs);
        assert_eq!(Route::of("/api/oauth/token"), Route::Token);
        for unknown in [
            "/api/atlas/v2/orgs/",
            "/api/atlas/v2/orgs//invites",
            "/api/atlas/v2/orgs/a/b/invites",
            "/api/atlas/v2/orgs/a/invites/",
            "/api/atlas/v2/orgs/a/users/b",
            "/api/atlas/v2/orgs/a/teams",
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
