//! The exporter's own metrics: build info, API latency, OAuth token fetches and the `process_*` family.
//!
//! These live in a small `prometheus` registry encoded at scrape time: a few dozen series whose values
//! move between polls (process CPU and memory), unlike the per-organisation series in the snapshot.

use prometheus::{
    Encoder, Gauge, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec,
    Opts, Registry, TextEncoder,
};

use crate::types::Call;

/// Latency buckets for Atlas calls: from a fast regional answer to the 30 s default timeout.
const DURATION_BUCKETS: [f64; 11] = [0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0];

pub struct SelfMetrics {
    registry: Registry,
    request_duration: HistogramVec,
    oauth_tokens: IntCounterVec,
    reload_successful: IntGauge,
    reload_success_time: Gauge,
    http_connections_open: IntGauge,
    http_connections_rejected: IntCounter,
}

impl SelfMetrics {
    /// `endpoints`: the `endpoint` label values whose latency series exist from the start.
    pub fn new(endpoints: &[&'static str]) -> SelfMetrics {
        let registry = Registry::new();
        let request_duration = HistogramVec::new(
            HistogramOpts::new(
                "atlas_invites_api_request_duration_seconds",
                "Duration of Atlas API calls, a Digest challenge answered inside the call included.",
            )
            .buckets(DURATION_BUCKETS.to_vec()),
            &["endpoint"],
        )
        .expect("static metric definition is valid");
        let oauth_tokens = IntCounterVec::new(
            Opts::new(
                "atlas_invites_oauth_tokens_total",
                "OAuth access token fetches by result.",
            ),
            &["result"],
        )
        .expect("static metric definition is valid");
        let build_info = IntGauge::with_opts(
            Opts::new(
                "atlas_invites_build_info",
                "Build information of the exporter; always 1.",
            )
            .const_label("version", crate::VERSION)
            .const_label("revision", crate::REVISION),
        )
        .expect("static metric definition is valid");
        build_info.set(1);
        for result in ["success", "failure"] {
            oauth_tokens.with_label_values(&[result]);
        }
        for endpoint in endpoints {
            request_duration.with_label_values(&[*endpoint]);
        }
        let reload_successful = IntGauge::new(
            "atlas_invites_config_last_reload_successful",
            "1 if the last configuration reload succeeded (or none was asked for), 0 if it was rejected.",
        )
        .expect("static metric definition is valid");
        reload_successful.set(1);
        let reload_success_time = Gauge::new(
            "atlas_invites_config_last_reload_success_timestamp_seconds",
            "When the running configuration was loaded: start, or the last successful reload.",
        )
        .expect("static metric definition is valid");
        reload_success_time.set(now_seconds());
        let http_connections = IntGaugeVec::new(
            Opts::new(
                "atlas_invites_http_connections",
                "Connections to the exporter's listener by state; at most --web.max-connections open.",
            ),
            &["state"],
        )
        .expect("static metric definition is valid");
        let http_connections_rejected = IntCounter::new(
            "atlas_invites_http_connections_rejected_total",
            "Connections closed because --web.max-connections were open: refused unread, or an older \
             one that had not sent a whole request, closed to make room.",
        )
        .expect("static metric definition is valid");
        let collectors: [Box<dyn prometheus::core::Collector>; 7] = [
            Box::new(request_duration.clone()),
            Box::new(oauth_tokens.clone()),
            Box::new(build_info),
            Box::new(reload_successful.clone()),
            Box::new(reload_success_time.clone()),
            Box::new(http_connections.clone()),
            Box::new(http_connections_rejected.clone()),
        ];
        for collector in collectors {
            registry
                .register(collector)
                .expect("metric names are distinct");
        }
        #[cfg(target_os = "linux")]
        if let Err(error) = registry.register(Box::new(ProcessMetrics::new())) {
            tracing::warn!(%error, "process metrics unavailable");
        }
        SelfMetrics {
            registry,
            request_duration,
            oauth_tokens,
            reload_successful,
            reload_success_time,
            http_connections_open: http_connections.with_label_values(&["open"]),
            http_connections_rejected,
        }
    }

    /// The listener's series: open connections, and those closed for the connection bound.
    pub fn http_connections(&self) -> (IntGauge, IntCounter) {
        (
            self.http_connections_open.clone(),
            self.http_connections_rejected.clone(),
        )
    }

    /// Records the outcome of a configuration reload.
    pub fn observe_reload(&self, succeeded: bool) {
        self.reload_successful.set(i64::from(succeeded));
        if succeeded {
            self.reload_success_time.set(now_seconds());
        }
    }

    /// Records the calls of one poll.
    pub fn observe_calls(&self, calls: &[Call]) {
        for call in calls {
            self.request_duration
                .with_label_values(&[call.endpoint])
                .observe(call.duration.as_secs_f64());
            if call.token_fetch {
                let result = if call.error_code.is_none() {
                    "success"
                } else {
                    "failure"
                };
                self.oauth_tokens.with_label_values(&[result]).inc();
            }
        }
    }

    /// Appends the text exposition of these metrics to `out`.
    pub fn render(&self, out: &mut Vec<u8>) {
        if let Err(error) = TextEncoder::new().encode(&self.registry.gather(), out) {
            tracing::error!(%error, "cannot encode the exporter's own metrics");
        }
    }
}

fn now_seconds() -> f64 {
    jiff::Timestamp::now().as_millisecond() as f64 / 1000.0
}

/// The prometheus crate's `process_*` family with `process_cpu_seconds_total` read at its real
/// precision: the crate divides clock ticks by `CLK_TCK` as integers, so 1.29 s of CPU shows as 1,
/// and a rate over a quiet exporter's few ticks a minute is mostly zeros and occasional whole seconds.
#[cfg(target_os = "linux")]
struct ProcessMetrics {
    inner: prometheus::process_collector::ProcessCollector,
    cpu: prometheus::core::Desc,
    /// Clock ticks per second; `None` if the system does not say, and the series is then left out.
    ticks_per_second: Option<f64>,
}

#[cfg(target_os = "linux")]
const CPU_SECONDS: &str = "process_cpu_seconds_total";

#[cfg(target_os = "linux")]
impl ProcessMetrics {
    fn new() -> ProcessMetrics {
        // SAFETY: sysconf reads a constant of the system and has no preconditions.
        let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
        ProcessMetrics {
            inner: prometheus::process_collector::ProcessCollector::for_self(),
            cpu: prometheus::core::Desc::new(
                CPU_SECONDS.to_owned(),
                "Total user and system CPU time spent in seconds.".to_owned(),
                Vec::new(),
                std::collections::HashMap::new(),
            )
            .expect("static metric definition is valid"),
            ticks_per_second: (ticks > 0).then_some(ticks as f64),
        }
    }

    fn cpu_seconds(&self) -> Option<f64> {
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        Some(cpu_ticks(&stat)? as f64 / self.ticks_per_second?)
    }
}

#[cfg(target_os = "linux")]
impl prometheus::core::Collector for ProcessMetrics {
    fn desc(&self) -> Vec<&prometheus::core::Desc> {
        let mut descs: Vec<_> = self
            .inner
            .desc()
            .into_iter()
            .filter(|desc| desc.fq_name != CPU_SECONDS)
            .collect();
        descs.push(&self.cpu);
        descs
    }

    fn collect(&self) -> Vec<prometheus::proto::MetricFamily> {
        use prometheus::proto::{Counter, Metric, MetricFamily, MetricType};
        let mut families: Vec<MetricFamily> = self
            .inner
            .collect()
            .into_iter()
            .filter(|family| family.name() != CPU_SECONDS)
            .collect();
        if let Some(seconds) = self.cpu_seconds() {
            let mut counter = Counter::default();
            counter.set_value(seconds);
            let mut metric = Metric::default();
            metric.set_counter(counter);
            let mut family = MetricFamily::default();
            family.set_name(CPU_SECONDS.to_owned());
            family.set_help(self.cpu.help.clone());
            family.set_field_type(MetricType::COUNTER);
            family.set_metric(vec![metric]);
            families.push(family);
        }
        families
    }
}

/// User plus system clock ticks from the text of `/proc/<pid>/stat`: fields 14 and 15, counted after
/// the command name, which is in parentheses and may itself hold spaces and parentheses.
#[cfg(target_os = "linux")]
fn cpu_ticks(stat: &str) -> Option<u64> {
    let (_, after_name) = stat.rsplit_once(')')?;
    // The first field after the name is the third of the line (state).
    let mut fields = after_name.split_ascii_whitespace().skip(11);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    user.checked_add(system)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn token_fetches_are_counted_by_result_and_latency_by_endpoint() {
        let metrics = SelfMetrics::new(&["list_org_invites", "oauth_token"]);
        let call = |endpoint, error_code: Option<&str>| Call {
            endpoint,
            status: Some(200),
            error_code: error_code.map(str::to_owned),
            duration: Duration::from_millis(300),
            token_fetch: endpoint == "oauth_token",
        };
        metrics.observe_calls(&[
            call("oauth_token", None),
            call("oauth_token", Some("INVALID_CLIENT")),
            call("list_org_invites", None),
        ]);
        let mut out = Vec::new();
        metrics.render(&mut out);
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains("atlas_invites_oauth_tokens_total{result=\"success\"} 1\n"),
            "{text}"
        );
        assert!(text.contains("atlas_invites_oauth_tokens_total{result=\"failure\"} 1\n"));
        assert!(text.contains(
            "atlas_invites_api_request_duration_seconds_bucket{endpoint=\"list_org_invites\",le=\"0.5\"} 1\n"
        ));
        assert!(text.contains("atlas_invites_api_request_duration_seconds_bucket{endpoint=\"list_org_invites\",le=\"0.25\"} 0\n"));
        assert!(text.contains(&format!(
            "atlas_invites_build_info{{revision=\"{}\",version=\"{}\"}} 1",
            crate::REVISION,
            crate::VERSION
        )));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn cpu_ticks_are_read_after_the_command_name() {
        let stat = "4242 (a) b (c)) S 1 4242 4242 0 -1 4194560 1000 0 0 0 129 31 0 0 20 0 3 0 900 \
                    1000000 500 18446744073709551615";
        assert_eq!(cpu_ticks(stat), Some(160));
        assert_eq!(cpu_ticks("4242 (x) S 1 2"), None);
        assert_eq!(cpu_ticks(""), None);
    }

    /// The exported value is /proc's ticks over CLK_TCK, not that quotient rounded down.
    #[cfg(target_os = "linux")]
    #[test]
    fn process_cpu_seconds_keep_their_fraction() {
        // SAFETY: sysconf reads a constant of the system and has no preconditions.
        let ticks_per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
        let read_ticks =
            || cpu_ticks(&std::fs::read_to_string("/proc/self/stat").unwrap()).unwrap();
        // Burn CPU until the total is not a whole number of seconds: rounded down, it would differ.
        let mut x = 0u64;
        while read_ticks() % ticks_per_second as u64 == 0 {
            for i in 0..100_000u64 {
                x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(i));
            }
        }
        let before = read_ticks() as f64 / ticks_per_second;
        let metrics = SelfMetrics::new(&[]);
        let mut out = Vec::new();
        metrics.render(&mut out);
        let after = read_ticks() as f64 / ticks_per_second;
        let text = String::from_utf8(out).unwrap();
        let line = text
            .lines()
            .find(|line| line.starts_with("process_cpu_seconds_total "))
            .unwrap_or_else(|| panic!("no process_cpu_seconds_total in:\n{text}"));
        let value: f64 = line.split(' ').nth(1).unwrap().parse().unwrap();
        assert!(
            (before..=after).contains(&value),
            "{value} not within [{before}, {after}]"
        );
        assert_eq!(
            text.matches("# TYPE process_cpu_seconds_total counter")
                .count(),
            1
        );
        // The other process series are still there.
        for name in [
            "process_resident_memory_bytes",
            "process_open_fds",
            "process_start_time_seconds",
        ] {
            assert!(
                text.contains(&format!("\n{name} ")),
                "no {name} in:\n{text}"
            );
        }
    }
}
