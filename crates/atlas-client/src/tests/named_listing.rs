//! The tests shared by every paged listing of an organisation's named things (its teams, its
//! projects): registration, paging in order, a full page of 500, refusals, and the org id as one path
//! segment. Each endpoint's file generates them with [`named_org_listing_tests`] and keeps only what
//! is its own (its spec example, its required fields).

/// Generates the shared tests in the calling module: `$method` is the `AtlasClient` method,
/// `$endpoint` its `Endpoint` constant with `$label` and `$version`, `$segment` the path's last
/// segment and `$noun` what the items are called in their generated names (`team-0`, …).
macro_rules! named_org_listing_tests {
    ($method:ident, $endpoint:expr, $label:literal, $version:literal, $segment:literal, $noun:literal) => {
        mod named_listing {
            use super::*;
            use $crate::tests::server::{Reply, TestServer};
            use $crate::tests::{
                ORG, api_key, atlas_error, client, far_deadline, outcomes, page_nums,
                paging_server, query_value,
            };

            fn item(n: usize) -> String {
                format!(r#"{{"id":"{n:024x}","name":"{}-{n}","links":[]}}"#, $noun)
            }

            #[test]
            fn the_endpoint_is_registered_with_its_version() {
                assert!(Endpoint::all().contains(&$endpoint));
                assert_eq!($endpoint.label(), $label);
                assert_eq!($endpoint.api_version(), Some($version));
            }

            #[tokio::test]
            async fn items_are_paged_across_page_boundaries_in_order() {
                let server = TestServer::start(paging_server((0..5).map(item).collect(), 2)).await;
                let mut calls = Vec::new();
                let listing = client(&server)
                    .with_items_per_page(2)
                    .$method(ORG, &api_key(), far_deadline(), &mut calls)
                    .await
                    .unwrap();
                let names: Vec<&str> = listing.items.iter().map(|i| i.name.as_str()).collect();
                let expected: Vec<String> = (0..5).map(|n| format!("{}-{n}", $noun)).collect();
                assert_eq!(names, expected);
                assert_eq!(listing.items[4].id, format!("{:024x}", 4));
                assert_eq!(page_nums(&server), [1, 2, 3]);
                let path = format!("/api/atlas/v2/orgs/{ORG}/{}", $segment);
                let accept = concat!("application/vnd.atlas.", $version, "+json");
                assert!(server.requests().iter().all(|request| {
                    request.path.starts_with(&format!("{path}?itemsPerPage=2&pageNum="))
                        && query_value(request, "itemsPerPage") == Some("2")
                        && request.header("accept") == Some(accept)
                }));
                assert_eq!(outcomes(&calls), [($endpoint, Some(200), None); 3]);
            }

            #[tokio::test]
            async fn a_full_page_of_500_goes_on_to_the_next() {
                let server =
                    TestServer::start(paging_server((0..501).map(item).collect(), 500)).await;
                let mut calls = Vec::new();
                let result = client(&server)
                    .$method(ORG, &api_key(), far_deadline(), &mut calls)
                    .await;
                assert_eq!(result.unwrap().items.len(), 501);
                assert_eq!(page_nums(&server), [1, 2]);
                assert_eq!(calls.len(), 2);
            }

            #[tokio::test]
            async fn forbidden_and_gone_are_status_errors() {
                for (status, code) in [(403, "USER_UNAUTHORIZED"), (410, "GONE")] {
                    let server = TestServer::start(move |_| atlas_error(status, code)).await;
                    let mut calls = Vec::new();
                    let error = client(&server)
                        .$method(ORG, &api_key(), far_deadline(), &mut calls)
                        .await
                        .unwrap_err();
                    assert!(
                        matches!(&error, ApiError::Status { status: s, .. } if *s == status),
                        "{error:?}"
                    );
                    assert_eq!(error.status(), Some(status));
                    assert_eq!(outcomes(&calls), [($endpoint, Some(status), Some(code))]);
                }
            }

            #[tokio::test]
            async fn an_org_id_can_only_name_one_path_segment() {
                let server = TestServer::start(|_| Reply::json(200, r#"{"results":[]}"#)).await;
                let mut calls = Vec::new();
                client(&server)
                    .$method("../groups?x=", &api_key(), far_deadline(), &mut calls)
                    .await
                    .unwrap();
                let path = &server.requests()[0].path;
                let expected = format!("/api/atlas/v2/orgs/..%2Fgroups%3Fx%3D/{}?", $segment);
                assert!(path.starts_with(&expected), "{path}");
            }
        }
    };
}

pub(crate) use named_org_listing_tests;
