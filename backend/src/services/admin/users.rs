//! Finding users and reading one (with roles, MFA, devices, sessions),
//! and locking an account.

use super::roles::other_admin_remains;
use super::PAGE_SIZE;
use crate::audit::{self, AuditEvent, Outcome};
use crate::db::{
    self,
    models::device::Device,
    models::mfa::UserMfa,
    models::role_grant::RoleGrant,
    models::session::Session,
    models::user::{SearchField, User},
};
use crate::error::{AppError, AppResult};
use crate::request_meta::RequestMeta;
use crate::services::devices::rfc3339;
use crate::services::{devices, identity_cache, sessions, sessions::SignedIn};
use crate::state::AppState;
use chrono::Duration;
use wire::*;

fn grant_info(g: &RoleGrant) -> RoleGrantInfo {
    RoleGrantInfo {
        role: g.role.clone(),
        granted_at: g.granted_at.map(rfc3339),
        granted_by: g.granted_by.clone(),
        expires_at: g.expires_at.map(rfc3339),
    }
}

fn summaries(users: &[User], grants: &[RoleGrant], mfa: &[String]) -> Vec<AdminUserSummary> {
    let now = sessions::now();
    users
        .iter()
        .map(|u| AdminUserSummary {
            id: u.id.clone(),
            username: u.username.clone(),
            email: u.email.clone(),
            email_verified: u.email_verified_at.is_some(),
            roles: grants
                .iter()
                .filter(|g| g.user_id == u.id)
                .map(grant_info)
                .collect(),
            mfa_enabled: mfa.contains(&u.id),
            locked_until: u.locked_until.filter(|t| *t > now).map(rfc3339),
            created_at: rfc3339(u.created_at),
        })
        .collect()
}

/// One page of users whose username (or, when `q` holds an `@`, e-mail)
/// starts with `q` (any case, literal text); `next` continues the same
/// order (`User::search`).
pub async fn users(
    state: &AppState,
    q: Option<String>,
    after: Option<String>,
    limit: Option<i64>,
) -> AppResult<UserPage> {
    // Refused rather than clamped, like every other out-of-range parameter
    // (ASVS 5.0 V2.2.1): the documented range is the accepted one.
    let limit = match limit {
        None => PAGE_SIZE,
        Some(n @ 1..=100) => n,
        Some(_) => return Err(AppError::bad_request("limit: between 1 and 100")),
    };
    if q.as_ref().is_some_and(|q| q.chars().count() > 100) {
        return Err(AppError::bad_request("the search text is too long"));
    }
    let field = SearchField::of(q.as_deref().map(str::trim));
    let now = sessions::now();
    let (users, grants, mfa) = db::run(&state.pool, move |c| {
        let users = User::search(c, q.as_deref(), after.as_deref(), limit + 1)?;
        let ids: Vec<String> = users.iter().map(|u| u.id.clone()).collect();
        let grants = RoleGrant::active_for(c, &ids, now)?;
        let mfa = UserMfa::enabled_among(c, &ids)?;
        Ok((users, grants, mfa))
    })
    .await?;
    let more = users.len() > usize::try_from(limit).unwrap_or(usize::MAX);
    let shown = &users[..users
        .len()
        .min(usize::try_from(limit).unwrap_or(usize::MAX))];
    Ok(UserPage {
        users: summaries(shown, &grants, &mfa),
        next: if more {
            shown.last().map(|u| field.cursor_of(u))
        } else {
            None
        },
    })
}

pub async fn user_detail(
    state: &AppState,
    viewer: &SignedIn,
    user_id: &str,
) -> AppResult<AdminUserDetail> {
    let uid = user_id.to_owned();
    let now = sessions::now();
    let (user, grants, mfa, devices) = db::run(&state.pool, move |c| {
        let Some(user) = User::find_by_id(c, &uid)? else {
            return Ok(None);
        };
        let ids = vec![user.id.clone()];
        let grants = RoleGrant::active_for(c, &ids, now)?;
        let mfa = UserMfa::enabled_among(c, &ids)?;
        let devices = Device::for_user(c, &user.id)?;
        Ok(Some((user, grants, mfa, devices)))
    })
    .await?
    .ok_or(AppError::NotFound)?;
    let current = Some(viewer.session.id.as_str());
    let sessions = sessions::manage::list(state, &user.id, current).await?;
    let summary = summaries(std::slice::from_ref(&user), &grants, &mfa)
        .pop()
        .ok_or(AppError::NotFound)?;
    Ok(AdminUserDetail {
        user: summary,
        failed_logins: user.failed_logins,
        sessions,
        devices: devices
            .iter()
            .map(|d| devices::info(d, &user.username, None))
            .collect(),
    })
}

/// Locks an account until an admin unlocks it, and ends its sessions. The
/// last permanent admin who can act cannot be locked.
pub async fn lock(
    state: &AppState,
    meta: &RequestMeta,
    admin: &SignedIn,
    user_id: &str,
) -> AppResult<()> {
    if user_id == admin.user.id {
        return Err(AppError::Conflict(
            "you cannot lock your own account".into(),
        ));
    }
    let (uid, m) = (user_id.to_owned(), meta.clone());
    let now = sessions::now();
    let event = AuditEvent::new("account.locked", Outcome::Success)
        .actor(admin.user.id.clone())
        .target(user_id.to_owned())
        .detail(serde_json::json!({ "by": "admin" }));
    db::run(&state.pool, move |c| {
        db::write_transaction(c, |c| {
            RoleGrant::lock_admins(c)?;
            if User::find_by_id(c, &uid)?.is_none() {
                return Err(AppError::NotFound);
            }
            let is_admin = RoleGrant::permanent_admins(c, now)?.contains(&uid);
            if is_admin && !other_admin_remains(c, &uid, now)? {
                return Err(AppError::Conflict(
                    "the last administrator cannot be locked".into(),
                ));
            }
            // "Until unlocked": far enough that only an unlock ends it.
            User::lock(c, &uid, now + Duration::days(36_500))?;
            Session::revoke_all_except(c, &uid, None, "account_locked", now)?;
            audit::record_in(c, Some(&m), event)
        })
    })
    .await?;
    identity_cache::forget_user(state, user_id).await;
    Ok(())
}
