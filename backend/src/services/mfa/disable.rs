//! Removing MFA: by the user (password and a current code) or by an
//! administrator (lost device; the user's sessions end).

use super::check::verify_second_factor;
use super::record;
use crate::audit::{self, AuditEvent, Outcome};
use crate::db::{self, models::mfa::UserMfa, models::user::User};
use crate::error::{AppError, AppResult};
use crate::request_meta::RequestMeta;
use crate::services::sessions::{self, SignedIn};
use crate::services::{identity_cache, lockout};
use crate::state::AppState;
use wire::FieldError;

/// Turns MFA off: needs the password and a current code.
pub async fn disable(
    state: &AppState,
    meta: &RequestMeta,
    who: &SignedIn,
    password_input: String,
    code: &str,
) -> AppResult<()> {
    // Both the password and the code count toward the account's lock.
    let check = lockout::check_password(state, meta, &who.user, password_input).await?;
    if check != lockout::PasswordCheck::Correct {
        record(
            state,
            Some(meta),
            AuditEvent::new("mfa.disable", Outcome::Failure)
                .actor(who.user.id.clone())
                .detail(serde_json::json!({ "reason": check.reason() })),
        )
        .await?;
        return Err(AppError::Validation(vec![FieldError::new(
            "current_password",
            "wrong",
        )]));
    }
    verify_second_factor(state, meta, &who.user.id, code, false, "disable").await?;
    let (uid, m) = (who.user.id.clone(), meta.clone());
    let event = AuditEvent::new("mfa.disable", Outcome::Success)
        .actor(who.user.id.clone())
        .target(who.user.id.clone());
    db::run(&state.pool, move |c| {
        db::write_transaction(c, |c| {
            UserMfa::remove(c, &uid)?;
            audit::record_in(c, Some(&m), event)
        })
    })
    .await
}

/// An administrator removes a user's MFA (lost device) and ends all of that
/// user's sessions.
pub async fn admin_reset(
    state: &AppState,
    meta: &RequestMeta,
    admin: &SignedIn,
    user_id: &str,
) -> AppResult<()> {
    let (uid, by, m) = (user_id.to_owned(), admin.user.id.clone(), meta.clone());
    let event = AuditEvent::new("mfa.admin_reset", Outcome::Success)
        .actor(admin.user.id.clone())
        .target(user_id.to_owned());
    // The factor removed, the user's sessions ended, both recorded: one
    // transaction.
    db::run(&state.pool, move |c| {
        db::write_transaction(c, |c| {
            if User::find_by_id(c, &uid)?.is_none() {
                return Err(AppError::NotFound);
            }
            UserMfa::remove(c, &uid)?;
            sessions::manage::revoke_all_except_in(c, &m, &by, &uid, None, "mfa_reset_by_admin")?;
            audit::record_in(c, Some(&m), event)
        })
    })
    .await?;
    identity_cache::forget_user(state, user_id).await;
    Ok(())
}
