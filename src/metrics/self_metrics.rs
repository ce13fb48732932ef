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
        if let Err(error) = registry.register(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        )) {
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
}
