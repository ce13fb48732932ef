//! `GET /api/atlas/v2/orgs/{orgId}/invites` (2023-01-01, deprecated): an org's pending invitations as
//! a bare array, with `Deprecation` and `Sunset` headers.

use hyper::body::Incoming;
use hyper::header;
use hyper::{Request, StatusCode};

use crate::handler::ORG_PATHS;
use crate::handler::answer::rate_limit_headers;
use crate::handler::call::{Call, Outcome};
use crate::handler::fault::{Spoil, serve_fault};
use crate::handler::form::parse_form;
use crate::handler::org::{EndpointFuture, OrgPath, Parent, admit, checked_request, take_org_fault};
use crate::protocol::{ATLAS_MEDIA_TYPE, DEPRECATION, RATE_LIMIT_CAPACITY};
use crate::response::{InvitationPage, Reply, api_error};
use crate::state::{Bucket, SHARED_SCOPE};
use crate::world::{OrgRole, SimInvitation};

#[linkme::distributed_slice(ORG_PATHS)]
static INVITES: OrgPath = OrgPath {
    parent: Parent::Org,
    suffix: "invites",
    scope: SHARED_SCOPE,
    bucket: Bucket::Organizations,
    role: OrgRole::Owner,
    item: false,
    sunsets: true,
    endpoint: invites_endpoint,
};

fn invites_endpoint<'a>(
    request: Request<Incoming>,
    call: Call<'a>,
    org_id: &'a str,
    path: &'static OrgPath,
) -> EndpointFuture<'a> {
    Box::pin(invites(request, call, org_id, path))
}

/// Not a paginated listing (a bare array, its own spoils and headers), so its own checks, in the
/// order `serve_listing` makes them.
async fn invites(
    request: Request<Incoming>,
    call: Call<'_>,
    org_id: &str,
    path: &'static OrgPath,
) -> Outcome {
    let shared = call.shared;
    let credential = match checked_request(&request, &call, org_id, Parent::Org, ATLAS_MEDIA_TYPE) {
        Ok(credential) => credential,
        Err(refusal) => return refusal,
    };
    let query = match Query::checked(request.uri().query()) {
        Ok(query) => query,
        Err(refusal) => return refusal.into(),
    };

    let mut spoil = None;
    if let Some(outcome) = serve_fault(call, take_org_fault(shared, org_id, path), &mut spoil).await
    {
        return outcome;
    }

    // One instant for which invitations are listed and for their relative dates.
    let now = jiff::Timestamp::now();
    let (org_name, invitations, remaining, sunset) = {
        let mut state = shared.lock();
        let sunset = state.invites_sunset.clone();
        let churn_start = state.churn_start;
        let org = match admit(&mut state, org_id, &credential, path, spoil.is_some()) {
            Ok(org) => org,
            Err(refusal) => return refusal.into(),
        };
        let invitations: Vec<SimInvitation> = org
            .declared
            .listed_invitations(churn_start, now)
            .iter()
            .filter(|invitation| query.lists(invitation))
            .cloned()
            .collect();
        (
            org.declared.name.clone(),
            invitations,
            org.take_token(path.bucket),
            sunset,
        )
    };

    let page = InvitationPage {
        base_url: &shared.base_url,
        org_id,
        org_name: &org_name,
        invitations: &invitations,
        now,
    };
    let mut reply = Reply::new(StatusCode::OK, ATLAS_MEDIA_TYPE, Vec::new());
    reply.body = match spoil {
        None => page.body(query.pretty),
        Some(Spoil::MalformedJson) => page.malformed_body(),
        Some(Spoil::TruncatedJson) => {
            let mut body = page.body(false);
            body.truncate(body.len() / 2);
            body
        }
        Some(
            kind
            @ (Spoil::TruncatedBody | Spoil::ResetMidBody | Spoil::Trickle(_) | Spoil::Endless),
        ) => {
            reply.delivery = kind.delivery().unwrap_or_default();
            page.body(false)
        }
        Some(Spoil::WrongShape) => page.wrong_shape_body(),
        Some(Spoil::InvalidDates) => page.invalid_dates_body(),
        Some(Spoil::Oversized(bytes)) => page.oversized_body(bytes),
    };
    // Only this deprecated endpoint announces its end; `Deprecation` stays fixed because clients only
    // need to see that it is there.
    if let Some(sunset) = sunset {
        reply = reply
            .with_header(header::HeaderName::from_static("deprecation"), DEPRECATION)
            .with_header(header::HeaderName::from_static("sunset"), &sunset);
    }
    rate_limit_headers(reply, RATE_LIMIT_CAPACITY, remaining).into()
}

/// The query parameters listOrgInvites knows; `envelope` is ignored (its shape is unconfirmed).
#[derive(Debug, Default)]
pub(in crate::handler) struct Query {
    pub(in crate::handler) pretty: bool,
    pub(in crate::handler) username: Option<String>,
}

impl Query {
    /// Whether the `username` filter, if any, lets `invitation` through: Atlas compares addresses
    /// without regard to case.
    pub(in crate::handler) fn lists(&self, invitation: &SimInvitation) -> bool {
        self.username
            .as_ref()
            .is_none_or(|wanted| invitation.username.eq_ignore_ascii_case(wanted))
    }

    pub(in crate::handler) fn parse(query: Option<&str>) -> Query {
        let mut parsed = Query::default();
        let pairs = query
            .and_then(|query| parse_form(query.as_bytes()))
            .unwrap_or_default();
        for (key, value) in pairs {
            match key.as_str() {
                "pretty" => parsed.pretty = value.eq_ignore_ascii_case("true"),
                "username" => parsed.username = Some(value),
                _ => {}
            }
        }
        parsed
    }

    /// As [`Query::parse`], refusing a `username` that is no e-mail address (400) as Atlas does.
    pub(in crate::handler) fn checked(query: Option<&str>) -> Result<Query, Reply> {
        let parsed = Query::parse(query);
        match &parsed.username {
            Some(username) if !username.contains('@') => Err(api_error(
                StatusCode::BAD_REQUEST,
                Some("VALIDATION_ERROR"),
                "Request query parameter username must be an email address.",
            )),
            _ => Ok(parsed),
        }
    }
}
