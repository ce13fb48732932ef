//! TLS mode: clients that trust the certificate are served, others fail the handshake, and PEM that
//! is not a certificate and key is refused.

use std::time::{Duration, Instant};

use atlas_sim::*;
use reqwest::StatusCode;
use reqwest::header;

use crate::common::*;

fn self_signed() -> (String, String) {
    let certified =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .unwrap();
    (certified.cert.pem(), certified.signing_key.serialize_pem())
}

#[tokio::test]
async fn tls_mode_serves_clients_that_trust_the_certificate_and_only_them() {
    // The clients below are built here, not by `common`: install the provider ourselves rather than
    // count on another test having done it first (under nextest, or run alone, none has).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let (cert, key) = self_signed();
    let sim = Simulator::start_tls(world(), &cert, &key).await.unwrap();
    assert!(sim.base_url().starts_with("https://127.0.0.1:"));

    let trusting = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(cert.as_bytes()).unwrap()])
        .build()
        .unwrap();
    let response = trusting
        .post(format!("{}/api/oauth/token", sim.base_url()))
        .header(header::AUTHORIZATION, basic(CLIENT_ID, CLIENT_SECRET))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(sim.tls_failures().is_empty());

    // The default client verifies against the system roots, which do not know this certificate.
    let refused = client()
        .get(format!("{}{}", sim.base_url(), invites_path(ORG)))
        .send()
        .await;
    assert!(refused.is_err(), "{refused:?}");
    let deadline = Instant::now() + Duration::from_secs(5);
    while sim.tls_failures().is_empty() {
        assert!(Instant::now() < deadline, "no handshake failure recorded");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        sim.requests().len(),
        1,
        "the refused connection never became a request"
    );
}

#[tokio::test]
async fn tls_mode_refuses_pem_that_is_not_a_certificate_and_key() {
    let (cert, key) = self_signed();
    assert!(
        Simulator::start_tls(world(), "not pem", &key)
            .await
            .is_err()
    );
    assert!(Simulator::start_tls(world(), &cert, "").await.is_err());
    assert!(Simulator::start_tls(world(), &key, &cert).await.is_err());
}
