//! The TLS side of an accepted connection: the handshake, bounded in time, and a plain-text answer
//! to a client that speaks HTTP to the TLS port (as Go's server gives).

use std::sync::Arc;
use std::time::Duration;

use rustls::ServerConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tokio_util::sync::CancellationToken;

/// How long a client may take to complete the TLS handshake: as long as it may take to send its
/// request headers once connected (`HEADER_READ_TIMEOUT` in `mod.rs`); scanners and stalled
/// ClientHellos give way sooner.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);

/// A TLS record starts with its content type; a handshake record is 22.
const TLS_HANDSHAKE_RECORD: u8 = 0x16;

const PLAIN_HTTP_ANSWER: &[u8] = b"HTTP/1.0 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\nClient sent an HTTP request to an HTTPS server.\n";

/// Runs the TLS handshake; `None` when it fails, times out, or the exporter shuts down meanwhile.
pub(crate) async fn handshake(
    stream: TcpStream,
    config: Arc<ServerConfig>,
    shutdown: &CancellationToken,
) -> Option<TlsStream<TcpStream>> {
    let peer = stream.peer_addr().ok();
    let attempt = async {
        let mut first = [0u8; 1];
        if stream.peek(&mut first).await.ok()? == 0 {
            return None;
        }
        if first[0] != TLS_HANDSHAKE_RECORD {
            if first[0].is_ascii_uppercase() {
                answer_plain_http(stream).await;
            }
            tracing::debug!(?peer, "not a TLS client hello; connection closed");
            return None;
        }
        match TlsAcceptor::from(config).accept(stream).await {
            Ok(stream) => Some(stream),
            Err(error) => {
                // Scanners and clients with the wrong certificate are routine: debug, not warn.
                tracing::debug!(?peer, %error, "TLS handshake failed");
                None
            }
        }
    };
    tokio::select! {
        _ = shutdown.cancelled() => None,
        outcome = tokio::time::timeout(HANDSHAKE_TIMEOUT, attempt) => outcome.ok().flatten(),
    }
}

/// Tells an HTTP client it reached a TLS port. The request is drained first: closing a socket with
/// unread data makes the kernel reset it, and the client would see the reset instead of the answer.
async fn answer_plain_http(mut stream: TcpStream) {
    let mut request = [0u8; 4096];
    let _ = tokio::time::timeout(Duration::from_millis(200), stream.read(&mut request)).await;
    if stream.write_all(PLAIN_HTTP_ANSWER).await.is_ok() {
        let _ = stream.shutdown().await;
    }
}
