//! The `SESSION_KEY` key ids ever configured (with a fingerprint of each
//! key, never the key), and the rows still stored under each.

use crate::db::schema::{
    mfa_challenges, oauth_clients, oauth_codes, oauth_consent_requests, recovery_codes,
    refresh_tokens, session_key_ids, sessions,
};
use crate::db::DbConn;
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// Records `key_id` with its fingerprint unless it is recorded already;
/// returns the fingerprint recorded (the first one wins, also when two
/// servers start at once).
pub fn record(
    conn: &mut DbConn,
    key_id: &str,
    fingerprint: &str,
    now: NaiveDateTime,
) -> QueryResult<String> {
    let recorded = |conn: &mut DbConn| {
        session_key_ids::table
            .filter(session_key_ids::key_id.eq(key_id))
            .select(session_key_ids::fingerprint)
            .first::<String>(conn)
            .optional()
    };
    if let Some(fingerprint) = recorded(conn)? {
        return Ok(fingerprint);
    }
    let inserted = diesel::insert_into(session_key_ids::table)
        .values((
            session_key_ids::key_id.eq(key_id),
            session_key_ids::fingerprint.eq(fingerprint),
            session_key_ids::first_seen_at.eq(now),
        ))
        .execute(conn);
    match inserted {
        // Another server recorded it between our read and our insert.
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => recorded(conn)?.ok_or(diesel::result::Error::NotFound),
        Err(e) => Err(e),
        Ok(_) => Ok(fingerprint.to_owned()),
    }
}

/// The fingerprint recorded for `key_id`, if any (records nothing).
pub fn fingerprint_of(conn: &mut DbConn, key_id: &str) -> QueryResult<Option<String>> {
    session_key_ids::table
        .filter(session_key_ids::key_id.eq(key_id))
        .select(session_key_ids::fingerprint)
        .first(conn)
        .optional()
}

/// Every recorded key id, oldest first.
pub fn all(conn: &mut DbConn) -> QueryResult<Vec<String>> {
    session_key_ids::table
        .order((session_key_ids::first_seen_at, session_key_ids::key_id))
        .select(session_key_ids::key_id)
        .load(conn)
}

/// The rows under one key id that still matter: what would stop working
/// if its key were removed now.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct LiveRows {
    /// Unused refresh tokens of sessions neither revoked nor expired.
    pub refresh_tokens: i64,
    /// Pending MFA sign-ins (minutes).
    pub mfa_challenges: i64,
    /// Unused recovery codes: no expiry.
    pub recovery_codes: i64,
    /// Unused, unexpired authorization codes (a minute).
    pub oauth_codes: i64,
    /// Unanswered, unexpired consent requests (minutes).
    pub consent_requests: i64,
    /// Confidential clients' secrets: no expiry.
    pub client_secrets: i64,
}

impl LiveRows {
    pub fn total(&self) -> i64 {
        self.refresh_tokens
            + self.mfa_challenges
            + self.recovery_codes
            + self.oauth_codes
            + self.consent_requests
            + self.client_secrets
    }
}

/// The rows stored under `key_id` (`kid:` prefix), or with `bare`, the
/// rows written before key sets (no prefix).
pub fn live_rows(
    conn: &mut DbConn,
    key_id: &str,
    bare: bool,
    now: NaiveDateTime,
) -> QueryResult<LiveRows> {
    // `_` is a LIKE wildcard and may be in a key id.
    let prefix = format!("{}:%", key_id.replace('\\', "\\\\").replace('_', "\\_"));
    macro_rules! count {
        ($query:expr, $column:expr) => {
            if bare {
                $query
                    .filter($column.not_like("%:%"))
                    .count()
                    .get_result::<i64>(conn)?
            } else {
                $query
                    .filter($column.like(&prefix).escape('\\'))
                    .count()
                    .get_result::<i64>(conn)?
            }
        };
    }
    Ok(LiveRows {
        refresh_tokens: count!(
            refresh_tokens::table
                .inner_join(sessions::table.on(sessions::id.eq(refresh_tokens::session_id)))
                .filter(refresh_tokens::rotated_at.is_null())
                .filter(sessions::revoked_at.is_null())
                .filter(sessions::expires_at.gt(now)),
            refresh_tokens::token_hash
        ),
        mfa_challenges: count!(
            mfa_challenges::table
                .filter(mfa_challenges::used_at.is_null())
                .filter(mfa_challenges::expires_at.gt(now)),
            mfa_challenges::token_hash
        ),
        recovery_codes: count!(
            recovery_codes::table.filter(recovery_codes::used_at.is_null()),
            recovery_codes::code_hash
        ),
        oauth_codes: count!(
            oauth_codes::table
                .filter(oauth_codes::used_at.is_null())
                .filter(oauth_codes::expires_at.gt(now)),
            oauth_codes::code_hash
        ),
        consent_requests: count!(
            oauth_consent_requests::table.filter(oauth_consent_requests::expires_at.gt(now)),
            oauth_consent_requests::id_hash
        ),
        client_secrets: count!(
            oauth_clients::table.filter(oauth_clients::secret_hash.is_not_null()),
            oauth_clients::secret_hash
        ),
    })
}
