//! Test harness: runs the real binary against the simulator over real sockets, scrapes it, parses
//! the exposition.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_atlas-invites-exporter");

/// A running exporter process. Killed on drop.
pub struct Exporter {
    child: Child,
    pub addr: SocketAddr,
    logs: Arc<Mutex<String>>,
    /// Built once: building a client loads the system's root certificates, which cost more CPU
    /// than everything else a scrape loop does.
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

/// Runs the binary to completion with the given arguments and environment.
pub fn run_binary(args: &[&str], env: &[(&str, &str)]) -> (ExitStatus, String, String) {
    let output = Command::new(BIN)
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("run the exporter binary");
    (
        output.status,
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Writes `contents` to a file in a fresh temporary directory.
pub fn write_temp(name: &str, contents: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::File::create(&path)
        .unwrap()
        .write_all(contents.as_bytes())
        .unwrap();
    (dir, path)
}

impl Exporter {
    /// Starts the exporter with this TOML configuration on 127.0.0.1:0, at debug log level.
    pub fn start(config_toml: &str) -> Exporter {
        Exporter::start_with(config_toml, &[], &[])
    }

    pub fn start_with(config_toml: &str, extra_args: &[&str], env: &[(&str, &str)]) -> Exporter {
        let (dir, path) = write_temp("atlas.toml", config_toml);
        let mut args = vec!["--config.file", path.to_str().unwrap()];
        args.extend_from_slice(extra_args);
        Exporter::spawn(&args, env, dir)
    }

    /// Starts the binary with exactly these arguments plus a loopback port-0 listen address.
    pub fn spawn(args: &[&str], env: &[(&str, &str)], dir: tempfile::TempDir) -> Exporter {
        let mut child = Command::new(BIN)
            .args(args)
            .args([
                "--web.listen-address",
                "127.0.0.1:0",
                "--log.level",
                "debug",
            ])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the exporter binary");
        let stderr = child.stderr.take().unwrap();
        let logs = Arc::new(Mutex::new(String::new()));
        let (address_tx, address_rx) = std::sync::mpsc::channel();
        let sink = logs.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(rest) = line
                    .split("serving metrics at http://")
                    .nth(1)
                    .or_else(|| line.split("serving metrics at https://").nth(1))
                    && let Some(address) = rest.split("/metrics").next()
                {
                    let _ = address_tx.send(address.to_owned());
                }
                let mut logs = sink.lock().unwrap();
                logs.push_str(&line);
                logs.push('\n');
            }
        });
        let address = match address_rx.recv_timeout(Duration::from_secs(20)) {
            Ok(address) => address,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("exporter did not start; logs:\n{}", logs.lock().unwrap());
            }
        };
        Exporter {
            child,
            addr: address.parse().expect("listen address in the log"),
            logs,
            http: fresh_connections(client_builder()),
            _dir: dir,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGHUP: the exporter reloads its configuration.
    pub fn sighup(&self) {
        let status = Command::new("kill")
            .args(["-HUP", &self.pid().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn logs(&self) -> String {
        self.logs.lock().unwrap().clone()
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(self.url(path))
            .send()
            .await
            .expect("request to the exporter")
    }

    pub async fn metrics(&self) -> String {
        let response = self.get("/metrics").await;
        assert_eq!(response.status(), 200);
        response.text().await.unwrap()
    }

    /// Waits for `/-/ready` to answer 200.
    pub async fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if self.get("/-/ready").await.status() == 200 {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "not ready in time; logs:\n{}",
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Scrapes until `condition` holds for the exposition, and returns it.
    pub async fn wait_for_metrics(
        &self,
        what: &str,
        condition: impl Fn(&Exposition) -> bool,
    ) -> Exposition {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let exposition = Exposition::parse(&self.metrics().await);
            if condition(&exposition) {
                return exposition;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; last scrape:\n{}\nlogs:\n{}",
                exposition.text,
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Sends SIGTERM and waits for the exit status, failing after `within`.
    pub fn terminate(&mut self, within: Duration) -> ExitStatus {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "exporter did not exit within {within:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Exporter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn client() -> reqwest::Client {
    client_builder().build().unwrap()
}

fn client_builder() -> reqwest::ClientBuilder {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().timeout(Duration::from_secs(10))
}

/// One connection per request, as if each request had a client of its own: no keep-alive
/// connection outlives a request to hold up a shutdown or a reload.
fn fresh_connections(builder: reqwest::ClientBuilder) -> reqwest::Client {
    builder.pool_max_idle_per_host(0).build().unwrap()
}

/// A parsed scrape: samples keyed by name and sorted labels.
pub struct Exposition {
    pub text: String,
    pub samples: BTreeMap<(String, Vec<(String, String)>), f64>,
}

impl Exposition {
    pub fn parse(text: &str) -> Exposition {
        let mut samples = BTreeMap::new();
        for line in text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
        {
            let (series, value) = line.rsplit_once(' ').expect("sample line has a value");
            let value: f64 = match value {
                "+Inf" | "inf" => f64::INFINITY,
                v => v.parse().unwrap_or_else(|_| panic!("bad value in {line}")),
            };
            let (name, labels) = match series.split_once('{') {
                Some((name, rest)) => (
                    name,
                    parse_labels(rest.strip_suffix('}').expect("closing brace")),
                ),
                None => (series, Vec::new()),
            };
            samples.insert((name.to_owned(), labels), value);
        }
        Exposition {
            text: text.to_owned(),
            samples,
        }
    }

    /// The value of the series with exactly these labels.
    pub fn get(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let mut labels: Vec<(String, String)> = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        labels.sort();
        self.samples.get(&(name.to_owned(), labels)).copied()
    }

    /// Every series of the metric, as (labels, value).
    pub fn series(&self, name: &str) -> Vec<(&[(String, String)], f64)> {
        self.samples
            .iter()
            .filter(|((n, _), _)| n == name)
            .map(|((_, l), v)| (l.as_slice(), *v))
            .collect()
    }

    pub fn has(&self, name: &str) -> bool {
        self.samples.keys().any(|(n, _)| n == name)
    }

    /// The sum over every series of the metric whose labels include `filter`.
    pub fn sum(&self, name: &str, filter: &[(&str, &str)]) -> f64 {
        self.series(name)
            .into_iter()
            .filter(|(labels, _)| {
                filter
                    .iter()
                    .all(|(k, v)| labels.iter().any(|(lk, lv)| lk == k && lv == v))
            })
            .map(|(_, v)| v)
            .sum()
    }
}

fn parse_labels(text: &str) -> Vec<(String, String)> {
    let mut labels = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        let name: String = chars.by_ref().take_while(|c| *c != '=').collect();
        if name.is_empty() {
            break;
        }
        assert_eq!(chars.next(), Some('"'));
        let mut value = String::new();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some('n') => value.push('\n'),
                    Some(other) => value.push(other),
                    None => panic!("dangling escape"),
                },
                '"' => break,
                c => value.push(c),
            }
        }
        labels.push((name.trim_start_matches(',').to_owned(), value));
        if chars.peek() == Some(&',') {
            chars.next();
        }
    }
    labels.sort();
    labels
}
