use crate::db::schema::refresh_tokens;
use crate::db::DbConn;
use chrono::NaiveDateTime;
use diesel::prelude::*;

#[derive(Clone, Debug, Queryable, Selectable, Identifiable)]
#[diesel(table_name = refresh_tokens)]
pub struct RefreshTokenRow {
    pub id: String,
    pub session_id: String,
    /// `kid:` and HMAC-SHA-256 under that SESSION_KEY key (no prefix:
    /// the `legacy` key); the token itself is never stored.
    pub token_hash: String,
    pub created_at: NaiveDateTime,
    pub rotated_at: Option<NaiveDateTime>,
}

impl RefreshTokenRow {
    pub fn create(
        conn: &mut DbConn,
        session_id: &str,
        token_hash: &str,
        now: NaiveDateTime,
    ) -> QueryResult<()> {
        diesel::insert_into(refresh_tokens::table)
            .values((
                refresh_tokens::id.eq(uuid::Uuid::new_v4().to_string()),
                refresh_tokens::session_id.eq(session_id),
                refresh_tokens::token_hash.eq(token_hash),
                refresh_tokens::created_at.eq(now),
            ))
            .execute(conn)
            .map(|_| ())
    }

    /// `lookups`: every stored form of the presented value under the held
    /// session keys (`SessionKeys::lookups`).
    pub fn find_by_hash(
        conn: &mut DbConn,
        lookups: &[String],
    ) -> QueryResult<Option<RefreshTokenRow>> {
        refresh_tokens::table
            .filter(refresh_tokens::token_hash.eq_any(lookups))
            .select(RefreshTokenRow::as_select())
            .first(conn)
            .optional()
    }

    /// Marks the token used. Returns false if another request marked it first
    /// (the caller then treats this use as a second one).
    pub fn mark_rotated(conn: &mut DbConn, id: &str, now: NaiveDateTime) -> QueryResult<bool> {
        let n = diesel::update(
            refresh_tokens::table
                .filter(refresh_tokens::id.eq(id))
                .filter(refresh_tokens::rotated_at.is_null()),
        )
        .set(refresh_tokens::rotated_at.eq(Some(now)))
        .execute(conn)?;
        Ok(n > 0)
    }
}
