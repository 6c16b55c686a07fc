use crate::error::AppResult;
use crate::http::{auth::Authenticated, client::RequestMeta, json::ApiJson};
use crate::services::{accounts, sessions};
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use wire::{
    ChangePasswordRequest, ErrorBody, MeResponse, ReauthenticateRequest, RevokedResponse,
    SessionInfo,
};

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
              (status = 401, body = ErrorBody, description = "reauthentication_required (the session authenticated more than REAUTH_WINDOW_SECS ago), or not signed in"), (status = 403, body = ErrorBody, description = "first_party_session_required: an OAuth client's token"),
              (status = 422, body = ErrorBody, description = "field errors; a wrong current password (also while the account is locked)")))]
pub async fn change_password(
    state: web::Data<AppState>,
    meta: RequestMeta,
    Authenticated(who): Authenticated,
    ApiJson(body): ApiJson<ChangePasswordRequest>,
) -> AppResult<HttpResponse> {
    let revoked = accounts::change_password(&state, &meta, &who, body).await?;
    Ok(HttpResponse::Ok().json(RevokedResponse { revoked }))
}

/// Confirm it is still me, with my password: account-security changes
/// (MFA on or off, a new password, new recovery codes) answer
/// `401 reauthentication_required` when this session last authenticated more
/// than `REAUTH_WINDOW_SECS` ago. A step-up code counts too. Wrong passwords
/// count toward the account's lock. OAuth clients' tokens are refused (403).
#[utoipa::path(post, path = "/api/v1/me/reauthenticate", tag = "account",
    request_body = ReauthenticateRequest,
    responses((status = 204, description = "re-authenticated"),
              (status = 400, body = ErrorBody, description = "malformed body"),
              (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody, description = "first_party_session_required: an OAuth client's token"),
              (status = 415, body = ErrorBody),
              (status = 422, body = ErrorBody, description = "wrong password (also while the account is locked)")))]
pub async fn reauthenticate(
    state: web::Data<AppState>,
    meta: RequestMeta,
    Authenticated(who): Authenticated,
    ApiJson(body): ApiJson<ReauthenticateRequest>,
) -> AppResult<HttpResponse> {
    accounts::reauthenticate(&state, &meta, &who, body.password).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// My open sessions; the one making this request is marked `current`.
#[utoipa::path(get, path = "/api/v1/me/sessions", tag = "account",
    responses((status = 200, body = Vec<SessionInfo>), (status = 401, body = ErrorBody)))]
pub async fn sessions(
    state: web::Data<AppState>,
    Authenticated(who): Authenticated,
) -> AppResult<HttpResponse> {
    let list = sessions::manage::list(&state, &who.user.id, Some(&who.session.id)).await?;
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
    sessions::manage::revoke(&state, &meta, &who.user.id, Some(&who.user.id), &path).await?;
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
    let revoked = sessions::manage::revoke_all_except(
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
