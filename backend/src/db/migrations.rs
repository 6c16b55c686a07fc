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

/// The newest migration applied (its version), if any: the schema version
/// a backup's manifest names. A plain read (diesel's `applied_migrations`
/// would create its table, which a read-only snapshot refuses).
pub fn last_applied(conn: &mut DbConn) -> anyhow::Result<Option<String>> {
    #[derive(diesel::QueryableByName)]
    struct Version {
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
        version: Option<String>,
    }
    let rows: Vec<Version> =
        diesel::sql_query("SELECT MAX(version) AS version FROM __diesel_schema_migrations")
            .load(conn)
            .map_err(|e| anyhow::anyhow!("cannot read the applied migrations: {e}"))?;
    Ok(rows.into_iter().next().and_then(|r| r.version))
}

/// Least privilege for the app's own role (PostgreSQL; run as the schema
/// owner after migrating, when `DATABASE_MIGRATION_URL` names the owner):
/// `role` may read and change the app's tables, but on `audit_log` only
/// INSERT and SELECT, and it owns nothing, so it can neither drop nor
/// disable the append-only triggers (ALTER TABLE needs the owner). What
/// Keycloak and the OWASP ASVS 5.0 (13.2.2, 16.4.2) ask: the application's
/// account has the least privilege it needs; the log is protected from it.
/// Idempotent: run at every start, so tables added by later migrations are
/// granted too.
pub fn grant_app_role(conn: &mut DbConn, role: &str) -> anyhow::Result<()> {
    use diesel::connection::SimpleConnection;
    let DbConn::Postgres(c) = conn else {
        return Ok(());
    };
    #[derive(diesel::QueryableByName)]
    struct Owner {
        #[diesel(sql_type = diesel::sql_types::Text)]
        owner: String,
    }
    let me: Owner = diesel::sql_query("SELECT current_user::text AS owner").get_result(c)?;
    if me.owner == role {
        // One role for both: nothing to separate (development, tests).
        return Ok(());
    }
    #[derive(diesel::QueryableByName)]
    struct Grants {
        #[diesel(sql_type = diesel::sql_types::Text)]
        sql: String,
    }
    // Identifiers cannot be bound parameters: PostgreSQL's format() quotes
    // them (%I), so no SQL text is built from a value on our side.
    let grants: Grants = diesel::sql_query(
        "SELECT format('GRANT USAGE ON SCHEMA %1$I TO %2$I; \
         GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %1$I TO %2$I; \
         GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA %1$I TO %2$I; \
         REVOKE ALL ON audit_log FROM %2$I; \
         GRANT SELECT, INSERT ON audit_log TO %2$I; \
         REVOKE ALL ON __diesel_schema_migrations FROM %2$I; \
         GRANT SELECT ON __diesel_schema_migrations TO %2$I;', current_schema(), $1) AS sql",
    )
    .bind::<diesel::sql_types::Text, _>(role)
    .get_result(c)?;
    c.batch_execute(&grants.sql)?;
    Ok(())
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
