//! `backend rotate-keys`: every user's data key re-wrapped under the
//! current field key and every `v1` value (from before per-user keys) moved
//! under its user's data key, in batches, resumable, never losing a value.
//! The data: TOTP secrets as `v1` values (old data), SSNs as the app writes
//! them now (`v2` under data keys wrapped by the field key of the time).

use crate::helpers::fresh_database;
use backend::db::connection::build_pool;
use backend::db::models::audit_entry::AuditEntry;
use backend::db::schema::{user_mfa, user_ssn, users};
use backend::db::{DbConn, Pool};
use backend::security::field_crypto::{FieldKeys, FieldRef};
use backend::services::key_rotation::{self, RotationOptions, RotationReport};
use backend::services::user_keys;
use diesel::prelude::*;
use std::collections::HashMap;
use std::process::Command;
use std::sync::Arc;

const OLD: &str = "old:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const NEW: &str = "new:a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf";
const CHUNK: usize = 500;

fn old_key() -> FieldKeys {
    FieldKeys::parse(OLD).unwrap()
}

/// The key set after the rotation is deployed: new first, old still loaded.
fn both_keys() -> FieldKeys {
    FieldKeys::parse(&format!("{NEW},{OLD}")).unwrap()
}

fn new_only() -> FieldKeys {
    FieldKeys::parse(NEW).unwrap()
}

pub(crate) fn mfa(user: &str) -> FieldRef<'_> {
    FieldRef {
        table: "user_mfa",
        column: "secret",
        row_id: user,
    }
}

pub(crate) fn ssn(user: &str) -> FieldRef<'_> {
    FieldRef {
        table: "user_ssn",
        column: "ciphertext",
        row_id: user,
    }
}

pub(crate) async fn database(dir: &tempfile::TempDir) -> (String, Pool) {
    let url = fresh_database(dir);
    let pool = build_pool(&url, 4).unwrap();
    backend::startup::migrations::migrate(&pool).await.unwrap();
    (url, pool)
}

/// A multi-row INSERT (Diesel runs those on each engine's own connection).
macro_rules! insert_all {
    ($conn:expr, $table:expr, $rows:expr) => {
        match $conn {
            DbConn::Sqlite(c) => diesel::insert_into($table).values($rows).execute(c),
            DbConn::Postgres(c) => diesel::insert_into($table).values($rows).execute(c),
        }
        .unwrap()
    };
}

pub(crate) fn conn(
    pool: &Pool,
) -> diesel::r2d2::PooledConnection<backend::db::connection::Manager> {
    pool.get().unwrap()
}

/// Users `u00000`, `u00001`, …: inserted 500 to a statement.
pub(crate) fn insert_users(conn: &mut DbConn, count: usize) -> Vec<String> {
    let now = chrono::Utc::now().naive_utc();
    let ids: Vec<String> = (0..count).map(|i| format!("u{i:05}")).collect();
    for chunk in ids.chunks(CHUNK) {
        let rows: Vec<_> = chunk
            .iter()
            .map(|id| {
                (
                    users::id.eq(id.clone()),
                    users::username.eq(id.clone()),
                    users::email.eq(format!("{id}@example.org")),
                    users::password_hash.eq("x"),
                    users::created_at.eq(now),
                    users::updated_at.eq(now),
                )
            })
            .collect();
        insert_all!(conn, users::table, rows);
    }
    ids
}

/// A TOTP secret per user (20 bytes, like the app's), encrypted under `keys`.
pub(crate) fn insert_totp(
    conn: &mut DbConn,
    keys: &FieldKeys,
    ids: &[String],
) -> HashMap<String, Vec<u8>> {
    let now = chrono::Utc::now().naive_utc();
    let mut plain = HashMap::new();
    for chunk in ids.chunks(CHUNK) {
        let rows: Vec<_> = chunk
            .iter()
            .map(|id| {
                let secret: Vec<u8> = (0..20u8)
                    .map(|b| b ^ id.as_bytes()[5])
                    .chain(id.bytes())
                    .collect();
                let stored = keys.encrypt(mfa(id), &secret).unwrap();
                plain.insert(id.clone(), secret);
                (
                    user_mfa::user_id.eq(id.clone()),
                    user_mfa::secret.eq(stored),
                    user_mfa::created_at.eq(now),
                )
            })
            .collect();
        insert_all!(conn, user_mfa::table, rows);
    }
    plain
}

/// An SSN per user as the app stores one now: `v2` under the user's data
/// key, which is created wrapped under `keys`' current key.
pub(crate) fn insert_ssns(
    conn: &mut DbConn,
    keys: &FieldKeys,
    ids: &[String],
) -> HashMap<String, Vec<u8>> {
    let now = chrono::Utc::now().naive_utc();
    let mut plain = HashMap::new();
    for (i, id) in ids.iter().enumerate() {
        let value = format!("123-45-{:04}", 1000 + i).into_bytes();
        backend::db::write_transaction(conn, |c| {
            let stored = user_keys::seal_blocking(c, keys, ssn(id), id, &value)?;
            diesel::insert_into(user_ssn::table)
                .values((
                    user_ssn::user_id.eq(id),
                    user_ssn::ciphertext.eq(stored),
                    user_ssn::updated_at.eq(now),
                ))
                .execute(c)?;
            Ok(())
        })
        .unwrap();
        plain.insert(id.clone(), value);
    }
    plain
}

/// A stored value decrypted as the app does: `v1` under `keys`, `v2` under
/// its user's data key unwrapped by `keys`.
pub(crate) fn open(
    conn: &mut DbConn,
    keys: &FieldKeys,
    field: FieldRef<'_>,
    stored: &str,
) -> Vec<u8> {
    user_keys::open_blocking(conn, keys, field, field.row_id, stored)
        .unwrap_or_else(|e| panic!("{}: {e:?}", field.row_id))
}

/// Rows in the `v2` format (under a user's data key).
pub(crate) fn under_user_keys(rows: &[(String, String)]) -> usize {
    rows.iter().filter(|(_, s)| s.starts_with("v2:")).count()
}

/// The wrapped data keys: (user id, wrapped).
pub(crate) fn wrapped_keys(conn: &mut DbConn) -> Vec<(String, String)> {
    backend::db::models::user_key::UserDataKey::all(conn).unwrap()
}

pub(crate) fn stored_totp(conn: &mut DbConn) -> Vec<(String, String)> {
    user_mfa::table
        .select((user_mfa::user_id, user_mfa::secret))
        .order(user_mfa::user_id)
        .load(conn)
        .unwrap()
}

pub(crate) fn stored_ssns(conn: &mut DbConn) -> Vec<(String, String)> {
    user_ssn::table
        .select((user_ssn::user_id, user_ssn::ciphertext))
        .order(user_ssn::user_id)
        .load(conn)
        .unwrap()
}

pub(crate) fn under(rows: &[(String, String)], kid: &str) -> usize {
    rows.iter()
        .filter(|(_, s)| FieldKeys::key_id_of(s) == Some(kid))
        .count()
}

async fn rotate(pool: &Pool, keys: FieldKeys, options: RotationOptions) -> RotationReport {
    key_rotation::rotate(pool, Arc::new(keys), options, |_| {})
        .await
        .unwrap()
}

fn rotations_audited(pool: &Pool) -> Vec<(String, serde_json::Value)> {
    AuditEntry::recent(&mut conn(pool), 100)
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "keys.rotated")
        .map(|e| (e.outcome, serde_json::from_str(&e.detail).unwrap()))
        .collect()
}

#[tokio::test]
async fn ten_thousand_rows_rotate_across_an_interruption_and_keep_every_value() {
    let dir = tempfile::tempdir().unwrap();
    let (_url, pool) = database(&dir).await;
    let (totp, ssns) = {
        let mut c = conn(&pool);
        let ids = insert_users(&mut c, 10_000);
        let totp = insert_totp(&mut c, &old_key(), &ids);
        let ssns = insert_ssns(&mut c, &old_key(), &ids[..40]);
        (totp, ssns)
    };

    // Interrupted half-way: 10 batches of 500.
    let options = RotationOptions {
        batch_size: 500,
        max_batches: Some(10),
    };
    let first = rotate(&pool, both_keys(), options).await;
    assert!(!first.finished && !first.is_complete());
    assert_eq!(first.rotated(), 5_000);
    assert_eq!(first.failed(), 0);
    let rows = stored_totp(&mut conn(&pool));
    assert_eq!(under_user_keys(&rows), 5_000);
    assert_eq!(under(&rows, "old"), 5_000);

    // Run again: the first half is skipped, the rest moved, and the 40
    // data keys wrapped under the old key (the SSN users') re-wrapped.
    let second = rotate(&pool, both_keys(), RotationOptions::default()).await;
    assert!(second.is_complete(), "{second:?}");
    // 5,000 TOTP and 40 SSN values under data keys already; 9,960 data
    // keys created under the new key by the two runs.
    assert_eq!(second.already_current(), 5_000 + 40 + 9_960);
    assert_eq!(second.rotated(), 5_000 + 40);
    let ssns_stored = stored_ssns(&mut conn(&pool));
    assert_eq!(under_user_keys(&ssns_stored), 40, "SSN values untouched");

    // Every value decrypts under the new key alone, to what it was.
    let new_key = new_only();
    let rows = stored_totp(&mut conn(&pool));
    assert_eq!(rows.len(), 10_000);
    assert_eq!(under_user_keys(&rows), 10_000);
    let wrapped = wrapped_keys(&mut conn(&pool));
    assert_eq!(wrapped.len(), 10_000);
    assert_eq!(under(&wrapped, "new"), 10_000);
    let mut c = conn(&pool);
    for (id, stored) in &rows {
        assert_eq!(&open(&mut c, &new_key, mfa(id), stored), &totp[id], "{id}");
    }
    for (id, stored) in &ssns_stored {
        assert_eq!(&open(&mut c, &new_key, ssn(id), stored), &ssns[id], "{id}");
    }
    drop(c);

    // Idempotent: a third run changes nothing.
    let before = stored_totp(&mut conn(&pool));
    let keys_before = wrapped_keys(&mut conn(&pool));
    let third = rotate(&pool, both_keys(), RotationOptions::default()).await;
    assert_eq!(third.rotated(), 0);
    assert_eq!(third.already_current(), 10_040 + 10_000);
    assert_eq!(stored_totp(&mut conn(&pool)), before);
    assert_eq!(wrapped_keys(&mut conn(&pool)), keys_before);

    let audited = rotations_audited(&pool);
    assert_eq!(audited.len(), 3);
    assert!(audited.iter().all(|(outcome, _)| outcome == "success"));
    let rotated: Vec<u64> = audited
        .iter()
        .map(|(_, d)| d["rotated"].as_u64().unwrap())
        .collect();
    assert!(rotated.contains(&5_000) && rotated.contains(&5_040) && rotated.contains(&0));
    assert!(audited.iter().all(|(_, d)| d["current_kid"] == "new"));
}

#[tokio::test]
async fn writes_by_the_running_app_during_a_rotation_are_never_lost() {
    let dir = tempfile::tempdir().unwrap();
    let (_url, pool) = database(&dir).await;
    let ids = {
        let mut c = conn(&pool);
        let ids = insert_users(&mut c, 1_500);
        insert_totp(&mut c, &old_key(), &ids);
        ids
    };
    // The app (already running with the new key set) re-enrols every tenth
    // user while the rotation runs, as `UserMfa::start` does (a `v1` write:
    // an instance of the version before data keys).
    let app_pool = pool.clone();
    let re_enrolled: Vec<String> = ids.iter().step_by(10).cloned().collect();
    let writers = re_enrolled.clone();
    let app = std::thread::spawn(move || {
        let keys = both_keys();
        let mut c = app_pool.get().unwrap();
        for id in &writers {
            let stored = keys.encrypt(mfa(id), b"re-enrolled").unwrap();
            let now = chrono::Utc::now().naive_utc();
            backend::db::models::mfa::UserMfa::start(&mut c, id, &stored, now).unwrap();
        }
    });
    let report = rotate(
        &pool,
        both_keys(),
        RotationOptions {
            batch_size: 50,
            max_batches: None,
        },
    )
    .await;
    app.join().unwrap();
    assert_eq!(report.failed(), 0, "{report:?}");

    let new_key = new_only();
    let rows = stored_totp(&mut conn(&pool));
    assert_eq!(rows.len(), 1_500);
    let mut c = conn(&pool);
    for (id, stored) in &rows {
        let value = open(&mut c, &new_key, mfa(id), stored);
        if re_enrolled.contains(id) {
            assert_eq!(value, b"re-enrolled", "the app's write to {id} was lost");
        } else {
            assert_ne!(value, b"re-enrolled");
        }
    }
}

#[tokio::test]
async fn rows_under_an_unknown_key_or_damaged_fail_clearly_and_the_rest_rotate() {
    let dir = tempfile::tempdir().unwrap();
    let (_url, pool) = database(&dir).await;
    let gone = FieldKeys::parse(
        "retired:5555555555555555555555555555555555555555555555555555555555555555",
    )
    .unwrap();
    let (plain, unknown_stored) = {
        let mut c = conn(&pool);
        let ids = insert_users(&mut c, 6);
        let plain = insert_totp(&mut c, &old_key(), &ids[..4]);
        // u00004: under a key FIELD_KEYS no longer holds.
        let unknown = insert_totp(&mut c, &gone, &ids[4..5]);
        assert_eq!(unknown.len(), 1);
        // u00005: a ciphertext copied from another row.
        let copied = old_key().encrypt(mfa("u00000"), b"copied").unwrap();
        diesel::insert_into(user_mfa::table)
            .values((
                user_mfa::user_id.eq("u00005"),
                user_mfa::secret.eq(copied),
                user_mfa::created_at.eq(chrono::Utc::now().naive_utc()),
            ))
            .execute(&mut c)
            .unwrap();
        let rows = stored_totp(&mut c);
        (plain, rows[4].1.clone())
    };

    let report = rotate(
        &pool,
        both_keys(),
        RotationOptions {
            batch_size: 2,
            max_batches: None,
        },
    )
    .await;
    assert_eq!(report.rotated(), 4);
    assert_eq!(report.failed(), 2);
    assert!(!report.is_complete());
    let failures: Vec<(&str, &str)> = report
        .failures
        .iter()
        .map(|f| (f.row_id.as_str(), f.problem.as_str()))
        .collect();
    assert_eq!(failures[0].0, "u00004");
    assert!(
        failures[0].1.contains("key `retired`")
            && failures[0].1.contains("FIELD_KEYS does not hold"),
        "{failures:?}"
    );
    assert_eq!(failures[1].0, "u00005");
    assert!(
        failures[1].1.contains("does not decrypt under key `old`"),
        "{failures:?}"
    );
    assert!(report
        .failures
        .iter()
        .all(|f| f.column == "user_mfa.secret"));

    // The failing rows are left as they were; the others are rotated.
    let rows = stored_totp(&mut conn(&pool));
    assert_eq!(rows[4].1, unknown_stored);
    let mut c = conn(&pool);
    for (id, stored) in &rows[..4] {
        assert_eq!(&open(&mut c, &new_only(), mfa(id), stored), &plain[id]);
    }
    let audited = rotations_audited(&pool);
    assert_eq!(audited[0].0, "failure");
    assert_eq!(audited[0].1["failed"], 2);
    assert!(!audited[0].1.to_string().contains("u00004"));
}

fn rotate_keys_cli(
    dir: &tempfile::TempDir,
    url: &str,
    vars: &[(&str, &str)],
) -> (bool, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_backend"));
    cmd.args(["rotate-keys", "--batch-size", "7"])
        .env_clear()
        .env("APP_DATA_DIR", dir.path())
        .env("DATABASE_URL", url);
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn the_cli_rotates_a_small_database_and_refuses_without_the_old_key() {
    let dir = tempfile::tempdir().unwrap();
    let (url, pool) = database(&dir).await;
    let (totp, ssns) = {
        let mut c = conn(&pool);
        let ids = insert_users(&mut c, 30);
        (
            insert_totp(&mut c, &old_key(), &ids),
            insert_ssns(&mut c, &old_key(), &ids[..3]),
        )
    };
    let field_keys = format!("{NEW},{OLD}");

    // Without the old key nothing decrypts: refused before any row is
    // read for rotation, naming the key and each column, no key material.
    let (ok, stdout, stderr) = rotate_keys_cli(&dir, &url, &[("FIELD_KEYS", NEW)]);
    assert!(!ok, "{stdout}");
    assert!(
        stderr.contains("user_mfa.secret has rows under key `old` (row u00000, for one), which FIELD_KEYS does not hold"),
        "{stderr}"
    );
    assert!(
        stderr.contains("user_data_keys.wrapped has rows under key `old`"),
        "{stderr}"
    );
    assert!(!stdout.contains("re-encrypting"), "{stdout}");
    for text in [&stdout, &stderr] {
        assert!(
            !text.contains("a0a1a2a3") && !text.contains("00010203"),
            "{text}"
        );
    }

    let (ok, stdout, stderr) = rotate_keys_cli(&dir, &url, &[("FIELD_KEYS", &field_keys)]);
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("re-encrypting under field key new in batches of 7"),
        "{stdout}"
    );
    assert!(
        stdout.contains("user_mfa.secret: 7/30 checked, 7 re-encrypted"),
        "{stdout}"
    );
    // SSNs are under data keys already; the 3 keys wrapped under `old`
    // are re-wrapped, the 27 the TOTP pass created are current.
    assert!(
        stdout.contains("user_ssn.ciphertext: 3/3 checked, 0 re-encrypted"),
        "{stdout}"
    );
    assert!(
        stdout.contains("user_data_keys.wrapped: 7/30 checked, 3 re-encrypted"),
        "{stdout}"
    );
    assert!(
        stdout.contains("33 re-encrypted, 30 already current, 0 failed"),
        "{stdout}"
    );

    let (ok, stdout, _) = rotate_keys_cli(&dir, &url, &[("FIELD_KEYS", &field_keys)]);
    assert!(ok);
    assert!(
        stdout.contains("0 re-encrypted, 63 already current, 0 failed"),
        "{stdout}"
    );

    let mut c = conn(&pool);
    for (id, stored) in stored_totp(&mut c) {
        assert_eq!(open(&mut c, &new_only(), mfa(&id), &stored), totp[&id]);
    }
    for (id, stored) in stored_ssns(&mut c) {
        assert_eq!(open(&mut c, &new_only(), ssn(&id), &stored), ssns[&id]);
    }
    let outcomes: Vec<String> = rotations_audited(&pool)
        .into_iter()
        .map(|(o, _)| o)
        .collect();
    // The refused run changed nothing, so it left no `keys.rotated` entry.
    assert_eq!(outcomes, ["success", "success"]);
}

/// A stand-in for Vault's KV v2 read API on 127.0.0.1 (one secret,
/// `secret/data/app`, readable with `token`).
fn fake_vault(token: &'static str, data: serde_json::Value) -> String {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request = Vec::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
                    break;
                }
                request.push(line.trim().to_owned());
            }
            let authorised = request
                .iter()
                .any(|h| h.eq_ignore_ascii_case(&format!("x-vault-token: {token}")));
            let (status, body) = match request.first() {
                Some(l) if l.starts_with("GET /v1/secret/data/app ") && authorised => (
                    200,
                    serde_json::json!({ "data": { "data": data, "metadata": { "version": 1 } } })
                        .to_string(),
                ),
                _ => (403, r#"{"errors":["permission denied"]}"#.to_owned()),
            };
            let mut stream = stream;
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    addr
}

#[tokio::test]
async fn the_cli_reads_field_keys_from_vault_and_a_bad_token_stops_it() {
    let dir = tempfile::tempdir().unwrap();
    let (url, pool) = database(&dir).await;
    {
        let mut c = conn(&pool);
        let ids = insert_users(&mut c, 3);
        insert_totp(&mut c, &old_key(), &ids);
    }
    let field_keys = format!("{NEW},{OLD}");
    let vault = fake_vault(
        "hvs.cli-token",
        serde_json::json!({ "FIELD_KEYS": field_keys, "DATABASE_URL": url }),
    );
    // DATABASE_URL comes from Vault too.
    let run = |token: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_backend"))
            .arg("rotate-keys")
            .env_clear()
            .env("APP_DATA_DIR", dir.path())
            .env("VAULT_ADDR", &vault)
            .env("VAULT_TOKEN", token)
            .env("VAULT_SECRET_PATH", "app")
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, stdout, stderr) = run("hvs.cli-token");
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("3 re-encrypted"), "{stdout}");
    assert_eq!(under_user_keys(&stored_totp(&mut conn(&pool))), 3);
    assert_eq!(under(&wrapped_keys(&mut conn(&pool)), "new"), 3);

    let (code, _, stderr) = run("hvs.wrong-token");
    assert_eq!(code, Some(2), "a configuration error: {stderr}");
    assert!(stderr.contains("VAULT_TOKEN: Vault at"), "{stderr}");
    assert!(stderr.contains("permission denied"), "{stderr}");
    assert!(!stderr.contains("hvs.wrong-token"), "{stderr}");
}
