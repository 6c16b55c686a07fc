//! Applies the brute-force policy (`security::brute_force`) to accounts:
//! counts failed passwords and second-factor codes, delays, locks, unlocks.

use crate::audit::{self, AuditEvent, Outcome};
use crate::db::{self, models::user::User};
use crate::error::{AppError, AppResult};
use crate::http::client::RequestMeta;
use crate::security::brute_force::BruteForcePolicy;
use crate::services::sessions::{self, SignedIn};
use crate::startup::AppState;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

pub fn is_locked(user: &User) -> bool {
    user.locked_until.is_some_and(|t| t > sessions::now())
}

/// Counts a failure for the account `user_id` and locks it when the policy
/// says so. (The delay is applied separately, by [`LoginThrottle`], to known
/// and unknown login names alike.)
pub async fn record_failure(state: &AppState, meta: &RequestMeta, user_id: &str) -> AppResult<()> {
    let policy = state.settings.brute_force.clone();
    let lock_for = chrono::Duration::from_std(policy.lock_for).map_err(AppError::internal)?;
    let uid = user_id.to_owned();
    let (failures, locked) = db::run(&state.pool, move |c| {
        let failures = u32::try_from(User::record_failure(c, &uid)?).unwrap_or(0);
        let locked = policy.locks(failures);
        if locked {
            User::lock(c, &uid, sessions::now() + lock_for)?;
        }
        Ok((failures, locked))
    })
    .await?;
    if locked {
        audit::record(
            &state.pool,
            Some(meta),
            AuditEvent::new("account.locked", Outcome::Success)
                .target(user_id.to_owned())
                .detail(serde_json::json!({
                    "failures": failures,
                    "lock_secs": state.settings.brute_force.lock_for.as_secs(),
                })),
        )
        .await?;
    }
    Ok(())
}

/// Growing delays after consecutive failures, keyed by what was typed (the
/// login name, or the user id at the second-factor step) rather than by
/// account: an unknown name is slowed down exactly like a real account, so
/// the delay does not tell which accounts exist. In memory, per instance;
/// entries expire after the lock period.
#[derive(Default)]
pub struct LoginThrottle {
    entries: Mutex<HashMap<String, (u32, Instant)>>,
}

/// More entries than this and expired ones are swept out on the next failure.
const THROTTLE_SWEEP_AT: usize = 10_000;

impl LoginThrottle {
    /// Records a failure for `key` and waits the policy's delay for it.
    pub async fn fail(&self, key: &str, policy: &BruteForcePolicy) {
        let delay = {
            let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            if entries.len() > THROTTLE_SWEEP_AT {
                entries.retain(|_, (_, at)| now.duration_since(*at) < policy.lock_for);
            }
            let entry = entries.entry(key.to_lowercase()).or_insert((0, now));
            if now.duration_since(entry.1) >= policy.lock_for {
                *entry = (0, now);
            }
            entry.0 = entry.0.saturating_add(1);
            entry.1 = now;
            policy.delay_for(entry.0)
        };
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
    }

    pub fn clear(&self, key: &str) {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&key.to_lowercase());
    }
}

/// A successful sign-in starts the count afresh.
pub async fn clear(state: &AppState, user: &User) -> AppResult<()> {
    if user.failed_logins == 0 && user.locked_until.is_none() {
        return Ok(());
    }
    let uid = user.id.clone();
    db::run(&state.pool, move |c| Ok(User::clear_failures(c, &uid)?)).await?;
    Ok(())
}

/// An administrator lifts a lock (and the count).
pub async fn admin_unlock(
    state: &AppState,
    meta: &RequestMeta,
    admin: &SignedIn,
    user_id: &str,
) -> AppResult<()> {
    let uid = user_id.to_owned();
    let found = db::run(&state.pool, move |c| Ok(User::clear_failures(c, &uid)?)).await?;
    if found == 0 {
        return Err(AppError::NotFound);
    }
    audit::record(
        &state.pool,
        Some(meta),
        AuditEvent::new("account.unlock", Outcome::Success)
            .actor(admin.user.id.clone())
            .target(user_id.to_owned()),
    )
    .await
}
