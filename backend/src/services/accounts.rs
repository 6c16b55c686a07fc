//! Registration, login, logout and "who is this session".

use crate::audit::{self, AuditEvent, Outcome};
use crate::db::{
    self,
    models::session::{NewSession, Session},
    models::user::{NewUser, Role, User},
};
use crate::error::{AppError, AppResult};
use crate::http::client::RequestMeta;
use crate::security::{password, session_token::SessionToken};
use crate::startup::AppState;
use actix_web::web;
use frontend::api::{
    Email, FieldError, LoginName, LoginRequest, MeResponse, PasswordContext, PasswordPolicy,
    RegisterRequest, Username,
};
use secrecy::ExposeSecret;

/// Only refresh `last_seen_at` when it is older than this, so reading pages
/// does not turn into one database write per request.
const TOUCH_INTERVAL_SECS: i64 = 60;

/// A live session and the user it belongs to.
#[derive(Clone, Debug)]
pub struct SignedIn {
    pub user: User,
    pub roles: Vec<String>,
    pub session: Session,
}

impl SignedIn {
    pub fn to_me(&self) -> MeResponse {
        MeResponse {
            id: self.user.id.clone(),
            username: self.user.username.clone(),
            email: self.user.email.clone(),
            roles: self.roles.clone(),
            created_at: self.user.created_at.and_utc().to_rfc3339(),
        }
    }
}

/// Parses every field, collecting all problems (the form shows them together).
fn parse_registration(req: &RegisterRequest) -> Result<(Email, Username), Vec<FieldError>> {
    let mut errors = Vec::new();
    let email = Email::parse(&req.email).map_err(|e| errors.push(e)).ok();
    let username = Username::parse(&req.username)
        .map_err(|e| errors.push(e))
        .ok();
    errors.extend(PasswordPolicy::violations(
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

/// Creates an account with the given roles. Used by the API and by `create-admin`.
pub async fn register(
    state: &AppState,
    meta: Option<&RequestMeta>,
    req: RegisterRequest,
    roles: &'static [Role],
) -> AppResult<User> {
    let (email, username) = parse_registration(&req).map_err(AppError::Validation)?;

    let taken = {
        let (u, e) = (username.clone(), email.clone());
        db::run(&state.pool, move |c| {
            Ok(User::username_or_email_taken(c, u.as_str(), e.as_str())?)
        })
        .await?
    };
    if taken {
        audit::record(
            &state.pool,
            meta,
            AuditEvent::new("account.register", Outcome::Failure)
                .detail(serde_json::json!({ "reason": "username_or_email_taken" })),
        )
        .await?;
        return Err(AppError::Conflict(
            "an account with this username or e-mail already exists".into(),
        ));
    }

    let phc = web::block(move || password::hash(&req.password))
        .await
        .map_err(AppError::internal)?
        .map_err(|e| AppError::internal(anyhow::anyhow!("hashing failed: {e}")))?;

    let now = chrono::Utc::now().naive_utc();
    let id = uuid::Uuid::new_v4().to_string();
    let user = {
        let (id, username, email) = (id.clone(), username.clone(), email.clone());
        db::run(&state.pool, move |c| {
            let new = NewUser {
                id: &id,
                username: username.as_str(),
                email: email.as_str(),
                password_hash: &phc,
                created_at: now,
                updated_at: now,
            };
            match User::create(c, &new, roles) {
                Ok(()) => {}
                // Two registrations racing past the check above: the unique
                // indexes decide, and the loser gets the same 409.
                Err(diesel::result::Error::DatabaseError(
                    diesel::result::DatabaseErrorKind::UniqueViolation,
                    _,
                )) => {
                    return Err(AppError::Conflict(
                        "an account with this username or e-mail already exists".into(),
                    ))
                }
                Err(e) => return Err(e.into()),
            }
            User::find_by_id(c, &id)?
                .ok_or_else(|| AppError::internal(anyhow::anyhow!("user vanished")))
        })
        .await?
    };

    let role_names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
    audit::record(
        &state.pool,
        meta,
        AuditEvent::new("account.register", Outcome::Success)
            .actor(user.id.clone())
            .target(user.id.clone())
            .detail(serde_json::json!({ "roles": role_names })),
    )
    .await?;
    Ok(user)
}

/// A successful login: the user and the session token for the cookie.
pub struct LoggedIn {
    pub signed_in: SignedIn,
    pub token: SessionToken,
}

/// Checks the password and opens a new session (ASVS 3.2.1: a fresh id at
/// every login). An unknown account and a wrong password take the same time
/// and give the same answer.
pub async fn login(state: &AppState, meta: &RequestMeta, req: LoginRequest) -> AppResult<LoggedIn> {
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

    let user = db::run(&state.pool, move |c| Ok(User::find_by_login(c, &login)?)).await?;
    let phc = user
        .as_ref()
        .map(|u| u.password_hash.clone())
        .unwrap_or_else(|| state.dummy_hash.clone());
    let password = req.password;
    let matches = web::block(move || password::verify(&password, &phc))
        .await
        .map_err(AppError::internal)?;

    let user = match (user, matches) {
        (Some(user), true) => user,
        (user, _) => {
            let reason = if user.is_some() {
                "wrong_password"
            } else {
                "unknown_account"
            };
            let mut event = AuditEvent::new("auth.login", Outcome::Failure)
                .detail(serde_json::json!({ "reason": reason }));
            if let Some(u) = &user {
                event = event.target(u.id.clone());
            }
            audit::record(&state.pool, Some(meta), event).await?;
            return Err(AppError::InvalidCredentials);
        }
    };

    let token = SessionToken::generate();
    let digest = token.digest(state.keys.session.expose_secret());
    let now = chrono::Utc::now().naive_utc();
    let absolute =
        chrono::Duration::from_std(state.settings.session_absolute).map_err(AppError::internal)?;
    let session_id = uuid::Uuid::new_v4().to_string();
    let (ip, ua) = (meta.client_ip.clone(), meta.user_agent.clone());
    let user_id = user.id.clone();
    let (session, roles) = {
        let session_id = session_id.clone();
        db::run(&state.pool, move |c| {
            Session::create(
                c,
                &NewSession {
                    id: &session_id,
                    token_hash: &digest,
                    user_id: &user_id,
                    created_at: now,
                    last_seen_at: now,
                    expires_at: now + absolute,
                    client_ip: ip.as_deref(),
                    user_agent: ua.as_deref(),
                },
            )?;
            let session = Session::find_by_token_hash(c, &digest)?
                .ok_or_else(|| AppError::internal(anyhow::anyhow!("session vanished")))?;
            Ok((session, User::roles(c, &user_id)?))
        })
        .await?
    };

    audit::record(
        &state.pool,
        Some(meta),
        AuditEvent::new("auth.login", Outcome::Success)
            .actor(user.id.clone())
            .target(user.id.clone())
            .detail(serde_json::json!({ "session_id": session_id })),
    )
    .await?;
    Ok(LoggedIn {
        signed_in: SignedIn {
            user,
            roles,
            session,
        },
        token,
    })
}

/// The live session for a presented cookie value, if any.
pub async fn current_user(state: &AppState, token: Option<&str>) -> AppResult<Option<SignedIn>> {
    let Some(token) = token.and_then(SessionToken::parse) else {
        return Ok(None);
    };
    let digest = token.digest(state.keys.session.expose_secret());
    let idle =
        chrono::Duration::from_std(state.settings.session_idle).map_err(AppError::internal)?;
    db::run(&state.pool, move |c| {
        let Some(session) = Session::find_by_token_hash(c, &digest)? else {
            return Ok(None);
        };
        let now = chrono::Utc::now().naive_utc();
        if !session.is_live(now, idle) {
            return Ok(None);
        }
        let Some(user) = User::find_by_id(c, &session.user_id)? else {
            return Ok(None);
        };
        if (now - session.last_seen_at).num_seconds() >= TOUCH_INTERVAL_SECS {
            Session::touch(c, &session.id, now)?;
        }
        let roles = User::roles(c, &user.id)?;
        Ok(Some(SignedIn {
            user,
            roles,
            session,
        }))
    })
    .await
}

/// Ends the session server-side (ASVS 3.3.1). Logging out without a live
/// session is not an error: the outcome is the same.
pub async fn logout(state: &AppState, meta: &RequestMeta, token: Option<&str>) -> AppResult<()> {
    let Some(signed_in) = current_user(state, token).await? else {
        return Ok(());
    };
    let session_id = signed_in.session.id.clone();
    let now = chrono::Utc::now().naive_utc();
    {
        let session_id = session_id.clone();
        db::run(&state.pool, move |c| {
            Ok(Session::revoke(c, &session_id, now)?)
        })
        .await?;
    }
    audit::record(
        &state.pool,
        Some(meta),
        AuditEvent::new("auth.logout", Outcome::Success)
            .actor(signed_in.user.id.clone())
            .target(signed_in.user.id)
            .detail(serde_json::json!({ "session_id": session_id })),
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registration_reports_all_field_errors_at_once() {
        let errors = parse_registration(&RegisterRequest {
            email: "not-an-email".into(),
            username: "x".into(),
            password: "short".into(),
        })
        .unwrap_err();
        let keys: Vec<_> = errors.iter().map(FieldError::key).collect();
        assert!(keys.contains(&"email.invalid".to_owned()));
        assert!(keys.contains(&"username.too_short".to_owned()));
        assert!(keys.contains(&"password.too_short".to_owned()));
    }
}
