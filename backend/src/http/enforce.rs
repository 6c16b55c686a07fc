//! The policy enforcement point (PEP): in front of every route, it finds the
//! route's entry in the policy table, gathers identity, device and network
//! facts, and lets the policy decision point decide (`services::access`).
//!
//! - A route the table does not list is refused (403, fail closed). The
//!   table comes with the routes, as app data (`routes::configure`).
//! - A listed path asked with an unlisted method gets 405: no handler runs.
//! - Unmatched paths go on to the 404 handlers (there is nothing to protect).
//! - A denied page still renders, as its "not allowed" view: pages load
//!   their data through the API reads, which are decided again.
//! - Headers that claim a role (`X-Is-Admin`, …) are never read for access;
//!   their presence is recorded as an attempt.
//!
//! The verified identity is stored in the request for the handlers
//! ([`super::auth::Authenticated`]), so it is looked up once.

use super::auth::presented_access_token;
use super::client::{client_ip_addr, RequestMeta};
use crate::audit::{self, AuditEvent, Outcome};
use crate::error::AppError;
use crate::security::policy_table::{is_page, Lookup, PolicyTable};
use crate::services::access::{self, DEVICE_HEADER};
use crate::services::identity_cache;
use crate::services::sessions;
use crate::state::identity_cache::Invalidation;
use crate::state::AppState;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, Error, HttpMessage, HttpRequest, ResponseError};

/// The cookie a browser's registered device is named by.
pub const DEVICE_COOKIE: &str = "__Host-device";

/// Headers a naive app would trust for privileges (the catalogue's
/// "trusting client input" anti-pattern). We never do; we record the try.
const PRIVILEGE_HEADERS: [&str; 4] = ["x-is-admin", "x-user-role", "x-roles", "x-user-id"];

/// The device a request names: `X-Device-ID`, else the device cookie.
pub fn presented_device(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get(DEVICE_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.trim().to_owned())
        .or_else(|| req.cookie(DEVICE_COOKIE).map(|c| c.value().to_owned()))
        .filter(|s| !s.is_empty() && s.len() <= 64)
}

/// Route prefixes whose scopes wrap [`enforce`] themselves, inside their
/// rate limiters (`routes::configure`). Every scope that does so must be
/// listed, or its requests are decided twice, the first time in front of the
/// limiter (so refusals were never limited): a test walks every route and
/// counts one decision per request.
const SELF_ENFORCING_SCOPES: [&str; 3] = ["/api", "/auth", "/oauth"];

/// Routes whose handler decides, through the same decision point
/// (`routes::metrics_endpoint`: a scrape token is no identity the table can name).
/// The PEP passes them on undecided, so each request is decided once.
const HANDLER_DECIDES: [&str; 1] = ["/metrics"];

fn in_self_enforcing_scope(path: &str) -> bool {
    SELF_ENFORCING_SCOPES.iter().any(|scope| {
        path.strip_prefix(scope)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    })
}

/// The app-level instance: everything outside the self-enforcing scopes
/// (pages, health checks, assets, JWKS). Each request meets exactly one PEP.
pub async fn enforce_outside_scopes<B: MessageBody + 'static>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, Error> {
    if in_self_enforcing_scope(req.path()) {
        return next.call(req).await.map(|r| r.map_into_left_body());
    }
    enforce(req, next).await
}

pub async fn enforce<B: MessageBody + 'static>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, Error> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return refuse(req, AppError::internal(anyhow::anyhow!("AppState missing")));
    };
    // Registered with the routes (`routes::configure`); without it nothing
    // is allowed.
    let Some(table) = req.app_data::<PolicyTable>().copied() else {
        return refuse(
            req,
            AppError::internal(anyhow::anyhow!("policy table missing")),
        );
    };
    let meta = RequestMeta::of(req.request());
    let token = presented_access_token(req.request());
    // Health checks are passive (and not rate limited): nothing to record.
    let passive = crate::http::is_health_check(req.path());
    if let Some(name) = PRIVILEGE_HEADERS
        .iter()
        .find(|h| !passive && req.headers().contains_key(**h))
    {
        // Named after the verified token's user, when there is one, so the
        // attempt shows in their own activity too (the header itself is
        // never believed; the identity is the signed token's).
        let device = presented_device(req.request());
        let subject = token
            .as_deref()
            .and_then(|t| sessions::verify::token_subject(&state, t, device.as_deref()));
        if token.is_none() {
            // No credential at all: counted, not recorded one by one
            // (`services::access`).
            state
                .decision_stats
                .denied_anonymously("access.forged_header", name, None);
        } else {
            let event = AuditEvent::new("access.forged_header", Outcome::Denied)
                .actor_opt(subject)
                .detail(serde_json::json!({ "header": name, "path": req.match_pattern() }));
            if let Err(e) = audit::record(&state.pool, Some(&meta), event).await {
                return refuse(req, e);
            }
        }
    }

    let Some(pattern) = req.match_pattern() else {
        return next.call(req).await.map(|r| r.map_into_left_body());
    };
    let method = req.method().as_str().to_owned();
    let policy = match table.lookup(&method, &pattern) {
        Lookup::Found(p) => p,
        Lookup::WrongMethod => {
            // RFC 9110: a 405 names the methods the path does take.
            let allow = table.allowed_methods(&pattern);
            let mut response = AppError::MethodNotAllowed.error_response();
            if let Ok(value) = actix_web::http::header::HeaderValue::from_str(&allow) {
                response
                    .headers_mut()
                    .insert(actix_web::http::header::ALLOW, value);
            }
            return Ok(req.into_response(response).map_into_right_body());
        }
        Lookup::Missing => {
            tracing::error!(%method, %pattern, "route has no policy entry; refused");
            if let Err(e) = access::deny_unlisted(&state, &meta, &method, &pattern).await {
                return refuse(req, e);
            }
            return refuse(req, AppError::Forbidden("forbidden".into()));
        }
    };

    if HANDLER_DECIDES.contains(&pattern.as_str()) {
        return next.call(req).await.map(|r| r.map_into_left_body());
    }

    let device = presented_device(req.request());
    let request = access::Request {
        policy,
        method: &method,
        meta: &meta,
        client_ip: client_ip_addr(req.request()),
        device_id: device.as_deref(),
    };
    match access::decide(&state, &request, token.as_deref()).await {
        Ok(Ok(who)) => {
            let changer = who.as_ref().map(|w| w.user.id.clone());
            if let Some(who) = who {
                req.extensions_mut().insert(who);
            }
            let response = next.call(req).await;
            if !matches!(method.as_str(), "GET" | "HEAD" | "OPTIONS") {
                forget_after_change(&state, &pattern, changer).await;
            }
            response.map(|r| r.map_into_left_body())
        }
        // The page renders its own "not allowed" / "please sign in" view.
        Ok(Err(_)) if is_page(&pattern) => next.call(req).await.map(|r| r.map_into_left_body()),
        Ok(Err(deny)) => refuse(req, access::deny_error(deny)),
        Err(e) => refuse(req, e),
    }
}

/// A state-changing request may have changed what a cached identity says
/// (a logout, a new device, a step-up, a role): forget the caller's cached
/// identities, or everyone's after an admin change (it may concern any
/// user). The services also forget the users they change; this is the net
/// under them, so a change they miss still takes effect at once.
async fn forget_after_change(state: &AppState, pattern: &str, changer: Option<String>) {
    let change = if pattern.starts_with("/api/v1/admin/") {
        Invalidation::All
    } else if let Some(user_id) = changer {
        Invalidation::User(user_id)
    } else {
        return;
    };
    identity_cache::forget(state, change).await;
}

fn refuse<B>(
    req: ServiceRequest,
    error: AppError,
) -> Result<ServiceResponse<EitherBody<B>>, Error> {
    let response = error.error_response();
    Ok(req.into_response(response).map_into_right_body())
}

#[cfg(test)]
mod tests {
    use super::in_self_enforcing_scope;

    #[test]
    fn scope_prefixes_match_whole_segments() {
        assert!(in_self_enforcing_scope("/api"));
        assert!(in_self_enforcing_scope("/api/v1/me"));
        assert!(in_self_enforcing_scope("/auth/login"));
        assert!(in_self_enforcing_scope("/oauth/authorize/decision"));
        assert!(!in_self_enforcing_scope("/oauthx"));
        assert!(!in_self_enforcing_scope("/apix"));
        assert!(!in_self_enforcing_scope("/authority"));
        assert!(!in_self_enforcing_scope("/admin"));
    }
}
