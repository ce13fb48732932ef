//! Paginated listings: `listOrgUsers` and `listOrgs` requests, page walks and their boundaries, the
//! page cap, per-page retries and deadline, and the single-status fallback for an older Atlas.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::server::{Recorded, Reply, TestServer};
use super::*;
use crate::Organization;
use crate::client::MAX_PAGES;

const USERS_PATH: &str = "/api/atlas/v2/orgs/32b6e34b3d91647abb20e7b8/users";
const ORGS_PATH: &str = "/api/atlas/v2/orgs";
const USERS_ACCEPT: &str = "application/vnd.atlas.2025-02-19+json";
const ORGS_ACCEPT: &str = "application/vnd.atlas.2023-01-01+json";
const MULTI_STATUS: &str = "orgMembershipStatuses=PENDING&orgMembershipStatuses=INVITATION_EXPIRED";
const SINGLE_STATUS: &str = "orgMembershipStatus=PENDING";
const STATUSES_FIXTURE: &str =
    include_str!("../../../../tests/fixtures/atlas/org_users_statuses.json");
const ORGS_FIXTURE: &str = include_str!("../../../../tests/fixtures/atlas/orgs_page.json");

const USERS: Endpoint = Endpoint::LIST_ORG_USERS;
const ORGS: Endpoint = Endpoint::LIST_ORGS;

/// What Atlas answers to a query it does not understand (an older Atlas and `orgMembershipStatuses`).
const INVALID_PARAMETER: &str = r#"{"detail":"Invalid query parameter orgMembershipStatuses.","error":400,"errorCode":"INVALID_QUERY_PARAMETER","reason":"Bad Request"}"#;

fn paged_client(server: &TestServer, items_per_page: u32) -> AtlasClient {
    client(server).with_items_per_page(items_per_page)
}

/// The n-th pending invitation of a generated organisation: created on day n of 2026, so the order
/// of a listing shows which pages it came from.
fn pending_user(n: usize) -> String {
    format!(
        r#"{{"id":"{n:024x}","orgMembershipStatus":"PENDING","roles":{{"orgRoles":["ORG_MEMBER"],"groupRoleAssignments":[]}},"username":"user{n}@example.com","invitationCreatedAt":"{}","invitationExpiresAt":null,"inviterUsername":"admin@example.com"}}"#,
        created_on(n)
    )
}

fn active_user(n: usize) -> String {
    format!(
        r#"{{"id":"{n:024x}","orgMembershipStatus":"ACTIVE","roles":{{"orgRoles":["ORG_OWNER"]}},"username":"member{n}@example.com","createdAt":"2024-01-01T00:00:00Z","firstName":"A","lastName":"B"}}"#
    )
}

fn created_on(n: usize) -> String {
    let day: jiff::Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
    day.checked_add(jiff::SignedDuration::from_hours(24 * n as i64))
        .unwrap()
        .to_string()
}

fn users_page(users: &[String], total_count: Option<usize>) -> String {
    let total = total_count
        .map(|count| format!(r#","totalCount":{count}"#))
        .unwrap_or_default();
    format!(r#"{{"links":[],"results":[{}]{total}}}"#, users.join(","))
}

/// An organisation of `users` served `per_page` at a time, by `pageNum`, with `totalCount` if asked.
fn paging_server(
    users: Vec<String>,
    per_page: usize,
    send_total: bool,
) -> impl Fn(&Recorded) -> Reply {
    move |request| {
        let start = (page_num(request).max(1) - 1) * per_page;
        let slice = users.get(start..).unwrap_or_default();
        let page = &slice[..slice.len().min(per_page)];
        Reply::json(200, users_page(page, send_total.then_some(users.len())))
    }
}

async fn list_users(
    client: &AtlasClient,
    org: &str,
    auth: &Authenticator,
) -> (Result<Listing<Vec<Invitation>>, ApiError>, Vec<CallRecord>) {
    let mut calls = Vec::new();
    let result = client
        .list_org_users(org, auth, far_deadline(), &mut calls, Vec::new())
        .await;
    (result, calls)
}

fn creation_days(listing: &Listing<Vec<Invitation>>) -> Vec<String> {
    listing
        .items
        .iter()
        .map(|invitation| invitation.created_at.to_string())
        .collect()
}

#[tokio::test]
async fn org_users_are_asked_for_pending_and_expired_with_the_2025_version() {
    let server = TestServer::start(|_| Reply::json(200, STATUSES_FIXTURE)).await;
    let (result, calls) = list_users(&client(&server), org(), &api_key()).await;
    let listing = result.unwrap();

    let requests = server.requests();
    assert_eq!(requests.len(), 1, "five results of 500 is one page");
    assert_eq!(requests[0].method, "GET");
    assert_eq!(
        requests[0].path,
        format!("{USERS_PATH}?{MULTI_STATUS}&itemsPerPage=500&pageNum=1")
    );
    assert_eq!(requests[0].header("accept"), Some(USERS_ACCEPT));

    // Pending and expired kept; rejected, active and the unknown status skipped.
    assert_eq!(listing.items.len(), 2);
    assert_eq!(
        listing.items[0].expires_at,
        Some("2026-03-31T10:00:00Z".parse().unwrap())
    );
    assert_eq!(listing.items[1].org_roles, vec!["ORG_READ_ONLY"]);
    assert_eq!(listing.org_name, None);
    assert!(!listing.deprecated);
    assert_eq!(outcomes(&calls), [(USERS, Some(200), None)]);
}

#[tokio::test]
async fn a_listing_follows_pages_until_a_short_one() {
    let users: Vec<String> = (0..7).map(pending_user).collect();
    let server = TestServer::start(paging_server(users, 3, false)).await;
    let (result, calls) = list_users(&paged_client(&server, 3), org(), &api_key()).await;
    let listing = result.unwrap();

    assert_eq!(page_nums(&server), [1, 2, 3]);
    assert!(
        server
            .requests()
            .iter()
            .all(|request| query_value(request, "itemsPerPage") == Some("3"))
    );
    assert_eq!(
        creation_days(&listing),
        (0..7).map(created_on).collect::<Vec<_>>()
    );
    assert!(
        listing
            .items
            .iter()
            .all(|invitation| invitation.expires_at.is_none())
    );
    assert_eq!(outcomes(&calls), [(USERS, Some(200), None); 3]);
}

#[tokio::test]
async fn an_exactly_full_last_page_costs_one_empty_page_without_a_total() {
    let users: Vec<String> = (0..6).map(pending_user).collect();
    let server = TestServer::start(paging_server(users, 3, false)).await;
    let (result, calls) = list_users(&paged_client(&server, 3), org(), &api_key()).await;
    assert_eq!(result.unwrap().items.len(), 6);
    assert_eq!(
        page_nums(&server),
        [1, 2, 3],
        "page 3 is empty and ends the walk"
    );
    assert_eq!(calls.len(), 3);
}

#[tokio::test]
async fn reaching_total_count_exactly_ends_the_walk() {
    let users: Vec<String> = (0..6).map(pending_user).collect();
    let server = TestServer::start(paging_server(users, 3, true)).await;
    let (result, calls) = list_users(&paged_client(&server, 3), org(), &api_key()).await;
    assert_eq!(result.unwrap().items.len(), 6);
    assert_eq!(
        page_nums(&server),
        [1, 2],
        "totalCount 6 is reached on page 2"
    );
    assert_eq!(calls.len(), 2);
}

#[tokio::test]
async fn skipped_entries_count_towards_a_full_page() {
    // Page 1 is full with one member among the invitations; only page 2 being short ends it.
    let users = vec![pending_user(0), active_user(1), pending_user(2)];
    let server = TestServer::start(paging_server(users, 2, true)).await;
    let (result, _) = list_users(&paged_client(&server, 2), org(), &api_key()).await;
    let listing = result.unwrap();
    assert_eq!(page_nums(&server), [1, 2]);
    assert_eq!(creation_days(&listing), [created_on(0), created_on(2)]);
}

#[tokio::test]
async fn a_server_that_never_ends_the_listing_stops_at_the_page_cap() {
    // Every page full, whatever pageNum says, and no totalCount.
    let server = TestServer::start(|_| {
        Reply::json(200, users_page(&[pending_user(0), pending_user(1)], None))
    })
    .await;
    let (result, calls) = list_users(&paged_client(&server, 2), org(), &api_key()).await;
    let error = result.unwrap_err();
    assert_eq!(error, ApiError::TooManyPages { limit: MAX_PAGES });
    assert_eq!(error.error_code(), "TOO_MANY_PAGES");
    assert!(error.to_string().contains("20 pages"), "{error}");

    assert_eq!(page_nums(&server), (1..=20).collect::<Vec<_>>());
    let mut expected = vec![(USERS, Some(200), None); 19];
    expected.push((USERS, Some(200), Some("TOO_MANY_PAGES")));
    assert_eq!(
        outcomes(&calls),
        expected,
        "the page that hit the cap carries its code"
    );
}

#[tokio::test]
async fn a_listing_that_ends_on_the_last_allowed_page_succeeds() {
    let users: Vec<String> = (0..40).map(pending_user).collect();
    let server = TestServer::start(paging_server(users, 2, true)).await;
    let (result, calls) = list_users(&paged_client(&server, 2), org(), &api_key()).await;
    assert_eq!(result.unwrap().items.len(), 40);
    assert_eq!(page_nums(&server).last(), Some(&20));
    assert_eq!(calls.len(), 20);
}

#[tokio::test]
async fn each_page_is_retried_on_its_own() {
    let users: Vec<String> = (0..5).map(pending_user).collect();
    let serve = paging_server(users, 2, false);
    let failed_once = AtomicUsize::new(0);
    let server = TestServer::start(move |request| {
        if page_num(request) == 2 && failed_once.fetch_add(1, Ordering::SeqCst) == 0 {
            return Reply::json(503, r#"{"error":503,"errorCode":"SERVICE_UNAVAILABLE"}"#);
        }
        serve(request)
    })
    .await;
    let (result, calls) = list_users(&paged_client(&server, 2), org(), &api_key()).await;
    assert_eq!(result.unwrap().items.len(), 5);
    assert_eq!(page_nums(&server), [1, 2, 2, 3]);
    assert_eq!(
        outcomes(&calls),
        [
            (USERS, Some(200), None),
            (USERS, Some(503), Some("SERVICE_UNAVAILABLE")),
            (USERS, Some(200), None),
            (USERS, Some(200), None),
        ]
    );
}

#[tokio::test]
async fn a_failing_later_page_fails_the_listing_without_the_single_status_retry() {
    let users: Vec<String> = (0..5).map(pending_user).collect();
    let serve = paging_server(users, 2, false);
    let server = TestServer::start(move |request| {
        if page_num(request) == 2 {
            return Reply::json(400, INVALID_PARAMETER);
        }
        serve(request)
    })
    .await;
    let (result, calls) = list_users(&paged_client(&server, 2), org(), &api_key()).await;
    assert_eq!(result.unwrap_err().status(), Some(400));
    assert_eq!(page_nums(&server), [1, 2]);
    assert!(
        server
            .requests()
            .iter()
            .all(|request| request.path.contains(MULTI_STATUS)),
        "page 1 was accepted, so the 400 is not about the parameter"
    );
    assert_eq!(
        outcomes(&calls),
        [
            (USERS, Some(200), None),
            (USERS, Some(400), Some("INVALID_QUERY_PARAMETER"))
        ]
    );
}

#[tokio::test]
async fn the_walk_never_outlives_the_deadline() {
    let users: Vec<String> = (0..5).map(pending_user).collect();
    let serve = paging_server(users, 2, false);
    let server = TestServer::start(move |request| {
        if page_num(request) == 2 {
            return Reply::hang();
        }
        serve(request)
    })
    .await;
    // A 30 s timeout per request, but the whole listing must be over in 300 ms.
    let client = client_with(&server, Duration::from_secs(30), 1 << 20).with_items_per_page(2);
    let started = Instant::now();
    let mut calls = Vec::new();
    let result = client
        .list_org_users(
            org(),
            &api_key(),
            deadline_in(Duration::from_millis(300)),
            &mut calls,
            Vec::new(),
        )
        .await;
    assert_eq!(result.unwrap_err(), ApiError::Timeout);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        outcomes(&calls),
        [(USERS, Some(200), None), (USERS, None, Some("TIMEOUT"))]
    );
}

#[tokio::test]
async fn one_token_serves_every_page() {
    let users: Vec<String> = (0..5).map(pending_user).collect();
    let serve = paging_server(users, 2, false);
    let server = TestServer::start(move |request| {
        if request.path == TOKEN_PATH {
            return server::token_reply("tok-1", 3600);
        }
        serve(request)
    })
    .await;
    let (result, calls) = list_users(&paged_client(&server, 2), org(), &service_account()).await;
    assert_eq!(result.unwrap().items.len(), 5);
    let pages = server.requests_to(USERS_PATH);
    assert_eq!(pages.len(), 3);
    assert!(
        pages
            .iter()
            .all(|request| request.header("authorization") == Some("Bearer tok-1"))
    );
    assert_eq!(
        outcomes(&calls),
        [
            (TOKEN, Some(200), None),
            (USERS, Some(200), None),
            (USERS, Some(200), None),
            (USERS, Some(200), None),
        ]
    );
}

#[tokio::test]
async fn lifecycle_headers_come_from_the_first_page() {
    let users: Vec<String> = (0..3).map(pending_user).collect();
    let serve = paging_server(users, 2, false);
    let server = TestServer::start(move |request| match page_num(request) {
        1 => serve(request).header("deprecation", "@1688169599"),
        _ => serve(request).header("sunset", "Thu, 01 Jul 2027 00:00:00 GMT"),
    })
    .await;
    let (result, _) = list_users(&paged_client(&server, 2), org(), &api_key()).await;
    let listing = result.unwrap();
    assert_eq!(page_nums(&server), [1, 2]);
    assert!(listing.deprecated);
    assert_eq!(listing.sunset, None, "page 2's Sunset is not the listing's");
}

/// An Atlas that predates `orgMembershipStatuses`: 400 for it, the fixture for anything else.
fn older_atlas() -> impl Fn(&Recorded) -> Reply {
    |request| {
        if request.path.contains("orgMembershipStatuses=") {
            Reply::json(400, INVALID_PARAMETER)
        } else {
            Reply::json(200, STATUSES_FIXTURE)
        }
    }
}

#[tokio::test]
async fn an_older_atlas_is_asked_once_more_with_the_single_status_and_that_is_remembered() {
    let server = TestServer::start(older_atlas()).await;
    let client = client(&server);
    let (result, calls) = list_users(&client, org(), &api_key()).await;
    assert_eq!(result.unwrap().items.len(), 2);
    let single = format!("{USERS_PATH}?{SINGLE_STATUS}&itemsPerPage=500&pageNum=1");
    let paths: Vec<String> = server.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(
        paths,
        [
            format!("{USERS_PATH}?{MULTI_STATUS}&itemsPerPage=500&pageNum=1"),
            single.clone()
        ]
    );
    assert!(
        server
            .requests()
            .iter()
            .all(|request| request.header("accept") == Some(USERS_ACCEPT))
    );
    assert_eq!(
        outcomes(&calls),
        [
            (USERS, Some(400), Some("INVALID_QUERY_PARAMETER")),
            (USERS, Some(200), None)
        ]
    );

    // The next poll of the same organisation goes straight to the form that worked.
    let (result, calls) = list_users(&client, org(), &api_key()).await;
    result.unwrap();
    assert_eq!(outcomes(&calls), [(USERS, Some(200), None)]);
    assert_eq!(
        server.requests().last().map(|r| r.path.clone()),
        Some(single)
    );

    // Another organisation on the same client still starts with the full form.
    let other = "0123456789abcdef01234567";
    let (result, calls) = list_users(&client, other, &api_key()).await;
    result.unwrap();
    assert_eq!(calls.len(), 2);
    let requests = server.requests();
    assert!(requests[requests.len() - 2].path.contains(MULTI_STATUS));
}

/// Log output, for the one warning the fallback owes the operator.
#[derive(Clone, Default)]
struct CapturedLog(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for CapturedLog {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn the_fallback_is_logged_once_per_organisation() {
    let log = CapturedLog::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::WARN)
        .finish();
    // The test runtime is single-threaded, so the thread-local subscriber sees every await.
    let _guard = tracing::subscriber::set_default(subscriber);
    // tracing caches a callsite's interest for the whole process when the callsite is first reached.
    // With one subscriber in existence, it asks only the default subscriber of the thread reaching
    // it: had another test's thread (no subscriber) reached the warning first, it would be cached as
    // never enabled, and missed here. With a second one alive, every subscriber is asked instead.
    let _second = tracing::Dispatch::new(tracing::subscriber::NoSubscriber::default());

    let server = TestServer::start(older_atlas()).await;
    let client = client(&server);
    for _ in 0..3 {
        list_users(&client, org(), &api_key()).await.0.unwrap();
    }
    let text = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
    assert_eq!(text.matches("WARN").count(), 1, "{text}");
    assert!(
        text.contains(ORG) && text.contains("orgMembershipStatus=PENDING"),
        "{text}"
    );
}

#[tokio::test]
async fn the_single_status_form_pages_like_the_full_one() {
    let users: Vec<String> = (0..5).map(pending_user).collect();
    let serve = paging_server(users, 2, false);
    let server = TestServer::start(move |request| {
        if request.path.contains("orgMembershipStatuses=") {
            Reply::json(400, INVALID_PARAMETER)
        } else {
            serve(request)
        }
    })
    .await;
    let (result, calls) = list_users(&paged_client(&server, 2), org(), &api_key()).await;
    assert_eq!(result.unwrap().items.len(), 5);
    let paths: Vec<String> = server
        .requests()
        .into_iter()
        .skip(1)
        .map(|r| r.path)
        .collect();
    assert_eq!(
        paths,
        (1..=3)
            .map(|n| format!("{USERS_PATH}?{SINGLE_STATUS}&itemsPerPage=2&pageNum={n}"))
            .collect::<Vec<_>>()
    );
    assert_eq!(calls.len(), 4);
}

#[tokio::test]
async fn a_400_to_both_forms_is_returned_and_not_remembered() {
    let hits = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&hits);
    let server = TestServer::start(move |_| {
        counted.fetch_add(1, Ordering::SeqCst);
        Reply::json(
            400,
            r#"{"error":400,"errorCode":"INVALID_ORG_ID","reason":"Bad Request"}"#,
        )
    })
    .await;
    let client = client(&server);
    for poll in 0..2 {
        let (result, calls) = list_users(&client, org(), &api_key()).await;
        assert_eq!(result.unwrap_err().error_code(), "INVALID_ORG_ID");
        assert_eq!(
            outcomes(&calls),
            [(USERS, Some(400), Some("INVALID_ORG_ID")); 2],
            "poll {poll}"
        );
    }
    let requests = server.requests();
    assert_eq!(hits.load(Ordering::SeqCst), 4);
    assert!(
        requests[2].path.contains(MULTI_STATUS),
        "the full form is tried again"
    );
    assert!(requests[3].path.contains(SINGLE_STATUS));
}

#[tokio::test]
async fn other_first_page_failures_do_not_switch_the_form() {
    for status in [403u16, 404, 406] {
        let server = TestServer::start(move |_| {
            Reply::json(status, r#"{"error":403,"errorCode":"USER_UNAUTHORIZED"}"#)
        })
        .await;
        let (result, calls) = list_users(&client(&server), org(), &api_key()).await;
        assert_eq!(result.unwrap_err().status(), Some(status));
        assert_eq!(calls.len(), 1, "HTTP {status}");
        assert_eq!(server.requests().len(), 1);
    }
}

async fn list_orgs(
    client: &AtlasClient,
) -> (
    Result<Listing<Vec<Organization>>, ApiError>,
    Vec<CallRecord>,
) {
    let mut calls = Vec::new();
    let result = client
        .list_orgs(&api_key(), far_deadline(), &mut calls)
        .await;
    (result, calls)
}

#[tokio::test]
async fn organizations_are_listed_with_the_2023_version() {
    let server = TestServer::start(|_| Reply::json(200, ORGS_FIXTURE)).await;
    let (result, calls) = list_orgs(&client(&server)).await;
    let listing = result.unwrap();
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(
        requests[0].path,
        format!("{ORGS_PATH}?itemsPerPage=500&pageNum=1")
    );
    assert_eq!(requests[0].header("accept"), Some(ORGS_ACCEPT));
    assert_eq!(
        listing.items,
        vec![
            Organization {
                id: "32b6e34b3d91647abb20e7b8".into(),
                name: "Acme-Production".into(),
                is_deleted: false
            },
            Organization {
                id: "0123456789abcdef01234567".into(),
                name: "Acme-Old_(2019)".into(),
                is_deleted: true
            },
            Organization {
                id: "fedcba9876543210fedcba98".into(),
                name: "Zürich-Ops".into(),
                is_deleted: false
            },
        ]
    );
    assert_eq!(listing.org_name, None);
    assert_eq!(outcomes(&calls), [(ORGS, Some(200), None)]);
}

#[tokio::test]
async fn organizations_are_paged_until_total_count() {
    let server = TestServer::start(|request| {
        let n = page_num(request);
        Reply::json(
            200,
            format!(
                r#"{{"results":[{{"id":"{n:024x}","name":"org-{n}","isDeleted":false}}],"totalCount":3}}"#
            ),
        )
    })
    .await;
    let (result, calls) = list_orgs(&paged_client(&server, 1)).await;
    let names: Vec<String> = result
        .unwrap()
        .items
        .into_iter()
        .map(|org| org.name)
        .collect();
    assert_eq!(names, ["org-1", "org-2", "org-3"]);
    let paths: Vec<String> = server.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(
        paths,
        (1..=3)
            .map(|n| format!("{ORGS_PATH}?itemsPerPage=1&pageNum={n}"))
            .collect::<Vec<_>>()
    );
    assert_eq!(outcomes(&calls), [(ORGS, Some(200), None); 3]);
}

#[tokio::test]
async fn an_endless_organization_listing_stops_at_the_page_cap() {
    let server = TestServer::start(|_| {
        Reply::json(
            200,
            r#"{"results":[{"id":"32b6e34b3d91647abb20e7b8","name":"same"}]}"#,
        )
    })
    .await;
    let (result, calls) = list_orgs(&paged_client(&server, 1)).await;
    assert_eq!(
        result.unwrap_err(),
        ApiError::TooManyPages { limit: MAX_PAGES }
    );
    assert_eq!(calls.len(), MAX_PAGES as usize);
    assert_eq!(
        calls.last().and_then(|call| call.error_code.as_deref()),
        Some("TOO_MANY_PAGES")
    );
}

#[tokio::test]
async fn the_page_size_is_clamped_to_what_atlas_accepts() {
    let server = TestServer::start(|_| Reply::json(200, r#"{"results":[]}"#)).await;
    for (asked, sent) in [(0, "1"), (2, "2"), (500, "500"), (501, "500")] {
        let (result, _) = list_orgs(&paged_client(&server, asked)).await;
        assert!(result.unwrap().items.is_empty());
        let last = server.requests().pop().unwrap();
        assert_eq!(
            query_value(&last, "itemsPerPage"),
            Some(sent),
            "asked for {asked}"
        );
    }
}
