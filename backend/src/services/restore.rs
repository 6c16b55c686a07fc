//! `backend restore --from FILE`: a backup put back, only once it is known
//! good.
//!
//! Every check runs on a copy before anything the app uses changes: the
//! file is the one its manifest describes (not truncated, not damaged); the
//! configured keys decrypt every encrypted row (`field_keys::check`) —
//! `FIELD_KEYS`, or with `KEY_PROVIDER=pkcs11` the backup's own
//! `field_data_keys` unwrapped through the token (a KEK the token no longer
//! holds is named); its audit chain verifies, is the manifest's, and is not
//! another history than the newest signed anchor's (an older one is
//! reported: the entries it drops).
//!
//! SQLite: the copy sits beside the database and replaces it with one
//! rename, so the database is the old one or the restored one, never half
//! of each. PostgreSQL (`--into URL`): `pg_restore` (one transaction) into
//! an empty database or schema, never the live one; the checks run there
//! (a copy that fails them is left there, named, for the operator to
//! drop), and the operator then points `DATABASE_URL` at it.

use crate::db::connection::Target;
use crate::db::DbConn;
use crate::key_provider::pkcs11::Token;
use crate::security::audit_anchor::{AnchorClaims, Standing};
use crate::security::field_crypto::FieldKeys;
use crate::security::signing_keys::KeySet;
use crate::services::backup::{
    describe, intact, manifest_path, open, sha256_of, split_password, sqlite_path, with_suffix,
    Manifest, TempFile, FORMAT,
};
use crate::services::{audit_anchor, data_keys, field_keys};
use anyhow::{bail, Context};
use diesel::connection::SimpleConnection;
use diesel::{Connection, RunQueryDsl};
use std::path::{Path, PathBuf};

/// Where the keys that must decrypt the backup come from.
pub enum BackupKeys<'a> {
    /// `FIELD_KEYS` (files mode).
    Files(&'a FieldKeys),
    /// `KEY_PROVIDER=pkcs11`: the backup's `field_data_keys`, unwrapped
    /// through this token.
    Token(&'a Token),
}

/// What a restore did.
#[derive(Debug)]
pub struct Restored {
    pub manifest: Manifest,
    /// The newest anchor before the restore, and where the backup stands
    /// against it.
    pub against_anchor: Option<(AnchorClaims, Standing)>,
    /// SQLite: where the database it replaced was kept.
    pub previous_kept_at: Option<PathBuf>,
    /// PostgreSQL: the `DATABASE_URL` to point the app at (no password).
    pub point_at: Option<String>,
}

/// The manifest beside `from`, and `from` is the file it describes.
fn checked_manifest(from: &Path) -> anyhow::Result<Manifest> {
    let manifest: Manifest =
        serde_json::from_slice(&std::fs::read(manifest_path(from)).with_context(|| {
            format!(
                "cannot read the manifest {} (it is written beside the backup)",
                manifest_path(from).display()
            )
        })?)
        .context("the manifest is not a backup manifest")?;
    if manifest.format != FORMAT {
        bail!(
            "the manifest's format is {:?}, not {FORMAT}",
            manifest.format
        );
    }
    let (sha256, bytes) =
        sha256_of(from).with_context(|| format!("cannot read {}", from.display()))?;
    if sha256 != manifest.sha256 || bytes != manifest.bytes {
        bail!(
            "{} is not the file its manifest describes ({bytes} bytes, manifest says {}): \
             truncated or damaged; nothing was changed",
            from.display(),
            manifest.bytes
        );
    }
    Ok(manifest)
}

/// The checks on the restored copy `conn` (a private copy: it may be
/// changed). The newest anchor and where the copy stands against it.
fn check_copy(
    conn: &mut DbConn,
    manifest: &Manifest,
    keys: &BackupKeys<'_>,
    signing: &KeySet,
    data_dir: &Path,
) -> anyhow::Result<Option<(AnchorClaims, Standing)>> {
    let unwrapped;
    let (keys, named) = match keys {
        BackupKeys::Files(k) => (*k, "FIELD_KEYS"),
        BackupKeys::Token(token) => {
            let found = data_keys::unwrap_all(conn, token).map_err(|e| {
                anyhow::anyhow!(
                    "the backup's field data keys do not unwrap through the token: {e:#}; \
                     nothing was changed"
                )
            })?;
            if found.is_empty() {
                bail!(
                    "the backup holds no field data key (field_data_keys is empty: taken with \
                     KEY_PROVIDER=files?); restore it with the FIELD_KEYS of its time, then \
                     `backend hsm-init` imports them. Nothing was changed"
                );
            }
            unwrapped = FieldKeys::from_keys(found).map_err(|e| anyhow::anyhow!("{e}"))?;
            (&unwrapped, "the backup's field data keys")
        }
    };
    let problems = field_keys::check(conn, keys).map_err(|e| anyhow::anyhow!("{e}"))?;
    if !problems.is_empty() {
        let list: Vec<String> = problems.iter().map(|p| format!("  - {p}")).collect();
        bail!(
            "{named} cannot decrypt the backup; nothing was changed:\n{}",
            list.join("\n")
        );
    }
    // The instances the backup saw are gone; their rows would look live.
    conn.batch_execute("DELETE FROM app_instances;")?;
    let found = describe(conn)?;
    let head = |m: &Manifest| m.audit_head.as_ref().map(|h| (h.id, h.hash.clone()));
    if head(&found) != head(manifest) {
        bail!("the backup's audit head is not its manifest's; nothing was changed");
    }
    let Some(anchor) = audit_anchor::newest(signing, data_dir)? else {
        return Ok(None);
    };
    let h = found.audit_head.as_ref().map(|h| (h.id, h.hash.as_str()));
    let standing = audit_anchor::standing(conn, h, &anchor).map_err(|e| anyhow::anyhow!("{e}"))?;
    if standing == Standing::Diverged {
        audit_anchor::refuse_unless_covered(&standing, &anchor)
            .context("not restoring a backup of another history")?;
    }
    Ok(Some((anchor, standing)))
}

/// The restore accepts the backup's head: anchor it, naming what it
/// dropped, so later checks hold the chain against it.
fn anchor_restored(
    manifest: &Manifest,
    against_anchor: &Option<(AnchorClaims, Standing)>,
    signing: &KeySet,
    data_dir: &Path,
) -> anyhow::Result<()> {
    if let Some(h) = &manifest.audit_head {
        let dropped = match against_anchor {
            Some((_, Standing::Behind { missing, .. })) => Some(*missing),
            _ => None,
        };
        audit_anchor::write(signing, data_dir, (h.id, &h.hash), "restore", dropped)?;
    }
    Ok(())
}

/// `backend restore --from FILE` (SQLite). Every check runs on a private
/// copy; the database is replaced only when all pass.
pub fn restore(
    database_url: &str,
    from: &Path,
    force: bool,
    keys: &BackupKeys<'_>,
    signing: &KeySet,
    data_dir: &Path,
) -> anyhow::Result<Restored> {
    let target = sqlite_path(database_url, "restore")?;
    let manifest = checked_manifest(from)?;
    if manifest.engine != "sqlite" {
        bail!(
            "this is a {} backup: restore it with --into (docs/operations.md, \"Backup and restore\"); \
             nothing was changed",
            manifest.engine
        );
    }

    // The database in place: a server on it is never replaced under its
    // feet; an idle one only when told.
    let in_place = target.exists();
    if in_place {
        let mut conn = open(&target)?;
        refuse_while_served(&mut conn, &target.display().to_string())?;
        if !force {
            bail!(
                "{} exists: restoring replaces it (it is kept beside it as *.before-restore-*); \
                 pass --force to go ahead. Nothing was changed",
                target.display()
            );
        }
    }

    let dir = target
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp = TempFile(Some(with_suffix(
        &target,
        &format!(".restoring-{}", uuid::Uuid::new_v4().simple()),
    )));
    std::fs::copy(from, tmp.path())?;
    std::fs::File::open(tmp.path())?.sync_all()?;

    let against_anchor = {
        let mut conn = open(tmp.path())?;
        intact(&mut conn)?;
        check_copy(&mut conn, &manifest, keys, signing, data_dir)?
    };

    let previous_kept_at = if in_place {
        Some(set_aside(&target)?)
    } else {
        None
    };
    std::fs::rename(tmp.path(), &target)?;
    tmp.keep();
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    anchor_restored(&manifest, &against_anchor, signing, data_dir)?;
    Ok(Restored {
        manifest,
        against_anchor,
        previous_kept_at,
        point_at: None,
    })
}

/// Refuses while a server has beaten its heartbeat on `conn`'s database.
fn refuse_while_served(conn: &mut DbConn, what: &str) -> anyhow::Result<()> {
    let now = chrono::Utc::now().naive_utc();
    // A database without `app_instances` (never migrated) has no server.
    let live =
        crate::db::models::instance::AppInstance::live_since(conn, now - field_keys::LIVE_WITHIN)
            .unwrap_or_default();
    if !live.is_empty() {
        let names: Vec<String> = live.iter().map(|i| i.label.clone()).collect();
        bail!(
            "{} server(s) are running on {what} ({}): stop every one first; nothing was changed",
            live.len(),
            names.join(", ")
        );
    }
    Ok(())
}

/// Folds the old database's WAL into it, keeps a copy beside it, and removes
/// its WAL files, which must never be replayed onto the restored file.
fn set_aside(target: &Path) -> anyhow::Result<PathBuf> {
    {
        let mut conn = open(target)?;
        conn.batch_execute("PRAGMA wal_checkpoint(TRUNCATE);")?;
    }
    let kept = with_suffix(
        target,
        &format!(
            ".before-restore-{}",
            chrono::Utc::now().format("%Y%m%dT%H%M%SZ")
        ),
    );
    std::fs::copy(target, &kept)?;
    for suffix in ["-wal", "-shm"] {
        match std::fs::remove_file(with_suffix(target, suffix)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
            _ => {}
        }
    }
    Ok(kept)
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// Tables in `schema` of the database `conn` is on.
fn tables_in(conn: &mut DbConn, schema: &str) -> anyhow::Result<i64> {
    let rows: Vec<Count> = diesel::sql_query(
        "SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = $1",
    )
    .bind::<diesel::sql_types::Text, _>(schema)
    .load(conn)?;
    Ok(rows.first().map_or(0, |r| r.n))
}

fn schema_exists(conn: &mut DbConn, schema: &str) -> anyhow::Result<bool> {
    let rows: Vec<Count> = diesel::sql_query(
        "SELECT count(*) AS n FROM information_schema.schemata WHERE schema_name = $1",
    )
    .bind::<diesel::sql_types::Text, _>(schema)
    .load(conn)?;
    Ok(rows.first().is_some_and(|r| r.n > 0))
}

/// `url` with its `search_path` set to `schema` (`into` names none).
fn with_search_path(url: &str, schema: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}options=-csearch_path%3D{schema}")
}

fn pg_connect(url: &str, what: &str) -> anyhow::Result<DbConn> {
    crate::db::connection::prepare_libpq();
    Ok(DbConn::Postgres(
        diesel::PgConnection::establish(url)
            .with_context(|| format!("cannot connect to {what}"))?,
    ))
}

/// `backend restore --from FILE --into URL` (PostgreSQL): the dump restored
/// into `into` — an empty database, or one without the dump's schema — in
/// one transaction, then checked there. The database `database_url` names
/// is only read (are servers still on it?), never written.
pub fn restore_into_postgres(
    database_url: &str,
    into: &str,
    from: &Path,
    keys: &BackupKeys<'_>,
    signing: &KeySet,
    data_dir: &Path,
) -> anyhow::Result<Restored> {
    let manifest = checked_manifest(from)?;
    if manifest.engine != "postgres" {
        bail!(
            "this is a {} backup: restore it without --into; nothing was changed",
            manifest.engine
        );
    }
    if !matches!(Target::parse(into)?, Target::Postgres(_)) {
        bail!("--into takes a postgres:// URL; nothing was changed");
    }
    if into.contains("search_path") {
        bail!(
            "--into names a search_path: give the database only (the dump's schema, {}, is \
             created there); nothing was changed",
            manifest.pg_schema.as_deref().unwrap_or("public")
        );
    }
    let schema = manifest
        .pg_schema
        .clone()
        .unwrap_or_else(|| "public".into());
    // It goes into a URL and pg_restore's arguments: a plain name only.
    let plain = schema.len() <= 63
        && schema.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && schema
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !plain {
        bail!("the manifest names the schema {schema:?}, not a plain name; nothing was changed");
    }
    // Servers still writing the live database would anchor past the
    // restored head: stop them first. A live database that cannot be
    // reached (lost) has none.
    if let Ok(Target::Postgres(live)) = Target::parse(database_url) {
        if let Ok(mut conn) = pg_connect(&live, "DATABASE_URL") {
            refuse_while_served(&mut conn, "DATABASE_URL")?;
        }
    }
    let mut target = pg_connect(into, "the --into database")?;
    let existed = schema_exists(&mut target, &schema)?;
    if tables_in(&mut target, &schema)? > 0 {
        bail!(
            "the schema {schema} in the --into database holds tables already (the live \
             database, or an earlier restore?): restore into an empty database; nothing was \
             changed"
        );
    }
    drop(target);

    let (url, password) = split_password(into);
    let mut run = std::process::Command::new("pg_restore");
    run.arg("--no-owner")
        .arg("--no-privileges")
        .arg("--single-transaction")
        .arg("--exit-on-error")
        .arg(format!("--dbname={url}"))
        .arg(from);
    if existed {
        // `public` (or a schema made beforehand) exists: its CREATE would fail.
        run.arg(format!("--schema={schema}"));
    }
    if let Some(p) = password {
        run.env("PGPASSWORD", p);
    }
    let out = run
        .output()
        .context("cannot run pg_restore (is it on PATH? the PostgreSQL client package)")?;
    if !out.status.success() {
        bail!(
            "pg_restore failed (its one transaction rolled back: nothing was changed): {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }

    let restored_url = with_search_path(into, &schema);
    let checked = pg_connect(&restored_url, "the restored database")
        .and_then(|mut conn| check_copy(&mut conn, &manifest, keys, signing, data_dir));
    // A copy that fails is left for the operator to drop (dropping it
    // here would take SQL built from a name): it is not the live database.
    let against_anchor = checked.with_context(|| {
        format!(
            "the copy restored into schema {schema} of the --into database failed its checks: \
             drop it (DROP SCHEMA {schema} CASCADE, or the whole database); the live database \
             was not changed"
        )
    })?;
    anchor_restored(&manifest, &against_anchor, signing, data_dir)?;
    Ok(Restored {
        manifest,
        against_anchor,
        previous_kept_at: None,
        point_at: Some(split_password(&restored_url).0),
    })
}
