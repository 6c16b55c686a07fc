use crate::db::schema::{user_roles, users};
use crate::db::DbConn;
use chrono::NaiveDateTime;
use diesel::prelude::*;

diesel::define_sql_function! {
    /// SQL `lower()`, the same on SQLite and PostgreSQL.
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

#[derive(Clone, Debug, Queryable, Selectable, Identifiable)]
#[diesel(table_name = users)]
pub struct User {
    pub id: String,
    pub username: String,
    pub email: String,
    /// Argon2id PHC string. Never serialized, never logged.
    pub password_hash: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// Consecutive failed sign-in attempts (passwords and MFA codes).
    pub failed_logins: i32,
    /// Set while the account is temporarily locked.
    pub locked_until: Option<NaiveDateTime>,
}

#[derive(Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    pub id: &'a str,
    pub username: &'a str,
    pub email: &'a str,
    pub password_hash: &'a str,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

pub use crate::security::policy::Role;

impl User {
    pub fn find_by_id(conn: &mut DbConn, id: &str) -> QueryResult<Option<User>> {
        users::table
            .filter(users::id.eq(id))
            .select(User::as_select())
            .first(conn)
            .optional()
    }

    /// By username (any case) or by e-mail (stored lower-case).
    pub fn find_by_login(conn: &mut DbConn, login: &str) -> QueryResult<Option<User>> {
        let login = login.trim().to_lowercase();
        users::table
            .filter(
                lower(users::username)
                    .eq(&login)
                    .or(users::email.eq(&login)),
            )
            .select(User::as_select())
            .first(conn)
            .optional()
    }

    /// Inserts the user and their roles in one transaction.
    pub fn create(conn: &mut DbConn, new: &NewUser<'_>, roles: &[Role]) -> QueryResult<()> {
        conn.transaction(|conn| {
            diesel::insert_into(users::table)
                .values(new)
                .execute(conn)?;
            for role in roles {
                diesel::insert_into(user_roles::table)
                    .values((
                        user_roles::user_id.eq(new.id),
                        user_roles::role.eq(role.as_str()),
                        user_roles::granted_at.eq(Some(new.created_at)),
                    ))
                    .execute(conn)?;
            }
            Ok(())
        })
    }

    pub fn set_password_hash(
        conn: &mut DbConn,
        id: &str,
        phc: &str,
        now: NaiveDateTime,
    ) -> QueryResult<()> {
        diesel::update(users::table.filter(users::id.eq(id)))
            .set((users::password_hash.eq(phc), users::updated_at.eq(now)))
            .execute(conn)
            .map(|_| ())
    }

    /// Counts one more failure; returns the new count.
    pub fn record_failure(conn: &mut DbConn, id: &str) -> QueryResult<i32> {
        diesel::update(users::table.filter(users::id.eq(id)))
            .set(users::failed_logins.eq(users::failed_logins + 1))
            .execute(conn)?;
        users::table
            .filter(users::id.eq(id))
            .select(users::failed_logins)
            .first(conn)
    }

    /// Locks the account until `until` and starts counting afresh.
    pub fn lock(conn: &mut DbConn, id: &str, until: NaiveDateTime) -> QueryResult<()> {
        diesel::update(users::table.filter(users::id.eq(id)))
            .set((
                users::locked_until.eq(Some(until)),
                users::failed_logins.eq(0),
            ))
            .execute(conn)
            .map(|_| ())
    }

    /// After a successful sign-in or an admin unlock.
    pub fn clear_failures(conn: &mut DbConn, id: &str) -> QueryResult<usize> {
        diesel::update(users::table.filter(users::id.eq(id)))
            .set((
                users::failed_logins.eq(0),
                users::locked_until.eq(None::<NaiveDateTime>),
            ))
            .execute(conn)
    }

    /// The roles in force at `now`: a grant past its expiry no longer counts.
    pub fn roles(conn: &mut DbConn, user_id: &str, now: NaiveDateTime) -> QueryResult<Vec<Role>> {
        let names: Vec<String> = user_roles::table
            .filter(user_roles::user_id.eq(user_id))
            .filter(
                user_roles::expires_at
                    .is_null()
                    .or(user_roles::expires_at.gt(now)),
            )
            .select(user_roles::role)
            .load(conn)?;
        let mut roles: Vec<Role> = names.iter().filter_map(|n| Role::parse(n)).collect();
        roles.sort();
        Ok(roles)
    }

    /// [`User::roles`], and when the first of its time-bound grants ends
    /// (the roles are only good until then).
    pub fn roles_until(
        conn: &mut DbConn,
        user_id: &str,
        now: NaiveDateTime,
    ) -> QueryResult<(Vec<Role>, Option<NaiveDateTime>)> {
        let rows: Vec<(String, Option<NaiveDateTime>)> = user_roles::table
            .filter(user_roles::user_id.eq(user_id))
            .filter(
                user_roles::expires_at
                    .is_null()
                    .or(user_roles::expires_at.gt(now)),
            )
            .select((user_roles::role, user_roles::expires_at))
            .load(conn)?;
        let until = rows.iter().filter_map(|(_, e)| *e).min();
        let mut roles: Vec<Role> = rows.iter().filter_map(|(n, _)| Role::parse(n)).collect();
        roles.sort();
        Ok((roles, until))
    }

    /// [`User::roles`] as names, for tokens and responses.
    pub fn role_names(
        conn: &mut DbConn,
        user_id: &str,
        now: NaiveDateTime,
    ) -> QueryResult<Vec<String>> {
        Ok(Self::roles(conn, user_id, now)?
            .into_iter()
            .map(|r| r.as_str().to_owned())
            .collect())
    }

    /// Users whose username or e-mail contains `query` (any case; `%`, `_`
    /// and `\\` match themselves), ordered by username, after the cursor.
    pub fn search(
        conn: &mut DbConn,
        query: Option<&str>,
        after: Option<&str>,
        limit: i64,
    ) -> QueryResult<Vec<User>> {
        let mut q = users::table.into_boxed();
        if let Some(text) = query.map(str::trim).filter(|t| !t.is_empty()) {
            let pattern = format!("%{}%", escape_like(&text.to_lowercase()));
            q = q.filter(
                lower(users::username)
                    .like(pattern.clone())
                    .escape('\\')
                    .or(lower(users::email).like(pattern).escape('\\')),
            );
        }
        if let Some(after) = after {
            q = q.filter(users::username.gt(after.to_owned()));
        }
        q.order(users::username.asc())
            .limit(limit)
            .select(User::as_select())
            .load(conn)
    }

    pub fn count(conn: &mut DbConn) -> QueryResult<i64> {
        users::table.count().get_result(conn)
    }
}

/// Makes `text` match literally inside a LIKE pattern with `ESCAPE '\\'`.
pub fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::escape_like;

    #[test]
    fn like_wildcards_and_the_escape_character_are_escaped() {
        assert_eq!(escape_like("a%b_c\\d"), "a\\%b\\_c\\\\d");
        assert_eq!(escape_like("plain"), "plain");
    }
}
