//! The one error type of the backend, and how each kind becomes a response.
//!
//! Bodies are always `{"error": "...", "request_id": "..."}` (plus `fields`
//! for validation errors). A 4xx says what was wrong; a 5xx says only that
//! something failed, and its cause goes to the log under the request id.

use crate::telemetry::current_request_id;
use actix_web::{http::StatusCode, HttpResponse, ResponseError};
use frontend::api::{ErrorBody, FieldError};
use std::fmt;

#[derive(thiserror::Error)]
pub enum AppError {
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    #[error("{0}")]
    BadRequest(String),
    #[error("authentication required")]
    Unauthenticated,
    #[error("invalid username, e-mail or password")]
    InvalidCredentials,
    #[error("invalid or expired code")]
    InvalidCode,
    /// A sensitive action needs a recent second-factor check.
    #[error("step_up_required")]
    StepUpRequired,
    /// An account-security change needs a recent authentication (the
    /// password again, or a second factor): `POST /api/v1/me/reauthenticate`.
    #[error("reauthentication_required")]
    ReauthenticationRequired,
    /// The caller's role requires MFA and they have not enrolled yet.
    #[error("mfa_enrollment_required")]
    MfaEnrollmentRequired,
    #[error("{0}")]
    Forbidden(String),
    #[error("not found")]
    NotFound,
    /// The thing existed and was destroyed for good (crypto-shredded data).
    #[error("{0}")]
    Gone(String),
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("{0}")]
    Conflict(String),
    #[error("request body too large")]
    PayloadTooLarge,
    #[error("request headers too large")]
    HeadersTooLarge,
    #[error("too many requests")]
    TooManyRequests,
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("service unavailable")]
    Unavailable(#[source] anyhow::Error),
    #[error("internal server error")]
    Internal(#[source] anyhow::Error),
}

impl AppError {
    pub fn internal(e: impl Into<anyhow::Error>) -> Self {
        Self::Internal(e.into())
    }

    pub fn bad_request(msg: impl Into<String>) -> Self {
        Self::BadRequest(msg.into())
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> Self {
        // PostgreSQL refuses a NUL in a text parameter. The request target
        // and JSON bodies are checked for one at the edge (`http::nul_input`,
        // `http::json`); any other way in is still bad input, not a fault.
        if let diesel::result::Error::DatabaseError(_, info) = &e {
            let m = info.message();
            if m.contains("invalid byte sequence") && m.contains("0x00") {
                return Self::bad_request("the request holds a NUL character");
            }
        }
        Self::Internal(e.into())
    }
}

/// `Debug` prints the whole cause chain (for logs), as zero2prod does.
impl fmt::Debug for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{self}")?;
        let mut cause = std::error::Error::source(self);
        while let Some(c) = cause {
            writeln!(f, "  caused by: {c}")?;
            cause = c.source();
        }
        Ok(())
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthenticated
            | Self::InvalidCredentials
            | Self::InvalidCode
            | Self::StepUpRequired
            | Self::ReauthenticationRequired => StatusCode::UNAUTHORIZED,
            Self::MfaEnrollmentRequired => StatusCode::FORBIDDEN,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Gone(_) => StatusCode::GONE,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::HeadersTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            Self::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let request_id = current_request_id().unwrap_or_default();
        let status = self.status_code();
        if status.is_server_error() {
            // The cause is for operators only, found through the request id
            // (which `log_line` adds to every line of the request).
            tracing::error!(status = status.as_u16(), error = ?self, "request failed");
        }
        let fields = match self {
            Self::Validation(fields) => fields.clone(),
            _ => Vec::new(),
        };
        let mut builder = HttpResponse::build(status);
        if matches!(self, Self::Unauthenticated) {
            builder.insert_header(("WWW-Authenticate", "Bearer"));
        }
        builder.json(ErrorBody {
            error: self.to_string(),
            request_id,
            fields,
        })
    }
}

pub type AppResult<T> = Result<T, AppError>;

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::MessageBody;

    fn body_of(e: AppError) -> (u16, String) {
        let resp = e.error_response();
        let status = resp.status().as_u16();
        let bytes = resp.into_body().try_into_bytes().unwrap();
        (status, String::from_utf8(bytes.to_vec()).unwrap())
    }

    #[test]
    fn asvs_7_4_1_server_errors_hide_their_cause() {
        let (status, body) = body_of(AppError::internal(anyhow::anyhow!(
            "connection to db.internal:5432 refused"
        )));
        assert_eq!(status, 500);
        assert!(body.contains("internal server error"));
        assert!(!body.contains("db.internal"));
    }

    #[test]
    fn validation_errors_list_the_fields() {
        let (status, body) = body_of(AppError::Validation(vec![FieldError::new(
            "username",
            "too_short",
        )]));
        assert_eq!(status, 422);
        assert!(body.contains("\"field\":\"username\""));
        assert!(body.contains("\"code\":\"too_short\""));
    }

    #[test]
    fn debug_shows_the_cause_chain_for_logs() {
        let e = AppError::internal(anyhow::anyhow!("inner cause"));
        assert!(format!("{e:?}").contains("inner cause"));
    }
}
