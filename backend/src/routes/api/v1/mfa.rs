//! `/api/v1/me/mfa`: my two-factor authentication.

use crate::error::AppResult;
use crate::http::{auth::Authenticated, client::RequestMeta, json::ApiJson};
use crate::services::mfa;
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use wire::{
    DisableMfaRequest, ErrorBody, MfaCodeRequest, MfaSetupResponse, MfaStatus,
    RecoveryCodesResponse,
};

/// Whether MFA is on, since when, and how many recovery codes are left.
#[utoipa::path(get, path = "/api/v1/me/mfa", tag = "mfa",
    responses((status = 200, body = MfaStatus), (status = 401, body = ErrorBody)))]
pub async fn status(
    state: web::Data<AppState>,
    Authenticated(who): Authenticated,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(mfa::status(&state, &who).await?))
}

/// Start enrolment: a new secret, its `otpauth://` URI and QR code. Nothing is enabled yet.
#[utoipa::path(post, path = "/api/v1/me/mfa/totp/setup", tag = "mfa",
    responses((status = 200, body = MfaSetupResponse), (status = 401, body = ErrorBody, description = "reauthentication_required (the session authenticated more than REAUTH_WINDOW_SECS ago), or not signed in"), (status = 403, body = ErrorBody, description = "first_party_session_required: an OAuth client's token"), (status = 409, body = ErrorBody, description = "already on")))]
pub async fn setup(
    state: web::Data<AppState>,
    meta: RequestMeta,
    Authenticated(who): Authenticated,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(mfa::enrol::setup(&state, &meta, &who).await?))
}

/// Finish enrolment with a current code; returns 10 recovery codes, shown once.
#[utoipa::path(post, path = "/api/v1/me/mfa/totp/confirm", tag = "mfa",
    request_body = MfaCodeRequest,
    responses((status = 200, body = RecoveryCodesResponse), (status = 401, body = ErrorBody, description = "reauthentication_required (the session authenticated more than REAUTH_WINDOW_SECS ago), or not signed in"), (status = 403, body = ErrorBody, description = "first_party_session_required: an OAuth client's token"),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody, description = "wrong code")))]
pub async fn confirm(
    state: web::Data<AppState>,
    meta: RequestMeta,
    Authenticated(who): Authenticated,
    ApiJson(body): ApiJson<MfaCodeRequest>,
) -> AppResult<HttpResponse> {
    let recovery_codes = mfa::enrol::confirm(&state, &meta, &who, &body.code).await?;
    Ok(HttpResponse::Ok().json(RecoveryCodesResponse { recovery_codes }))
}

/// Prove the second factor again, for the sensitive actions that require it
/// (it also counts as a re-authentication). Wrong codes count toward the
/// account's lock; a locked account's codes are refused unevaluated.
#[utoipa::path(post, path = "/api/v1/me/mfa/step-up", tag = "mfa",
    request_body = MfaCodeRequest,
    responses((status = 204), (status = 401, body = ErrorBody, description = "wrong code, or the account is locked"), (status = 403, body = ErrorBody, description = "first_party_session_required: an OAuth client's token")))]
pub async fn step_up(
    state: web::Data<AppState>,
    meta: RequestMeta,
    Authenticated(who): Authenticated,
    ApiJson(body): ApiJson<MfaCodeRequest>,
) -> AppResult<HttpResponse> {
    mfa::step_up::step_up(&state, &meta, &who, &body.code).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// New recovery codes; the old set stops working. Needs a recent step-up.
#[utoipa::path(post, path = "/api/v1/me/mfa/recovery-codes", tag = "mfa",
    responses((status = 200, body = RecoveryCodesResponse), (status = 401, body = ErrorBody, description = "step_up_required or reauthentication_required"), (status = 403, body = ErrorBody, description = "first_party_session_required: an OAuth client's token"),
              (status = 409, body = ErrorBody, description = "two-factor authentication is off")))]
pub async fn regenerate(
    state: web::Data<AppState>,
    meta: RequestMeta,
    Authenticated(who): Authenticated,
) -> AppResult<HttpResponse> {
    let recovery_codes = mfa::recovery::regenerate_recovery_codes(&state, &meta, &who).await?;
    Ok(HttpResponse::Ok().json(RecoveryCodesResponse { recovery_codes }))
}

/// Turn MFA off: needs the password and a current code.
#[utoipa::path(post, path = "/api/v1/me/mfa/disable", tag = "mfa",
    request_body = DisableMfaRequest,
    responses((status = 204), (status = 401, body = ErrorBody, description = "wrong code, reauthentication_required"), (status = 403, body = ErrorBody, description = "first_party_session_required: an OAuth client's token"),
              (status = 422, body = ErrorBody, description = "wrong password (also while the account is locked)")))]
pub async fn disable(
    state: web::Data<AppState>,
    meta: RequestMeta,
    Authenticated(who): Authenticated,
    ApiJson(body): ApiJson<DisableMfaRequest>,
) -> AppResult<HttpResponse> {
    mfa::disable::disable(&state, &meta, &who, body.password, &body.code).await?;
    Ok(HttpResponse::NoContent().finish())
}
