use crate::db::schema::user_ssn;
use crate::db::DbConn;
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// A stored SSN: ciphertext only (`security::field_crypto`, bound to
/// `user_ssn/ciphertext/<user_id>`).
#[derive(Clone, Queryable, Selectable)]
#[diesel(table_name = user_ssn)]
pub struct StoredSsn {
    pub user_id: String,
    pub ciphertext: String,
    pub updated_at: NaiveDateTime,
}

impl std::fmt::Debug for StoredSsn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredSsn")
            .field("user_id", &self.user_id)
            .field("ciphertext", &"[encrypted]")
            .finish()
    }
}

impl StoredSsn {
    pub fn find(conn: &mut DbConn, user_id: &str) -> QueryResult<Option<StoredSsn>> {
        user_ssn::table
            .filter(user_ssn::user_id.eq(user_id))
            .select(StoredSsn::as_select())
            .first(conn)
            .optional()
    }

    /// Inserts or replaces the user's SSN ciphertext.
    pub fn put(
        conn: &mut DbConn,
        user_id: &str,
        ciphertext: &str,
        now: NaiveDateTime,
    ) -> QueryResult<()> {
        diesel::delete(user_ssn::table.filter(user_ssn::user_id.eq(user_id))).execute(conn)?;
        diesel::insert_into(user_ssn::table)
            .values((
                user_ssn::user_id.eq(user_id),
                user_ssn::ciphertext.eq(ciphertext),
                user_ssn::updated_at.eq(now),
            ))
            .execute(conn)
            .map(|_| ())
    }

    pub fn remove(conn: &mut DbConn, user_id: &str) -> QueryResult<usize> {
        diesel::delete(user_ssn::table.filter(user_ssn::user_id.eq(user_id))).execute(conn)
    }
}
