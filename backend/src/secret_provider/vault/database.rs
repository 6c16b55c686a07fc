//! Dynamic database credentials (`VAULT_DB_ROLE`): the app connects to
//! PostgreSQL as a user Vault's database secrets engine creates for it
//! (`GET <VAULT_DB_MOUNT>/creds/<VAULT_DB_ROLE>`), with a lease.
//!
//! `DATABASE_URL` then names the server and database only
//! (`postgres://db.internal:5432/app?sslmode=verify-full`); the user and
//! password come from Vault. The lease is renewed (`sys/leases/renew`) at
//! two thirds of what Vault last granted. When Vault refuses, or grants
//! less than the lease was issued with (its max TTL is near), the app reads
//! new credentials and moves the pool over (`db::Pool::switch_to`: the new
//! pool is opened first, requests in flight finish on the old one). When
//! Vault is unreachable, the credentials in hand are kept until their lease
//! ends, with an error in the log every few seconds.
//!
//! Layer: infrastructure, in `secret_provider`: imports `db` and `telemetry` below it.

use super::session::Session;
use crate::db::Pool;
use crate::secret_provider::SecretError;
use secrecy::{ExposeSecret, SecretString};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// The source of the database credentials.
pub struct DynamicCredentials {
    pub(super) session: Arc<Session>,
    lease: Mutex<Option<Lease>>,
}

/// One set of credentials and its lease.
struct Lease {
    id: String,
    issued: Duration,
    granted: Duration,
    at: Instant,
}

/// How long to wait before trying again after a failure.
const RETRY: Duration = Duration::from_secs(5);

impl DynamicCredentials {
    pub(super) fn new(session: Arc<Session>) -> Self {
        Self {
            session,
            lease: Mutex::new(None),
        }
    }

    fn lease(&self) -> std::sync::MutexGuard<'_, Option<Lease>> {
        self.lease.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Reads credentials, opens a pool of `max_size` with them on the
    /// server `database_url` names, and starts the thread that keeps them
    /// valid.
    pub fn open_pool(self: &Arc<Self>, database_url: &str, max_size: u32) -> anyhow::Result<Pool> {
        let url = self.new_credentials(database_url)?;
        let pool = crate::db::connection::build_pool(url.expose_secret(), max_size)?;
        let this = Arc::clone(self);
        let (base, handle) = (database_url.to_owned(), pool.clone());
        std::thread::Builder::new()
            .name("vault-db-lease".into())
            .spawn(move || loop {
                let due = this.due();
                std::thread::sleep(due.saturating_duration_since(Instant::now()));
                if this.renew_or_switch(&base, &handle).is_err() {
                    std::thread::sleep(RETRY);
                }
            })?;
        Ok(pool)
    }

    fn due(&self) -> Instant {
        match &*self.lease() {
            Some(l) => l.at + l.granted * 2 / 3,
            None => Instant::now(),
        }
    }

    /// Renews the lease now; when that is refused or capped, switches
    /// `pool` to new credentials. `Err` (logged) when Vault or the database
    /// could not be reached: the current credentials stay in use.
    pub fn renew_or_switch(&self, database_url: &str, pool: &Pool) -> Result<(), SecretError> {
        let result = match self.renew() {
            Ok(true) => Ok(()),
            Ok(false) => self.switch(database_url, pool),
            Err(e) => Err(e),
        };
        if let Err(e) = &result {
            let left = self
                .lease()
                .as_ref()
                .map(|l| (l.at + l.granted).saturating_duration_since(Instant::now()));
            tracing::error!(
                problem = %e,
                expires_in_secs = left.map(|l| l.as_secs()),
                "cannot renew the database credentials from Vault; keeping the current ones until their lease ends"
            );
        }
        result
    }

    /// Reads new credentials and moves `pool` to them.
    pub fn switch(&self, database_url: &str, pool: &Pool) -> Result<(), SecretError> {
        let url = self.new_credentials(database_url)?;
        pool.switch_to(url.expose_secret()).map_err(|e| {
            SecretError::new(
                "VAULT_DB_ROLE",
                format!(
                    "cannot connect with the new database credentials: {}",
                    crate::telemetry::log_safe(&e.to_string())
                ),
            )
        })?;
        tracing::info!("moved the database pool to new credentials from Vault");
        Ok(())
    }

    /// `Ok(true)`: renewed in full; `Ok(false)`: refused or capped.
    fn renew(&self) -> Result<bool, SecretError> {
        let Some((id, issued)) = self.lease().as_ref().map(|l| (l.id.clone(), l.issued)) else {
            return Ok(false);
        };
        let body = serde_json::json!({ "lease_id": id, "increment": issued.as_secs() });
        let (status, text) = self.session.call("PUT", "sys/leases/renew", Some(&body))?;
        if status >= 500 {
            return Err(SecretError::new(
                "VAULT_ADDR",
                format!(
                    "Vault at {} answered HTTP {status} to the lease renewal",
                    self.session.config.addr
                ),
            ));
        }
        #[derive(serde::Deserialize)]
        struct Renewed {
            lease_duration: u64,
        }
        let renewed = (status == 200)
            .then(|| serde_json::from_str::<Renewed>(&text).ok())
            .flatten();
        let Some(renewed) = renewed else {
            tracing::warn!(status, "Vault refused to renew the database lease");
            return Ok(false);
        };
        let mut lease = self.lease();
        let Some(lease) = lease.as_mut() else {
            return Ok(false);
        };
        lease.granted = Duration::from_secs(renewed.lease_duration);
        lease.at = Instant::now();
        let full = lease.granted >= lease.issued;
        if full {
            tracing::info!(
                ttl_secs = renewed.lease_duration,
                "renewed the database lease"
            );
        } else {
            tracing::warn!(
                ttl_secs = renewed.lease_duration,
                "the database lease is at its max TTL; switching to new credentials"
            );
        }
        Ok(full)
    }

    /// Reads new credentials; returns `database_url` with them in it.
    fn new_credentials(&self, database_url: &str) -> Result<SecretString, SecretError> {
        let config = &self.session.config;
        let role = config.db_role.as_deref().unwrap_or_default();
        let path = format!("{}/creds/{role}", config.db_mount);
        let (status, text) = self.session.call("GET", &path, None)?;
        #[derive(serde::Deserialize)]
        struct Creds {
            lease_id: String,
            lease_duration: u64,
            data: CredsData,
        }
        #[derive(serde::Deserialize)]
        struct CredsData {
            username: String,
            password: String,
        }
        let creds = (status == 200)
            .then(|| serde_json::from_str::<Creds>(&text).ok())
            .flatten()
            .ok_or_else(|| {
                SecretError::new(
                    "VAULT_DB_ROLE",
                    format!(
                        "Vault at {} gave no database credentials at {path} (HTTP {status}): check VAULT_DB_MOUNT, VAULT_DB_ROLE and the token's policy",
                        config.addr
                    ),
                )
            })?;
        let password = SecretString::from(creds.data.password);
        let url = with_credentials(database_url, &creds.data.username, &password).ok_or_else(|| {
            SecretError::new(
                "DATABASE_URL",
                "with VAULT_DB_ROLE it must be postgres://host[:port]/database without a user or password",
            )
        })?;
        let granted = Duration::from_secs(creds.lease_duration);
        *self.lease() = Some(Lease {
            id: creds.lease_id,
            issued: granted,
            granted,
            at: Instant::now(),
        });
        tracing::info!(
            ttl_secs = creds.lease_duration,
            "read database credentials from Vault"
        );
        Ok(url)
    }
}

impl std::fmt::Debug for DynamicCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DynamicCredentials")
            .field("role", &self.session.config.db_role)
            .finish_non_exhaustive()
    }
}

/// `postgres://host/db` with `user:password@` put in (percent-encoded);
/// `None` unless `url` is a PostgreSQL URL without credentials.
pub fn with_credentials(url: &str, user: &str, password: &SecretString) -> Option<SecretString> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    if !matches!(scheme, "postgres" | "postgresql")
        || authority.contains('@')
        || authority.is_empty()
    {
        return None;
    }
    Some(SecretString::from(format!(
        "{scheme}://{}:{}@{rest}",
        crate::security::percent::encode(user),
        crate::security::percent::encode(password.expose_secret())
    )))
}
