//! `/api/v1/admin/…`: the admin dashboard's API. Who may call each route is
//! in the policy table (`routes::table`) and decided by the enforcement
//! middleware before a handler runs: reads need `admin:read` (admins and
//! auditors), changes an elevated admin. Handlers only parse and call the
//! services.

use crate::error::{AppError, AppResult};
use crate::http::{
    auth::Authenticated, client::client_ip_addr, client::RequestMeta, json::ApiJson,
};
use crate::security::policy_table::PolicyTable;
use crate::services::admin::{self, audit_log::AuditQuery, decisions::DecisionQuery};
use crate::services::{audit_verify, devices, lockout, mfa, sessions, user_keys};
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use wire::*;

/// Query parameters of the users search.
#[derive(Debug, serde::Deserialize)]
pub struct UserQuery {
    pub q: Option<String>,
    pub after: Option<String>,
    pub limit: Option<i64>,
}

/// The dashboard's figures, last 24 hours.
#[utoipa::path(get, path = "/api/v1/admin/overview", tag = "admin",
    responses((status = 200, body = Overview), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn overview(
    state: web::Data<AppState>,
    req: HttpRequest,
    Authenticated(who): Authenticated,
) -> AppResult<HttpResponse> {
    let body = admin::overview::overview(&state, &who, client_ip_addr(&req)).await?;
    Ok(HttpResponse::Ok().json(body))
}

/// Search users by username or e-mail (literal text), keyset-paginated.
#[utoipa::path(get, path = "/api/v1/admin/users", tag = "admin",
    params(("q" = Option<String>, Query, max_length = 100, description = "text in username or e-mail"),
           ("after" = Option<String>, Query, description = "cursor: the `next` of the previous page"),
           ("limit" = Option<i64>, Query, minimum = 1, maximum = 100, description = "1–100, default 50")),
    responses((status = 200, body = UserPage), (status = 400, body = ErrorBody, description = "a parameter out of range"),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn users(
    state: web::Data<AppState>,
    query: web::Query<UserQuery>,
) -> AppResult<HttpResponse> {
    let q = query.into_inner();
    Ok(HttpResponse::Ok().json(admin::users::users(&state, q.q, q.after, q.limit).await?))
}

/// One user: roles, lock, MFA, sessions and devices.
#[utoipa::path(get, path = "/api/v1/admin/users/{id}", tag = "admin",
    params(("id" = String, Path, description = "user id")),
    responses((status = 200, body = AdminUserDetail), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn user(
    state: web::Data<AppState>,
    Authenticated(who): Authenticated,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(admin::users::user_detail(&state, &who, &path).await?))
}

/// Grant or revoke a role (optionally time-bound). Needs a recent second
/// factor and a registered, compliant device.
#[utoipa::path(put, path = "/api/v1/admin/users/{id}/roles", tag = "admin",
    params(("id" = String, Path, description = "user id")),
    request_body = RoleChangeRequest,
    responses((status = 204), (status = 401, body = ErrorBody, description = "step_up_required"),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "the last administrator"),
              (status = 422, body = ErrorBody)))]
pub async fn change_role(
    state: web::Data<AppState>,
    meta: RequestMeta,
    Authenticated(who): Authenticated,
    path: web::Path<String>,
    ApiJson(body): ApiJson<RoleChangeRequest>,
) -> AppResult<HttpResponse> {
    admin::roles::change_role(&state, &meta, &who, &path, body).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Lock an account until unlocked; ends its sessions.
#[utoipa::path(post, path = "/api/v1/admin/users/{id}/lock", tag = "admin",
    params(("id" = String, Path, description = "user id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn lock(
    state: web::Data<AppState>,
    meta: RequestMeta,
    Authenticated(who): Authenticated,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    admin::users::lock(&state, &meta, &who, &path).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Lift a sign-in lock (and the failure count).
#[utoipa::path(post, path = "/api/v1/admin/users/{id}/unlock", tag = "admin",
    params(("id" = String, Path, description = "user id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn unlock(
    state: web::Data<AppState>,
    meta: RequestMeta,
    Authenticated(who): Authenticated,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    lockout::admin_unlock(&state, &meta, &who, &path).await?;
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
    mfa::disable::admin_reset(&state, &meta, &who, &path).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Crypto-shred a user's encrypted data: their data key is destroyed and
/// the values under it (SSN, TOTP secret) removed, so no copy of them — in
/// a replica, a log, a backup once it ages out — can be read again. Ends the
/// user's sessions when it removed their MFA. Needs a recent second factor.
#[utoipa::path(post, path = "/api/v1/admin/users/{id}/shred", tag = "admin",
    params(("id" = String, Path, description = "user id")),
    responses((status = 204), (status = 401, body = ErrorBody, description = "step_up_required or reauthentication_required"),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "nothing to shred (shredded already)")))]
pub async fn shred(
    state: web::Data<AppState>,
    meta: RequestMeta,
    Authenticated(who): Authenticated,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    user_keys::shred(&state, &meta, &who, &path).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Any user's open sessions.
#[utoipa::path(get, path = "/api/v1/admin/users/{id}/sessions", tag = "admin",
    params(("id" = String, Path, description = "user id")),
    responses((status = 200, body = Vec<SessionInfo>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn user_sessions(
    state: web::Data<AppState>,
    Authenticated(who): Authenticated,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let current = Some(who.session.id.as_str());
    Ok(HttpResponse::Ok().json(sessions::manage::list(&state, &path, current).await?))
}

/// Revoke any session.
#[utoipa::path(delete, path = "/api/v1/admin/sessions/{id}", tag = "admin",
    params(("id" = String, Path, description = "session id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn revoke_session(
    state: web::Data<AppState>,
    meta: RequestMeta,
    Authenticated(who): Authenticated,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    sessions::manage::revoke(&state, &meta, &who.user.id, None, &path).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Every registered device.
#[utoipa::path(get, path = "/api/v1/admin/devices", tag = "admin",
    responses((status = 200, body = Vec<DeviceInfo>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn devices_list(state: web::Data<AppState>) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(devices::all(&state).await?))
}

/// Mark a device compliant or not (a non-compliant device is refused everywhere).
#[utoipa::path(put, path = "/api/v1/admin/devices/{id}/compliance", tag = "admin",
    params(("id" = String, Path, description = "device id")),
    request_body = ComplianceRequest,
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn device_compliance(
    state: web::Data<AppState>,
    meta: RequestMeta,
    Authenticated(who): Authenticated,
    path: web::Path<String>,
    ApiJson(body): ApiJson<ComplianceRequest>,
) -> AppResult<HttpResponse> {
    devices::set_compliance(&state, &meta, &who, &path, body.compliant).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The access decisions feed, newest first.
#[utoipa::path(get, path = "/api/v1/admin/decisions", tag = "admin",
    params(("user" = Option<String>, Query, description = "user id"),
           ("route" = Option<String>, Query, description = "route pattern"),
           ("outcome" = Option<String>, Query, pattern = "^(allow|deny)?$", description = "allow or deny"),
           ("reason" = Option<String>, Query, description = "deny reason"),
           ("from" = Option<chrono::DateTime<chrono::Utc>>, Query, description = "RFC 3339"),
           ("to" = Option<chrono::DateTime<chrono::Utc>>, Query, description = "RFC 3339"),
           ("before" = Option<i64>, Query, description = "cursor")),
    responses((status = 200, body = DecisionPage), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn decisions(
    state: web::Data<AppState>,
    query: web::Query<DecisionQuery>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(admin::decisions::decisions(&state, query.into_inner()).await?))
}

/// The policy table, roles and their networks.
#[utoipa::path(get, path = "/api/v1/admin/policies", tag = "admin",
    responses((status = 200, body = PoliciesResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn policies(state: web::Data<AppState>, req: HttpRequest) -> AppResult<HttpResponse> {
    // The table `routes::configure` registered (the one the PEP decides by).
    let table = req
        .app_data::<PolicyTable>()
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("the policy table is not registered")))?;
    Ok(HttpResponse::Ok().json(admin::policies::policies(&state, table.0)))
}

/// The audit log, newest first, filtered.
#[utoipa::path(get, path = "/api/v1/admin/audit", tag = "admin",
    params(("actor" = Option<String>, Query, description = "user id of the actor"),
           ("action" = Option<String>, Query, description = "one action, e.g. auth.login"),
           ("outcome" = Option<String>, Query, pattern = "^(success|failure|denied)?$", description = "success, failure or denied"),
           ("from" = Option<chrono::DateTime<chrono::Utc>>, Query, description = "RFC 3339, inclusive"),
           ("to" = Option<chrono::DateTime<chrono::Utc>>, Query, description = "RFC 3339, exclusive"),
           ("before" = Option<i64>, Query, description = "cursor")),
    responses((status = 200, body = AuditPage), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn audit(
    state: web::Data<AppState>,
    query: web::Query<AuditQuery>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(admin::audit_log::audit_page(&state, query.into_inner()).await?))
}

/// The filtered audit log as a CSV download (newest first, at most 10,000
/// entries; cells that a spreadsheet would run as formulas are defused).
/// The export is audited.
#[utoipa::path(get, path = "/api/v1/admin/audit.csv", tag = "admin",
    params(("actor" = Option<String>, Query, description = "user id of the actor"),
           ("action" = Option<String>, Query, description = "one action, e.g. auth.login"),
           ("outcome" = Option<String>, Query, pattern = "^(success|failure|denied)?$", description = "success, failure or denied"),
           ("from" = Option<chrono::DateTime<chrono::Utc>>, Query, description = "RFC 3339, inclusive"),
           ("to" = Option<chrono::DateTime<chrono::Utc>>, Query, description = "RFC 3339, exclusive"),
           ("before" = Option<i64>, Query, description = "cursor")),
    responses((status = 200, content_type = "text/csv", body = String), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn audit_csv(
    state: web::Data<AppState>,
    meta: RequestMeta,
    Authenticated(who): Authenticated,
    query: web::Query<AuditQuery>,
) -> AppResult<HttpResponse> {
    let body = admin::audit_log::audit_csv(&state, &meta, &who, query.into_inner()).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            actix_web::http::header::CONTENT_DISPOSITION,
            "attachment; filename=\"audit-log.csv\"",
        ))
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .body(body))
}

/// Walk the audit log's hash chain and report the first broken entry
/// (changed, unlinked or deleted). The check is audited.
#[utoipa::path(post, path = "/api/v1/admin/audit/verify", tag = "admin",
    responses((status = 200, body = AuditVerifyResult), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn audit_verify(
    state: web::Data<AppState>,
    meta: RequestMeta,
    Authenticated(who): Authenticated,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(audit_verify::verify_for(&state, &meta, &who).await?))
}
