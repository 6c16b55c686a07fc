//! Database access: one connection type over SQLite and PostgreSQL, a pool,
//! the embedded migrations, and the models.
//!
//! Diesel is synchronous: every call goes through [`run`], which moves it to
//! actix's blocking thread pool so the async workers never wait on I/O.

pub mod connection;
pub mod migrations;
pub mod models;
pub mod notify;
pub mod schema;

pub use connection::{DbConn, Pool};

use crate::error::AppError;

/// Runs `f` with a pooled connection on a blocking thread. No connection
/// within the pool's checkout timeout (the database down, or every
/// connection busy) is `AppError::Unavailable`: a 503 with `Retry-After`.
pub async fn run<T, F>(pool: &Pool, f: F) -> Result<T, AppError>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConn) -> Result<T, AppError> + Send + 'static,
{
    let pool = pool.clone();
    actix_web::web::block(move || {
        let mut conn = pool
            .get()
            .map_err(|e| AppError::Unavailable(anyhow::Error::new(e)))?;
        f(&mut conn)
    })
    .await
    .map_err(|e| AppError::internal(anyhow::Error::new(e)))?
}

/// A transaction that will write. On SQLite it starts with `BEGIN IMMEDIATE`,
/// taking the write lock up front: a transaction that reads and then writes
/// would otherwise fail with "database is locked" when another one did the
/// same at the same time (SQLite cannot wait out that deadlock). `f` must
/// not open a nested transaction.
pub fn write_transaction<T>(
    conn: &mut DbConn,
    f: impl FnOnce(&mut DbConn) -> Result<T, AppError>,
) -> Result<T, AppError> {
    use diesel::connection::SimpleConnection;
    use diesel::Connection;
    match conn {
        DbConn::Sqlite(_) => {
            conn.batch_execute("BEGIN IMMEDIATE")?;
            let result = f(conn).and_then(|value| {
                conn.batch_execute("COMMIT")?;
                Ok(value)
            });
            if result.is_err() {
                // Also after a failed COMMIT: SQLite keeps the transaction
                // open then (a deferred constraint, a busy database), and
                // the pooled connection must not go back half inside one.
                if let Err(rollback) = conn.batch_execute("ROLLBACK") {
                    tracing::error!(error = %rollback, "rollback failed");
                }
            }
            result
        }
        DbConn::Postgres(_) => conn.transaction(f),
    }
}

/// Runs `f` under a savepoint, inside a [`write_transaction`]: if it fails,
/// only its own writes are undone and the transaction goes on. For a write
/// whose refusal is an answer (a unique index deciding a race): PostgreSQL
/// refuses every later statement of a transaction in which one failed.
pub fn savepoint<T>(
    conn: &mut DbConn,
    f: impl FnOnce(&mut DbConn) -> diesel::QueryResult<T>,
) -> diesel::QueryResult<T> {
    use diesel::connection::SimpleConnection;
    conn.batch_execute("SAVEPOINT nested_write")?;
    match f(conn) {
        Ok(value) => {
            conn.batch_execute("RELEASE SAVEPOINT nested_write")?;
            Ok(value)
        }
        Err(e) => {
            conn.batch_execute("ROLLBACK TO SAVEPOINT nested_write")?;
            conn.batch_execute("RELEASE SAVEPOINT nested_write")?;
            Err(e)
        }
    }
}
