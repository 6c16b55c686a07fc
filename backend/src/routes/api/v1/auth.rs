use crate::db::models::user::Role;
use crate::error::AppResult;
use crate::http::{client::RequestMeta, json::ApiJson, SESSION_COOKIE};
use crate::routes::session_cookie;
use crate::services::accounts;
use crate::startup::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use frontend::api::{ErrorBody, LoginRequest, MeResponse, RegisterRequest, RegisteredResponse};

/// Create an account (role `user`). Does not sign in.
#[utoipa::path(post, path = "/api/v1/auth/register", tag = "auth",
    request_body = RegisterRequest,
    responses(
        (status = 201, body = RegisteredResponse),
        (status = 400, body = ErrorBody, description = "malformed body"),
        (status = 409, body = ErrorBody, description = "username or e-mail taken"),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, body = ErrorBody, description = "field errors"),
    ))]
pub async fn register(
    state: web::Data<AppState>,
    meta: RequestMeta,
    ApiJson(body): ApiJson<RegisterRequest>,
) -> AppResult<HttpResponse> {
    let user = accounts::register(&state, Some(&meta), body, &[Role::User]).await?;
    Ok(HttpResponse::Created().json(RegisteredResponse {
        id: user.id,
        username: user.username,
    }))
}

/// Sign in with username or e-mail and password; sets the session cookie.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, body = MeResponse, headers(("Set-Cookie" = String, description = "__Host-session, HttpOnly, Secure, SameSite=Strict"))),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody, description = "invalid credentials"),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody),
    ))]
pub async fn login(
    state: web::Data<AppState>,
    meta: RequestMeta,
    ApiJson(body): ApiJson<LoginRequest>,
) -> AppResult<HttpResponse> {
    let logged_in = accounts::login(&state, &meta, body).await?;
    Ok(HttpResponse::Ok()
        .cookie(session_cookie::issue(
            logged_in.token.expose(),
            state.settings.session_absolute,
        ))
        .json(logged_in.signed_in.to_me()))
}

/// End the current session server-side and clear the cookie.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth",
    responses((status = 204), (status = 403, body = ErrorBody, description = "cross-origin request")))]
pub async fn logout(
    state: web::Data<AppState>,
    meta: RequestMeta,
    req: HttpRequest,
) -> AppResult<HttpResponse> {
    let token = req.cookie(SESSION_COOKIE).map(|c| c.value().to_owned());
    accounts::logout(&state, &meta, token.as_deref()).await?;
    Ok(HttpResponse::NoContent()
        .cookie(session_cookie::clear())
        .finish())
}
