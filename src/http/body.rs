//! The response body: a few shared chunks, so `/metrics` sends the published snapshot without copying
//! it for every scrape.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use hyper::body::{Frame, SizeHint};
use hyper::header::{self, HeaderValue};
use hyper::{Response, StatusCode};

use super::admission::Turn;

/// Chunks are handed to the connection in slices of at most this many bytes (slices share the
/// chunk's memory), so that the connection takes the last one about when the answer is nearly sent.
const SLICE: usize = 64 * 1024;

/// A body of whole chunks, known in advance.
#[derive(Debug, Default)]
pub struct Body {
    chunks: VecDeque<Bytes>,
    /// Ends when the last slice has been taken.
    turn: Option<Turn>,
}

impl Body {
    pub fn new(bytes: Bytes) -> Body {
        Body::from_chunks([bytes])
    }

    /// The chunks in order; empty ones are dropped.
    pub fn from_chunks(chunks: impl IntoIterator<Item = Bytes>) -> Body {
        let mut slices = VecDeque::new();
        for chunk in chunks {
            let mut start = 0;
            while start < chunk.len() {
                let end = (start + SLICE).min(chunk.len());
                slices.push_back(chunk.slice(start..end));
                start = end;
            }
        }
        Body {
            chunks: slices,
            turn: None,
        }
    }

    /// Bytes still to be sent.
    pub fn len(&self) -> u64 {
        self.chunks.iter().map(|c| c.len() as u64).sum()
    }

    /// Holds `turn` until the last slice has been taken (or the body is dropped).
    pub fn ending(mut self, turn: Turn) -> Body {
        if !self.chunks.is_empty() {
            self.turn = Some(turn);
        }
        self
    }
}

impl hyper::body::Body for Body {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let body = self.get_mut();
        let chunk = body.chunks.pop_front();
        if body.chunks.is_empty() {
            body.turn = None;
        }
        Poll::Ready(chunk.map(|chunk| Ok(Frame::data(chunk))))
    }

    fn is_end_stream(&self) -> bool {
        self.chunks.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.chunks.iter().map(|c| c.len() as u64).sum())
    }
}

/// A short plain-text answer (errors, reload), with its length.
pub(super) fn text(status: StatusCode, body: &'static str) -> Response<Body> {
    let mut response = Response::new(Body::new(Bytes::from_static(body.as_bytes())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    with_length(response)
}

/// Sets `Content-Length` when the body knows its length: clients and proxies then need no chunking.
pub(super) fn with_length(mut response: Response<Body>) -> Response<Body> {
    use hyper::body::Body as _;
    if let Some(length) = response.body().size_hint().exact() {
        response
            .headers_mut()
            .insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    #[test]
    fn chunks_arrive_in_order_with_an_exact_size() {
        let body = Body::from_chunks([
            Bytes::from_static(b"ab"),
            Bytes::new(),
            Bytes::from_static(b"cde"),
        ]);
        assert_eq!(hyper::body::Body::size_hint(&body).exact(), Some(5));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let bytes = runtime.block_on(body.collect()).unwrap().to_bytes();
        assert_eq!(&bytes[..], b"abcde");
    }

    #[test]
    fn large_chunks_go_out_in_slices_and_the_turn_ends_with_the_last() {
        let big: Vec<u8> = (0..3 * SLICE + 5).map(|i| (i % 251) as u8).collect();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        runtime.block_on(async {
            let admission = super::super::Admission::new(1);
            let turn = admission.admit().await;
            let mut body = Body::from_chunks([Bytes::from(big.clone()), Bytes::from_static(b"!")])
                .ending(turn);
            let mut received = Vec::new();
            while let Some(frame) = body.frame().await {
                let data = frame.unwrap().into_data().unwrap();
                assert!(data.len() <= SLICE);
                received.extend_from_slice(&data);
                if !hyper::body::Body::is_end_stream(&body) {
                    assert!(body.turn.is_some(), "the turn ended before the last slice");
                }
            }
            assert!(body.turn.is_none());
            assert_eq!(received.len(), big.len() + 1);
            assert_eq!(&received[..big.len()], &big[..]);
        });
    }
}
