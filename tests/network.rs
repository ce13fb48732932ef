//! Corporate networks (issue 15): the real binary polls the simulator through real proxies from
//! Debian, each run as a child process on a free loopback port with a generated configuration.
//!
//! - tinyproxy, a forward proxy: `[atlas] proxy_url` (with credentials tinyproxy checks) and
//!   `HTTP_PROXY`/`http_proxy` carry every request, counted in tinyproxy's log against the
//!   simulator's; a matching `NO_PROXY` entry bypasses the proxy; `HTTPS_PROXY` tunnels (CONNECT) to
//!   the simulator's TLS mode, whose self-signed certificate `ca_file` makes trusted.
//! - mitmproxy, a TLS-inspecting proxy: with its CA as `ca_file` (added to the system's roots, or
//!   alone with `ca_only`) the polls succeed through it; without, each is a counted, logged TLS
//!   failure that never reaches the simulator.
//!
//! The children's environment is cleared (`util::Exporter`), so `NO_PROXY` is empty unless set: loopback
//! is not exempt by default, as with curl. Without tinyproxy or mitmdump on `PATH` a test prints
//! `SKIPPED (no tinyproxy)` and passes, so a developer without them can still run `cargo test`;
//! `ATLAS_REQUIRE_NETWORK_TOOLS=1` (set by `.ci/run`) turns that skip into a failure.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use atlas_sim::{SimInvitation, SimOrg, Simulator, World};
use base64::Engine as _;

use crate::util::{Exporter, Exposition, run_binary, write_temp};

const ORG: &str = "aaaaaaaaaaaaaaaaaaaaaaa1";
const CLIENT_ID: &str = "mdb_sa_id_network";
const CLIENT_SECRET: &str = "mdb_sa_sk_NETWORK-secret-do-not-leak";
const PROXY_USER: &str = "proxyuser";
const PROXY_PASSWORD: &str = "Pr0xy-password-do-not-leak";
const PENDING: f64 = 3.0;
/// A loopback port nothing listens on: a proxy there refuses every connection.
const DEAD_PROXY: &str = "http://127.0.0.1:9";

fn world() -> World {
    let invitations = (0..PENDING as usize)
        .map(|i| SimInvitation::sent_ago(format!("{i:024x}"), format!("n{i}@example.com"), 3600))
        .collect();
    World {
        orgs: vec![SimOrg::new(ORG, "Networked", invitations)],
        service_accounts: vec![(CLIENT_ID.into(), CLIENT_SECRET.into())],
        ..World::default()
    }
}

/// The exporter's configuration: one organisation polled every second, `atlas` lines added.
fn config(base_url: &str, atlas: &str) -> String {
    format!(
        "[auth]\nclient_id = \"{CLIENT_ID}\"\nclient_secret = \"{CLIENT_SECRET}\"\n\
         [atlas]\nbase_url = \"{base_url}\"\nsource = \"invites\"\ntimeout = \"5s\"\n{atlas}\n\
         [poll]\ninterval = \"1s\"\njitter = 0.0\n\
         [[orgs]]\nid = \"{ORG}\"\n"
    )
}

fn invites_path() -> String {
    format!("/api/atlas/v2/orgs/{ORG}/invites")
}

/// Successful listings, and the exposition once there are at least `polls` with the data.
async fn wait_for_polls(exporter: &Exporter, polls: f64) -> Exposition {
    exporter
        .wait_for_metrics("successful polls", |m| {
            m.get("atlas_invites_pending", &[("org_id", ORG)]) == Some(PENDING)
                && m.sum(
                    "atlas_invites_api_requests_total",
                    &[("endpoint", "list_org_invites"), ("code", "200")],
                ) >= polls
        })
        .await
}

/// The listings the simulator answered, once the exporter is gone and nothing is in flight.
fn simulator_listings(simulator: &Simulator) -> usize {
    std::thread::sleep(Duration::from_millis(300));
    simulator
        .requests()
        .iter()
        .filter(|request| request.path == invites_path())
        .count()
}

/// Neither the client secret nor the proxy's password, in any form, in anything the exporter emitted.
fn assert_no_secret(outputs: &[&str]) {
    let engine = base64::engine::general_purpose::STANDARD;
    let proxy_basic = engine.encode(format!("{PROXY_USER}:{PROXY_PASSWORD}"));
    let client_basic = engine.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"));
    for output in outputs {
        for secret in [CLIENT_SECRET, PROXY_PASSWORD, &proxy_basic, &client_basic] {
            assert!(!output.contains(secret), "a secret leaked:\n{output}");
        }
        let lower = output.to_lowercase();
        for header in ["authorization", "basic "] {
            assert!(!lower.contains(header), "{header:?} appears in:\n{output}");
        }
    }
}

/// Whether `tool` is on `PATH`. When it is not: a failure under `ATLAS_REQUIRE_NETWORK_TOOLS=1`,
/// else a printed skip.
fn have(tool: &str, package: &str) -> bool {
    let found = std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(tool).is_file()));
    let line = format!("SKIPPED (no {tool}): apt-get install {package} to run this test");
    if !found && std::env::var("ATLAS_REQUIRE_NETWORK_TOOLS").as_deref() == Ok("1") {
        panic!("{line}; ATLAS_REQUIRE_NETWORK_TOOLS=1 requires it");
    }
    if !found {
        println!("{line}");
        eprintln!("{line}");
    }
    found
}

/// A proxy running as a child process, its output in a log file; killed on drop.
struct Proxy {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
    log: PathBuf,
}

impl Proxy {
    /// Starts `program` with `args` (`{port}` and `{dir}` replaced), waits for the port to accept.
    fn start(
        program: &str,
        args: &[&str],
        log_name: &str,
        setup: impl FnOnce(&Path, u16),
    ) -> Proxy {
        let dir = tempfile::tempdir().unwrap();
        // Free now; taken by the proxy a moment later, nothing else on this machine binds it first.
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        setup(dir.path(), port);
        let output = std::fs::File::create(dir.path().join("output.txt")).unwrap();
        let args: Vec<String> = args
            .iter()
            .map(|arg| {
                arg.replace("{port}", &port.to_string())
                    .replace("{dir}", dir.path().to_str().unwrap())
            })
            .collect();
        let child = Command::new(program)
            .args(&args)
            // mitmdump is Python: unbuffered, so that each flow is in the log when it is read.
            .env("PYTHONUNBUFFERED", "1")
            .stdin(Stdio::null())
            .stdout(output.try_clone().unwrap())
            .stderr(output)
            .spawn()
            .unwrap_or_else(|error| panic!("start {program}: {error}"));
        let log = dir.path().join(log_name);
        let mut proxy = Proxy {
            child,
            port,
            dir,
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = proxy.child.try_wait() {
                panic!("{program} exited with {status}:\n{}", proxy.output());
            }
            assert!(
                Instant::now() < deadline,
                "{program} did not listen:\n{}",
                proxy.output()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        proxy
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn output(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("output.txt")).unwrap_or_default()
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The lines of the proxy's log that contain `needle`.
    fn count(&self, needle: &str) -> usize {
        self.log()
            .lines()
            .filter(|line| line.contains(needle))
            .count()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// tinyproxy in the foreground, logging every request line; with `auth`, it requires those
/// credentials (Basic) and answers 401 without them.
fn tinyproxy(auth: Option<(&str, &str)>) -> Proxy {
    Proxy::start(
        "tinyproxy",
        &["-d", "-c", "{dir}/tinyproxy.conf"],
        "tinyproxy.log",
        |dir, port| {
            let auth = auth.map_or_else(String::new, |(user, password)| {
                format!("BasicAuth {user} {password}\n")
            });
            let conf = format!(
                "Port {port}\nListen 127.0.0.1\nTimeout 30\nMaxClients 50\nLogLevel Info\n\
             LogFile \"{}\"\n{auth}",
                dir.join("tinyproxy.log").display()
            );
            std::fs::write(dir.join("tinyproxy.conf"), conf).unwrap();
        },
    )
}

/// A forwarded request for `path` in tinyproxy's log: `Request (file descriptor 5): GET http://…`.
fn forwarded(simulator: &Simulator, method: &str, path: &str) -> String {
    format!("): {method} {}{path} HTTP/1.1", simulator.base_url())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_url_with_credentials_carries_every_request_and_overrides_the_environment() {
    if !have("tinyproxy", "tinyproxy") {
        return;
    }
    let proxy = tinyproxy(Some((PROXY_USER, PROXY_PASSWORD)));
    let simulator = Simulator::start(world()).await.unwrap();
    let url = format!(
        "http://{PROXY_USER}:{PROXY_PASSWORD}@127.0.0.1:{}",
        proxy.port
    );
    let (_config_dir, config_file) = write_temp(
        "atlas.toml",
        &config(&simulator.base_url(), &format!("proxy_url = \"{url}\"")),
    );
    // The environment names a proxy that refuses every connection: proxy_url wins over it.
    let exporter = Exporter::spawn(
        &["--config.file", config_file.to_str().unwrap()],
        &[("HTTP_PROXY", DEAD_PROXY), ("NO_PROXY", "")],
        tempfile::tempdir().unwrap(),
    );
    let m = wait_for_polls(&exporter, 2.0).await;
    let page = exporter.get("/").await.text().await.unwrap();
    let logs = exporter.logs();
    drop(exporter);
    let listings = simulator_listings(&simulator);
    assert!(listings >= 2);
    assert_eq!(
        proxy.count(&forwarded(&simulator, "GET", &invites_path())),
        listings,
        "every listing went through tinyproxy:\n{}",
        proxy.log()
    );
    assert_eq!(
        proxy.count(&forwarded(&simulator, "POST", "/api/oauth/token")),
        1
    );
    println!("proxy_url: {listings} listings and 1 token request, all in tinyproxy's log");
    assert_eq!(proxy.count("Unauthorized"), 0, "{}", proxy.log());
    assert_no_secret(&[&logs, &m.text, &page]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_proxy_from_the_environment_carries_every_request_in_either_case() {
    if !have("tinyproxy", "tinyproxy") {
        return;
    }
    for variable in ["HTTP_PROXY", "http_proxy"] {
        let proxy = tinyproxy(None);
        let simulator = Simulator::start(world()).await.unwrap();
        let url = proxy.url();
        let exporter = Exporter::start_with(
            &config(&simulator.base_url(), ""),
            &[],
            &[(variable, url.as_str()), ("NO_PROXY", "")],
        );
        wait_for_polls(&exporter, 2.0).await;
        drop(exporter);
        let listings = simulator_listings(&simulator);
        assert!(listings >= 2);
        assert_eq!(
            proxy.count(&forwarded(&simulator, "GET", &invites_path())),
            listings,
            "{variable}: every listing went through tinyproxy:\n{}",
            proxy.log()
        );
        println!("{variable}: {listings} listings, all in tinyproxy's log");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_matching_no_proxy_entry_bypasses_the_proxy_from_the_environment_or_proxy_url() {
    if !have("tinyproxy", "tinyproxy") {
        return;
    }
    let proxy = tinyproxy(None);
    let simulator = Simulator::start(world()).await.unwrap();
    let url = proxy.url();
    let from_environment = [("HTTP_PROXY", url.as_str()), ("NO_PROXY", "127.0.0.1")];
    let exporter = Exporter::start_with(&config(&simulator.base_url(), ""), &[], &from_environment);
    wait_for_polls(&exporter, 2.0).await;
    drop(exporter);
    // curl's forms: a list, spaces, a CIDR block, lower case.
    let configured = config(&simulator.base_url(), &format!("proxy_url = \"{url}\""));
    let exporter = Exporter::start_with(
        &configured,
        &[],
        &[("no_proxy", "example.com, 127.0.0.0/8")],
    );
    wait_for_polls(&exporter, 2.0).await;
    drop(exporter);
    assert!(simulator_listings(&simulator) >= 4);
    // Not one request line (the one connection in the log is `Proxy::start`'s readiness probe).
    assert_eq!(
        proxy.count("Request (file descriptor"),
        0,
        "{}",
        proxy.log()
    );
}

fn self_signed_certificate() -> (String, String) {
    let certified =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .unwrap();
    (certified.cert.pem(), certified.signing_key.serialize_pem())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_proxy_tunnels_to_a_private_ca_trusted_through_ca_file() {
    if !have("tinyproxy", "tinyproxy") {
        return;
    }
    let proxy = tinyproxy(None);
    let (cert, key) = self_signed_certificate();
    let simulator = Simulator::start_tls(world(), &cert, &key).await.unwrap();
    let (_ca_dir, ca_file) = write_temp("private-ca.pem", &cert);
    let url = proxy.url();
    let environment = [("HTTPS_PROXY", url.as_str()), ("NO_PROXY", "")];
    for atlas in [
        format!("ca_file = {:?}", ca_file.to_str().unwrap()),
        format!("ca_file = {:?}\nca_only = true", ca_file.to_str().unwrap()),
    ] {
        let exporter =
            Exporter::start_with(&config(&simulator.base_url(), &atlas), &[], &environment);
        wait_for_polls(&exporter, 2.0).await;
    }
    let tunnel = format!("): CONNECT {} HTTP/1.1", simulator.local_addr());
    let tunnels = proxy.count(&tunnel);
    let listings = simulator_listings(&simulator);
    assert!(tunnels >= 2 && listings >= 4, "{}", proxy.log());
    println!("HTTPS_PROXY: {tunnels} CONNECT tunnels carried {listings} listings");
}

/// mitmdump in regular proxy mode, its CA generated in its own directory, trusting the simulator's
/// self-signed certificate upstream (`--ssl-insecure`: it is the test's proxy).
fn mitmdump() -> Proxy {
    let args = [
        "--listen-host",
        "127.0.0.1",
        "--listen-port",
        "{port}",
        "--set",
        "confdir={dir}",
        "--ssl-insecure",
    ];
    let proxy = Proxy::start("mitmdump", &args, "output.txt", |_, _| {});
    assert!(
        proxy.ca().is_file(),
        "mitmdump made no CA:\n{}",
        proxy.output()
    );
    proxy
}

impl Proxy {
    /// mitmproxy's CA certificate, what `~/.mitmproxy/mitmproxy-ca-cert.pem` is by default.
    fn ca(&self) -> PathBuf {
        self.dir.path().join("mitmproxy-ca-cert.pem")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_inspecting_proxy_is_trusted_with_its_ca_file_and_never_bypassed_without() {
    if !have("mitmdump", "mitmproxy") {
        return;
    }
    let mitm = mitmdump();
    let (cert, key) = self_signed_certificate();
    let simulator = Simulator::start_tls(world(), &cert, &key).await.unwrap();
    let url = mitm.url();
    let environment = [("HTTPS_PROXY", url.as_str()), ("NO_PROXY", "")];

    // Without mitmproxy's CA: every call fails the handshake with mitmproxy, counted as TLS.
    let exporter = Exporter::start_with(&config(&simulator.base_url(), ""), &[], &environment);
    let m = exporter
        .wait_for_metrics("TLS failures counted", |m| {
            m.sum("atlas_invites_api_errors_total", &[("error_code", "TLS")]) >= 2.0
        })
        .await;
    assert!(!m.has("atlas_invites_pending"));
    let logs = exporter.logs();
    drop(exporter);
    let failed: Vec<&str> = logs
        .lines()
        .filter(|line| line.contains("poll failed"))
        .collect();
    assert!(
        !failed.is_empty()
            && failed
                .iter()
                .all(|line| line.contains("error_code=TLS") && line.contains("UnknownIssuer")),
        "{failed:?}"
    );
    assert!(
        simulator.requests().is_empty(),
        "nothing got past mitmproxy"
    );
    assert_no_secret(&[&logs, &m.text]);

    // Its CA added to the system's roots, through HTTPS_PROXY; then alone, through proxy_url.
    let ca = mitm.ca();
    let ca = ca.to_str().unwrap();
    let exporter = Exporter::start_with(
        &config(&simulator.base_url(), &format!("ca_file = {ca:?}")),
        &[],
        &environment,
    );
    wait_for_polls(&exporter, 2.0).await;
    drop(exporter);
    let only = format!("ca_file = {ca:?}\nca_only = true\nproxy_url = \"{url}\"");
    let exporter = Exporter::start_with(&config(&simulator.base_url(), &only), &[], &[]);
    let m = wait_for_polls(&exporter, 2.0).await;
    let logs = exporter.logs();
    drop(exporter);
    assert!(simulator_listings(&simulator) >= 4);
    // mitmdump shortens long URLs in its log: every GET under /orgs/, against the simulator's.
    let orgs = "/api/atlas/v2/orgs/";
    let gets = simulator
        .requests()
        .iter()
        .filter(|request| request.method == "GET" && request.path.starts_with(orgs))
        .count();
    assert_eq!(
        mitm.count(&format!(": GET {}{orgs}", simulator.base_url())),
        gets,
        "every API call went through mitmproxy:\n{}",
        mitm.log()
    );
    assert_eq!(
        mitm.count(&format!(": POST {}/api/oauth/token", simulator.base_url())),
        2,
        "one token per exporter that trusted mitmproxy"
    );
    println!("mitmproxy: {gets} GETs and 2 token requests intercepted, all with ca_file");
    assert_no_secret(&[&logs, &m.text]);
}

#[test]
fn an_invalid_proxy_url_stops_the_exporter_without_showing_it() {
    let secret_url = format!("socks5://{PROXY_USER}:{PROXY_PASSWORD}@proxy.example:1080");
    let base = config("https://cloud.mongodb.com", "");
    for (atlas, environment) in [
        (format!("proxy_url = \"{secret_url}\""), None),
        (format!("proxy_url = [\"{secret_url}\"]"), None),
        (
            String::new(),
            Some(("ATLAS_EXPORTER_ATLAS__PROXY_URL", secret_url.as_str())),
        ),
    ] {
        let toml = base.replace("timeout = ", &format!("{atlas}\ntimeout = "));
        let (_dir, path) = write_temp("atlas.toml", &toml);
        let path = path.to_str().unwrap();
        for args in [
            vec!["--config.file", path],
            vec!["check", "--config.file", path],
        ] {
            let env: Vec<(&str, &str)> = environment.into_iter().collect();
            let (status, stdout, stderr) = run_binary(&args, &env);
            // A configuration error, found before any call: exit code 2, naming the key.
            assert_eq!(
                status.code(),
                Some(2),
                "{args:?} {atlas} {env:?}: {stdout}{stderr}"
            );
            assert!(stderr.contains("atlas.proxy_url"), "{stderr}");
            assert!(
                !stdout.contains(PROXY_PASSWORD) && !stderr.contains(PROXY_PASSWORD),
                "{stdout}{stderr}"
            );
        }
    }
}

/// A CA file that cannot be used, or `ca_only` without one, is a configuration error: exit code 2,
/// every problem named by its key and source, for a start and for `check`.
#[test]
fn unusable_certificate_authorities_are_configuration_errors() {
    let dir = tempfile::tempdir().unwrap();
    let not_pem = dir.path().join("not-a-ca.pem");
    std::fs::write(&not_pem, "just text\n").unwrap();
    let missing = dir.path().join("missing.pem");
    let base = config("https://cloud.mongodb.com", "");
    for (atlas, key, says) in [
        (
            format!("ca_file = {:?}", missing.to_str().unwrap()),
            "atlas.ca_file",
            "cannot read",
        ),
        (
            format!("ca_file = {:?}", not_pem.to_str().unwrap()),
            "atlas.ca_file",
            "no PEM certificate",
        ),
        (
            "ca_only = true".to_owned(),
            "atlas.ca_only",
            "without a CA file",
        ),
    ] {
        let toml = base.replace("timeout = ", &format!("{atlas}\ntimeout = "));
        let (_dir, path) = write_temp("atlas.toml", &toml);
        let path = path.to_str().unwrap();
        for args in [
            vec!["--config.file", path],
            vec!["check", "--config.file", path],
        ] {
            let (status, stdout, stderr) = run_binary(&args, &[]);
            assert_eq!(status.code(), Some(2), "{args:?} {atlas}: {stdout}{stderr}");
            let line = stderr
                .lines()
                .find(|line| line.contains(key))
                .unwrap_or_else(|| panic!("{key} not named: {stderr}"));
            assert!(line.contains(says) && line.contains("atlas.toml"), "{line}");
        }
    }
}
