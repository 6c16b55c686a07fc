//! The state every request handler can reach: the settings, the database
//! pool, the keys and the shared counters, caches and limiters. Built once
//! by `startup::Application::build` (and by the CLI for one-shot commands).

use crate::clock::Clock;
use crate::config::Settings;
use crate::db::Pool;
use crate::http::rate_limit::RateLimitStats;
use crate::secrets::Keys;
use crate::security::policy::PolicySettings;
use crate::services::access::DecisionStats;
use crate::services::identity_cache::IdentityCache;
use crate::services::lockout::LoginThrottle;
use std::sync::Arc;

/// What every handler can reach.
pub struct AppState {
    pub settings: Settings,
    pub pool: Pool,
    pub keys: Keys,
    /// See `security::password::dummy_hash`.
    pub dummy_hash: String,
    /// The time the second-factor checks use.
    pub clock: Clock,
    /// Rate-limit hits, for the audit log and the dashboard.
    pub rate_limits: Arc<RateLimitStats>,
    /// Delays after failed sign-ins, per login name.
    pub login_throttle: LoginThrottle,
    /// What the policy decision point applies (from `settings`).
    pub policy: PolicySettings,
    /// Allowed decisions, counted between flushes.
    pub decision_stats: DecisionStats,
    /// What `GET /metrics` reports (requests, latency, logins, denials,
    /// rate-limit hits), since start.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// The shared auth rate limit in Redis; `None` without `REDIS_URL`.
    pub shared_limit: Option<crate::http::shared_limit::SharedLimiter>,
    /// Recently verified requests (`services::identity_cache`).
    pub identity_cache: Arc<IdentityCache>,
    /// Where Argon2id runs, one hash per core at a time.
    pub password_work: crate::services::password_work::PasswordWork,
}
