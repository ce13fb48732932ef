//! The request being served (the shared state and its place in the request log) and what it gets:
//! an answer, nothing ever, or a reset connection.

use hyper::Request;
use hyper::body::Incoming;
use hyper::header::{self, HeaderMap};

use super::auth::authenticate;
use crate::response::Reply;
use crate::state::Shared;

/// What a request gets: an answer, nothing ever, or a reset connection.
pub(super) enum Outcome {
    Reply(Reply),
    Hang,
    Reset,
}

impl From<Reply> for Outcome {
    fn from(reply: Reply) -> Outcome {
        Outcome::Reply(reply)
    }
}

/// The request being served: the shared state and its place in the request log.
#[derive(Clone, Copy)]
pub(super) struct Call<'a> {
    pub(super) shared: &'a Shared,
    pub(super) sequence: u64,
}

impl Call<'_> {
    /// Checks the request's credentials and logs whose they are.
    pub(super) fn authenticate(&self, request: &Request<Incoming>) -> Result<String, Reply> {
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

pub(super) fn header_str(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}
