//! Embedded migrations, one set per engine, applied at start-up.

use super::DbConn;
use diesel::sql_types::BigInt;
use diesel::RunQueryDsl;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

const SQLITE: EmbeddedMigrations = embed_migrations!("../migrations/sqlite");
const POSTGRES: EmbeddedMigrations = embed_migrations!("../migrations/postgres");

/// Any fixed number; every instance of this app uses the same one.
const MIGRATION_LOCK_ID: i64 = 0x5EC0_4EF0;

/// Applies pending migrations. On PostgreSQL a session-level advisory lock is
/// held for the duration, so when several instances start at once exactly one
/// migrates and the others wait, then find nothing left to do.
pub fn run(conn: &mut DbConn) -> anyhow::Result<usize> {
    match conn {
        DbConn::Sqlite(c) => apply(c, SQLITE),
        DbConn::Postgres(c) => {
            diesel::sql_query("SELECT pg_advisory_lock($1)")
                .bind::<BigInt, _>(MIGRATION_LOCK_ID)
                .execute(c)?;
            let result = apply(c, POSTGRES);
            diesel::sql_query("SELECT pg_advisory_unlock($1)")
                .bind::<BigInt, _>(MIGRATION_LOCK_ID)
                .execute(c)?;
            result
        }
    }
}

fn apply<C>(conn: &mut C, set: EmbeddedMigrations) -> anyhow::Result<usize>
where
    C: MigrationHarness<C::Backend> + diesel::Connection,
{
    let applied = conn
        .run_pending_migrations(set)
        .map_err(|e| anyhow::anyhow!("migration failed: {e}"))?;
    Ok(applied.len())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::Path;

    fn names(backend: &str) -> BTreeSet<String> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../migrations")
            .join(backend);
        std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.path().is_dir())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn both_backends_have_the_same_migrations() {
        let sqlite = names("sqlite");
        let postgres = names("postgres");
        assert!(!sqlite.is_empty());
        assert_eq!(sqlite, postgres);
        for name in &sqlite {
            for backend in ["sqlite", "postgres"] {
                for file in ["up.sql", "down.sql"] {
                    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
                        .join("../migrations")
                        .join(backend)
                        .join(name)
                        .join(file);
                    assert!(p.is_file(), "{} is missing", p.display());
                }
            }
        }
    }
}
