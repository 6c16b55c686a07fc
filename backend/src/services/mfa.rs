//! Two-factor authentication with TOTP: enrolment, the second login step,
//! recovery codes, step-up for sensitive actions, disabling and admin reset.
//!
//! Every enrolment, confirmation, failure, replay, recovery-code use, reset
//! and step-up is an audit event.

use crate::audit::{self, AuditEvent, Outcome};
use crate::db::{
    self,
    models::mfa::{MfaChallenge, RecoveryCode, UserMfa},
    models::session::Session,
    models::user::User,
};
use crate::error::{AppError, AppResult};
use crate::request_meta::RequestMeta;
use crate::security::field_crypto::FieldRef;
use crate::security::policy::Role;
use crate::security::refresh_token::RefreshToken;
use crate::security::{recovery_codes, totp};
use crate::services::sessions::{self, IssuedTokens, SignedIn};
use crate::services::{identity_cache, lockout, user_keys};
use crate::state::AppState;
use wire::{FieldError, MfaSetupResponse, MfaStatus};

/// How long the second login step may take.
const CHALLENGE_TTL_SECS: i64 = 300;
/// Wrong codes allowed per login attempt before the password must be entered again.
const CHALLENGE_MAX_FAILURES: i32 = 5;

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

/// A new set of recovery codes: the codes in clear (shown once) and the
/// digests to store (`RecoveryCode::replace`, in the caller's transaction).
fn new_recovery_codes(state: &AppState) -> (Vec<String>, Vec<String>) {
    let codes = recovery_codes::generate();
    let keys = &state.keys.session;
    let digests: Vec<String> = codes
        .iter()
        .filter_map(|c| recovery_codes::normalize(c))
        .map(|n| keys.digest(|k| recovery_codes::digest(k, &n)))
        .collect();
    (codes, digests)
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

/// After a correct password for a user with MFA: a short-lived, single-use
/// token for the second step. No session exists yet.
pub async fn start_login(state: &AppState, meta: &RequestMeta, user: &User) -> AppResult<String> {
    let token = RefreshToken::generate();
    let digest = state.keys.session.digest(|k| token.digest(k));
    let (uid, m) = (user.id.clone(), meta.clone());
    let event = AuditEvent::new("auth.login", Outcome::Success)
        .target(user.id.clone())
        .detail(serde_json::json!({ "step": "password", "next": "mfa" }));
    db::run(&state.pool, move |c| {
        db::write_transaction(c, |c| {
            let now = sessions::now();
            MfaChallenge::create(
                c,
                &digest,
                &uid,
                now,
                now + chrono::Duration::seconds(CHALLENGE_TTL_SECS),
            )?;
            audit::record_in(c, Some(&m), event)
        })
    })
    .await?;
    Ok(token.expose().to_owned())
}

/// The second login step: the pending login's token and a TOTP or recovery code.
pub async fn complete_login(
    state: &AppState,
    meta: &RequestMeta,
    mfa_token: &str,
    code: &str,
) -> AppResult<(User, IssuedTokens)> {
    let Some(token) = RefreshToken::parse(mfa_token) else {
        return Err(AppError::InvalidCode);
    };
    let lookups = state.keys.session.lookups(|k| token.digest(k));
    let found = db::run(&state.pool, move |c| {
        let Some(ch) = MfaChallenge::find_by_hash(c, &lookups)? else {
            return Ok(None);
        };
        let user = User::find_by_id(c, &ch.user_id)?;
        Ok(user.map(|u| (ch, u)))
    })
    .await?;
    // One attempt on the challenge is claimed atomically before the code is
    // looked at (a check made on the row read above would let parallel
    // guesses through); the account's own limit is claimed by
    // `verify_second_factor`.
    let claimed = match &found {
        Some((ch, _)) => {
            let id = ch.id.clone();
            db::run(&state.pool, move |c| {
                Ok(MfaChallenge::claim_attempt(
                    c,
                    &id,
                    sessions::now(),
                    CHALLENGE_MAX_FAILURES,
                )?)
            })
            .await?
        }
        None => false,
    };
    let Some((challenge, user)) = found.filter(|_| claimed) else {
        record(
            state,
            Some(meta),
            AuditEvent::new("mfa.verify", Outcome::Denied)
                .detail(serde_json::json!({ "purpose": "login", "reason": "unknown_used_or_expired_token" })),
        )
        .await?;
        state.metrics.login(crate::metrics::Login::Failure);
        return Err(AppError::InvalidCode);
    };
    match verify_second_factor(state, meta, &user.id, code, true, "login").await {
        Ok(proof) => {
            let id = challenge.id.clone();
            let first = db::run(&state.pool, move |c| {
                Ok(MfaChallenge::consume(c, &id, sessions::now())?)
            })
            .await?;
            if !first {
                return Err(AppError::InvalidCode);
            }
            lockout::clear_user(state, &user.id).await?;
            state.login_throttle.clear(&user.id);
            let uid = user.id.clone();
            let tokens =
                sessions::open::open_with_mfa(state, meta, &user, true, move |session_id| {
                    AuditEvent::new("auth.login", Outcome::Success)
                        .actor(uid.clone())
                        .target(uid)
                        .detail(serde_json::json!({
                            "step": "mfa",
                            "method": if proof == Proof::Totp { "totp" } else { "recovery_code" },
                            "session_id": session_id,
                        }))
                })
                .await?;
            state.metrics.login(crate::metrics::Login::Success);
            Ok((user, tokens))
        }
        Err(e) => {
            state.metrics.login(crate::metrics::Login::Failure);
            state
                .login_throttle
                .fail(&user.id, &state.settings.brute_force)
                .await;
            Err(e)
        }
    }
}

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
