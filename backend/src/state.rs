//! The state every request handler can reach: the settings, the database
//! pool, the keys and the shared counters, caches and limiters. Built once
//! by `startup::Application::build` (and by the CLI for one-shot commands).
//!
//! Where it sits: a layer of its own between `services` and `audit`.
//! Services take `&AppState`, so everything it holds lives here, in the
//! sub-modules below, or lower (`audit`, `identity`, `db`, the
//! infrastructure modules, `security`), never in `services`, `http` or
//! above: each sub-module is the data and its own bookkeeping; the use
//! cases that act on it stay in `services` (`invariants::layers` checks).

pub mod decision_stats;
pub mod identity_cache;
pub mod login_throttle;
pub mod password_work;
pub mod rate_limit_stats;
pub mod shared_limiter;

use crate::clock::Clock;
use crate::config::Settings;
use crate::db::Pool;
use crate::keys::Keys;
use crate::security::policy::PolicySettings;
use decision_stats::DecisionStats;
use identity_cache::IdentityCache;
use login_throttle::LoginThrottle;
use password_work::PasswordWork;
use rate_limit_stats::RateLimitStats;
use shared_limiter::SharedLimiter;
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
    pub shared_limit: Option<SharedLimiter>,
    /// Recently verified requests.
    pub identity_cache: Arc<IdentityCache>,
    /// Where Argon2id runs, one hash per core at a time.
    pub password_work: PasswordWork,
}
