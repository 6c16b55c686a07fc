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

    /// The last migration from before the concurrent-index rule. Those are
    /// applied on deployed databases and Diesel records versions only, so
    /// changing them would change nothing there; and none would gain: their
    /// indexes are on tables created in the same migration (empty), or
    /// beside a statement that rewrites the table under an exclusive lock
    /// anyway (a column's type, a STORED column), or paired with a DROP
    /// INDEX in one migration, which a concurrent build cannot share.
    const BEFORE_THE_RULE: &str = "2026-12-08-000020";

    /// What is wrong with PostgreSQL migration `version` (`up` its up.sql,
    /// `metadata` its metadata.toml) under the rule (ARCHITECTURE.md, `migrations/`;
    /// "Rule"): an index on a table that exists before the migration
    /// is built `CONCURRENTLY` (writes go on while it builds), and such a
    /// statement is alone in its migration — PostgreSQL runs several
    /// statements sent at once in one implicit transaction, which
    /// `CONCURRENTLY` refuses — with `run_in_transaction = false`.
    fn index_problems(version: &str, up: &str, metadata: Option<&str>) -> Vec<String> {
        let code: String = up
            .lines()
            .map(|l| l.split("--").next().unwrap_or(""))
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase();
        let statements: Vec<Vec<&str>> = code
            .split(';')
            .map(|s| s.split_whitespace().collect::<Vec<_>>())
            .filter(|words| !words.is_empty())
            .collect();
        let created: BTreeSet<String> = statements
            .iter()
            .filter(|w| w.starts_with(&["create", "table"]))
            .filter_map(|w| {
                w.iter()
                    .skip(2)
                    .find(|x| !matches!(**x, "if" | "not" | "exists"))
                    .map(|t| t.split('(').next().unwrap_or(t).to_owned())
            })
            .collect();
        let mut problems = Vec::new();
        let concurrent = statements.iter().any(|w| w.contains(&"concurrently"));
        for words in &statements {
            let is_index = words.starts_with(&["create", "index"])
                || words.starts_with(&["create", "unique", "index"]);
            if !is_index {
                continue;
            }
            let table = words
                .iter()
                .position(|w| *w == "on")
                .and_then(|i| words.get(i + 1))
                .map(|t| t.split('(').next().unwrap_or(t).to_owned())
                .unwrap_or_default();
            if created.contains(&table) || version <= BEFORE_THE_RULE {
                continue;
            }
            if !words.contains(&"concurrently") {
                problems.push(format!(
                    "{version}: the index on `{table}` is not built CONCURRENTLY"
                ));
            }
        }
        if concurrent {
            if statements.len() != 1 {
                problems.push(format!(
                    "{version}: a CONCURRENTLY statement must be alone in its migration"
                ));
            }
            let outside = metadata.is_some_and(|m| {
                m.lines()
                    .any(|l| l.split_whitespace().collect::<String>() == "run_in_transaction=false")
            });
            if !outside {
                problems.push(format!(
                    "{version}: metadata.toml must say run_in_transaction = false"
                ));
            }
        }
        problems
    }

    #[test]
    fn new_postgres_indexes_on_existing_tables_are_built_concurrently() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations/postgres");
        let mut problems = Vec::new();
        for name in names("postgres") {
            let version = name.split('_').next().unwrap_or_default().to_owned();
            let up = std::fs::read_to_string(dir.join(&name).join("up.sql")).unwrap();
            let metadata = std::fs::read_to_string(dir.join(&name).join("metadata.toml")).ok();
            problems.extend(index_problems(&version, &up, metadata.as_deref()));
        }
        assert!(problems.is_empty(), "{problems:#?}");

        // The check itself: what it refuses and what it accepts.
        let later = "2027-01-01-000030";
        let plain = "CREATE INDEX users_created ON users (created_at);";
        assert_eq!(index_problems(later, plain, None).len(), 1);
        assert!(index_problems(BEFORE_THE_RULE, plain, None).is_empty());
        let fresh =
            "CREATE TABLE things (id TEXT PRIMARY KEY);\nCREATE INDEX things_id ON things (id);";
        assert!(
            index_problems(later, fresh, None).is_empty(),
            "an index on a new table"
        );
        let concurrent =
            "-- why\nCREATE INDEX CONCURRENTLY IF NOT EXISTS users_created ON users (created_at);";
        let outside = Some("run_in_transaction = false\n");
        assert!(index_problems(later, concurrent, outside).is_empty());
        assert_eq!(
            index_problems(later, concurrent, None).len(),
            1,
            "no metadata"
        );
        let two = format!("{concurrent}\nDROP INDEX users_old;");
        assert_eq!(index_problems(later, &two, outside).len(), 1, "not alone");
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
