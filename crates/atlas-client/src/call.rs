//! What one API call is: the operation ([`Endpoint`]) and the record of its outcome ([`CallRecord`]).
//!
//! Every endpoint is declared once, as a row of the `endpoints!` table below: its variant, its
//! `endpoint` label, and what its requests accept. [`Endpoint`], [`Endpoint::all`],
//! [`Endpoint::label`], [`Endpoint::api_version`] and the `Accept` header of its requests all come
//! from that row, so they cannot drift apart. `version "YYYY-MM-DD"` is an Atlas resource version:
//! the media type `application/vnd.atlas.YYYY-MM-DD+json` is built from it by `concat!`, which takes
//! literals only (hence a macro rather than a table of consts). `accept "…"` is a plain media type.
//!
//! # To add an endpoint
//!
//! 1. Here: a row in the table (a doc line naming the method, path and [`AtlasClient`] method; the
//!    variant; the label, its operationId in snake case; `version "YYYY-MM-DD"`), and the label in
//!    the test of labels below, which pins every label the dashboards rely on.
//! 2. In `model/`: the wire types (the spec's `Paginated…View` and its item, field names checked
//!    against the OpenAPI spec) and a `parse_…_page` returning a `Page`; plain listings go in
//!    `model/listings.rs`, which `model` re-exports whole. Re-export the item type in `lib.rs`.
//! 3. In `client/listings.rs`: the method. A paginated listing of plain items is a call to `list_paged` with
//!    the variant, the path and the parse function; anything else builds on `get` (one logical call)
//!    or `get_pages` (a page walk).
//!
//! [`AtlasClient`]: crate::AtlasClient

use std::time::Duration;

/// Declares [`Endpoint`] and everything derived from its rows; see the module documentation.
macro_rules! endpoints {
    ($(
        $(#[$doc:meta])*
        $variant:ident = $label:literal, $kind:ident $value:literal;
    )*) => {
        /// The API operations we call; `label()` is the `endpoint` label value of the API metrics.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Endpoint {
            $($(#[$doc])* $variant,)*
        }

        /// How many endpoints there are: the length of [`Endpoint::all`], counted from the table.
        const ENDPOINT_COUNT: usize = [$(Endpoint::$variant),*].len();

        impl Endpoint {
            /// Every endpoint, so metric series can exist (at zero) before the first call.
            pub const fn all() -> [Endpoint; ENDPOINT_COUNT] {
                [$(Endpoint::$variant),*]
            }

            /// The `endpoint` label value: the operation in snake case, e.g. `list_org_invites`.
            pub const fn label(self) -> &'static str {
                match self {
                    $(Endpoint::$variant => $label,)*
                }
            }

            /// The Atlas resource version the client asks for (`YYYY-MM-DD`); `None` for the token
            /// endpoint, which is not a versioned resource.
            pub const fn api_version(self) -> Option<&'static str> {
                match self {
                    $(Endpoint::$variant => endpoints!(@version $kind $value),)*
                }
            }

            /// The `Accept` header of this endpoint's requests.
            pub(crate) const fn accept(self) -> &'static str {
                match self {
                    $(Endpoint::$variant => endpoints!(@accept $kind $value),)*
                }
            }
        }
    };
    (@version version $version:literal) => { Some($version) };
    (@version accept $media_type:literal) => { None };
    (@accept version $version:literal) => { concat!("application/vnd.atlas.", $version, "+json") };
    (@accept accept $media_type:literal) => { $media_type };
}

endpoints! {
    /// `GET /api/atlas/v2/orgs/{orgId}/serviceAccounts/{clientId}` ([`AtlasClient::get_org_service_account`](crate::AtlasClient::get_org_service_account)).
    GetOrgServiceAccount = "get_org_service_account", version "2024-08-05";
    /// `GET /api/atlas/v2/orgs/{orgId}/invites` ([`AtlasClient::list_org_invites`](crate::AtlasClient::list_org_invites)).
    ListOrgInvites = "list_org_invites", version "2023-01-01";
    /// `GET /api/atlas/v2/orgs/{orgId}/users`, one call per page ([`AtlasClient::list_org_users`](crate::AtlasClient::list_org_users)).
    ListOrgUsers = "list_org_users", version "2025-02-19";
    /// `GET /api/atlas/v2/orgs`, one call per page ([`AtlasClient::list_orgs`](crate::AtlasClient::list_orgs)).
    ListOrgs = "list_orgs", version "2023-01-01";
    /// `POST /api/oauth/token`: a service account's token fetch, made inside another endpoint's call.
    OAuthToken = "oauth_token", accept "application/json";
}

/// The resource version of `listOrgInvites` (its only one; the endpoint is deprecated).
pub const INVITES_API_VERSION: &str = versioned(Endpoint::ListOrgInvites);
/// The resource version of `listOrgUsers` that lists invitations (older ones list active users only).
pub const ORG_USERS_API_VERSION: &str = versioned(Endpoint::ListOrgUsers);

/// The version of an endpoint declared with one; a compile error (in a const) otherwise.
const fn versioned(endpoint: Endpoint) -> &'static str {
    match endpoint.api_version() {
        Some(version) => version,
        None => panic!("the endpoint has no resource version"),
    }
}

/// One logical HTTP call and its outcome, for the API counters and the latency histogram.
/// A Digest challenge answered inside the call is part of the call.
#[derive(Clone, Debug, PartialEq)]
pub struct CallRecord {
    /// The operation called.
    pub endpoint: Endpoint,
    /// Final HTTP status; `None` when no response arrived (transport failure, timeout).
    pub status: Option<u16>,
    /// For failed calls, the unbounded error code (Atlas `errorCode`, our own code, or the OAuth `error`
    /// upper-cased). `None` for successful calls. Bounding it for labels is the caller's job.
    pub error_code: Option<String>,
    /// Wall-clock time of the call, up to its body being decoded. Token fetches made on the way have
    /// records of their own and are not counted here; a Digest challenge round trip is.
    pub duration: Duration,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_types_name_the_published_versions() {
        for (media_type, version) in [
            (Endpoint::ListOrgInvites.accept(), INVITES_API_VERSION),
            (Endpoint::ListOrgUsers.accept(), ORG_USERS_API_VERSION),
            (Endpoint::ListOrgs.accept(), "2023-01-01"),
            (Endpoint::GetOrgServiceAccount.accept(), "2024-08-05"),
        ] {
            assert_eq!(media_type, format!("application/vnd.atlas.{version}+json"));
        }
    }

    #[test]
    fn endpoints_have_distinct_labels_and_all_lists_each_once() {
        let labels: Vec<&str> = Endpoint::all().iter().map(|e| e.label()).collect();
        assert_eq!(
            labels,
            [
                "get_org_service_account",
                "list_org_invites",
                "list_org_users",
                "list_orgs",
                "oauth_token"
            ]
        );
    }

    #[test]
    fn every_versioned_endpoint_accepts_its_versions_media_type() {
        for endpoint in Endpoint::all() {
            match endpoint.api_version() {
                Some(version) => assert_eq!(
                    endpoint.accept(),
                    format!("application/vnd.atlas.{version}+json")
                ),
                None => assert_eq!(endpoint.accept(), "application/json"),
            }
        }
    }
}
