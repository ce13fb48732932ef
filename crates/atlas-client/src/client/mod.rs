//! `AtlasClient`: the HTTP calls to Atlas, with versioned Accept headers, body limits and retries.
//!
//! Every endpoint goes through [`AtlasClient::get`]: authentication, the retry loop, one
//! [`CallRecord`] per attempt, the bounded body read and the lifecycle headers. An endpoint adds a
//! method naming its [`Endpoint`] (which brings its media type) and path, and a decoder.
//! Paginated listings walk their pages with [`AtlasClient::get_pages`], each page a logical call of
//! its own; a listing of plain items needs no more than [`AtlasClient::list_paged`]; a single
//! resource is one `get`. Those endpoints live one file each in `endpoints/` (how to add one is in
//! `call.rs`); the two invitation listings are here, with the sinks and the fallback they share.

use std::collections::HashSet;
use std::fmt;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use jiff::Timestamp;
use rand::Rng;
use reqwest::Response;
use tokio::time::Instant;

use crate::auth::SendFailure;
use crate::call::{CallRecord, Endpoint};
use crate::decode::InvitationSink;
use crate::model::{Page, PageCounts};
use crate::network::NetworkSettings;
use crate::retry::RetryPolicy;
use crate::transport::{self, ApiRequest, BodyError, Lifecycle, Transport};
use crate::{ApiError, Authenticator};

crate::call::endpoint! {
    /// `GET /api/atlas/v2/orgs/{orgId}/invites` ([`AtlasClient::list_org_invites`]).
    LIST_ORG_INVITES = "list_org_invites", version "2023-01-01";
}

crate::call::endpoint! {
    /// `GET /api/atlas/v2/orgs/{orgId}/users`, one call per page ([`AtlasClient::list_org_users`]).
    LIST_ORG_USERS = "list_org_users", version "2025-02-19";
}

/// The most results Atlas returns on one page, and what every listing asks for.
pub const MAX_ITEMS_PER_PAGE: u32 = 500;
/// Pages a listing may take before it fails with [`ApiError::TooManyPages`]: 10,000 results at 500 a
/// page, twenty times the 500 members Atlas allows an organisation. Only a server that ignores
/// `pageNum` gets there, and it would otherwise be paged forever.
pub const MAX_PAGES: u32 = 20;

/// The invitations `listOrgUsers` is asked for: pending and expired, as repeated keys (Atlas'
/// `collectionFormat: multi`; the SDK sends exactly this).
const PENDING_AND_EXPIRED: &str =
    "orgMembershipStatuses=PENDING&orgMembershipStatuses=INVITATION_EXPIRED";
/// What an Atlas older than `orgMembershipStatuses` understands. It cannot ask for expired ones.
const PENDING_ONLY: &str = "orgMembershipStatus=PENDING";

/// Settings of the one HTTP client the process uses.
#[derive(Clone, Debug)]
pub struct ClientSettings {
    /// Scheme, host and optional port, no trailing slash: `https://cloud.mongodb.com` (or
    /// `https://cloud.mongodbgov.com`); the token endpoint is `base_url/api/oauth/token`.
    pub base_url: String,
    /// The limit of one HTTP request, connection and body included (shortened to what is left of a
    /// call's deadline).
    pub timeout: Duration,
    /// A larger body is cut off and the call fails with [`ApiError::BodyTooLarge`].
    pub max_response_bytes: u64,
    /// The `User-Agent` of every request, e.g. `atlas-invites-exporter/0.1.0`.
    pub user_agent: String,
    /// The proxy and certificate authorities between the client and Atlas; the default is the
    /// environment's proxies (`HTTPS_PROXY`, `NO_PROXY`, …) and the system's roots.
    pub network: NetworkSettings,
}

/// A successful listing and what the response headers said about the endpoint's future
/// (for a paginated listing, the first page's headers).
#[derive(Clone, Debug)]
pub struct Listing<T> {
    /// What the listing collected: the invitation sink passed in, with every page's invitations
    /// added, or a plain listing's items (the organisations, …).
    pub items: T,
    /// The organisation's name as the response gave it (`orgName` of any invitation), if it did.
    /// Only `listOrgInvites` gives it: always `None` from every other listing.
    pub org_name: Option<String>,
    /// A `Deprecation` header was present.
    pub deprecated: bool,
    /// The `Sunset` header, when present and parseable (an HTTP-date).
    pub sunset: Option<Timestamp>,
}

/// A decoded success body and the lifecycle headers that came with it.
pub(crate) struct Fetched<T> {
    pub(crate) value: T,
    pub(crate) lifecycle: Lifecycle,
}

impl<T> Fetched<T> {
    /// The listing of what was fetched, from a response that names no organisation.
    pub(crate) fn into_listing(self) -> Listing<T> {
        Listing {
            items: self.value,
            org_name: None,
            deprecated: self.lifecycle.deprecated,
            sunset: self.lifecycle.sunset,
        }
    }
}

/// A paginated GET: everything but the page number.
pub(crate) struct PagedRequest<'a> {
    pub(crate) endpoint: Endpoint,
    pub(crate) path: &'a str,
    /// Query parameters ahead of `itemsPerPage` and `pageNum`, `&`-separated; may be empty.
    pub(crate) filter: &'a str,
}

impl PagedRequest<'_> {
    fn path_and_query(&self, page_num: u32, items_per_page: u32) -> String {
        let separator = if self.filter.is_empty() { "" } else { "&" };
        format!(
            "{}?{}{separator}itemsPerPage={items_per_page}&pageNum={page_num}",
            self.path, self.filter
        )
    }
}

/// A paginated listing that failed, and whether it failed on its first page (before Atlas had
/// accepted the request's form at all).
pub(crate) struct WalkFailure {
    pub(crate) error: ApiError,
    pub(crate) on_first_page: bool,
}

/// The client of one Atlas host, shared by every organisation and credential (credentials are passed
/// to each call as an [`Authenticator`]). It only reads: GET requests, plus the token POST of a
/// service account.
pub struct AtlasClient {
    transport: Transport,
    max_response_bytes: u64,
    retry: RetryPolicy,
    items_per_page: u32,
    /// Organisations whose Atlas answered 400 to `orgMembershipStatuses`: asked with
    /// `orgMembershipStatus=PENDING` for the rest of the process's life.
    single_status_filter: Mutex<HashSet<String>>,
}

impl AtlasClient {
    /// Builds the HTTP client (rustls, gzip, no redirects, the proxy and CA file of
    /// [`ClientSettings::network`]) from `settings`; sends nothing. Fails with
    /// [`ApiError::ClientSetup`] when the HTTP client cannot be built: a proxy URL that is not one, a
    /// CA file that cannot be read or holds no certificate.
    pub fn new(settings: ClientSettings) -> Result<AtlasClient, ApiError> {
        Ok(AtlasClient {
            transport: Transport::new(
                &settings.base_url,
                settings.timeout,
                &settings.user_agent,
                &settings.network,
            )?,
            max_response_bytes: settings.max_response_bytes,
            retry: RetryPolicy::DEFAULT,
            items_per_page: MAX_ITEMS_PER_PAGE,
            single_status_filter: Mutex::default(),
        })
    }

    /// Asks for `items_per_page` results a page instead of [`MAX_ITEMS_PER_PAGE`] (clamped to
    /// 1..=500). Production has no use for it; it lets tests, including those outside the crate,
    /// cross page boundaries with a handful of invitations. [`MAX_PAGES`] still applies.
    pub fn with_items_per_page(mut self, items_per_page: u32) -> AtlasClient {
        self.items_per_page = items_per_page.clamp(1, MAX_ITEMS_PER_PAGE);
        self
    }

    /// Bounds the retry backoff by the schedule of the polls using this client: the backoff before
    /// the second attempt is at most a tenth of `shortest_interval`, and never more than its default
    /// (0.5–1 s, then 1–2 s), which any interval of 10 s or more keeps.
    pub fn with_poll_interval(mut self, shortest_interval: Duration) -> AtlasClient {
        self.retry = RetryPolicy::for_interval(shortest_interval);
        self
    }

    /// `GET /api/atlas/v2/orgs/{orgId}/invites`, with retries that never sleep past `deadline`, its
    /// invitations added to `into`. Every call made (token fetches included) is appended to `calls`.
    pub async fn list_org_invites<S: InvitationSink>(
        &self,
        org: &str,
        auth: &Authenticator,
        deadline: Instant,
        calls: &mut Vec<CallRecord>,
        into: S,
    ) -> Result<Listing<S>, ApiError> {
        let path = format!("/api/atlas/v2/orgs/{org}/invites");
        let request = ApiRequest {
            endpoint: Endpoint::LIST_ORG_INVITES,
            path_and_query: &path,
        };
        // A body that fails to decode leaves nothing behind for the retry.
        let decode = |body: &[u8]| {
            let mut items = into.clone();
            let org_name = items.add_invitations(body)?;
            Ok((items, org_name))
        };
        let fetched = self.get(&request, auth, deadline, calls, &decode).await?;
        let (items, org_name) = fetched.value;
        Ok(Listing {
            items,
            org_name,
            deprecated: fetched.lifecycle.deprecated,
            sunset: fetched.lifecycle.sunset,
        })
    }

    /// `GET /api/atlas/v2/orgs/{orgId}/users` (resource version 2025-02-19), every page, keeping the
    /// pending and expired invitations. An Atlas that answers 400 to `orgMembershipStatuses` is asked
    /// once more with `orgMembershipStatus=PENDING`, and that organisation keeps that form from then on
    /// (expired invitations are then not reported). The invitations are added to `into`; every call
    /// made is appended to `calls`.
    pub async fn list_org_users<S: InvitationSink>(
        &self,
        org: &str,
        auth: &Authenticator,
        deadline: Instant,
        calls: &mut Vec<CallRecord>,
        into: S,
    ) -> Result<Listing<S>, ApiError> {
        let path = format!("/api/atlas/v2/orgs/{org}/users");
        let request = |filter| PagedRequest {
            endpoint: Endpoint::LIST_ORG_USERS,
            path: &path,
            filter,
        };
        let decode = S::add_org_users_page;
        let fetched = if self.uses_single_status_filter(org) {
            self.get_pages(&request(PENDING_ONLY), auth, deadline, calls, into, decode)
                .await
        } else {
            match self
                .get_pages(
                    &request(PENDING_AND_EXPIRED),
                    auth,
                    deadline,
                    calls,
                    into.clone(),
                    decode,
                )
                .await
            {
                Err(WalkFailure {
                    error: rejection @ ApiError::Status { status: 400, .. },
                    on_first_page: true,
                }) => {
                    let fallback = self
                        .get_pages(&request(PENDING_ONLY), auth, deadline, calls, into, decode)
                        .await;
                    // Only an accepted single form proves the 400 was about the parameter.
                    let accepted = match &fallback {
                        Ok(_) => true,
                        Err(failure) => !failure.on_first_page,
                    };
                    if accepted {
                        self.use_single_status_filter(org, &rejection);
                    }
                    fallback
                }
                walked => walked,
            }
        };
        let fetched = fetched.map_err(|failure| failure.error)?;
        Ok(fetched.into_listing())
    }

    pub(crate) fn uses_single_status_filter(&self, org: &str) -> bool {
        self.single_status_orgs().contains(org)
    }

    fn use_single_status_filter(&self, org: &str, rejection: &ApiError) {
        if self.single_status_orgs().insert(org.to_owned()) {
            tracing::warn!(
                org_id = %org,
                error_code = %rejection.error_code(),
                "Atlas answered 400 to orgMembershipStatuses, a parameter it predates: this organisation \
                 is asked with orgMembershipStatus=PENDING from now on, so expired invitations are not reported"
            );
        }
    }

    fn single_status_orgs(&self) -> MutexGuard<'_, HashSet<String>> {
        // Nothing panics while the lock is held; if something ever did, the set is still valid.
        self.single_status_filter
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Every page of a listing, one logical call ([`AtlasClient::get`], retries included) per page,
    /// until a page is short or `totalCount` is reached. The page that would need a page past
    /// [`MAX_PAGES`] fails as [`ApiError::TooManyPages`], and its call is recorded with that code.
    /// The lifecycle headers are the first page's. `decode` adds a page to what the walk collects; it
    /// works on a clone, kept only if the whole page decodes, so a retried page is never counted twice.
    pub(crate) async fn get_pages<S: Clone>(
        &self,
        request: &PagedRequest<'_>,
        auth: &Authenticator,
        deadline: Instant,
        calls: &mut Vec<CallRecord>,
        mut items: S,
        decode: impl Fn(&mut S, &[u8]) -> Result<PageCounts, ApiError>,
    ) -> Result<Fetched<S>, WalkFailure> {
        let items_per_page = self.items_per_page;
        let mut lifecycle = Lifecycle::default();
        let mut results_seen: u64 = 0;
        for page_num in 1..=MAX_PAGES {
            let path_and_query = request.path_and_query(page_num, items_per_page);
            let api_request = ApiRequest {
                endpoint: request.endpoint,
                path_and_query: &path_and_query,
            };
            let decode_page = |body: &[u8]| {
                let mut with_page = items.clone();
                let counts = decode(&mut with_page, body)?;
                if page_num == MAX_PAGES && more_pages_follow(counts, results_seen, items_per_page)
                {
                    return Err(ApiError::TooManyPages { limit: MAX_PAGES });
                }
                Ok((with_page, counts))
            };
            let fetched = self
                .get(&api_request, auth, deadline, calls, &decode_page)
                .await
                .map_err(|error| WalkFailure {
                    error,
                    on_first_page: page_num == 1,
                })?;
            let counts;
            (items, counts) = fetched.value;
            let more = more_pages_follow(counts, results_seen, items_per_page);
            results_seen = results_seen.saturating_add(counts.results as u64);
            if page_num == 1 {
                lifecycle = fetched.lifecycle;
            }
            if !more {
                return Ok(Fetched {
                    value: items,
                    lifecycle,
                });
            }
        }
        // The last page's decoder has already failed the walk; this is for the type checker alone.
        Err(WalkFailure {
            error: ApiError::TooManyPages { limit: MAX_PAGES },
            on_first_page: false,
        })
    }

    /// Every page of `GET path` for `endpoint`, each decoded by `parse` and its items collected in
    /// order: a paginated listing with no query of its own and nothing to skip or fall back on.
    pub(crate) async fn list_paged<T: Clone>(
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

    /// One logical GET with up to `retry.max_attempts` attempts, each recorded in `calls`.
    pub(crate) async fn get<T>(
        &self,
        request: &ApiRequest<'_>,
        auth: &Authenticator,
        deadline: Instant,
        calls: &mut Vec<CallRecord>,
        decode: &impl Fn(&[u8]) -> Result<T, ApiError>,
    ) -> Result<Fetched<T>, ApiError> {
        let mut failed_attempts = 0;
        loop {
            let error = match self.attempt(request, auth, deadline, calls, decode).await {
                Ok(fetched) => return Ok(fetched),
                Err(error) => error,
            };
            failed_attempts += 1;
            let time_left = deadline.saturating_duration_since(Instant::now());
            let jitter = rand::rng().random::<f64>();
            let Some(wait) =
                self.retry
                    .wait_before_retry(failed_attempts, &error, time_left, jitter)
            else {
                return Err(error);
            };
            tracing::debug!(
                endpoint = request.endpoint.label(),
                error_code = %error.error_code(),
                attempt = failed_attempts,
                ?wait,
                "retrying Atlas call"
            );
            tokio::time::sleep(wait).await;
        }
    }

    /// One attempt: credentials, request, body, decoding. Records the API call (not the token fetches,
    /// which record themselves) with the time spent on it alone.
    async fn attempt<T>(
        &self,
        request: &ApiRequest<'_>,
        auth: &Authenticator,
        deadline: Instant,
        calls: &mut Vec<CallRecord>,
        decode: &impl Fn(&[u8]) -> Result<T, ApiError>,
    ) -> Result<Fetched<T>, ApiError> {
        let started = Instant::now();
        let records_before = calls.len();
        let (status, outcome) = match auth.send(&self.transport, request, deadline, calls).await {
            Err(SendFailure::NotSent(error)) => return Err(error),
            Err(SendFailure::Transport(error)) => (None, Err(error)),
            Ok(response) => (
                Some(response.status().as_u16()),
                self.receive(response, decode)
                    .await
                    .map_err(|error| auth.redact(error)),
            ),
        };
        let token_time: Duration = calls[records_before..]
            .iter()
            .map(|call| call.duration)
            .sum();
        calls.push(CallRecord {
            endpoint: request.endpoint,
            status,
            error_code: outcome.as_ref().err().map(ApiError::error_code),
            duration: started.elapsed().saturating_sub(token_time),
        });
        outcome
    }

    async fn receive<T>(
        &self,
        mut response: Response,
        decode: &impl Fn(&[u8]) -> Result<T, ApiError>,
    ) -> Result<Fetched<T>, ApiError> {
        if !response.status().is_success() {
            return Err(transport::status_error(response).await);
        }
        let lifecycle = Lifecycle::from_headers(response.headers());
        let body = transport::read_at_most(&mut response, self.max_response_bytes)
            .await
            .map_err(|error| match error {
                BodyError::TooLarge => ApiError::BodyTooLarge {
                    limit: self.max_response_bytes,
                },
                BodyError::Transport(error) => error,
            })?;
        Ok(Fetched {
            value: decode(&body)?,
            lifecycle,
        })
    }

    /// Shortens the backoff so retry tests run in milliseconds; the policy itself is tested in `retry`.
    #[cfg(test)]
    pub(crate) fn with_retry_policy(mut self, retry: RetryPolicy) -> AtlasClient {
        self.retry = retry;
        self
    }
}

impl fmt::Debug for AtlasClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AtlasClient")
            .field("base_url", &self.transport.base_url())
            .field("timeout", &self.transport.timeout())
            .field("max_response_bytes", &self.max_response_bytes)
            .field("retry", &self.retry)
            .field("items_per_page", &self.items_per_page)
            .field("single_status_filter", &self.single_status_orgs().len())
            .finish()
    }
}

/// `segment` percent-encoded but for RFC 3986's unreserved characters, so that a configured client
/// id can only ever name one path segment (real ones, `mdb_sa_id_` and hex digits, pass unchanged).
pub(crate) fn path_segment(segment: &str) -> String {
    let mut encoded = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

/// Whether another page follows `page`: it was full, and the results so far fall short of
/// `totalCount` (when Atlas sent it). A page that is exactly full with no `totalCount` costs one more
/// request, for an empty page.
fn more_pages_follow(page: PageCounts, results_before: u64, items_per_page: u32) -> bool {
    let results_so_far = results_before.saturating_add(page.results as u64);
    page.results as u64 >= u64::from(items_per_page)
        && page.total_count.is_none_or(|total| results_so_far < total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(results: usize, total_count: Option<u64>) -> PageCounts {
        PageCounts {
            results,
            total_count,
        }
    }

    #[test]
    fn a_short_page_ends_the_listing() {
        assert!(!more_pages_follow(page(499, None), 0, 500));
        assert!(!more_pages_follow(page(0, None), 1000, 500));
        assert!(!more_pages_follow(page(2, Some(100)), 0, 3));
    }

    #[test]
    fn a_full_page_continues_until_total_count_is_reached() {
        assert!(more_pages_follow(page(500, None), 0, 500));
        assert!(more_pages_follow(page(500, Some(1001)), 500, 500));
        assert!(!more_pages_follow(page(500, Some(1000)), 500, 500));
        // The count is an estimate: one below what was already seen also ends it.
        assert!(!more_pages_follow(page(500, Some(999)), 500, 500));
        // A server ignoring itemsPerPage with a longer page still counts as full.
        assert!(more_pages_follow(page(600, None), 0, 500));
    }

    #[test]
    fn page_queries_keep_the_filter_first_and_its_repeated_key() {
        let users = PagedRequest {
            endpoint: Endpoint::LIST_ORG_USERS,
            path: "/api/atlas/v2/orgs/32b6e34b3d91647abb20e7b8/users",
            filter: PENDING_AND_EXPIRED,
        };
        assert_eq!(
            users.path_and_query(3, 500),
            "/api/atlas/v2/orgs/32b6e34b3d91647abb20e7b8/users?orgMembershipStatuses=PENDING\
             &orgMembershipStatuses=INVITATION_EXPIRED&itemsPerPage=500&pageNum=3"
        );
        let orgs = PagedRequest {
            endpoint: Endpoint::LIST_ORGS,
            path: "/api/atlas/v2/orgs",
            filter: "",
        };
        assert_eq!(
            orgs.path_and_query(1, 500),
            "/api/atlas/v2/orgs?itemsPerPage=500&pageNum=1"
        );
    }

    #[test]
    fn client_ids_stay_one_path_segment() {
        assert_eq!(
            path_segment("mdb_sa_id_1234567890abcdef12345678"),
            "mdb_sa_id_1234567890abcdef12345678"
        );
        assert_eq!(path_segment("a/b?c#d é"), "a%2Fb%3Fc%23d%20%C3%A9");
    }
}
