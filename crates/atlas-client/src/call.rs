//! What one API call is: the operation ([`Endpoint`]) and the record of its outcome ([`CallRecord`]).
//!
//! An endpoint is declared where its call is, by one `endpoint!` statement: an associated const of
//! [`Endpoint`] (`Endpoint::LIST_ORGS`) with its `endpoint` label, and what its requests accept.
//! The same statement registers it into [`Endpoint::all`] through a `linkme` distributed slice, so
//! there is no table to keep in step: the const, the label, the version and the `Accept` header
//! come from one place. `version "YYYY-MM-DD"` is an Atlas resource version: the media type
//! `application/vnd.atlas.YYYY-MM-DD+json` is built from it by `concat!`, which takes literals only
//! (hence a macro). `accept "…"` is a plain media type.
//!
//! # To add an endpoint
//!
//! One new file in `src/endpoints/`, named after the label (the operationId in snake case); no
//! other file changes (`automod` makes it a module, `linkme` registers it). The file holds:
//!
//! 1. a `//!` line saying which operation it owns;
//! 2. `crate::call::endpoint! { /// doc … NAME = "label", version "YYYY-MM-DD"; }`;
//! 3. its wire types (field names checked against the OpenAPI spec) and its item type, reached as
//!    `atlas_client::endpoints::<file>::<Type>`;
//! 4. an `impl AtlasClient` block with the method: a paginated listing of plain items is one call
//!    to `list_paged` (the endpoint, the path, a `fn(&[u8]) -> Result<Page<T>, ApiError>`);
//!    anything else builds on `get` (one logical call) or `get_pages` (a page walk). Ids from
//!    outside go through `path_segment`, so a value can only name one path segment;
//! 5. its tests, against the scripted server in `crate::tests::server`, one of them asserting that
//!    `Endpoint::all()` holds the new endpoint.
//!
//! The test of labels in this file pins every label that existed before (the dashboards rely on
//! them) and that no label is registered twice; it needs no edit for a new endpoint.
//!
//! [`AtlasClient`]: crate::AtlasClient

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::OnceLock;
use std::time::Duration;

/// An API operation we call: its `endpoint` label (the value of the API metrics' label), its Atlas
/// resource version, and the `Accept` header of its requests. Two endpoints are the same when their
/// labels are; each is an associated const (`Endpoint::LIST_ORG_INVITES`, …) declared with its call.
#[derive(Clone, Copy)]
pub struct Endpoint {
    label: &'static str,
    api_version: Option<&'static str>,
    accept: &'static str,
}

/// Every endpoint declared with `endpoint!`, in link order (unsorted).
#[linkme::distributed_slice]
pub(crate) static ENDPOINTS: [Endpoint];

impl Endpoint {
    /// An endpoint; only `endpoint!` calls it, so that every endpoint is registered.
    #[doc(hidden)]
    pub const fn declare(
        label: &'static str,
        api_version: Option<&'static str>,
        accept: &'static str,
    ) -> Endpoint {
        Endpoint {
            label,
            api_version,
            accept,
        }
    }

    /// Every endpoint, sorted by label, so metric series can exist (at zero) before the first call.
    /// Sorted once per process; later calls cost nothing.
    ///
    /// ```
    /// // Linked from another crate too, the file that only declares `oauth_token` included.
    /// let labels: Vec<&str> = atlas_client::Endpoint::all().iter().map(|e| e.label()).collect();
    /// assert!(labels.contains(&"list_orgs") && labels.contains(&"oauth_token"));
    /// assert!(labels.windows(2).all(|pair| pair[0] < pair[1]));
    /// ```
    pub fn all() -> &'static [Endpoint] {
        static SORTED: OnceLock<Vec<Endpoint>> = OnceLock::new();
        SORTED.get_or_init(|| {
            let mut all = ENDPOINTS.to_vec();
            all.sort();
            all
        })
    }

    /// The `endpoint` label value: the operation in snake case, e.g. `list_org_invites`.
    pub const fn label(self) -> &'static str {
        self.label
    }

    /// The Atlas resource version the client asks for (`YYYY-MM-DD`); `None` for the token
    /// endpoint, which is not a versioned resource.
    pub const fn api_version(self) -> Option<&'static str> {
        self.api_version
    }

    /// The `Accept` header of this endpoint's requests.
    pub(crate) const fn accept(self) -> &'static str {
        self.accept
    }
}

impl PartialEq for Endpoint {
    fn eq(&self, other: &Endpoint) -> bool {
        self.label == other.label
    }
}

impl Eq for Endpoint {}

impl Hash for Endpoint {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.label.hash(state);
    }
}

impl PartialOrd for Endpoint {
    fn partial_cmp(&self, other: &Endpoint) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Endpoint {
    fn cmp(&self, other: &Endpoint) -> Ordering {
        self.label.cmp(other.label)
    }
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Endpoint({})", self.label)
    }
}

/// Declares an endpoint in one statement: its associated const on [`Endpoint`] and its
/// registration into [`Endpoint::all`]; see the module documentation.
macro_rules! endpoint {
    ($(#[$doc:meta])* $name:ident = $label:literal, version $version:literal;) => {
        $crate::call::endpoint!(@declare $(#[$doc])* $name = $label, Some($version),
            concat!("application/vnd.atlas.", $version, "+json"));
    };
    ($(#[$doc:meta])* $name:ident = $label:literal, accept $media_type:literal;) => {
        $crate::call::endpoint!(@declare $(#[$doc])* $name = $label, None, $media_type);
    };
    (@declare $(#[$doc:meta])* $name:ident = $label:literal, $version:expr, $accept:expr) => {
        impl $crate::call::Endpoint {
            $(#[$doc])*
            pub const $name: $crate::call::Endpoint =
                $crate::call::Endpoint::declare($label, $version, $accept);
        }

        // In a block of its own, so that one module can declare several endpoints.
        const _: () = {
            #[linkme::distributed_slice($crate::call::ENDPOINTS)]
            static REGISTERED: $crate::call::Endpoint = $crate::call::Endpoint::$name;
        };
    };
}
pub(crate) use endpoint;

/// The resource version of `listOrgInvites` (its only one; the endpoint is deprecated).
pub const INVITES_API_VERSION: &str = versioned(Endpoint::LIST_ORG_INVITES);
/// The resource version of `listOrgUsers` that lists invitations (older ones list active users only).
pub const ORG_USERS_API_VERSION: &str = versioned(Endpoint::LIST_ORG_USERS);

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
            (Endpoint::LIST_ORG_INVITES.accept(), INVITES_API_VERSION),
            (Endpoint::LIST_ORG_USERS.accept(), ORG_USERS_API_VERSION),
            (Endpoint::LIST_ORGS.accept(), "2023-01-01"),
            (Endpoint::GET_ORG_SERVICE_ACCOUNT.accept(), "2024-08-05"),
        ] {
            assert_eq!(media_type, format!("application/vnd.atlas.{version}+json"));
        }
    }

    /// The labels the dashboards rely on: none may change or disappear. New endpoints are checked
    /// by their own files, so that adding one touches no other file.
    const PINNED_LABELS: [&str; 5] = [
        "get_org_service_account",
        "list_org_invites",
        "list_org_users",
        "list_orgs",
        "oauth_token",
    ];

    #[test]
    fn endpoints_have_distinct_labels_and_all_lists_each_once_sorted() {
        let labels: Vec<&str> = Endpoint::all().iter().map(|e| e.label()).collect();
        for pinned in PINNED_LABELS {
            assert_eq!(
                labels.iter().filter(|label| **label == pinned).count(),
                1,
                "{pinned} in {labels:?}"
            );
        }
        // Sorted and distinct: strictly increasing.
        assert!(
            labels.windows(2).all(|pair| pair[0] < pair[1]),
            "{labels:?}"
        );
        let pinned_consts = [
            Endpoint::GET_ORG_SERVICE_ACCOUNT,
            Endpoint::LIST_ORG_INVITES,
            Endpoint::LIST_ORG_USERS,
            Endpoint::LIST_ORGS,
            Endpoint::OAUTH_TOKEN,
        ];
        assert_eq!(pinned_consts.map(Endpoint::label), PINNED_LABELS);
    }

    #[test]
    fn endpoints_are_compared_by_label_and_shown_by_it() {
        let same = Endpoint::declare("list_orgs", Some("2099-01-01"), "x");
        assert_eq!(same, Endpoint::LIST_ORGS);
        assert_ne!(Endpoint::LIST_ORGS, Endpoint::OAUTH_TOKEN);
        assert!(Endpoint::GET_ORG_SERVICE_ACCOUNT < Endpoint::LIST_ORGS);
        assert_eq!(format!("{:?}", Endpoint::LIST_ORGS), "Endpoint(list_orgs)");
        // Sorted once: the same slice every time.
        assert!(std::ptr::eq(Endpoint::all(), Endpoint::all()));
    }

    #[test]
    fn every_versioned_endpoint_accepts_its_versions_media_type() {
        for endpoint in Endpoint::all() {
            assert!(!endpoint.label().is_empty());
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
