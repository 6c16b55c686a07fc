use crate::db::models::user::User;
use crate::error::{AppError, AppResult};
use crate::http::auth::presented_access_token;
use crate::http::session_cookie;
use crate::http::{client::RequestMeta, json::ApiJson, json::OptionalJson, REFRESH_COOKIE};
use crate::services::accounts::{self, LoginOutcome};
use crate::services::sessions::IssuedTokens;
use crate::services::{mfa, sessions};
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use wire::{
    ErrorBody, LoginRequest, LoginResponse, MfaLoginRequest, PasswordPolicyResponse,
    RefreshRequest, RegisterRequest, RegisteredResponse, TokenResponse,
};

/// Create an account (role `user`). Does not sign in.
#[utoipa::path(post, path = "/api/v1/auth/register", tag = "auth",
    request_body = RegisterRequest,
    responses(
        (status = 201, body = RegisteredResponse, description = "created; the e-mail address is an unproven claim (not unique, no sign-in by it) until its owner proves it, so an address in use on another account changes nothing observable"),
        (status = 400, body = ErrorBody, description = "malformed body"),
        (status = 409, body = ErrorBody, description = "username taken"),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, body = ErrorBody, description = "field errors"),
    ))]
pub async fn register(
    state: web::Data<AppState>,
    meta: RequestMeta,
    ApiJson(body): ApiJson<RegisterRequest>,
) -> AppResult<HttpResponse> {
    let registered = accounts::register_public(&state, &meta, body).await?;
    Ok(HttpResponse::Created().json(RegisteredResponse {
        id: registered.id,
        username: registered.username,
    }))
}

/// The password rules in force (`PASSWORD_POLICY`), so that a form can show
/// and check them before it sends anything. Public; the server also refuses
/// the 100,000 most common passwords, which this does not list.
#[utoipa::path(get, path = "/api/v1/auth/password-policy", tag = "auth",
    responses((status = 200, body = PasswordPolicyResponse)))]
pub async fn password_policy(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(PasswordPolicyResponse::of(state.settings.password_policy))
}

/// A browser's signed-in answer: the user, and both cookies.
async fn signed_in_response(
    state: &AppState,
    user: User,
    tokens: &IssuedTokens,
) -> AppResult<HttpResponse> {
    let me = crate::identity::me_view(&user, tokens.roles.clone());
    let mut resp = HttpResponse::Ok();
    session_cookie::attach(
        &mut resp,
        session_cookie::issue(tokens, state.settings.session_absolute),
    );
    Ok(resp.json(LoginResponse {
        mfa_required: false,
        mfa_token: None,
        user: Some(me),
    }))
}

fn mfa_required_response(mfa_token: String) -> HttpResponse {
    HttpResponse::Ok().json(LoginResponse {
        mfa_required: true,
        mfa_token: Some(mfa_token),
        user: None,
    })
}

/// Browser sign-in: sets the `__Host-access` and `__Host-refresh` cookies
/// (HttpOnly: page scripts never see the tokens). With MFA on, answers
/// `{mfa_required: true, mfa_token}` instead and creates no session.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, body = LoginResponse, headers(("Set-Cookie" = String, description = "__Host-access and __Host-refresh; HttpOnly, Secure, SameSite=Strict (not when MFA is required)"))),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody, description = "invalid credentials"),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody),
    ))]
pub async fn login(
    state: web::Data<AppState>,
    meta: RequestMeta,
    ApiJson(body): ApiJson<LoginRequest>,
) -> AppResult<HttpResponse> {
    match accounts::login(&state, &meta, body).await? {
        LoginOutcome::SignedIn(user, tokens) => signed_in_response(&state, user, &tokens).await,
        LoginOutcome::MfaRequired(token) => Ok(mfa_required_response(token)),
    }
}

/// The second login step for browsers: the `mfa_token` from the first step
/// and a TOTP or recovery code. Sets the cookies.
#[utoipa::path(post, path = "/api/v1/auth/login/mfa", tag = "auth",
    request_body = MfaLoginRequest,
    responses((status = 200, body = LoginResponse), (status = 401, body = ErrorBody, description = "invalid code or expired token")))]
pub async fn login_mfa(
    state: web::Data<AppState>,
    meta: RequestMeta,
    ApiJson(body): ApiJson<MfaLoginRequest>,
) -> AppResult<HttpResponse> {
    let (user, tokens) =
        mfa::login::complete_login(&state, &meta, &body.mfa_token, &body.code).await?;
    signed_in_response(&state, user, &tokens).await
}

/// API-client sign-in: returns the tokens in the body, sets no cookie. With
/// MFA on, answers `{mfa_required: true, mfa_token}`; finish at `/api/v1/auth/token/mfa`.
#[utoipa::path(post, path = "/api/v1/auth/token", tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, body = TokenResponse),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody, description = "invalid credentials"),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody),
    ))]
pub async fn token(
    state: web::Data<AppState>,
    meta: RequestMeta,
    ApiJson(body): ApiJson<LoginRequest>,
) -> AppResult<HttpResponse> {
    match accounts::login(&state, &meta, body).await? {
        LoginOutcome::SignedIn(_, tokens) => Ok(HttpResponse::Ok().json(token_response(tokens))),
        LoginOutcome::MfaRequired(token) => Ok(mfa_required_response(token)),
    }
}

/// The second step for API clients.
#[utoipa::path(post, path = "/api/v1/auth/token/mfa", tag = "auth",
    request_body = MfaLoginRequest,
    responses((status = 200, body = TokenResponse), (status = 401, body = ErrorBody)))]
pub async fn token_mfa(
    state: web::Data<AppState>,
    meta: RequestMeta,
    ApiJson(body): ApiJson<MfaLoginRequest>,
) -> AppResult<HttpResponse> {
    let (_, tokens) =
        mfa::login::complete_login(&state, &meta, &body.mfa_token, &body.code).await?;
    Ok(HttpResponse::Ok().json(token_response(tokens)))
}

fn token_response(tokens: sessions::IssuedTokens) -> TokenResponse {
    TokenResponse {
        access_token: tokens.access_token,
        token_type: "Bearer".into(),
        expires_in: tokens.expires_in,
        refresh_token: tokens.refresh_token.expose().to_owned(),
    }
}

/// Rotate a refresh token: from the body (API clients, answered with
/// `TokenResponse`) or from the `__Host-refresh` cookie (browsers, answered
/// with new cookies and 204). A token already used, outside the short grace
/// window, revokes its whole session.
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 200, body = TokenResponse, description = "API client"),
        (status = 204, description = "browser: new cookies set"),
        (status = 401, body = ErrorBody),
    ))]
pub async fn refresh(
    state: web::Data<AppState>,
    meta: RequestMeta,
    req: HttpRequest,
    body: OptionalJson<RefreshRequest>,
) -> AppResult<HttpResponse> {
    if let Some(presented) = body.0.and_then(|b| b.refresh_token) {
        let tokens = sessions::refresh::refresh(
            &state,
            &meta,
            &presented,
            sessions::refresh::Redeemer::FirstParty,
        )
        .await?;
        return Ok(HttpResponse::Ok().json(token_response(tokens)));
    }
    let Some(cookie) = req.cookie(REFRESH_COOKIE) else {
        return Err(AppError::Unauthenticated);
    };
    match sessions::refresh::refresh(
        &state,
        &meta,
        cookie.value(),
        sessions::refresh::Redeemer::FirstParty,
    )
    .await
    {
        Ok(tokens) => {
            let mut resp = HttpResponse::NoContent();
            session_cookie::attach(
                &mut resp,
                session_cookie::issue(&tokens, state.settings.session_absolute),
            );
            Ok(resp.finish())
        }
        Err(AppError::Unauthenticated) => {
            let mut resp = HttpResponse::Unauthorized();
            session_cookie::attach(&mut resp, session_cookie::clear());
            Ok(resp.json(ErrorBody {
                error: AppError::Unauthenticated.to_string(),
                request_id: crate::telemetry::request_id::current_request_id().unwrap_or_default(),
                fields: Vec::new(),
            }))
        }
        Err(e) => Err(e),
    }
}

/// End the current session server-side and clear the cookies. Works with an
/// expired access token too (the refresh cookie identifies the session).
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth",
    responses((status = 204), (status = 403, body = ErrorBody, description = "cross-origin request")))]
pub async fn logout(
    state: web::Data<AppState>,
    meta: RequestMeta,
    req: HttpRequest,
) -> AppResult<HttpResponse> {
    end_session(&state, &meta, &req).await?;
    let mut resp = HttpResponse::NoContent();
    session_cookie::attach(&mut resp, session_cookie::clear());
    Ok(resp.finish())
}

/// Shared by the API and the form logout.
pub async fn end_session(state: &AppState, meta: &RequestMeta, req: &HttpRequest) -> AppResult<()> {
    match sessions::verify::authenticate(state, presented_access_token(req).as_deref()).await {
        Ok(signed_in) => {
            sessions::manage::end(
                state,
                meta,
                &signed_in.user.id,
                &signed_in.session.id,
                "logout",
            )
            .await
        }
        Err(_) => match req.cookie(REFRESH_COOKIE) {
            Some(c) => sessions::manage::end_by_refresh_token(state, meta, c.value()).await,
            None => Ok(()),
        },
    }
}
