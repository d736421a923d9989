//! The process's Prometheus metrics: request counts and latencies by route
//! and status, and database pool gauges. `http` feeds the request metrics
//! (its `track` middleware) and serves `/metrics` in the OpenMetrics text
//! format.
//!
//! Every label value comes from a bounded set: the route is the matched
//! template (never the raw path) and the method is one of the standard
//! ones or `other`, so hostile requests cannot create series without end.

use crate::store::PoolStats;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    /// One of [`METHODS`] or `other`.
    method: &'static str,
    /// The route template (`/api/v1/tokens/{id}`) or `unmatched`.
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    /// A declared route template (`/api/v1/tokens/{id}`).
    route: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabels {
    state: &'static str,
}

type HistogramFamily = Family<RequestLabels, Histogram, fn() -> Histogram>;

/// The HTTP methods that get their own label value.
const METHODS: [&str; 9] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE"];

/// `method` as a label value from a fixed set.
pub fn method_label(method: &str) -> &'static str {
    METHODS.iter().find(|m| **m == method).copied().unwrap_or("other")
}

/// The process's metrics registry.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: HistogramFamily,
    rate_limited: Family<RouteLabels, Counter>,
    pool: Family<PoolLabels, Gauge>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("steward");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register("http_requests", "HTTP requests answered, by route and status", requests.clone());
        let latency: HistogramFamily =
            Family::new_with_constructor(|| Histogram::new(exponential_buckets(0.0005, 2.0, 16)));
        registry.register("http_request_duration_seconds", "HTTP request latency in seconds", latency.clone());
        let rate_limited = Family::<RouteLabels, Counter>::default();
        registry.register(
            "http_rate_limited",
            "Write requests refused with 429 by the rate limits, by route template",
            rate_limited.clone(),
        );
        let pool = Family::<PoolLabels, Gauge>::default();
        registry.register(
            "db_pool_connections",
            "Database pool connections by state (idle, in_use, max)",
            pool.clone(),
        );
        let build = Family::<[(&'static str, &'static str); 1], Gauge>::default();
        build.get_or_create(&[("version", env!("CARGO_PKG_VERSION"))]).set(1);
        registry.register("build_info", "Steward version", build);
        Metrics { registry, requests, latency, rate_limited, pool }
    }

    /// Counts one answered request. `route` must be a route template or
    /// `unmatched`, never a raw path.
    pub fn observe_request(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let labels = RequestLabels { method: method_label(method), route: route.to_string(), status };
        self.requests.get_or_create(&labels).inc();
        self.latency.get_or_create(&labels).observe(seconds);
    }

    /// Counts one write refused by the rate limits. `route` is a declared
    /// route template (a `&'static str`, so never a raw path).
    pub fn observe_rate_limited(&self, route: &'static str) {
        self.rate_limited.get_or_create(&RouteLabels { route }).inc();
    }

    /// Renders the registry with the pool gauges set from `pool`.
    pub fn render(&self, pool: PoolStats) -> String {
        self.pool.get_or_create(&PoolLabels { state: "idle" }).set(pool.idle.into());
        self.pool.get_or_create(&PoolLabels { state: "in_use" }).set(pool.size.saturating_sub(pool.idle).into());
        self.pool.get_or_create(&PoolLabels { state: "max" }).set(pool.max.into());
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_up_methods_share_one_label() {
        let m = Metrics::new();
        for i in 0..50 {
            m.observe_request(&format!("BREW{i}"), "unmatched", 405, 0.001);
        }
        m.observe_request("GET", "/healthz", 200, 0.001);
        let text = m.render(PoolStats { size: 1, idle: 1, max: 4 });
        assert!(text.contains("method=\"other\""), "{text}");
        assert!(!text.contains("BREW"), "{text}");
        let series = text.lines().filter(|l| l.starts_with("steward_http_requests_total")).count();
        assert_eq!(series, 2, "{text}");
    }
}
