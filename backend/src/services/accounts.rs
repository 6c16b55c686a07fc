//! Registration, login and password changes. (Sessions and tokens: `sessions`.)

use crate::audit::{self, AuditEvent, Outcome};
use crate::db::{
    self,
    models::session::Session,
    models::user::{NewUser, Role, User},
};
use crate::error::{AppError, AppResult};
use crate::request_meta::RequestMeta;
use crate::security::blocklist;
use crate::services::lockout::{self, PasswordCheck};
use crate::services::sessions::{self, IssuedTokens, SignedIn};
use crate::services::{identity_cache, mfa};
use crate::state::AppState;
use wire::{
    ChangePasswordRequest, Email, FieldError, LoginName, LoginRequest, PasswordContext,
    PasswordPolicy, RegisterRequest, Username,
};

/// The configured password policy (`PASSWORD_POLICY`) with the server's list
/// of the 100,000 most common passwords on top of the short shipped one.
pub fn password_policy(state: &AppState) -> PasswordPolicy {
    PasswordPolicy::new(state.settings.password_policy).with_blocklist(blocklist::contains)
}

/// Parses every field, collecting all problems (the form shows them together).
fn parse_registration(
    req: &RegisterRequest,
    policy: &PasswordPolicy,
) -> Result<(Email, Username), Vec<FieldError>> {
    let mut errors = Vec::new();
    let email = Email::parse(&req.email).map_err(|e| errors.push(e)).ok();
    let username = Username::parse(&req.username)
        .map_err(|e| errors.push(e))
        .ok();
    errors.extend(policy.check(
        &req.password,
        PasswordContext {
            username: &req.username,
            email: &req.email,
        },
    ));
    match (email, username) {
        (Some(e), Some(u)) if errors.is_empty() => Ok((e, u)),
        _ => Err(errors),
    }
}

/// What a public registration answers.
pub struct Registered {
    pub id: String,
    pub username: String,
}

/// Self-service registration without an account-existence oracle.
///
/// The e-mail address is recorded as an unproven claim
/// ([`EmailClaim::Unproven`]): only proven addresses are unique and sign in.
/// So an address another account has proven changes nothing observable: the
/// account is created, its username is taken from then on, its password
/// works, its address signs in to nothing, and the Argon2 work is the same.
/// (Issue 19's proof by mail is what turns a claim into an address.)
///
/// A taken **username** is answered 409: a username is a public handle the
/// user must change to proceed. That tells the caller the handle exists; the
/// per-IP sign-in limit caps how fast anyone can probe.
pub async fn register_public(
    state: &AppState,
    meta: &RequestMeta,
    req: RegisterRequest,
) -> AppResult<Registered> {
    let user = register(state, Some(meta), req, &[Role::User], EmailClaim::Unproven).await?;
    Ok(Registered {
        id: user.id,
        username: user.username,
    })
}

/// How far the new account's e-mail address is trusted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EmailClaim {
    /// Self-service: anyone may type any address.
    Unproven,
    /// The server's operator vouches for it (`create-admin` on the console):
    /// proven at once, so it must not be proven by another account.
    Proven,
}

/// Why [`register`] created nothing.
#[derive(Debug)]
pub enum RegisterError {
    /// A proven address that another account has already proven.
    EmailTaken,
    App(AppError),
}

impl From<AppError> for RegisterError {
    fn from(e: AppError) -> Self {
        Self::App(e)
    }
}

impl From<RegisterError> for AppError {
    /// For callers that may say so plainly (`create-admin` on the server's
    /// own console): a taken e-mail is a conflict.
    fn from(e: RegisterError) -> Self {
        match e {
            RegisterError::EmailTaken => {
                AppError::Conflict("an account with this e-mail already exists".into())
            }
            RegisterError::App(e) => e,
        }
    }
}

fn username_taken() -> AppError {
    AppError::Conflict("this username is taken: choose another".into())
}

/// Creates an account with the given roles. Used by self-service
/// registration ([`register_public`]) and by `create-admin`.
pub async fn register(
    state: &AppState,
    meta: Option<&RequestMeta>,
    req: RegisterRequest,
    roles: &'static [Role],
    claim: EmailClaim,
) -> Result<User, RegisterError> {
    let (email, username) =
        parse_registration(&req, &password_policy(state)).map_err(AppError::Validation)?;

    let name_taken = {
        let u = username.clone();
        db::run(&state.pool, move |c| {
            Ok(User::find_by_login(c, u.as_str())?
                .is_some_and(|x| x.username.eq_ignore_ascii_case(u.as_str())))
        })
        .await?
    };
    if name_taken {
        audit::record(
            &state.pool,
            meta,
            AuditEvent::new("account.register", Outcome::Failure)
                .detail(serde_json::json!({ "reason": "username_taken" })),
        )
        .await?;
        return Err(username_taken().into());
    }

    let phc = state.password_work.hash(req.password).await?;

    let now = chrono::Utc::now().naive_utc();
    let id = uuid::Uuid::new_v4().to_string();
    let role_names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
    let event = AuditEvent::new("account.register", Outcome::Success)
        .actor(id.clone())
        .target(id.clone())
        .detail(serde_json::json!({
            "roles": role_names,
            "email_proven": claim == EmailClaim::Proven,
        }));
    let m = meta.cloned();
    let user = {
        let (id, username, email) = (id.clone(), username.clone(), email.clone());
        db::run(&state.pool, move |c| {
            db::write_transaction(c, |c| {
                let new = NewUser {
                    id: &id,
                    username: username.as_str(),
                    email: email.as_str(),
                    password_hash: &phc,
                    created_at: now,
                    updated_at: now,
                    email_verified_at: (claim == EmailClaim::Proven).then_some(now),
                };
                match db::savepoint(c, |c| User::create(c, &new, roles)) {
                    Ok(()) => {}
                    // A registration racing past the check above, or a proven
                    // address already proven: the unique indexes decide.
                    Err(diesel::result::Error::DatabaseError(
                        diesel::result::DatabaseErrorKind::UniqueViolation,
                        _,
                    )) => {
                        let name_now_taken = User::find_by_login(c, username.as_str())?
                            .is_some_and(|x| x.username.eq_ignore_ascii_case(username.as_str()));
                        return Ok(Err(if name_now_taken {
                            RegisterError::App(username_taken())
                        } else {
                            RegisterError::EmailTaken
                        }));
                    }
                    Err(e) => return Err(e.into()),
                }
                let user = User::find_by_id(c, &id)?
                    .ok_or_else(|| AppError::internal(anyhow::anyhow!("user vanished")))?;
                audit::record_in(c, m.as_ref(), event)?;
                Ok(Ok(user))
            })
        })
        .await??
    };
    Ok(user)
}

/// What a correct password leads to.
// Returned once per login and matched at once: boxing would buy nothing.
#[allow(clippy::large_enum_variant)]
pub enum LoginOutcome {
    /// Signed in: a new session and its tokens.
    SignedIn(User, IssuedTokens),
    /// MFA is on: no session yet, only the token for the second step.
    MfaRequired(String),
}

/// Checks the password and opens a new session (ASVS 3.2.1: a fresh session
/// at every login), or asks for the second factor when MFA is on. An unknown
/// account and a wrong password take the same time and give the same answer.
pub async fn login(
    state: &AppState,
    meta: &RequestMeta,
    req: LoginRequest,
) -> AppResult<LoginOutcome> {
    let mut errors = Vec::new();
    let login = LoginName::parse(&req.login)
        .map_err(|e| errors.push(e))
        .ok();
    if req.password.is_empty() {
        errors.push(FieldError::new("password", "required"));
    }
    let Some(login) = login.filter(|_| errors.is_empty()) else {
        return Err(AppError::Validation(errors));
    };
    let login = match login {
        LoginName::Username(u) => u.as_str().to_owned(),
        LoginName::Email(e) => e.as_str().to_owned(),
    };

    let login_key = login.clone();
    let user = db::run(&state.pool, move |c| Ok(User::find_by_login(c, &login)?)).await?;
    // The attempt is claimed before the password waits for its turn in the
    // Argon2 queue, atomically, so parallel guesses cannot all pass a check
    // made on a copy read before they queued.
    let attempt = match &user {
        Some(u) => lockout::begin(state, &u.id).await?,
        None => None,
    };
    // A locked account's password is not evaluated; the dummy hash keeps the
    // work (and so the time) the same as for any other answer.
    let phc = match (&user, &attempt) {
        (Some(u), Some(_)) => u.password_hash.clone(),
        _ => state.dummy_hash.clone(),
    };
    let password = req.password;
    let matches = state.password_work.verify(password, phc).await?;

    let (user, attempt) = match (user, attempt) {
        (Some(user), Some(attempt)) if matches => (user, attempt),
        (user, attempt) => {
            // A locked account answers like a wrong password, right or not.
            let reason = match (&user, &attempt) {
                (None, _) => "unknown_account",
                (Some(_), None) => "account_locked",
                (Some(_), Some(_)) => "wrong_password",
            };
            let mut event = AuditEvent::new("auth.login", Outcome::Failure)
                .detail(serde_json::json!({ "reason": reason }));
            if let Some(u) = &user {
                event = event.target(u.id.clone());
            }
            state.metrics.login(crate::metrics::Login::Failure);
            audit::record(&state.pool, Some(meta), event).await?;
            if let Some(attempt) = attempt {
                attempt.failed(state, meta).await?;
            }
            // Unknown, wrong or locked: the same delay for the same name.
            state
                .login_throttle
                .fail(&login_key, &state.settings.brute_force)
                .await;
            return Err(AppError::InvalidCredentials);
        }
    };

    // With MFA on, the failure count is cleared only once the code is proven too.
    if mfa::enabled(state, &user.id).await? {
        attempt.passed(state).await?;
        let token = mfa::login::start_login(state, meta, &user).await?;
        state.metrics.login(crate::metrics::Login::MfaRequired);
        return Ok(LoginOutcome::MfaRequired(token));
    }
    attempt.signed_in(state).await?;
    state.login_throttle.clear(&login_key);
    let uid = user.id.clone();
    let tokens = sessions::open::open(state, meta, &user, move |session_id| {
        AuditEvent::new("auth.login", Outcome::Success)
            .actor(uid.clone())
            .target(uid)
            .detail(serde_json::json!({ "session_id": session_id }))
    })
    .await?;
    state.metrics.login(crate::metrics::Login::Success);
    Ok(LoginOutcome::SignedIn(user, tokens))
}

/// Proves again that the session's user is at the keyboard, with the
/// password: account-security changes need this (or a second factor, the
/// step-up) within `REAUTH_WINDOW_SECS`. A wrong or locked answer is the
/// same 422 and counts toward the lock.
pub async fn reauthenticate(
    state: &AppState,
    meta: &RequestMeta,
    who: &SignedIn,
    password: String,
) -> AppResult<()> {
    if password.is_empty() {
        return Err(AppError::Validation(vec![FieldError::new(
            "password", "required",
        )]));
    }
    let check = lockout::check_password(state, meta, &who.user, password).await?;
    if check != PasswordCheck::Correct {
        audit::record(
            &state.pool,
            Some(meta),
            AuditEvent::new("auth.reauthenticate", Outcome::Failure)
                .actor(who.user.id.clone())
                .detail(serde_json::json!({ "reason": check.reason() })),
        )
        .await?;
        return Err(AppError::Validation(vec![FieldError::new(
            "password", "wrong",
        )]));
    }
    let (sid, m) = (who.session.id.clone(), meta.clone());
    let event = AuditEvent::new("auth.reauthenticate", Outcome::Success)
        .actor(who.user.id.clone())
        .detail(serde_json::json!({ "method": "password" }));
    db::run(&state.pool, move |c| {
        db::write_transaction(c, |c| {
            Session::mark_reauthenticated(c, &sid, sessions::now())?;
            audit::record_in(c, Some(&m), event)
        })
    })
    .await?;
    identity_cache::forget_user(state, &who.user.id).await;
    Ok(())
}

/// Changes the password after checking the current one, and ends every other
/// session (ASVS 3.3.3); the session making the change stays signed in.
pub async fn change_password(
    state: &AppState,
    meta: &RequestMeta,
    who: &SignedIn,
    req: ChangePasswordRequest,
) -> AppResult<usize> {
    mfa::step_up::require_recent(state, who).await?;
    let violations = password_policy(state).check(
        &req.new_password,
        PasswordContext {
            username: &who.user.username,
            email: &who.user.email,
        },
    );
    let mut fields: Vec<FieldError> = violations
        .into_iter()
        .map(|mut e| {
            e.field = "new_password".into();
            e
        })
        .collect();
    if req.current_password.is_empty() {
        fields.push(FieldError::new("current_password", "required"));
    }
    if !fields.is_empty() {
        return Err(AppError::Validation(fields));
    }
    // Wrong (or, on a locked account, any) current password: the same answer.
    let check = lockout::check_password(state, meta, &who.user, req.current_password).await?;
    if check != PasswordCheck::Correct {
        let reason = match check {
            PasswordCheck::Locked => "account_locked",
            _ => "wrong_current_password",
        };
        audit::record(
            &state.pool,
            Some(meta),
            AuditEvent::new("account.password_change", Outcome::Failure)
                .actor(who.user.id.clone())
                .target(who.user.id.clone())
                .detail(serde_json::json!({ "reason": reason })),
        )
        .await?;
        return Err(AppError::Validation(vec![FieldError::new(
            "current_password",
            "wrong",
        )]));
    }
    let new = req.new_password;
    let phc = state.password_work.hash(new).await?;
    let (uid, sid, m) = (who.user.id.clone(), who.session.id.clone(), meta.clone());
    let event = AuditEvent::new("account.password_change", Outcome::Success)
        .actor(who.user.id.clone())
        .target(who.user.id.clone());
    // The new password, the end of every other session and both entries:
    // one transaction, so no old session outlives a committed change.
    let ended = db::run(&state.pool, move |c| {
        db::write_transaction(c, |c| {
            User::set_password_hash(c, &uid, &phc, sessions::now())?;
            let ended = sessions::manage::revoke_all_except_in(
                c,
                &m,
                &uid,
                &uid,
                Some(&sid),
                "password_changed",
            )?;
            audit::record_in(c, Some(&m), event)?;
            Ok(ended)
        })
    })
    .await?;
    identity_cache::forget_user(state, &who.user.id).await;
    Ok(ended)
}

#[cfg(test)]
mod tests {
    use super::*;

    use wire::password_policy::PolicyKind;

    fn request(password: &str) -> RegisterRequest {
        RegisterRequest {
            email: "admiral@example.org".into(),
            username: "grace".into(),
            password: password.into(),
        }
    }

    fn password_keys(kind: PolicyKind, password: &str) -> Vec<String> {
        let policy = PasswordPolicy::new(kind).with_blocklist(blocklist::contains);
        match parse_registration(&request(password), &policy) {
            Ok(_) => Vec::new(),
            Err(errors) => errors.iter().map(FieldError::key).collect(),
        }
    }

    #[test]
    fn registration_reports_all_field_errors_at_once() {
        let errors = parse_registration(
            &RegisterRequest {
                email: "not-an-email".into(),
                username: "x".into(),
                password: "short".into(),
            },
            &PasswordPolicy::default(),
        )
        .unwrap_err();
        let keys: Vec<_> = errors.iter().map(FieldError::key).collect();
        assert!(keys.contains(&"email.invalid".to_owned()));
        assert!(keys.contains(&"username.too_short".to_owned()));
        assert!(keys.contains(&"password.too_short".to_owned()));
    }

    #[test]
    fn registration_applies_the_configured_policy_and_the_big_list() {
        use PolicyKind::{Catalogue, Nist};
        assert!(password_keys(Nist, "violet harbours").is_empty());
        assert_eq!(
            password_keys(Catalogue, "violet harbours"),
            [
                "password.missing_upper",
                "password.missing_digit",
                "password.missing_special"
            ]
        );
        assert!(password_keys(Catalogue, "Tr0ub4dor&Zeb").is_empty());
        assert_eq!(
            password_keys(Nist, "Tr0ub4dor&Zeb"),
            ["password.passphrase_too_short"]
        );
        for kind in [Catalogue, Nist] {
            // Rank 90,242 of the source list, decorated; not on the short list.
            assert_eq!(password_keys(kind, "Zangetsu#2024!!!"), ["password.common"]);
            assert_eq!(
                password_keys(kind, "Grace-Hopper#1906"),
                ["password.contains_username"]
            );
            assert_eq!(
                password_keys(kind, "The-Admiral#1906"),
                ["password.contains_email"]
            );
        }
    }
}
