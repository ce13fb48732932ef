//! Routing and the endpoints: `POST /api/oauth/token`, `GET /api/atlas/v2/orgs/{orgId}/invites`,
//! `GET /api/atlas/v2/orgs/{orgId}/users` and `GET /api/atlas/v2/orgs`.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use http_body_util::{BodyExt as _, Limited};
use hyper::body::Incoming;
use hyper::header::{self, HeaderMap};
use hyper::{Method, Request, Response, StatusCode};

use super::digest::{DigestVerdict, challenge_header};
use super::listing::{
    InvalidQuery, ListedOrg, OrgMembers, OrgsQuery, UsersQuery, UsersVersion, organizations,
};
use super::response::{
    ATLAS_MEDIA_TYPE, DEPRECATION, DateStyle, Delivery, InvitationPage, ORG_USERS_MEDIA_TYPE,
    RATE_LIMIT_CAPACITY, Reply, SimBody, USER_RATE_LIMIT_CAPACITY, VERSION_GONE_DETAIL, api_error,
    api_error_with_parameters, html_error, json, json_pretty, oauth_error,
};
use super::state::{AuthKind, ConnectionControl, OrgState, RecordedRequest, Shared, State};
use super::world::{Behaviour, Fault, OrgRole, SimInvitation};

pub(super) const TOKEN_PATH: &str = "/api/oauth/token";
const ORGS_PATH: &str = "/api/atlas/v2/orgs";
/// A token request is a few dozen bytes; anything this large is not one.
const MAX_TOKEN_REQUEST_BYTES: usize = 16 * 1024;
const JSON: &str = "application/json";

/// What a request gets: an answer, nothing ever, or a reset connection.
enum Outcome {
    Reply(Reply),
    Hang,
    Reset,
}

impl From<Reply> for Outcome {
    fn from(reply: Reply) -> Outcome {
        Outcome::Reply(reply)
    }
}

/// A queued fault, sorted by how it is served.
enum FaultAction {
    Reply(Reply),
    Delay(Duration),
    Hang,
    Reset,
    /// A 200 whose body is spoiled; each endpoint spoils its own normal body.
    Spoil(Spoil),
}

#[derive(Debug, Clone, Copy)]
enum Spoil {
    MalformedJson,
    TruncatedJson,
    TruncatedBody,
    WrongShape,
    InvalidDates,
    Oversized(usize),
    ResetMidBody,
    Trickle(u32),
    Endless,
}

impl Spoil {
    /// The delivery of a spoil that leaves the body alone and ruins its transfer instead.
    fn delivery(self) -> Option<Delivery> {
        match self {
            Spoil::TruncatedBody => Some(Delivery::CutHalfway),
            Spoil::ResetMidBody => Some(Delivery::ResetHalfway),
            Spoil::Trickle(bytes_per_second) => Some(Delivery::Trickle { bytes_per_second }),
            Spoil::Endless => Some(Delivery::Endless),
            Spoil::MalformedJson
            | Spoil::TruncatedJson
            | Spoil::WrongShape
            | Spoil::InvalidDates
            | Spoil::Oversized(_) => None,
        }
    }
}

fn classify(fault: Fault) -> FaultAction {
    let status_or_500 =
        |status: u16| StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    match fault {
        Fault::Status {
            status,
            error_code,
            retry_after,
        } => {
            let status = status_or_500(status);
            let detail = format!("Simulated {} error.", status.as_u16());
            let mut reply = api_error(status, error_code.as_deref(), &detail);
            if let Some(retry_after) = retry_after {
                reply = reply.with_header(header::RETRY_AFTER, &retry_after);
            }
            FaultAction::Reply(reply)
        }
        Fault::Html { status } => FaultAction::Reply(html_error(status_or_500(status))),
        Fault::OAuthError { status, error } => {
            FaultAction::Reply(oauth_error(status_or_500(status), &error))
        }
        Fault::Delay(delay) => FaultAction::Delay(delay),
        Fault::Hang => FaultAction::Hang,
        Fault::Reset => FaultAction::Reset,
        Fault::ResetMidBody => FaultAction::Spoil(Spoil::ResetMidBody),
        Fault::Trickle { bytes_per_second } => FaultAction::Spoil(Spoil::Trickle(bytes_per_second)),
        Fault::Endless => FaultAction::Spoil(Spoil::Endless),
        Fault::MalformedJson => FaultAction::Spoil(Spoil::MalformedJson),
        Fault::TruncatedJson => FaultAction::Spoil(Spoil::TruncatedJson),
        Fault::TruncatedBody => FaultAction::Spoil(Spoil::TruncatedBody),
        Fault::WrongShape => FaultAction::Spoil(Spoil::WrongShape),
        Fault::InvalidDates => FaultAction::Spoil(Spoil::InvalidDates),
        Fault::Oversized { bytes } => FaultAction::Spoil(Spoil::Oversized(bytes)),
    }
}

/// Serves a queued fault, noting it in the request log: Some(outcome) to answer with, or None to carry
/// on (after any delay) with the spoil, if any, to apply to the normal body.
async fn serve_fault(
    call: Call<'_>,
    fault: Option<Fault>,
    spoil: &mut Option<Spoil>,
) -> Option<Outcome> {
    if let Some(fault) = &fault {
        call.shared.lock().set_fault(call.sequence, fault.clone());
    }
    match fault.map(classify) {
        None => None,
        Some(FaultAction::Reply(reply)) => Some(reply.into()),
        Some(FaultAction::Hang) => Some(Outcome::Hang),
        Some(FaultAction::Reset) => Some(Outcome::Reset),
        Some(FaultAction::Delay(delay)) => {
            tokio::time::sleep(delay).await;
            None
        }
        Some(FaultAction::Spoil(kind)) => {
            *spoil = Some(kind);
            None
        }
    }
}

/// Why a request got no answer: the connection is to be reset (an error makes hyper drop it at once).
#[derive(Debug, thiserror::Error)]
#[error("simulated connection reset")]
pub(super) struct ResetConnection;

/// The hyper service: logs the request, answers it, and records the status answered.
pub(super) async fn handle(
    request: Request<Incoming>,
    shared: Arc<Shared>,
    connection: Arc<ConnectionControl>,
) -> Result<Response<SimBody>, ResetConnection> {
    let path = request.uri().path().to_owned();
    let route = Route::of(&path);
    let gzip = accepts_gzip(request.headers());
    let sequence = shared.lock().record(RecordedRequest {
        method: request.method().as_str().to_owned(),
        path: path.clone(),
        query: request.uri().query().map(str::to_owned),
        auth: AuthKind::of(request.headers().get(header::AUTHORIZATION)),
        status: 0,
        org_id: match route {
            Route::Org { org_id, .. } => Some(org_id.to_owned()),
            _ => None,
        },
        credential: None,
        received_at: std::time::Instant::now(),
        fault: None,
    });
    let call = Call {
        shared: &shared,
        sequence,
    };

    let outcome = match route {
        Route::Token => token_endpoint(request, call).await,
        Route::Org {
            org_id,
            resource: OrgResource::Invites,
        } => invites_endpoint(request, call, org_id).await,
        Route::Org {
            org_id,
            resource: OrgResource::Users,
        } => users_endpoint(request, call, org_id).await,
        Route::ListOrgs => list_orgs_endpoint(request, call).await,
        Route::Unknown => api_error(
            StatusCode::NOT_FOUND,
            Some("RESOURCE_NOT_FOUND"),
            &format!("Cannot find resource {path}."),
        )
        .into(),
    };

    match outcome {
        Outcome::Reply(reply) => {
            shared.lock().set_status(sequence, reply.status.as_u16());
            tracing::debug!(target: "atlas_simulator", %path, status = reply.status.as_u16(), "answered");
            if reply.delivery == Delivery::ResetHalfway {
                connection.reset_on_close();
            }
            Ok(reply.into_response(gzip))
        }
        Outcome::Hang => {
            let never: Infallible = std::future::pending().await;
            match never {}
        }
        Outcome::Reset => {
            tracing::debug!(target: "atlas_simulator", %path, "resetting the connection");
            connection.reset_on_close();
            Err(ResetConnection)
        }
    }
}

/// The request being served: the shared state and its place in the request log.
#[derive(Clone, Copy)]
struct Call<'a> {
    shared: &'a Shared,
    sequence: u64,
}

impl Call<'_> {
    /// Checks the request's credentials and logs whose they are.
    fn authenticate(&self, request: &Request<Incoming>) -> Result<String, Reply> {
        let target = request
            .uri()
            .path_and_query()
            .map_or("", |target| target.as_str());
        let credential = authenticate(
            request.headers(),
            request.method().as_str(),
            target,
            self.shared,
        )?;
        self.shared
            .lock()
            .set_credential(self.sequence, &credential);
        Ok(credential)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OrgResource {
    Invites,
    Users,
}

impl OrgResource {
    fn suffix(self) -> &'static str {
        match self {
            OrgResource::Invites => "invites",
            OrgResource::Users => "users",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route<'a> {
    Token,
    ListOrgs,
    /// `{orgId}` as sent, even when it is not a valid id.
    Org {
        org_id: &'a str,
        resource: OrgResource,
    },
    Unknown,
}

impl Route<'_> {
    fn of(path: &str) -> Route<'_> {
        if path == TOKEN_PATH {
            return Route::Token;
        }
        if path == ORGS_PATH {
            return Route::ListOrgs;
        }
        let Some((org_id, suffix)) = path
            .strip_prefix(ORGS_PATH)
            .and_then(|rest| rest.strip_prefix('/'))
            .and_then(|rest| rest.split_once('/'))
        else {
            return Route::Unknown;
        };
        let resource = match suffix {
            "invites" => OrgResource::Invites,
            "users" => OrgResource::Users,
            _ => return Route::Unknown,
        };
        if org_id.is_empty() {
            return Route::Unknown;
        }
        Route::Org { org_id, resource }
    }
}

fn is_atlas_id(id: &str) -> bool {
    id.len() == 24
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|coding| {
            let mut parts = coding.split(';');
            let name = parts.next().unwrap_or("").trim();
            let refused = parts.any(|param| {
                let param = param.trim();
                param
                    .strip_prefix("q=")
                    .is_some_and(|q| q.trim().parse::<f32>().is_ok_and(|q| q <= 0.0))
            });
            name.eq_ignore_ascii_case("gzip") && !refused
        })
}

fn header_str(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

// ---------------------------------------------------------------------------------------------------
// POST /api/oauth/token
// ---------------------------------------------------------------------------------------------------

async fn token_endpoint(request: Request<Incoming>, call: Call<'_>) -> Outcome {
    let shared = call.shared;
    if request.method() != Method::POST {
        return api_error(
            StatusCode::METHOD_NOT_ALLOWED,
            Some("METHOD_NOT_ALLOWED"),
            "The token endpoint only accepts POST.",
        )
        .with_header(header::ALLOW, "POST")
        .into();
    }
    let client_id = basic_credentials(request.headers()).and_then(|(id, secret)| {
        let known = shared
            .lock()
            .service_accounts
            .iter()
            .any(|(known_id, known_secret)| *known_id == id && *known_secret == secret);
        known.then_some(id)
    });
    let Some(client_id) = client_id else {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client").into();
    };
    shared.lock().set_credential(call.sequence, &client_id);

    // Faults go to requests that would otherwise succeed, so scripting one never depends on credentials.
    let fault = shared.lock().token_faults.pop_front();
    let mut spoil = None;
    if let Some(outcome) = serve_fault(call, fault, &mut spoil).await {
        return outcome;
    }

    let form_content = header_str(request.headers(), header::CONTENT_TYPE)
        .and_then(|value| value.split(';').next())
        .is_some_and(|media_type| {
            media_type
                .trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !form_content {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request").into();
    }
    let Ok(collected) = Limited::new(request.into_body(), MAX_TOKEN_REQUEST_BYTES)
        .collect()
        .await
    else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request").into();
    };
    let Some(form) = parse_form(&collected.to_bytes()) else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request").into();
    };
    match form
        .iter()
        .find(|(key, _)| key == "grant_type")
        .map(|(_, value)| value.as_str())
    {
        Some("client_credentials") => {}
        Some(_) => return oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type").into(),
        None => return oauth_error(StatusCode::BAD_REQUEST, "invalid_request").into(),
    }

    let (lifetime, token) = {
        let mut state = shared.lock();
        let lifetime = state.token_lifetime.as_secs();
        // A spoiled answer hands out no usable token.
        let token = if spoil.is_some() {
            "spoiled".to_owned()
        } else {
            state.issue_token(&client_id)
        };
        (lifetime, token)
    };
    let normal = serde_json::json!({ "access_token": token, "expires_in": lifetime, "token_type": "Bearer" });
    let reply = match spoil {
        None => Reply::new(StatusCode::OK, JSON, json(&normal)),
        Some(kind) => spoiled_token_reply(kind, &normal),
    };
    reply
        .with_header(header::CACHE_CONTROL, "no-store")
        .with_header(header::PRAGMA, "no-cache")
        .into()
}

fn spoiled_token_reply(kind: Spoil, normal: &serde_json::Value) -> Reply {
    let body = match kind {
        Spoil::MalformedJson => b"{\"access_token\": \"spoiled\" \"expires_in\": 3600,}".to_vec(),
        Spoil::TruncatedJson => {
            let mut body = json(normal);
            body.truncate(body.len() / 2);
            body
        }
        Spoil::TruncatedBody | Spoil::ResetMidBody | Spoil::Trickle(_) | Spoil::Endless => {
            json(normal)
        }
        Spoil::WrongShape => json(&serde_json::json!([normal])),
        Spoil::InvalidDates => json(
            &serde_json::json!({ "access_token": "spoiled", "expires_in": "one hour", "token_type": "Bearer" }),
        ),
        Spoil::Oversized(bytes) => {
            let mut body = json(normal);
            let closing = body.pop().unwrap_or(b'}');
            body.resize(bytes.max(body.len() + 1) - 1, b' ');
            body.push(closing);
            body
        }
    };
    let mut reply = Reply::new(StatusCode::OK, JSON, body);
    reply.delivery = kind.delivery().unwrap_or_default();
    reply
}

/// (client_id, client_secret) from `Authorization: Basic`, decoded exactly as sent (no URL-decoding).
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = header_str(headers, header::AUTHORIZATION)?.trim();
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((id.to_owned(), secret.to_owned()))
}

/// `application/x-www-form-urlencoded` pairs; None when a byte sequence does not decode.
fn parse_form(body: &[u8]) -> Option<Vec<(String, String)>> {
    let text = std::str::from_utf8(body).ok()?;
    text.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            Some((percent_decode(key)?, percent_decode(value)?))
        })
        .collect()
}

fn percent_decode(input: &str) -> Option<String> {
    let bytes = input.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes.get(index + 1..index + 3)?;
                let hex = std::str::from_utf8(hex).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                index += 2;
            }
            other => out.push(other),
        }
        index += 1;
    }
    String::from_utf8(out).ok()
}

// ---------------------------------------------------------------------------------------------------
// GET /api/atlas/v2/orgs/{orgId}/invites
// ---------------------------------------------------------------------------------------------------

/// 405 for anything but GET, 400 for an org id Atlas would refuse.
fn refuse_method_or_id(request: &Request<Incoming>, org_id: &str) -> Option<Reply> {
    if request.method() != Method::GET {
        // Atlas's code for this is unconfirmed (the spec's 405 example is unrelated); the exporter only GETs.
        return Some(
            api_error(
                StatusCode::METHOD_NOT_ALLOWED,
                Some("METHOD_NOT_ALLOWED"),
                "This simulator only serves GET on this resource.",
            )
            .with_header(header::ALLOW, "GET"),
        );
    }
    if !is_atlas_id(org_id) {
        return Some(api_error(
            StatusCode::BAD_REQUEST,
            Some("VALIDATION_ERROR"),
            &format!("Invalid organization ID {org_id}: it must be a 24-hexadecimal digit string."),
        ));
    }
    None
}

fn not_acceptable() -> Reply {
    // The code string comes from third-party observations only (reference §3); the status is documented.
    api_error(
        StatusCode::NOT_ACCEPTABLE,
        Some("INVALID_VERSION_DATE"),
        "Invalid accept header or version date.",
    )
}

fn invalid_query(InvalidQuery(detail): InvalidQuery) -> Reply {
    api_error(StatusCode::BAD_REQUEST, Some("VALIDATION_ERROR"), &detail)
}

/// The decoded query pairs, or a 400 when a percent-escape does not decode.
fn query_pairs(request: &Request<Incoming>) -> Result<Vec<(String, String)>, Reply> {
    match request.uri().query() {
        None => Ok(Vec::new()),
        Some(query) => parse_form(query.as_bytes()).ok_or_else(|| {
            invalid_query(InvalidQuery(
                "The query string is not valid percent-encoded UTF-8.".to_owned(),
            ))
        }),
    }
}

/// The org-level checks every org path makes once the caller is authenticated and no fault was served:
/// unknown org (404), sunset invitations endpoint (410), deleted org (404), a credential outside the org
/// (401), a Member on the invitations endpoint (403), then the org's behaviour (not for a spoiled answer).
fn admit<'s>(
    state: &'s mut State,
    org_id: &str,
    credential: &str,
    resource: OrgResource,
    spoiled: bool,
) -> Result<&'s mut OrgState, Reply> {
    let role = state.role_of(credential, org_id);
    let not_found = || {
        api_error(
            StatusCode::NOT_FOUND,
            Some("RESOURCE_NOT_FOUND"),
            &format!("Cannot find resource organization {org_id}."),
        )
    };
    let Some(org) = state.orgs.get_mut(org_id) else {
        return Err(not_found());
    };
    // A sunset version is refused whoever asks, so before any question of roles (unconfirmed order).
    if resource == OrgResource::Invites && org.invites_gone {
        return Err(api_error(
            StatusCode::GONE,
            Some("VERSION_GONE"),
            VERSION_GONE_DETAIL,
        ));
    }
    if org.is_deleted {
        return Err(not_found());
    }
    match role {
        // What Atlas answers for an org the credential does not belong to is unconfirmed (reference §3
        // lists 401/403/404 and NOT_IN_GROUP-style codes); 401 USER_UNAUTHORIZED with this detail is the
        // best-evidenced "not authorized" pair, and a 401 never reads as "lacks the Owner role".
        None => {
            return Err(api_error(
                StatusCode::UNAUTHORIZED,
                Some("USER_UNAUTHORIZED"),
                "Current user is not authorized to perform this action.",
            ));
        }
        Some(OrgRole::Member) if resource == OrgResource::Invites => {
            return Err(api_error(
                StatusCode::FORBIDDEN,
                Some("USER_UNAUTHORIZED"),
                "Current user is not authorized to perform this action: this resource requires the Organization Owner role.",
            ));
        }
        Some(OrgRole::Member | OrgRole::Owner) => {}
    }
    if !spoiled {
        let resource_path = format!("api/atlas/v2/orgs/{org_id}/{}", resource.suffix());
        if let Some(refusal) =
            apply_behaviour(&resource_path, org.behaviour, &mut org.behaviour_calls)
        {
            return Err(refusal);
        }
    }
    Ok(org)
}

/// The org's next queued fault, if any, for its invites or users path.
fn take_org_fault(shared: &Shared, org_id: &str) -> Option<Fault> {
    shared
        .lock()
        .orgs
        .get_mut(org_id)
        .and_then(|org| org.faults.pop_front())
}

fn rate_limit_headers(reply: Reply, capacity: u32, remaining: u32) -> Reply {
    reply
        .with_header(
            header::HeaderName::from_static("ratelimit-limit"),
            &capacity.to_string(),
        )
        .with_header(
            header::HeaderName::from_static("ratelimit-remaining"),
            &remaining.to_string(),
        )
}

/// A paginated listing, normal or spoiled the way a fault asks. `render` builds the envelope with
/// proper or invalid dates.
fn listing_reply(
    content_type: &'static str,
    spoil: Option<Spoil>,
    pretty: bool,
    render: impl Fn(DateStyle) -> serde_json::Value,
) -> Reply {
    let mut reply = Reply::new(StatusCode::OK, content_type, Vec::new());
    reply.body = match spoil {
        None if pretty => json_pretty(&render(DateStyle::Rfc3339)),
        None => json(&render(DateStyle::Rfc3339)),
        Some(Spoil::MalformedJson) => format!(
            "{{\"links\": [], \"results\": [{{\"id\": \"{}\",}}], \"totalCount\": 1}}",
            "0".repeat(24)
        )
        .into_bytes(),
        Some(Spoil::TruncatedJson) => {
            let mut body = json(&render(DateStyle::Rfc3339));
            body.truncate(body.len() / 2);
            body
        }
        Some(
            kind
            @ (Spoil::TruncatedBody | Spoil::ResetMidBody | Spoil::Trickle(_) | Spoil::Endless),
        ) => {
            reply.delivery = kind.delivery().unwrap_or_default();
            json(&render(DateStyle::Rfc3339))
        }
        // The bare array, as `/invites` answers.
        Some(Spoil::WrongShape) => json(&render(DateStyle::Rfc3339)["results"]),
        Some(Spoil::InvalidDates) => json(&render(DateStyle::Invalid)),
        Some(Spoil::Oversized(bytes)) => {
            let mut body = json(&render(DateStyle::Rfc3339));
            let closing = body.pop().unwrap_or(b'}');
            body.resize(bytes.max(body.len() + 1) - 1, b' ');
            body.push(closing);
            body
        }
    };
    reply
}

// ---------------------------------------------------------------------------------------------------
// GET /api/atlas/v2/orgs/{orgId}/invites
// ---------------------------------------------------------------------------------------------------

async fn invites_endpoint(request: Request<Incoming>, call: Call<'_>, org_id: &str) -> Outcome {
    let shared = call.shared;
    if let Some(refusal) = refuse_method_or_id(&request, org_id) {
        return refusal.into();
    }
    if header_str(request.headers(), header::ACCEPT).map(str::trim) != Some(ATLAS_MEDIA_TYPE) {
        return not_acceptable().into();
    }
    let credential = match call.authenticate(&request) {
        Ok(credential) => credential,
        Err(refusal) => return refusal.into(),
    };
    let query = Query::parse(request.uri().query());
    if let Some(username) = &query.username
        && !username.contains('@')
    {
        return api_error(
            StatusCode::BAD_REQUEST,
            Some("VALIDATION_ERROR"),
            "Request query parameter username must be an email address.",
        )
        .into();
    }

    let mut spoil = None;
    if let Some(outcome) = serve_fault(call, take_org_fault(shared, org_id), &mut spoil).await {
        return outcome;
    }

    let (org_name, invitations, remaining, sunset) = {
        let mut state = shared.lock();
        let sunset = state.invites_sunset.clone();
        let org = match admit(
            &mut state,
            org_id,
            &credential,
            OrgResource::Invites,
            spoil.is_some(),
        ) {
            Ok(org) => org,
            Err(refusal) => return refusal.into(),
        };
        let invitations: Vec<SimInvitation> = org
            .invitations
            .iter()
            .filter(|invitation| {
                query
                    .username
                    .as_ref()
                    .is_none_or(|wanted| invitation.username.eq_ignore_ascii_case(wanted))
            })
            .cloned()
            .collect();
        (org.name.clone(), invitations, org.bucket.take(), sunset)
    };

    let page = InvitationPage {
        base_url: &shared.base_url,
        org_id,
        org_name: &org_name,
        invitations: &invitations,
        now: jiff::Timestamp::now(),
    };
    let mut reply = Reply::new(StatusCode::OK, ATLAS_MEDIA_TYPE, Vec::new());
    reply.body = match spoil {
        None => page.body(query.pretty),
        Some(Spoil::MalformedJson) => page.malformed_body(),
        Some(Spoil::TruncatedJson) => {
            let mut body = page.body(false);
            body.truncate(body.len() / 2);
            body
        }
        Some(
            kind
            @ (Spoil::TruncatedBody | Spoil::ResetMidBody | Spoil::Trickle(_) | Spoil::Endless),
        ) => {
            reply.delivery = kind.delivery().unwrap_or_default();
            page.body(false)
        }
        Some(Spoil::WrongShape) => page.wrong_shape_body(),
        Some(Spoil::InvalidDates) => page.invalid_dates_body(),
        Some(Spoil::Oversized(bytes)) => page.oversized_body(bytes),
    };
    // Only this deprecated endpoint announces its end; `Deprecation` stays fixed because clients only
    // need to see that it is there.
    if let Some(sunset) = sunset {
        reply = reply
            .with_header(header::HeaderName::from_static("deprecation"), DEPRECATION)
            .with_header(header::HeaderName::from_static("sunset"), &sunset);
    }
    rate_limit_headers(reply, RATE_LIMIT_CAPACITY, remaining).into()
}

// ---------------------------------------------------------------------------------------------------
// GET /api/atlas/v2/orgs/{orgId}/users
// ---------------------------------------------------------------------------------------------------

async fn users_endpoint(request: Request<Incoming>, call: Call<'_>, org_id: &str) -> Outcome {
    let shared = call.shared;
    if let Some(refusal) = refuse_method_or_id(&request, org_id) {
        return refusal.into();
    }
    let (version, content_type) = match header_str(request.headers(), header::ACCEPT).map(str::trim)
    {
        Some(ORG_USERS_MEDIA_TYPE) => (UsersVersion::WithPending, ORG_USERS_MEDIA_TYPE),
        Some(ATLAS_MEDIA_TYPE) => (UsersVersion::ActiveOnly, ATLAS_MEDIA_TYPE),
        _ => return not_acceptable().into(),
    };
    let credential = match call.authenticate(&request) {
        Ok(credential) => credential,
        Err(refusal) => return refusal.into(),
    };
    let pairs = match query_pairs(&request) {
        Ok(pairs) => pairs,
        Err(refusal) => return refusal.into(),
    };
    let legacy = shared
        .lock()
        .orgs
        .get(org_id)
        .is_some_and(|org| org.legacy_status_filter);
    let query = match UsersQuery::parse(&pairs, version, legacy) {
        Ok(query) => query,
        Err(invalid) => return invalid_query(invalid).into(),
    };

    let mut spoil = None;
    if let Some(outcome) = serve_fault(call, take_org_fault(shared, org_id), &mut spoil).await {
        return outcome;
    }

    let (invitations, active_users, rejected, legacy, remaining) = {
        let mut state = shared.lock();
        let org = match admit(
            &mut state,
            org_id,
            &credential,
            OrgResource::Users,
            spoil.is_some(),
        ) {
            Ok(org) => org,
            Err(refusal) => return refusal.into(),
        };
        (
            org.invitations.clone(),
            org.active_users,
            org.rejected,
            org.legacy_status_filter,
            org.users_bucket.take(),
        )
    };

    let members = OrgMembers {
        base_url: &shared.base_url,
        org_id,
        invitations: &invitations,
        active_users,
        rejected,
        legacy,
        now: jiff::Timestamp::now(),
    };
    let raw_query = request.uri().query();
    let reply = listing_reply(
        content_type,
        spoil,
        query.page.pretty,
        |dates| match version {
            UsersVersion::WithPending => members.with_pending(&query, raw_query, dates),
            UsersVersion::ActiveOnly => members.active_only(&query, raw_query, dates),
        },
    );
    rate_limit_headers(reply, RATE_LIMIT_CAPACITY, remaining).into()
}

// ---------------------------------------------------------------------------------------------------
// GET /api/atlas/v2/orgs
// ---------------------------------------------------------------------------------------------------

async fn list_orgs_endpoint(request: Request<Incoming>, call: Call<'_>) -> Outcome {
    let shared = call.shared;
    if request.method() != Method::GET {
        return api_error(
            StatusCode::METHOD_NOT_ALLOWED,
            Some("METHOD_NOT_ALLOWED"),
            "This simulator only serves GET on this resource.",
        )
        .with_header(header::ALLOW, "GET")
        .into();
    }
    if header_str(request.headers(), header::ACCEPT).map(str::trim) != Some(ATLAS_MEDIA_TYPE) {
        return not_acceptable().into();
    }
    let credential = match call.authenticate(&request) {
        Ok(credential) => credential,
        Err(refusal) => return refusal.into(),
    };
    let query = match query_pairs(&request)
        .and_then(|pairs| OrgsQuery::parse(&pairs).map_err(invalid_query))
    {
        Ok(query) => query,
        Err(refusal) => return refusal.into(),
    };

    let fault = shared.lock().list_orgs_faults.pop_front();
    let mut spoil = None;
    if let Some(outcome) = serve_fault(call, fault, &mut spoil).await {
        return outcome;
    }

    let (orgs, remaining) = {
        let mut state = shared.lock();
        let mut orgs: Vec<ListedOrg> = state
            .orgs
            .iter()
            .filter(|(id, _)| state.role_of(&credential, id).is_some())
            .map(|(id, org)| ListedOrg {
                id: id.clone(),
                name: org.name.clone(),
                is_deleted: org.is_deleted,
            })
            .collect();
        // Ids sort by creation time in Atlas (ObjectIds), which gives pages a stable order.
        orgs.sort_by(|a, b| a.id.cmp(&b.id));
        (orgs, state.take_user_token(&credential))
    };

    let raw_query = request.uri().query();
    let reply = listing_reply(ATLAS_MEDIA_TYPE, spoil, query.page.pretty, |dates| {
        organizations(&shared.base_url, &orgs, &query, raw_query, dates)
    });
    rate_limit_headers(reply, USER_RATE_LIMIT_CAPACITY, remaining).into()
}

/// The credential (client_id or public key) when the request may proceed; otherwise the refusal.
fn authenticate(
    headers: &HeaderMap,
    method: &str,
    target: &str,
    shared: &Shared,
) -> Result<String, Reply> {
    let authorization = headers.get(header::AUTHORIZATION);
    match AuthKind::of(authorization) {
        AuthKind::Bearer => {
            let token = authorization
                .and_then(|value| value.to_str().ok())
                .and_then(|value| value.trim().split_once(' '))
                .map_or("", |(_, token)| token.trim());
            let owner = shared.lock().token_owner(token).map(str::to_owned);
            // Atlas's code for an expired or unknown token is unconfirmed (reference §6); this one is
            // documented for "not authorized" on other endpoints (reference §3).
            owner.ok_or_else(|| {
                api_error(
                    StatusCode::UNAUTHORIZED,
                    Some("USER_UNAUTHORIZED"),
                    "Invalid or expired access token.",
                )
            })
        }
        AuthKind::Digest => {
            let value = authorization
                .and_then(|value| value.to_str().ok())
                .unwrap_or("");
            let mut state = shared.lock();
            let State {
                nonces,
                api_keys,
                nonce_max_uses,
                ..
            } = &mut *state;
            match nonces.verify(value, method, target, api_keys, *nonce_max_uses) {
                DigestVerdict::Authorised { public_key } => Ok(public_key),
                DigestVerdict::Challenge { stale } => Err(digest_challenge(&nonces.issue(), stale)),
                DigestVerdict::UriMismatch => Err(api_error(
                    StatusCode::BAD_REQUEST,
                    Some("VALIDATION_ERROR"),
                    "The Digest uri does not match the request target.",
                )),
            }
        }
        AuthKind::None | AuthKind::Basic | AuthKind::Other => {
            let nonce = shared.lock().nonces.issue();
            Err(digest_challenge(&nonce, false))
        }
    }
}

/// Atlas's 401 for missing or wrong Digest credentials: a challenge and a body without errorCode.
fn digest_challenge(nonce: &str, stale: bool) -> Reply {
    api_error(
        StatusCode::UNAUTHORIZED,
        None,
        "You are not authorized for this resource.",
    )
    .with_header(header::WWW_AUTHENTICATE, &challenge_header(nonce, stale))
}

/// The refusal an org's behaviour calls for, if any; `resource` is the path without its leading slash.
fn apply_behaviour(resource: &str, behaviour: Behaviour, calls: &mut u64) -> Option<Reply> {
    *calls = calls.saturating_add(1);
    match behaviour {
        Behaviour::Normal => None,
        // The exact code Atlas sends when the credential lacks Organization Owner is unconfirmed
        // (reference §3); USER_UNAUTHORIZED and this detail are the documented "not authorized" pair.
        Behaviour::Forbidden => Some(api_error(
            StatusCode::FORBIDDEN,
            Some("USER_UNAUTHORIZED"),
            "Current user is not authorized to perform this action.",
        )),
        Behaviour::RateLimitedEvery {
            n,
            retry_after_secs,
        } => {
            if n == 0 || !calls.is_multiple_of(u64::from(n)) {
                return None;
            }
            let wait = retry_after_secs.map_or(String::new(), |secs| {
                format!(" Please retry after {secs} seconds.")
            });
            let detail = format!(
                "Rate limit exceeded for {resource}.{wait} Request capacity: {RATE_LIMIT_CAPACITY}. Refill rate: 250 per 60 seconds."
            );
            let parameters =
                serde_json::json!([resource, retry_after_secs, RATE_LIMIT_CAPACITY, 250, 60]);
            let mut reply = api_error_with_parameters(
                StatusCode::TOO_MANY_REQUESTS,
                Some("RATE_LIMITED_TOKEN_BUCKET"),
                &detail,
                Some(parameters),
            )
            .with_header(
                header::HeaderName::from_static("ratelimit-limit"),
                &RATE_LIMIT_CAPACITY.to_string(),
            )
            .with_header(header::HeaderName::from_static("ratelimit-remaining"), "0");
            if let Some(secs) = retry_after_secs {
                reply = reply.with_header(header::RETRY_AFTER, &secs.to_string());
            }
            Some(reply)
        }
    }
}

/// The query parameters listOrgInvites knows; `envelope` is ignored (its shape is unconfirmed).
#[derive(Debug, Default)]
struct Query {
    pretty: bool,
    username: Option<String>,
}

impl Query {
    fn parse(query: Option<&str>) -> Query {
        let mut parsed = Query::default();
        let pairs = query
            .and_then(|query| parse_form(query.as_bytes()))
            .unwrap_or_default();
        for (key, value) in pairs {
            match key.as_str() {
                "pretty" => parsed.pretty = value.eq_ignore_ascii_case("true"),
                "username" => parsed.username = Some(value),
                _ => {}
            }
        }
        parsed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::HeaderValue;
    use proptest::prelude::*;

    #[test]
    fn paths_are_recognised_only_exactly() {
        let org = |org_id, resource| Route::Org { org_id, resource };
        assert_eq!(
            Route::of("/api/atlas/v2/orgs/6523f1a0c8e4b2d9f0a1b001/invites"),
            org("6523f1a0c8e4b2d9f0a1b001", OrgResource::Invites)
        );
        assert_eq!(
            Route::of("/api/atlas/v2/orgs/6523f1a0c8e4b2d9f0a1b001/users"),
            org("6523f1a0c8e4b2d9f0a1b001", OrgResource::Users)
        );
        assert_eq!(
            Route::of("/api/atlas/v2/orgs/not-an-id/invites"),
            org("not-an-id", OrgResource::Invites)
        );
        assert_eq!(Route::of("/api/atlas/v2/orgs"), Route::ListOrgs);
        assert_eq!(Route::of("/api/oauth/token"), Route::Token);
        for unknown in [
            "/api/atlas/v2/orgs/",
            "/api/atlas/v2/orgs//invites",
            "/api/atlas/v2/orgs/a/b/invites",
            "/api/atlas/v2/orgs/a/invites/",
            "/api/atlas/v2/orgs/a/users/b",
            "/api/atlas/v2/orgs/a/teams",
            "/api/atlas/v2/orgsx/a/users",
        ] {
            assert_eq!(Route::of(unknown), Route::Unknown, "{unknown}");
        }
        assert!(is_atlas_id("6523f1a0c8e4b2d9f0a1b001"));
        assert!(!is_atlas_id("6523F1A0C8E4B2D9F0A1B001"));
        assert!(!is_atlas_id("6523f1a0c8e4b2d9f0a1b00"));
    }

    #[test]
    fn gzip_is_chosen_only_when_accepted() {
        let with = |value: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::ACCEPT_ENCODING, HeaderValue::from_static(value));
            accepts_gzip(&headers)
        };
        assert!(with("gzip"));
        assert!(with("br, GZIP;q=0.5"));
        assert!(!with("gzip;q=0"));
        assert!(!with("identity"));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }

    #[test]
    fn basic_credentials_are_not_url_decoded() {
        let mut headers = HeaderMap::new();
        let encoded = base64::engine::general_purpose::STANDARD.encode("mdb_sa_id_x:se:cr%5Fet");
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&format!("Basic {encoded}")).unwrap(),
        );
        assert_eq!(
            basic_credentials(&headers),
            Some(("mdb_sa_id_x".to_owned(), "se:cr%5Fet".to_owned()))
        );
    }

    #[test]
    fn form_decoding() {
        assert_eq!(
            parse_form(b"grant_type=client_credentials&scope=a+b%2Fc"),
            Some(vec![
                ("grant_type".to_owned(), "client_credentials".to_owned()),
                ("scope".to_owned(), "a b/c".to_owned())
            ])
        );
        assert_eq!(parse_form(b"a=%zz"), None);
        assert_eq!(parse_form(b"a=%4"), None);
        assert_eq!(
            parse_form(b"a=%C3%A9"),
            Some(vec![("a".to_owned(), "é".to_owned())])
        );
    }

    #[test]
    fn rate_limited_every_third_call() {
        let behaviour = Behaviour::RateLimitedEvery {
            n: 3,
            retry_after_secs: None,
        };
        let mut calls = 0;
        let statuses: Vec<bool> = (0..6)
            .map(|_| apply_behaviour("api/atlas/v2/orgs/x/users", behaviour, &mut calls).is_some())
            .collect();
        assert_eq!(statuses, [false, false, true, false, false, true]);
        let reply = apply_behaviour(
            "x",
            Behaviour::RateLimitedEvery {
                n: 1,
                retry_after_secs: None,
            },
            &mut calls,
        )
        .unwrap();
        assert!(
            reply
                .headers
                .iter()
                .all(|(name, _)| name != header::RETRY_AFTER)
        );
        let never = Behaviour::RateLimitedEvery {
            n: 0,
            retry_after_secs: None,
        };
        assert!((0..5).all(|_| apply_behaviour("x", never, &mut calls).is_none()));
    }

    #[test]
    fn spoiled_oversized_token_has_the_size_asked_for() {
        let normal =
            serde_json::json!({ "access_token": "t", "expires_in": 3600, "token_type": "Bearer" });
        let reply = spoiled_token_reply(Spoil::Oversized(4096), &normal);
        assert_eq!(reply.body.len(), 4096);
        let parsed: serde_json::Value = serde_json::from_slice(&reply.body).unwrap();
        assert_eq!(parsed, normal);
    }

    proptest! {
        #[test]
        fn parsers_never_panic(input in "\\PC{0,100}") {
            let _ = parse_form(input.as_bytes());
            let _ = Query::parse(Some(&input));
            let _ = Route::of(&input);
            let pairs = parse_form(input.as_bytes()).unwrap_or_default();
            for legacy in [false, true] {
                let _ = UsersQuery::parse(&pairs, UsersVersion::WithPending, legacy);
            }
            let _ = OrgsQuery::parse(&pairs);
        }
    }
}
