//! Transfer faults seen on a raw socket: a body cut off (FIN) or reset (RST) halfway, a reset
//! instead of an answer, a trickled body and an endless one.

use std::time::{Duration, Instant};

use atlas_sim::*;
use reqwest::StatusCode;
use reqwest::header;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::common::*;

/// Sends a bearer GET for the org's invitations on a raw socket and reads until the server ends the
/// connection: what arrived, how long the first and the last bytes took, and how it ended
/// (`Ok(())` for an orderly close, the read error otherwise).
async fn raw_invites(
    sim: &Simulator,
    token: &str,
) -> (Vec<u8>, Duration, Duration, std::io::Result<()>) {
    let mut stream = tokio::net::TcpStream::connect(sim.local_addr())
        .await
        .unwrap();
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: x\r\nAccept: {ATLAS_MEDIA_TYPE}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n",
        invites_path(ORG)
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let started = Instant::now();
    let mut received = Vec::new();
    let mut first = None;
    let mut buffer = [0u8; 4096];
    let ending = loop {
        match stream.read(&mut buffer).await {
            Ok(0) => break Ok(()),
            Ok(n) => {
                first.get_or_insert_with(|| started.elapsed());
                received.extend_from_slice(&buffer[..n]);
            }
            Err(error) => break Err(error),
        }
    };
    (
        received,
        first.unwrap_or_default(),
        started.elapsed(),
        ending,
    )
}

fn head_and_body(received: &[u8]) -> (String, &[u8]) {
    let split = received
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a complete head");
    (
        String::from_utf8_lossy(&received[..split]).into_owned(),
        &received[split + 4..],
    )
}

#[tokio::test]
async fn truncated_body_closes_in_order_and_reset_mid_body_resets() {
    let sim = Simulator::start(world()).await.unwrap();
    let token = token(&sim).await;
    sim.push_faults(ORG, [Fault::TruncatedBody, Fault::ResetMidBody]);

    let (received, _, _, ending) = raw_invites(&sim, &token).await;
    let (head, body) = head_and_body(&received);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(ending.is_ok(), "TruncatedBody ends with FIN: {ending:?}");
    assert_eq!(body.len(), content_length(&head).unwrap() / 2);

    let (received, _, _, ending) = raw_invites(&sim, &token).await;
    let (head, body) = head_and_body(&received);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert_eq!(body.len(), content_length(&head).unwrap() / 2);
    assert_eq!(
        ending.map_err(|error| error.kind()),
        Err(std::io::ErrorKind::ConnectionReset),
        "ResetMidBody ends with RST"
    );

    let faults: Vec<Option<Fault>> = sim
        .requests()
        .into_iter()
        .filter(|request| request.org_id.is_some())
        .map(|request| request.fault)
        .collect();
    assert_eq!(
        faults,
        [Some(Fault::TruncatedBody), Some(Fault::ResetMidBody)]
    );
    assert_eq!(
        get_with_token(&sim, ORG, &token).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn reset_answers_nothing_and_resets_the_connection() {
    let sim = Simulator::start(world()).await.unwrap();
    let token = token(&sim).await;
    sim.push_faults(ORG, [Fault::Reset]);
    let (received, _, _, ending) = raw_invites(&sim, &token).await;
    assert!(
        received.is_empty(),
        "{}",
        String::from_utf8_lossy(&received)
    );
    assert_eq!(
        ending.map_err(|error| error.kind()),
        Err(std::io::ErrorKind::ConnectionReset)
    );
    let logged = sim.requests().pop().unwrap();
    assert_eq!((logged.status, logged.fault), (0, Some(Fault::Reset)));

    sim.push_token_faults([Fault::Reset]);
    let refused = client()
        .post(format!("{}/api/oauth/token", sim.base_url()))
        .header(header::AUTHORIZATION, basic(CLIENT_ID, CLIENT_SECRET))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await;
    assert!(refused.is_err(), "{refused:?}");
    assert_eq!(
        get_with_token(&sim, ORG, &token).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn trickle_sends_the_whole_body_a_few_bytes_a_second() {
    // Fixed times: relative ones would differ between the two responses whenever a second
    // boundary falls between them.
    let mut fixed = world();
    for invitation in &mut fixed.orgs[0].invitations {
        invitation.created = SimTime::At("2026-11-05T10:00:00Z".parse().unwrap());
        invitation.expires = SimTime::At("2026-12-05T10:00:00Z".parse().unwrap());
    }
    let sim = Simulator::start(fixed).await.unwrap();
    let token = token(&sim).await;
    let normal = get_with_token(&sim, ORG, &token)
        .await
        .bytes()
        .await
        .unwrap();
    // Two ticks: the first half at once, the rest a second later.
    let per_second = u32::try_from(normal.len() / 2 + 1).unwrap();
    sim.push_faults(
        ORG,
        [Fault::Trickle {
            bytes_per_second: per_second,
        }],
    );
    let (received, first, total, ending) = raw_invites(&sim, &token).await;
    assert!(ending.is_ok(), "{ending:?}");
    let (head, body) = head_and_body(&received);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert_eq!(content_length(&head), Some(normal.len()));
    assert_eq!(body, &normal[..], "the normal body, only slower");
    assert!(first < Duration::from_millis(500), "{first:?}");
    assert!(total >= Duration::from_millis(900), "{total:?}");
}

#[tokio::test]
async fn endless_streams_until_the_client_hangs_up() {
    let sim = Simulator::start(world()).await.unwrap();
    let token = token(&sim).await;
    sim.push_faults(ORG, [Fault::Endless]);
    assert_eq!(sim.pending_faults(ORG), 1);
    let mut response = get_with_token(&sim, ORG, &token).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.content_length(), None, "chunked");
    assert_eq!(sim.pending_faults(ORG), 0);
    let mut received = Vec::new();
    while received.len() < 4 * 1024 * 1024 {
        let chunk = response
            .chunk()
            .await
            .unwrap()
            .expect("the body never ends");
        if received.len() < 64 {
            received.extend_from_slice(&chunk);
        } else {
            received.resize(received.len() + chunk.len(), 0);
        }
    }
    assert!(received.starts_with(b"[{\"id\""));
    drop(response);
    assert_eq!(
        get_with_token(&sim, ORG, &token).await.status(),
        StatusCode::OK
    );
}
