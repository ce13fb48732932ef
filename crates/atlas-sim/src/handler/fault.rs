//! Scripted faults as the endpoints serve them: a reply in place of the normal one, a delay, a hang, a
//! reset, or a spoil each endpoint applies to its own normal body.

use std::time::Duration;

use hyper::StatusCode;
use hyper::header;

use super::call::{Call, Outcome};
use crate::response::{Delivery, Reply, api_error, html_error, oauth_error};
use crate::world::Fault;

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
pub(super) enum Spoil {
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
    pub(super) fn delivery(self) -> Option<Delivery> {
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
        Fault::Detail {
            status,
            error_code,
            detail,
        } => FaultAction::Reply(api_error(status_or_500(status), Some(&error_code), &detail)),
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
pub(super) async fn serve_fault(
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
