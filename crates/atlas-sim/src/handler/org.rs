//! What every org path (`/orgs/{orgId}/…`) is: its entry in the route table ([`OrgPath`]), and what it
//! checks before it answers: the method and org id, then, once the caller is authenticated and no fault
//! of its scope was served, the org itself, the caller's role in it and the behaviour of its scope.

use std::future::Future;
use std::pin::Pin;

use hyper::body::Incoming;
use hyper::header;
use hyper::{Method, Request, StatusCode};

use super::answer::not_acceptable;
use super::call::{Call, Outcome, header_str};
use crate::protocol::VERSION_GONE_DETAIL;
use crate::response::{Reply, api_error, api_error_with_parameters};
use crate::state::{Bucket, OrgState, Shared, State};
use crate::world::{Behaviour, Fault, OrgRole};

/// What an org path's endpoint returns: boxed, so that every endpoint fits one table entry type.
pub(super) type EndpointFuture<'a> = Pin<Box<dyn Future<Output = Outcome> + Send + 'a>>;

/// An org path's endpoint: the request, the call, the `{orgId}` as sent, and its own table entry.
pub(super) type Endpoint =
    for<'a> fn(Request<Incoming>, Call<'a>, &'a str, &'static OrgPath) -> EndpointFuture<'a>;

/// What an org path's id names: the org itself, or one of its projects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Parent {
    /// `/api/atlas/v2/orgs/{orgId}/{suffix}`.
    Org,
    /// `/api/atlas/v2/groups/{groupId}/{suffix}`: the org is the one that has the project, and its
    /// fault queues, behaviours and checks apply.
    Group,
}

impl Parent {
    /// The path up to the id, e.g. `/api/atlas/v2/orgs`.
    pub(super) fn prefix(self) -> &'static str {
        match self {
            Parent::Org => "/api/atlas/v2/orgs",
            Parent::Group => "/api/atlas/v2/groups",
        }
    }
}

/// One `/api/atlas/v2/orgs/{orgId}/{suffix}` (or `/groups/{groupId}/{suffix}`) path, as its endpoint
/// file declares it. Everything the shared checks need is here, so an endpoint only says what it serves.
#[derive(Debug)]
pub(super) struct OrgPath {
    /// Whose id the path holds.
    pub(super) parent: Parent,
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

// By place: one entry per parent and suffix (and fn pointers compare unreliably).
impl PartialEq for OrgPath {
    fn eq(&self, other: &OrgPath) -> bool {
        (self.parent, self.suffix) == (other.parent, other.suffix)
    }
}

impl OrgPath {
    /// How tests name it ([`crate::Simulator::push_path_faults`]): the suffix for an org's own path,
    /// `groups/{groupId}/{suffix}` for a project's.
    pub(super) fn is_named(&self, name: &str) -> bool {
        match self.parent {
            Parent::Org => name == self.suffix,
            Parent::Group => name.strip_prefix("groups/{groupId}/") == Some(self.suffix),
        }
    }
}

impl Eq for OrgPath {}

pub(super) fn is_atlas_id(id: &str) -> bool {
    id.len() == 24
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The checks every org endpoint starts with, in Atlas' order: the method (405) and the org id
/// (400); then the request's `Accept`, trimmed, for the endpoint to judge (406).
pub(super) fn checked_accept<'r>(
    request: &'r Request<Incoming>,
    org_id: &str,
) -> Result<Option<&'r str>, Reply> {
    checked_accept_in(request, org_id, Parent::Org)
}

/// [`checked_accept`] for a path whose id is `parent`'s.
pub(super) fn checked_accept_in<'r>(
    request: &'r Request<Incoming>,
    id: &str,
    parent: Parent,
) -> Result<Option<&'r str>, Reply> {
    match refuse_method_or_id(request, id, parent) {
        Some(refusal) => Err(refusal),
        None => Ok(header_str(request.headers(), header::ACCEPT).map(str::trim)),
    }
}

/// The checks of an endpoint that serves one media type, in Atlas' order: [`checked_accept_in`]
/// (405, 400), 406 for any other `Accept`, then the credentials (401). Returns the credential.
pub(super) fn checked_request(
    request: &Request<Incoming>,
    call: &Call<'_>,
    id: &str,
    parent: Parent,
    media_type: &str,
) -> Result<String, Outcome> {
    match checked_accept_in(request, id, parent) {
        Err(refusal) => return Err(refusal.into()),
        Ok(accept) if accept != Some(media_type) => return Err(not_acceptable().into()),
        Ok(_) => {}
    }
    call.authenticate(request).map_err(Outcome::from)
}

/// 405 for anything but GET, 400 for an org id Atlas would refuse.
fn refuse_method_or_id(request: &Request<Incoming>, id: &str, parent: Parent) -> Option<Reply> {
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
    if !is_atlas_id(id) {
        let what = match parent {
            Parent::Org => "organization",
            Parent::Group => "group",
        };
        return Some(api_error(
            StatusCode::BAD_REQUEST,
            Some("VALIDATION_ERROR"),
            &format!("Invalid {what} ID {id}: it must be a 24-hexadecimal digit string."),
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
    admit_in(state, org_id, org_id, credential, path, spoiled)
}

/// [`admit`] for a path whose id, `path_id`, is the org's or (for a project path) one of its projects'.
pub(super) fn admit_in<'s>(
    state: &'s mut State,
    org_id: &str,
    path_id: &str,
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
        let prefix = path.parent.prefix().trim_start_matches('/');
        let resource_path = format!("{prefix}/{path_id}/{}", path.suffix);
        let (behaviour, calls) = org.behaviour_mut(path.scope);
        if let Some(refusal) = apply_behaviour(&resource_path, behaviour, calls, path.bucket) {
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
fn apply_behaviour(
    resource: &str,
    behaviour: Behaviour,
    calls: &mut u64,
    bucket: Bucket,
) -> Option<Reply> {
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
            let (capacity, refill) = (bucket.capacity(), bucket.refill_per_minute());
            let detail = format!(
                "Rate limit exceeded for {resource}.{wait} Request capacity: {capacity}. Refill rate: {refill} per 60 seconds."
            );
            let parameters = serde_json::json!([resource, retry_after_secs, capacity, refill, 60]);
            let mut reply = api_error_with_parameters(
                StatusCode::TOO_MANY_REQUESTS,
                Some("RATE_LIMITED_TOKEN_BUCKET"),
                &detail,
                Some(parameters),
            )
            .with_header(
                header::HeaderName::from_static("ratelimit-limit"),
                &capacity.to_string(),
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
            .map(|_| {
                apply_behaviour(
                    "api/atlas/v2/orgs/x/users",
                    behaviour,
                    &mut calls,
                    Bucket::CloudUsers,
                )
                .is_some()
            })
            .collect();
        assert_eq!(statuses, [false, false, true, false, false, true]);
        let reply = apply_behaviour(
            "x",
            Behaviour::RateLimitedEvery {
                n: 1,
                retry_after_secs: None,
            },
            &mut calls,
            Bucket::Organizations,
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
        assert!((0..5).all(|_| apply_behaviour("x", never, &mut calls, Bucket::Teams).is_none()));
    }
}
