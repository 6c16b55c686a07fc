//! Database access: one connection type over SQLite and PostgreSQL, a pool,
//! the embedded migrations, and the models.
//!
//! Diesel is synchronous: every call goes through [`run`], which moves it to
//! actix's blocking thread pool so the async workers never wait on I/O.

pub mod connection;
pub mod migrations;
pub mod models;
pub mod schema;

pub use connection::{DbConn, Pool};

use crate::error::AppError;

/// Runs `f` with a pooled connection on a blocking thread.
pub async fn run<T, F>(pool: &Pool, f: F) -> Result<T, AppError>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConn) -> Result<T, AppError> + Send + 'static,
{
    let pool = pool.clone();
    actix_web::web::block(move || {
        let mut conn = pool
            .get()
            .map_err(|e| AppError::internal(anyhow::Error::new(e)))?;
        f(&mut conn)
    })
    .await
    .map_err(|e| AppError::internal(anyhow::Error::new(e)))?
}
