//! Step-up: proving the second factor again for a session, and requiring
//! a recent proof before sensitive actions.

use super::check::verify_second_factor;
use super::enabled;
use crate::audit::{self, AuditEvent, Outcome};
use crate::db::{self, models::session::Session};
use crate::error::{AppError, AppResult};
use crate::request_meta::RequestMeta;
use crate::services::sessions::{self, SignedIn};
use crate::state::AppState;

/// Proves the second factor again for this session (step-up).
pub async fn step_up(
    state: &AppState,
    meta: &RequestMeta,
    who: &SignedIn,
    code: &str,
) -> AppResult<()> {
    verify_second_factor(state, meta, &who.user.id, code, false, "step_up").await?;
    let (sid, m) = (who.session.id.clone(), meta.clone());
    let event = AuditEvent::new("mfa.step_up", Outcome::Success).actor(who.user.id.clone());
    db::run(&state.pool, move |c| {
        db::write_transaction(c, |c| {
            Session::mark_mfa_verified(c, &sid, sessions::now())?;
            audit::record_in(c, Some(&m), event)
        })
    })
    .await
}

/// For sensitive actions: a user with MFA must have proven it within
/// `STEP_UP_WINDOW_SECS`, else `401 step_up_required`. (A user without MFA
/// has no second factor to prove; those actions ask for the password.)
pub async fn require_recent(state: &AppState, who: &SignedIn) -> AppResult<()> {
    if !enabled(state, &who.user.id).await? {
        return Ok(());
    }
    let window = chrono::Duration::from_std(state.settings.access.step_up_window)
        .map_err(AppError::internal)?;
    let recent = who
        .session
        .mfa_verified_at
        .is_some_and(|t| sessions::now() - t <= window);
    if recent {
        Ok(())
    } else {
        Err(AppError::StepUpRequired)
    }
}
