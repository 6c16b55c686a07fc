//! `user_data_keys`: each user's data key, stored only wrapped
//! (`security::user_keys`). The queries here never see a key in clear.

use crate::db::schema::user_data_keys;
use crate::db::DbConn;
use chrono::NaiveDateTime;
use diesel::prelude::*;

pub struct UserDataKey;

impl UserDataKey {
    /// The user's wrapped data key, if they have one.
    pub fn find(conn: &mut DbConn, user_id: &str) -> QueryResult<Option<String>> {
        user_data_keys::table
            .filter(user_data_keys::user_id.eq(user_id))
            .select(user_data_keys::wrapped)
            .first(conn)
            .optional()
    }

    /// [`Self::find`], holding the row until the transaction ends, so a
    /// concurrent shred (which deletes it) waits for this transaction or
    /// this one sees the row gone. SQLite: `db::write_transaction`'s
    /// `BEGIN IMMEDIATE` already holds the only write lock. PostgreSQL:
    /// `FOR UPDATE` (the multi-backend connection does not offer it; the
    /// engine's own does).
    pub fn lock(conn: &mut DbConn, user_id: &str) -> QueryResult<Option<String>> {
        match conn {
            DbConn::Postgres(pg) => user_data_keys::table
                .filter(user_data_keys::user_id.eq(user_id))
                .select(user_data_keys::wrapped)
                .for_update()
                .first(pg)
                .optional(),
            DbConn::Sqlite(_) => Self::find(conn, user_id),
        }
    }

    /// Stores `wrapped` unless the user has a key already (the first one
    /// wins when two requests create one at once); whether it did.
    pub fn create_if_absent(
        conn: &mut DbConn,
        user_id: &str,
        wrapped: &str,
        now: NaiveDateTime,
    ) -> QueryResult<bool> {
        let insert = diesel::insert_into(user_data_keys::table)
            .values((
                user_data_keys::user_id.eq(user_id),
                user_data_keys::wrapped.eq(wrapped),
                user_data_keys::created_at.eq(now),
            ))
            .on_conflict_do_nothing();
        let n = match conn {
            DbConn::Postgres(pg) => insert.execute(pg)?,
            DbConn::Sqlite(lite) => insert.execute(lite)?,
        };
        Ok(n > 0)
    }

    /// Destroys the user's key (crypto-shredding); whether there was one.
    pub fn destroy(conn: &mut DbConn, user_id: &str) -> QueryResult<bool> {
        diesel::delete(user_data_keys::table.filter(user_data_keys::user_id.eq(user_id)))
            .execute(conn)
            .map(|n| n > 0)
    }

    /// Every (user id, wrapped key), in user order (tests, checks).
    pub fn all(conn: &mut DbConn) -> QueryResult<Vec<(String, String)>> {
        user_data_keys::table
            .order(user_data_keys::user_id.asc())
            .select((user_data_keys::user_id, user_data_keys::wrapped))
            .load(conn)
    }
}
