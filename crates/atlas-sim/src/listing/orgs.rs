//! `GET /orgs` (listOrgs): its query (a name prefix) and its body, `PaginatedOrganizationView`.

use serde::Serialize;

use super::page::{InvalidQuery, Page, paginate, single};
use crate::response::{DateStyle, Link};

/// listOrgs' query, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OrgsQuery {
    pub(crate) page: Page,
    /// Case-insensitive name prefix (reference §5).
    pub(crate) name: Option<String>,
}

impl OrgsQuery {
    pub(crate) fn parse(pairs: &[(String, String)]) -> Result<OrgsQuery, InvalidQuery> {
        Ok(OrgsQuery {
            page: Page::from_query(pairs)?,
            name: single(pairs, "name")?.map(str::to_owned),
        })
    }
}

/// An org as `/orgs` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ListedOrg {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) is_deleted: bool,
}

/// `AtlasOrganization`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct AtlasOrganization<'a> {
    id: &'a str,
    /// A string only in the spoiled "invalid dates" body, which has no dates to spoil.
    is_deleted: serde_json::Value,
    links: Vec<Link>,
    name: &'a str,
    skip_default_alerts_settings: bool,
}

/// `PaginatedOrganizationView` of `orgs` (already in listing order), filtered by the query's name prefix.
pub(crate) fn organizations(
    base_url: &str,
    orgs: &[ListedOrg],
    query: &OrgsQuery,
    raw_query: Option<&str>,
    dates: DateStyle,
) -> serde_json::Value {
    let prefix = query.name.as_deref().map(str::to_lowercase);
    let items: Vec<AtlasOrganization<'_>> = orgs
        .iter()
        .filter(|org| {
            prefix
                .as_deref()
                .is_none_or(|prefix| org.name.to_lowercase().starts_with(prefix))
        })
        .map(|org| AtlasOrganization {
            id: &org.id,
            is_deleted: match dates {
                DateStyle::Rfc3339 => serde_json::Value::Bool(org.is_deleted),
                DateStyle::Invalid => serde_json::Value::String(org.is_deleted.to_string()),
            },
            links: vec![Link {
                href: format!("{base_url}/api/atlas/v2/orgs/{}", org.id),
                rel: "self",
            }],
            name: &org.name,
            skip_default_alerts_settings: false,
        })
        .collect();
    paginate(
        &items,
        &query.page,
        &format!("{base_url}/api/atlas/v2/orgs"),
        raw_query,
    )
}
