//! Middleware and request plumbing: the request id, the security headers, the
//! CSRF origin check, the JSON body extractor with its limits, and the
//! authenticated-user extractor.

pub mod auth;
pub mod client;
pub mod csrf;
pub mod enforce;
pub mod head;
pub mod header_limits;
pub mod json;
pub mod management;
pub mod rate_limit;
pub mod request_id;
pub mod request_metrics;
pub mod request_target;
pub mod security_headers;
pub mod session_cookie;
pub mod session_refresh;
pub mod shared_limit;
pub mod workshop;

/// The browser's access token (RS256 JWT, 15 minutes). `__Host-` makes the
/// browser insist on `Secure`, `Path=/` and no `Domain`, so no sibling
/// sub-domain can set or read it.
pub const ACCESS_COOKIE: &str = "__Host-access";

/// The browser's refresh token (opaque, single use).
pub const REFRESH_COOKIE: &str = "__Host-refresh";

/// A login waiting for its second factor (no-JavaScript flow only).
pub const MFA_COOKIE: &str = "__Host-mfa";

/// Whether the request carries either of our auth cookies.
pub fn has_auth_cookie(req: &actix_web::HttpRequest) -> bool {
    req.cookie(ACCESS_COOKIE).is_some() || req.cookie(REFRESH_COOKIE).is_some()
}

/// Health checks: a load balancer asks often, from one address, so the
/// per-IP limit skips them (`rate_limit`), and they write nothing (the
/// enforcement point records no forged header on them).
pub fn is_health_check(path: &str) -> bool {
    path == "/healthz" || path == "/readyz"
}
