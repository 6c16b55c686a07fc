//! `backend seed`: bulk test data for load tests: users and audit entries,
//! written with multi-row inserts, many rows per transaction.
//!
//! Seeded users are named `user0000001` … (`user0000001@example.test`), so
//! prefix searches have something to narrow; numbering continues after the
//! highest seeded user already there, so seeding twice adds more. They all
//! share ONE Argon2id hash of a random password that is never shown or kept:
//! nobody can sign in as a seeded user (hashing a million passwords would
//! also take hours).
//!
//! Audit entries continue the hash chain: `audit::append_many` links them
//! exactly as `audit::record` links one (the chain lock, the next id, the
//! previous hash), so `backend verify-audit` passes afterwards. They are
//! written in one transaction, with the audit log's secondary indexes
//! rebuilt once at the end when the load is at least as large as the log.
//!
//! Never in production (the CLI refuses, see [`refuse_in_production`]).

use crate::audit;
use crate::config::Settings;
use crate::db::models::user::{lower, NewUser};
use crate::db::schema::{audit_log, user_roles, users};
use crate::db::{self, DbConn, Pool};
use crate::error::AppError;
use crate::security::{password, policy::Role};
use chrono::{Duration, NaiveDateTime};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use rand::Rng;
use std::time::Instant;

/// SQLite's limit on bound parameters in one statement (PostgreSQL's,
/// 65,535, is higher): a multi-row insert carries `columns × rows` of them.
const MAX_BIND_PARAMS: usize = 32_766;
/// Users per transaction: large enough that commits (an fsync each) cost
/// little. Audit entries are generated in batches of the same size (all in
/// one transaction, see `seed_audit`), which bounds the memory used.
const ROWS_PER_BATCH: usize = 50_000;
/// Seeded usernames are `user` and this many digits.
const NUMBER_WIDTH: usize = 7;
const MAX_NUMBER: u64 = 9_999_999;
const USERNAME_PREFIX: &str = "user";
/// Audit entries spread over at most this much time, ending now.
const AUDIT_SPAN_DAYS: i64 = 30;

/// Runs one multi-row insert on the concrete connection: Diesel's
/// MultiConnection backend has no batch insert of its own (the two
/// dialects differ), and both `values` are the same code.
macro_rules! insert_rows {
    ($conn:expr, $table:expr, $rows:expr) => {
        match $conn {
            DbConn::Sqlite(c) => diesel::insert_into($table).values($rows).execute(c),
            DbConn::Postgres(c) => diesel::insert_into($table).values($rows).execute(c),
        }
    };
}

/// What to create.
#[derive(Clone, Copy, Debug)]
pub struct SeedOptions {
    pub users: u64,
    pub audit: u64,
}

/// What was created, and how long it took.
#[derive(Clone, Copy, Debug, Default)]
pub struct SeedReport {
    pub users: u64,
    pub users_secs: f64,
    pub audit: u64,
    pub audit_secs: f64,
}

/// Rows per second, for the report.
pub fn rate(rows: u64, secs: f64) -> f64 {
    if secs > 0.0 {
        rows as f64 / secs
    } else {
        0.0
    }
}

/// Seeding writes fake accounts and audit entries: never on production data.
pub fn refuse_in_production(settings: &Settings) -> anyhow::Result<()> {
    if settings.is_production() {
        anyhow::bail!(
            "`seed` writes fake users and audit entries and is refused in production \
             (APP_ENV=production); use a development database"
        );
    }
    Ok(())
}

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

/// How many rows of `columns` bound values fit in one statement.
pub fn rows_per_statement(columns: usize) -> usize {
    (MAX_BIND_PARAMS / columns.max(1)).max(1)
}

/// Creates the users, then the audit entries; `progress` hears about each
/// committed transaction (table, rows so far, rows asked for).
pub async fn seed(
    pool: &Pool,
    options: SeedOptions,
    progress: impl FnMut(&str, u64, u64) + Send + 'static,
) -> Result<SeedReport, AppError> {
    db::run(pool, move |conn| {
        let mut progress = progress;
        tune_for_bulk(conn)?;
        let started = Instant::now();
        let actors = seed_users(conn, options.users, &mut progress)?;
        let users_secs = started.elapsed().as_secs_f64();
        let started = Instant::now();
        let actors = if actors.is_empty() {
            // Only audit entries asked for: their actors are existing users.
            users::table
                .select(users::id)
                .limit(10_000)
                .load::<String>(conn)?
        } else {
            actors
        };
        seed_audit(conn, options.audit, &actors, &mut progress)?;
        let audit_secs = started.elapsed().as_secs_f64();
        analyze(conn)?;
        Ok(SeedReport {
            users: options.users,
            users_secs,
            audit: options.audit,
            audit_secs,
        })
    })
    .await
}

/// SQLite: a larger page cache for this connection (256 MiB), so index
/// updates of big batches stay in memory until the commit.
fn tune_for_bulk(conn: &mut DbConn) -> Result<(), AppError> {
    if let DbConn::Sqlite(_) = conn {
        conn.batch_execute("PRAGMA cache_size = -262144")?;
    }
    Ok(())
}

/// Fresh planner statistics, so the first queries after a bulk load are
/// planned for its size (PostgreSQL's autovacuum would get there later).
/// SQLite plans these queries from the indexes alone.
fn analyze(conn: &mut DbConn) -> Result<(), AppError> {
    if let DbConn::Postgres(_) = conn {
        conn.batch_execute("ANALYZE users; ANALYZE user_roles; ANALYZE audit_log")?;
    }
    Ok(())
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
fn seed_users(
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

/// One kind of seeded audit event: what happened, and how often.
struct EventKind {
    action: &'static str,
    outcome: audit::Outcome,
    /// Relative frequency.
    weight: u32,
    /// Whether it is about another user (an admin's action).
    targeted: bool,
    /// Whether it may come from nobody known (a failed sign-in).
    anonymous: bool,
    detail: &'static str,
}

/// A plausible day of a busy service: mostly sign-ins and token refreshes,
/// some failures and refusals, a few admin actions. Every detail says
/// `seeded`, so these entries are recognisable.
const KINDS: &[EventKind] = {
    use audit::Outcome::{Denied, Failure, Success};
    const fn kind(
        action: &'static str,
        outcome: audit::Outcome,
        weight: u32,
        targeted: bool,
        anonymous: bool,
        detail: &'static str,
    ) -> EventKind {
        EventKind {
            action,
            outcome,
            weight,
            targeted,
            anonymous,
            detail,
        }
    }
    &[
        kind(
            "auth.login",
            Success,
            40,
            false,
            false,
            r#"{"method":"password","seeded":true}"#,
        ),
        kind(
            "auth.login",
            Failure,
            12,
            false,
            true,
            r#"{"reason":"bad_credentials","seeded":true}"#,
        ),
        kind(
            "auth.refresh",
            Success,
            20,
            false,
            false,
            r#"{"seeded":true}"#,
        ),
        kind(
            "mfa.verify",
            Success,
            6,
            false,
            false,
            r#"{"method":"totp","seeded":true}"#,
        ),
        kind(
            "mfa.verify",
            Failure,
            2,
            false,
            false,
            r#"{"method":"totp","seeded":true}"#,
        ),
        kind(
            "access.denied",
            Denied,
            6,
            false,
            true,
            r#"{"reason":"missing_permission","seeded":true}"#,
        ),
        kind(
            "session.revoke",
            Success,
            4,
            false,
            false,
            r#"{"seeded":true}"#,
        ),
        kind(
            "oauth.token",
            Success,
            3,
            false,
            false,
            r#"{"grant_type":"authorization_code","seeded":true}"#,
        ),
        kind(
            "device.register",
            Success,
            2,
            false,
            false,
            r#"{"seeded":true}"#,
        ),
        kind(
            "account.password_change",
            Success,
            2,
            false,
            false,
            r#"{"seeded":true}"#,
        ),
        kind(
            "rate_limit.exceeded",
            Denied,
            1,
            false,
            true,
            r#"{"limit":"auth_per_ip","hits":3,"seeded":true}"#,
        ),
        kind(
            "account.locked",
            Success,
            1,
            true,
            false,
            r#"{"by":"admin","seeded":true}"#,
        ),
        kind(
            "role.grant",
            Success,
            1,
            true,
            false,
            r#"{"role":"auditor","seeded":true}"#,
        ),
    ]
};

/// The kind at `roll`, a number below the sum of the weights.
fn kind_at(roll: u32) -> &'static EventKind {
    let mut left = roll;
    for kind in KINDS {
        if left < kind.weight {
            return kind;
        }
        left -= kind.weight;
    }
    &KINDS[0]
}

fn total_weight() -> u32 {
    KINDS.iter().map(|k| k.weight).sum()
}

/// The audit log's secondary indexes (migrations `audit_log` and
/// `scale_indexes`) as (drop, create) statements. Keeping seven B-trees
/// up to date row by row makes a load several times slower than inserting
/// the rows and building each index once, in one sorted pass; a test checks
/// this list against the migrated schema.
pub const AUDIT_INDEXES: &[(&str, &str)] = &[
    (
        "DROP INDEX audit_log_occurred_at",
        "CREATE INDEX audit_log_occurred_at ON audit_log (occurred_at)",
    ),
    (
        "DROP INDEX audit_log_actor_id",
        "CREATE INDEX audit_log_actor_id ON audit_log (actor, id)",
    ),
    (
        "DROP INDEX audit_log_action_id",
        "CREATE INDEX audit_log_action_id ON audit_log (action, id)",
    ),
    (
        "DROP INDEX audit_log_action_outcome_id",
        "CREATE INDEX audit_log_action_outcome_id ON audit_log (action, outcome, id)",
    ),
    (
        "DROP INDEX audit_log_outcome_id",
        "CREATE INDEX audit_log_outcome_id ON audit_log (outcome, id)",
    ),
    (
        "DROP INDEX audit_log_target_id",
        "CREATE INDEX audit_log_target_id ON audit_log (target, id)",
    ),
];

/// One entry before it is borrowed into an [`audit::Unlinked`].
struct Draft {
    kind: &'static EventKind,
    actor: Option<usize>,
    target: Option<usize>,
    client_ip: String,
    request_id: String,
}

fn draft(rng: &mut impl Rng, actors: usize, weights: u32) -> Draft {
    let kind = kind_at(rng.random_range(0..weights));
    let pick = |rng: &mut dyn rand::RngCore| (actors > 0).then(|| rng.random_range(0..actors));
    let actor = if kind.anonymous && rng.random_bool(0.5) {
        None
    } else {
        pick(rng)
    };
    let target = if kind.targeted { pick(rng) } else { None };
    Draft {
        kind,
        actor,
        target,
        // A documentation range (RFC 5737): no real client's address.
        client_ip: format!("203.0.113.{}", rng.random_range(1..255)),
        request_id: uuid::Builder::from_random_bytes(rng.random())
            .into_uuid()
            .to_string(),
    }
}

/// Appends `count` entries to the chain, `actors` (user ids) acting, in ONE
/// write transaction: all or nothing, and a large load may drop the
/// secondary indexes and build them again before it commits (DDL is
/// transactional on both databases, so an interrupted load leaves them
/// as they were). The chain lock is held throughout: a server recording
/// at the same time waits (seed an idle database).
fn seed_audit(
    conn: &mut DbConn,
    count: u64,
    actors: &[String],
    progress: &mut impl FnMut(&str, u64, u64),
) -> Result<(), AppError> {
    if count == 0 {
        return Ok(());
    }
    let now = crate::services::sessions::now();
    let newest: Option<(i64, NaiveDateTime)> = audit_log::table
        .order(audit_log::id.desc())
        .select((audit_log::id, audit_log::occurred_at))
        .first(conn)
        .optional()?;
    // From the newest entry (or 30 days ago) to now, evenly, so times keep
    // the chain's order.
    let start = newest
        .map(|(_, t)| t)
        .filter(|t| *t > now - Duration::days(AUDIT_SPAN_DAYS))
        .unwrap_or(now - Duration::days(AUDIT_SPAN_DAYS));
    let step_micros =
        (now - start).num_microseconds().unwrap_or(0) / i64::try_from(count).unwrap_or(i64::MAX);
    // Ids are consecutive: the newest id is about the table's size.
    let existing = newest.map_or(0, |(id, _)| u64::try_from(id).unwrap_or(0));
    let rebuild_indexes = count >= existing;

    let mut rng = rand::rng();
    let weights = total_weight();
    db::write_transaction(conn, |conn| {
        if rebuild_indexes {
            for (drop, _) in AUDIT_INDEXES {
                conn.batch_execute(drop)?;
            }
        }
        let mut done = 0u64;
        while done < count {
            let take = (count - done).min(ROWS_PER_BATCH as u64);
            let drafts: Vec<Draft> = (0..take)
                .map(|_| draft(&mut rng, actors.len(), weights))
                .collect();
            let entries: Vec<audit::Unlinked<'_>> = drafts
                .iter()
                .zip(done..)
                .map(|(d, n)| audit::Unlinked {
                    occurred_at: start
                        + Duration::microseconds(
                            step_micros.saturating_mul(i64::try_from(n).unwrap_or(0)),
                        ),
                    actor: d.actor.map(|a| actors[a].as_str()),
                    action: d.kind.action,
                    target: d.target.map(|t| actors[t].as_str()),
                    outcome: d.kind.outcome,
                    client_ip: Some(&d.client_ip),
                    request_id: Some(&d.request_id),
                    detail: d.kind.detail,
                })
                .collect();
            audit::append_many(conn, &entries)?;
            done += take;
            progress("audit entries", done, count);
        }
        if rebuild_indexes {
            if let DbConn::Postgres(_) = conn {
                // Index builds sort in memory up to this much.
                conn.batch_execute("SET LOCAL maintenance_work_mem = '256MB'")?;
            }
            for (_, create) in AUDIT_INDEXES {
                conn.batch_execute(create)?;
            }
            progress("audit indexes rebuilt", count, count);
        }
        Ok(())
    })
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
    fn statements_stay_under_the_bound_parameter_limit() {
        for columns in [3, 6] {
            assert!(rows_per_statement(columns) * columns <= MAX_BIND_PARAMS);
        }
        assert_eq!(rows_per_statement(0), MAX_BIND_PARAMS);
    }

    #[test]
    fn every_roll_picks_a_kind_in_proportion() {
        let weights = total_weight();
        let logins = (0..weights)
            .filter(|r| kind_at(*r).action == "auth.login")
            .count();
        assert_eq!(logins, 52);
        assert_eq!(kind_at(weights - 1).action, "role.grant");
        assert!(KINDS.iter().all(|k| k.detail.contains(r#""seeded":true"#)));
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

    #[test]
    fn rates_never_divide_by_zero() {
        assert_eq!(rate(10, 0.0), 0.0);
        assert_eq!(rate(10, 2.0), 5.0);
    }
}
