//! Gzip for `/metrics` without recompressing the unchanging part on every scrape.
//!
//! The poll-time body is deflated once, ending in a *full flush*: the stream is byte-aligned there
//! and later blocks may not refer back to earlier data. A scrape deflates only its small tail as a
//! fresh stream; raw deflate blocks concatenate, so header + prefix + tail + trailer is one valid gzip
//! member. (Concatenated gzip *members* would be cheaper still, but many HTTP clients decode only the
//! first member.)

use bytes::Bytes;
use flate2::{Compress, Compression, FlushCompress, Status};

/// The ten-byte gzip header: deflate, no flags, no mtime, unknown OS.
const GZIP_HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];

/// A deflated prefix that a scrape completes into one gzip member.
#[derive(Debug, Default)]
pub struct GzipPrefix {
    /// The gzip header and the deflated prefix: shared by every scrape, never copied.
    head: Bytes,
    crc: crc32fast::Hasher,
    len: u64,
}

impl GzipPrefix {
    /// Deflates `data` up to a full flush. Level 1: the exposition is repetitive, speed costs little ratio.
    pub fn new(data: &[u8]) -> GzipPrefix {
        let mut compress = Compress::new(Compression::fast(), false);
        let mut deflated = Vec::with_capacity(data.len() / 8 + 64);
        deflated.extend_from_slice(&GZIP_HEADER);
        deflate_into(&mut compress, data, &mut deflated, FlushCompress::Full);
        let mut crc = crc32fast::Hasher::new();
        crc.update(data);
        GzipPrefix {
            head: Bytes::from(deflated),
            crc,
            len: data.len() as u64,
        }
    }

    /// One gzip member holding the prefix's data followed by `tail`, in one buffer.
    #[cfg(test)]
    pub(crate) fn finish_with(&self, tail: &[u8]) -> Vec<u8> {
        let (head, rest) = self.finish_in_parts(tail);
        let mut out = Vec::with_capacity(head.len() + rest.len());
        out.extend_from_slice(&head);
        out.extend_from_slice(&rest);
        out
    }

    /// The same member as two parts to send one after the other: the shared head (no copy) and the
    /// scrape's own compressed tail with the gzip trailer.
    pub fn finish_in_parts(&self, tail: &[u8]) -> (Bytes, Bytes) {
        let mut out = Vec::with_capacity(tail.len() / 4 + 64);
        let mut compress = Compress::new(Compression::fast(), false);
        deflate_into(&mut compress, tail, &mut out, FlushCompress::Finish);
        let mut crc = self.crc.clone();
        crc.update(tail);
        out.extend_from_slice(&crc.finalize().to_le_bytes());
        // ISIZE is the length modulo 2^32 (RFC 1952).
        let size = (self.len + tail.len() as u64) as u32;
        out.extend_from_slice(&size.to_le_bytes());
        (self.head.clone(), Bytes::from(out))
    }
}

/// Runs `compress` over all of `input` with the given flush, appending to `out`.
fn deflate_into(compress: &mut Compress, input: &[u8], out: &mut Vec<u8>, flush: FlushCompress) {
    let start = compress.total_in();
    loop {
        let consumed = (compress.total_in() - start) as usize;
        out.reserve((input.len() - consumed) / 2 + 4096);
        let status = compress.compress_vec(&input[consumed..], out, flush);
        let all_consumed = (compress.total_in() - start) as usize == input.len();
        match status {
            Ok(Status::StreamEnd) => return,
            // zlib: a flush is complete when it returns with output space to spare.
            Ok(_)
                if flush != FlushCompress::Finish && all_consumed && out.len() < out.capacity() =>
            {
                return;
            }
            Ok(_) => {}
            // Deflating into a Vec with room cannot fail; stop rather than loop if zlib ever says otherwise.
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::io::Read;

    fn gunzip_single_member(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        // GzDecoder (not MultiGzDecoder) stops after one member: proves the output is a single member.
        flate2::read::GzDecoder::new(data)
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    #[test]
    fn prefix_and_tail_decode_as_one_member() {
        let body = b"atlas_invites_pending{org_id=\"a\"} 1\n".repeat(10_000);
        let prefix = GzipPrefix::new(&body);
        let gz = prefix.finish_with(b"tail 2\n");
        let mut expected = body.clone();
        expected.extend_from_slice(b"tail 2\n");
        assert_eq!(gunzip_single_member(&gz), expected);
        assert!(
            prefix.head.len() < body.len() / 10,
            "compresses: {}",
            prefix.head.len()
        );
    }

    #[test]
    fn empty_parts() {
        assert_eq!(
            gunzip_single_member(&GzipPrefix::new(b"").finish_with(b"")),
            b""
        );
        assert_eq!(
            gunzip_single_member(&GzipPrefix::new(b"").finish_with(b"x")),
            b"x"
        );
        assert_eq!(
            gunzip_single_member(&GzipPrefix::new(b"x").finish_with(b"")),
            b"x"
        );
    }

    proptest! {
        #[test]
        fn any_split_round_trips(body in proptest::collection::vec(any::<u8>(), 0..20_000), tail in proptest::collection::vec(any::<u8>(), 0..2_000)) {
            let gz = GzipPrefix::new(&body).finish_with(&tail);
            let mut expected = body.clone();
            expected.extend_from_slice(&tail);
            prop_assert_eq!(gunzip_single_member(&gz), expected);
        }
    }
}
