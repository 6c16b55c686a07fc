//! The shared authentication rate limit (`REDIS_URL`) as a middleware: it
//! asks the limiter (`state::shared_limiter`, where the window, the script
//! and the fail-open rule are) once per request. actix-governor
//! (`rate_limit`) stays the first, per-instance layer; this runs after it on
//! the same scopes (`/api/v1/auth`, `/auth`, `/oauth`), with the same client
//! IP rule (trusted proxies honoured, `client::client_ip_addr`).

use super::client::client_ip_addr;
use super::rate_limit::respond_429;
use crate::security::client_ip;
use crate::state::shared_limiter::Verdict;
use crate::state::AppState;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{web, Error, HttpResponse};

/// The limit's name in the audit log and `/metrics`.
pub const LIMIT_NAME: &str = "auth_shared";

/// The middleware: a no-op without `REDIS_URL`.
pub async fn shared_limit(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let limiter = state.as_ref().and_then(|s| s.shared_limit.as_ref());
    let (Some(state), Some(limiter), Some(ip)) =
        (state.as_ref(), limiter, client_ip_addr(req.request()))
    else {
        return Ok(next.call(req).await?.map_into_left_body());
    };
    // Keyed like the per-instance limit: an IPv6 client by its network.
    let ip = client_ip::bucket(ip, state.settings.rate_limit_ipv6_prefix);
    match limiter.check(ip).await {
        Ok(Verdict::Allow { .. }) => Ok(next.call(req).await?.map_into_left_body()),
        Ok(Verdict::Refuse { retry_after_secs }) => {
            let mut builder = HttpResponse::TooManyRequests();
            builder
                .insert_header(("retry-after", retry_after_secs.to_string()))
                .insert_header(("x-ratelimit-after", retry_after_secs.to_string()))
                .insert_header(("x-ratelimit-limit", limiter.rate().count.to_string()))
                .insert_header(("x-ratelimit-remaining", "0"));
            let response = respond_429(
                &state.rate_limits,
                &state.metrics,
                LIMIT_NAME,
                retry_after_secs,
                builder,
            );
            let mut response = req.into_response(response);
            response
                .response_mut()
                .extensions_mut()
                .insert(SharedRefusal);
            Ok(response.map_into_right_body())
        }
        Err(error) => {
            state.metrics.redis_error();
            tracing::error!(%error, "shared rate limit: Redis unavailable, failing open");
            Ok(next.call(req).await?.map_into_left_body())
        }
    }
}

/// Marks a 429 of the shared limit for [`governor_headers`].
#[derive(Clone, Copy)]
struct SharedRefusal;

/// Wraps the governor on the same scopes: the governor writes its own
/// bucket's `X-RateLimit-Remaining` on every response it let through, which
/// for a refusal of the shared limit would claim requests are left; this puts
/// back the shared limit's 0.
pub async fn governor_headers(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let mut response = next.call(req).await?;
    if response.response().extensions().contains::<SharedRefusal>() {
        response.headers_mut().insert(
            HeaderName::from_static("x-ratelimit-remaining"),
            HeaderValue::from_static("0"),
        );
    }
    Ok(response)
}
