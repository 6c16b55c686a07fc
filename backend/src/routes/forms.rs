//! The same use cases as the JSON API, for HTML forms posted without
//! JavaScript. Each answers `303 See Other`: to the next page on success, or
//! back to the form with error *codes* in the query string (never a value the
//! user typed), which the page turns into messages.

use crate::audit::{self, AuditEvent, Outcome};
use crate::error::AppError;
use crate::http::session_cookie;
use crate::http::{auth::Authenticated, client::RequestMeta, csrf, MFA_COOKIE};
use crate::routes::api::v1::auth::end_session;
use crate::services::accounts::{self, LoginOutcome};
use crate::services::{mfa, sessions};
use crate::state::AppState;
use actix_web::http::header::LOCATION;
use actix_web::{web, HttpRequest, HttpResponse};
use wire::{ChangePasswordRequest, LoginRequest, RegisterRequest};

fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((LOCATION, location.to_owned()))
        .finish()
}

/// Where to send the browser back to after `err`, on the form at `page`.
fn back_with(page: &str, err: &AppError) -> HttpResponse {
    let query = match err {
        AppError::Validation(fields) => fields
            .iter()
            .map(|f| format!("e={}", f.key()))
            .collect::<Vec<_>>()
            .join("&"),
        AppError::InvalidCredentials => "error=invalid_credentials".into(),
        AppError::Conflict(_) => "error=conflict".into(),
        AppError::BadRequest(_) => "error=bad_request".into(),
        AppError::InvalidCode => "error=invalid_code".into(),
        AppError::StepUpRequired => "error=step_up_required".into(),
        other => {
            // Logged with the request id, like any 5xx.
            tracing::error!(error = ?other, "form submission failed");
            "error=server".into()
        }
    };
    see_other(&format!("{page}?{query}"))
}

pub async fn register(
    state: web::Data<AppState>,
    meta: RequestMeta,
    form: web::Form<RegisterRequest>,
) -> HttpResponse {
    match accounts::register_public(&state, &meta, form.into_inner()).await {
        Ok(_) => see_other("/login?registered=1"),
        Err(e) => back_with("/register", &e),
    }
}

/// The login form: the JSON login's fields plus where to continue
/// (`next`, honoured only by `wire::login_next`'s rule).
#[derive(serde::Deserialize)]
pub struct LoginForm {
    login: String,
    password: String,
    next: Option<String>,
    /// The pre-session CSRF token the login page rendered
    /// (`http::csrf::LOGIN_CSRF_COOKIE`).
    csrf: Option<String>,
}

pub async fn login(
    state: web::Data<AppState>,
    meta: RequestMeta,
    req: HttpRequest,
    form: web::Form<LoginForm>,
) -> HttpResponse {
    let LoginForm {
        login,
        password,
        next,
        csrf,
    } = form.into_inner();
    // Login CSRF: the form must carry the token of the cookie its page set
    // (the JSON API login keeps the Origin rule). Refused before any
    // password work; back to a fresh form, which sets a new cookie.
    let cookie = req.cookie(csrf::LOGIN_CSRF_COOKIE);
    let form_token_ok = state.keys.session.held_keys().any(|key| {
        csrf::login_form_token_ok(key, cookie.as_ref().map(|c| c.value()), csrf.as_deref())
    });
    if !form_token_ok {
        let event = AuditEvent::new("csrf.rejected", Outcome::Denied)
            .detail(serde_json::json!({ "reason": "login_form_token", "path": "/auth/login" }));
        if let Err(e) = audit::record(&state.pool, Some(&meta), event).await {
            return back_with("/login", &e);
        }
        return see_other("/login?error=forbidden");
    }
    let request = LoginRequest { login, password };
    match accounts::login(&state, &meta, request).await {
        Ok(LoginOutcome::SignedIn(_, tokens)) => {
            signed_in_redirect(&state, &tokens, next.as_deref())
        }
        // The pending login's token travels in a short-lived HttpOnly cookie,
        // never in the URL.
        Ok(LoginOutcome::MfaRequired(token)) => {
            let mut resp = HttpResponse::SeeOther();
            // `next` rides along (percent-encoded) so the code step can continue there.
            let step = match next.as_deref().and_then(wire::login_next) {
                Some(n) => format!(
                    "/login?step=mfa&next={}",
                    crate::security::percent::encode(n)
                ),
                None => "/login?step=mfa".to_owned(),
            };
            resp.insert_header((LOCATION, step));
            resp.cookie(session_cookie::mfa_pending(&token));
            resp.finish()
        }
        Err(e) => back_with("/login", &e),
    }
}

/// The signed-in answer: cookies, then `next` when `login_next` allows it,
/// else the account page.
fn signed_in_redirect(
    state: &AppState,
    tokens: &sessions::IssuedTokens,
    next: Option<&str>,
) -> HttpResponse {
    let mut resp = HttpResponse::SeeOther();
    let to = next
        .and_then(wire::login_next)
        .filter(|n| actix_web::http::header::HeaderValue::from_str(n).is_ok())
        .unwrap_or("/account");
    resp.insert_header((LOCATION, to));
    session_cookie::attach(
        &mut resp,
        session_cookie::issue(tokens, state.settings.session_absolute),
    );
    resp.cookie(session_cookie::clear_mfa_pending());
    resp.finish()
}

#[derive(serde::Deserialize)]
pub struct CodeForm {
    code: String,
    /// Where to continue (`wire::login_next`'s rule).
    next: Option<String>,
}

/// The second login step without JavaScript.
pub async fn login_mfa(
    state: web::Data<AppState>,
    meta: RequestMeta,
    req: HttpRequest,
    form: web::Form<CodeForm>,
) -> HttpResponse {
    let Some(token) = req.cookie(MFA_COOKIE).map(|c| c.value().to_owned()) else {
        return see_other("/login?error=mfa_expired");
    };
    match mfa::login::complete_login(&state, &meta, &token, &form.code).await {
        Ok((_, tokens)) => signed_in_redirect(&state, &tokens, form.next.as_deref()),
        Err(AppError::InvalidCode) => see_other("/login?step=mfa&error=invalid_code"),
        Err(e) => back_with("/login", &e),
    }
}

pub async fn logout(
    state: web::Data<AppState>,
    meta: RequestMeta,
    req: HttpRequest,
) -> HttpResponse {
    match end_session(&state, &meta, &req).await {
        Ok(()) => {
            let mut resp = HttpResponse::SeeOther();
            resp.insert_header((LOCATION, "/"));
            session_cookie::attach(&mut resp, session_cookie::clear());
            resp.finish()
        }
        Err(e) => back_with("/account", &e),
    }
}

/// "Revoke" on the Sessions page.
pub async fn revoke_session(
    state: web::Data<AppState>,
    meta: RequestMeta,
    who: Option<Authenticated>,
    path: web::Path<String>,
) -> HttpResponse {
    let Some(Authenticated(who)) = who else {
        return see_other("/login");
    };
    match sessions::manage::revoke(&state, &meta, &who.user.id, Some(&who.user.id), &path).await {
        Ok(()) | Err(AppError::NotFound) => see_other("/account/sessions"),
        Err(e) => back_with("/account/sessions", &e),
    }
}

/// "Log out everywhere else" on the Sessions page.
pub async fn revoke_others(
    state: web::Data<AppState>,
    meta: RequestMeta,
    who: Option<Authenticated>,
) -> HttpResponse {
    let Some(Authenticated(who)) = who else {
        return see_other("/login");
    };
    let result = sessions::manage::revoke_all_except(
        &state,
        &meta,
        &who.user.id,
        &who.user.id,
        Some(&who.session.id),
        "revoked_by_user",
    )
    .await;
    match result {
        Ok(_) => see_other("/account/sessions"),
        Err(e) => back_with("/account/sessions", &e),
    }
}

/// The change-password form on the account page.
pub async fn change_password(
    state: web::Data<AppState>,
    meta: RequestMeta,
    who: Option<Authenticated>,
    form: web::Form<ChangePasswordRequest>,
) -> HttpResponse {
    let Some(Authenticated(who)) = who else {
        return see_other("/login");
    };
    match accounts::change_password(&state, &meta, &who, form.into_inner()).await {
        Ok(_) => see_other("/account?password_changed=1"),
        Err(e) => back_with("/account", &e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wire::FieldError;

    fn location(resp: &HttpResponse) -> String {
        resp.headers()
            .get(LOCATION)
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned()
    }

    #[test]
    fn errors_travel_as_codes_only() {
        let resp = back_with(
            "/register",
            &AppError::Validation(vec![
                FieldError::new("username", "too_short"),
                FieldError::new("password", "common"),
            ]),
        );
        assert_eq!(resp.status(), 303);
        assert_eq!(
            location(&resp),
            "/register?e=username.too_short&e=password.common"
        );
        assert_eq!(
            location(&back_with("/login", &AppError::InvalidCredentials)),
            "/login?error=invalid_credentials"
        );
    }
}
