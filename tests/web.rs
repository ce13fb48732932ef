//! `--web.config.file` through the real binary: TLS with a real rustls client, mutual TLS, basic
//! auth, headers, `/-/healthy` exemption, refusal of invalid files, and certificate reload.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::util::{Exporter, run_binary};

/// Enough configuration to start; Atlas is unreachable, which does not matter to the listener.
const CONFIG: &str = "[atlas]\nbase_url = \"http://127.0.0.1:9\"\n[auth]\nclient_id = \"mdb_sa_id_x\"\nclient_secret = \"s3cr3t-value-never-printed\"\n[[orgs]]\nid = \"32b6e34b3d91647abb20e7b8\"\n";

/// A certificate authority made for one test.
struct Authority {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

/// A certificate and its key, as PEM.
struct Pair {
    cert: String,
    key: String,
}

impl Authority {
    fn new(name: &str) -> Authority {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        Authority {
            issuer: CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap(),
        }
    }

    fn pem(&self) -> String {
        self.issuer.pem()
    }

    fn issue(&self, names: &[&str], purpose: ExtendedKeyUsagePurpose) -> Pair {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut params = CertificateParams::new(names).unwrap();
        params.extended_key_usages = vec![purpose];
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        Pair {
            cert: cert.pem(),
            key: key.serialize_pem(),
        }
    }

    fn server(&self) -> Pair {
        self.issue(
            &["localhost", "127.0.0.1"],
            ExtendedKeyUsagePurpose::ServerAuth,
        )
    }

    fn client(&self) -> Pair {
        self.issue(&["prometheus"], ExtendedKeyUsagePurpose::ClientAuth)
    }
}

/// A directory holding the web configuration and the files it names.
struct WebDir {
    dir: tempfile::TempDir,
}

impl WebDir {
    fn new() -> WebDir {
        WebDir {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes the server pair as `server.pem`/`server.key` and `web.yml`, returning its path.
    fn with_server(&self, pair: &Pair, yaml: &str) -> PathBuf {
        self.write("server.key", &pair.key);
        self.write("server.pem", &pair.cert);
        self.write("web.yml", yaml)
    }
}

fn start(web_config: &Path, extra: &[&str]) -> Exporter {
    let mut args = vec!["--web.config.file", web_config.to_str().unwrap()];
    args.extend_from_slice(extra);
    Exporter::start_with(CONFIG, &args, &[])
}

const TLS_ONLY: &str = "tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n";

/// A client that trusts only `roots`, optionally presents `identity`, and speaks only `versions`.
fn tls_client(
    roots: &[&Authority],
    identity: Option<&Pair>,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> reqwest::Client {
    let mut store = rustls::RootCertStore::empty();
    for root in roots {
        store.add(root.issuer.der().clone()).unwrap();
    }
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_protocol_versions(versions)
    .unwrap()
    .with_root_certificates(store);
    let config = match identity {
        Some(pair) => {
            let chain = CertificateDer::pem_slice_iter(pair.cert.as_bytes())
                .collect::<Result<Vec<_>, _>>()
                .unwrap();
            let key = PrivateKeyDer::from_pem_slice(pair.key.as_bytes()).unwrap();
            builder.with_client_auth_cert(chain, key).unwrap()
        }
        None => builder.with_no_client_auth(),
    };
    reqwest::Client::builder()
        .tls_backend_preconfigured(config)
        .tls_info(true)
        // A fresh connection per request: each one must show the certificate in force.
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

fn both_versions() -> Vec<&'static rustls::SupportedProtocolVersion> {
    vec![&rustls::version::TLS13, &rustls::version::TLS12]
}

fn https(exporter: &Exporter, path: &str) -> String {
    format!("https://127.0.0.1:{}{path}", exporter.addr.port())
}

fn basic(user: &str, password: &str) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {encoded}")
}

/// The DER of the certificate the server presented.
fn peer_certificate(response: &reqwest::Response) -> Vec<u8> {
    response
        .extensions()
        .get::<reqwest::tls::TlsInfo>()
        .and_then(|info| info.peer_certificate())
        .expect("TLS info with the peer certificate")
        .to_vec()
}

fn der_of(pem: &str) -> Vec<u8> {
    CertificateDer::from_pem_slice(pem.as_bytes())
        .unwrap()
        .as_ref()
        .to_vec()
}

#[tokio::test]
async fn tls_serves_with_a_trusted_ca_and_answers_plain_http_with_400() {
    let ca = Authority::new("web test CA");
    let server = ca.server();
    let web = WebDir::new();
    let exporter = start(&web.with_server(&server, TLS_ONLY), &[]);

    let response = tls_client(&[&ca], None, &both_versions())
        .get(https(&exporter, "/metrics"))
        .send()
        .await
        .expect("TLS request with a trusted CA");
    assert_eq!(response.status(), 200);
    assert_eq!(peer_certificate(&response), der_of(&server.cert));
    assert!(response.text().await.unwrap().contains("atlas_invites_"));

    // A client that does not trust the CA refuses the server.
    let stranger = Authority::new("someone else");
    let refused = tls_client(&[&stranger], None, &both_versions())
        .get(https(&exporter, "/metrics"))
        .send()
        .await;
    assert!(refused.is_err(), "{refused:?}");

    // Plain HTTP gets Go's answer, never the metrics.
    let plain = crate::util::client()
        .get(exporter.url("/metrics"))
        .send()
        .await
        .expect("an HTTP answer on the TLS port");
    assert_eq!(plain.status(), 400);
    let body = plain.text().await.unwrap();
    assert!(body.contains("HTTP request to an HTTPS server"), "{body}");
    assert!(
        exporter.logs().contains("web configuration loaded"),
        "{}",
        exporter.logs()
    );
}

#[tokio::test]
async fn basic_auth_over_tls_with_headers_and_no_password_in_logs() {
    let ca = Authority::new("web test CA");
    let web = WebDir::new();
    let alice_password = "correct horse battery staple";
    let hash = bcrypt::hash(alice_password, 4).unwrap();
    let yaml = format!(
        "{TLS_ONLY}http_server_config:\n  headers:\n    X-Frame-Options: deny\n    X-Content-Type-Options: nosniff\nbasic_auth_users:\n  alice: {hash}\n"
    );
    let exporter = start(&web.with_server(&ca.server(), &yaml), &[]);
    let client = tls_client(&[&ca], None, &both_versions());
    let get = |path: &str, authorization: Option<String>| {
        let mut request = client.get(https(&exporter, path));
        if let Some(value) = authorization {
            request = request.header("Authorization", value);
        }
        request.send()
    };

    for _ in 0..2 {
        let ok = get("/metrics", Some(basic("alice", alice_password)))
            .await
            .unwrap();
        assert_eq!(ok.status(), 200);
        assert_eq!(ok.headers()["x-frame-options"], "deny");
        assert_eq!(ok.headers()["x-content-type-options"], "nosniff");
    }
    let cases = [
        ("wrong password", Some(basic("alice", "Tr0ub4dor&3"))),
        ("unknown user", Some(basic("mallory", alice_password))),
        ("no credentials", None),
        ("not basic", Some("Bearer abc".to_owned())),
    ];
    for (what, authorization) in cases {
        let denied = get("/metrics", authorization).await.unwrap();
        assert_eq!(denied.status(), 401, "{what}");
        assert_eq!(
            denied.headers()["www-authenticate"],
            "Basic realm=\"atlas-invites-exporter\"",
            "{what}"
        );
        assert_eq!(denied.headers()["x-frame-options"], "deny", "{what}");
        let body = denied.text().await.unwrap();
        assert!(!body.contains("atlas_invites_"), "{what}: {body}");
    }
    // Without --web.health-open, the health endpoint is behind auth like everything else.
    assert_eq!(get("/-/healthy", None).await.unwrap().status(), 401);

    let logs = exporter.logs();
    for secret in [
        alice_password,
        "Tr0ub4dor&3",
        &basic("alice", alice_password)["Basic ".len()..],
        &hash,
    ] {
        assert!(!logs.contains(secret), "{secret:?} appears in the logs");
    }
}

#[tokio::test]
async fn health_open_exempts_only_the_health_endpoint() {
    let web = WebDir::new();
    let hash = bcrypt::hash("pw", 4).unwrap();
    let path = web.write("web.yml", &format!("basic_auth_users:\n  alice: {hash}\n"));
    let exporter = start(&path, &["--web.health-open"]);
    assert_eq!(exporter.get("/-/healthy").await.status(), 200);
    assert_eq!(exporter.get("/metrics").await.status(), 401);
    assert_eq!(exporter.get("/-/ready").await.status(), 401);
    assert_eq!(exporter.get("/").await.status(), 401);
}

#[tokio::test]
async fn the_reload_endpoint_needs_a_user_like_every_other_path() {
    let web = WebDir::new();
    let hash = bcrypt::hash("pw", 4).unwrap();
    let path = web.write("web.yml", &format!("basic_auth_users:\n  alice: {hash}\n"));
    let exporter = start(&path, &["--web.enable-lifecycle"]);
    let post = |authorization: Option<String>| {
        let mut request = crate::util::client().post(exporter.url("/-/reload"));
        if let Some(value) = authorization {
            request = request.header("Authorization", value);
        }
        request.send()
    };
    assert_eq!(post(None).await.unwrap().status(), 401);
    assert_eq!(
        post(Some(basic("alice", "wrong"))).await.unwrap().status(),
        401
    );
    assert!(!exporter.logs().contains("configuration reloaded"));
    assert_eq!(
        post(Some(basic("alice", "pw"))).await.unwrap().status(),
        200
    );
    assert!(exporter.logs().contains("configuration reloaded"));
}

#[tokio::test]
async fn rate_limit_answers_429_once_the_burst_is_spent() {
    let web = WebDir::new();
    // One token an hour: nothing refills during the test.
    let path = web.write(
        "web.yml",
        "rate_limit:\n  interval: 1h\n  burst: 2\nhttp_server_config:\n  headers:\n    X-Frame-Options: sameorigin\n",
    );
    let exporter = start(&path, &[]);
    assert_eq!(exporter.get("/-/healthy").await.status(), 200);
    assert_eq!(exporter.get("/metrics").await.status(), 200);
    let limited = exporter.get("/metrics").await;
    assert_eq!(limited.status(), 429);
    assert_eq!(limited.headers()["x-frame-options"], "sameorigin");
    assert_eq!(exporter.get("/-/healthy").await.status(), 429);
}

#[tokio::test]
async fn mutual_tls_requires_a_certificate_from_the_client_ca() {
    let ca = Authority::new("server CA");
    let client_ca = Authority::new("client CA");
    let rogue_ca = Authority::new("rogue CA");
    let web = WebDir::new();
    web.write("clients.pem", &client_ca.pem());
    let yaml = format!(
        "{TLS_ONLY}  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: clients.pem\n"
    );
    let exporter = start(&web.with_server(&ca.server(), &yaml), &[]);
    let url = https(&exporter, "/metrics");

    let good = tls_client(&[&ca], Some(&client_ca.client()), &both_versions())
        .get(&url)
        .send()
        .await
        .expect("a client certificate from the client CA is accepted");
    assert_eq!(good.status(), 200);

    let missing = tls_client(&[&ca], None, &both_versions())
        .get(&url)
        .send()
        .await;
    assert!(missing.is_err(), "no client certificate: {missing:?}");

    let wrong = tls_client(&[&ca], Some(&rogue_ca.client()), &both_versions())
        .get(&url)
        .send()
        .await;
    assert!(wrong.is_err(), "certificate from another CA: {wrong:?}");

    // A server certificate is no client certificate, even from the right CA.
    let wrong_purpose = client_ca.issue(&["prometheus"], ExtendedKeyUsagePurpose::ServerAuth);
    let misused = tls_client(&[&ca], Some(&wrong_purpose), &both_versions())
        .get(&url)
        .send()
        .await;
    assert!(misused.is_err(), "server-auth certificate: {misused:?}");
}

#[tokio::test]
async fn verify_if_given_admits_anonymous_clients_but_not_wrong_certificates() {
    let ca = Authority::new("server CA");
    let client_ca = Authority::new("client CA");
    let web = WebDir::new();
    web.write("clients.pem", &client_ca.pem());
    let yaml = format!(
        "{TLS_ONLY}  client_auth_type: VerifyClientCertIfGiven\n  client_ca_file: clients.pem\n"
    );
    let exporter = start(&web.with_server(&ca.server(), &yaml), &[]);
    let url = https(&exporter, "/metrics");
    let anonymous = tls_client(&[&ca], None, &both_versions())
        .get(&url)
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 200);
    let wrong = tls_client(
        &[&ca],
        Some(&Authority::new("rogue").client()),
        &both_versions(),
    )
    .get(&url)
    .send()
    .await;
    assert!(wrong.is_err(), "{wrong:?}");
}

#[tokio::test]
async fn min_version_tls13_refuses_a_tls12_only_client() {
    let ca = Authority::new("web test CA");
    let web = WebDir::new();
    let yaml = format!("{TLS_ONLY}  min_version: TLS13\n");
    let exporter = start(&web.with_server(&ca.server(), &yaml), &[]);
    let url = https(&exporter, "/metrics");
    let old = tls_client(&[&ca], None, &[&rustls::version::TLS12])
        .get(&url)
        .send()
        .await;
    assert!(
        old.is_err(),
        "TLS 1.2 client against min_version TLS13: {old:?}"
    );
    let new = tls_client(&[&ca], None, &[&rustls::version::TLS13])
        .get(&url)
        .send()
        .await
        .unwrap();
    assert_eq!(new.status(), 200);
}

/// Every refused file exits 2 before listening, naming the file and the key.
#[test]
fn invalid_web_config_files_are_refused_at_start() {
    let ca = Authority::new("web test CA");
    let server = ca.server();
    let cases: &[(&str, &str, &str)] = &[
        (
            "TLS 1.1",
            "tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n  min_version: TLS11\n",
            "tls_server_config.min_version",
        ),
        (
            "unknown key",
            "tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n  ocsp_file: x\n",
            "ocsp_file",
        ),
        (
            "unknown top-level key",
            "basic_auth:\n  alice: x\n",
            "basic_auth",
        ),
        (
            "header not allowed",
            "http_server_config:\n  headers:\n    Server: atlas\n",
            "http_server_config.headers.Server",
        ),
        (
            "bad X-Frame-Options",
            "http_server_config:\n  headers:\n    X-Frame-Options: allow-from\n",
            "http_server_config.headers.X-Frame-Options",
        ),
        (
            "bad X-Content-Type-Options",
            "http_server_config:\n  headers:\n    X-Content-Type-Options: sniff\n",
            "http_server_config.headers.X-Content-Type-Options",
        ),
        (
            "not a bcrypt hash",
            "basic_auth_users:\n  alice: hunter2-in-clear\n",
            "basic_auth_users.alice",
        ),
        (
            "missing certificate file",
            "tls_server_config:\n  cert_file: nowhere.pem\n  key_file: server.key\n",
            "tls_server_config.cert_file",
        ),
        (
            "key without certificate",
            "tls_server_config:\n  key_file: server.key\n",
            "tls_server_config.cert_file",
        ),
        (
            "unknown client_auth_type",
            "tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n  client_auth_type: Maybe\n",
            "tls_server_config.client_auth_type",
        ),
        (
            "verification without a CA",
            "tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n  client_auth_type: RequireAndVerifyClientCert\n",
            "tls_server_config.client_ca_file",
        ),
        (
            "curve rustls lacks",
            "tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n  curve_preferences: [CurveP521]\n",
            "tls_server_config.curve_preferences",
        ),
        ("not YAML", "tls_server_config: [unclosed\n", "web.yml"),
    ];
    for (what, yaml, needle) in cases {
        let web = WebDir::new();
        let path = web.with_server(&server, yaml);
        let config = web.write("atlas.toml", CONFIG);
        let (status, _, stderr) = run_binary(
            &[
                "--config.file",
                config.to_str().unwrap(),
                "--web.config.file",
                path.to_str().unwrap(),
            ],
            &[],
        );
        assert_eq!(status.code(), Some(2), "{what}: {stderr}");
        assert!(
            stderr.contains(needle),
            "{what}: no {needle:?} in:\n{stderr}"
        );
        assert!(
            stderr.contains(path.to_str().unwrap()),
            "{what}: the file is not named:\n{stderr}"
        );
        assert!(!stderr.contains("hunter2-in-clear"), "{what}: {stderr}");
    }

    let web = WebDir::new();
    let config = web.write("atlas.toml", CONFIG);
    let missing = web.path("absent.yml");
    let (status, _, stderr) = run_binary(
        &[
            "--config.file",
            config.to_str().unwrap(),
            "--web.config.file",
            missing.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("absent.yml"), "{stderr}");
}

/// Polls `condition` until it holds, failing with `what` and the logs after 20 s.
async fn eventually(exporter: &Exporter, what: &str, mut condition: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !condition().await {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}; logs:\n{}",
            exporter.logs()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn certificates_are_reloaded_when_the_files_change() {
    let old_ca = Authority::new("old CA");
    let new_ca = Authority::new("new CA");
    let old = old_ca.server();
    let new = new_ca.server();
    let web = WebDir::new();
    let exporter = start(&web.with_server(&old, TLS_ONLY), &[]);
    let client = tls_client(&[&old_ca, &new_ca], None, &both_versions());
    let url = https(&exporter, "/metrics");
    let served = async || match client.get(&url).send().await {
        Ok(response) if response.status() == 200 => Some(peer_certificate(&response)),
        _ => None,
    };
    assert_eq!(served().await, Some(der_of(&old.cert)));

    // Key first, then certificate: in between, the pair does not match and the old one must stay.
    web.write("server.key", &new.key);
    web.write("server.pem", &new.cert);
    eventually(&exporter, "the new certificate", async || {
        served().await == Some(der_of(&new.cert))
    })
    .await;
    assert!(exporter.logs().contains("web configuration reloaded"));

    // A broken certificate file keeps the running one and says why.
    web.write("server.pem", "not a certificate\n");
    eventually(&exporter, "the reload error", async || {
        exporter
            .logs()
            .contains("tls_server_config.cert_file: no PEM certificate found")
    })
    .await;
    assert_eq!(served().await, Some(der_of(&new.cert)));
    let error_line = exporter
        .logs()
        .lines()
        .find(|line| line.contains("no PEM certificate found"))
        .map(str::to_owned)
        .unwrap_or_default();
    assert!(error_line.contains("ERROR"), "{error_line}");
    assert!(
        error_line.contains("previous web configuration stays in force"),
        "{error_line}"
    );
}
