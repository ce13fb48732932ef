//! `listOrgs` (`GET /api/atlas/v2/orgs`): the organisations the credentials can see, every page.

use serde::Deserialize;
use tokio::time::Instant;

use crate::call::{CallRecord, Endpoint};
use crate::client::{AtlasClient, Listing};
use crate::model::{Page, Text, parse_json};
use crate::{ApiError, Authenticator};

crate::call::endpoint! {
    /// `GET /api/atlas/v2/orgs`, one call per page ([`AtlasClient::list_orgs`]).
    LIST_ORGS = "list_orgs", version "2023-01-01";
}

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
            Endpoint::LIST_ORGS,
            "/api/atlas/v2/orgs",
            auth,
            deadline,
            calls,
            parse_organizations_page,
        )
        .await
    }
}

/// `PaginatedOrganizationView`. `totalCount` is omitted by Atlas only when asked
/// `includeCount=false`, which this client never sends.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PaginatedOrganizationView<'a> {
    #[serde(borrow)]
    results: Vec<AtlasOrganization<'a>>,
    total_count: Option<u64>,
}

/// `AtlasOrganization`. `id` is read-only, so always in responses; an organisation without one could
/// not be polled, and the listing is rejected rather than silently shortened. `name` is required by
/// the spec; `isDeleted` absent reads as not deleted.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AtlasOrganization<'a> {
    #[serde(borrow)]
    id: Text<'a>,
    #[serde(borrow)]
    name: Text<'a>,
    is_deleted: Option<bool>,
}

/// Decodes one `listOrgs` page.
fn parse_organizations_page(body: &[u8]) -> Result<Page<Organization>, ApiError> {
    let wire: PaginatedOrganizationView<'_> = parse_json(body)?;
    Ok(Page::from_results(wire.results, wire.total_count, |org| {
        Organization {
            id: org.id.into_owned(),
            name: org.name.into_owned(),
            is_deleted: org.is_deleted.unwrap_or(false),
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORGS: &str = include_str!("../../../../tests/fixtures/atlas/orgs_page.json");

    #[test]
    fn the_endpoint_is_registered() {
        assert!(Endpoint::all().contains(&Endpoint::LIST_ORGS));
    }

    #[test]
    fn organizations_decode_with_deleted_ones_flagged() {
        let page = parse_organizations_page(ORGS.as_bytes()).unwrap();
        assert_eq!((page.results, page.total_count), (3, Some(3)));
        let organization = |id: &str, name: &str, is_deleted| Organization {
            id: id.into(),
            name: name.into(),
            is_deleted,
        };
        assert_eq!(
            page.items,
            vec![
                organization("32b6e34b3d91647abb20e7b8", "Acme-Production", false),
                organization("0123456789abcdef01234567", "Acme-Old_(2019)", true),
                // No isDeleted: not deleted.
                organization("fedcba9876543210fedcba98", "Zürich-Ops", false),
            ]
        );
    }

    #[test]
    fn an_organization_without_id_or_name_is_an_invalid_response() {
        for body in [
            r#"{"results":[{"name":"Acme"}]}"#,
            r#"{"results":[{"id":"32b6e34b3d91647abb20e7b8"}]}"#,
            r#"{"results":[{"id":"32b6e34b3d91647abb20e7b8","name":"Acme","isDeleted":"no"}]}"#,
        ] {
            assert!(
                matches!(
                    parse_organizations_page(body.as_bytes()),
                    Err(ApiError::InvalidResponse { .. })
                ),
                "{body}"
            );
        }
        let null_flag = parse_organizations_page(
            br#"{"results":[{"id":"32b6e34b3d91647abb20e7b8","name":"Acme","isDeleted":null}]}"#,
        )
        .unwrap();
        assert!(!null_flag.items[0].is_deleted);
    }
}
