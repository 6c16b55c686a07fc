//! `GET /api/v1/me/activity`: my own security activity (sign-ins, refusals,
//! OAuth grants, sessions ended…), read from the audit log.

use crate::error::AppResult;
use crate::http::auth::Authenticated;
use crate::services::admin;
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use wire::{ActivityEntry, ErrorBody};

/// My most recent audit entries (where I acted or was acted on), newest
/// first, at most 20: id, time, action, outcome and the recorded detail.
#[utoipa::path(get, path = "/api/v1/me/activity", tag = "account",
    responses((status = 200, body = Vec<ActivityEntry>), (status = 401, body = ErrorBody)))]
pub async fn activity(
    state: web::Data<AppState>,
    Authenticated(who): Authenticated,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(admin::audit_log::my_activity(&state, &who.user.id).await?))
}
