//! Rate limits (actix-governor): per client IP on every request but health
//! checks (`RATE_LIMIT_IP`, the outer limit, in front of everything that may
//! write: pages, `/metrics`, CSRF refusals, forged-header records, the
//! enforcement point), per client IP on the authentication endpoints
//! (`RATE_LIMIT_AUTH`), and per IP and per signed-in user on the API
//! (`RATE_LIMIT_API`, `RATE_LIMIT_USER`).
//!
//! A limited request gets 429 with `Retry-After` and the `X-RateLimit-*`
//! headers, and the usual JSON error body. Each hit is counted
//! (`state::rate_limit_stats`, which writes them to the audit log once a
//! minute).

use super::auth::presented_access_token;
use super::client::client_ip_addr;
use super::enforce::presented_device;
use super::is_health_check;
use crate::config::RateLimit;
use crate::error::AppError;
use crate::security::client_ip;
use crate::services::sessions;
use crate::state::rate_limit_stats::RateLimitStats;
use crate::state::AppState;
use actix_governor::governor::clock::{Clock, DefaultClock, QuantaInstant};
use actix_governor::governor::middleware::StateInformationMiddleware;
use actix_governor::governor::NotUntil;
use actix_governor::{
    GovernorConfig, GovernorConfigBuilder, KeyExtractor, SimpleKeyExtractionError,
};
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, HttpResponse, HttpResponseBuilder, ResponseError};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

/// The 429 body: our JSON error with the request id; governor has already
/// put `Retry-After` and the `X-RateLimit-*` headers on the builder.
fn too_many(
    stats: &RateLimitStats,
    metrics: &crate::metrics::Metrics,
    limit: &'static str,
    negative: &NotUntil<QuantaInstant>,
    response: HttpResponseBuilder,
) -> HttpResponse {
    let wait = negative
        .wait_time_from(DefaultClock::default().now())
        .as_secs();
    respond_429(stats, metrics, limit, wait, response)
}

/// Counts the hit and finishes the 429; the caller has put `Retry-After` and
/// the `X-RateLimit-*` headers on the builder. Also used by the shared limit
/// (`shared_limit`), so both limits answer and count alike.
pub(crate) fn respond_429(
    stats: &RateLimitStats,
    metrics: &crate::metrics::Metrics,
    limit: &'static str,
    wait: u64,
    mut response: HttpResponseBuilder,
) -> HttpResponse {
    stats.hit(limit);
    metrics.rate_limited(limit);
    tracing::warn!(limit, retry_after_secs = wait, "rate limit exceeded");
    let body = AppError::TooManyRequests.error_response();
    let bytes = body.into_body().try_into_bytes().unwrap_or_default();
    response.content_type("application/json").body(bytes)
}

/// Buckets by client IP (trusted proxies honoured, see `client::client_ip_addr`);
/// an IPv6 client by its network (`RATE_LIMIT_IPV6_PREFIX`, see
/// `client_ip::bucket`).
#[derive(Clone)]
pub struct ByClientIp {
    limit: &'static str,
    stats: Arc<RateLimitStats>,
    metrics: Arc<crate::metrics::Metrics>,
    v6_prefix: u8,
    /// Paths this limit does not count (the exempt `None` key).
    exempt: fn(&str) -> bool,
}

impl KeyExtractor for ByClientIp {
    type Key = Option<IpAddr>;
    type KeyExtractionError = SimpleKeyExtractionError<&'static str>;

    fn extract(&self, req: &ServiceRequest) -> Result<Option<IpAddr>, Self::KeyExtractionError> {
        if (self.exempt)(req.path()) {
            return Ok(None);
        }
        client_ip_addr(req.request())
            .map(|ip| Some(client_ip::bucket(ip, self.v6_prefix)))
            .ok_or_else(|| SimpleKeyExtractionError::new("no client address"))
    }

    fn whitelisted_keys(&self) -> Vec<Option<IpAddr>> {
        vec![None]
    }

    fn exceed_rate_limit_response(
        &self,
        negative: &NotUntil<QuantaInstant>,
        response: HttpResponseBuilder,
    ) -> HttpResponse {
        too_many(&self.stats, &self.metrics, self.limit, negative, response)
    }
}

/// Buckets by the verified user of the request's access token; requests
/// without one share the exempt `None` key (the per-IP limit covers them).
#[derive(Clone)]
pub struct ByUser {
    state: web::Data<AppState>,
    limit: &'static str,
}

impl KeyExtractor for ByUser {
    type Key = Option<String>;
    type KeyExtractionError = SimpleKeyExtractionError<&'static str>;

    fn extract(&self, req: &ServiceRequest) -> Result<Option<String>, Self::KeyExtractionError> {
        let Some(token) = presented_access_token(req.request()) else {
            return Ok(None);
        };
        let device = presented_device(req.request());
        Ok(sessions::verify::token_subject(
            &self.state,
            &token,
            device.as_deref(),
        ))
    }

    fn exceed_rate_limit_response(
        &self,
        negative: &NotUntil<QuantaInstant>,
        response: HttpResponseBuilder,
    ) -> HttpResponse {
        let state = &self.state;
        too_many(
            &state.rate_limits,
            &state.metrics,
            self.limit,
            negative,
            response,
        )
    }

    fn whitelisted_keys(&self) -> Vec<Option<String>> {
        vec![None]
    }
}

fn builder(
    rate: RateLimit,
) -> GovernorConfigBuilder<
    actix_governor::PeerIpKeyExtractor,
    actix_governor::governor::middleware::NoOpMiddleware,
> {
    let mut b = GovernorConfigBuilder::default();
    let period = Duration::from_secs(rate.per_secs)
        .checked_div(rate.count)
        .unwrap_or(Duration::from_secs(1));
    b.period(period.max(Duration::from_micros(1)))
        .burst_size(rate.count);
    b
}

/// The limiters, built once and shared by every worker.
#[derive(Clone)]
pub struct Limiters {
    /// `RATE_LIMIT_IP`: every request but health checks, outside CSRF and
    /// the app-level enforcement point, so no refused request can write
    /// (an audit entry, a decision row) without passing a limit first.
    pub ip: PerIpLimit,
    pub auth: GovernorConfig<ByClientIp, StateInformationMiddleware>,
    pub api_ip: GovernorConfig<ByClientIp, StateInformationMiddleware>,
    pub api_user: GovernorConfig<ByUser, StateInformationMiddleware>,
    /// The Patterns area's rate-limit demo (`/api/v1/demo/limited`): its own
    /// tiny per-user bucket, so tripping it locks nobody out of anything.
    pub demo: GovernorConfig<ByUser, StateInformationMiddleware>,
}

impl Limiters {
    pub fn new(state: &web::Data<AppState>) -> anyhow::Result<Self> {
        let s = &state.settings;
        let stats = state.rate_limits.clone();
        let by_ip = |limit| ByClientIp {
            limit,
            stats: stats.clone(),
            metrics: state.metrics.clone(),
            v6_prefix: s.rate_limit_ipv6_prefix,
            exempt: |_| false,
        };
        let missing = || anyhow::anyhow!("invalid rate limit configuration");
        Ok(Self {
            ip: PerIpLimit {
                config: builder(s.rate_limit_ip)
                    .key_extractor(by_ip("all_per_ip"))
                    .finish()
                    .ok_or_else(missing)?,
                by_ip: ByClientIp {
                    exempt: is_health_check,
                    ..by_ip("all_per_ip")
                },
                count: s.rate_limit_ip.count,
            },
            auth: builder(s.rate_limit_auth)
                .key_extractor(by_ip("auth_per_ip"))
                .use_headers()
                .finish()
                .ok_or_else(missing)?,
            api_ip: builder(s.rate_limit_api)
                .key_extractor(by_ip("api_per_ip"))
                .use_headers()
                .finish()
                .ok_or_else(missing)?,
            api_user: builder(s.rate_limit_user)
                .key_extractor(ByUser {
                    state: state.clone(),
                    limit: "api_per_user",
                })
                .use_headers()
                .finish()
                .ok_or_else(missing)?,
            demo: builder(RateLimit {
                count: wire::demo::DEMO_LIMIT_PER_MINUTE,
                per_secs: 60,
            })
            .key_extractor(ByUser {
                state: state.clone(),
                limit: "demo_per_user",
            })
            .use_headers()
            .finish()
            .ok_or_else(missing)?,
        })
    }
}

/// The app-wide per-IP limit (`RATE_LIMIT_IP`), checked by [`per_ip`]: a
/// governor middleware cannot wrap the whole app (it needs the `Unpin`
/// future of a concrete service beneath it, which `App::wrap` hides), so
/// this middleware asks the same kind of limiter itself.
#[derive(Clone)]
pub struct PerIpLimit {
    config: GovernorConfig<ByClientIp, actix_governor::governor::middleware::NoOpMiddleware>,
    by_ip: ByClientIp,
    count: u32,
}

/// The middleware of [`PerIpLimit`]: 429 with `Retry-After` and the JSON
/// error body, counted like the governor's hits.
pub async fn per_ip<B: MessageBody + 'static>(
    limit: PerIpLimit,
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error> {
    let key = match limit.by_ip.extract(&req) {
        Ok(Some(key)) => Some(key),
        // Exempt, or no peer address (nothing to key on: only in tests).
        _ => return next.call(req).await.map(|r| r.map_into_left_body()),
    };
    match limit.config.limiter().check_key(&key) {
        Ok(()) => next.call(req).await.map(|r| r.map_into_left_body()),
        Err(negative) => {
            let wait = negative
                .wait_time_from(DefaultClock::default().now())
                .as_secs()
                .max(1);
            let mut builder = HttpResponse::TooManyRequests();
            builder
                .insert_header(("retry-after", wait.to_string()))
                .insert_header(("x-ratelimit-after", wait.to_string()))
                .insert_header(("x-ratelimit-limit", limit.count.to_string()))
                .insert_header(("x-ratelimit-remaining", "0"));
            let by_ip = &limit.by_ip;
            let response = respond_429(&by_ip.stats, &by_ip.metrics, by_ip.limit, wait, builder);
            Ok(req.into_response(response).map_into_right_body())
        }
    }
}
