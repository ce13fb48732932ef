//! What every org path (`/orgs/{orgId}/…`) is: its entry in the route table ([`OrgPath`]), and what it
//! checks before it answers: the method and org id, then, once the caller is authenticated and no fault
//! of its scope was served, the org itself, the caller's role in it and the behaviour of its scope.

use std::future::Future;
use std::pin::Pin;

use hyper::body::Incoming;
use hyper::header;
use hyper::{Method, Request, StatusCode};

use super::call::{Call, Outcome};
use crate::protocol::{RATE_LIMIT_CAPACITY, VERSION_GONE_DETAIL};
use crate::response::{Reply, api_error, api_error_with_parameters};
use crate::state::{Bucket, OrgState, Shared, State};
use crate::world::{Behaviour, Fault, OrgRole};

/// What an org path's endpoint returns: boxed, so that every endpoint fits one table entry type.
pub(super) type EndpointFuture<'a> = Pin<Box<dyn Future<Output = Outcome> + Send + 'a>>;

/// An org path's endpoint: the request, the call, the `{orgId}` as sent, and its own table entry.
pub(super) type Endpoint =
    for<'a> fn(Request<Incoming>, Call<'a>, &'a str, &'static OrgPath) -> EndpointFuture<'a>;

/// One `/api/atlas/v2/orgs/{orgId}/{suffix}` path, as the route table declares it. Everything the
/// shared checks need is here, so an endpoint only says what it serves.
#[derive(Debug)]
pub(super) struct OrgPath {
    /// The path segment after `{orgId}`, e.g. `teams`.
    pub(super) suffix: &'static str,
    /// The path is one item of the collection `suffix`: `{suffix}/{id}`, the id being the last segment.
    pub(super) item: bool,
    /// Names the fault queue and behaviour the path draws on: paths naming the same scope share them
    /// ([`crate::state::SHARED_SCOPE`] for invites and users, whose public methods promise so).
    pub(super) scope: &'static str,
    /// The rate-limit bucket its calls take a token from.
    pub(super) bucket: Bucket,
    /// The least role that may call it (a Member below it gets 403).
    pub(super) role: OrgRole,
    /// Answers 410 `VERSION_GONE` for an org with `SimOrg::invites_gone`.
    pub(super) sunsets: bool,
    pub(super) endpoint: Endpoint,
}

// By suffix: the table has one entry per suffix (and fn pointers compare unreliably).
impl PartialEq for OrgPath {
    fn eq(&self, other: &OrgPath) -> bool {
        self.suffix == other.suffix
    }
}

impl Eq for OrgPath {}

pub(super) fn is_atlas_id(id: &str) -> bool {
    id.len() == 24
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// 405 for anything but GET, 400 for an org id Atlas would refuse.
pub(super) fn refuse_method_or_id(request: &Request<Incoming>, org_id: &str) -> Option<Reply> {
    if request.method() != Method::GET {
        // Atlas's code for this is unconfirmed (the spec's 405 example is unrelated); the exporter only GETs.
        return Some(
            api_error(
                StatusCode::METHOD_NOT_ALLOWED,
                Some("METHOD_NOT_ALLOWED"),
                "This simulator only serves GET on this resource.",
            )
            .with_header(header::ALLOW, "GET"),
        );
    }
    if !is_atlas_id(org_id) {
        return Some(api_error(
            StatusCode::BAD_REQUEST,
            Some("VALIDATION_ERROR"),
            &format!("Invalid organization ID {org_id}: it must be a 24-hexadecimal digit string."),
        ));
    }
    None
}

/// The org-level checks every org path makes once the caller is authenticated and no fault was served:
/// unknown org (404), sunset endpoint (410), deleted org (404), a credential outside the org (401), a
/// role below the path's (403), then the behaviour of its scope (not for a spoiled answer).
pub(super) fn admit<'s>(
    state: &'s mut State,
    org_id: &str,
    credential: &str,
    path: &OrgPath,
    spoiled: bool,
) -> Result<&'s mut OrgState, Reply> {
    let role = state.role_of(credential, org_id);
    let not_found = || {
        api_error(
            StatusCode::NOT_FOUND,
            Some("RESOURCE_NOT_FOUND"),
            &format!("Cannot find resource organization {org_id}."),
        )
    };
    let Some(org) = state.orgs.get_mut(org_id) else {
        return Err(not_found());
    };
    // A sunset version is refused whoever asks, so before any question of roles (unconfirmed order).
    if path.sunsets && org.declared.invites_gone {
        return Err(api_error(
            StatusCode::GONE,
            Some("VERSION_GONE"),
            VERSION_GONE_DETAIL,
        ));
    }
    if org.declared.is_deleted {
        return Err(not_found());
    }
    match role {
        // What Atlas answers for an org the credential does not belong to is unconfirmed (reference §3
        // lists 401/403/404 and NOT_IN_GROUP-style codes); 401 USER_UNAUTHORIZED with this detail is the
        // best-evidenced "not authorized" pair, and a 401 never reads as "lacks the Owner role".
        None => {
            return Err(api_error(
                StatusCode::UNAUTHORIZED,
                Some("USER_UNAUTHORIZED"),
                "Current user is not authorized to perform this action.",
            ));
        }
        // Owner is the only role above Member, hence the detail.
        Some(role) if role < path.role => {
            return Err(api_error(
                StatusCode::FORBIDDEN,
                Some("USER_UNAUTHORIZED"),
                "Current user is not authorized to perform this action: this resource requires the Organization Owner role.",
            ));
        }
        Some(_) => {}
    }
    if !spoiled {
        // An item's own id is left out: the bucket (and its detail) is the collection's.
        let resource_path = format!("api/atlas/v2/orgs/{org_id}/{}", path.suffix);
        let (behaviour, calls) = org.behaviour_mut(path.scope);
        if let Some(refusal) = apply_behaviour(&resource_path, behaviour, calls) {
            return Err(refusal);
        }
    }
    Ok(org)
}

/// The next fault queued for the path's scope in this org, if any.
pub(super) fn take_org_fault(shared: &Shared, org_id: &str, path: &OrgPath) -> Option<Fault> {
    shared
        .lock()
        .orgs
        .get_mut(org_id)
        .and_then(|org| org.faults_mut(path.scope).pop_front())
}

/// The refusal an org's behaviour calls for, if any; `resource` is the path without its leading slash.
fn apply_behaviour(resource: &str, behaviour: Behaviour, calls: &mut u64) -> Option<Reply> {
    *calls = calls.saturating_add(1);
    match behaviour {
        Behaviour::Normal => None,
        // The exact code Atlas sends when the credential lacks Organization Owner is unconfirmed
        // (reference §3); USER_UNAUTHORIZED and this detail are the documented "not authorized" pair.
        Behaviour::Forbidden => Some(api_error(
            StatusCode::FORBIDDEN,
            Some("USER_UNAUTHORIZED"),
            "Current user is not authorized to perform this action.",
        )),
        Behaviour::RateLimitedEvery {
            n,
            retry_after_secs,
        } => {
            if n == 0 || !calls.is_multiple_of(u64::from(n)) {
                return None;
            }
            let wait = retry_after_secs.map_or(String::new(), |secs| {
                format!(" Please retry after {secs} seconds.")
            });
            let detail = format!(
                "Rate limit exceeded for {resource}.{wait} Request capacity: {RATE_LIMIT_CAPACITY}. Refill rate: 250 per 60 seconds."
            );
            let parameters =
                serde_json::json!([resource, retry_after_secs, RATE_LIMIT_CAPACITY, 250, 60]);
            let mut reply = api_error_with_parameters(
                StatusCode::TOO_MANY_REQUESTS,
                Some("RATE_LIMITED_TOKEN_BUCKET"),
                &detail,
                Some(parameters),
            )
            .with_header(
                header::HeaderName::from_static("ratelimit-limit"),
                &RATE_LIMIT_CAPACITY.to_string(),
            )
            .with_header(header::HeaderName::from_static("ratelimit-remaining"), "0");
            if let Some(secs) = retry_after_secs {
                reply = reply.with_header(header::RETRY_AFTER, &secs.to_string());
            }
            Some(reply)
        }
    }
}

#[cfg(test)]
mod tests {
    use hyper::header;

    use super::*;

    #[test]
    fn rate_limited_every_third_call() {
        let behaviour = Behaviour::RateLimitedEvery {
            n: 3,
            retry_after_secs: None,
        };
        let mut calls = 0;
        let statuses: Vec<bool> = (0..6)
            .map(|_| apply_behaviour("api/atlas/v2/orgs/x/users", behaviour, &mut calls).is_some())
            .collect();
        assert_eq!(statuses, [false, false, true, false, false, true]);
        let reply = apply_behaviour(
            "x",
            Behaviour::RateLimitedEvery {
                n: 1,
                retry_after_secs: None,
            },
            &mut calls,
        )
        .unwrap();
        assert!(
            reply
                .headers
                .iter()
                .all(|(name, _)| name != header::RETRY_AFTER)
        );
        let never = Behaviour::RateLimitedEvery {
            n: 0,
            retry_after_secs: None,
        };
        assert!((0..5).all(|_| apply_behaviour("x", never, &mut calls).is_none()));
    }
}
