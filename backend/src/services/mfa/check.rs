//! The second-factor check every MFA step goes through: a TOTP code (once
//! per step) or a recovery code (once ever), on the account's lock.

use super::{decrypt_secret, record};
use crate::audit::{self, AuditEvent, Outcome};
use crate::db::{
    self,
    models::mfa::{RecoveryCode, UserMfa},
};
use crate::error::{AppError, AppResult};
use crate::request_meta::RequestMeta;
use crate::security::{recovery_codes, totp};
use crate::services::lockout;
use crate::services::sessions::{self};
use crate::state::AppState;

/// How a second factor was proven.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proof {
    Totp,
    RecoveryCode,
}

/// Checks a TOTP code (once per step) or, if `allow_recovery`, a recovery
/// code (once ever) for `user_id`. Failures and replays are audited here.
///
/// Every check is an attempt on the account's lock (`lockout::begin`), for
/// every purpose (login, step-up, disabling MFA): a wrong or replayed code
/// counts like a wrong password, and a locked account's code is refused
/// without being evaluated (a recovery code is then not used up). A right
/// code gives its attempt back; only a whole sign-in clears the count.
pub async fn verify_second_factor(
    state: &AppState,
    meta: &RequestMeta,
    user_id: &str,
    code: &str,
    allow_recovery: bool,
    purpose: &'static str,
) -> AppResult<Proof> {
    let uid = user_id.to_owned();
    let row = db::run(&state.pool, move |c| Ok(UserMfa::find(c, &uid)?)).await?;
    let Some(row) = row.filter(|r| r.enabled_at.is_some()) else {
        return Err(AppError::InvalidCode);
    };
    let Some(attempt) = lockout::begin(state, user_id).await? else {
        refused(state, meta, user_id, purpose, Refusal::Locked).await?;
        return Err(AppError::InvalidCode);
    };
    let compact: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if compact.len() == totp::DIGITS && compact.bytes().all(|b| b.is_ascii_digit()) {
        let secret = decrypt_secret(state, &row).await?;
        match totp::verify(
            &secret,
            &compact,
            state.clock.now_unix(),
            row.last_used_step,
        ) {
            Ok(step) => {
                let uid = user_id.to_owned();
                let fresh =
                    db::run(&state.pool, move |c| Ok(UserMfa::use_step(c, &uid, step)?)).await?;
                if fresh {
                    attempt.passed(state).await?;
                    return Ok(Proof::Totp);
                }
                refused(state, meta, user_id, purpose, Refusal::Replay).await?;
            }
            Err(totp::TotpError::Replay) => {
                refused(state, meta, user_id, purpose, Refusal::Replay).await?
            }
            Err(totp::TotpError::Invalid) => {
                refused(state, meta, user_id, purpose, Refusal::Invalid).await?
            }
        }
        attempt.failed(state, meta).await?;
        return Err(AppError::InvalidCode);
    }
    if allow_recovery {
        if let Some(normalized) = recovery_codes::normalize(code) {
            let lookups = state
                .keys
                .session
                .lookups(|k| recovery_codes::digest(k, &normalized));
            let (uid, m) = (user_id.to_owned(), meta.clone());
            // The code used up and that recorded: one transaction.
            let used = db::run(&state.pool, move |c| {
                db::write_transaction(c, |c| {
                    if !RecoveryCode::consume(c, &uid, &lookups, sessions::now())? {
                        return Ok(false);
                    }
                    let remaining = RecoveryCode::remaining(c, &uid)?;
                    audit::record_in(
                        c,
                        Some(&m),
                        AuditEvent::new("mfa.recovery_code_used", Outcome::Success)
                            .actor(uid.clone())
                            .detail(
                                serde_json::json!({ "purpose": purpose, "remaining": remaining }),
                            ),
                    )?;
                    Ok(true)
                })
            })
            .await?;
            if used {
                attempt.passed(state).await?;
                return Ok(Proof::RecoveryCode);
            }
        }
    }
    refused(state, meta, user_id, purpose, Refusal::Invalid).await?;
    attempt.failed(state, meta).await?;
    Err(AppError::InvalidCode)
}

/// How a second-factor check failed, for the audit trail.
#[derive(Clone, Copy)]
enum Refusal {
    /// Not a valid code.
    Invalid,
    /// A valid code for a step already used.
    Replay,
    /// The account is locked: the code was not evaluated.
    Locked,
}

async fn refused(
    state: &AppState,
    meta: &RequestMeta,
    user_id: &str,
    purpose: &str,
    why: Refusal,
) -> AppResult<()> {
    let event = match why {
        Refusal::Invalid => AuditEvent::new("mfa.verify", Outcome::Failure)
            .detail(serde_json::json!({ "purpose": purpose, "reason": "invalid_code" })),
        Refusal::Replay => AuditEvent::new("mfa.replay", Outcome::Denied)
            .detail(serde_json::json!({ "purpose": purpose })),
        Refusal::Locked => AuditEvent::new("mfa.verify", Outcome::Denied)
            .detail(serde_json::json!({ "purpose": purpose, "reason": "account_locked" })),
    };
    record(state, Some(meta), event.target(user_id.to_owned())).await
}
