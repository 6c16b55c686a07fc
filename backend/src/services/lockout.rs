//! Applies the brute-force policy (`security::brute_force`) to accounts:
//! counts failed passwords and second-factor codes, delays, locks, unlocks.

use crate::audit::{self, AuditEvent, Outcome};
use crate::db::{self, models::user::User};
use crate::error::{AppError, AppResult};
use crate::http::client::RequestMeta;
use crate::services::sessions::{self, SignedIn};
use crate::startup::AppState;

pub fn is_locked(user: &User) -> bool {
    user.locked_until.is_some_and(|t| t > sessions::now())
}

/// Counts a failure for `user_id`, locks the account when the policy says
/// so, and waits the policy's delay before returning (the caller then
/// answers exactly as for any wrong password).
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
    let delay = state.settings.brute_force.delay_for(failures);
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    Ok(())
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
