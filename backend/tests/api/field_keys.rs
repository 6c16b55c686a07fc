//! `FIELD_KEYS` through a key's whole life: the server and every command
//! using the keys refuse to start when they cannot decrypt the data (a key
//! id twice, a malformed entry, the old key gone, a new key under the old
//! id); `backend keys status` says when an old key can go; `rotate-keys`
//! waits for every live instance; and docs/operations.md's rotation, followed step
//! by step with the operator's plausible mistakes, loses nothing.

use crate::helpers::{start_binary, stop_binary, test_client, wait_until_ready};
use crate::key_rotation::{
    conn, database, insert_ssns, insert_totp, insert_users, mfa, open, ssn, stored_ssns,
    stored_totp, under,
};
use backend::db::models::instance::AppInstance;
use backend::db::Pool;
use backend::security::field_crypto::FieldKeys;
use std::collections::HashMap;
use std::process::{Child, Command};
use std::time::Duration;

const OLD_HEX: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const NEW_HEX: &str = "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf";

fn old() -> String {
    format!("k1:{OLD_HEX}")
}
fn new() -> String {
    format!("k2:{NEW_HEX}")
}
/// The new key given the old key's id: the review's mistake.
fn new_under_old_id() -> String {
    format!("k1:{NEW_HEX}")
}

/// The plaintexts, to compare with at the end.
struct Data {
    totp: HashMap<String, Vec<u8>>,
    ssns: HashMap<String, Vec<u8>>,
}

/// 30 TOTP secrets under the old key (`v1`, from before per-user keys) and
/// 3 SSNs under their users' data keys, wrapped by the old key, as a
/// deployment that has run on `FIELD_KEYS=k1:…` would have.
async fn deployment(dir: &tempfile::TempDir) -> (String, Pool, Data) {
    let (url, pool) = database(dir).await;
    let data = {
        let mut c = conn(&pool);
        let ids = insert_users(&mut c, 30);
        let keys = FieldKeys::parse(&old()).unwrap();
        Data {
            totp: insert_totp(&mut c, &keys, &ids),
            ssns: insert_ssns(&mut c, &keys, &ids[..3]),
        }
    };
    (url, pool, data)
}

/// Every value still decrypts, under `keys`, to what it was.
fn nothing_lost(pool: &Pool, data: &Data, keys: &str) {
    let keys = FieldKeys::parse(keys).unwrap();
    let mut c = conn(pool);
    let totp = stored_totp(&mut c);
    assert_eq!(totp.len(), data.totp.len());
    for (id, stored) in &totp {
        assert_eq!(open(&mut c, &keys, mfa(id), stored), data.totp[id], "{id}");
    }
    let ssns = stored_ssns(&mut c);
    assert_eq!(ssns.len(), data.ssns.len());
    for (id, stored) in &ssns {
        assert_eq!(open(&mut c, &keys, ssn(id), stored), data.ssns[id], "{id}");
    }
}

/// No key material in what a command printed.
fn no_key_material(text: &str) {
    for hex in [OLD_HEX, NEW_HEX] {
        assert!(!text.contains(&hex[..12]), "key material printed: {text}");
    }
}

/// Runs a `backend` command with `FIELD_KEYS`: (exit code, stdout, stderr).
fn backend(
    dir: &tempfile::TempDir,
    url: &str,
    args: &[&str],
    field_keys: &str,
) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_backend"))
        .args(args)
        .env_clear()
        .env("APP_DATA_DIR", dir.path())
        .env("DATABASE_URL", url)
        .env("FIELD_KEYS", field_keys)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Starts the server and expects it to refuse: what it printed. A server
/// that comes up instead (its `/readyz` answers) is stopped and the test
/// fails.
pub(crate) async fn serve_refused(dir: &tempfile::TempDir, url: &str, field_keys: &str) -> String {
    let (mut child, addr) = start_binary(dir, url, &[("FIELD_KEYS", field_keys)], true);
    let client = test_client();
    while child.try_wait().unwrap().is_none() {
        if client
            .get(format!("http://{addr}/readyz"))
            .send()
            .await
            .is_ok()
        {
            let out = stop_binary(child);
            panic!("the server started with FIELD_KEYS it cannot use: {out}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success(), "exit status {:?}", out.status);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    no_key_material(&text);
    text
}

/// A server that is up (`/readyz` answers 200), and its address.
async fn serve(dir: &tempfile::TempDir, url: &str, field_keys: &str) -> (Child, String) {
    let (child, addr) = start_binary(dir, url, &[("FIELD_KEYS", field_keys)], true);
    let base = format!("http://{addr}");
    wait_until_ready(&base).await;
    let ready = test_client()
        .get(format!("{base}/readyz"))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    (child, base)
}

fn status_json(dir: &tempfile::TempDir, url: &str, field_keys: &str) -> serde_json::Value {
    let (code, stdout, stderr) = backend(dir, url, &["keys", "status", "--json"], field_keys);
    assert_eq!(code, Some(0), "{stderr}");
    serde_json::from_str(&stdout).unwrap()
}

fn verdict<'a>(status: &'a serde_json::Value, kid: &str) -> &'a serde_json::Value {
    status["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["key_id"] == kid)
        .unwrap_or_else(|| panic!("no verdict for {kid}: {status}"))
}

#[tokio::test]
async fn one_key_id_twice_refuses_to_start_and_rotate() {
    let dir = tempfile::tempdir().unwrap();
    let (url, pool, data) = deployment(&dir).await;
    // The review's scenario: the new key put first under the old id.
    let twice = format!("{},{}", new_under_old_id(), old());
    let out = serve_refused(&dir, &url, &twice).await;
    assert!(
        out.contains("FIELD_KEYS: key id `k1` appears twice"),
        "{out}"
    );
    let (code, stdout, stderr) = backend(&dir, &url, &["rotate-keys"], &twice);
    assert_ne!(code, Some(0));
    assert!(stderr.contains("key id `k1` appears twice"), "{stderr}");
    assert!(!stdout.contains("re-encrypted"), "{stdout}");
    no_key_material(&format!("{stdout}{stderr}"));
    nothing_lost(&pool, &data, &old());
}

#[tokio::test]
async fn a_malformed_entry_refuses_to_start_naming_it_without_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let (url, _pool, _data) = deployment(&dir).await;
    let cases = [
        (OLD_HEX.to_owned(), "entry 1 has no key id"),
        (format!(":{OLD_HEX}"), "entry 1: the key id is empty"),
        (
            format!("{},k 2:{NEW_HEX}", old()),
            "entry 2: the key id must be",
        ),
        (format!("{OLD_HEX}:k1"), "entry 1: the key id must be"),
        (
            format!("k2:{},{}", &NEW_HEX[..62], old()),
            "entry 1 (`k2`): the key is not 64 hex",
        ),
        (
            format!("{},k2:zz{}", old(), &NEW_HEX[2..]),
            "entry 2 (`k2`): the key is not 64 hex",
        ),
    ];
    for (spec, expected) in &cases {
        let out = serve_refused(&dir, &url, spec).await;
        assert!(out.contains(expected), "{spec}: {out}");
    }
    // Every command that loads the keys: create-admin as well.
    let (code, _, stderr) = backend(
        &dir,
        &url,
        &[
            "create-admin",
            "--username",
            "a",
            "--email",
            "a@example.org",
        ],
        &cases[0].0,
    );
    assert_ne!(code, Some(0));
    assert!(stderr.contains("entry 1 has no key id"), "{stderr}");
}

#[tokio::test]
async fn removing_the_old_key_too_early_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let (url, pool, data) = deployment(&dir).await;
    let out = serve_refused(&dir, &url, &new()).await;
    assert!(
        out.contains("FIELD_KEYS cannot decrypt the stored data"),
        "{out}"
    );
    assert!(
        out.contains("user_mfa.secret has rows under key `k1` (row u00000, for one), which FIELD_KEYS does not hold"),
        "{out}"
    );
    // The users' data keys wrapped by k1: the SSNs under them are lost too.
    assert!(
        out.contains("user_data_keys.wrapped has rows under key `k1`")
            && out.contains("users' data keys: nor can any value under them"),
        "{out}"
    );
    for args in [
        &["rotate-keys"][..],
        &[
            "create-oauth-client",
            "--name",
            "n",
            "--redirect-uri",
            "http://127.0.0.1/cb",
        ][..],
    ] {
        let (code, stdout, stderr) = backend(&dir, &url, args, &new());
        assert_ne!(code, Some(0), "{args:?}: {stdout}");
        assert!(stderr.contains("does not hold"), "{args:?}: {stderr}");
    }
    nothing_lost(&pool, &data, &old());
}

#[tokio::test]
async fn a_new_key_under_the_old_id_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let (url, pool, data) = deployment(&dir).await;
    let out = serve_refused(&dir, &url, &new_under_old_id()).await;
    assert!(
        out.contains("the key FIELD_KEYS holds as `k1` decrypts none of the user_mfa.secret rows stored under `k1` (tried rows u00000, u00029)"),
        "{out}"
    );
    assert!(out.contains("a new key needs a new id"), "{out}");
    // Behind a right current key too: every id held is checked.
    let out = serve_refused(&dir, &url, &format!("{},{}", new(), new_under_old_id())).await;
    assert!(
        out.contains("decrypts none of the user_data_keys.wrapped rows"),
        "{out}"
    );
    nothing_lost(&pool, &data, &old());
}

#[tokio::test]
async fn one_damaged_value_does_not_stop_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let (url, pool, _data) = deployment(&dir).await;
    {
        use backend::db::schema::user_mfa;
        use diesel::prelude::*;
        // The last row under k1 holds another row's ciphertext.
        let first = stored_totp(&mut conn(&pool))[0].1.clone();
        diesel::update(user_mfa::table.find("u00029"))
            .set(user_mfa::secret.eq(first))
            .execute(&mut conn(&pool))
            .unwrap();
    }
    let (child, _) = serve(&dir, &url, &old()).await;
    stop_binary(child);
}

#[tokio::test]
async fn keys_status_counts_rows_per_key_and_lists_live_instances() {
    let dir = tempfile::tempdir().unwrap();
    let (url, pool, _data) = deployment(&dir).await;
    let both = format!("{},{}", new(), old());
    // A crashed instance (silent for five minutes) does not count.
    let long_ago = chrono::Utc::now().naive_utc() - chrono::Duration::minutes(5);
    AppInstance::beat(
        &mut conn(&pool),
        "gone",
        "old-host pid 1",
        "k0",
        "",
        long_ago,
    )
    .unwrap();
    let (child, _) = serve(&dir, &url, &both).await;
    let pid = child.id();

    let status = status_json(&dir, &url, &both);
    assert_eq!(status["field_keys"], serde_json::json!(["k2", "k1"]));
    assert_eq!(status["columns"][0]["column"], "user_mfa.secret");
    assert_eq!(
        status["columns"][0]["rows_by_key_id"],
        serde_json::json!({"k1": 30})
    );
    // The SSNs are under their users' data keys, which k1 wraps.
    assert_eq!(status["columns"][1]["column"], "user_ssn.ciphertext");
    assert_eq!(
        status["columns"][1]["rows_by_key_id"],
        serde_json::json!({})
    );
    assert_eq!(status["columns"][1]["under_user_keys"], 3);
    assert_eq!(status["columns"][2]["column"], "user_data_keys.wrapped");
    assert_eq!(
        status["columns"][2]["rows_by_key_id"],
        serde_json::json!({"k1": 3})
    );
    let instances = status["instances"].as_array().unwrap();
    assert_eq!(instances.len(), 1, "{status}");
    assert!(instances[0]["label"]
        .as_str()
        .unwrap()
        .ends_with(&format!(" pid {pid}")));
    assert_eq!(instances[0]["field_key_ids"], "k2,k1");
    assert_eq!(verdict(&status, "k2")["current"], true);
    let k1 = verdict(&status, "k1");
    assert_eq!(k1["can_go"], false);
    assert_eq!(k1["rows"], 33);
    assert!(k1["verdict"]
        .as_str()
        .unwrap()
        .contains("33 row(s) still under it"));

    let (code, text, _) = backend(&dir, &url, &["keys", "status"], &both);
    assert_eq!(code, Some(0));
    assert!(text.contains("  user_mfa.secret: k1 30"), "{text}");
    assert!(
        text.contains("  user_ssn.ciphertext: under users' data keys 3"),
        "{text}"
    );
    assert!(text.contains("  user_data_keys.wrapped: k1 3"), "{text}");
    assert!(
        text.contains(&format!("pid {pid}")) && text.contains("holds k2, k1 (current k2)"),
        "{text}"
    );
    assert!(
        text.contains("  k1: keep: 33 row(s) still under it"),
        "{text}"
    );
    no_key_material(&text);

    // After the rotation: k1 can go.
    let (code, _, stderr) = backend(&dir, &url, &["rotate-keys"], &both);
    assert_eq!(code, Some(0), "{stderr}");
    let status = status_json(&dir, &url, &both);
    assert_eq!(
        status["columns"][0]["rows_by_key_id"],
        serde_json::json!({})
    );
    assert_eq!(status["columns"][0]["under_user_keys"], 30);
    assert_eq!(
        status["columns"][2]["rows_by_key_id"],
        serde_json::json!({"k2": 30})
    );
    assert_eq!(verdict(&status, "k1")["can_go"], true, "{status}");
    assert_eq!(verdict(&status, "k2")["rows"], 30, "{status}");
    stop_binary(child);
    // A clean stop removes the instance at once.
    let status = status_json(&dir, &url, &both);
    assert_eq!(status["instances"], serde_json::json!([]));
}

#[tokio::test]
async fn keys_status_reports_undecryptable_data_and_exits_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    let (url, _pool, _data) = deployment(&dir).await;
    let (code, stdout, stderr) = backend(&dir, &url, &["keys", "status"], &new());
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(stdout.contains("  k1: keep: 33 row(s) still under it; run `backend rotate-keys` — and FIELD_KEYS does not hold it"), "{stdout}");
    assert!(
        stdout.contains("PROBLEM: user_mfa.secret has rows under key `k1`"),
        "{stdout}"
    );
}

/// docs/operations.md's procedure ("Rotating the field key"), step by step, with
/// the operator's plausible mistakes on the way. Each mistake is refused
/// with a message naming it; at the end every value decrypts under the new
/// key alone.
#[tokio::test]
async fn drill_the_readme_rotation_with_the_plausible_mistakes() {
    let dir = tempfile::tempdir().unwrap();
    let (url, pool, data) = deployment(&dir).await;
    let both = format!("{},{}", new(), old());

    // Two instances run on the old FIELD_KEYS.
    let (a, _) = serve(&dir, &url, &old()).await;
    let (b, _) = serve(&dir, &url, &old()).await;
    let (a_pid, b_pid) = (a.id(), b.id());

    // Step 1: a new key with a new id, first. Mistake: the new key reuses
    // the old id (alone, or before the old key).
    let out = serve_refused(&dir, &url, &new_under_old_id()).await;
    assert!(out.contains("a new key needs a new id"), "{out}");
    let out = serve_refused(&dir, &url, &format!("{},{}", new_under_old_id(), old())).await;
    assert!(out.contains("key id `k1` appears twice"), "{out}");
    // Mistake: the old key dropped at once.
    let out = serve_refused(&dir, &url, &new()).await;
    assert!(out.contains("which FIELD_KEYS does not hold"), "{out}");

    // Step 2: restart every instance with `new,old`. Mistake: run the
    // rotation when only one has been restarted.
    stop_binary(a);
    let (a, _) = serve(&dir, &url, &both).await;
    let (code, stdout, stderr) = backend(&dir, &url, &["rotate-keys"], &both);
    assert_ne!(code, Some(0), "{stdout}");
    assert!(
        stderr.contains("not rotating: 1 live instance(s) do not hold field key k2 yet"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("pid {b_pid} ")),
        "names the instance: {stderr}"
    );
    assert!(!stderr.contains(&format!("pid {a_pid} ")), "{stderr}");
    assert!(!stdout.contains("re-encrypted"), "{stdout}");
    assert_eq!(
        under(&stored_totp(&mut conn(&pool)), "k1"),
        30,
        "nothing rotated"
    );
    // Status agrees: k1 must stay.
    let status = status_json(&dir, &url, &both);
    let current = verdict(&status, "k2")["verdict"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        current.contains("not yet on ") && current.contains(&format!("pid {b_pid}")),
        "{current}"
    );
    assert_eq!(verdict(&status, "k1")["can_go"], false);

    stop_binary(b);
    let (b, _) = serve(&dir, &url, &both).await;

    // Mistake: the old key removed before rotating (from the command's
    // FIELD_KEYS): refused, nothing touched.
    let (code, _, stderr) = backend(&dir, &url, &["rotate-keys"], &new());
    assert_ne!(code, Some(0));
    assert!(
        stderr.contains("which FIELD_KEYS does not hold"),
        "{stderr}"
    );

    // Step 3: rotate.
    let (code, stdout, stderr) = backend(&dir, &url, &["rotate-keys"], &both);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stdout.contains("33 re-encrypted, 30 already current, 0 failed"),
        "{stdout}"
    );

    // Step 4: `keys status` says k1 can go...
    let status = status_json(&dir, &url, &both);
    assert_eq!(verdict(&status, "k1")["can_go"], true, "{status}");
    // ...and it leaves FIELD_KEYS, one instance after the other.
    stop_binary(a);
    let (a, _) = serve(&dir, &url, &new()).await;
    stop_binary(b);
    let (b, _) = serve(&dir, &url, &new()).await;
    let status = status_json(&dir, &url, &new());
    assert_eq!(
        status["keys"].as_array().unwrap().len(),
        1,
        "k1 is gone: {status}"
    );
    stop_binary(a);
    stop_binary(b);

    // Nothing lost: every TOTP secret and SSN decrypts under the new key alone.
    nothing_lost(&pool, &data, &new());
}
