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
/// same at the same time (SQLite cannot wait out that deadlock).
///
/// Diesel's own transaction manager runs it (what
/// `SqliteConnection::immediate_transaction` does, whose closure would get
/// the SQLite connection rather than the `DbConn` every query takes), so a
/// nested [`savepoint`] is one of Diesel's savepoints, and a failed `COMMIT`
/// (a deferred constraint, a busy database: SQLite keeps the transaction
/// open then) is rolled back before the connection goes back to the pool.
pub fn write_transaction<T>(
    conn: &mut DbConn,
    f: impl FnOnce(&mut DbConn) -> Result<T, AppError>,
) -> Result<T, AppError> {
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    use diesel::Connection;
    type Manager = <DbConn as Connection>::TransactionManager;
    let DbConn::Sqlite(sqlite) = conn else {
        return conn.transaction(f);
    };
    AnsiTransactionManager::begin_transaction_sql(sqlite, "BEGIN IMMEDIATE")?;
    match f(conn) {
        Ok(value) => {
            Manager::commit_transaction(conn)?;
            Ok(value)
        }
        Err(e) => {
            if let Err(rollback) = Manager::rollback_transaction(conn) {
                tracing::error!(error = %rollback, "rollback failed");
            }
            Err(e)
        }
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
    // Inside a transaction, Diesel's `transaction` is a savepoint.
    diesel::Connection::transaction(conn, f)
}
