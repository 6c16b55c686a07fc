//! Prometheus metrics, kept in memory and written in the text exposition
//! format (version 0.0.4) by `GET /metrics` (`routes::metrics_endpoint`), through
//! the `prometheus-client` crate (its `prometheus_text` encoder).
//!
//! Framework-free: the request middleware (`http::request_metrics`), the login
//! service, the access decisions and the rate limiters each make one cheap
//! call. Label values are bounded sets: a route is the pattern the router
//! matched (`/api/v1/admin/users/{id}`, never the id: no personal data, no
//! unbounded series), a method is one of the standard ones, reasons and
//! limiter names are `&'static str` from the code.
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `http_requests_total` | counter | `route`, `method`, `status` |
//! | `http_request_duration_seconds` | histogram | `route` |
//! | `auth_logins_total` | counter | `outcome` |
//! | `access_denials_total` | counter | `reason` |
//! | `rate_limit_hits_total` | counter | `limiter` |
//! | `rate_limit_backend_errors_total` | counter | `backend` |
//! | `identity_cache_lookups_total` | counter | `result` |
//!
//! Counters are registered without their `_total`, which the encoder adds
//! (to the samples and to the HELP and TYPE lines); the registry adds the
//! full stop that ends each HELP text. Series are written in no particular
//! order (Prometheus does not need one), and a family is written once it
//! has a series.
//!
//! Layer: infrastructure, a leaf like `telemetry`: imports nothing of the crate.

use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;
use std::time::Duration;

/// The latency buckets' upper bounds, in seconds (5 ms to 10 s).
const BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The `route` label of a request no route matched (a 404).
pub const UNMATCHED: &str = "unmatched";

/// A login's outcome, the `outcome` label of `auth_logins_total`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Login {
    /// A session was opened (password, or password and second factor).
    Success,
    /// The password was right; the second factor is asked next.
    MfaRequired,
    /// A wrong password, an unknown or locked account, or a wrong code.
    Failure,
}

impl Login {
    fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::MfaRequired => "mfa_required",
            Self::Failure => "failure",
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    method: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

/// One label with a value from a small fixed set (`[("reason", "…")]`).
type OneLabel = [(&'static str, &'static str); 1];

fn route_histogram() -> Histogram {
    Histogram::new(BUCKETS)
}

/// Every metric of the process (one per application: tests run several).
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    durations: Family<RouteLabels, Histogram, fn() -> Histogram>,
    logins: Family<OneLabel, Counter>,
    denials: Family<OneLabel, Counter>,
    rate_limited: Family<OneLabel, Counter>,
    backend_errors: Family<OneLabel, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        let durations = Family::<RouteLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            route_histogram,
        );
        let [logins, denials, rate_limited, backend_errors] =
            std::array::from_fn(|_| Family::<OneLabel, Counter>::default());
        registry.register(
            "http_requests",
            "HTTP requests handled, by matched route pattern, method and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Time to handle an HTTP request, by matched route pattern",
            durations.clone(),
        );
        for (name, help, family) in [
            ("auth_logins", "Sign-in attempts, by outcome", &logins),
            (
                "access_denials",
                "Requests the access policy refused, by reason",
                &denials,
            ),
            (
                "rate_limit_hits",
                "Requests a rate limit refused, by limiter",
                &rate_limited,
            ),
            (
                "rate_limit_backend_errors",
                "Shared rate-limit checks that failed open, by store",
                &backend_errors,
            ),
        ] {
            registry.register(name, help, family.clone());
        }
        Self {
            registry,
            requests,
            durations,
            logins,
            denials,
            rate_limited,
            backend_errors,
        }
    }
}

/// The method label: the standard methods by name, anything else `OTHER`
/// (a client cannot invent label values).
pub fn method_label(method: &str) -> &'static str {
    match method {
        "GET" => "GET",
        "HEAD" => "HEAD",
        "POST" => "POST",
        "PUT" => "PUT",
        "DELETE" => "DELETE",
        "PATCH" => "PATCH",
        "OPTIONS" => "OPTIONS",
        _ => "OTHER",
    }
}

impl Metrics {
    /// One handled request. `route` is the matched pattern (`None`: no
    /// route matched); `method` as from [`method_label`].
    pub fn request(
        &self,
        route: Option<String>,
        method: &'static str,
        status: u16,
        took: Duration,
    ) {
        let by_route = RouteLabels {
            route: route.unwrap_or_else(|| UNMATCHED.to_owned()),
        };
        self.durations
            .get_or_create(&by_route)
            .observe(took.as_secs_f64());
        let labels = RequestLabels {
            route: by_route.route,
            method,
            status,
        };
        self.requests.get_or_create(&labels).inc();
    }

    pub fn login(&self, outcome: Login) {
        self.logins
            .get_or_create(&[("outcome", outcome.as_str())])
            .inc();
    }

    /// A request the access policy refused, by the decision's reason.
    pub fn denied(&self, reason: &'static str) {
        self.denials.get_or_create(&[("reason", reason)]).inc();
    }

    /// A request a rate limiter refused, by the limiter's name.
    pub fn rate_limited(&self, limiter: &'static str) {
        self.rate_limited
            .get_or_create(&[("limiter", limiter)])
            .inc();
    }

    /// The shared rate limit's store (Redis) failed; the request went ahead.
    pub fn redis_error(&self) {
        self.backend_errors
            .get_or_create(&[("backend", "redis")])
            .inc();
    }

    /// Everything, in the Prometheus text format.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(4096);
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry);
        out
    }
}

/// The identity cache's lookups (`services::identity_cache`), by result:
/// how much of the hot path is answered without the database. Its counts
/// live in the cache; they are written as they are at the scrape.
pub fn render_identity_cache(out: &mut String, hits: u64, misses: u64) {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(IdentityCacheLookups { hits, misses }));
    let _ = prometheus_client::encoding::prometheus_text::encode(out, &registry);
}

#[derive(Debug)]
struct IdentityCacheLookups {
    hits: u64,
    misses: u64,
}

impl prometheus_client::collector::Collector for IdentityCacheLookups {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let mut metric = encoder.encode_descriptor(
            "identity_cache_lookups",
            "Verified-request lookups, answered from memory (hit) or the database (miss).",
            None,
            MetricType::Counter,
        )?;
        for (result, n) in [("hit", self.hits), ("miss", self.misses)] {
            let labels: OneLabel = [("result", result)];
            ConstCounter::new(n).encode(metric.encode_family(&labels)?)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The text's lines, sorted (series come in no particular order).
    fn sorted_lines(text: &str) -> Vec<&str> {
        let mut lines: Vec<&str> = text.lines().collect();
        lines.sort_unstable();
        lines
    }

    #[test]
    fn a_family_is_written_once_it_has_a_series() {
        let m = Metrics::default();
        assert_eq!(m.render(), "");
        m.denied("missing_permission");
        assert_eq!(
            m.render(),
            "\
# HELP access_denials_total Requests the access policy refused, by reason.
# TYPE access_denials_total counter
access_denials_total{reason=\"missing_permission\"} 1
"
        );
    }

    #[test]
    fn the_exposition_format_is_exact() {
        let m = Metrics::default();
        // Durations whose seconds are exact binary fractions, so the sums print exactly.
        let ns = Duration::from_nanos;
        m.request(Some("/api/v1/users/{id}".into()), "GET", 200, ns(3_906_250));
        m.request(
            Some("/api/v1/users/{id}".into()),
            "GET",
            200,
            ns(31_250_000),
        );
        m.request(
            Some("/api/v1/users/{id}".into()),
            "GET",
            404,
            ns(12_000_000_000),
        );
        m.request(None, "GET", 404, ns(250_000_000));
        m.login(Login::Failure);
        m.login(Login::Success);
        m.login(Login::Failure);
        m.denied("missing_permission");
        m.rate_limited("auth_per_ip");
        m.redis_error();
        let text = m.render();
        let users = "route=\"/api/v1/users/{id}\"";
        let mut expected = vec![
            "# HELP http_requests_total HTTP requests handled, by matched route pattern, method and status.".to_owned(),
            "# TYPE http_requests_total counter".to_owned(),
            format!("http_requests_total{{{users},method=\"GET\",status=\"200\"}} 2"),
            format!("http_requests_total{{{users},method=\"GET\",status=\"404\"}} 1"),
            "http_requests_total{route=\"unmatched\",method=\"GET\",status=\"404\"} 1".to_owned(),
            "# HELP http_request_duration_seconds Time to handle an HTTP request, by matched route pattern.".to_owned(),
            "# TYPE http_request_duration_seconds histogram".to_owned(),
        ];
        let les = [
            "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf",
        ];
        let users_counts = [1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3];
        let unmatched_counts = [0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1];
        for (route, counts) in [
            (users, users_counts),
            ("route=\"unmatched\"", unmatched_counts),
        ] {
            for (le, n) in les.iter().zip(counts) {
                expected.push(format!(
                    "http_request_duration_seconds_bucket{{{route},le=\"{le}\"}} {n}"
                ));
            }
        }
        expected.extend([
            format!("http_request_duration_seconds_sum{{{users}}} 12.03515625"),
            format!("http_request_duration_seconds_count{{{users}}} 3"),
            "http_request_duration_seconds_sum{route=\"unmatched\"} 0.25".to_owned(),
            "http_request_duration_seconds_count{route=\"unmatched\"} 1".to_owned(),
            "# HELP auth_logins_total Sign-in attempts, by outcome.".to_owned(),
            "# TYPE auth_logins_total counter".to_owned(),
            "auth_logins_total{outcome=\"failure\"} 2".to_owned(),
            "auth_logins_total{outcome=\"success\"} 1".to_owned(),
            "# HELP access_denials_total Requests the access policy refused, by reason.".to_owned(),
            "# TYPE access_denials_total counter".to_owned(),
            "access_denials_total{reason=\"missing_permission\"} 1".to_owned(),
            "# HELP rate_limit_hits_total Requests a rate limit refused, by limiter.".to_owned(),
            "# TYPE rate_limit_hits_total counter".to_owned(),
            "rate_limit_hits_total{limiter=\"auth_per_ip\"} 1".to_owned(),
            "# HELP rate_limit_backend_errors_total Shared rate-limit checks that failed open, by store.".to_owned(),
            "# TYPE rate_limit_backend_errors_total counter".to_owned(),
            "rate_limit_backend_errors_total{backend=\"redis\"} 1".to_owned(),
        ]);
        let mut expected: Vec<&str> = expected.iter().map(String::as_str).collect();
        expected.sort_unstable();
        assert_eq!(sorted_lines(&text), expected, "{text}");
        // Each family's HELP and TYPE come first, then its series.
        let type_at = text.find("# TYPE auth_logins_total").unwrap();
        assert!(text.find("auth_logins_total{").unwrap() > type_at);
    }

    #[test]
    fn label_values_are_escaped() {
        let m = Metrics::default();
        m.request(Some("/x\"y\\z\nw".into()), "GET", 200, Duration::ZERO);
        assert!(m.render().contains(
            "http_requests_total{route=\"/x\\\"y\\\\z\\nw\",method=\"GET\",status=\"200\"} 1\n"
        ));
    }

    #[test]
    fn the_identity_cache_counts_are_two_series_of_one_counter() {
        let mut out = String::new();
        render_identity_cache(&mut out, 7, 2);
        assert_eq!(
            out,
            "\
# HELP identity_cache_lookups_total Verified-request lookups, answered from memory (hit) or the database (miss).
# TYPE identity_cache_lookups_total counter
identity_cache_lookups_total{result=\"hit\"} 7
identity_cache_lookups_total{result=\"miss\"} 2
"
        );
    }

    #[test]
    fn methods_outside_the_standard_set_share_one_label() {
        assert_eq!(method_label("GET"), "GET");
        assert_eq!(method_label("DELETE"), "DELETE");
        assert_eq!(method_label("BREW"), "OTHER");
        assert_eq!(method_label("get"), "OTHER");
    }

    #[test]
    fn bucket_bounds_are_inclusive_and_ascending() {
        let m = Metrics::default();
        m.request(Some("/r".into()), "GET", 200, Duration::from_millis(10));
        let text = m.render();
        assert!(text.contains("_bucket{route=\"/r\",le=\"0.005\"} 0\n"));
        assert!(text.contains("_bucket{route=\"/r\",le=\"0.01\"} 1\n"));
        assert!(BUCKETS.windows(2).all(|w| w[0] < w[1]));
    }
}
