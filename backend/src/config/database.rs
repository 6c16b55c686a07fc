//! `DATABASE_URL` (a secret), `DATABASE_MIGRATION_URL` (a secret) and the
//! pool: `DB_POOL_SIZE`, `DB_POOL_TIMEOUT_SECS`.

use super::app::App;
use super::reader::Reader;
use super::AppEnv;
use secrecy::{ExposeSecret, SecretString};
use std::time::Duration;

pub(super) struct Database {
    pub url: SecretString,
    pub migration_url: Option<SecretString>,
    pub pool_size: u32,
    pub pool_timeout: Duration,
}

pub(super) fn read(r: &Reader<'_>, app: &App) -> Database {
    let url = url(r, app);
    let migration_url = migration_url(r, app, &url);
    let pool_size: u32 = r.parsed("DB_POOL_SIZE", 8);
    if pool_size == 0 {
        r.fail("DB_POOL_SIZE", "must be at least 1".into());
    }
    let pool_timeout_secs: u64 = r.parsed("DB_POOL_TIMEOUT_SECS", 10);
    if !(1..=300).contains(&pool_timeout_secs) {
        r.fail(
            "DB_POOL_TIMEOUT_SECS",
            "must be between 1 and 300 seconds".into(),
        );
    }
    Database {
        url,
        migration_url,
        pool_size,
        pool_timeout: Duration::from_secs(pool_timeout_secs),
    }
}

/// `DATABASE_URL`: required in production; dev mode defaults to a SQLite
/// file in `APP_DATA_DIR`. With `VAULT_DB_ROLE` the user and password come
/// from Vault, so the URL must not carry them.
fn url(r: &Reader<'_>, app: &App) -> SecretString {
    let vault = app.vault.as_deref();
    let url = match r.secret("DATABASE_URL", vault) {
        Some(url) => {
            let s = url.expose_secret();
            if !(s.starts_with("sqlite://")
                || s.starts_with("postgres://")
                || s.starts_with("postgresql://"))
            {
                r.fail(
                    "DATABASE_URL",
                    "must start with sqlite://, postgres:// or postgresql://".into(),
                );
            }
            url
        }
        None if app.env == AppEnv::Production => {
            r.fail("DATABASE_URL", "is required in production mode".into());
            SecretString::from(String::new())
        }
        None => SecretString::from(format!(
            "sqlite://{}",
            app.data_dir.join("app.db").display()
        )),
    };
    if vault.is_some_and(|v| v.database().is_some())
        && crate::secret_provider::vault::database::with_credentials(
            url.expose_secret(),
            "u",
            &SecretString::from("p"),
        )
        .is_none()
    {
        r.fail(
            "DATABASE_URL",
            "with VAULT_DB_ROLE it must be postgres://host[:port]/database, without a user or password (those come from Vault)".into(),
        );
    }
    url
}

/// `DATABASE_MIGRATION_URL`: the schema owner's connection, to the same
/// kind of database as `DATABASE_URL`.
fn migration_url(r: &Reader<'_>, app: &App, url: &SecretString) -> Option<SecretString> {
    r.secret("DATABASE_MIGRATION_URL", app.vault.as_deref())
        .filter(|migration| {
            let s = migration.expose_secret();
            let same_engine = if url.expose_secret().starts_with("sqlite://") {
                s.starts_with("sqlite://")
            } else {
                s.starts_with("postgres://") || s.starts_with("postgresql://")
            };
            if !same_engine {
                r.fail(
                    "DATABASE_MIGRATION_URL",
                    "must name the same kind of database as DATABASE_URL".into(),
                );
            }
            same_engine
        })
}

#[cfg(test)]
mod tests {
    use crate::config::Settings;
    use secrecy::ExposeSecret;

    #[test]
    fn production_requires_a_database_url() {
        let err = Settings::from_pairs(&[("APP_ENV", "production")]).unwrap_err();
        assert!(err.0.iter().any(|e| e.variable == "DATABASE_URL"));
    }

    #[test]
    fn secrets_can_come_from_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db_url");
        std::fs::write(&path, "postgres://app@db/app\n").unwrap();
        let s = Settings::from_pairs(&[("DATABASE_URL_FILE", path.to_str().unwrap())]).unwrap();
        assert_eq!(s.database_url.expose_secret(), "postgres://app@db/app");
    }

    #[test]
    fn a_secret_given_twice_or_unreadable_is_an_error() {
        let settings = Settings::from_pairs;
        let err =
            settings(&[("DATABASE_URL", "sqlite://a"), ("DATABASE_URL_FILE", "/x")]).unwrap_err();
        assert_eq!(err.0[0].variable, "DATABASE_URL_FILE");
        let err = settings(&[("DATABASE_URL_FILE", "/does/not/exist")]).unwrap_err();
        assert!(err.0[0].problem.contains("cannot read"));
        // The error names the file problem, never a secret value.
        assert!(!err.to_string().contains("sqlite://"));
    }
}
