//! `/api/v1/me/ssn` and the admin reveal. Reveals need a fresh second factor
//! (the policy table's `fresh_mfa`) and are never cached.

use crate::error::AppResult;
use crate::http::{auth::Authenticated, client::RequestMeta, json::ApiJson};
use crate::services::ssn;
use crate::state::AppState;
use actix_web::http::header::{CacheControl, CacheDirective};
use actix_web::{web, HttpResponse};
use wire::{ErrorBody, SsnRequest, SsnRevealed, SsnStatus};

fn no_store(body: &SsnRevealed) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(CacheControl(vec![CacheDirective::NoStore]))
        .json(body)
}

/// Whether I stored an SSN, masked (`***-**-1234`).
#[utoipa::path(get, path = "/api/v1/me/ssn", tag = "ssn",
    responses((status = 200, body = SsnStatus), (status = 401, body = ErrorBody),
              (status = 410, body = ErrorBody, description = "crypto-shredded: its key was destroyed")))]
pub async fn status(
    state: web::Data<AppState>,
    Authenticated(who): Authenticated,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(ssn::status(&state, &who.user.id).await?))
}

/// Store or change my SSN (`###-##-####`; never-issued ranges refused).
#[utoipa::path(put, path = "/api/v1/me/ssn", tag = "ssn", request_body = SsnRequest,
    responses((status = 200, body = SsnStatus), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "the data key kept changing (a concurrent shred); try again")))]
pub async fn set(
    state: web::Data<AppState>,
    meta: RequestMeta,
    Authenticated(who): Authenticated,
    ApiJson(body): ApiJson<SsnRequest>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(ssn::set(&state, &meta, &who, body).await?))
}

/// Remove my SSN.
#[utoipa::path(delete, path = "/api/v1/me/ssn", tag = "ssn",
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn remove(
    state: web::Data<AppState>,
    meta: RequestMeta,
    Authenticated(who): Authenticated,
) -> AppResult<HttpResponse> {
    ssn::remove(&state, &meta, &who).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// My full SSN. Needs a second factor within the step-up window; audited.
#[utoipa::path(post, path = "/api/v1/me/ssn/reveal", tag = "ssn",
    responses((status = 200, body = SsnRevealed), (status = 401, body = ErrorBody, description = "step_up_required"),
              (status = 404, body = ErrorBody), (status = 410, body = ErrorBody, description = "crypto-shredded: its key was destroyed")))]
pub async fn reveal_mine(
    state: web::Data<AppState>,
    meta: RequestMeta,
    Authenticated(who): Authenticated,
) -> AppResult<HttpResponse> {
    let uid = who.user.id.clone();
    Ok(no_store(&ssn::reveal(&state, &meta, &who, &uid).await?))
}

/// Another user's full SSN (admins, elevated, with a fresh second factor); audited.
#[utoipa::path(post, path = "/api/v1/admin/users/{id}/ssn/reveal", tag = "ssn",
    params(("id" = String, Path, description = "user id")),
    responses((status = 200, body = SsnRevealed), (status = 401, body = ErrorBody, description = "step_up_required"),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 410, body = ErrorBody, description = "crypto-shredded: its key was destroyed")))]
pub async fn reveal_theirs(
    state: web::Data<AppState>,
    meta: RequestMeta,
    Authenticated(who): Authenticated,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    Ok(no_store(&ssn::reveal(&state, &meta, &who, &path).await?))
}
