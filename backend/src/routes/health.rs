use crate::db;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use diesel::connection::SimpleConnection;
use wire::StatusResponse;

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "health",
    responses((status = 200, body = StatusResponse)))]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(StatusResponse {
        status: "ok".into(),
    })
}

/// The database answers.
#[utoipa::path(get, path = "/readyz", tag = "health",
    responses((status = 200, body = StatusResponse), (status = 503, body = wire::ErrorBody)))]
pub async fn readyz(state: web::Data<AppState>) -> AppResult<HttpResponse> {
    db::run(&state.pool, |c| {
        c.batch_execute("SELECT 1").map_err(AppError::from)
    })
    .await
    .map_err(|e| AppError::Unavailable(anyhow::anyhow!("database not ready: {e}")))?;
    Ok(HttpResponse::Ok().json(StatusResponse {
        status: "ready".into(),
    }))
}
