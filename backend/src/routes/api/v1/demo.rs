//! The Patterns area's demonstrations: `GET /api/v1/me/token` and
//! `/api/v1/demo/*`. Thin handlers over `services::demo`; each route has its
//! own entry in the policy table like every other.

use crate::error::{AppError, AppResult};
use crate::http::auth::{presented_access_token, Authenticated};
use crate::http::json::ApiJson;
use crate::services::demo;
use crate::state::AppState;
use actix_web::http::header::{CacheControl, CacheDirective};
use actix_web::{web, HttpRequest, HttpResponse};
use wire::demo::{
    DemoLimitedResponse, DemoSearchResult, PasswordCheckRequest, PasswordCheckResponse, TokenView,
    DEMO_LIMIT_PER_MINUTE,
};
use wire::{ErrorBody, StatusResponse};

fn no_store() -> CacheControl {
    CacheControl(vec![CacheDirective::NoStore])
}

/// The decoded header and claims of the access token this request was
/// authenticated with (never the token itself).
#[utoipa::path(get, path = "/api/v1/me/token", tag = "demo",
    responses((status = 200, body = TokenView), (status = 401, body = ErrorBody)))]
pub async fn token(
    state: web::Data<AppState>,
    req: HttpRequest,
    Authenticated(_who): Authenticated,
) -> AppResult<HttpResponse> {
    let token = presented_access_token(&req).ok_or(AppError::Unauthenticated)?;
    let view = demo::token_view(&state, &token)?;
    Ok(HttpResponse::Ok().insert_header(no_store()).json(view))
}

/// A call behind its own tiny limit (5 per minute and user): the sixth
/// within a minute gets 429 with `Retry-After` and `X-RateLimit-*`.
#[utoipa::path(get, path = "/api/v1/demo/limited", tag = "demo",
    responses((status = 200, body = DemoLimitedResponse), (status = 401, body = ErrorBody),
        (status = 429, body = ErrorBody)))]
pub async fn limited(Authenticated(_who): Authenticated) -> HttpResponse {
    HttpResponse::Ok().json(DemoLimitedResponse {
        status: "ok".into(),
        per_minute: DEMO_LIMIT_PER_MINUTE,
    })
}

#[derive(serde::Deserialize)]
pub struct SearchQuery {
    /// Text to look for in the actions of my own audit entries.
    #[serde(default)]
    pub q: String,
}

/// Searches the actions of my own audit entries; the text is bound as a
/// parameter, so SQL in it is only text.
#[utoipa::path(get, path = "/api/v1/demo/search", tag = "demo",
    params(("q" = Option<String>, Query, description = "text to look for, taken literally")),
    responses((status = 200, body = DemoSearchResult), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody)))]
pub async fn search(
    state: web::Data<AppState>,
    Authenticated(who): Authenticated,
    query: web::Query<SearchQuery>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(demo::search(&state, &who.user.id, &query.q).await?))
}

/// Fails on purpose: 500 with only the generic message and the request id.
#[utoipa::path(post, path = "/api/v1/demo/fail", tag = "demo",
    responses((status = 500, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn fail(Authenticated(_who): Authenticated) -> AppResult<HttpResponse> {
    Err(demo::fail())
}

/// A route that requires a registered, compliant device: with an unknown
/// `X-Device-ID` it answers 403 and records the decision.
#[utoipa::path(get, path = "/api/v1/demo/managed-device", tag = "demo",
    responses((status = 200, body = StatusResponse), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
pub async fn managed_device(Authenticated(_who): Authenticated) -> HttpResponse {
    HttpResponse::Ok().json(StatusResponse {
        status: "allowed: this request came from your registered, compliant device".into(),
    })
}

/// Checks a candidate password under both policies (the catalogue's and
/// NIST SP 800-63B's). The password is neither stored, logged nor audited.
#[utoipa::path(post, path = "/api/v1/demo/password-check", tag = "demo",
    request_body = PasswordCheckRequest,
    responses((status = 200, body = PasswordCheckResponse), (status = 400, body = ErrorBody)))]
pub async fn password_check(
    state: web::Data<AppState>,
    ApiJson(body): ApiJson<PasswordCheckRequest>,
) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(no_store())
        .json(demo::password_check(&state, &body.password))
}
