//! `/metrics`: one Prometheus registry per server (the lab runs many servers in one process),
//! in the OpenMetrics text format Prometheus scrapes.
//!
//! Every server counts its requests and their latency per route (the matched path, never the
//! raw URI, so the series stay few) and status, its failed logins and the logins refused by the
//! rate limit; a role adds what it knows through [`super::Probe::samples`], read at each scrape.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{
    DescriptorEncoder, EncodeLabelSet, EncodeMetric, LabelSetEncoder,
};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// The `Content-Type` of `/metrics`.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Debug, Clone, Hash, PartialEq, Eq)]
struct RequestLabels {
    method: &'static str,
    route: String,
    status: u16,
}

impl EncodeLabelSet for RequestLabels {
    fn encode(&self, encoder: &mut LabelSetEncoder) -> Result<(), std::fmt::Error> {
        let status = self.status.to_string();
        [("method", self.method), ("route", self.route.as_str()), ("status", status.as_str())]
            .as_slice()
            .encode(encoder)
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq)]
struct RouteLabels {
    method: &'static str,
    route: String,
}

impl EncodeLabelSet for RouteLabels {
    fn encode(&self, encoder: &mut LabelSetEncoder) -> Result<(), std::fmt::Error> {
        [("method", self.method), ("route", self.route.as_str())].as_slice().encode(encoder)
    }
}

type LatencyFamily = Family<RouteLabels, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    // 1 ms to about 16 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

/// The metrics every server keeps.
pub(crate) struct HttpMetrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: LatencyFamily,
    pub(crate) auth_failures: Counter,
    pub(crate) auth_limited: Counter,
}

impl std::fmt::Debug for HttpMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpMetrics").finish_non_exhaustive()
    }
}

impl HttpMetrics {
    pub(crate) fn new() -> HttpMetrics {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        let latency: LatencyFamily = Family::new_with_constructor(latency_histogram);
        let auth_failures = Counter::default();
        let auth_limited = Counter::default();
        registry.register(
            "slp_http_requests",
            "HTTP requests answered, by method, route (matched path) and status",
            requests.clone(),
        );
        registry.register(
            "slp_http_request_duration_seconds",
            "Time to answer an HTTP request, by method and route",
            latency.clone(),
        );
        registry.register(
            "slp_auth_failures",
            "Failed authentications (wrong or unknown client secret, password, token)",
            auth_failures.clone(),
        );
        registry.register(
            "slp_auth_limited",
            "Requests refused with 429 because their login name or address failed too often",
            auth_limited.clone(),
        );
        HttpMetrics { registry, requests, latency, auth_failures, auth_limited }
    }

    pub(crate) fn observe(&self, method: &'static str, route: &str, status: u16, seconds: f64) {
        self.requests
            .get_or_create(&RequestLabels { method, route: route.to_owned(), status })
            .inc();
        self.latency
            .get_or_create(&RouteLabels { method, route: route.to_owned() })
            .observe(seconds);
    }

    /// The exposition: this server's metrics, then the role's `samples`.
    pub(crate) fn render(&self, samples: Vec<Sample>) -> Result<String, std::fmt::Error> {
        let mut text = String::new();
        prometheus_client::encoding::text::encode_registry(&mut text, &self.registry)?;
        if !samples.is_empty() {
            let mut role = Registry::default();
            role.register_collector(Box::new(Samples(samples)));
            prometheus_client::encoding::text::encode_registry(&mut text, &role)?;
        }
        prometheus_client::encoding::text::encode_eof(&mut text)?;
        Ok(text)
    }
}

/// What a sample measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SampleKind {
    /// Only grows (exposed as `NAME_total`).
    Counter,
    /// Goes up and down.
    Gauge,
}

/// One value a role reports at a scrape, e.g. the authority's queue depth.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Metric name (`slp_authority_usage_queue_depth`); a counter's without `_total`.
    pub name: &'static str,
    pub help: &'static str,
    pub kind: SampleKind,
    pub labels: Vec<(&'static str, String)>,
    pub value: f64,
}

impl Sample {
    pub fn gauge(name: &'static str, help: &'static str, value: f64) -> Sample {
        Sample { name, help, kind: SampleKind::Gauge, labels: Vec::new(), value }
    }

    pub fn counter(name: &'static str, help: &'static str, value: f64) -> Sample {
        Sample { name, help, kind: SampleKind::Counter, labels: Vec::new(), value }
    }

    /// The same sample with one more label.
    pub fn label(mut self, name: &'static str, value: impl Into<String>) -> Sample {
        self.labels.push((name, value.into()));
        self
    }
}

/// The role's samples, grouped by name (one descriptor each) in the order first given.
#[derive(Debug)]
struct Samples(Vec<Sample>);

impl Collector for Samples {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let mut names: Vec<&'static str> = Vec::new();
        for sample in &self.0 {
            if !names.contains(&sample.name) {
                names.push(sample.name);
            }
        }
        for name in names {
            let group: Vec<&Sample> = self.0.iter().filter(|s| s.name == name).collect();
            let Some(first) = group.first() else { continue };
            let metric_type = match first.kind {
                SampleKind::Counter => MetricType::Counter,
                SampleKind::Gauge => MetricType::Gauge,
            };
            let mut family = encoder.encode_descriptor(name, first.help, None, metric_type)?;
            for sample in &group {
                let labels: Vec<(&str, &str)> =
                    sample.labels.iter().map(|(k, v)| (*k, v.as_str())).collect();
                let point = family.encode_family(&labels)?;
                match first.kind {
                    SampleKind::Counter => ConstCounter::new(sample.value).encode(point)?,
                    SampleKind::Gauge => ConstGauge::new(sample.value).encode(point)?,
                }
            }
        }
        Ok(())
    }
}
