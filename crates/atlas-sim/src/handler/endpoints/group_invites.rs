//! `GET /api/atlas/v2/groups/{groupId}/invites` (listGroupInvites, 2023-01-01, deprecated): a project's
//! legacy invitations as a bare array of `GroupInvitation`, with `Deprecation` and `Sunset` headers.
//! The project's org is the one whose `SimOrg::projects` has it: its checks, fault queue (scope
//! `groups/{groupId}/invites`) and behaviours apply.

use hyper::body::Incoming;
use hyper::header::HeaderName;
use hyper::{Request, StatusCode};
use jiff::Timestamp;
use serde::Serialize;

use super::invites::Query;
use crate::handler::ORG_PATHS;
use crate::handler::answer::{array_reply, rate_limit_headers};
use crate::handler::call::{Call, Outcome};
use crate::handler::fault::serve_fault;
use crate::handler::org::{
    EndpointFuture, OrgPath, Parent, admit_in, checked_request, take_org_fault,
};
use crate::protocol::{ATLAS_MEDIA_TYPE, DEPRECATION, VERSION_GONE_DETAIL};
use crate::response::{DateStyle, Link, api_error};
use crate::state::Bucket;
use crate::world::{OrgRole, ProjectAccess, SimInvitation};

/// What Atlas sends without Project Owner is undocumented: the spec's only 403 example for this
/// operation (`CANNOT_CHANGE_GROUP_NAME`, "may not be related to this endpoint") is not it. The
/// code Atlas uses for a credential without the role, as the simulator's other 403s.
const FORBIDDEN_CODE: &str = "USER_UNAUTHORIZED";

// Project Owner is a project role: an org Member passes the org's checks, and the project's
// `ProjectAccess::Forbidden` plays the credential without it.
#[linkme::distributed_slice(ORG_PATHS)]
static GROUP_INVITES: OrgPath = OrgPath {
    parent: Parent::Group,
    suffix: "invites",
    scope: "groups/{groupId}/invites",
    bucket: Bucket::Projects,
    role: OrgRole::Member,
    item: false,
    sunsets: false,
    endpoint: group_invites_endpoint,
};

fn group_invites_endpoint<'a>(
    request: Request<Incoming>,
    call: Call<'a>,
    group_id: &'a str,
    path: &'static OrgPath,
) -> EndpointFuture<'a> {
    Box::pin(group_invites(request, call, group_id, path))
}

/// The project as served, copied out of the lock.
struct Project {
    name: String,
    invitations: Vec<SimInvitation>,
}

/// The order of the invites path, with unknown project (404) where it has unknown org; then the org's
/// checks, where an ended endpoint (410) comes before roles as on the invites path; then 403 for a
/// project the credential does not own.
async fn group_invites(
    request: Request<Incoming>,
    call: Call<'_>,
    group_id: &str,
    path: &'static OrgPath,
) -> Outcome {
    let shared = call.shared;
    let credential =
        match checked_request(&request, &call, group_id, Parent::Group, ATLAS_MEDIA_TYPE) {
            Ok(credential) => credential,
            Err(refusal) => return refusal,
        };
    let query = match Query::checked(request.uri().query()) {
        Ok(query) => query,
        Err(refusal) => return refusal.into(),
    };
    let not_found = || {
        api_error(
            StatusCode::NOT_FOUND,
            Some("RESOURCE_NOT_FOUND"),
            &format!("Cannot find resource group {group_id}."),
        )
    };
    let Some(org_id) = shared.lock().project_owner(group_id).map(str::to_owned) else {
        return not_found().into();
    };

    let mut spoil = None;
    if let Some(outcome) = serve_fault(call, take_org_fault(shared, &org_id, path), &mut spoil).await
    {
        return outcome;
    }

    let (project, remaining, sunset) = {
        let mut state = shared.lock();
        let sunset = state.invites_sunset.clone();
        let access = |state: &crate::state::State| {
            state.orgs.get(&org_id).and_then(|org| {
                let projects = &org.declared.projects;
                projects.iter().find(|project| project.id == group_id).map(|project| project.access)
            })
        };
        if access(&state) == Some(ProjectAccess::Gone) {
            return api_error(StatusCode::GONE, Some("VERSION_GONE"), VERSION_GONE_DETAIL).into();
        }
        let org = match admit_in(&mut state, &org_id, group_id, &credential, path, spoil.is_some()) {
            Ok(org) => org,
            Err(refusal) => return refusal.into(),
        };
        let Some(found) = org.declared.projects.iter().find(|project| project.id == group_id)
        else {
            return not_found().into();
        };
        if found.access == ProjectAccess::Forbidden {
            return api_error(
                StatusCode::FORBIDDEN,
                Some(FORBIDDEN_CODE),
                "Current user is not authorized to perform this action: this resource requires the Project Owner role.",
            )
            .into();
        }
        let project = Project {
            name: found.name.clone(),
            invitations: found
                .invitations
                .iter()
                .filter(|invitation| query.lists(invitation))
                .cloned()
                .collect(),
        };
        (project, org.take_project_token(path.bucket, group_id), sunset)
    };

    let now = Timestamp::now();
    let base_url = &shared.base_url;
    let mut reply = array_reply(ATLAS_MEDIA_TYPE, spoil, query.pretty, |dates| {
        let items: Vec<GroupInvitation<'_>> = project
            .invitations
            .iter()
            .map(|invitation| GroupInvitation::of(invitation, &project.name, group_id, base_url, now, dates))
            .collect();
        serde_json::to_value(items).unwrap_or_default()
    });
    if let Some(sunset) = sunset {
        reply = reply
            .with_header(HeaderName::from_static("deprecation"), DEPRECATION)
            .with_header(HeaderName::from_static("sunset"), &sunset);
    }
    rate_limit_headers(reply, path.bucket.capacity(), remaining).into()
}

/// `GroupInvitation`, field names as in the spec (it has no `teamIds`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GroupInvitation<'a> {
    created_at: String,
    expires_at: String,
    group_id: &'a str,
    group_name: &'a str,
    id: &'a str,
    /// Optional in the spec (nothing in `GroupInvitation` is required): left out, not null, when the
    /// invitation names no inviter.
    #[serde(skip_serializing_if = "Option::is_none")]
    inviter_username: Option<&'a str>,
    links: Vec<Link>,
    roles: Vec<&'a str>,
    username: &'a str,
}

impl<'a> GroupInvitation<'a> {
    fn of(
        invitation: &'a SimInvitation,
        group_name: &'a str,
        group_id: &'a str,
        base_url: &str,
        now: Timestamp,
        dates: DateStyle,
    ) -> GroupInvitation<'a> {
        // `roles` is `uniqueItems`.
        let mut roles: Vec<&str> = Vec::new();
        for role in &invitation.org_roles {
            if !roles.contains(&role.as_str()) {
                roles.push(role);
            }
        }
        GroupInvitation {
            created_at: dates.render(invitation.created.resolve(now)),
            expires_at: dates.render(invitation.expires.resolve(now)),
            group_id,
            group_name,
            id: &invitation.id,
            inviter_username: invitation.inviter_username.as_deref(),
            links: vec![Link {
                href: format!("{base_url}/api/atlas/v2/groups/{group_id}/invites/{}", invitation.id),
                rel: "self",
            }],
            roles,
            username: &invitation.username,
        }
    }
}
