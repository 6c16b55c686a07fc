//! `GET /metrics`: the Prometheus scrape endpoint (`crate::metrics`).
//!
//! Who may read it: a scraper presenting `Authorization: Bearer
//! <METRICS_TOKEN>` (when that secret is configured), or a signed-in user
//! holding `admin:read` (admins and auditors). A scraper has no account, so
//! its token cannot be a policy-table entry: the table lists the route as
//! public and this handler decides, through the same decision point as the
//! enforcement middleware ([`POLICY`]), so a refusal is recorded like any
//! other (decision row, `access.denied` audit event, denial counter).

use crate::error::AppResult;
use crate::http::auth::presented_access_token;
use crate::http::client::{client_ip_addr, RequestMeta};
use crate::http::enforce::presented_device;
use crate::security::policy::{Permission, RoutePolicy};
use crate::services::access;
use crate::state::AppState;
use actix_web::http::header::{AUTHORIZATION, CACHE_CONTROL};
use actix_web::{web, HttpRequest, HttpResponse};
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// What a caller without the scrape token must satisfy.
pub static POLICY: RoutePolicy = RoutePolicy::requires("GET", "/metrics", Permission::AdminRead);

/// The exposition format's content type.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Counters and a latency histogram in the Prometheus text format.
#[utoipa::path(get, path = "/metrics", tag = "health",
    responses(
        (status = 200, description = "Prometheus text format 0.0.4; `Authorization: Bearer <METRICS_TOKEN>` or an admin:read session",
            content_type = "text/plain", body = String),
        (status = 401, body = wire::ErrorBody),
        (status = 403, body = wire::ErrorBody)))]
pub async fn metrics(state: web::Data<AppState>, req: HttpRequest) -> AppResult<HttpResponse> {
    if scrape_token_matches(&state, &req) {
        // The enforcement point left this route to us: count the allowed
        // scrape as it counts allowed reads.
        state.decision_stats.allowed(POLICY.path);
    } else {
        let meta = RequestMeta::of(&req);
        let token = presented_access_token(&req);
        let device = presented_device(&req);
        let request = access::Request {
            policy: &POLICY,
            method: "GET",
            meta: &meta,
            client_ip: client_ip_addr(&req),
            device_id: device.as_deref(),
        };
        if let Err(deny) = access::decide(&state, &request, token.as_deref()).await? {
            return Err(access::deny_error(deny));
        }
    }
    let mut body = state.metrics.render();
    let (hits, misses) = state.identity_cache.counts();
    crate::metrics::render_identity_cache(&mut body, hits, misses);
    Ok(HttpResponse::Ok()
        .content_type(CONTENT_TYPE)
        .insert_header((CACHE_CONTROL, "no-store"))
        .body(body))
}

/// Whether the request presents the configured scrape token. Both sides are
/// hashed first, so the comparison is constant-time whatever their lengths.
fn scrape_token_matches(state: &AppState, req: &HttpRequest) -> bool {
    let Some(expected) = &state.settings.metrics_token else {
        return false;
    };
    let Some(presented) = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
    else {
        return false;
    };
    let a = Sha256::digest(presented.as_bytes());
    let b = Sha256::digest(expected.expose_secret().as_bytes());
    a.ct_eq(&b).into()
}
