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
//!
//! A load-test tool, on the CLI side: no service, handler or middleware can
//! reach it (the layer table ranks `cli` on top). `users` and
//! `audit_entries` write the rows; this file runs them and reports.

use crate::config::Settings;
use crate::db::schema;
use crate::db::{self, DbConn, Pool};
use crate::error::AppError;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use std::time::Instant;

/// SQLite's limit on bound parameters in one statement (PostgreSQL's,
/// 65,535, is higher): a multi-row insert carries `columns × rows` of them.
const MAX_BIND_PARAMS: usize = 32_766;
/// Users per transaction: large enough that commits (an fsync each) cost
/// little. Audit entries are generated in batches of the same size (all in
/// one transaction, see `seed_audit`), which bounds the memory used.
const ROWS_PER_BATCH: usize = 50_000;

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

pub mod audit_entries;
pub mod users;

use audit_entries::seed_audit;
use users::seed_users;

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
            schema::users::table
                .select(schema::users::id)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_stay_under_the_bound_parameter_limit() {
        for columns in [3, 6] {
            assert!(rows_per_statement(columns) * columns <= MAX_BIND_PARAMS);
        }
        assert_eq!(rows_per_statement(0), MAX_BIND_PARAMS);
    }

    #[test]
    fn rates_never_divide_by_zero() {
        assert_eq!(rate(10, 0.0), 0.0);
        assert_eq!(rate(10, 2.0), 5.0);
    }
}
