//! Rate limits (actix-governor): per client IP on the authentication
//! endpoints (`RATE_LIMIT_AUTH`), and per IP and per signed-in user on the
//! API (`RATE_LIMIT_API`, `RATE_LIMIT_USER`). Static assets, pages and health
//! checks are not limited here.
//!
//! A limited request gets 429 with `Retry-After` and the `X-RateLimit-*`
//! headers, and the usual JSON error body. Each hit is counted; the counts
//! are written to the audit log once a minute as one event per limit, so a
//! flood does not flood the log.

use super::auth::presented_access_token;
use super::client::client_ip_addr;
use super::enforce::presented_device;
use crate::audit::{self, AuditEvent, Outcome};
use crate::config::RateLimit;
use crate::error::AppError;
use crate::security::client_ip;
use crate::services::sessions;
use crate::startup::AppState;
use actix_governor::governor::clock::{Clock, DefaultClock, QuantaInstant};
use actix_governor::governor::middleware::StateInformationMiddleware;
use actix_governor::governor::NotUntil;
use actix_governor::{
    GovernorConfig, GovernorConfigBuilder, KeyExtractor, SimpleKeyExtractionError,
};
use actix_web::body::MessageBody;
use actix_web::dev::ServiceRequest;
use actix_web::{web, HttpResponse, HttpResponseBuilder, ResponseError};
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Hits per limit since the last flush.
#[derive(Default)]
pub struct RateLimitStats {
    hits: Mutex<BTreeMap<&'static str, u64>>,
    total: AtomicU64,
}

impl RateLimitStats {
    fn hit(&self, limit: &'static str) {
        self.total.fetch_add(1, Ordering::Relaxed);
        let mut hits = self.hits.lock().unwrap_or_else(|e| e.into_inner());
        *hits.entry(limit).or_default() += 1;
    }

    /// All hits since start (for the dashboard).
    pub fn total(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }

    fn drain(&self) -> BTreeMap<&'static str, u64> {
        std::mem::take(&mut *self.hits.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// Writes one `rate_limit.exceeded` audit event per limit that was hit since
/// the last call. Called once a minute (and by tests).
pub async fn flush(state: &AppState) -> Result<(), AppError> {
    for (limit, count) in state.rate_limits.drain() {
        audit::record(
            &state.pool,
            None,
            AuditEvent::new("rate_limit.exceeded", Outcome::Denied)
                .detail(serde_json::json!({ "limit": limit, "hits": count, "window_secs": 60 })),
        )
        .await?;
    }
    Ok(())
}

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
}

impl KeyExtractor for ByClientIp {
    type Key = IpAddr;
    type KeyExtractionError = SimpleKeyExtractionError<&'static str>;

    fn extract(&self, req: &ServiceRequest) -> Result<IpAddr, Self::KeyExtractionError> {
        client_ip_addr(req.request())
            .map(|ip| client_ip::bucket(ip, self.v6_prefix))
            .ok_or_else(|| SimpleKeyExtractionError::new("no client address"))
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
        Ok(sessions::token_subject(
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

/// The three limiters, built once and shared by every worker.
#[derive(Clone)]
pub struct Limiters {
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
        };
        let missing = || anyhow::anyhow!("invalid rate limit configuration");
        Ok(Self {
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
                count: frontend::api::demo::DEMO_LIMIT_PER_MINUTE,
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
