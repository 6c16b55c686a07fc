//! Seeded users: numbered names (`user0000001` …), one shared unusable
//! password hash, time-ordered ids, inserted many rows per statement.

use super::{rows_per_statement, ROWS_PER_BATCH};
use crate::db::models::user::{lower, NewUser};
use crate::db::schema::{user_roles, users};
use crate::db::{self, DbConn};
use crate::error::AppError;
use crate::security::{password, policy::Role};
use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

/// Seeded usernames are `user` and this many digits.
const NUMBER_WIDTH: usize = 7;
const MAX_NUMBER: u64 = 9_999_999;
const USERNAME_PREFIX: &str = "user";

/// `user0000042`: the username of seeded user number `n`.
pub fn username(n: u64) -> String {
    format!("{USERNAME_PREFIX}{n:0width$}", width = NUMBER_WIDTH)
}

/// The number of a seeded username (`user0000042` → 42), or `None` for any
/// other name.
pub fn number_of(username: &str) -> Option<u64> {
    let digits = username.strip_prefix(USERNAME_PREFIX)?;
    if digits.len() != NUMBER_WIDTH || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The number after the highest seeded user, found through the
/// `lower(username)` index.
fn next_number(conn: &mut DbConn) -> QueryResult<u64> {
    let last: Option<String> = users::table
        .filter(lower(users::username).ge(username(0)))
        .filter(lower(users::username).le(username(MAX_NUMBER)))
        .order(lower(users::username).desc())
        .select(users::username)
        .first(conn)
        .optional()?;
    Ok(last.as_deref().and_then(number_of).map_or(1, |n| n + 1))
}

/// Inserts `count` users with the role `user`; returns their ids.
pub(super) fn seed_users(
    conn: &mut DbConn,
    count: u64,
    progress: &mut impl FnMut(&str, u64, u64),
) -> Result<Vec<String>, AppError> {
    if count == 0 {
        return Ok(Vec::new());
    }
    let first = next_number(conn)?;
    if first.saturating_add(count - 1) > MAX_NUMBER {
        return Err(AppError::bad_request(format!(
            "seeded usernames end at {}; {} exist already",
            username(MAX_NUMBER),
            first - 1
        )));
    }
    // One hash for everyone, of a password nobody ever sees.
    let throwaway = hex::encode(rand::random::<[u8; 32]>());
    let hash = password::hash(&throwaway).map_err(|e| AppError::internal(anyhow::anyhow!(e)))?;
    drop(throwaway);

    let now = crate::services::sessions::now();
    let mut ids = Vec::with_capacity(usize::try_from(count).unwrap_or(0));
    let per_statement = rows_per_statement(6);
    let mut done = 0u64;
    while done < count {
        let take = (count - done).min(ROWS_PER_BATCH as u64);
        // Older numbers were created earlier: a plausible `created_at` order.
        let created = |i: usize| {
            now - Duration::seconds(
                i64::try_from(count).unwrap_or(0) - i64::try_from(i).unwrap_or(0),
            )
        };
        let offset = usize::try_from(done).unwrap_or(0);
        let rows: Vec<(String, String, String)> = (first + done..first + done + take)
            .zip(offset..)
            .map(|(n, i)| {
                let name = username(n);
                let email = format!("{name}@example.test");
                (time_ordered_id(created(i)), name, email)
            })
            .collect();
        let new_users: Vec<NewUser<'_>> = rows
            .iter()
            .enumerate()
            .map(|(i, (id, name, email))| NewUser {
                id,
                username: name,
                email,
                password_hash: &hash,
                created_at: created(offset + i),
                updated_at: created(offset + i),
                email_verified_at: Some(created(offset + i)),
            })
            .collect();
        let roles: Vec<_> = new_users
            .iter()
            .map(|u| {
                (
                    user_roles::user_id.eq(u.id),
                    user_roles::role.eq(Role::User.as_str()),
                    user_roles::granted_at.eq(Some(u.created_at)),
                )
            })
            .collect();
        db::write_transaction(conn, |conn| {
            for chunk in new_users.chunks(per_statement) {
                let rows: Vec<_> = chunk.iter().map(user_values).collect();
                insert_rows!(&mut *conn, users::table, rows)?;
            }
            for chunk in roles.chunks(rows_per_statement(3)) {
                insert_rows!(&mut *conn, user_roles::table, chunk.to_vec())?;
            }
            Ok(())
        })?;
        ids.extend(rows.into_iter().map(|(id, _, _)| id));
        done += take;
        progress("users", done, count);
    }
    Ok(ids)
}

/// A UUID (version 7) that sorts by `at`: consecutive users then land at
/// the end of the primary-key index instead of at random places in it,
/// which makes a large load several times cheaper. Still a random-looking
/// opaque id, like the app's own (version 4) ones.
fn time_ordered_id(at: NaiveDateTime) -> String {
    let millis = u64::try_from(at.and_utc().timestamp_millis()).unwrap_or(0);
    uuid::Builder::from_unix_timestamp_millis(millis, &rand::random())
        .into_uuid()
        .to_string()
}

/// The user as column values. Not `NewUser`'s derived `Insertable`: on
/// SQLite Diesel inserts a slice of those one statement per row, inside a
/// transaction of its own (which cannot nest in ours); a tuple of values
/// goes in one multi-row statement.
#[allow(clippy::type_complexity)]
fn user_values<'a>(
    u: &NewUser<'a>,
) -> (
    diesel::dsl::Eq<users::id, &'a str>,
    diesel::dsl::Eq<users::username, &'a str>,
    diesel::dsl::Eq<users::email, &'a str>,
    diesel::dsl::Eq<users::password_hash, &'a str>,
    diesel::dsl::Eq<users::created_at, NaiveDateTime>,
    diesel::dsl::Eq<users::updated_at, NaiveDateTime>,
) {
    (
        users::id.eq(u.id),
        users::username.eq(u.username),
        users::email.eq(u.email),
        users::password_hash.eq(u.password_hash),
        users::created_at.eq(u.created_at),
        users::updated_at.eq(u.updated_at),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_usernames_sort_by_number_and_parse_back() {
        assert_eq!(username(42), "user0000042");
        assert_eq!(number_of("user0000042"), Some(42));
        assert!(username(9) < username(10));
        assert_eq!(number_of("user42"), None);
        assert_eq!(number_of("user00000x2"), None);
        assert_eq!(number_of("admin"), None);
        assert_eq!(number_of(&username(MAX_NUMBER)), Some(MAX_NUMBER));
    }

    #[test]
    fn seeded_ids_sort_by_creation_time() {
        let t = chrono::DateTime::from_timestamp(1_800_000_000, 0)
            .unwrap()
            .naive_utc();
        let ids: Vec<String> = (0..5)
            .map(|i| time_ordered_id(t + Duration::seconds(i)))
            .collect();
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(ids, sorted);
        assert!(ids.iter().all(|id| uuid::Uuid::parse_str(id).is_ok()));
    }
}
