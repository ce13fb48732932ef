//! `GET /api/atlas/v2/orgs` (2023-01-01): the organisations the caller may see, deleted ones included.

use hyper::body::Incoming;
use hyper::header;
use hyper::{Method, Request, StatusCode};

use crate::handler::answer::{
    invalid_query, listing_reply, not_acceptable, query_pairs, rate_limit_headers,
};
use crate::handler::call::{Call, Outcome, header_str};
use crate::handler::fault::serve_fault;
use crate::handler::{FIXED_PATHS, FixedPath};
use crate::listing::{ListedOrg, OrgsQuery, organizations};
use crate::protocol::{ATLAS_MEDIA_TYPE, USER_RATE_LIMIT_CAPACITY};
use crate::response::api_error;

#[linkme::distributed_slice(FIXED_PATHS)]
static LIST_ORGS: FixedPath = FixedPath {
    path: "/api/atlas/v2/orgs",
    endpoint: |request, call| Box::pin(list_orgs_endpoint(request, call)),
};

async fn list_orgs_endpoint(request: Request<Incoming>, call: Call<'_>) -> Outcome {
    let shared = call.shared;
    if request.method() != Method::GET {
        return api_error(
            StatusCode::METHOD_NOT_ALLOWED,
            Some("METHOD_NOT_ALLOWED"),
            "This simulator only serves GET on this resource.",
        )
        .with_header(header::ALLOW, "GET")
        .into();
    }
    if header_str(request.headers(), header::ACCEPT).map(str::trim) != Some(ATLAS_MEDIA_TYPE) {
        return not_acceptable().into();
    }
    let credential = match call.authenticate(&request) {
        Ok(credential) => credential,
        Err(refusal) => return refusal.into(),
    };
    let query = match query_pairs(&request)
        .and_then(|pairs| OrgsQuery::parse(&pairs).map_err(invalid_query))
    {
        Ok(query) => query,
        Err(refusal) => return refusal.into(),
    };

    let fault = shared.lock().list_orgs_faults.pop_front();
    let mut spoil = None;
    if let Some(outcome) = serve_fault(call, fault, &mut spoil).await {
        return outcome;
    }

    let (orgs, remaining) = {
        let mut state = shared.lock();
        let mut orgs: Vec<ListedOrg> = state
            .orgs
            .iter()
            .filter(|(id, _)| state.role_of(&credential, id).is_some())
            .map(|(id, org)| ListedOrg {
                id: id.clone(),
                name: org.declared.name.clone(),
                is_deleted: org.declared.is_deleted,
            })
            .collect();
        // Ids sort by creation time in Atlas (ObjectIds), which gives pages a stable order.
        orgs.sort_by(|a, b| a.id.cmp(&b.id));
        (orgs, state.take_user_token(&credential))
    };

    let raw_query = request.uri().query();
    let reply = listing_reply(ATLAS_MEDIA_TYPE, spoil, query.page.pretty, |dates| {
        organizations(&shared.base_url, &orgs, &query, raw_query, dates)
    });
    rate_limit_headers(reply, USER_RATE_LIMIT_CAPACITY, remaining).into()
}
