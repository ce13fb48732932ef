//! The paginated org listings (`GET /orgs/{orgId}/users`, `…/teams`, …) served alike: an endpoint says
//! which media types it answers, how its query parses and what its body is ([`OrgListing`]);
//! [`serve_listing`] makes the checks in Atlas's order, serves a fault of the path's scope, admits the
//! caller and answers, so that no two listings can drift apart in what they check.

use hyper::Request;
use hyper::body::Incoming;

use super::answer::{
    invalid_query, listing_reply, not_acceptable, query_pairs, rate_limit_headers,
};
use super::call::{Call, Outcome};
use super::fault::serve_fault;
use super::org::{OrgPath, admit, checked_accept, take_org_fault};
use crate::listing::{InvalidQuery, Page};
use crate::protocol::ATLAS_MEDIA_TYPE;
use crate::response::DateStyle;
use crate::world::SimOrg;

/// What one paginated org listing serves.
pub(super) trait OrgListing: Send + Sync {
    /// The validated query; its page says whether to pretty-print.
    type Query: AsRef<Page> + Send;

    /// The content type answered for this `Accept` (trimmed); None answers 406. Most Atlas paths serve
    /// the 2023-01-01 media type only.
    fn content_type(&self, accept: Option<&str>) -> Option<&'static str> {
        (accept == Some(ATLAS_MEDIA_TYPE)).then_some(ATLAS_MEDIA_TYPE)
    }

    /// The query, validated; `org` is the org as declared, when known (an older Atlas may parse
    /// differently), `content_type` what [`OrgListing::content_type`] chose.
    fn query(
        &self,
        pairs: &[(String, String)],
        content_type: &'static str,
        org: Option<&SimOrg>,
    ) -> Result<Self::Query, InvalidQuery>;

    /// The envelope for the admitted org, with proper or (for a fault) invalid dates.
    fn body(
        &self,
        org: &SimOrg,
        query: &Self::Query,
        at: &Listed<'_>,
        dates: DateStyle,
    ) -> serde_json::Value;
}

/// Where a listing is being served: what its body's links need (`crate::listing::paginate` takes
/// `resource_url` and `raw_query`).
#[derive(Debug)]
pub(super) struct Listed<'a> {
    pub(super) base_url: &'a str,
    pub(super) org_id: &'a str,
    pub(super) content_type: &'static str,
    /// The query string as sent, which the page links keep.
    pub(super) raw_query: Option<&'a str>,
    /// `{base_url}/api/atlas/v2/orgs/{orgId}/{suffix}`.
    pub(super) resource_url: String,
    /// What churn schedules count from (`SimOrg::listed_invitations`).
    pub(super) churn_start: jiff::Timestamp,
}

/// Order of checks: method (405), org id (400), `Accept` (406), credentials (401), query (400), a fault
/// of the path's scope, then `admit` (404/410/401/403, the behaviour), then 200.
pub(super) async fn serve_listing<L: OrgListing>(
    listing: L,
    request: Request<Incoming>,
    call: Call<'_>,
    org_id: &str,
    path: &'static OrgPath,
) -> Outcome {
    let shared = call.shared;
    let accept = match checked_accept(&request, org_id) {
        Ok(accept) => accept,
        Err(refusal) => return refusal.into(),
    };
    let Some(content_type) = listing.content_type(accept) else {
        return not_acceptable().into();
    };
    let credential = match call.authenticate(&request) {
        Ok(credential) => credential,
        Err(refusal) => return refusal.into(),
    };
    let pairs = match query_pairs(&request) {
        Ok(pairs) => pairs,
        Err(refusal) => return refusal.into(),
    };
    let parsed = {
        let state = shared.lock();
        let org = state.orgs.get(org_id).map(|org| &org.declared);
        listing.query(&pairs, content_type, org)
    };
    let query = match parsed {
        Ok(query) => query,
        Err(invalid) => return invalid_query(invalid).into(),
    };

    let mut spoil = None;
    let fault = take_org_fault(shared, org_id, path);
    if let Some(outcome) = serve_fault(call, fault, &mut spoil).await {
        return outcome;
    }

    // A copy, so that the body is built outside the lock.
    let (org, remaining, churn_start) = {
        let mut state = shared.lock();
        let churn_start = state.churn_start;
        let org = match admit(&mut state, org_id, &credential, path, spoil.is_some()) {
            Ok(org) => org,
            Err(refusal) => return refusal.into(),
        };
        (
            org.declared.clone(),
            org.take_token(path.bucket),
            churn_start,
        )
    };

    let at = Listed {
        base_url: &shared.base_url,
        org_id,
        content_type,
        raw_query: request.uri().query(),
        resource_url: format!(
            "{}/api/atlas/v2/orgs/{org_id}/{}",
            shared.base_url, path.suffix
        ),
        churn_start,
    };
    let reply = listing_reply(content_type, spoil, query.as_ref().pretty, |dates| {
        listing.body(&org, &query, &at, dates)
    });
    rate_limit_headers(reply, path.bucket.capacity(), remaining).into()
}
