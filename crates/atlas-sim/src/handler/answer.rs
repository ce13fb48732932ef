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
