//! The one error type of the backend, and how each kind becomes a response.
//!
//! Bodies are always `{"error": "...", "request_id": "..."}` (plus `fields`
//! for validation errors). A 4xx says what was wrong; a 5xx says only that
//! something failed, and its cause goes to the log under the request id.
//!
//! The database out of reach (down, restarting, every pooled connection
//! taken until the checkout timeout, the disk full) is not a bug: it is a
//! `503` with `Retry-After`, whichever layer met it (`AppError::is_outage`),
//! so clients and load balancers back off and retry instead of reporting a
//! fault.
//!
//! Layer: infrastructure, below `db`, above `telemetry` (the request id of an error response).

use crate::telemetry::request_id::current_request_id;
use actix_web::{http::StatusCode, HttpResponse, ResponseError};
use std::fmt;
use wire::{ErrorBody, FieldError};

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

/// Seconds a client is asked to wait (`Retry-After`) before retrying a `503`.
pub const RETRY_AFTER_SECS: u32 = 5;

impl AppError {
    pub fn internal(e: impl Into<anyhow::Error>) -> Self {
        Self::Internal(e.into())
    }

    pub fn bad_request(msg: impl Into<String>) -> Self {
        Self::BadRequest(msg.into())
    }

    /// The database was out of reach: an `Unavailable`, or an `Internal`
    /// whose cause chain holds a pool timeout, a failed connection or a
    /// database error that says the server or its disk is gone.
    pub fn is_outage(&self) -> bool {
        match self {
            Self::Unavailable(_) => true,
            Self::Internal(e) => e.chain().any(is_outage_cause),
            _ => false,
        }
    }
}

fn is_outage_cause(e: &(dyn std::error::Error + 'static)) -> bool {
    if e.is::<diesel::r2d2::PoolError>() || e.is::<diesel::ConnectionError>() {
        return true;
    }
    e.downcast_ref::<diesel::result::Error>()
        .is_some_and(is_database_outage)
}

/// What the engines say when the database, not the query, is the problem.
/// Diesel gives no SQLSTATE, so the messages are matched (PostgreSQL's in
/// the server's default English; SQLite's are fixed).
const OUTAGE_MESSAGES: &[&str] = &[
    // SQLite: SQLITE_FULL, SQLITE_IOERR, SQLITE_CANTOPEN, SQLITE_BUSY past
    // busy_timeout, SQLITE_READONLY (the file or its disk remounted read-only).
    "database or disk is full",
    "attempt to write a readonly database",
    "disk I/O error",
    "unable to open database file",
    "database is locked",
    // PostgreSQL: 57P01-57P03 (shutdown, restart), libpq's lost connection,
    // 53100 (disk full), 53300 (too many connections).
    "terminating connection due to administrator command",
    "the database system is shutting down",
    "the database system is starting up",
    "the database system is in recovery mode",
    "server closed the connection unexpectedly",
    "no connection to the server",
    "could not connect to server",
    "could not extend file",
    "No space left on device",
    "too many clients already",
    // 25006: a server in read-only mode (a standby after a failover, or
    // `default_transaction_read_only` set while disk space is recovered).
    "in a read-only transaction",
];

/// Whether a Diesel error means the database is out of reach (see
/// [`AppError::is_outage`]).
pub fn is_database_outage(e: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind, Error};
    match e {
        Error::DatabaseError(DatabaseErrorKind::ClosedConnection, _) => true,
        Error::DatabaseError(_, info) => {
            let message = info.message();
            OUTAGE_MESSAGES.iter().any(|m| message.contains(m))
        }
        _ => false,
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> Self {
        // PostgreSQL refuses a NUL in a text parameter. The request target
        // and JSON bodies are checked for one at the edge (`http::request_target`,
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
            Self::Internal(_) if self.is_outage() => StatusCode::SERVICE_UNAVAILABLE,
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
        let error = if status == StatusCode::SERVICE_UNAVAILABLE {
            // RFC 9110 §10.2.3: when to try again.
            builder.insert_header(("Retry-After", RETRY_AFTER_SECS.to_string()));
            "service unavailable".to_owned()
        } else {
            self.to_string()
        };
        builder.json(ErrorBody {
            error,
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
    fn a_database_out_of_reach_is_a_503_with_retry_after_wherever_it_was_met() {
        use diesel::result::{DatabaseErrorKind, Error};
        let full = || {
            Error::DatabaseError(
                DatabaseErrorKind::Unknown,
                Box::new("database or disk is full".to_owned()),
            )
        };
        let restarted = Error::DatabaseError(
            DatabaseErrorKind::Unknown,
            Box::new("terminating connection due to administrator command".to_owned()),
        );
        let closed = Error::DatabaseError(
            DatabaseErrorKind::ClosedConnection,
            Box::new("gone".to_owned()),
        );
        let wrapped = AppError::internal(anyhow::Error::new(full()).context("saving the user"));
        let read_only =
            |m: &str| Error::DatabaseError(DatabaseErrorKind::Unknown, Box::new(m.to_owned()));
        for e in [
            AppError::from(read_only("attempt to write a readonly database")),
            AppError::from(read_only(
                "cannot execute INSERT in a read-only transaction",
            )),
            AppError::from(full()),
            AppError::from(restarted),
            AppError::from(closed),
            wrapped,
            AppError::Unavailable(anyhow::anyhow!("pool timed out")),
        ] {
            assert!(e.is_outage(), "{e:?}");
            let resp = e.error_response();
            assert_eq!(resp.status(), 503);
            assert_eq!(
                resp.headers().get("Retry-After").unwrap(),
                &RETRY_AFTER_SECS.to_string()
            );
            let body =
                String::from_utf8(resp.into_body().try_into_bytes().unwrap().to_vec()).unwrap();
            assert!(body.contains("\"error\":\"service unavailable\""), "{body}");
            assert!(
                !body.contains("disk") && !body.contains("administrator"),
                "{body}"
            );
        }
        // A query's own failure stays a 500, without Retry-After.
        let unique = AppError::from(Error::DatabaseError(
            DatabaseErrorKind::UniqueViolation,
            Box::new("UNIQUE constraint failed: users.email".to_owned()),
        ));
        assert!(!unique.is_outage());
        let resp = unique.error_response();
        assert_eq!(resp.status(), 500);
        assert!(resp.headers().get("Retry-After").is_none());
        assert!(!AppError::from(Error::NotFound).is_outage());
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
