//! The admin dashboard's use cases, one file per job: `overview` (the
//! figures), `users` (search, detail, locks), `roles` (grants), `decisions`
//! (the decision feed), `policies` (the policy table), `audit_log` (pages,
//! CSV export, a user's own activity). Who may call each one is decided
//! before (policy table + PDP); the functions here enforce the data rules:
//! the last permanent admin stays, grants are time-bound when asked, every
//! change is audited.

pub mod audit_log;
pub mod decisions;
pub mod overview;
pub mod policies;
pub mod roles;
pub mod users;

use crate::error::{AppError, AppResult};
use chrono::NaiveDateTime;

/// The rows one page of users, decisions or audit entries holds.
pub const PAGE_SIZE: i64 = 50;

/// A filter's `from` or `to`: RFC 3339, or `YYYY-MM-DDTHH:MM` as a form sends it.
fn parse_time(field: &str, text: Option<String>) -> AppResult<Option<NaiveDateTime>> {
    let Some(text) = text.filter(|t| !t.trim().is_empty()) else {
        return Ok(None);
    };
    let t = text.trim();
    chrono::DateTime::parse_from_rfc3339(t)
        .map(|d| d.naive_utc())
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M"))
        .map(Some)
        .map_err(|_| AppError::bad_request(format!("`{field}` must be a date and time (RFC 3339)")))
}
