//! The plain paginated listings: every entry of a `Paginated…View` becomes one item, nothing is
//! skipped. A new listing of this kind adds its item type, its wire types and a `parse_…_page`
//! here (see `call.rs` for the rest).

use serde::Deserialize;

use super::json::{Page, Text, parse_json};
use crate::ApiError;

/// An organisation the credentials can see, from `listOrgs`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Organization {
    /// 24 hexadecimal digits, as Atlas sent it (not validated here).
    pub id: String,
    /// The organisation's human-readable name, as Atlas sent it.
    pub name: String,
    /// Deleted organisations are still listed; they have no invitations to poll.
    pub is_deleted: bool,
}

/// `PaginatedOrganizationView`, as returned by `listOrgs`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaginatedOrganizationView<'a> {
    /// `results`: this page's organisations.
    #[serde(borrow)]
    pub results: Vec<AtlasOrganization<'a>>,
    /// `totalCount`: the spec's estimate of entries across all pages. Atlas omits it only when asked
    /// `includeCount=false`, which this client never sends.
    pub total_count: Option<u64>,
}

/// `AtlasOrganization`. `id` is read-only, so always in responses; an organisation without one could
/// not be polled, and the listing is rejected rather than silently shortened.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AtlasOrganization<'a> {
    /// `id`: the organisation's 24-hexadecimal-digit id.
    #[serde(borrow)]
    pub id: Text<'a>,
    /// `name`: the organisation's human-readable name (required by the spec).
    #[serde(borrow)]
    pub name: Text<'a>,
    /// `isDeleted`; `None` when absent, which [`Organization::is_deleted`] reads as not deleted.
    pub is_deleted: Option<bool>,
}

/// Decodes one `listOrgs` page.
pub(crate) fn parse_organizations_page(body: &[u8]) -> Result<Page<Organization>, ApiError> {
    let wire: PaginatedOrganizationView<'_> = parse_json(body)?;
    Ok(Page::from_results(wire.results, wire.total_count, |org| {
        Organization {
            id: org.id.into_owned(),
            name: org.name.into_owned(),
            is_deleted: org.is_deleted.unwrap_or(false),
        }
    }))
}
