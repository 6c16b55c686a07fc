//! One connection type for both engines (as vaultwarden does): queries are
//! written once against the portable schema and run on either.
//!
//! Why our own r2d2 `Manager` and not `diesel::r2d2::ConnectionManager<DbConn>`
//! with a `CustomizeConnection` for the SQLite pragmas: the derived
//! `MultiConnection::establish` tries each engine in turn and drops their
//! errors, so every PostgreSQL failure reads "Invalid connection url for
//! multiconnection" — measured (issue 18) against a missing database and a
//! closed port, where this manager reports `database "…" does not exist` and
//! `Connection refused` — and a SQLite path is first handed to libpq.
//! Here the engine is chosen once from the URL's scheme (`Target`) and each
//! connection is checked and judged broken by Diesel's own `R2D2Connection`
//! (`ping`, `is_broken`).
//!
//! Layer: db: imports nothing of the crate.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::{self, R2D2Connection};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Postgres(diesel::PgConnection),
    Sqlite(diesel::SqliteConnection),
}

/// The pool every caller holds: one r2d2 pool that can be replaced whole,
/// for database credentials that change while the app runs (Vault's
/// dynamic credentials, `secret_provider::vault::database`).
///
/// Replacing builds and opens the new pool first, then swaps it in under a
/// write lock held only for the swap: a request that already holds a
/// connection finishes on the old pool, whose connections close once the
/// last one is returned; every later `get` uses the new one, so no request
/// fails over the switch. A `RwLock` rather than `arc-swap`: no extra
/// dependency, and a reader holds it only to clone an `Arc`.
#[derive(Clone)]
pub struct Pool {
    current: Arc<RwLock<r2d2::Pool<Manager>>>,
    max_size: u32,
    /// How long `get` waits for a connection before giving up (the
    /// database down or every connection busy): `DB_POOL_TIMEOUT_SECS`.
    checkout_timeout: Duration,
}

/// `get`'s wait unless the caller sets another (`with_checkout_timeout`).
pub const DEFAULT_CHECKOUT_TIMEOUT: Duration = Duration::from_secs(10);

impl Pool {
    /// A connection from the current pool. r2d2 tests each connection it
    /// hands out (`is_valid`) and replaces a broken one, so after a database
    /// restart the pool heals by itself.
    pub fn get(&self) -> Result<r2d2::PooledConnection<Manager>, r2d2::PoolError> {
        let pool = self
            .current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        pool.get_timeout(self.checkout_timeout)
    }

    /// The same pool, waiting at most `timeout` for a connection.
    pub fn with_checkout_timeout(mut self, timeout: Duration) -> Self {
        self.checkout_timeout = timeout;
        self
    }

    /// Opens a pool to `url` (same size) and moves every later `get` to it.
    /// On error the current pool stays in use.
    pub fn switch_to(&self, url: &str) -> anyhow::Result<()> {
        let next = build_r2d2(url, self.max_size)?;
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = next;
        Ok(())
    }
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("max_size", &self.max_size)
            .field("checkout_timeout", &self.checkout_timeout)
            .finish_non_exhaustive()
    }
}

/// Which engine a `DATABASE_URL` names, decided once from its scheme.
#[derive(Clone, Debug)]
pub enum Target {
    Postgres(String),
    /// A file path (the part after `sqlite://`).
    Sqlite(String),
}

impl Target {
    pub fn parse(url: &str) -> anyhow::Result<Self> {
        if let Some(path) = url.strip_prefix("sqlite://") {
            Ok(Self::Sqlite(path.to_owned()))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self::Postgres(url.to_owned()))
        } else {
            anyhow::bail!("DATABASE_URL must start with sqlite://, postgres:// or postgresql://")
        }
    }
}

/// An r2d2 manager that opens the right kind of connection and prepares it.
#[derive(Clone, Debug)]
pub struct Manager {
    target: Target,
}

impl r2d2::ManageConnection for Manager {
    type Connection = DbConn;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<DbConn, r2d2::Error> {
        match &self.target {
            Target::Postgres(url) => diesel::PgConnection::establish(url)
                .map(DbConn::Postgres)
                .map_err(r2d2::Error::ConnectionError),
            Target::Sqlite(path) => {
                let mut conn = diesel::SqliteConnection::establish(path)
                    .map_err(r2d2::Error::ConnectionError)?;
                // Foreign keys are off by default in SQLite; WAL lets readers
                // work while one writer writes; busy_timeout waits for the lock
                // instead of failing at once.
                // busy_timeout comes first so the others wait for the lock.
                conn.batch_execute(
                    "PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL; \
                     PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;",
                )
                .map_err(r2d2::Error::QueryError)?;
                Ok(DbConn::Sqlite(conn))
            }
        }
    }

    fn is_valid(&self, conn: &mut DbConn) -> Result<(), r2d2::Error> {
        conn.ping().map_err(r2d2::Error::QueryError)
    }

    /// A connection left inside a transaction, or whose transaction state
    /// Diesel lost track of, is closed rather than handed out again.
    fn has_broken(&self, conn: &mut DbConn) -> bool {
        std::thread::panicking() || conn.is_broken()
    }
}

/// Call before the process's first PostgreSQL connection (`build_pool` does).
///
/// libpq uses the system OpenSSL, and whoever initialises OpenSSL first
/// decides whether it registers an exit handler that frees its state. With
/// that handler, a process that exits while r2d2's worker threads are still
/// opening connections can crash on its way out (seen as SIGSEGV or "double
/// free" after every test had passed; diesel#3441). Initialising it here,
/// with OPENSSL_INIT_NO_ATEXIT, first, prevents that.
pub fn prepare_libpq() {
    openssl_sys::init();
}

/// Builds the pool; for SQLite, creates the file's folder first.
pub fn build_pool(url: &str, max_size: u32) -> anyhow::Result<Pool> {
    Ok(Pool {
        current: Arc::new(RwLock::new(build_r2d2(url, max_size)?)),
        max_size,
        checkout_timeout: DEFAULT_CHECKOUT_TIMEOUT,
    })
}

/// One r2d2 pool; `build` opens its first connections, so a wrong URL or
/// refused credentials fail here.
fn build_r2d2(url: &str, max_size: u32) -> anyhow::Result<r2d2::Pool<Manager>> {
    let target = Target::parse(url)?;
    if matches!(target, Target::Postgres(_)) {
        prepare_libpq();
    }
    if let Target::Sqlite(path) = &target {
        if let Some(dir) = std::path::Path::new(path).parent() {
            if !dir.as_os_str().is_empty() {
                std::fs::create_dir_all(dir)?;
            }
        }
    }
    let pool = r2d2::Pool::builder()
        .max_size(max_size)
        .connection_timeout(DEFAULT_CHECKOUT_TIMEOUT)
        .build(Manager { target })?;
    Ok(pool)
}
