use crate::db::schema::{user_roles, users};
use crate::db::DbConn;
use crate::security::policy::Role;
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// One role held by one user, possibly time-bound.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = user_roles)]
pub struct RoleGrant {
    pub user_id: String,
    pub role: String,
    pub granted_at: Option<NaiveDateTime>,
    pub granted_by: Option<String>,
    pub expires_at: Option<NaiveDateTime>,
}

impl RoleGrant {
    /// Grants still in force at `now`, for these users.
    pub fn active_for(
        conn: &mut DbConn,
        user_ids: &[String],
        now: NaiveDateTime,
    ) -> QueryResult<Vec<RoleGrant>> {
        user_roles::table
            .filter(user_roles::user_id.eq_any(user_ids))
            .filter(
                user_roles::expires_at
                    .is_null()
                    .or(user_roles::expires_at.gt(now)),
            )
            .order((user_roles::user_id.asc(), user_roles::role.asc()))
            .select(RoleGrant::as_select())
            .load(conn)
    }

    /// Grants (or re-grants, replacing the expiry) a role.
    pub fn grant(
        conn: &mut DbConn,
        user_id: &str,
        role: Role,
        by: &str,
        now: NaiveDateTime,
        expires_at: Option<NaiveDateTime>,
    ) -> QueryResult<()> {
        Self::revoke(conn, user_id, role)?;
        diesel::insert_into(user_roles::table)
            .values((
                user_roles::user_id.eq(user_id),
                user_roles::role.eq(role.as_str()),
                user_roles::granted_at.eq(Some(now)),
                user_roles::granted_by.eq(Some(by)),
                user_roles::expires_at.eq(expires_at),
            ))
            .execute(conn)
            .map(|_| ())
    }

    /// Returns how many grants were removed (0 if the user did not hold it).
    pub fn revoke(conn: &mut DbConn, user_id: &str, role: Role) -> QueryResult<usize> {
        diesel::delete(
            user_roles::table
                .filter(user_roles::user_id.eq(user_id))
                .filter(user_roles::role.eq(role.as_str())),
        )
        .execute(conn)
    }

    /// Users holding the admin role without an expiry whose account is not
    /// locked at `now`: the ones who keep the system administrable (a
    /// locked admin cannot act). Decide on it under [`Self::lock_admins`].
    pub fn permanent_admins(conn: &mut DbConn, now: NaiveDateTime) -> QueryResult<Vec<String>> {
        user_roles::table
            .inner_join(users::table)
            .filter(user_roles::role.eq(Role::Admin.as_str()))
            .filter(user_roles::expires_at.is_null())
            .filter(
                users::locked_until
                    .is_null()
                    .or(users::locked_until.le(now)),
            )
            .select(user_roles::user_id)
            .load(conn)
    }

    /// Serialises the changes that can take an admin away (a revoked or
    /// time-bound admin grant, a lock) until the transaction ends, so two
    /// admins removing each other at once cannot both see the other one
    /// remain. SQLite: `db::write_transaction`'s `BEGIN IMMEDIATE` already
    /// holds the only write lock. PostgreSQL: a transaction-scoped advisory
    /// lock (a `FOR UPDATE` on the admins' rows would not cover a lock
    /// written to `users` through another path, and SQLite has no such
    /// clause).
    pub fn lock_admins(conn: &mut DbConn) -> QueryResult<()> {
        match conn {
            DbConn::Sqlite(_) => Ok(()),
            DbConn::Postgres(pg) => diesel::sql_query("SELECT pg_advisory_xact_lock($1)")
                .bind::<diesel::sql_types::BigInt, _>(ADMINS_LOCK_ID)
                .execute(pg)
                .map(|_| ()),
        }
    }
}

/// Any fixed number, distinct from the audit chain's and the migrations'.
const ADMINS_LOCK_ID: i64 = 0x5EC0_AD31;
