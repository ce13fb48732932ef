//! End-to-end tests of the Atlas client against a scripted server on a real loopback socket:
//! authentication flows, retries and deadlines, body handling, paginated listings, and what ends up in
//! the `CallRecord`s. The endpoints of `endpoints/` test themselves in their own files, with the
//! server and the helpers shared here (hence `pub(crate)`).

mod bodies;
mod digest;
pub(crate) mod named_listing;
mod oauth;
mod pages;
mod quoted_secrets;
mod retries;
pub(crate) mod server;
mod service_accounts;

use std::future::Future;
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use secrecy::SecretString;
use tokio::time::Instant;

use crate::Invitation;
use crate::retry::RetryPolicy;
use crate::{ApiError, AtlasClient, Authenticator, CallRecord, ClientSettings, Endpoint, Listing};
use server::{Recorded, TestServer};

/// What the tests' client sends as its `User-Agent`.
const USER_AGENT: &str = "atlas-invites-exporter/test";
pub(crate) const ORG: &str = "32b6e34b3d91647abb20e7b8";
const INVITES_PATH: &str = "/api/atlas/v2/orgs/32b6e34b3d91647abb20e7b8/invites";
pub(crate) const TOKEN_PATH: &str = "/api/oauth/token";
const SPEC_EXAMPLE: &str =
    include_str!("../../../../tests/fixtures/atlas/org_invites_spec_example.json");

const CLIENT_ID: &str = "mdb_sa_id_0123456789abcdef";
/// Characters form-encoding would change, to prove the Basic credentials are sent raw.
const CLIENT_SECRET: &str = "mdb_sa_sk_s3cr%t+/=_value";
const PUBLIC_KEY: &str = "abcdefgh";
const PRIVATE_KEY: &str = "01234567-89ab-cdef-0123-456789abcdef";

/// Retries after ~1 ms instead of ~1 s; the production backoff is covered in `retry`.
const FAST_RETRIES: RetryPolicy = RetryPolicy {
    max_attempts: 3,
    base_delay: Duration::from_millis(2),
    factor: 2,
};

fn install_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

pub(crate) fn client_with(
    server: &TestServer,
    timeout: Duration,
    max_response_bytes: u64,
) -> AtlasClient {
    install_crypto();
    AtlasClient::new(ClientSettings {
        base_url: server.base_url.clone(),
        timeout,
        max_response_bytes,
        user_agent: USER_AGENT.to_owned(),
        network: Default::default(),
    })
    .unwrap()
    .with_retry_policy(FAST_RETRIES)
}

pub(crate) fn client(server: &TestServer) -> AtlasClient {
    client_with(server, Duration::from_secs(5), 1024 * 1024)
}

pub(crate) fn service_account() -> Authenticator {
    Authenticator::service_account(CLIENT_ID.into(), SecretString::from(CLIENT_SECRET))
}

pub(crate) fn api_key() -> Authenticator {
    Authenticator::api_key(PUBLIC_KEY.into(), SecretString::from(PRIVATE_KEY))
}

pub(crate) fn org() -> &'static str {
    ORG
}

pub(crate) fn deadline_in(duration: Duration) -> Instant {
    Instant::now() + duration
}

pub(crate) fn far_deadline() -> Instant {
    deadline_in(Duration::from_secs(60))
}

/// One `list_org_invites` call with its own record list.
async fn list(
    client: &AtlasClient,
    auth: &Authenticator,
    deadline: Instant,
) -> (Result<Listing<Vec<Invitation>>, ApiError>, Vec<CallRecord>) {
    let mut calls = Vec::new();
    let result = client
        .list_org_invites(org(), auth, deadline, &mut calls, Vec::new())
        .await;
    (result, calls)
}

/// The records without their durations, which the tests cannot predict.
pub(crate) fn outcomes(calls: &[CallRecord]) -> Vec<(Endpoint, Option<u16>, Option<&str>)> {
    calls
        .iter()
        .map(|call| (call.endpoint, call.status, call.error_code.as_deref()))
        .collect()
}

const LIST: Endpoint = Endpoint::LIST_ORG_INVITES;
pub(crate) const TOKEN: Endpoint = Endpoint::OAUTH_TOKEN;

pub(crate) fn query_value<'a>(request: &'a Recorded, key: &str) -> Option<&'a str> {
    let (_, query) = request.path.split_once('?')?;
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(name, _)| *name == key)
        .map(|(_, value)| value)
}

pub(crate) fn page_num(request: &Recorded) -> usize {
    query_value(request, "pageNum")
        .and_then(|value| value.parse().ok())
        .unwrap_or(0)
}

pub(crate) fn page_nums(server: &TestServer) -> Vec<usize> {
    server.requests().iter().map(page_num).collect()
}

/// A paginated listing of `items` (JSON objects) served `per_page` at a time by `pageNum`, as a
/// `Paginated…View` with `totalCount`.
pub(crate) fn paging_server(
    items: Vec<String>,
    per_page: usize,
) -> impl Fn(&server::Recorded) -> server::Reply {
    move |request| {
        let start = (page_num(request).max(1) - 1) * per_page;
        let slice = items.get(start..).unwrap_or_default();
        let page = &slice[..slice.len().min(per_page)];
        server::Reply::json(
            200,
            format!(
                r#"{{"links":[],"results":[{}],"totalCount":{}}}"#,
                page.join(","),
                items.len()
            ),
        )
    }
}

/// An Atlas error answer: `status` with an `ApiError` body carrying `error_code`.
pub(crate) fn atlas_error(status: u16, error_code: &str) -> server::Reply {
    server::Reply::json(
        status,
        format!(r#"{{"detail":"x","error":{status},"errorCode":"{error_code}","reason":"x"}}"#),
    )
}

/// Polls every future in turn from one task, so all of them have started (and are waiting on the
/// network or a lock) before any of them can finish: the overlap is built in, not timed.
async fn join_all<F: Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut futures: Vec<Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, output) in futures.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    Poll::Ready(value) => *output = Some(value),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().flatten().collect()
}

#[tokio::test]
async fn debug_output_reveals_no_secret_and_no_token() {
    const TOKEN_VALUE: &str = "eyJhbGciOiJSUzI1NiJ9.secret-bearer-token";
    let server = TestServer::start(|request| match request.path.as_str() {
        TOKEN_PATH => server::token_reply(TOKEN_VALUE, 3600),
        _ => server::Reply::json(200, SPEC_EXAMPLE),
    })
    .await;
    let client = client(&server);
    let bearer = service_account();
    let (result, _) = list(&client, &bearer, far_deadline()).await;
    result.unwrap();

    let digest = api_key();
    let shown = format!("{client:?} {bearer:?} {digest:?} {bearer:#?} {digest:#?}");
    for secret in [
        CLIENT_SECRET,
        PRIVATE_KEY,
        TOKEN_VALUE,
        "secret-bearer-token",
    ] {
        assert!(!shown.contains(secret), "{secret} leaked into {shown}");
    }
    assert!(
        shown.contains(CLIENT_ID) && shown.contains(PUBLIC_KEY),
        "{shown}"
    );
    assert!(shown.contains("token_cached: Some(true)"), "{shown}");
}
