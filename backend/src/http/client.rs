//! Facts about the client that sent a request, and [`RequestMeta`] read
//! from it (defined framework-free in `crate::request_meta`; handlers take
//! it as an extractor, so they name it here).

pub use crate::request_meta::RequestMeta;
use crate::security::client_ip;
use crate::state::AppState;
use actix_web::dev::Payload;
use actix_web::http::header::{HeaderName, FORWARDED, USER_AGENT};
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use std::future::{ready, Ready};
use std::net::IpAddr;

use super::request_id::RequestId;

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

/// The client's IP address: the TCP peer, or — only when the peer is one of
/// `TRUSTED_PROXIES` — the address the proxies report (see
/// `security::client_ip`).
pub fn client_ip_addr(req: &HttpRequest) -> Option<IpAddr> {
    let peer = req.peer_addr()?.ip();
    let proxies = req
        .app_data::<web::Data<AppState>>()
        .map(|s| s.settings.trusted_proxies.as_slice())
        .unwrap_or_default();
    if proxies.is_empty() {
        return Some(peer);
    }
    // A line that is not visible ASCII (a client's 0x80+ byte copied on by
    // the proxy) is present and unreadable, not absent: read lossily, its
    // unparseable entry ends the walk there. Dropped, the other header
    // would decide alone (found by attacks::v2_anti_automation).
    let values = |name| {
        req.headers()
            .get_all(name)
            .map(|v| String::from_utf8_lossy(v.as_bytes()))
            .collect::<Vec<_>>()
    };
    let (xff, fwd) = (values(X_FORWARDED_FOR), values(FORWARDED));
    let xff: Vec<&str> = xff.iter().map(AsRef::as_ref).collect();
    let fwd: Vec<&str> = fwd.iter().map(AsRef::as_ref).collect();
    Some(client_ip::resolve_headers(peer, &xff, &fwd, proxies))
}

/// Whether the TCP peer is one of `TRUSTED_PROXIES`: only then may any
/// forwarded header (`Forwarded`, `X-Forwarded-*`) be believed.
pub fn from_trusted_proxy(req: &HttpRequest) -> bool {
    let Some(peer) = req.peer_addr() else {
        return false;
    };
    req.app_data::<web::Data<AppState>>().is_some_and(|s| {
        s.settings
            .trusted_proxies
            .iter()
            .any(|c| c.contains(peer.ip()))
    })
}

pub fn client_ip(req: &HttpRequest) -> Option<String> {
    client_ip_addr(req).map(|ip| ip.to_string())
}

/// [`RequestMeta`] from an actix request: the request id, the client IP
/// (trusted proxies honoured), the user agent and the workshop context.
impl RequestMeta {
    pub fn of(req: &HttpRequest) -> Self {
        Self {
            request_id: req.extensions().get::<RequestId>().map(|r| r.0.clone()),
            client_ip: client_ip(req),
            user_agent: req
                .headers()
                .get(USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(|s| s.chars().take(256).collect()),
            workshop: req
                .extensions()
                .get::<crate::security::workshop::Context>()
                .cloned(),
        }
    }
}

impl FromRequest for RequestMeta {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(Self::of(req)))
    }
}
