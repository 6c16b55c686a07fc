//! Granting and revoking roles, time-bound when asked, and the rule that
//! the last permanent admin stays.

use crate::audit::{self, AuditEvent, Outcome};
use crate::db::{self, models::role_grant::RoleGrant, models::user::User};
use crate::error::{AppError, AppResult};
use crate::request_meta::RequestMeta;
use crate::security::policy::Role;
use crate::services::devices::rfc3339;
use crate::services::{identity_cache, sessions, sessions::SignedIn};
use crate::state::AppState;
use chrono::{Duration, NaiveDateTime};
use wire::*;

/// Time-bound grants: between a minute and 30 days.
const MAX_GRANT_MINUTES: u32 = 30 * 24 * 60;

/// Grants or revokes one role. The last permanent admin cannot lose (or
/// trade for a time-bound grant) the admin role; changes end nobody's
/// session but apply from the user's next request (roles are read live).
pub async fn change_role(
    state: &AppState,
    meta: &RequestMeta,
    admin: &SignedIn,
    user_id: &str,
    change: RoleChangeRequest,
) -> AppResult<()> {
    let role = Role::parse(&change.role)
        .ok_or_else(|| AppError::Validation(vec![FieldError::new("role", "invalid")]))?;
    let minutes = match change.expires_in_minutes {
        Some(m) if m == 0 || m > MAX_GRANT_MINUTES => {
            return Err(AppError::Validation(vec![FieldError::new(
                "expires_in_minutes",
                "invalid",
            )]))
        }
        other if change.grant => other,
        Some(_) => {
            return Err(AppError::Validation(vec![FieldError::new(
                "expires_in_minutes",
                "invalid",
            )]))
        }
        None => None,
    };
    let now = sessions::now();
    let expires_at = minutes.map(|m| now + Duration::minutes(i64::from(m)));
    let (uid, by, m) = (user_id.to_owned(), admin.user.id.clone(), meta.clone());
    let grant = change.grant;
    let outcome = db::run(&state.pool, move |c| {
        db::write_transaction(c, |c| {
            // Removing admin, or making it expire, must leave a permanent
            // admin who can act: decided and done under the admins' lock.
            let loses_permanent_admin = role == Role::Admin && (!grant || expires_at.is_some());
            if loses_permanent_admin {
                RoleGrant::lock_admins(c)?;
            }
            // The change and its entry commit together; a refusal is
            // recorded too (with nothing changed).
            let outcome = change_role_in(c, &uid, role, grant, &by, now, expires_at)?;
            let ok = outcome.is_ok();
            let event = AuditEvent::new(
                if grant { "role.grant" } else { "role.revoke" },
                if ok {
                    Outcome::Success
                } else {
                    Outcome::Failure
                },
            )
            .actor(by.clone())
            .target(uid.clone())
            .detail(serde_json::json!({
                "role": role.as_str(),
                "expires_at": expires_at.map(rfc3339),
                "result": if ok { "done" } else { "refused" },
            }));
            audit::record_in(c, Some(&m), event)?;
            Ok(outcome)
        })
    })
    .await?;
    if outcome.is_ok() {
        identity_cache::forget_user(state, user_id).await;
    }
    outcome
}

/// [`change_role`]'s rules and change, inside its transaction: `Ok(Err)` is
/// a refusal (nothing changed), `Err` a database error.
fn change_role_in(
    c: &mut db::DbConn,
    uid: &str,
    role: Role,
    grant: bool,
    by: &str,
    now: NaiveDateTime,
    expires_at: Option<NaiveDateTime>,
) -> AppResult<AppResult<()>> {
    if User::find_by_id(c, uid)?.is_none() {
        return Ok(Err(AppError::NotFound));
    }
    let loses_permanent_admin = role == Role::Admin && (!grant || expires_at.is_some());
    if loses_permanent_admin && !other_admin_remains(c, uid, now)? {
        return Ok(Err(AppError::Conflict(
            "the last administrator cannot lose the admin role".into(),
        )));
    }
    if grant {
        RoleGrant::grant(c, uid, role, by, now, expires_at)?;
    } else if RoleGrant::revoke(c, uid, role)? == 0 {
        return Ok(Err(AppError::NotFound));
    }
    Ok(Ok(()))
}

/// Whether a permanent, unlocked admin other than `uid` remains. Call it
/// under `RoleGrant::lock_admins`.
pub(super) fn other_admin_remains(
    c: &mut db::DbConn,
    uid: &str,
    now: NaiveDateTime,
) -> AppResult<bool> {
    Ok(RoleGrant::permanent_admins(c, now)?
        .iter()
        .any(|id| id != uid))
}
