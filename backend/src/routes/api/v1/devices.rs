//! `/api/v1/me/devices`: the devices I registered.

use crate::error::AppResult;
use crate::http::enforce::{presented_device, DEVICE_COOKIE};
use crate::http::{auth::Authenticated, client::RequestMeta, json::ApiJson};
use crate::services::devices;
use crate::state::AppState;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::{web, HttpRequest, HttpResponse};
use wire::{DeviceInfo, DeviceRegistration, ErrorBody};

/// My registered devices; the one this request names is `current`.
#[utoipa::path(get, path = "/api/v1/me/devices", tag = "devices",
    responses((status = 200, body = Vec<DeviceInfo>), (status = 401, body = ErrorBody)))]
pub async fn list(
    state: web::Data<AppState>,
    req: HttpRequest,
    Authenticated(who): Authenticated,
) -> AppResult<HttpResponse> {
    let current = presented_device(&req);
    Ok(HttpResponse::Ok().json(devices::mine(&state, &who, current.as_deref()).await?))
}

/// Register the calling device. Browsers get an HttpOnly device cookie; API
/// clients send the returned id as `X-Device-ID`.
#[utoipa::path(post, path = "/api/v1/me/devices", tag = "devices",
    request_body = DeviceRegistration,
    responses((status = 201, body = DeviceInfo), (status = 401, body = ErrorBody, description = "step_up_required: a fresh second factor is needed"),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn register(
    state: web::Data<AppState>,
    meta: RequestMeta,
    Authenticated(who): Authenticated,
    ApiJson(body): ApiJson<DeviceRegistration>,
) -> AppResult<HttpResponse> {
    let device = devices::register(&state, &meta, &who, body).await?;
    let cookie = Cookie::build(DEVICE_COOKIE, device.id.clone())
        .path("/")
        .secure(true)
        .http_only(true)
        .same_site(SameSite::Strict)
        .max_age(actix_web::cookie::time::Duration::days(400))
        .finish();
    Ok(HttpResponse::Created().cookie(cookie).json(device))
}

/// Remove one of my devices.
#[utoipa::path(delete, path = "/api/v1/me/devices/{id}", tag = "devices",
    params(("id" = String, Path, description = "device id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "the device is quarantined")))]
pub async fn remove(
    state: web::Data<AppState>,
    meta: RequestMeta,
    Authenticated(who): Authenticated,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    devices::remove_mine(&state, &meta, &who, &path).await?;
    Ok(HttpResponse::NoContent().finish())
}
