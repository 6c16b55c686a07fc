//! Administration of other users' sessions and MFA. Requires the `admin` role,
//! read from the database for this request (never from the token or a
//! header), and — for roles in `MFA_REQUIRED_FOR_ROLES` — an enrolled MFA.

use crate::audit::{self, AuditEvent, Outcome};
use crate::error::{AppError, AppResult};
use crate::http::{auth::Authenticated, client::RequestMeta};
use crate::services::sessions::{self, SignedIn};
use crate::services::{lockout, mfa};
use crate::startup::AppState;
use actix_web::{web, HttpResponse};
use frontend::api::{ErrorBody, SessionInfo};

async fn require_admin(
    state: &AppState,
    meta: &RequestMeta,
    who: &SignedIn,
    path: &str,
) -> AppResult<()> {
    if who.roles.iter().any(|r| r == "admin") {
        return mfa::require_enrolled_if_required(state, who).await;
    }
    audit::record(
        &state.pool,
        Some(meta),
        AuditEvent::new("access.denied", Outcome::Denied)
            .actor(who.user.id.clone())
            .detail(serde_json::json!({ "reason": "admin_role_required", "path": path })),
    )
    .await?;
    Err(AppError::Forbidden("forbidden".into()))
}

/// Any user's open sessions (admin).
#[utoipa::path(get, path = "/api/v1/admin/users/{id}/sessions", tag = "admin",
    params(("id" = String, Path, description = "user id")),
    responses((status = 200, body = Vec<SessionInfo>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn user_sessions(
    state: web::Data<AppState>,
    meta: RequestMeta,
    Authenticated(who): Authenticated,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    require_admin(&state, &meta, &who, "/api/v1/admin/users/{id}/sessions").await?;
    let current = Some(who.session.id.as_str());
    Ok(HttpResponse::Ok().json(sessions::list(&state, &path, current).await?))
}

/// Revoke any session (admin).
#[utoipa::path(delete, path = "/api/v1/admin/sessions/{id}", tag = "admin",
    params(("id" = String, Path, description = "session id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn revoke_session(
    state: web::Data<AppState>,
    meta: RequestMeta,
    Authenticated(who): Authenticated,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    require_admin(&state, &meta, &who, "/api/v1/admin/sessions/{id}").await?;
    sessions::revoke(&state, &meta, &who.user.id, None, &path).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Remove a user's MFA (lost device); ends all of that user's sessions.
#[utoipa::path(post, path = "/api/v1/admin/users/{id}/mfa/reset", tag = "admin",
    params(("id" = String, Path, description = "user id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn reset_mfa(
    state: web::Data<AppState>,
    meta: RequestMeta,
    Authenticated(who): Authenticated,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    require_admin(&state, &meta, &who, "/api/v1/admin/users/{id}/mfa/reset").await?;
    mfa::admin_reset(&state, &meta, &who, &path).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Lift a temporary sign-in lock (and the failure count).
#[utoipa::path(post, path = "/api/v1/admin/users/{id}/unlock", tag = "admin",
    params(("id" = String, Path, description = "user id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn unlock(
    state: web::Data<AppState>,
    meta: RequestMeta,
    Authenticated(who): Authenticated,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    require_admin(&state, &meta, &who, "/api/v1/admin/users/{id}/unlock").await?;
    lockout::admin_unlock(&state, &meta, &who, &path).await?;
    Ok(HttpResponse::NoContent().finish())
}
