//! Prometheus metrics, kept in memory and written in the text exposition
//! format (version 0.0.4) by `GET /metrics` (`routes::metrics`).
//!
//! Framework-free: the request middleware (`http::metrics`), the login
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
//!
//! Layer: infrastructure, a leaf like `telemetry`: imports nothing of the crate.

use std::collections::HashMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

/// The latency buckets' upper bounds in microseconds, with their `le` label.
const BUCKETS: [(u64, &str); 11] = [
    (5_000, "0.005"),
    (10_000, "0.01"),
    (25_000, "0.025"),
    (50_000, "0.05"),
    (100_000, "0.1"),
    (250_000, "0.25"),
    (500_000, "0.5"),
    (1_000_000, "1"),
    (2_500_000, "2.5"),
    (5_000_000, "5"),
    (10_000_000, "10"),
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

/// Every metric of the process (one per application: tests run several).
#[derive(Default)]
pub struct Metrics {
    /// Per matched route pattern. One short lock per request; the map only
    /// grows on a route's first request (its key is the pattern string the
    /// router already allocated).
    routes: Mutex<HashMap<String, RouteStats>>,
    logins: LabelCounters,
    denials: LabelCounters,
    rate_limited: LabelCounters,
    backend_errors: LabelCounters,
}

#[derive(Default)]
struct RouteStats {
    /// (method, status, count): a handful per route, scanned linearly.
    requests: Vec<(&'static str, u16, u64)>,
    /// Per bucket, not cumulative; the last one is above the largest bound.
    buckets: [u64; BUCKETS.len() + 1],
    sum_micros: u64,
    count: u64,
}

/// Counters by one label from a small fixed set.
#[derive(Default)]
struct LabelCounters(Mutex<Vec<(&'static str, u64)>>);

impl LabelCounters {
    fn inc(&self, label: &'static str) {
        let mut counts = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match counts.iter_mut().find(|(l, _)| *l == label) {
            Some((_, n)) => *n += 1,
            None => counts.push((label, 1)),
        }
    }

    fn sorted(&self) -> Vec<(&'static str, u64)> {
        let mut counts = self.0.lock().unwrap_or_else(|e| e.into_inner()).clone();
        counts.sort_unstable();
        counts
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
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        let bucket = BUCKETS
            .iter()
            .position(|(bound, _)| micros <= *bound)
            .unwrap_or(BUCKETS.len());
        let mut routes = self.routes.lock().unwrap_or_else(|e| e.into_inner());
        let key = route.as_deref().unwrap_or(UNMATCHED);
        let stats = match routes.get_mut(key) {
            Some(stats) => stats,
            None => routes
                .entry(route.unwrap_or_else(|| UNMATCHED.to_owned()))
                .or_default(),
        };
        match stats
            .requests
            .iter_mut()
            .find(|(m, s, _)| *m == method && *s == status)
        {
            Some((_, _, n)) => *n += 1,
            None => stats.requests.push((method, status, 1)),
        }
        stats.buckets[bucket] += 1;
        stats.sum_micros = stats.sum_micros.saturating_add(micros);
        stats.count += 1;
    }

    pub fn login(&self, outcome: Login) {
        self.logins.inc(outcome.as_str());
    }

    /// A request the access policy refused, by the decision's reason.
    pub fn denied(&self, reason: &'static str) {
        self.denials.inc(reason);
    }

    /// A request a rate limiter refused, by the limiter's name.
    pub fn rate_limited(&self, limiter: &'static str) {
        self.rate_limited.inc(limiter);
    }

    /// The shared rate limit's store (Redis) failed; the request went ahead.
    pub fn redis_error(&self) {
        self.backend_errors.inc("redis");
    }

    /// Everything, in the Prometheus text format (sorted, so stable).
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(4096);
        let routes = self.routes.lock().unwrap_or_else(|e| e.into_inner());
        let mut names: Vec<&String> = routes.keys().collect();
        names.sort_unstable();

        header(
            &mut out,
            "http_requests_total",
            "counter",
            "HTTP requests handled, by matched route pattern, method and status.",
        );
        for name in &names {
            let mut requests = routes[*name].requests.clone();
            requests.sort_unstable();
            for (method, status, n) in requests {
                out.push_str("http_requests_total{route=\"");
                escape_label(&mut out, name);
                let _ = writeln!(out, "\",method=\"{method}\",status=\"{status}\"}} {n}");
            }
        }

        header(
            &mut out,
            "http_request_duration_seconds",
            "histogram",
            "Time to handle an HTTP request, by matched route pattern.",
        );
        for name in &names {
            let stats = &routes[*name];
            let mut cumulative = 0;
            let les = BUCKETS.iter().map(|(_, le)| *le).chain(["+Inf"]);
            for (le, n) in les.zip(stats.buckets) {
                cumulative += n;
                out.push_str("http_request_duration_seconds_bucket{route=\"");
                escape_label(&mut out, name);
                let _ = writeln!(out, "\",le=\"{le}\"}} {cumulative}");
            }
            out.push_str("http_request_duration_seconds_sum{route=\"");
            escape_label(&mut out, name);
            let (secs, micros) = (stats.sum_micros / 1_000_000, stats.sum_micros % 1_000_000);
            let _ = writeln!(out, "\"}} {secs}.{micros:06}");
            out.push_str("http_request_duration_seconds_count{route=\"");
            escape_label(&mut out, name);
            let _ = writeln!(out, "\"}} {}", stats.count);
        }
        drop(routes);

        for (name, help, label, counters) in [
            (
                "auth_logins_total",
                "Sign-in attempts, by outcome.",
                "outcome",
                &self.logins,
            ),
            (
                "access_denials_total",
                "Requests the access policy refused, by reason.",
                "reason",
                &self.denials,
            ),
            (
                "rate_limit_hits_total",
                "Requests a rate limit refused, by limiter.",
                "limiter",
                &self.rate_limited,
            ),
            (
                "rate_limit_backend_errors_total",
                "Shared rate-limit checks that failed open, by store.",
                "backend",
                &self.backend_errors,
            ),
        ] {
            header(&mut out, name, "counter", help);
            for (value, n) in counters.sorted() {
                let _ = write!(out, "{name}{{{label}=\"");
                escape_label(&mut out, value);
                let _ = writeln!(out, "\"}} {n}");
            }
        }
        out
    }
}

/// The identity cache's lookups (`services::identity_cache`), by result:
/// how much of the hot path is answered without the database.
pub fn render_identity_cache(out: &mut String, hits: u64, misses: u64) {
    header(
        out,
        "identity_cache_lookups_total",
        "counter",
        "Verified-request lookups, answered from memory (hit) or the database (miss).",
    );
    let _ = writeln!(out, "identity_cache_lookups_total{{result=\"hit\"}} {hits}");
    let _ = writeln!(
        out,
        "identity_cache_lookups_total{{result=\"miss\"}} {misses}"
    );
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = write!(out, "# HELP {name} ");
    // In HELP text only the backslash and the line feed are escaped.
    for c in help.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    let _ = writeln!(out, "\n# TYPE {name} {kind}");
}

/// A label value as the exposition format wants it: backslash, double
/// quote and line feed escaped.
fn escape_label(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMPTY_TAIL: &str = "\
# HELP auth_logins_total Sign-in attempts, by outcome.
# TYPE auth_logins_total counter
# HELP access_denials_total Requests the access policy refused, by reason.
# TYPE access_denials_total counter
# HELP rate_limit_hits_total Requests a rate limit refused, by limiter.
# TYPE rate_limit_hits_total counter
# HELP rate_limit_backend_errors_total Shared rate-limit checks that failed open, by store.
# TYPE rate_limit_backend_errors_total counter
";

    #[test]
    fn nothing_recorded_is_headers_only() {
        let text = Metrics::default().render();
        assert_eq!(
            text,
            format!(
                "\
# HELP http_requests_total HTTP requests handled, by matched route pattern, method and status.
# TYPE http_requests_total counter
# HELP http_request_duration_seconds Time to handle an HTTP request, by matched route pattern.
# TYPE http_request_duration_seconds histogram
{EMPTY_TAIL}"
            )
        );
    }

    #[test]
    fn the_exposition_format_is_exact() {
        let m = Metrics::default();
        let ms = Duration::from_millis;
        m.request(Some("/api/v1/users/{id}".into()), "GET", 200, ms(3));
        m.request(Some("/api/v1/users/{id}".into()), "GET", 200, ms(30));
        m.request(Some("/api/v1/users/{id}".into()), "GET", 404, ms(12_000));
        m.request(Some("/a".into()), "POST", 201, Duration::from_micros(5_000));
        m.request(None, "GET", 404, Duration::from_micros(1));
        m.login(Login::Failure);
        m.login(Login::Success);
        m.login(Login::Failure);
        m.denied("missing_permission");
        m.rate_limited("auth_per_ip");
        let expected = "\
# HELP http_requests_total HTTP requests handled, by matched route pattern, method and status.
# TYPE http_requests_total counter
http_requests_total{route=\"/a\",method=\"POST\",status=\"201\"} 1
http_requests_total{route=\"/api/v1/users/{id}\",method=\"GET\",status=\"200\"} 2
http_requests_total{route=\"/api/v1/users/{id}\",method=\"GET\",status=\"404\"} 1
http_requests_total{route=\"unmatched\",method=\"GET\",status=\"404\"} 1
# HELP http_request_duration_seconds Time to handle an HTTP request, by matched route pattern.
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{route=\"/a\",le=\"0.005\"} 1
http_request_duration_seconds_bucket{route=\"/a\",le=\"0.01\"} 1
http_request_duration_seconds_bucket{route=\"/a\",le=\"0.025\"} 1
http_request_duration_seconds_bucket{route=\"/a\",le=\"0.05\"} 1
http_request_duration_seconds_bucket{route=\"/a\",le=\"0.1\"} 1
http_request_duration_seconds_bucket{route=\"/a\",le=\"0.25\"} 1
http_request_duration_seconds_bucket{route=\"/a\",le=\"0.5\"} 1
http_request_duration_seconds_bucket{route=\"/a\",le=\"1\"} 1
http_request_duration_seconds_bucket{route=\"/a\",le=\"2.5\"} 1
http_request_duration_seconds_bucket{route=\"/a\",le=\"5\"} 1
http_request_duration_seconds_bucket{route=\"/a\",le=\"10\"} 1
http_request_duration_seconds_bucket{route=\"/a\",le=\"+Inf\"} 1
http_request_duration_seconds_sum{route=\"/a\"} 0.005000
http_request_duration_seconds_count{route=\"/a\"} 1
http_request_duration_seconds_bucket{route=\"/api/v1/users/{id}\",le=\"0.005\"} 1
http_request_duration_seconds_bucket{route=\"/api/v1/users/{id}\",le=\"0.01\"} 1
http_request_duration_seconds_bucket{route=\"/api/v1/users/{id}\",le=\"0.025\"} 1
http_request_duration_seconds_bucket{route=\"/api/v1/users/{id}\",le=\"0.05\"} 2
http_request_duration_seconds_bucket{route=\"/api/v1/users/{id}\",le=\"0.1\"} 2
http_request_duration_seconds_bucket{route=\"/api/v1/users/{id}\",le=\"0.25\"} 2
http_request_duration_seconds_bucket{route=\"/api/v1/users/{id}\",le=\"0.5\"} 2
http_request_duration_seconds_bucket{route=\"/api/v1/users/{id}\",le=\"1\"} 2
http_request_duration_seconds_bucket{route=\"/api/v1/users/{id}\",le=\"2.5\"} 2
http_request_duration_seconds_bucket{route=\"/api/v1/users/{id}\",le=\"5\"} 2
http_request_duration_seconds_bucket{route=\"/api/v1/users/{id}\",le=\"10\"} 2
http_request_duration_seconds_bucket{route=\"/api/v1/users/{id}\",le=\"+Inf\"} 3
http_request_duration_seconds_sum{route=\"/api/v1/users/{id}\"} 12.033000
http_request_duration_seconds_count{route=\"/api/v1/users/{id}\"} 3
http_request_duration_seconds_bucket{route=\"unmatched\",le=\"0.005\"} 1
http_request_duration_seconds_bucket{route=\"unmatched\",le=\"0.01\"} 1
http_request_duration_seconds_bucket{route=\"unmatched\",le=\"0.025\"} 1
http_request_duration_seconds_bucket{route=\"unmatched\",le=\"0.05\"} 1
http_request_duration_seconds_bucket{route=\"unmatched\",le=\"0.1\"} 1
http_request_duration_seconds_bucket{route=\"unmatched\",le=\"0.25\"} 1
http_request_duration_seconds_bucket{route=\"unmatched\",le=\"0.5\"} 1
http_request_duration_seconds_bucket{route=\"unmatched\",le=\"1\"} 1
http_request_duration_seconds_bucket{route=\"unmatched\",le=\"2.5\"} 1
http_request_duration_seconds_bucket{route=\"unmatched\",le=\"5\"} 1
http_request_duration_seconds_bucket{route=\"unmatched\",le=\"10\"} 1
http_request_duration_seconds_bucket{route=\"unmatched\",le=\"+Inf\"} 1
http_request_duration_seconds_sum{route=\"unmatched\"} 0.000001
http_request_duration_seconds_count{route=\"unmatched\"} 1
# HELP auth_logins_total Sign-in attempts, by outcome.
# TYPE auth_logins_total counter
auth_logins_total{outcome=\"failure\"} 2
auth_logins_total{outcome=\"success\"} 1
# HELP access_denials_total Requests the access policy refused, by reason.
# TYPE access_denials_total counter
access_denials_total{reason=\"missing_permission\"} 1
# HELP rate_limit_hits_total Requests a rate limit refused, by limiter.
# TYPE rate_limit_hits_total counter
rate_limit_hits_total{limiter=\"auth_per_ip\"} 1
# HELP rate_limit_backend_errors_total Shared rate-limit checks that failed open, by store.
# TYPE rate_limit_backend_errors_total counter
";
        assert_eq!(m.render(), expected);
    }

    #[test]
    fn label_values_are_escaped() {
        let mut out = String::new();
        escape_label(&mut out, "a\\b\"c\nd/{id}");
        assert_eq!(out, "a\\\\b\\\"c\\nd/{id}");
        let m = Metrics::default();
        m.request(Some("/x\"y".into()), "GET", 200, Duration::ZERO);
        assert!(m
            .render()
            .contains("http_requests_total{route=\"/x\\\"y\",method=\"GET\",status=\"200\"} 1\n"));
    }

    #[test]
    fn help_text_escapes_backslashes_and_line_feeds_only() {
        let mut out = String::new();
        header(&mut out, "m", "gauge", "a \"b\" c\\d\ne");
        assert_eq!(out, "# HELP m a \"b\" c\\\\d\\ne\n# TYPE m gauge\n");
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
        assert!(BUCKETS.windows(2).all(|w| w[0].0 < w[1].0));
    }
}
