//! `backend backup`, and what `backend restore` (`services::restore`)
//! shares with it: the manifest, the file's digest, the description of a
//! copy.
//!
//! A backup is a consistent copy taken while the server runs (`VACUUM INTO`
//! reads one snapshot, never blocking writers under WAL) and a manifest
//! beside it, `<FILE>.manifest.json`, computed from the copy itself: schema
//! version, rows per field key id per encrypted column, the audit chain's
//! verified head, when, which app version, and the file's SHA-256 and size.
//!
//! PostgreSQL: `backup` runs `pg_dump` (custom format, the app's schema) in
//! the snapshot the manifest is computed in; the manifest names the schema
//! (`pg_schema`), which `restore --into` recreates.

use crate::db::connection::Target;
use crate::db::{migrations, DbConn};
use crate::services::audit_verify::{verify_chain, BATCH};
use crate::services::key_rotation::ENCRYPTED_COLUMNS;
use anyhow::{bail, Context};
use diesel::connection::SimpleConnection;
use diesel::{Connection, RunQueryDsl};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The manifest's name for values under their user's data key (`v2`;
/// the wrapped keys are counted per field key under
/// `user_data_keys.wrapped`).
pub const UNDER_USER_KEYS: &str = "(under users' data keys)";
/// The manifest's name for values in no known format.
const NO_FORMAT: &str = "(not in a known format)";

/// Names this manifest format.
pub const FORMAT: &str = "secure-reference-app-backup/1";

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct AuditHead {
    /// The newest chained entry's id (ids are consecutive: the count).
    pub id: i64,
    pub hash: String,
}

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Manifest {
    pub format: String,
    pub engine: String,
    pub app_version: String,
    /// RFC 3339.
    pub created_at: String,
    /// The newest migration applied in the copy.
    pub schema_version: Option<String>,
    /// `table.column` -> key id -> rows (`user_data_keys.wrapped`: the
    /// users' data keys per field key that wraps them).
    pub field_key_ids: BTreeMap<String, BTreeMap<String, i64>>,
    pub audit_head: Option<AuditHead>,
    pub audit_entries_verified: u64,
    pub bytes: u64,
    pub sha256: String,
    /// PostgreSQL: the schema the dump holds (absent in older manifests:
    /// `public`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pg_schema: Option<String>,
}

/// `<file>.manifest.json`.
pub fn manifest_path(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".manifest.json");
    PathBuf::from(name)
}

/// The password out of a PostgreSQL URL, for `PGPASSWORD`: a password in
/// `pg_dump`'s arguments would show in the process list.
pub(crate) fn split_password(url: &str) -> (String, Option<String>) {
    let Some((scheme, rest)) = url.split_once("://") else {
        return (url.to_owned(), None);
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let Some((userinfo, host)) = authority.rsplit_once('@') else {
        return (url.to_owned(), None);
    };
    match userinfo.split_once(':') {
        Some((user, password)) => (
            format!("{scheme}://{user}@{host}{tail}"),
            Some(crate::security::percent::decode(password)),
        ),
        None => (url.to_owned(), None),
    }
}

/// PostgreSQL: `pg_dump` (custom format) of the app's schema, taken in the
/// snapshot the manifest is computed in (`pg_export_snapshot`), so both
/// describe the same instant while the app writes.
fn backup_postgres(url: &str, tmp: &TempFile) -> anyhow::Result<Manifest> {
    #[derive(diesel::QueryableByName)]
    struct Text {
        #[diesel(sql_type = diesel::sql_types::Text)]
        value: String,
    }
    crate::db::connection::prepare_libpq();
    let mut conn = DbConn::Postgres(
        diesel::PgConnection::establish(url).context("cannot connect to DATABASE_URL")?,
    );
    conn.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;")?;
    let one = |conn: &mut DbConn, sql: &str| -> anyhow::Result<String> {
        let rows: Vec<Text> = diesel::sql_query(sql).load(conn)?;
        rows.into_iter()
            .next()
            .map(|r| r.value)
            .context("no answer")
    };
    let snapshot = one(&mut conn, "SELECT pg_export_snapshot() AS value")?;
    let schema = one(&mut conn, "SELECT current_schema()::text AS value")?;
    let mut manifest = describe(&mut conn).context("the snapshot cannot be described")?;
    manifest.engine = "postgres".into();
    manifest.pg_schema = Some(schema.clone());
    let (url, password) = split_password(url);
    let mut dump = std::process::Command::new("pg_dump");
    dump.arg("--format=custom")
        .arg("--no-owner")
        .arg("--no-privileges")
        .arg(format!("--snapshot={snapshot}"))
        .arg(format!("--schema={schema}"))
        .arg(format!("--file={}", tmp.path().display()))
        .arg(format!("--dbname={url}"));
    if let Some(p) = password {
        dump.env("PGPASSWORD", p);
    }
    let out = dump
        .output()
        .context("cannot run pg_dump (is it on PATH? the PostgreSQL client package)")?;
    conn.batch_execute("COMMIT;")?;
    if !out.status.success() {
        bail!(
            "pg_dump failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(manifest)
}

pub(crate) fn sqlite_path(database_url: &str, what: &str) -> anyhow::Result<PathBuf> {
    match Target::parse(database_url)? {
        Target::Sqlite(path) => Ok(PathBuf::from(path)),
        Target::Postgres(_) => bail!(
            "`backend {what}` without --into replaces a SQLite database; with PostgreSQL, \
             restore into an empty database: `backend {what} --from FILE --into URL` \
             (docs/operations.md, \"Backup and restore\")"
        ),
    }
}

pub(crate) fn open(path: &Path) -> anyhow::Result<DbConn> {
    let url = path
        .to_str()
        .context("the database path is not valid UTF-8")?;
    let mut conn = diesel::SqliteConnection::establish(url)
        .with_context(|| format!("cannot open {}", path.display()))?;
    conn.batch_execute("PRAGMA busy_timeout = 5000;")?;
    Ok(DbConn::Sqlite(conn))
}

pub(crate) fn sha256_of(path: &Path) -> anyhow::Result<(String, u64)> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let bytes = std::io::copy(&mut file, &mut hasher)?;
    Ok((hex::encode(hasher.finalize()), bytes))
}

/// `PRAGMA integrity_check` says `ok`.
pub(crate) fn intact(conn: &mut DbConn) -> anyhow::Result<()> {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        integrity_check: String,
    }
    let rows: Vec<Row> = diesel::sql_query("PRAGMA integrity_check").load(conn)?;
    match rows.first() {
        Some(r) if r.integrity_check == "ok" && rows.len() == 1 => Ok(()),
        _ => bail!("SQLite finds the file damaged (integrity_check failed)"),
    }
}

/// What a database file holds, for the manifest (the chain is verified).
pub(crate) fn describe(conn: &mut DbConn) -> anyhow::Result<Manifest> {
    let mut field_key_ids = BTreeMap::new();
    for column in ENCRYPTED_COLUMNS {
        let rows = column.rows_by_key_id(conn)?;
        let v2 = column.rows_under_user_keys(conn)?;
        let mut per_kid: BTreeMap<String, i64> = BTreeMap::new();
        for (kid, n) in rows {
            match kid {
                Some(kid) => {
                    per_kid.insert(kid, n);
                }
                None if n > v2 => {
                    per_kid.insert(NO_FORMAT.into(), n - v2);
                }
                None => {}
            }
        }
        if v2 > 0 {
            per_kid.insert(UNDER_USER_KEYS.into(), v2);
        }
        field_key_ids.insert(column.name(), per_kid);
    }
    let chain = verify_chain(conn, BATCH).map_err(|e| anyhow::anyhow!("{e}"))?;
    if let Some(broken) = &chain.first_broken {
        bail!(
            "its audit log is broken at entry #{}: {}",
            broken.id,
            broken.problem.describe()
        );
    }
    Ok(Manifest {
        format: FORMAT.into(),
        engine: "sqlite".into(),
        app_version: env!("CARGO_PKG_VERSION").into(),
        created_at: chrono::Utc::now().to_rfc3339(),
        schema_version: migrations::last_applied(conn)?,
        field_key_ids,
        audit_head: chain.head.map(|(id, hash)| AuditHead { id, hash }),
        audit_entries_verified: chain.checked,
        bytes: 0,
        sha256: String::new(),
        pg_schema: None,
    })
}

/// Writes `bytes` to `path` through a temporary file and a rename.
fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let tmp = with_suffix(path, ".tmp");
    std::fs::write(&tmp, bytes)?;
    std::fs::File::open(&tmp)?.sync_all()?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}

pub(crate) fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Removes a temporary file unless it was moved into place.
pub(crate) struct TempFile(pub(crate) Option<PathBuf>);

impl TempFile {
    pub(crate) fn path(&self) -> &Path {
        self.0.as_deref().unwrap_or(Path::new(""))
    }
    pub(crate) fn keep(mut self) {
        self.0 = None;
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// `backend backup --to FILE`: refuses an existing FILE; the copy and its
/// manifest appear only once complete.
pub fn backup(database_url: &str, to: &Path) -> anyhow::Result<Manifest> {
    let manifest_file = manifest_path(to);
    if to.exists() || manifest_file.exists() {
        bail!(
            "{} (or its manifest) exists already; choose a new name",
            to.display()
        );
    }
    let tmp = TempFile(Some(with_suffix(to, ".partial")));
    let _ = std::fs::remove_file(tmp.path());
    let mut manifest = match Target::parse(database_url)? {
        Target::Postgres(url) => backup_postgres(&url, &tmp)?,
        Target::Sqlite(source) => {
            let mut conn = open(Path::new(&source))?;
            let target = tmp.path().to_str().context("the path is not valid UTF-8")?;
            diesel::sql_query("VACUUM INTO ?")
                .bind::<diesel::sql_types::Text, _>(target)
                .execute(&mut conn)
                .context("the snapshot failed")?;
            let mut copy = open(tmp.path())?;
            describe(&mut copy).context("the snapshot cannot be described")?
        }
    };
    std::fs::File::open(tmp.path())?.sync_all()?;
    let (sha256, bytes) = sha256_of(tmp.path())?;
    manifest.sha256 = sha256;
    manifest.bytes = bytes;
    std::fs::rename(tmp.path(), to)?;
    tmp.keep();
    write_atomically(&manifest_file, &serde_json::to_vec_pretty(&manifest)?)?;
    Ok(manifest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_leaves_the_url_for_pgpassword() {
        assert_eq!(
            split_password("postgres://app:s%40cret:x@db:5432/app?sslmode=require"),
            (
                "postgres://app@db:5432/app?sslmode=require".to_owned(),
                Some("s@cret:x".to_owned())
            )
        );
        let plain = "postgres://postgres@127.0.0.1:5432/test?options=-csearch_path%3Dt_1";
        assert_eq!(split_password(plain), (plain.to_owned(), None));
        // A bad escape stays literal. (The URL is built from parts: a
        // literal user:password URL is what secret scanners look for.)
        let bad_escape = format!("postgres://u:{}@h/d", "a%2");
        assert_eq!(split_password(&bad_escape).1.as_deref(), Some("a%2"));
    }
}
