//! Recovery codes: a new set (shown once, stored as digests), and
//! regenerating them after a step-up.

use super::enabled;
use super::step_up::require_recent;
use crate::audit::{self, AuditEvent, Outcome};
use crate::db::{self, models::mfa::RecoveryCode};
use crate::error::{AppError, AppResult};
use crate::request_meta::RequestMeta;
use crate::security::recovery_codes;
use crate::services::sessions::{self, SignedIn};
use crate::state::AppState;

/// A new set of recovery codes: the codes in clear (shown once) and the
/// digests to store (`RecoveryCode::replace`, in the caller's transaction).
pub(super) fn new_recovery_codes(state: &AppState) -> (Vec<String>, Vec<String>) {
    let codes = recovery_codes::generate();
    let keys = &state.keys.session;
    let digests: Vec<String> = codes
        .iter()
        .filter_map(|c| recovery_codes::normalize(c))
        .map(|n| keys.digest(|k| recovery_codes::digest(k, &n)))
        .collect();
    (codes, digests)
}

/// New recovery codes (the old ones stop working). Needs a recent step-up.
pub async fn regenerate_recovery_codes(
    state: &AppState,
    meta: &RequestMeta,
    who: &SignedIn,
) -> AppResult<Vec<String>> {
    if !enabled(state, &who.user.id).await? {
        return Err(AppError::Conflict(
            "two-factor authentication is off".into(),
        ));
    }
    require_recent(state, who).await?;
    let (codes, digests) = new_recovery_codes(state);
    let (uid, m) = (who.user.id.clone(), meta.clone());
    let event = AuditEvent::new("mfa.recovery_codes_regenerated", Outcome::Success)
        .actor(who.user.id.clone());
    db::run(&state.pool, move |c| {
        db::write_transaction(c, |c| {
            RecoveryCode::replace(c, &uid, &digests, sessions::now())?;
            audit::record_in(c, Some(&m), event)
        })
    })
    .await?;
    Ok(codes)
}
