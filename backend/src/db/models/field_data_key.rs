//! `field_data_keys`: the field data keys of `KEY_PROVIDER=pkcs11`, stored
//! only wrapped by a key-encryption key in the HSM (never in the clear).

use crate::db::schema::field_data_keys;
use crate::db::DbConn;
use chrono::NaiveDateTime;
use diesel::prelude::*;

#[derive(Clone, Debug, Queryable, Selectable, Insertable, serde::Serialize)]
#[diesel(table_name = field_data_keys)]
pub struct WrappedDataKey {
    /// The field key id, as in `v1:<key_id>:…` values.
    pub key_id: String,
    /// The label of the key-encryption key in the token that wraps it.
    pub kek_label: String,
    /// `gcm1:<base64url(iv ‖ ciphertext ‖ tag)>`: no key material without
    /// the HSM.
    pub wrapped: String,
    pub created_at: NaiveDateTime,
}

/// Any fixed number, distinct from the other advisory locks.
const DATA_KEYS_LOCK_ID: i64 = 0x5EC0_DA7A;

impl WrappedDataKey {
    /// Serialises writers of the table until the transaction ends
    /// (PostgreSQL: an advisory lock; SQLite's `BEGIN IMMEDIATE` already
    /// serialises writers).
    pub fn lock(conn: &mut DbConn) -> QueryResult<()> {
        match conn {
            DbConn::Sqlite(_) => Ok(()),
            DbConn::Postgres(pg) => diesel::sql_query("SELECT pg_advisory_xact_lock($1)")
                .bind::<diesel::sql_types::BigInt, _>(DATA_KEYS_LOCK_ID)
                .execute(pg)
                .map(|_| ()),
        }
    }

    /// Every data key, the current (newest) first.
    pub fn all(conn: &mut DbConn) -> QueryResult<Vec<Self>> {
        field_data_keys::table
            .order((
                field_data_keys::created_at.desc(),
                field_data_keys::key_id.desc(),
            ))
            .select(Self::as_select())
            .load(conn)
    }

    pub fn insert(&self, conn: &mut DbConn) -> QueryResult<()> {
        diesel::insert_into(field_data_keys::table)
            .values(self)
            .execute(conn)
            .map(|_| ())
    }

    /// Replaces the wrapping of `key_id` (a new key-encryption key); false
    /// when the row is gone or was re-wrapped by someone else meanwhile
    /// (compare-and-swap on the old wrapping).
    pub fn rewrap(
        conn: &mut DbConn,
        key_id: &str,
        old_wrapped: &str,
        kek_label: &str,
        wrapped: &str,
    ) -> QueryResult<bool> {
        let n = diesel::update(
            field_data_keys::table
                .filter(field_data_keys::key_id.eq(key_id))
                .filter(field_data_keys::wrapped.eq(old_wrapped)),
        )
        .set((
            field_data_keys::kek_label.eq(kek_label),
            field_data_keys::wrapped.eq(wrapped),
        ))
        .execute(conn)?;
        Ok(n == 1)
    }
}
