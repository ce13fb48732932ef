//! The listener under a connection flood: `--web.max-connections`, who gives way past it, and the
//! connection series, over real sockets.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::util::{Exporter, Exposition};

/// Enough configuration to start; Atlas is unreachable, which does not matter to the listener.
const CONFIG: &str = "[atlas]\nbase_url = \"http://127.0.0.1:9\"\n[auth]\nclient_id = \"mdb_sa_id_x\"\nclient_secret = \"s3cr3t-value-never-printed\"\n[[orgs]]\nid = \"32b6e34b3d91647abb20e7b8\"\n";

const LIMIT: usize = 8;

/// How long a closed connection may take to show as closed: the close is an event we wait for, this
/// only bounds the wait.
const CLOSE_SEEN_WITHIN: Duration = Duration::from_secs(5);

fn open(m: &Exposition) -> Option<f64> {
    m.get("atlas_invites_http_connections", &[("state", "open")])
}

fn rejected(m: &Exposition) -> Option<f64> {
    m.get("atlas_invites_http_connections_rejected_total", &[])
}

async fn start() -> Exporter {
    let exporter =
        Exporter::start_with(CONFIG, &["--web.max-connections", &LIMIT.to_string()], &[]);
    // A request whose connection the exporter has closed: no earlier connection holds a place.
    let mut probe = TcpStream::connect(exporter.addr).await.unwrap();
    probe
        .write_all(b"GET /-/healthy HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let answer = read_until_closed(&mut probe)
        .await
        .expect("closed after the answer");
    assert!(answer.starts_with(b"HTTP/1.1 200 OK"));
    exporter
}

/// Half a request header, then nothing: a slowloris connection.
async fn stalled(exporter: &Exporter) -> TcpStream {
    let mut stream = TcpStream::connect(exporter.addr).await.unwrap();
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: flood\r\nX-Padding: aaaaaaaaaaaaaaaa")
        .await
        .unwrap();
    stream
}

/// What the server sent before it closed the connection; `None` if it is still open.
async fn read_until_closed(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        match tokio::time::timeout(CLOSE_SEEN_WITHIN, stream.read(&mut buffer)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some(received),
            Ok(Ok(n)) => received.extend_from_slice(&buffer[..n]),
        }
    }
}

#[tokio::test]
async fn past_the_limit_stalled_connections_give_way_unserved_while_scrapes_are_answered() {
    let exporter = start().await;
    let mut flood = Vec::new();
    for _ in 0..20 {
        flood.push(stalled(&exporter).await);
    }
    // The kernel hands connections over in arrival order: by the time a scrape is answered, all 20
    // were admitted, and it made room for itself too; later scrapes find room (7 stalled and
    // themselves). The exporter's own series may be a second old (the scrape tail is shared within
    // a second), hence the wait. The connection of the scrape before the flood may still have held
    // its place while the exporter took in this one's: then one more stalled connection gave way.
    let m = exporter
        .wait_for_metrics("the flood counted", |m| {
            rejected(m).is_some_and(|n| n > 0.0)
        })
        .await;
    assert_eq!(rejected(&m), Some((20 - LIMIT + 1) as f64), "{}", m.text);
    assert_eq!(open(&m), Some(LIMIT as f64), "{}", m.text);
    let gave_way = 20 - LIMIT + 1;

    // The oldest gave way: closed without a byte of an answer.
    for (index, stream) in flood.iter_mut().enumerate().take(gave_way) {
        let received = read_until_closed(stream).await;
        assert_eq!(
            received.as_deref(),
            Some(&b""[..]),
            "connection {index} should have been closed unserved"
        );
    }
    // The newest are still open and are served once they finish their request.
    let last = flood.last_mut().unwrap();
    last.write_all(b"\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let answer = read_until_closed(last)
        .await
        .expect("answered, then closed");
    assert!(
        answer.starts_with(b"HTTP/1.1 200 OK"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    assert!(exporter.get("/-/healthy").await.status().is_success());
}

#[tokio::test]
async fn when_every_open_connection_is_being_served_a_new_one_is_closed_unread() {
    let exporter = start().await;
    // Kept-alive connections that have been served keep their place: a scraper is never pushed out.
    let mut served = Vec::new();
    for _ in 0..LIMIT {
        let mut stream = TcpStream::connect(exporter.addr).await.unwrap();
        stream
            .write_all(b"GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut buffer = [0u8; 1024];
        let n = stream.read(&mut buffer).await.unwrap();
        assert!(buffer[..n].starts_with(b"HTTP/1.1 200 OK"));
        served.push(stream);
    }
    let mut newcomer = TcpStream::connect(exporter.addr).await.unwrap();
    // The write may race the close; what matters is that no answer comes.
    let _ = newcomer
        .write_all(b"GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n")
        .await;
    assert_eq!(
        read_until_closed(&mut newcomer).await.as_deref(),
        Some(&b""[..]),
        "refused without an answer"
    );
    // Each closes its side and waits for the exporter to close its own, so that the next scrape is
    // not refused for want of room.
    for stream in &mut served {
        stream.shutdown().await.unwrap();
        assert!(read_until_closed(stream).await.is_some());
    }
    let m = exporter
        .wait_for_metrics("the refusal counted", |m| rejected(m) == Some(1.0))
        .await;
    assert_eq!(open(&m), Some(1.0), "only the scrape: {}", m.text);
}
