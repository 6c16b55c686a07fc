//! `/api/v1/admin/oauth/clients…`: OAuth client management. Reads need
//! `admin:read` (admins and auditors); changes need `oauth_clients:write`,
//! a second factor within the step-up window and a registered, compliant
//! device (the policy table, `routes::table`). Handlers only parse and
//! call `services::oauth_clients`.

use crate::error::AppResult;
use crate::http::{auth::Authenticated, client::RequestMeta, json::ApiJson};
use crate::services::oauth_clients::{self, ClientChanges, NewClient};
use crate::state::AppState;
use actix_web::http::header::CACHE_CONTROL;
use actix_web::{web, HttpResponse};
use wire::*;

/// Every registered client (never a secret), and the scopes that can be given.
#[utoipa::path(get, path = "/api/v1/admin/oauth/clients", tag = "admin",
    responses((status = 200, body = OAuthClientList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list(state: web::Data<AppState>) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(oauth_clients::list_clients(&state.pool).await?))
}

/// One client.
#[utoipa::path(get, path = "/api/v1/admin/oauth/clients/{id}", tag = "admin",
    params(("id" = String, Path, description = "client id")),
    responses((status = 200, body = OAuthClientInfo), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get(state: web::Data<AppState>, path: web::Path<String>) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(oauth_clients::get_client(&state.pool, &path).await?))
}

/// Register a client. A confidential client's secret is in this answer
/// only (stored as an HMAC). Needs a recent second factor and a registered,
/// compliant device; audited.
#[utoipa::path(post, path = "/api/v1/admin/oauth/clients", tag = "admin",
    request_body = NewOAuthClientRequest,
    responses((status = 201, body = OAuthClientCreated), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody, description = "step_up_required"),
              (status = 403, body = ErrorBody)))]
pub async fn create(
    state: web::Data<AppState>,
    meta: RequestMeta,
    Authenticated(who): Authenticated,
    ApiJson(body): ApiJson<NewOAuthClientRequest>,
) -> AppResult<HttpResponse> {
    let created = oauth_clients::create_client(
        &state.pool,
        &state.keys.session,
        Some(&meta),
        Some(who.user.id.clone()),
        NewClient {
            name: body.name,
            redirect_uris: body.redirect_uris,
            public: body.public,
            scopes: body.scopes,
            audience: body.audience,
        },
    )
    .await?;
    Ok(HttpResponse::Created()
        .insert_header((CACHE_CONTROL, "no-store"))
        .json(OAuthClientCreated {
            client: created.info,
            client_secret: created.secret,
        }))
}

/// Change a client's name, redirect URIs, scopes and audience (all four
/// replaced). Removing a scope ends the client's sessions granted it.
#[utoipa::path(put, path = "/api/v1/admin/oauth/clients/{id}", tag = "admin",
    params(("id" = String, Path, description = "client id")),
    request_body = UpdateOAuthClientRequest,
    responses((status = 200, body = OAuthClientInfo), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody, description = "step_up_required"),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn update(
    state: web::Data<AppState>,
    meta: RequestMeta,
    Authenticated(who): Authenticated,
    path: web::Path<String>,
    ApiJson(body): ApiJson<UpdateOAuthClientRequest>,
) -> AppResult<HttpResponse> {
    let changes = ClientChanges {
        name: body.name,
        redirect_uris: body.redirect_uris,
        scopes: body.scopes,
        audience: body.audience,
    };
    let info = oauth_clients::update_client(&state.pool, Some(&meta), &who.user.id, &path, changes)
        .await?;
    Ok(HttpResponse::Ok().json(info))
}

/// Give a confidential client a new secret, shown in this answer only; the
/// previous secret stops working at once.
#[utoipa::path(post, path = "/api/v1/admin/oauth/clients/{id}/secret", tag = "admin",
    params(("id" = String, Path, description = "client id")),
    responses((status = 200, body = OAuthClientSecret),
              (status = 401, body = ErrorBody, description = "step_up_required"),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "a public client has no secret")))]
pub async fn rotate_secret(
    state: web::Data<AppState>,
    meta: RequestMeta,
    Authenticated(who): Authenticated,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let secret = oauth_clients::rotate_secret(
        &state.pool,
        &state.keys.session,
        Some(&meta),
        &who.user.id,
        &path,
    )
    .await?;
    Ok(HttpResponse::Ok()
        .insert_header((CACHE_CONTROL, "no-store"))
        .json(OAuthClientSecret {
            client_id: path.into_inner(),
            client_secret: secret,
        }))
}

/// Delete a client: its codes go with it and every session it opened ends.
#[utoipa::path(delete, path = "/api/v1/admin/oauth/clients/{id}", tag = "admin",
    params(("id" = String, Path, description = "client id")),
    responses((status = 204), (status = 401, body = ErrorBody, description = "step_up_required"),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete(
    state: web::Data<AppState>,
    meta: RequestMeta,
    Authenticated(who): Authenticated,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    oauth_clients::delete_client(&state.pool, Some(&meta), &who.user.id, &path).await?;
    Ok(HttpResponse::NoContent().finish())
}
