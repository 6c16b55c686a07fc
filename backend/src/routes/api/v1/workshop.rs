//! `/api/v1/workshop/*` (workshop mode, `APP_WORKSHOP=1`): the scoreboard,
//! answers, and the instructor's view. While workshop mode is off every one
//! of them answers 404 (`http::workshop` and the service both check).
//! There is deliberately no way to say "I solved it": solves come from what
//! the server observed (`security::workshop`).

use crate::error::AppResult;
use crate::http::{auth::Authenticated, client::RequestMeta, json::ApiJson};
use crate::services::workshop;
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use wire::workshop::{WorkshopAnswer, WorkshopAnswerResult, WorkshopChallenges, WorkshopProgress};
use wire::ErrorBody;

/// The challenge catalogue, with which of them I have solved.
#[utoipa::path(get, path = "/api/v1/workshop/challenges", tag = "workshop",
    responses((status = 200, body = WorkshopChallenges), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody, description = "workshop mode is off")))]
pub async fn challenges(
    state: web::Data<AppState>,
    Authenticated(who): Authenticated,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(workshop::challenges(&state, &who.user.id).await?))
}

/// An answer the server checks against its own records (the request id of
/// a server error I caused). A wrong answer changes nothing.
#[utoipa::path(post, path = "/api/v1/workshop/answer", tag = "workshop", request_body = WorkshopAnswer,
    responses((status = 200, body = WorkshopAnswerResult), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 404, body = ErrorBody, description = "workshop mode is off")))]
pub async fn answer(
    state: web::Data<AppState>,
    meta: RequestMeta,
    Authenticated(who): Authenticated,
    ApiJson(body): ApiJson<WorkshopAnswer>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(workshop::answer(&state, &meta, &who, body).await?))
}

/// Every participant's progress, for the instructor (`admin:read`).
#[utoipa::path(get, path = "/api/v1/workshop/progress", tag = "workshop",
    responses((status = 200, body = WorkshopProgress), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody, description = "workshop mode is off")))]
pub async fn progress(
    state: web::Data<AppState>,
    Authenticated(_who): Authenticated,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(workshop::progress(&state).await?))
}
