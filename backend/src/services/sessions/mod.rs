//! Sessions and the tokens that stand for them.
//!
//! A login opens a server-side session. The client holds two tokens for it:
//! a short-lived RS256 access token (15 minutes) presented on every request,
//! and an opaque refresh token that is rotated on every use. Every request
//! also checks that the session is still live, so revoking a session ends it
//! at once, whatever access tokens are still unexpired.
//!
//! One file per job: `open` (a new session and its first tokens), `refresh`
//! (rotation, reuse, grace), `verify` (the check every request makes),
//! `manage` (logout, lists, revocation). This file holds what they share.

pub mod manage;
pub mod open;
pub mod refresh;
pub mod verify;

use crate::error::{AppError, AppResult};
use crate::security::jwt::{self, ClientGrant, TokenError, TokenPolicy};
use crate::security::refresh_token::RefreshToken;
use crate::state::AppState;
use chrono::NaiveDateTime;

/// A verified request. Built here; defined below `state`
/// (`crate::identity`), because the identity cache holds it.
pub use crate::identity::SignedIn;

/// What a login or a refresh hands to the client.
pub struct IssuedTokens {
    pub access_token: String,
    pub expires_in: i64,
    pub refresh_token: RefreshToken,
    pub session_id: String,
    /// The roles the access token carries (read from the database).
    pub roles: Vec<String>,
}

/// Why a request was not authenticated (for the audit trail only; the
/// client always gets the same 401).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    NoToken,
    Token(TokenError),
    SessionRevoked,
    SessionExpired,
    UnknownSession,
    Internal,
    /// The database was out of reach: not a refusal but a `503`
    /// ([`Denied::outage`]); never recorded as a deny.
    Unavailable,
}

impl Denied {
    pub fn as_str(self) -> &'static str {
        match self {
            Denied::NoToken => "no_token",
            Denied::Token(e) => e.as_str(),
            Denied::SessionRevoked => "session_revoked",
            Denied::SessionExpired => "session_expired",
            Denied::UnknownSession => "unknown_session_or_user",
            Denied::Internal => "internal_error",
            Denied::Unavailable => "database_unavailable",
        }
    }

    /// The `503` to answer instead of a `401` when the identity could not
    /// be checked because the database was out of reach.
    pub fn outage(self) -> Option<AppError> {
        (self == Denied::Unavailable).then(|| {
            AppError::Unavailable(anyhow::anyhow!(
                "the session could not be checked: the database is out of reach"
            ))
        })
    }
}

pub fn now() -> NaiveDateTime {
    chrono::Utc::now().naive_utc()
}

pub fn token_policy(state: &AppState) -> TokenPolicy {
    TokenPolicy {
        issuer: state.settings.jwt_issuer.clone(),
        audience: state.settings.jwt_audience.clone(),
        ttl_secs: i64::try_from(state.settings.access_token_ttl.as_secs()).unwrap_or(900),
    }
}

fn idle(state: &AppState) -> AppResult<chrono::Duration> {
    chrono::Duration::from_std(state.settings.session_idle).map_err(AppError::internal)
}

fn issue_access(
    state: &AppState,
    user_id: &str,
    sid: &str,
    roles: &[String],
    grant: Option<&ClientGrant>,
) -> AppResult<(String, i64)> {
    let policy = token_policy(state);
    let keys = state.keys.signing.current();
    let (token, claims) = jwt::issue(
        &keys,
        &policy,
        user_id,
        sid,
        roles,
        grant,
        chrono::Utc::now().timestamp(),
    )
    .map_err(|e| AppError::internal(anyhow::anyhow!("signing failed: {}", e.as_str())))?;
    Ok((token, claims.exp - claims.iat))
}
