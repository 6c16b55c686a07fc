//! Enrolling in MFA: a new TOTP secret, stored encrypted, enabled once a
//! code for it is confirmed (with the first recovery codes).

use super::recovery::new_recovery_codes;
use super::{decrypt_secret, enabled, record, secret_field};
use crate::audit::{self, AuditEvent, Outcome};
use crate::db::{
    self,
    models::mfa::{RecoveryCode, UserMfa},
    models::session::Session,
};
use crate::error::{AppError, AppResult};
use crate::request_meta::RequestMeta;
use crate::security::totp;
use crate::services::sessions::{self, SignedIn};
use crate::services::user_keys;
use crate::state::AppState;
use wire::{FieldError, MfaSetupResponse};

/// Starts an enrolment: a new secret, stored encrypted, not enabled yet.
pub async fn setup(
    state: &AppState,
    meta: &RequestMeta,
    who: &SignedIn,
) -> AppResult<MfaSetupResponse> {
    if enabled(state, &who.user.id).await? {
        return Err(AppError::Conflict(
            "two-factor authentication is already on".into(),
        ));
    }
    let secret = totp::TotpSecret::generate();
    let uri = totp::provisioning_uri(&secret, &state.settings.mfa_issuer, &who.user.username)
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("cannot build the otpauth URI")))?;
    let qr_svg = totp::qr_svg(&uri)
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("cannot draw the QR code")))?;
    let (uid, m) = (who.user.id.clone(), meta.clone());
    let event = AuditEvent::new("mfa.setup", Outcome::Success)
        .actor(who.user.id.clone())
        .target(who.user.id.clone());
    // Under my data key, stored only while it is still mine (`user_keys`).
    user_keys::write_sealed(
        state,
        &who.user.id,
        secret_field(&who.user.id),
        secret.bytes(),
        move |c, stored| {
            UserMfa::start(c, &uid, &stored, sessions::now())?;
            audit::record_in(c, Some(&m), event)
        },
    )
    .await?;
    Ok(MfaSetupResponse {
        secret: secret.base32(),
        otpauth_uri: uri,
        qr_svg,
    })
}

/// Enables MFA when `code` is valid for the pending secret; returns the recovery codes.
pub async fn confirm(
    state: &AppState,
    meta: &RequestMeta,
    who: &SignedIn,
    code: &str,
) -> AppResult<Vec<String>> {
    let uid = who.user.id.clone();
    let row = db::run(&state.pool, move |c| Ok(UserMfa::find(c, &uid)?)).await?;
    let Some(row) = row.filter(|r| r.enabled_at.is_none()) else {
        return Err(AppError::Conflict(
            "there is no pending two-factor setup: start it first".into(),
        ));
    };
    let secret = decrypt_secret(state, &row).await?;
    // Not a check of the account's secret: the pending key was generated
    // for this very session (it was just shown to it), so guessing its code
    // gains nothing, and this route already needs a recent authentication
    // in a first-party session. It does not count toward the lock.
    let step = match totp::verify(&secret, code, state.clock.now_unix(), None) {
        Ok(step) => step,
        Err(_) => {
            record(
                state,
                Some(meta),
                AuditEvent::new("mfa.confirm", Outcome::Failure).actor(who.user.id.clone()),
            )
            .await?;
            return Err(AppError::Validation(vec![FieldError::new(
                "code", "invalid",
            )]));
        }
    };
    let (uid, sid, m) = (who.user.id.clone(), who.session.id.clone(), meta.clone());
    let (codes, digests) = new_recovery_codes(state);
    let event = AuditEvent::new("mfa.enable", Outcome::Success)
        .actor(who.user.id.clone())
        .target(who.user.id.clone());
    db::run(&state.pool, move |c| {
        db::write_transaction(c, |c| {
            let now = sessions::now();
            UserMfa::enable(c, &uid, step, now)?;
            Session::mark_mfa_verified(c, &sid, now)?;
            RecoveryCode::replace(c, &uid, &digests, now)?;
            audit::record_in(c, Some(&m), event)
        })
    })
    .await?;
    Ok(codes)
}
