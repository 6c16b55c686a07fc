use crate::db::schema::{sessions, users};
use crate::db::DbConn;
use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::user::User;

#[derive(Clone, Debug, Queryable, Selectable, Identifiable)]
#[diesel(table_name = sessions)]
pub struct Session {
    pub id: String,
    pub user_id: String,
    pub device_label: String,
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
    pub created_at: NaiveDateTime,
    pub last_seen_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub revoked_at: Option<NaiveDateTime>,
    pub revoked_reason: Option<String>,
    /// When this session last proved the second factor (login or step-up).
    pub mfa_verified_at: Option<NaiveDateTime>,
    /// Scopes granted to the OAuth client that opened it (space-separated);
    /// `None` for a first-party session.
    pub oauth_scope: Option<String>,
    /// The OAuth client that opened it.
    pub oauth_client_id: Option<String>,
    /// The `aud` of its access tokens when not this app's API.
    pub token_audience: Option<String>,
    /// The registered device the session was opened or first used on: it
    /// keeps that device's posture when a request names none.
    pub device_id: Option<String>,
    /// When this session last proved who is at the keyboard: the login, a
    /// password re-entered, or a second factor. `None` for OAuth sessions.
    pub reauthenticated_at: Option<NaiveDateTime>,
}

#[derive(Insertable)]
#[diesel(table_name = sessions)]
pub struct NewSession<'a> {
    pub id: &'a str,
    pub user_id: &'a str,
    pub device_label: &'a str,
    pub client_ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    pub created_at: NaiveDateTime,
    pub last_seen_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub mfa_verified_at: Option<NaiveDateTime>,
    pub oauth_scope: Option<&'a str>,
    pub oauth_client_id: Option<&'a str>,
    pub token_audience: Option<&'a str>,
    pub reauthenticated_at: Option<NaiveDateTime>,
}

impl Session {
    /// Live at `now`: not revoked, not past its absolute expiry, and used
    /// within the idle timeout.
    pub fn is_live(&self, now: NaiveDateTime, idle: chrono::Duration) -> bool {
        self.revoked_at.is_none() && now < self.expires_at && now < self.last_seen_at + idle
    }

    pub fn create(conn: &mut DbConn, new: &NewSession<'_>) -> QueryResult<()> {
        diesel::insert_into(sessions::table)
            .values(new)
            .execute(conn)
            .map(|_| ())
    }

    pub fn find(conn: &mut DbConn, id: &str) -> QueryResult<Option<Session>> {
        sessions::table
            .filter(sessions::id.eq(id))
            .select(Session::as_select())
            .first(conn)
            .optional()
    }

    /// The session and its user in one query (the per-request check). A
    /// deleted user has no row, so their sessions find nothing.
    pub fn find_with_user(conn: &mut DbConn, id: &str) -> QueryResult<Option<(Session, User)>> {
        sessions::table
            .inner_join(users::table)
            .filter(sessions::id.eq(id))
            .select((Session::as_select(), User::as_select()))
            .first(conn)
            .optional()
    }

    /// A user's sessions that have not been revoked or reached their
    /// absolute expiry, newest first (idle ones are filtered by the caller).
    pub fn list_open_for_user(
        conn: &mut DbConn,
        user_id: &str,
        now: NaiveDateTime,
    ) -> QueryResult<Vec<Session>> {
        sessions::table
            .filter(sessions::user_id.eq(user_id))
            .filter(sessions::revoked_at.is_null())
            .filter(sessions::expires_at.gt(now))
            .order(sessions::created_at.desc())
            .select(Session::as_select())
            .load(conn)
    }

    /// Sessions neither revoked, expired nor idle past `idle_since`.
    pub fn count_active(
        conn: &mut DbConn,
        now: NaiveDateTime,
        idle_since: NaiveDateTime,
    ) -> QueryResult<i64> {
        sessions::table
            .filter(sessions::revoked_at.is_null())
            .filter(sessions::expires_at.gt(now))
            .filter(sessions::last_seen_at.gt(idle_since))
            .count()
            .get_result(conn)
    }

    /// A second factor proven: it also counts as a re-authentication.
    pub fn mark_mfa_verified(conn: &mut DbConn, id: &str, now: NaiveDateTime) -> QueryResult<()> {
        diesel::update(sessions::table.filter(sessions::id.eq(id)))
            .set((
                sessions::mfa_verified_at.eq(Some(now)),
                sessions::reauthenticated_at.eq(Some(now)),
            ))
            .execute(conn)
            .map(|_| ())
    }

    /// The password was entered again in this session.
    pub fn mark_reauthenticated(
        conn: &mut DbConn,
        id: &str,
        now: NaiveDateTime,
    ) -> QueryResult<()> {
        diesel::update(sessions::table.filter(sessions::id.eq(id)))
            .set(sessions::reauthenticated_at.eq(Some(now)))
            .execute(conn)
            .map(|_| ())
    }

    /// Binds the session to `device_id` unless it is bound already (a
    /// session keeps its first device).
    pub fn bind_device(conn: &mut DbConn, id: &str, device_id: &str) -> QueryResult<()> {
        diesel::update(
            sessions::table
                .filter(sessions::id.eq(id))
                .filter(sessions::device_id.is_null()),
        )
        .set(sessions::device_id.eq(Some(device_id)))
        .execute(conn)
        .map(|_| ())
    }

    pub fn touch(conn: &mut DbConn, id: &str, now: NaiveDateTime) -> QueryResult<()> {
        diesel::update(sessions::table.filter(sessions::id.eq(id)))
            .set(sessions::last_seen_at.eq(now))
            .execute(conn)
            .map(|_| ())
    }

    /// Ends a session; returns whether a live one was ended.
    pub fn revoke(
        conn: &mut DbConn,
        id: &str,
        reason: &str,
        now: NaiveDateTime,
    ) -> QueryResult<bool> {
        let n = diesel::update(
            sessions::table
                .filter(sessions::id.eq(id))
                .filter(sessions::revoked_at.is_null()),
        )
        .set((
            sessions::revoked_at.eq(Some(now)),
            sessions::revoked_reason.eq(Some(reason)),
        ))
        .execute(conn)?;
        Ok(n > 0)
    }

    /// Ends every open session of `user_id` except `keep`; returns how many.
    pub fn revoke_all_except(
        conn: &mut DbConn,
        user_id: &str,
        keep: Option<&str>,
        reason: &str,
        now: NaiveDateTime,
    ) -> QueryResult<usize> {
        let targets = sessions::table
            .filter(sessions::user_id.eq(user_id))
            .filter(sessions::revoked_at.is_null())
            .filter(sessions::id.ne(keep.unwrap_or("")));
        diesel::update(targets)
            .set((
                sessions::revoked_at.eq(Some(now)),
                sessions::revoked_reason.eq(Some(reason)),
            ))
            .execute(conn)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Duration};

    fn at(secs: i64) -> NaiveDateTime {
        DateTime::from_timestamp(secs, 0).unwrap().naive_utc()
    }

    fn session(last_seen: i64, expires: i64, revoked: bool) -> Session {
        Session {
            id: "s".into(),
            user_id: "u".into(),
            device_label: "Firefox on Linux".into(),
            client_ip: None,
            user_agent: None,
            created_at: at(0),
            last_seen_at: at(last_seen),
            expires_at: at(expires),
            revoked_at: revoked.then(|| at(1)),
            revoked_reason: None,
            mfa_verified_at: None,
            oauth_scope: None,
            oauth_client_id: None,
            token_audience: None,
            device_id: None,
            reauthenticated_at: None,
        }
    }

    #[test]
    fn asvs_3_3_2_idle_and_absolute_timeouts() {
        let idle = Duration::seconds(3600);
        assert!(session(1000, 100_000, false).is_live(at(2000), idle));
        // Idle for more than an hour.
        assert!(!session(1000, 100_000, false).is_live(at(4601), idle));
        // Past the absolute lifetime even though recently used.
        assert!(!session(99_990, 100_000, false).is_live(at(100_001), idle));
        // Revoked (logout).
        assert!(!session(1000, 100_000, true).is_live(at(1001), idle));
    }
}
