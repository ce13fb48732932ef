//! What the listing endpoints answer alike: 406 for a wrong `Accept`, 400 for a query Atlas would
//! refuse, the rate-limit headers, and a paginated body, normal or spoiled the way a fault asks.

use hyper::body::Incoming;
use hyper::header;
use hyper::{Request, StatusCode};

use super::fault::Spoil;
use super::form::parse_form;
use crate::listing::InvalidQuery;
use crate::response::{DateStyle, Reply, api_error, json, json_pretty};

pub(super) fn not_acceptable() -> Reply {
    // The code string comes from third-party observations only (reference §3); the status is documented.
    api_error(
        StatusCode::NOT_ACCEPTABLE,
        Some("INVALID_VERSION_DATE"),
        "Invalid accept header or version date.",
    )
}

pub(super) fn invalid_query(InvalidQuery(detail): InvalidQuery) -> Reply {
    api_error(StatusCode::BAD_REQUEST, Some("VALIDATION_ERROR"), &detail)
}

/// The decoded query pairs, or a 400 when a percent-escape does not decode.
pub(super) fn query_pairs(request: &Request<Incoming>) -> Result<Vec<(String, String)>, Reply> {
    match request.uri().query() {
        None => Ok(Vec::new()),
        Some(query) => parse_form(query.as_bytes()).ok_or_else(|| {
            invalid_query(InvalidQuery(
                "The query string is not valid percent-encoded UTF-8.".to_owned(),
            ))
        }),
    }
}

pub(super) fn rate_limit_headers(reply: Reply, capacity: u32, remaining: u32) -> Reply {
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
pub(super) fn listing_reply(
    content_type: &'static str,
    spoil: Option<Spoil>,
    pretty: bool,
    render: impl Fn(DateStyle) -> serde_json::Value,
) -> Reply {
    spoilable_reply(Shape::Envelope, content_type, spoil, pretty, render)
}

/// A bare JSON array (the deprecated invitation listings), normal or spoiled the way a fault asks.
/// `render` builds the array with proper or invalid dates.
pub(super) fn array_reply(
    content_type: &'static str,
    spoil: Option<Spoil>,
    pretty: bool,
    render: impl Fn(DateStyle) -> serde_json::Value,
) -> Reply {
    spoilable_reply(Shape::Array, content_type, spoil, pretty, render)
}

/// What a listing's body is: the two differ only in how a malformed or wrongly shaped one looks.
#[derive(Clone, Copy)]
enum Shape {
    /// `{"links": […], "results": […], "totalCount": n}`
    Envelope,
    /// `[…]`
    Array,
}

fn spoilable_reply(
    shape: Shape,
    content_type: &'static str,
    spoil: Option<Spoil>,
    pretty: bool,
    render: impl Fn(DateStyle) -> serde_json::Value,
) -> Reply {
    let mut reply = Reply::new(StatusCode::OK, content_type, Vec::new());
    let zeros = "0".repeat(24);
    reply.body = match spoil {
        None if pretty => json_pretty(&render(DateStyle::Rfc3339)),
        None => json(&render(DateStyle::Rfc3339)),
        Some(Spoil::MalformedJson) => match shape {
            Shape::Envelope => format!(
                "{{\"links\": [], \"results\": [{{\"id\": \"{zeros}\",}}], \"totalCount\": 1}}"
            ),
            Shape::Array => format!("[{{\"id\": \"{zeros}\", \"roles\": [\"GROUP_OWNER\",]}}]"),
        }
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
        // Each shape as the other: the bare array where an envelope belongs, and back.
        Some(Spoil::WrongShape) => match shape {
            Shape::Envelope => json(&render(DateStyle::Rfc3339)["results"]),
            Shape::Array => {
                let items = render(DateStyle::Rfc3339);
                let count = items.as_array().map_or(0, Vec::len);
                json(&serde_json::json!({ "links": [], "results": items, "totalCount": count }))
            }
        },
        Some(Spoil::InvalidDates) => json(&render(DateStyle::Invalid)),
        Some(Spoil::Oversized(bytes)) => {
            let mut body = json(&render(DateStyle::Rfc3339));
            let fallback = match shape {
                Shape::Envelope => b'}',
                Shape::Array => b']',
            };
            let closing = body.pop().unwrap_or(fallback);
            body.resize(bytes.max(body.len() + 1) - 1, b' ');
            body.push(closing);
            body
        }
    };
    reply
}
