//! What the org paths (`/orgs/{orgId}/invites` and `/orgs/{orgId}/users`) check before they list: the
//! method and org id, then, once the caller is authenticated, the org itself, the caller's role in it
//! and the org's behaviour.

use hyper::body::Incoming;
use hyper::header;
use hyper::{Method, Request, StatusCode};

use crate::protocol::{RATE_LIMIT_CAPACITY, VERSION_GONE_DETAIL};
use crate::response::{Reply, api_error, api_error_with_parameters};
use crate::state::{OrgState, Shared, State};
use crate::world::{Behaviour, Fault, OrgRole};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum OrgResource {
    Invites,
    Users,
}

impl OrgResource {
    fn suffix(self) -> &'static str {
        match self {
            OrgResource::Invites => "invites",
            OrgResource::Users => "users",
        }
    }
}

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
/// unknown org (404), sunset invitations endpoint (410), deleted org (404), a credential outside the org
/// (401), a Member on the invitations endpoint (403), then the org's behaviour (not for a spoiled answer).
pub(super) fn admit<'s>(
    state: &'s mut State,
    org_id: &str,
    credential: &str,
    resource: OrgResource,
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
    if resource == OrgResource::Invites && org.invites_gone {
        return Err(api_error(
            StatusCode::GONE,
            Some("VERSION_GONE"),
            VERSION_GONE_DETAIL,
        ));
    }
    if org.is_deleted {
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
        Some(OrgRole::Member) if resource == OrgResource::Invites => {
            return Err(api_error(
                StatusCode::FORBIDDEN,
                Some("USER_UNAUTHORIZED"),
                "Current user is not authorized to perform this action: this resource requires the Organization Owner role.",
            ));
        }
        Some(OrgRole::Member | OrgRole::Owner) => {}
    }
    if !spoiled {
        let resource_path = format!("api/atlas/v2/orgs/{org_id}/{}", resource.suffix());
        if let Some(refusal) =
            apply_behaviour(&resource_path, org.behaviour, &mut org.behaviour_calls)
        {
            return Err(refusal);
        }
    }
    Ok(org)
}

/// The org's next queued fault, if any, for its invites or users path.
pub(super) fn take_org_fault(shared: &Shared, org_id: &str) -> Option<Fault> {
    shared
        .lock()
        .orgs
        .get_mut(org_id)
        .and_then(|org| org.faults.pop_front())
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
