//! Ending and listing sessions: logout, a user's or an admin's revocation,
//! ending all others, and the device labels session lists show.

use super::refresh::Redeemer;
use super::{idle, now};
use crate::audit::{self, AuditEvent, Outcome};
use crate::db::{self, models::refresh_token::RefreshTokenRow, models::session::Session};
use crate::error::{AppError, AppResult};
use crate::request_meta::RequestMeta;
use crate::security::refresh_token::RefreshToken;
use crate::services::identity_cache;
use crate::state::AppState;
use wire::SessionInfo;

/// Ends one session (logout). Revoking an already-ended session is not an error.
pub async fn end(
    state: &AppState,
    meta: &RequestMeta,
    user_id: &str,
    session_id: &str,
    reason: &'static str,
) -> AppResult<()> {
    let (sid, m) = (session_id.to_owned(), meta.clone());
    let action = if reason == "logout" {
        "auth.logout"
    } else {
        "session.revoke"
    };
    let event = AuditEvent::new(action, Outcome::Success)
        .actor(user_id.to_owned())
        .target(session_id.to_owned())
        .detail(serde_json::json!({ "reason": reason }));
    revoke_recorded(state, sid, m, reason, event, user_id).await
}

/// Logout from a refresh token alone (when the access token has expired).
pub async fn end_by_refresh_token(
    state: &AppState,
    meta: &RequestMeta,
    presented: &str,
) -> AppResult<()> {
    let Some(token) = RefreshToken::parse(presented) else {
        return Ok(());
    };
    let lookups = state.keys.session.lookups(|k| token.digest(k));
    let found = db::run(&state.pool, move |c| {
        let Some(row) = RefreshTokenRow::find_by_hash(c, &lookups)? else {
            return Ok(None);
        };
        // Like a refresh: only a first-party session's token ends it here
        // (an OAuth client's is revoked at `/oauth/revoke`, by that client).
        Ok(Session::find(c, &row.session_id)?.filter(|s| Redeemer::FirstParty.may_redeem(s)))
    })
    .await?;
    match found {
        Some(session) => end(state, meta, &session.user_id, &session.id, "logout").await,
        None => Ok(()),
    }
}

/// A user's open sessions, for "Sessions" pages (idle ones left out).
pub async fn list(
    state: &AppState,
    user_id: &str,
    current: Option<&str>,
) -> AppResult<Vec<SessionInfo>> {
    let idle = idle(state)?;
    let uid = user_id.to_owned();
    let now = now();
    let sessions = db::run(&state.pool, move |c| {
        Ok(Session::list_open_for_user(c, &uid, now)?)
    })
    .await?;
    Ok(sessions
        .into_iter()
        .filter(|s| s.is_live(now, idle))
        .map(|s| SessionInfo {
            current: current == Some(s.id.as_str()),
            id: s.id,
            device: s.device_label,
            ip: s.client_ip,
            created_at: s.created_at.and_utc().to_rfc3339(),
            last_seen_at: s.last_seen_at.and_utc().to_rfc3339(),
        })
        .collect())
}

/// Revokes `session_id` if it belongs to `owner` (or to anyone, for an admin
/// passing `owner = None`). Someone else's session is "not found" (no IDOR,
/// and no hint that the id exists).
pub async fn revoke(
    state: &AppState,
    meta: &RequestMeta,
    actor: &str,
    owner: Option<&str>,
    session_id: &str,
) -> AppResult<()> {
    let sid = session_id.to_owned();
    let session = db::run(&state.pool, move |c| Ok(Session::find(c, &sid)?)).await?;
    let session = match (session, owner) {
        (Some(s), Some(owner)) if s.user_id == owner => s,
        (Some(s), None) => s,
        (Some(s), Some(_)) => {
            // Someone else's session id: answered like an unknown one, and
            // recorded as the attempt it is (the owner stays out of the detail).
            audit::record(
                &state.pool,
                Some(meta),
                AuditEvent::new("session.revoke", Outcome::Denied)
                    .actor(actor.to_owned())
                    .target(s.id)
                    .detail(serde_json::json!({ "reason": "not_owner" })),
            )
            .await?;
            return Err(AppError::NotFound);
        }
        _ => return Err(AppError::NotFound),
    };
    let reason = if owner.is_some() {
        "revoked_by_user"
    } else {
        "revoked_by_admin"
    };
    let (sid, m) = (session.id.clone(), meta.clone());
    let event = AuditEvent::new("session.revoke", Outcome::Success)
        .actor(actor.to_owned())
        .target(session.id.clone())
        .detail(serde_json::json!({ "reason": reason, "owner": session.user_id }));
    revoke_recorded(state, sid, m, reason, event, &session.user_id).await
}

/// Ends session `sid` and, if it was live, records `event` in the same
/// transaction and forgets its owner's cached verdicts on every instance.
async fn revoke_recorded(
    state: &AppState,
    sid: String,
    meta: RequestMeta,
    reason: &'static str,
    event: AuditEvent,
    owner: &str,
) -> AppResult<()> {
    let now = now();
    let ended = db::run(&state.pool, move |c| {
        db::write_transaction(c, |c| {
            let ended = Session::revoke(c, &sid, reason, now)?;
            if ended {
                audit::record_in(c, Some(&meta), event)?;
            }
            Ok(ended)
        })
    })
    .await?;
    if ended {
        identity_cache::forget_user(state, owner).await;
    }
    Ok(())
}

/// Ends every session of `user_id` except `keep`; returns how many ended.
pub async fn revoke_all_except(
    state: &AppState,
    meta: &RequestMeta,
    actor: &str,
    user_id: &str,
    keep: Option<&str>,
    reason: &'static str,
) -> AppResult<usize> {
    let (uid, keep_owned) = (user_id.to_owned(), keep.map(str::to_owned));
    let (by, m) = (actor.to_owned(), meta.clone());
    let n = db::run(&state.pool, move |c| {
        db::write_transaction(c, |c| {
            revoke_all_except_in(c, &m, &by, &uid, keep_owned.as_deref(), reason)
        })
    })
    .await?;
    identity_cache::forget_user(state, user_id).await;
    Ok(n)
}

/// [`revoke_all_except`] inside the caller's write transaction, for a change
/// that must end sessions with it (a password change, an MFA reset); the
/// caller records its own entry after this (see `audit::record_in`) and then
/// forgets the user's cached identity.
pub fn revoke_all_except_in(
    c: &mut db::DbConn,
    meta: &RequestMeta,
    actor: &str,
    user_id: &str,
    keep: Option<&str>,
    reason: &'static str,
) -> AppResult<usize> {
    let n = Session::revoke_all_except(c, user_id, keep, reason, now())?;
    audit::record_in(
        c,
        Some(meta),
        AuditEvent::new("session.revoke_others", Outcome::Success)
            .actor(actor.to_owned())
            .target(user_id.to_owned())
            .detail(serde_json::json!({ "reason": reason, "count": n })),
    )?;
    Ok(n)
}

/// A short, human label for a user agent: "Firefox on Linux", "curl", ...
/// Shown in session lists so people recognise their devices.
pub fn device_label(user_agent: Option<&str>) -> String {
    let Some(ua) = user_agent.filter(|u| !u.trim().is_empty()) else {
        return "Unknown device".into();
    };
    let browser = [
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("Chromium/", "Chromium"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
        ("curl/", "curl"),
        ("python-requests", "Python"),
        ("reqwest", "reqwest"),
    ]
    .iter()
    .find(|(needle, _)| ua.contains(needle))
    .map(|(_, name)| *name);
    let os = [
        ("Android", "Android"),
        ("iPhone", "iOS"),
        ("iPad", "iPadOS"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("CrOS", "ChromeOS"),
        ("Linux", "Linux"),
    ]
    .iter()
    .find(|(needle, _)| ua.contains(needle))
    .map(|(_, name)| *name);
    match (browser, os) {
        (Some(b), Some(o)) => format!("{b} on {o}"),
        (Some(b), None) => b.to_owned(),
        (None, Some(o)) => format!("Browser on {o}"),
        (None, None) => "Unknown device".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_labels_are_recognisable() {
        let chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36";
        assert_eq!(device_label(Some(chrome)), "Chrome on Linux");
        let firefox =
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0";
        assert_eq!(device_label(Some(firefox)), "Firefox on Windows");
        let safari = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Version/17.0 Mobile/15E148 Safari/604.1";
        assert_eq!(device_label(Some(safari)), "Safari on iOS");
        assert_eq!(device_label(Some("curl/8.5.0")), "curl");
        assert_eq!(device_label(None), "Unknown device");
        assert_eq!(device_label(Some("<script>")), "Unknown device");
    }
}
