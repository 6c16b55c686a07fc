//! The second login step: a short-lived, single-use challenge after the
//! password, completed with a TOTP or recovery code.

use super::check::{verify_second_factor, Proof};
use super::record;
use crate::audit::{self, AuditEvent, Outcome};
use crate::db::{self, models::mfa::MfaChallenge, models::user::User};
use crate::error::{AppError, AppResult};
use crate::request_meta::RequestMeta;
use crate::security::refresh_token::RefreshToken;
use crate::services::lockout;
use crate::services::sessions::{self, IssuedTokens};
use crate::state::AppState;

/// How long the second login step may take.
const CHALLENGE_TTL_SECS: i64 = 300;
/// Wrong codes allowed per login attempt before the password must be entered again.
const CHALLENGE_MAX_FAILURES: i32 = 5;

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
