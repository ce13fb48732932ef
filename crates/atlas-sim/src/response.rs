//! Atlas-shaped response bodies (invitations, ApiError, OAuth errors, faults) and their HTTP encoding;
//! the paginated listings have their own module.

use std::future::Future as _;
use std::io::Write as _;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use flate2::Compression;
use flate2::write::GzEncoder;
use hyper::body::{Body, Frame, SizeHint};
use hyper::header::{self, HeaderName, HeaderValue};
use hyper::{Response, StatusCode};
use jiff::Timestamp;
use serde::Serialize;
use tokio::time::Sleep;

use crate::world::SimInvitation;

const JSON: &str = "application/json";

/// How long a reset mid-body waits after sending the first half: enough for any client to have read
/// the status line and headers, so the failure is one of the body, not of the request.
const RESET_PAUSE: Duration = Duration::from_millis(100);
/// What an endless body repeats: one plausible invitation, and the comma that promises another.
const ENDLESS_ITEM: &[u8] = br#"{"id":"000000000000000000000000","createdAt":"2024-01-01T00:00:00Z","expiresAt":"2024-01-31T00:00:00Z","roles":["ORG_MEMBER"]},"#;
/// The size of each chunk of an endless body.
const ENDLESS_CHUNK_BYTES: usize = 64 * 1024;

/// How a reply's body goes over the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Delivery {
    /// All of it, gzipped when the client accepts gzip.
    #[default]
    Whole,
    /// Content-Length promises the whole body; half of it is sent, then the connection is closed (FIN).
    CutHalfway,
    /// Content-Length promises the whole body; half of it is sent, then, after [`RESET_PAUSE`], the
    /// connection is reset (RST). The caller marks the connection for a reset (see `ConnectionControl`).
    ResetHalfway,
    /// The whole body with its Content-Length, `bytes_per_second` bytes a second, never gzipped.
    Trickle { bytes_per_second: u32 },
    /// A chunked JSON array that never ends, never gzipped; the reply's own body is not sent.
    Endless,
}

/// One answer, before transfer encoding.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) content_type: &'static str,
    pub(crate) headers: Vec<(HeaderName, HeaderValue)>,
    pub(crate) body: Vec<u8>,
    pub(crate) delivery: Delivery,
}

impl Reply {
    pub(crate) fn new(status: StatusCode, content_type: &'static str, body: Vec<u8>) -> Reply {
        Reply {
            status,
            content_type,
            headers: Vec::new(),
            body,
            delivery: Delivery::Whole,
        }
    }

    /// Adds a header; a value that is not a valid header value (only possible from a scripted fault) is left out.
    pub(crate) fn with_header(mut self, name: HeaderName, value: &str) -> Reply {
        if let Ok(value) = HeaderValue::from_str(value) {
            self.headers.push((name, value));
        }
        self
    }

    /// The hyper response, gzipped when the client accepts it and the delivery allows it.
    pub(crate) fn into_response(self, gzip: bool) -> Response<SimBody> {
        let mut builder = Response::builder()
            .status(self.status)
            .header(header::CONTENT_TYPE, self.content_type);
        for (name, value) in self.headers {
            builder = builder.header(name, value);
        }
        let mut body = self.body;
        let compressible = matches!(
            self.delivery,
            Delivery::Whole | Delivery::CutHalfway | Delivery::ResetHalfway
        );
        if gzip && compressible && !body.is_empty() {
            body = gzip_bytes(&body);
            builder = builder
                .header(header::CONTENT_ENCODING, "gzip")
                .header(header::VARY, "accept-encoding");
        }
        let body = match self.delivery {
            Delivery::Whole => SimBody::whole(Bytes::from(body)),
            Delivery::CutHalfway | Delivery::ResetHalfway => {
                builder = builder.header(header::CONTENT_LENGTH, body.len());
                let half = body.len() / 2;
                body.truncate(half);
                let pause = (self.delivery == Delivery::ResetHalfway).then_some(RESET_PAUSE);
                SimBody::cut_after(Bytes::from(body), pause)
            }
            Delivery::Trickle { bytes_per_second } => {
                builder = builder.header(header::CONTENT_LENGTH, body.len());
                SimBody::trickle(Bytes::from(body), bytes_per_second)
            }
            Delivery::Endless => SimBody::endless(),
        };
        builder.body(body).unwrap_or_else(|_| {
            // Only a header we built wrongly can get here; answer rather than panic.
            let mut fallback = Response::new(SimBody::whole(Bytes::new()));
            *fallback.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
            fallback
        })
    }
}

/// A response body: whole, cut off with an error so that hyper drops the connection mid-body,
/// trickled, or endless.
#[derive(Debug)]
pub(crate) struct SimBody {
    kind: BodyKind,
}

#[derive(Debug)]
enum BodyKind {
    Whole(Option<Bytes>),
    Cut {
        data: Option<Bytes>,
        /// Wait this long before failing. Without a pause, the body still yields once before failing:
        /// hyper flushes what it has buffered only when the body is pending, and an immediate error
        /// would drop the headers and the half body with the connection.
        pause: Option<Duration>,
        timer: Option<Pin<Box<Sleep>>>,
        yielded: bool,
        failed: bool,
    },
    Trickle {
        rest: Bytes,
        bytes_per_tick: usize,
        /// None until the first bytes are sent, which go at once.
        next_tick: Option<Pin<Box<Sleep>>>,
    },
    Endless {
        opened: bool,
        chunk: Bytes,
    },
}

impl SimBody {
    pub(crate) fn whole(data: Bytes) -> SimBody {
        SimBody {
            kind: BodyKind::Whole(Some(data)),
        }
    }

    fn cut_after(data: Bytes, pause: Option<Duration>) -> SimBody {
        SimBody {
            kind: BodyKind::Cut {
                data: Some(data),
                pause,
                timer: None,
                yielded: false,
                failed: false,
            },
        }
    }

    fn trickle(data: Bytes, bytes_per_second: u32) -> SimBody {
        SimBody {
            kind: BodyKind::Trickle {
                rest: data,
                bytes_per_tick: usize::try_from(bytes_per_second.max(1)).unwrap_or(1),
                next_tick: None,
            },
        }
    }

    fn endless() -> SimBody {
        let items = ENDLESS_CHUNK_BYTES / ENDLESS_ITEM.len();
        SimBody {
            kind: BodyKind::Endless {
                opened: false,
                chunk: Bytes::from(ENDLESS_ITEM.repeat(items.max(1))),
            },
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("simulated connection cut in the middle of the body")]
pub(crate) struct CutBody;

impl Body for SimBody {
    type Data = Bytes;
    type Error = CutBody;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, CutBody>>> {
        match &mut self.kind {
            BodyKind::Whole(data) => match data.take() {
                Some(data) if !data.is_empty() => Poll::Ready(Some(Ok(Frame::data(data)))),
                _ => Poll::Ready(None),
            },
            BodyKind::Cut {
                data,
                pause,
                timer,
                yielded,
                failed,
            } => {
                if let Some(data) = data.take()
                    && !data.is_empty()
                {
                    return Poll::Ready(Some(Ok(Frame::data(data))));
                }
                if *failed {
                    return Poll::Ready(None);
                }
                if let Some(pause) = *pause {
                    let timer = timer.get_or_insert_with(|| Box::pin(tokio::time::sleep(pause)));
                    if timer.as_mut().poll(cx).is_pending() {
                        return Poll::Pending;
                    }
                } else if !*yielded {
                    *yielded = true;
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
                *failed = true;
                Poll::Ready(Some(Err(CutBody)))
            }
            BodyKind::Trickle {
                rest,
                bytes_per_tick,
                next_tick,
            } => {
                if rest.is_empty() {
                    return Poll::Ready(None);
                }
                if let Some(tick) = next_tick
                    && tick.as_mut().poll(cx).is_pending()
                {
                    return Poll::Pending;
                }
                let sent = rest.split_to((*bytes_per_tick).min(rest.len()));
                *next_tick = Some(Box::pin(tokio::time::sleep(Duration::from_secs(1))));
                Poll::Ready(Some(Ok(Frame::data(sent))))
            }
            BodyKind::Endless { opened, chunk } => {
                if !*opened {
                    *opened = true;
                    return Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(b"[")))));
                }
                // Cloning Bytes shares the buffer: an endless body costs the simulator no memory.
                Poll::Ready(Some(Ok(Frame::data(chunk.clone()))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            BodyKind::Whole(data) => data.as_ref().is_none_or(Bytes::is_empty),
            BodyKind::Cut { data, failed, .. } => data.is_none() && *failed,
            BodyKind::Trickle { rest, .. } => rest.is_empty(),
            BodyKind::Endless { .. } => false,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            BodyKind::Whole(Some(data)) => SizeHint::with_exact(data.len() as u64),
            BodyKind::Whole(None) => SizeHint::with_exact(0),
            // Unknown, so that hyper keeps the Content-Length header we set (or streams chunked).
            _ => SizeHint::default(),
        }
    }
}

fn gzip_bytes(data: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::with_capacity(data.len() / 4 + 32), Compression::fast());
    // Writing into a Vec cannot fail.
    encoder
        .write_all(data)
        .and_then(|()| encoder.finish())
        .unwrap_or_default()
}

/// Serialises a value we built ourselves; serde_json fails only on non-string map keys, which we never use.
pub(crate) fn json<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec())
}

pub(crate) fn json_pretty<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec_pretty(value).unwrap_or_else(|_| b"{}".to_vec())
}

/// Atlas's `ApiError` body.
#[derive(Debug, Serialize)]
struct ApiError<'a> {
    detail: &'a str,
    error: u16,
    #[serde(rename = "errorCode", skip_serializing_if = "Option::is_none")]
    error_code: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    parameters: Option<serde_json::Value>,
    reason: &'a str,
}

/// An ApiError reply with `application/json`.
pub(crate) fn api_error(status: StatusCode, error_code: Option<&str>, detail: &str) -> Reply {
    api_error_with_parameters(status, error_code, detail, None)
}

pub(crate) fn api_error_with_parameters(
    status: StatusCode,
    error_code: Option<&str>,
    detail: &str,
    parameters: Option<serde_json::Value>,
) -> Reply {
    let body = ApiError {
        detail,
        error: status.as_u16(),
        error_code,
        parameters,
        reason: status.canonical_reason().unwrap_or("Error"),
    };
    Reply::new(status, JSON, json(&body))
}

/// An OAuth error body from the token endpoint.
pub(crate) fn oauth_error(status: StatusCode, error: &str) -> Reply {
    let description = match error {
        "invalid_client" => "Invalid credentials provided.",
        "unsupported_grant_type" => {
            "The authorization grant type is not supported; use client_credentials."
        }
        "invalid_request" => {
            "The request is missing a required parameter or is otherwise malformed."
        }
        "access_denied" => {
            "Access Token limit reached. Please use the existing Access Tokens or create a new Service Account."
        }
        _ => "The token request was refused.",
    };
    let body = serde_json::json!({ "error": error, "error_description": description });
    Reply::new(status, JSON, json(&body))
}

/// An HTML error page like the ones proxies and load balancers send.
pub(crate) fn html_error(status: StatusCode) -> Reply {
    let title = format!(
        "{} {}",
        status.as_u16(),
        status.canonical_reason().unwrap_or("Error")
    );
    let page = format!(
        "<!DOCTYPE html>\n<html><head><title>{title}</title></head>\n<body><center><h1>{title}</h1></center><hr><center>envoy</center></body></html>\n"
    );
    Reply::new(status, "text/html; charset=utf-8", page.into_bytes())
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct GroupRole<'a> {
    group_id: &'a str,
    group_role: &'a str,
}

/// RFC 5988 `Link`, as Atlas embeds them in bodies.
#[derive(Debug, Serialize)]
pub(crate) struct Link {
    pub(crate) href: String,
    pub(crate) rel: &'static str,
}

/// `OrganizationInvitation`, field names exactly as the OpenAPI spec.
#[derive(Debug, Serialize)]
struct OrganizationInvitation<'a> {
    #[serde(rename = "createdAt")]
    created_at: String,
    #[serde(rename = "expiresAt")]
    expires_at: String,
    #[serde(rename = "groupRoleAssignments")]
    group_role_assignments: Vec<GroupRole<'a>>,
    id: &'a str,
    /// Optional in the spec: an invitation naming no inviter leaves it out rather than sending null.
    #[serde(rename = "inviterUsername", skip_serializing_if = "Option::is_none")]
    inviter_username: Option<&'a str>,
    links: Vec<Link>,
    #[serde(rename = "orgId")]
    org_id: &'a str,
    #[serde(rename = "orgName")]
    org_name: &'a str,
    roles: &'a [String],
    #[serde(rename = "teamIds")]
    team_ids: Vec<&'a str>,
    username: &'a str,
}

/// What the invitations of one org look like on the wire, and the ways a fault can spoil them.
pub(crate) struct InvitationPage<'a> {
    pub(crate) base_url: &'a str,
    pub(crate) org_id: &'a str,
    pub(crate) org_name: &'a str,
    pub(crate) invitations: &'a [SimInvitation],
    pub(crate) now: Timestamp,
}

impl InvitationPage<'_> {
    fn items(&self, dates: DateStyle) -> Vec<OrganizationInvitation<'_>> {
        self.invitations
            .iter()
            .map(|invitation| OrganizationInvitation {
                created_at: dates.render(invitation.created.resolve(self.now)),
                expires_at: dates.render(invitation.expires.resolve(self.now)),
                group_role_assignments: invitation
                    .project_roles
                    .iter()
                    .map(|(group_id, group_role)| GroupRole {
                        group_id,
                        group_role,
                    })
                    .collect(),
                id: &invitation.id,
                inviter_username: invitation.inviter_username.as_deref(),
                links: vec![Link {
                    href: format!(
                        "{}/api/atlas/v2/orgs/{}/invites/{}",
                        self.base_url, self.org_id, invitation.id
                    ),
                    rel: "self",
                }],
                org_id: self.org_id,
                org_name: self.org_name,
                roles: &invitation.org_roles,
                team_ids: invitation.team_ids(),
                username: &invitation.username,
            })
            .collect()
    }

    /// The normal body: a bare JSON array.
    pub(crate) fn body(&self, pretty: bool) -> Vec<u8> {
        let items = self.items(DateStyle::Rfc3339);
        if pretty {
            json_pretty(&items)
        } else {
            json(&items)
        }
    }

    /// Valid JSON of the wrong shape: the array wrapped in a paginated envelope, as /users answers.
    pub(crate) fn wrong_shape_body(&self) -> Vec<u8> {
        let items = self.items(DateStyle::Rfc3339);
        let count = items.len();
        json(&serde_json::json!({ "links": [], "results": items, "totalCount": count }))
    }

    /// The array with dates that are not RFC 3339.
    pub(crate) fn invalid_dates_body(&self) -> Vec<u8> {
        json(&self.items(DateStyle::Invalid))
    }

    /// A JSON syntax error early in an otherwise plausible array.
    pub(crate) fn malformed_body(&self) -> Vec<u8> {
        format!(
            "[{{\"id\": \"{}\", \"orgId\": \"{}\", \"roles\": [\"ORG_MEMBER\",]}}]",
            "0".repeat(24),
            self.org_id
        )
        .into_bytes()
    }

    /// A valid array of exactly `bytes` bytes (at least 2): invitations repeated, then spaces.
    pub(crate) fn oversized_body(&self, bytes: usize) -> Vec<u8> {
        let mut items: Vec<Vec<u8>> = self.items(DateStyle::Rfc3339).iter().map(json).collect();
        if items.is_empty() {
            items.push(json(
                &serde_json::json!({ "id": "0".repeat(24), "orgId": self.org_id }),
            ));
        }
        let target = bytes.max(2);
        let mut out = Vec::with_capacity(target);
        out.push(b'[');
        for (index, item) in items.iter().cycle().enumerate() {
            let separator = usize::from(index > 0);
            if out.len() + separator + item.len() + 1 > target {
                break;
            }
            if separator == 1 {
                out.push(b',');
            }
            out.extend_from_slice(item);
        }
        out.resize(target - 1, b' ');
        out.push(b']');
        out
    }
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum DateStyle {
    Rfc3339,
    Invalid,
}

impl DateStyle {
    pub(crate) fn render(self, at: Timestamp) -> String {
        match self {
            DateStyle::Rfc3339 => at.to_string(),
            // Local time without an offset: RFC 3339 requires one, and guessing UTC would hide a bug.
            DateStyle::Invalid => at.strftime("%Y-%m-%d %H:%M:%S").to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::SimTime;

    fn page_for(invitations: &[SimInvitation]) -> InvitationPage<'_> {
        InvitationPage {
            base_url: "http://127.0.0.1:9",
            org_id: "6523f1a0c8e4b2d9f0a1b001",
            org_name: "Zürich \"Analytics\"",
            invitations,
            now: "2024-05-01T12:00:00Z".parse().unwrap(),
        }
    }

    fn sample() -> Vec<SimInvitation> {
        vec![
            SimInvitation::sent_ago("6523f1a0c8e4b2d9f0a1e101", "alice@example.com", 3600)
                .with_org_roles(["ORG_OWNER"])
                .with_project_role("6523f1a0c8e4b2d9f0a1c101", "GROUP_OWNER"),
        ]
    }

    #[test]
    fn invitation_has_exactly_the_spec_fields() {
        let invitations = sample();
        let body: serde_json::Value =
            serde_json::from_slice(&page_for(&invitations).body(false)).unwrap();
        let object = body[0].as_object().unwrap();
        let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "createdAt",
                "expiresAt",
                "groupRoleAssignments",
                "id",
                "inviterUsername",
                "links",
                "orgId",
                "orgName",
                "roles",
                "teamIds",
                "username"
            ]
        );
        assert_eq!(body[0]["createdAt"], "2024-05-01T11:00:00Z");
        assert_eq!(body[0]["expiresAt"], "2024-05-31T11:00:00Z");
        assert_eq!(
            body[0]["groupRoleAssignments"],
            serde_json::json!([{"groupId": "6523f1a0c8e4b2d9f0a1c101", "groupRole": "GROUP_OWNER"}])
        );
        assert_eq!(body[0]["orgName"], "Zürich \"Analytics\"");
        assert_eq!(body[0]["teamIds"], serde_json::json!([]));
        assert_eq!(
            body[0]["links"],
            serde_json::json!([{"href": "http://127.0.0.1:9/api/atlas/v2/orgs/6523f1a0c8e4b2d9f0a1b001/invites/6523f1a0c8e4b2d9f0a1e101", "rel": "self"}])
        );
    }

    #[test]
    fn an_invitation_naming_no_inviter_leaves_the_field_out() {
        let invitations = vec![
            sample()[0].clone().without_inviter(),
            sample()[0].clone().with_inviter("boss@example.com"),
        ];
        let body: serde_json::Value =
            serde_json::from_slice(&page_for(&invitations).body(false)).unwrap();
        assert!(body[0].get("inviterUsername").is_none(), "{body}");
        assert_eq!(body[1]["inviterUsername"], "boss@example.com");
        assert_eq!(
            sample()[0].inviter_username.as_deref(),
            Some("owner@example.com")
        );
    }

    #[test]
    fn fixed_times_are_served_as_given() {
        let at: Timestamp = "2023-02-03T04:05:06Z".parse().unwrap();
        let invitations = vec![
            sample()[0]
                .clone()
                .with_dates(SimTime::At(at), SimTime::At(at)),
        ];
        let body: serde_json::Value =
            serde_json::from_slice(&page_for(&invitations).body(false)).unwrap();
        assert_eq!(body[0]["createdAt"], "2023-02-03T04:05:06Z");
    }

    #[test]
    fn spoiled_bodies_are_spoiled_the_intended_way() {
        let invitations = sample();
        let page = page_for(&invitations);
        assert!(serde_json::from_slice::<serde_json::Value>(&page.malformed_body()).is_err());
        let wrong: serde_json::Value = serde_json::from_slice(&page.wrong_shape_body()).unwrap();
        assert!(wrong.is_object());
        let invalid: serde_json::Value =
            serde_json::from_slice(&page.invalid_dates_body()).unwrap();
        let created = invalid[0]["createdAt"].as_str().unwrap();
        assert!(created.parse::<Timestamp>().is_err(), "{created}");
    }

    #[test]
    fn oversized_body_is_valid_json_of_exactly_the_size() {
        let invitations = sample();
        for size in [0, 2, 3, 100, 5_000, 100_003] {
            let body = page_for(&invitations).oversized_body(size);
            assert_eq!(body.len(), size.max(2));
            let parsed: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert!(parsed.is_array());
        }
        let body = page_for(&[]).oversized_body(1000);
        assert_eq!(body.len(), 1000);
        assert!(
            serde_json::from_slice::<serde_json::Value>(&body)
                .unwrap()
                .as_array()
                .is_some_and(|a| !a.is_empty())
        );
    }

    #[test]
    fn api_error_has_no_error_code_when_none() {
        let reply = api_error(
            StatusCode::UNAUTHORIZED,
            None,
            "You are not authorized for this resource.",
        );
        let body: serde_json::Value = serde_json::from_slice(&reply.body).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"detail": "You are not authorized for this resource.", "error": 401, "reason": "Unauthorized"})
        );
        let reply = api_error(StatusCode::NOT_FOUND, Some("RESOURCE_NOT_FOUND"), "x");
        let body: serde_json::Value = serde_json::from_slice(&reply.body).unwrap();
        assert_eq!(body["errorCode"], "RESOURCE_NOT_FOUND");
        assert_eq!(body["reason"], "Not Found");
    }

    #[test]
    fn invalid_fault_header_values_are_dropped_not_panicked_on() {
        let reply = api_error(StatusCode::TOO_MANY_REQUESTS, None, "x")
            .with_header(header::RETRY_AFTER, "1\r\nX: y");
        assert!(reply.headers.is_empty());
    }
}
