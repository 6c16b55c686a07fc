//! Middleware and request plumbing: the request id, the security headers, the
//! CSRF origin check, the JSON body extractor with its limits, and the
//! authenticated-user extractor.

pub mod auth;
pub mod client;
pub mod csrf;
pub mod header_limits;
pub mod json;
pub mod request_id;
pub mod security_headers;

/// The session cookie. `__Host-` makes the browser insist on `Secure`,
/// `Path=/` and no `Domain`, so no sibling sub-domain can set or read it.
pub const SESSION_COOKIE: &str = "__Host-session";
