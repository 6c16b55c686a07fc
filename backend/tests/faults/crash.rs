//! `kill -9` in the middle of work, then a restart: what was acknowledged is
//! there, the audit chain verifies, every encrypted value decrypts.

use crate::support::{
    cli, cli_command, client, masked_ssn, put_ssn, signed_in, sqlite_url, Server,
};
use backend::db::connection::build_pool;
use backend::db::models::audit_entry::AuditEntry;
use backend::db::schema::{user_data_keys, user_mfa, user_ssn, users};
use backend::security::field_crypto::{FieldKeys, FieldRef};
use backend::security::user_keys::DataKey;
use diesel::prelude::*;
use std::collections::{HashMap, HashSet};
use std::io::BufRead;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The field keys a dev server generated beside its data.
fn dev_field_keys(data_dir: &std::path::Path) -> FieldKeys {
    let spec = std::fs::read_to_string(data_dir.join("keys").join("field.keys")).unwrap();
    FieldKeys::parse(&spec).unwrap()
}

fn verify_audit(data_dir: &std::path::Path, url: &str) -> String {
    let (ok, out) = cli(data_dir, url, &["verify-audit"], &[]);
    assert!(ok && out.contains("audit log intact"), "{out}");
    out
}

/// Users write their SSN over and over (each an encrypted change and its
/// audit entry in one transaction) until the server is killed with SIGKILL.
/// After a restart every acknowledged write is there — its audit entry by
/// request id, the value itself (or the one in flight at the kill, which
/// may have committed unacknowledged) — the chain verifies and every stored
/// value decrypts.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_during_a_burst_of_audited_writes_loses_nothing_acknowledged() {
    let data = tempfile::tempdir().unwrap();
    let logs = tempfile::tempdir().unwrap();
    let url = sqlite_url(data.path());
    let server = Server::start(data.path(), logs.path(), &url, &[]).await;
    let mut cookies = Vec::new();
    for i in 0..6 {
        cookies.push(signed_in(&server, &format!("writer{i}")).await);
    }

    // (request id, user, value) of every acknowledged write.
    let acked: Arc<Mutex<Vec<(String, usize, u32)>>> = Arc::default();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut writers = Vec::new();
    for (user, cookie) in cookies.iter().cloned().enumerate() {
        let (acked, stop, base) = (acked.clone(), stop.clone(), server.base.clone());
        writers.push(tokio::spawn(async move {
            let probe = ProbeServer(base);
            let client = client();
            let mut value = 1000u32;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let ssn = format!("123-45-{value}");
                match probe.put(&client, &cookie, &ssn).await {
                    Some((200, id)) => acked.lock().unwrap().push((id, user, value)),
                    Some((status, _)) => panic!("a write answered {status}"),
                    None => break, // the server is gone
                }
                value += 1;
            }
        }));
    }
    // Kill in the middle of the burst, once enough writes were acknowledged.
    let deadline = Instant::now() + Duration::from_secs(60);
    while acked.lock().unwrap().len() < 60 {
        assert!(Instant::now() < deadline, "the writes were too slow");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.kill9();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for w in writers {
        w.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();

    // Restart on the same data.
    let server = Server::start(data.path(), logs.path(), &url, &[]).await;
    let pool = build_pool(&url, 1).unwrap();
    let mut conn = pool.get().unwrap();
    let stored: HashSet<String> = AuditEntry::recent(&mut conn, 1_000_000)
        .unwrap()
        .into_iter()
        .filter_map(|e| e.request_id)
        .collect();
    let lost: Vec<&String> = acked
        .iter()
        .map(|(id, ..)| id)
        .filter(|id| !stored.contains(*id))
        .collect();
    assert!(
        lost.is_empty(),
        "{} acknowledged writes lost: {lost:?}",
        lost.len()
    );
    let mut last: HashMap<usize, u32> = HashMap::new();
    for (_, user, value) in &acked {
        last.insert(*user, (*value).max(last.get(user).copied().unwrap_or(0)));
    }
    for (user, cookie) in cookies.iter().enumerate() {
        let Some(value) = last.get(&user) else {
            continue;
        };
        let masked = masked_ssn(&server, cookie).await.expect("an SSN is stored");
        let acceptable = [format!("***-**-{value}"), format!("***-**-{}", value + 1)];
        assert!(
            acceptable.contains(&masked),
            "writer{user}: {masked}, acknowledged {value}"
        );
    }
    let keys = dev_field_keys(data.path());
    let rows: Vec<(String, String)> = user_ssn::table
        .select((user_ssn::user_id, user_ssn::ciphertext))
        .load(&mut *conn)
        .unwrap();
    assert_eq!(rows.len(), cookies.len());
    // Each SSN is under its user's data key, which the field key wraps.
    for (id, stored) in &rows {
        let wrapped: String = user_data_keys::table
            .find(id)
            .select(user_data_keys::wrapped)
            .first(&mut *conn)
            .unwrap_or_else(|e| panic!("the data key of {id}: {e}"));
        DataKey::unwrap(&keys, id, &wrapped)
            .and_then(|key| key.decrypt(backend::services::ssn::field(id), stored))
            .unwrap_or_else(|e| panic!("the SSN of {id} does not decrypt: {e}"));
    }
    drop(conn);
    // Writes go on after the restart.
    let r = put_ssn(&client(), &server, &cookies[0], "123-45-9999")
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    server.stop();
    verify_audit(data.path(), &url);
}

/// The request id and status of a `PUT /api/v1/me/ssn`, `None` once the
/// server no longer answers.
struct ProbeServer(String);

impl ProbeServer {
    async fn put(
        &self,
        client: &reqwest::Client,
        cookie: &str,
        ssn: &str,
    ) -> Option<(u16, String)> {
        let r = client
            .put(format!("{}/api/v1/me/ssn", self.0))
            .header("Origin", &self.0)
            .header("Cookie", cookie)
            .json(&serde_json::json!({ "ssn": ssn }))
            .send()
            .await
            .ok()?;
        let id = r.headers().get("x-request-id")?.to_str().ok()?.to_owned();
        Some((r.status().as_u16(), id))
    }
}

fn mfa_field(user: &str) -> FieldRef<'_> {
    FieldRef {
        table: "user_mfa",
        column: "secret",
        row_id: user,
    }
}

/// `rotate-keys` killed with SIGKILL between its batches' transactions:
/// the next run resumes and finishes, every value decrypts under the new
/// key alone to what it was, and the server starts on the result.
#[tokio::test]
async fn kill_9_during_rotate_keys_then_a_rerun_finishes_with_every_value_intact() {
    let data = tempfile::tempdir().unwrap();
    let logs = tempfile::tempdir().unwrap();
    let url = sqlite_url(data.path());
    let old = FieldKeys::generate_entry("old");
    let new = FieldKeys::generate_entry("new");
    let both = format!("{new},{old}");
    let old_keys = FieldKeys::parse(&old).unwrap();
    const ROWS: usize = 20_000;

    let pool = build_pool(&url, 1).unwrap();
    backend::startup::migrations::migrate(&pool).await.unwrap();
    let mut plain = HashMap::new();
    {
        let mut conn = pool.get().unwrap();
        let backend::db::DbConn::Sqlite(c) = &mut *conn else {
            unreachable!()
        };
        let now = chrono::Utc::now().naive_utc();
        let ids: Vec<String> = (0..ROWS).map(|i| format!("u{i:05}")).collect();
        for chunk in ids.chunks(500) {
            let people: Vec<_> = chunk
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
            diesel::insert_into(users::table)
                .values(people)
                .execute(c)
                .unwrap();
            let secrets: Vec<_> = chunk
                .iter()
                .map(|id| {
                    let secret = format!("totp-secret-of-{id}").into_bytes();
                    let stored = old_keys.encrypt(mfa_field(id), &secret).unwrap();
                    plain.insert(id.clone(), secret);
                    (
                        user_mfa::user_id.eq(id.clone()),
                        user_mfa::secret.eq(stored),
                        user_mfa::created_at.eq(now),
                    )
                })
                .collect();
            diesel::insert_into(user_mfa::table)
                .values(secrets)
                .execute(c)
                .unwrap();
        }
    }
    // Before per-user keys every secret is `v1` under a field key; the
    // rotation moves each under its user's data key (`v2`), the data key
    // wrapped by the current field key.
    let count = |pick: &dyn Fn(&str) -> bool| -> usize {
        let rows: Vec<String> = user_mfa::table
            .select(user_mfa::secret)
            .load(&mut *pool.get().unwrap())
            .unwrap();
        rows.iter().filter(|s| pick(s)).count()
    };
    let moved_count = || count(&|s| s.starts_with("v2:"));
    let left_count = || count(&|s| FieldKeys::key_id_of(s) == Some("old"));
    assert_eq!(left_count(), ROWS);

    // Small batches, killed as soon as it reports re-encrypted rows.
    let mut child = cli_command(
        data.path(),
        &url,
        &["rotate-keys", "--batch-size", "100"],
        &[("FIELD_KEYS", &both)],
    )
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::null())
    .spawn()
    .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = std::io::BufReader::new(stdout).lines();
    let mut seen = Vec::new();
    loop {
        let line = lines.next().expect("rotate-keys reports progress").unwrap();
        seen.push(line.clone());
        if line.contains("re-encrypted") && !line.contains(" 0 re-encrypted") {
            break;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let (moved, left) = (moved_count(), left_count());
    assert_eq!(
        moved + left,
        ROWS,
        "every secret is either moved or untouched"
    );
    assert!(
        moved > 0 && left > 0,
        "the kill must land mid-rotation ({moved} moved, {left} left; output {seen:?})"
    );

    // The rerun resumes: what moved is skipped, the rest re-encrypted.
    let (ok, out) = cli(
        data.path(),
        &url,
        &["rotate-keys"],
        &[("FIELD_KEYS", &both)],
    );
    assert!(ok, "{out}");
    assert!(out.contains(", 0 failed"), "{out}");
    assert_eq!(moved_count(), ROWS);

    let new_only = FieldKeys::parse(&new).unwrap();
    let rows: Vec<(String, String)> = user_mfa::table
        .select((user_mfa::user_id, user_mfa::secret))
        .load(&mut *pool.get().unwrap())
        .unwrap();
    let wrapped: HashMap<String, String> = user_data_keys::table
        .select((user_data_keys::user_id, user_data_keys::wrapped))
        .load::<(String, String)>(&mut *pool.get().unwrap())
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(wrapped.len(), ROWS, "one data key per user, none twice");
    for (id, stored) in &rows {
        let key = DataKey::unwrap(&new_only, id, &wrapped[id])
            .unwrap_or_else(|e| panic!("{id}'s data key under the new field key: {e}"));
        assert_eq!(
            key.decrypt(mfa_field(id), stored).unwrap(),
            plain[id],
            "{id}"
        );
    }
    drop(pool);
    verify_audit(data.path(), &url);
    // The server starts with only the new key: its start-up check decrypts
    // the first and last row under every key id.
    let server = Server::start(data.path(), logs.path(), &url, &[("FIELD_KEYS", &new)]).await;
    let mut server = server;
    server
        .wait_for("/readyz", 200, Duration::from_secs(60))
        .await;
    server.stop();
}

/// `rotate-signing-key` killed with SIGKILL at points spread over its run:
/// the key folder never holds a partial key (the file is written to a
/// temporary name, synced, then moved into place), so the server always
/// starts and signs.
#[tokio::test]
async fn kill_9_during_rotate_signing_key_never_leaves_a_partial_key() {
    let data = tempfile::tempdir().unwrap();
    let logs = tempfile::tempdir().unwrap();
    let url = sqlite_url(data.path());
    let keys = data.path().join("signing-keys");
    let keys_env = keys.display().to_string();
    let env = [("SIGNING_KEYS_DIR", keys_env.as_str())];

    // How long one whole run takes here.
    let started = Instant::now();
    let (ok, out) = cli(data.path(), &url, &["rotate-signing-key"], &env);
    assert!(ok, "{out}");
    let whole = started.elapsed();

    let mut interrupted = 0;
    for step in 0..12u32 {
        let mut child = cli_command(data.path(), &url, &["rotate-signing-key"], &env)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(whole * step / 10);
        if child.try_wait().unwrap().is_none() {
            interrupted += 1;
        }
        child.kill().ok();
        child.wait().unwrap();
        for entry in std::fs::read_dir(&keys).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "pem") {
                let kid = path.file_stem().unwrap().to_str().unwrap();
                let pem = std::fs::read(&path).unwrap();
                backend::security::signing_keys::SigningKey::from_pem(kid, &pem).unwrap_or_else(
                    |e| panic!("after kill {step}: {} is damaged: {e}", path.display()),
                );
            }
        }
    }
    assert!(interrupted > 0, "no run was killed before it ended");

    let mut server = Server::start(data.path(), logs.path(), &url, &env).await;
    server
        .wait_for("/readyz", 200, Duration::from_secs(60))
        .await;
    let cookie = signed_in(&server, "after_kills").await;
    let r = client()
        .get(server.url("/api/v1/me"))
        .header("Cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "tokens are signed and verify");
    server.stop();
}
