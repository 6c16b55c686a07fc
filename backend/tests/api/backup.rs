//! Backups and restore, drilled with the real binary as an operator would
//! follow docs/operations.md's "Backup and restore": a backup while the server
//! runs, more writes, the operator's plausible mistakes (refused, nothing
//! changed), the restore, and afterwards every value decrypts, the audit
//! chain verifies and the entries the restore dropped are named. And the
//! audit anchor: a cut tail or an older database put back by hand is caught
//! by `verify-audit`, and a changed anchor is refused.
//!
//! The drill runs on SQLite whatever `TEST_DATABASE_URL` says: `restore`
//! without `--into` replaces a SQLite file. With `TEST_DATABASE_URL`, the
//! PostgreSQL backup (pg_dump in the manifest's snapshot) and docs/operations.md's
//! PostgreSQL restore (`--into` an empty database) are drilled too.

use crate::helpers::{start_binary, stop_binary, test_client, wait_until_ready, PASSWORD};
use crate::key_rotation::{conn, insert_ssns, insert_totp, insert_users, mfa, open, ssn};
use crate::key_rotation::{stored_ssns, stored_totp};
use backend::db::connection::build_pool;
use backend::security::field_crypto::FieldKeys;
use std::path::{Path, PathBuf};
use std::process::Command;

const KEY: &str = "k1:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
/// Another key under the same id: the wrong FIELD_KEYS.
const WRONG: &str = "k1:a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf";

fn sqlite_url(dir: &tempfile::TempDir) -> String {
    format!("sqlite://{}", dir.path().join("app.db").display())
}

/// Runs a `backend` command: (success, stdout, stderr).
fn backend(dir: &tempfile::TempDir, args: &[&str], field_keys: &str) -> (bool, String, String) {
    backend_on(dir, &sqlite_url(dir), args, field_keys)
}

fn backend_on(
    dir: &tempfile::TempDir,
    url: &str,
    args: &[&str],
    field_keys: &str,
) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_backend"))
        .args(args)
        .env_clear()
        .env("APP_DATA_DIR", dir.path())
        .env("DATABASE_URL", url)
        .env("FIELD_KEYS", field_keys)
        // A rotated signing key signs at once here (dev mode), so the
        // anchor test sees it; the publication delay has tests of its own.
        .env("SIGNING_KEY_PUBLICATION_SECS", "0")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn ok(dir: &tempfile::TempDir, args: &[&str]) -> String {
    let (success, out, err) = backend(dir, args, KEY);
    assert!(success, "{args:?} failed: {out}{err}");
    out + &err
}

fn refused(dir: &tempfile::TempDir, args: &[&str], field_keys: &str) -> String {
    let (success, out, err) = backend(dir, args, field_keys);
    assert!(!success, "{args:?} should have been refused: {out}{err}");
    out + &err
}

async fn register(addr: &str, username: &str) {
    let base = format!("http://{addr}");
    let r = test_client()
        .post(format!("{base}/api/v1/auth/register"))
        .header("Origin", &base)
        .json(&serde_json::json!({
            "email": format!("{username}@example.org"),
            "username": username,
            "password": PASSWORD,
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "registering {username}");
}

fn sha256(path: &Path) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(std::fs::read(path).unwrap()))
}

/// The database file's bytes, to show a refused restore changed nothing.
fn fingerprint(dir: &tempfile::TempDir) -> String {
    sha256(&dir.path().join("app.db"))
}

fn leftovers(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            name.contains(".restoring-") || name.ends_with(".partial")
        })
        .collect()
}

/// A copy of the backup and its manifest under another name.
fn copy_backup(from: &Path, to: &Path) {
    std::fs::copy(from, to).unwrap();
    std::fs::copy(
        backend::services::backup::manifest_path(from),
        backend::services::backup::manifest_path(to),
    )
    .unwrap();
}

#[tokio::test]
async fn the_restore_drill_loses_nothing_it_backed_up_and_names_what_it_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let backups = tempfile::tempdir().unwrap();
    let url = sqlite_url(&dir);
    let keys = FieldKeys::parse(KEY).unwrap();

    // A running deployment with audited changes, TOTP secrets and SSNs.
    let (server, addr) = start_binary(&dir, &url, &[("FIELD_KEYS", KEY)], false);
    wait_until_ready(&format!("http://{addr}")).await;
    register(&addr, "alice").await;
    let pool = build_pool(&url, 2).unwrap();
    let (totp, ssns) = {
        let mut c = conn(&pool);
        let ids = insert_users(&mut c, 5);
        (
            insert_totp(&mut c, &keys, &ids),
            insert_ssns(&mut c, &keys, &ids[..2]),
        )
    };
    ok(&dir, &["anchor-audit"]);

    // The backup, taken while the server runs.
    let file = backups.path().join("app-backup.db");
    let out = ok(&dir, &["backup", "--to", file.to_str().unwrap()]);
    assert!(out.contains("backup written"), "{out}");
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(backend::services::backup::manifest_path(&file)).unwrap(),
    )
    .unwrap();
    let head_at_backup = manifest["audit_head"]["id"].as_i64().unwrap();
    assert!(head_at_backup >= 1, "{manifest}");
    assert_eq!(manifest["field_key_ids"]["user_mfa.secret"]["k1"], 5);
    // The SSNs are under their users' data keys, which k1 wraps.
    assert_eq!(
        manifest["field_key_ids"]["user_ssn.ciphertext"]
            [backend::services::backup::UNDER_USER_KEYS],
        2
    );
    assert_eq!(manifest["field_key_ids"]["user_data_keys.wrapped"]["k1"], 2);
    assert!(manifest["schema_version"].as_str().is_some(), "{manifest}");
    assert_eq!(manifest["sha256"], sha256(&file));
    // Refuses to overwrite an existing backup.
    refused(&dir, &["backup", "--to", file.to_str().unwrap()], KEY);

    // Life goes on: an audited change, a new TOTP enrolment and SSN.
    register(&addr, "bob").await;
    {
        let mut c = conn(&pool);
        let later = vec!["u00099".to_owned()];
        diesel::RunQueryDsl::execute(
            diesel::sql_query(
                "INSERT INTO users (id, username, email, password_hash, created_at, updated_at) \
                 VALUES ('u00099', 'u00099', 'u00099@example.org', 'x', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
            ),
            &mut *c,
        )
        .unwrap();
        insert_totp(&mut c, &keys, &later);
        insert_ssns(&mut c, &keys, &later);
    }
    ok(&dir, &["anchor-audit"]);
    let newest_anchor = {
        let text = std::fs::read_to_string(dir.path().join("audit-anchors.jsonl")).unwrap();
        let last: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
        last["head_id"].as_i64().unwrap()
    };
    assert!(newest_anchor > head_at_backup);
    drop(pool);

    // Mistake: restoring over the running database (with or without --force).
    let before = fingerprint(&dir);
    let from = file.to_str().unwrap();
    let text = refused(&dir, &["restore", "--from", from], KEY);
    assert!(text.contains("running"), "{text}");
    let text = refused(&dir, &["restore", "--from", from, "--force"], KEY);
    assert!(text.contains("stop every one first"), "{text}");
    stop_binary(server);
    let before_stop = before;
    let before = fingerprint(&dir);

    // Mistake: an idle database, but no --force.
    let text = refused(&dir, &["restore", "--from", from], KEY);
    assert!(text.contains("--force"), "{text}");
    // Mistake: the wrong FIELD_KEYS (a new key under the old id).
    let text = refused(&dir, &["restore", "--from", from, "--force"], WRONG);
    assert!(
        text.contains("FIELD_KEYS cannot decrypt the backup"),
        "{text}"
    );
    assert!(
        text.contains("decrypts none of the user_data_keys.wrapped rows"),
        "the data keys are checked too: {text}"
    );
    assert!(
        !text.contains(&WRONG[3..15]),
        "key material printed: {text}"
    );
    // Mistake: a truncated backup, a damaged one, one without its manifest.
    let cut = backups.path().join("cut.db");
    copy_backup(&file, &cut);
    let bytes = std::fs::read(&cut).unwrap();
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let text = refused(
        &dir,
        &["restore", "--from", cut.to_str().unwrap(), "--force"],
        KEY,
    );
    assert!(text.contains("truncated or damaged"), "{text}");
    let damaged = backups.path().join("damaged.db");
    copy_backup(&file, &damaged);
    let mut bytes = std::fs::read(&damaged).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x55;
    std::fs::write(&damaged, &bytes).unwrap();
    let text = refused(
        &dir,
        &["restore", "--from", damaged.to_str().unwrap(), "--force"],
        KEY,
    );
    assert!(text.contains("truncated or damaged"), "{text}");
    let bare = backups.path().join("bare.db");
    std::fs::copy(&file, &bare).unwrap();
    let text = refused(
        &dir,
        &["restore", "--from", bare.to_str().unwrap(), "--force"],
        KEY,
    );
    assert!(text.contains("manifest"), "{text}");
    // None of it changed the database or left a file behind.
    assert_eq!(fingerprint(&dir), before);
    assert!(
        leftovers(dir.path()).is_empty(),
        "{:?}",
        leftovers(dir.path())
    );
    let _ = before_stop;

    // The restore.
    let out = ok(&dir, &["restore", "--from", from, "--force"]);
    let dropped = newest_anchor - head_at_backup;
    assert!(
        out.contains(&format!("covered {dropped} entr")),
        "the drift is named: {out}"
    );
    assert!(out.contains("kept at"), "{out}");
    assert!(leftovers(dir.path()).is_empty());

    // Everything it backed up decrypts; nothing written after it is there.
    let pool = build_pool(&url, 2).unwrap();
    {
        let mut c = conn(&pool);
        let stored = stored_totp(&mut c);
        assert_eq!(stored.len(), totp.len());
        for (id, value) in &stored {
            assert_eq!(open(&mut c, &keys, mfa(id), value), totp[id]);
        }
        let stored = stored_ssns(&mut c);
        assert_eq!(stored.len(), ssns.len());
        for (id, value) in &stored {
            assert_eq!(open(&mut c, &keys, ssn(id), value), ssns[id]);
        }
    }
    drop(pool);
    // The chain verifies, against the anchor the restore wrote, which names
    // what it dropped.
    let out = ok(&dir, &["verify-audit"]);
    assert!(out.contains("reaches its newest anchor"), "{out}");
    assert!(out.contains(&format!("dropped {dropped} entries")), "{out}");
    // And the server starts on it.
    let (server, addr) = start_binary(&dir, &url, &[("FIELD_KEYS", KEY)], false);
    wait_until_ready(&format!("http://{addr}")).await;
    register(&addr, "carol").await;
    stop_binary(server);
    ok(&dir, &["anchor-audit"]);
    ok(&dir, &["verify-audit"]);
}

#[tokio::test]
async fn a_cut_audit_tail_or_an_older_database_put_back_is_caught_by_its_anchor() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(&dir);
    let pool = build_pool(&url, 2).unwrap();
    backend::startup::migrations::migrate(&pool).await.unwrap();
    let record = |n: usize| {
        let pool = pool.clone();
        async move {
            for i in 0..n {
                backend::audit::record(
                    &pool,
                    None,
                    backend::audit::AuditEvent::new("test.event", backend::audit::Outcome::Success)
                        .detail(serde_json::json!({ "i": i })),
                )
                .await
                .unwrap();
            }
        }
    };
    record(3).await;
    // An older copy of the database, taken by hand (as a careless restore
    // or an attacker would put back).
    let db = dir.path().join("app.db");
    {
        let mut c = conn(&pool);
        diesel::connection::SimpleConnection::batch_execute(
            &mut *c,
            "PRAGMA wal_checkpoint(TRUNCATE);",
        )
        .unwrap();
    }
    let old_copy = std::fs::read(&db).unwrap();
    record(4).await;
    ok(&dir, &["anchor-audit"]);
    assert!(ok(&dir, &["verify-audit"]).contains("reaches its newest anchor"));
    drop(pool);

    // Put the older database back: an intact chain, only shorter.
    std::fs::write(&db, &old_copy).unwrap();
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(dir.path().join(format!("app.db{suffix}")));
    }
    let text = refused(&dir, &["verify-audit"], KEY);
    assert!(
        text.contains("4 entries short of its newest anchor"),
        "{text}"
    );
    // The shorter head is not anchored over the longer one.
    let text = refused(&dir, &["anchor-audit"], KEY);
    assert!(text.contains("short of its newest anchor"), "{text}");

    // Moving the anchor back by editing the file: its signature breaks.
    let anchors = dir.path().join("audit-anchors.jsonl");
    let text = std::fs::read_to_string(&anchors).unwrap();
    let mut line: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    let jws = line["jws"].as_str().unwrap().to_owned();
    let parts: Vec<&str> = jws.split('.').collect();
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut claims: serde_json::Value =
        serde_json::from_slice(&b64.decode(parts[1]).unwrap()).unwrap();
    claims["head_id"] = 3.into();
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        b64.encode(serde_json::to_vec(&claims).unwrap()),
        parts[2]
    );
    line["jws"] = forged.into();
    line["head_id"] = 3.into();
    std::fs::write(&anchors, format!("{text}{line}\n")).unwrap();
    let text = refused(&dir, &["verify-audit"], KEY);
    assert!(text.contains("signature does not verify"), "{text}");
}

#[tokio::test]
async fn a_postgresql_backup_is_a_pg_dump_of_the_schema_its_manifest_describes() {
    let dir = tempfile::tempdir().unwrap();
    let url = crate::helpers::fresh_database(&dir);
    if !url.starts_with("postgres") {
        return; // SQLite: the drill above.
    }
    let pool = build_pool(&url, 2).unwrap();
    backend::startup::migrations::migrate(&pool).await.unwrap();
    let keys = FieldKeys::parse(KEY).unwrap();
    {
        let mut c = conn(&pool);
        let ids = insert_users(&mut c, 3);
        insert_totp(&mut c, &keys, &ids);
    }
    for i in 0..3 {
        backend::audit::record(
            &pool,
            None,
            backend::audit::AuditEvent::new("test.event", backend::audit::Outcome::Success)
                .detail(serde_json::json!({ "i": i })),
        )
        .await
        .unwrap();
    }
    let file = dir.path().join("pg-backup.dump");
    let (success, out, err) =
        backend_on(&dir, &url, &["backup", "--to", file.to_str().unwrap()], KEY);
    assert!(success, "{out}{err}");
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(backend::services::backup::manifest_path(&file)).unwrap(),
    )
    .unwrap();
    assert_eq!(manifest["engine"], "postgres");
    assert_eq!(manifest["audit_head"]["id"], 3);
    assert_eq!(manifest["field_key_ids"]["user_mfa.secret"]["k1"], 3);
    assert_eq!(manifest["sha256"], sha256(&file));
    // pg_restore reads it, and it holds the audit log's rows.
    let list = Command::new("pg_restore")
        .arg("--list")
        .arg(&file)
        .output()
        .unwrap();
    assert!(list.status.success());
    let list = String::from_utf8_lossy(&list.stdout);
    assert!(
        list.contains("TABLE DATA") && list.contains("audit_log"),
        "{list}"
    );
    // `restore` without --into would replace a SQLite file: it says what
    // to do instead.
    let (success, out, err) = backend_on(
        &dir,
        &url,
        &["restore", "--from", file.to_str().unwrap(), "--force"],
        KEY,
    );
    assert!(!success && (out + &err).contains("--into URL"));
}

/// A database of its own on the test server, dropped at the end.
struct ScratchDatabase {
    admin: String,
    name: String,
    url: String,
}

impl ScratchDatabase {
    fn new(test_url: &str) -> Self {
        use diesel::connection::SimpleConnection;
        use diesel::Connection;
        let admin = test_url.split('?').next().unwrap().to_owned();
        let name = format!("restore_test_{}", uuid::Uuid::new_v4().simple());
        backend::db::connection::prepare_libpq();
        let mut c = diesel::PgConnection::establish(&admin).unwrap();
        c.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
        let url = format!("{}/{name}", admin.rsplit_once('/').unwrap().0);
        Self { admin, name, url }
    }

    fn execute(&self, sql: &str) {
        use diesel::connection::SimpleConnection;
        use diesel::Connection;
        let mut c = diesel::PgConnection::establish(&self.url).unwrap();
        c.batch_execute(sql).unwrap();
    }
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        use diesel::connection::SimpleConnection;
        use diesel::Connection;
        if let Ok(mut c) = diesel::PgConnection::establish(&self.admin) {
            let _ = c.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}

/// docs/operations.md's "Restoring (PostgreSQL)", step by step, with the mistakes:
/// restoring over the live database, the wrong FIELD_KEYS; and an older
/// dump than the newest anchor, whose dropped entries are named.
#[tokio::test]
async fn a_postgresql_dump_is_restored_into_an_empty_database_and_checked_there() {
    let dir = tempfile::tempdir().unwrap();
    let url = crate::helpers::fresh_database(&dir);
    if !url.starts_with("postgres") {
        return; // SQLite: the drill above.
    }
    let pool = build_pool(&url, 2).unwrap();
    backend::startup::migrations::migrate(&pool).await.unwrap();
    let keys = FieldKeys::parse(KEY).unwrap();
    let ids = {
        let mut c = conn(&pool);
        let ids = insert_users(&mut c, 3);
        insert_totp(&mut c, &keys, &ids);
        ids
    };
    let event = |i: i32| {
        backend::audit::AuditEvent::new("test.event", backend::audit::Outcome::Success)
            .detail(serde_json::json!({ "i": i }))
    };
    for i in 0..3 {
        backend::audit::record(&pool, None, event(i)).await.unwrap();
    }
    let run = |args: &[&str], keys: &str| backend_on(&dir, &url, args, keys);
    let file = dir.path().join("pg-backup.dump");
    let from = file.to_str().unwrap();
    let (success, out, err) = run(&["backup", "--to", from], KEY);
    assert!(success, "{out}{err}");
    // After the backup: two more entries, anchored.
    for i in 3..5 {
        backend::audit::record(&pool, None, event(i)).await.unwrap();
    }
    let (success, out, err) = run(&["anchor-audit"], KEY);
    assert!(success && out.contains("anchored #5"), "{out}{err}");

    // Mistake: a server still runs on the live database (its heartbeat):
    // refused, naming it.
    let now = chrono::Utc::now().naive_utc();
    backend::db::models::instance::AppInstance::beat(
        &mut conn(&pool),
        "i1",
        "web-1",
        "k1",
        "",
        now,
    )
    .unwrap();
    let scratch = ScratchDatabase::new(&std::env::var("TEST_DATABASE_URL").unwrap());
    let (success, out, err) = run(&["restore", "--from", from, "--into", &scratch.url], KEY);
    assert!(
        !success && err.contains("running on DATABASE_URL (web-1)"),
        "{out}{err}"
    );
    backend::db::models::instance::AppInstance::remove(&mut conn(&pool), "i1").unwrap();

    // Mistake: --into the live database. Its schema holds tables: refused.
    let live = std::env::var("TEST_DATABASE_URL").unwrap();
    let (success, out, err) = run(&["restore", "--from", from, "--into", &live], KEY);
    assert!(
        !success && err.contains("holds tables already"),
        "{out}{err}"
    );

    // Mistake: the wrong FIELD_KEYS. Refused, naming the copy to drop; the
    // live database is untouched.
    let (success, out, err) = run(&["restore", "--from", from, "--into", &scratch.url], WRONG);
    assert!(!success, "{out}{err}");
    assert!(
        err.contains("FIELD_KEYS cannot decrypt the backup") && err.contains("DROP SCHEMA"),
        "{err}"
    );
    let schema = url
        .split("search_path%3D")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap();
    scratch.execute(&format!("DROP SCHEMA {schema} CASCADE"));

    // The restore: checked, the dropped entries named, what to do next.
    let (success, out, err) = run(&["restore", "--from", from, "--into", &scratch.url], KEY);
    assert!(success, "{out}{err}");
    assert!(
        err.contains("WARNING: the newest audit anchor (#5")
            && err.contains("covered 2 entries")
            && err.contains("entries #4 to #5"),
        "{err}"
    );
    let restored = format!("{}?options=-csearch_path%3D{schema}", scratch.url);
    assert!(
        out.contains(&format!(
            "set DATABASE_URL (and DATABASE_MIGRATION_URL) to {restored}"
        )),
        "{out}"
    );

    // Pointed at it: the chain reaches the restore's anchor, the keys
    // decrypt it, and it holds the backup's rows.
    let on_restored = |args: &[&str]| backend_on(&dir, &restored, args, KEY);
    let (success, out, err) = on_restored(&["verify-audit"]);
    assert!(
        success && out.contains("reaches its newest anchor: #3"),
        "{out}{err}"
    );
    let (success, out, err) = on_restored(&["keys", "status"]);
    assert!(success, "{out}{err}");
    let restored_pool = build_pool(&restored, 1).unwrap();
    let rows = stored_totp(&mut conn(&restored_pool));
    assert_eq!(rows.len(), ids.len());
    assert_eq!(rows, stored_totp(&mut conn(&pool)));
    // The live database was never written: its chain still has five.
    let (success, out, err) = run(&["verify-audit"], KEY);
    assert!(
        success && out.contains("audit log intact: 5 entries checked"),
        "{out}{err}"
    );
    drop(restored_pool);
}

#[tokio::test]
async fn the_anchor_is_signed_again_under_a_new_signing_key_and_still_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let pool = build_pool(&sqlite_url(&dir), 1).unwrap();
    backend::startup::migrations::migrate(&pool).await.unwrap();
    backend::audit::record(
        &pool,
        None,
        backend::audit::AuditEvent::new("test.event", backend::audit::Outcome::Success),
    )
    .await
    .unwrap();
    drop(pool);
    assert!(ok(&dir, &["anchor-audit"]).contains("anchored #1"));
    assert!(ok(&dir, &["anchor-audit"]).contains("already anchored"));
    ok(&dir, &["rotate-signing-key"]);
    // Same head, new key: signed again, so removing the old key's file at a
    // later rotation cannot leave the newest anchor unverifiable. (A key made
    // in the same second as the one before it is dated a second later, and
    // signs from then: the publication delay is 0 here.)
    let mut out = ok(&dir, &["anchor-audit"]);
    for _ in 0..30 {
        if !out.contains("already") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
        out = ok(&dir, &["anchor-audit"]);
    }
    assert!(
        out.contains("anchored #1") && !out.contains("already"),
        "{out}"
    );
    assert!(ok(&dir, &["verify-audit"]).contains("reaches its newest anchor"));
}
