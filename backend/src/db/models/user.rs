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
    /// When the owner proved the address (until then it is only a claim:
    /// not unique, no sign-in by it).
    pub email_verified_at: Option<NaiveDateTime>,
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
    pub email_verified_at: Option<NaiveDateTime>,
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

    /// By username (any case) or by a proven e-mail address (stored
    /// lower-case). An unproven address finds nothing: several accounts may
    /// claim it, and which of them exist must not show.
    pub fn find_by_login(conn: &mut DbConn, login: &str) -> QueryResult<Option<User>> {
        let login = login.trim().to_lowercase();
        users::table
            .filter(
                lower(users::username).eq(&login).or(users::email
                    .eq(&login)
                    .and(users::email_verified_at.is_not_null())),
            )
            .select(User::as_select())
            .first(conn)
            .optional()
    }

    /// Inserts the user and their roles in one transaction.
    /// The account and its roles. Runs inside the caller's write
    /// transaction (`services::accounts::register`), so all of it (and its
    /// audit entry) is written or none.
    pub fn create(conn: &mut DbConn, new: &NewUser<'_>, roles: &[Role]) -> QueryResult<()> {
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

    /// Claims one check of a secret for the account, atomically (the caller
    /// runs it in a write transaction): a lock that has run out is lifted and
    /// its count forgotten; then, unless the account is locked or every
    /// allowed attempt is already claimed, the count goes up by one, and the
    /// claim that takes the last attempt locks the account until `lock_until`
    /// (a correct answer to it lifts the lock again). Returns the claim's
    /// number, or `None` for a locked account (its secret must not be
    /// evaluated). Concurrent claims queue on the row (PostgreSQL re-checks
    /// the condition on the row it waited for; SQLite's write lock is held
    /// from the transaction's start), so N answers in flight claim N slots
    /// and never more than `lock_after`.
    pub fn claim_attempt(
        conn: &mut DbConn,
        id: &str,
        now: NaiveDateTime,
        lock_after: i32,
        lock_until: NaiveDateTime,
    ) -> QueryResult<Option<i32>> {
        diesel::update(
            users::table
                .filter(users::id.eq(id))
                .filter(users::locked_until.le(now)),
        )
        .set((
            users::failed_logins.eq(0),
            users::locked_until.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)?;
        let claimed = diesel::update(
            users::table
                .filter(users::id.eq(id))
                .filter(users::locked_until.is_null())
                .filter(users::failed_logins.lt(lock_after)),
        )
        .set(users::failed_logins.eq(users::failed_logins + 1))
        .execute(conn)?;
        if claimed == 0 {
            return Ok(None);
        }
        let number: i32 = users::table
            .filter(users::id.eq(id))
            .select(users::failed_logins)
            .first(conn)?;
        if number >= lock_after {
            diesel::update(users::table.filter(users::id.eq(id)))
                .set(users::locked_until.eq(Some(lock_until)))
                .execute(conn)?;
        }
        Ok(Some(number))
    }

    /// Gives back a claim whose secret was right but was not a whole sign-in
    /// (a password before its second factor, a step-up): it does not count as
    /// a failure, nor does it clear the failures of other checks. If the
    /// claim had taken the last attempt, the lock it set (no later than
    /// `set_no_later_than`) is lifted.
    pub fn release_attempt(
        conn: &mut DbConn,
        id: &str,
        lifted: bool,
        set_no_later_than: NaiveDateTime,
    ) -> QueryResult<()> {
        diesel::update(
            users::table
                .filter(users::id.eq(id))
                .filter(users::failed_logins.gt(0)),
        )
        .set(users::failed_logins.eq(users::failed_logins - 1))
        .execute(conn)?;
        if lifted {
            diesel::update(
                users::table
                    .filter(users::id.eq(id))
                    .filter(users::locked_until.le(set_no_later_than)),
            )
            .set(users::locked_until.eq(None::<NaiveDateTime>))
            .execute(conn)?;
        }
        Ok(())
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

    /// Users whose username (any case) or, when `query` holds an `@`,
    /// whose e-mail starts with `query`, in the order of the matched field,
    /// after the cursor `after` (a value of that field, as
    /// [`SearchField::cursor_of`] gives it). The text is literal: `%`, `_`
    /// and `\\` match themselves.
    ///
    /// A prefix is a range on the field's B-tree index (`>= q` and `<` the
    /// next string after every `q…`), walked in order, so a page reads
    /// `limit` rows however many users there are. That range is exactly the
    /// prefix only in byte order: SQLite's default (BINARY) and, on
    /// PostgreSQL, the columns' `COLLATE "C"` (migration `scale_indexes`).
    pub fn search(
        conn: &mut DbConn,
        query: Option<&str>,
        after: Option<&str>,
        limit: i64,
    ) -> QueryResult<Vec<User>> {
        let text = query
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_lowercase);
        let upper = text.as_deref().and_then(prefix_upper_bound);
        let after = after.map(str::to_lowercase);
        let start = Start::of(text.clone(), after);
        // The same conditions on either key; its index yields the rows in
        // order, so the walk stops after `limit`.
        macro_rules! page_by {
            ($key:expr) => {{
                let mut q = users::table.into_boxed();
                match start {
                    Start::From(prefix) => q = q.filter($key.ge(prefix)),
                    Start::After(cursor) => q = q.filter($key.gt(cursor)),
                    Start::Anywhere => {}
                }
                if let Some(upper) = upper {
                    q = q.filter($key.lt(upper));
                }
                q.order($key.asc())
                    .limit(limit)
                    .select(User::as_select())
                    .load(conn)
            }};
        }
        match SearchField::of(text.as_deref()) {
            SearchField::Username => page_by!(lower(users::username)),
            SearchField::Email => {
                // Many accounts may claim one address: page by (email, id).
                // The seek stays one lower bound on the index's first
                // column; the id only decides within one address.
                let mut q = users::table.into_boxed();
                match start {
                    Start::From(prefix) => q = q.filter(users::email.ge(prefix)),
                    Start::After(cursor) => match EmailCursor::parse(&cursor) {
                        (email, Some(id)) => {
                            q = q
                                .filter(users::email.ge(email.clone()))
                                .filter(users::email.gt(email).or(users::id.gt(id)))
                        }
                        (email, None) => q = q.filter(users::email.gt(email)),
                    },
                    Start::Anywhere => {}
                }
                if let Some(upper) = upper {
                    q = q.filter(users::email.lt(upper));
                }
                q.order((users::email.asc(), users::id.asc()))
                    .limit(limit)
                    .select(User::as_select())
                    .load(conn)
            }
        }
    }

    pub fn count(conn: &mut DbConn) -> QueryResult<i64> {
        users::table.count().get_result(conn)
    }
}

/// Which field a user search matches, and orders and pages by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SearchField {
    /// `lower(username)`: unique, so it is a total order on its own.
    Username,
    /// `email` (stored in lower case; not unique, as an address is a claim
    /// until proven), then `id`.
    Email,
}

impl SearchField {
    /// A search text with an `@` is an e-mail; anything else (no text too)
    /// a username, which cannot hold an `@`.
    pub fn of(query: Option<&str>) -> Self {
        match query {
            Some(q) if q.contains('@') => Self::Email,
            _ => Self::Username,
        }
    }

    /// The keyset cursor a page that ends with `user` hands on.
    pub fn cursor_of(self, user: &User) -> String {
        match self {
            Self::Username => user.username.clone(),
            Self::Email => EmailCursor::of(user),
        }
    }
}

/// The cursor of a search by e-mail: `<email> <id>` (an address holds no
/// space). A cursor of an address alone (written by hand) continues after
/// every account with that address.
struct EmailCursor;

impl EmailCursor {
    fn of(user: &User) -> String {
        format!("{} {}", user.email, user.id)
    }

    /// The address, and the id to continue after within it.
    fn parse(cursor: &str) -> (String, Option<String>) {
        match cursor.split_once(' ') {
            Some((email, id)) => (email.to_owned(), Some(id.to_owned())),
            None => (cursor.to_owned(), None),
        }
    }
}

/// Where a page's index walk begins: ONE lower bound. Given both a prefix
/// and a cursor, SQLite would seek to one and filter by the other, walking
/// every earlier match of the prefix; the larger of the two (in byte order,
/// the index's order) implies the other.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Start {
    /// `key >= prefix`.
    From(String),
    /// `key > cursor`.
    After(String),
    Anywhere,
}

impl Start {
    fn of(prefix: Option<String>, after: Option<String>) -> Self {
        match (prefix, after) {
            (Some(p), Some(a)) if a < p => Self::From(p),
            (_, Some(a)) => Self::After(a),
            (Some(p), None) => Self::From(p),
            (None, None) => Self::Anywhere,
        }
    }
}

/// The smallest string greater than every string that starts with
/// `prefix`, in code-point (= UTF-8 byte) order: `prefix` with its last
/// character replaced by the next one. `None` when no such string exists
/// (every character is U+10FFFF): the range then has no upper end.
pub fn prefix_upper_bound(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        // The next scalar value, skipping the surrogate gap.
        let next = (u32::from(last) + 1..=u32::from(char::MAX)).find_map(char::from_u32);
        if let Some(next) = next {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
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
    use super::{escape_like, prefix_upper_bound, SearchField, Start};

    #[test]
    fn like_wildcards_and_the_escape_character_are_escaped() {
        assert_eq!(escape_like("a%b_c\\d"), "a\\%b\\_c\\\\d");
        assert_eq!(escape_like("plain"), "plain");
    }

    #[test]
    fn the_upper_bound_ends_every_string_with_the_prefix() {
        assert_eq!(prefix_upper_bound("user1").as_deref(), Some("user2"));
        assert_eq!(prefix_upper_bound("a_").as_deref(), Some("a`"));
        assert_eq!(prefix_upper_bound("a%").as_deref(), Some("a&"));
        assert_eq!(prefix_upper_bound("z").as_deref(), Some("{"));
        // U+D7FF is followed by U+E000: surrogates are not characters.
        assert_eq!(
            prefix_upper_bound("a\u{D7FF}").as_deref(),
            Some("a\u{E000}")
        );
        assert_eq!(prefix_upper_bound("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(prefix_upper_bound("\u{10FFFF}"), None);
        assert_eq!(prefix_upper_bound(""), None);
        for (prefix, inside) in [("user1", "user1zzz"), ("a_", "a_\u{10FFFF}x")] {
            let upper = prefix_upper_bound(prefix).unwrap();
            assert!(prefix <= inside && inside < upper.as_str());
        }
    }

    #[test]
    fn a_page_starts_at_the_larger_of_prefix_and_cursor() {
        let s = |v: &str| Some(v.to_owned());
        assert_eq!(
            Start::of(s("user0"), s("user0000042")),
            Start::After("user0000042".into())
        );
        // A cursor before the prefix: every match is after it anyway.
        assert_eq!(
            Start::of(s("user1"), s("user0999")),
            Start::From("user1".into())
        );
        assert_eq!(
            Start::of(s("user1"), s("user1")),
            Start::After("user1".into())
        );
        assert_eq!(Start::of(None, s("ann")), Start::After("ann".into()));
        assert_eq!(Start::of(s("ann"), None), Start::From("ann".into()));
        assert_eq!(Start::of(None, None), Start::Anywhere);
    }

    #[test]
    fn an_at_sign_searches_e_mails() {
        assert_eq!(SearchField::of(Some("ann@ex")), SearchField::Email);
        assert_eq!(SearchField::of(Some("@example")), SearchField::Email);
        assert_eq!(SearchField::of(Some("ann")), SearchField::Username);
        assert_eq!(SearchField::of(None), SearchField::Username);
    }
}
