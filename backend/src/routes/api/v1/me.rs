use crate::error::AppResult;
use crate::http::{auth::Authenticated, client::RequestMeta, json::ApiJson};
use crate::services::{accounts, sessions};
use crate::startup::AppState;
use actix_web::{web, HttpResponse};
use frontend::api::{ChangePasswordRequest, ErrorBody, MeResponse, RevokedResponse, SessionInfo};

/// The signed-in user.
#[utoipa::path(get, path = "/api/v1/me", tag = "account",
    responses((status = 200, body = MeResponse), (status = 401, body = ErrorBody)))]
pub async fn me(Authenticated(signed_in): Authenticated) -> HttpResponse {
    HttpResponse::Ok().json(signed_in.to_me())
}

/// Change my password (the current one is required). Ends my other sessions.
#[utoipa::path(post, path = "/api/v1/me/password", tag = "account",
    request_body = ChangePasswordRequest,
    responses((status = 200, body = RevokedResponse, description = "changed; other sessions ended"),
              (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn change_password(
    state: web::Data<AppState>,
    meta: RequestMeta,
    Authenticated(who): Authenticated,
    ApiJson(body): ApiJson<ChangePasswordRequest>,
) -> AppResult<HttpResponse> {
    let revoked = accounts::change_password(&state, &meta, &who, body).await?;
    Ok(HttpResponse::Ok().json(RevokedResponse { revoked }))
}

/// My open sessions; the one making this request is marked `current`.
#[utoipa::path(get, path = "/api/v1/me/sessions", tag = "account",
    responses((status = 200, body = Vec<SessionInfo>), (status = 401, body = ErrorBody)))]
pub async fn sessions(
    state: web::Data<AppState>,
    Authenticated(who): Authenticated,
) -> AppResult<HttpResponse> {
    let list = sessions::list(&state, &who.user.id, Some(&who.session.id)).await?;
    Ok(HttpResponse::Ok().json(list))
}

/// Revoke one of my sessions. Another user's session id is "not found".
#[utoipa::path(delete, path = "/api/v1/me/sessions/{id}", tag = "account",
    params(("id" = String, Path, description = "session id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn revoke_session(
    state: web::Data<AppState>,
    meta: RequestMeta,
    Authenticated(who): Authenticated,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    sessions::revoke(&state, &meta, &who.user.id, Some(&who.user.id), &path).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Log out everywhere else: revoke all my sessions but this one.
#[utoipa::path(post, path = "/api/v1/me/sessions/revoke-others", tag = "account",
    responses((status = 200, body = RevokedResponse), (status = 401, body = ErrorBody)))]
pub async fn revoke_others(
    state: web::Data<AppState>,
    meta: RequestMeta,
    Authenticated(who): Authenticated,
) -> AppResult<HttpResponse> {
    let revoked = sessions::revoke_all_except(
        &state,
        &meta,
        &who.user.id,
        &who.user.id,
        Some(&who.session.id),
        "revoked_by_user",
    )
    .await?;
    Ok(HttpResponse::Ok().json(RevokedResponse { revoked }))
}
