//! `GET /api/v1/admin/logs`: the server's recent log lines (this instance's
//! in-memory tail, `recent_logs`), for admins and auditors. A user who hit
//! an error was shown only its request id; this is where its cause is.

use crate::error::{AppError, AppResult};
use crate::telemetry::recent_logs::{self, LogQuery};
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use wire::logs::valid_request_id;
use wire::{ErrorBody, LogLineInfo, LogsResponse};

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LogsQuery {
    /// Only the lines of this request (its `X-Request-Id`).
    #[param(pattern = "^[A-Za-z0-9-]{0,64}$")]
    pub request_id: Option<String>,
    /// Only lines at this level or more severe: `error`, `warn`, `info`,
    /// `debug`, `trace`.
    #[param(pattern = "^(error|warn|info|debug|trace)?$")]
    pub level: Option<String>,
    /// At most this many lines (1–500, default 200).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<usize>,
}

/// Parses the query; a bad value is a 400 that names it.
pub fn lines(q: LogsQuery) -> AppResult<LogsResponse> {
    let request_id = match q.request_id.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(id) if valid_request_id(id) => Some(id.to_owned()),
        Some(_) => {
            return Err(AppError::bad_request(
                "request_id: letters, digits and '-' only, at most 64",
            ))
        }
    };
    let min_level = match q.level.as_deref().map(str::trim) {
        None | Some("") => None,
        // The documented names only (`Level`'s parser also takes
        // capitals and digits, which the document does not state).
        Some(l @ ("error" | "warn" | "info" | "debug" | "trace")) => {
            l.parse::<tracing::Level>().ok()
        }
        Some(_) => {
            return Err(AppError::bad_request(
                "level: one of error, warn, info, debug, trace",
            ))
        }
    };
    let limit = match q.limit {
        None => 200,
        Some(n @ 1..=500) => n,
        Some(_) => return Err(AppError::bad_request("limit: between 1 and 500")),
    };
    let lines = recent_logs::recent(&LogQuery {
        request_id,
        min_level,
        limit,
    })
    .into_iter()
    .map(|l| LogLineInfo {
        seq: l.seq,
        time: l.time,
        level: l.level,
        text: l.text,
        request_id: l.request_id,
    })
    .collect();
    Ok(LogsResponse {
        lines,
        capacity: recent_logs::CAPACITY,
    })
}

/// This instance's most recent log lines, newest first.
#[utoipa::path(get, path = "/api/v1/admin/logs", tag = "admin", params(LogsQuery),
    responses((status = 200, body = LogsResponse), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn logs(query: web::Query<LogsQuery>) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(lines(query.into_inner())?))
}
