//! `GET /api/atlas/v2/orgs/{orgId}/users`: an org's users, pending and active (2025-02-19) or active
//! only (2023-01-01).

use hyper::Request;
use hyper::body::Incoming;
use hyper::header;

use super::answer::{
    invalid_query, listing_reply, not_acceptable, query_pairs, rate_limit_headers,
};
use super::call::{Call, Outcome, header_str};
use super::fault::serve_fault;
use super::org::{OrgResource, admit, refuse_method_or_id, take_org_fault};
use crate::listing::{OrgMembers, UsersQuery, UsersVersion};
use crate::protocol::{ATLAS_MEDIA_TYPE, ORG_USERS_MEDIA_TYPE, RATE_LIMIT_CAPACITY};

pub(super) async fn users_endpoint(
    request: Request<Incoming>,
    call: Call<'_>,
    org_id: &str,
) -> Outcome {
    let shared = call.shared;
    if let Some(refusal) = refuse_method_or_id(&request, org_id) {
        return refusal.into();
    }
    let (version, content_type) = match header_str(request.headers(), header::ACCEPT).map(str::trim)
    {
        Some(ORG_USERS_MEDIA_TYPE) => (UsersVersion::WithPending, ORG_USERS_MEDIA_TYPE),
        Some(ATLAS_MEDIA_TYPE) => (UsersVersion::ActiveOnly, ATLAS_MEDIA_TYPE),
        _ => return not_acceptable().into(),
    };
    let credential = match call.authenticate(&request) {
        Ok(credential) => credential,
        Err(refusal) => return refusal.into(),
    };
    let pairs = match query_pairs(&request) {
        Ok(pairs) => pairs,
        Err(refusal) => return refusal.into(),
    };
    let legacy = shared
        .lock()
        .orgs
        .get(org_id)
        .is_some_and(|org| org.legacy_status_filter);
    let query = match UsersQuery::parse(&pairs, version, legacy) {
        Ok(query) => query,
        Err(invalid) => return invalid_query(invalid).into(),
    };

    let mut spoil = None;
    if let Some(outcome) = serve_fault(call, take_org_fault(shared, org_id), &mut spoil).await {
        return outcome;
    }

    let (invitations, active_users, rejected, legacy, remaining) = {
        let mut state = shared.lock();
        let org = match admit(
            &mut state,
            org_id,
            &credential,
            OrgResource::Users,
            spoil.is_some(),
        ) {
            Ok(org) => org,
            Err(refusal) => return refusal.into(),
        };
        (
            org.invitations.clone(),
            org.active_users,
            org.rejected,
            org.legacy_status_filter,
            org.users_bucket.take(),
        )
    };

    let members = OrgMembers {
        base_url: &shared.base_url,
        org_id,
        invitations: &invitations,
        active_users,
        rejected,
        legacy,
        now: jiff::Timestamp::now(),
    };
    let raw_query = request.uri().query();
    let reply = listing_reply(
        content_type,
        spoil,
        query.page.pretty,
        |dates| match version {
            UsersVersion::WithPending => members.with_pending(&query, raw_query, dates),
            UsersVersion::ActiveOnly => members.active_only(&query, raw_query, dates),
        },
    );
    rate_limit_headers(reply, RATE_LIMIT_CAPACITY, remaining).into()
}
