//! Applies the brute-force policy (`security::brute_force`) to accounts:
//! counts every check of an account's secret (passwords, second-factor and
//! recovery codes, current passwords), locks, unlocks, and checks a
//! signed-in user's password again ([`check_password`]). The delays after
//! failed sign-ins are `state::login_throttle`.

use crate::audit::{self, AuditEvent, Outcome};
use crate::db::{self, models::user::User};
use crate::error::{AppError, AppResult};
use crate::request_meta::RequestMeta;
use crate::services::sessions::{self, SignedIn};
use crate::state::AppState;

/// One check of an account's secret — a password, a TOTP or recovery code,
/// the current password of a change — claimed on the account before the
/// secret is evaluated. Every such check counts toward the one failure
/// counter and lock, like Keycloak's brute-force detection, whatever the
/// endpoint: otherwise the least guarded one would be where guessing goes.
///
/// The claim is what makes the limit hold under concurrency: counting and
/// checking are one atomic step in the database ([`User::claim_attempt`]),
/// taken before the (slow) evaluation, so N guesses in flight take N
/// attempts and no more than `LOGIN_LOCK_AFTER` are ever evaluated before
/// the lock. The claim then ends as a failure (it stays counted), a partial
/// success (given back) or a sign-in (the count is cleared).
#[must_use = "an attempt must end as failed, passed or signed in"]
pub struct Attempt {
    user_id: String,
    /// This claim took the last attempt and set the lock.
    locks: bool,
    failures: u32,
}

/// Claims an attempt for `user_id`; `None` when the account is locked (then
/// the secret must not be evaluated, and the caller answers exactly as for
/// a wrong one).
pub async fn begin(state: &AppState, user_id: &str) -> AppResult<Option<Attempt>> {
    let policy = state.settings.brute_force.clone();
    let lock_for = chrono::Duration::from_std(policy.lock_for).map_err(AppError::internal)?;
    let lock_after = i32::try_from(policy.lock_after).unwrap_or(i32::MAX);
    let uid = user_id.to_owned();
    let claimed = db::run(&state.pool, move |c| {
        db::write_transaction(c, |c| {
            let now = sessions::now();
            Ok(User::claim_attempt(
                c,
                &uid,
                now,
                lock_after,
                now + lock_for,
            )?)
        })
    })
    .await?;
    Ok(claimed.map(|n| {
        let failures = u32::try_from(n).unwrap_or(0);
        Attempt {
            user_id: user_id.to_owned(),
            locks: policy.locks(failures),
            failures,
        }
    }))
}

impl Attempt {
    /// The secret was wrong: the attempt stays counted. If it was the last
    /// one allowed, the account is now locked (audited).
    pub async fn failed(self, state: &AppState, meta: &RequestMeta) -> AppResult<()> {
        if self.locks {
            audit::record(
                &state.pool,
                Some(meta),
                AuditEvent::new("account.locked", Outcome::Success)
                    .target(self.user_id)
                    .detail(serde_json::json!({
                        "failures": self.failures,
                        "lock_secs": state.settings.brute_force.lock_for.as_secs(),
                    })),
            )
            .await?;
        }
        Ok(())
    }

    /// The secret was right, but this is not a whole sign-in (a password
    /// with a second factor still to come, a step-up, a re-authentication):
    /// the attempt is given back; other failures stay counted, so one known
    /// secret cannot wipe the count of guesses at another.
    pub async fn passed(self, state: &AppState) -> AppResult<()> {
        let lock_for = chrono::Duration::from_std(state.settings.brute_force.lock_for)
            .map_err(AppError::internal)?;
        let (uid, lifted) = (self.user_id, self.locks);
        db::run(&state.pool, move |c| {
            Ok(User::release_attempt(
                c,
                &uid,
                lifted,
                sessions::now() + lock_for,
            )?)
        })
        .await
    }

    /// A whole sign-in succeeded (every factor proven): the count starts afresh.
    pub async fn signed_in(self, state: &AppState) -> AppResult<()> {
        clear_user(state, &self.user_id).await
    }
}

/// What checking a signed-in user's password again found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordCheck {
    Correct,
    Wrong,
    /// The account is locked: the password was not evaluated.
    Locked,
}

impl PasswordCheck {
    /// For the audit trail.
    pub fn reason(self) -> &'static str {
        match self {
            Self::Correct => "correct",
            Self::Wrong => "wrong_password",
            Self::Locked => "account_locked",
        }
    }
}

/// Checks the password of a signed-in user (a change, MFA off, a
/// re-authentication). Like every check of a secret it counts toward the
/// account's lock: a session thief cannot guess the password here instead
/// of at the login (ASVS 5.0 6.3.1). A correct one gives its attempt back
/// without clearing other failures.
pub async fn check_password(
    state: &AppState,
    meta: &RequestMeta,
    user: &User,
    input: String,
) -> AppResult<PasswordCheck> {
    let Some(attempt) = begin(state, &user.id).await? else {
        return Ok(PasswordCheck::Locked);
    };
    if state
        .password_work
        .verify(input, user.password_hash.clone())
        .await?
    {
        attempt.passed(state).await?;
        Ok(PasswordCheck::Correct)
    } else {
        attempt.failed(state, meta).await?;
        Ok(PasswordCheck::Wrong)
    }
}

/// A successful sign-in starts the count afresh.
pub async fn clear_user(state: &AppState, user_id: &str) -> AppResult<()> {
    let uid = user_id.to_owned();
    db::run(&state.pool, move |c| Ok(User::clear_failures(c, &uid)?)).await?;
    Ok(())
}

/// An administrator lifts a lock (and the count).
pub async fn admin_unlock(
    state: &AppState,
    meta: &RequestMeta,
    admin: &SignedIn,
    user_id: &str,
) -> AppResult<()> {
    let (uid, m) = (user_id.to_owned(), meta.clone());
    let event = AuditEvent::new("account.unlock", Outcome::Success)
        .actor(admin.user.id.clone())
        .target(user_id.to_owned());
    db::run(&state.pool, move |c| {
        db::write_transaction(c, |c| {
            if User::clear_failures(c, &uid)? == 0 {
                return Err(AppError::NotFound);
            }
            audit::record_in(c, Some(&m), event)
        })
    })
    .await
}
