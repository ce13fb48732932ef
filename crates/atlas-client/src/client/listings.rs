//! The plain paginated listings (`listOrgs`, …): every page of one GET, each page's items
//! collected in order, through `list_paged`. The invitation listings, with their sinks and their
//! query fallback, are in `mod.rs` with the page walk they share.

use tokio::time::Instant;

use super::{AtlasClient, Listing, PagedRequest};
use crate::call::{CallRecord, Endpoint};
use crate::model::{self, Organization, Page, PageCounts};
use crate::{ApiError, Authenticator};

impl AtlasClient {
    /// `GET /api/atlas/v2/orgs`, every page: the organisations the credentials can see, deleted
    /// ones included. Every call made is appended to `calls`.
    pub async fn list_orgs(
        &self,
        auth: &Authenticator,
        deadline: Instant,
        calls: &mut Vec<CallRecord>,
    ) -> Result<Listing<Vec<Organization>>, ApiError> {
        self.list_paged(
            Endpoint::ListOrgs,
            "/api/atlas/v2/orgs",
            auth,
            deadline,
            calls,
            model::parse_organizations_page,
        )
        .await
    }

    /// Every page of `GET path` for `endpoint`, each decoded by `parse` and its items collected in
    /// order: a paginated listing with no query of its own and nothing to skip or fall back on.
    async fn list_paged<T: Clone>(
        &self,
        endpoint: Endpoint,
        path: &str,
        auth: &Authenticator,
        deadline: Instant,
        calls: &mut Vec<CallRecord>,
        parse: fn(&[u8]) -> Result<Page<T>, ApiError>,
    ) -> Result<Listing<Vec<T>>, ApiError> {
        let request = PagedRequest {
            endpoint,
            path,
            filter: "",
        };
        let decode = |items: &mut Vec<T>, body: &[u8]| {
            let page = parse(body)?;
            items.extend(page.items);
            Ok(PageCounts {
                results: page.results,
                total_count: page.total_count,
            })
        };
        let fetched = self
            .get_pages(&request, auth, deadline, calls, Vec::new(), decode)
            .await
            .map_err(|failure| failure.error)?;
        Ok(fetched.into_listing())
    }
}
