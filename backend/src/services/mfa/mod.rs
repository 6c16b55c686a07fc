//! Two-factor authentication with TOTP: enrolment, the second login step,
//! recovery codes, step-up for sensitive actions, disabling and admin reset.
//!
//! Every enrolment, confirmation, failure, replay, recovery-code use, reset
//! and step-up is an audit event.
//!
//! One file per job: `enrol`, `login` (the second login step), `check` (the
//! second-factor check they all use), `recovery` (recovery codes),
//! `step_up`, `disable` (by the user or an admin). This file holds the
//! secret's storage and the MFA status.

pub mod check;
pub mod disable;
pub mod enrol;
pub mod login;
pub mod recovery;
pub mod step_up;

use crate::audit::{self, AuditEvent};
use crate::db::{
    self,
    models::mfa::{RecoveryCode, UserMfa},
};
use crate::error::AppResult;
use crate::request_meta::RequestMeta;
use crate::security::field_crypto::FieldRef;
use crate::security::policy::Role;
use crate::security::totp;
use crate::services::sessions::SignedIn;
use crate::services::user_keys;
use crate::state::AppState;
use wire::MfaStatus;

fn secret_field(user_id: &str) -> FieldRef<'_> {
    FieldRef {
        table: "user_mfa",
        column: "secret",
        row_id: user_id,
    }
}

/// Under the user's data key (`v2`), or a field key for a secret from
/// before per-user keys (`v1`).
async fn decrypt_secret(state: &AppState, row: &UserMfa) -> AppResult<totp::TotpSecret> {
    let bytes =
        user_keys::open(state, secret_field(&row.user_id), &row.user_id, &row.secret).await?;
    Ok(totp::TotpSecret::from_bytes(bytes))
}

async fn record(state: &AppState, meta: Option<&RequestMeta>, event: AuditEvent) -> AppResult<()> {
    audit::record(&state.pool, meta, event).await
}

pub async fn enabled(state: &AppState, user_id: &str) -> AppResult<bool> {
    let uid = user_id.to_owned();
    let row = db::run(&state.pool, move |c| Ok(UserMfa::find(c, &uid)?)).await?;
    Ok(row.is_some_and(|r| r.enabled_at.is_some()))
}

pub async fn status(state: &AppState, who: &SignedIn) -> AppResult<MfaStatus> {
    let uid = who.user.id.clone();
    let (row, remaining) = db::run(&state.pool, move |c| {
        Ok((UserMfa::find(c, &uid)?, RecoveryCode::remaining(c, &uid)?))
    })
    .await?;
    let enabled_at = row.and_then(|r| r.enabled_at);
    Ok(MfaStatus {
        enabled: enabled_at.is_some(),
        enabled_at: enabled_at.map(|t| t.and_utc().to_rfc3339()),
        recovery_codes_remaining: if enabled_at.is_some() { remaining } else { 0 },
        required: requires_mfa(state, &who.roles),
    })
}

/// Whether these roles must use MFA (`MFA_REQUIRED_FOR_ROLES`).
pub fn requires_mfa(state: &AppState, roles: &[Role]) -> bool {
    roles
        .iter()
        .any(|r| state.policy.mfa_required_for.contains(r))
}
