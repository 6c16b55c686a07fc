//! `KEY_PROVIDER=pkcs11` against a real SoftHSM2 token (Debian's
//! `softhsm2`, installed by scripts/ensure-tools): tokens signed in the HSM
//! verify through the published JWKS, the private keys cannot leave the
//! token, field values round-trip through envelope encryption, rotations
//! (signing key, data key, key-encryption key) work, and a restarted server
//! finds the same keys.
//!
//! SoftHSM2 finds its tokens through `SOFTHSM2_CONF`, a process-wide
//! variable, so every server and command here is a child process (the real
//! `backend` binary) with its own environment and token directory; this
//! test process never loads the PKCS#11 module.

use crate::helpers::{fresh_database, start_binary, stop_binary, test_client};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;
use tempfile::TempDir;

const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
const PASSWORD: &str = crate::helpers::PASSWORD;

/// A SoftHSM2 token of its own in a temporary directory.
struct SoftHsm {
    _dir: TempDir,
    conf: PathBuf,
    label: String,
    pin: String,
}

impl SoftHsm {
    fn new() -> Self {
        assert!(
            Path::new(MODULE).exists(),
            "SoftHSM2 is missing: run scripts/ensure-tools (it installs softhsm2)"
        );
        let dir = tempfile::tempdir().unwrap();
        let tokens = dir.path().join("tokens");
        std::fs::create_dir_all(&tokens).unwrap();
        let conf = dir.path().join("softhsm2.conf");
        std::fs::write(
            &conf,
            format!(
                "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
                tokens.display()
            ),
        )
        .unwrap();
        let label = format!("t{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        // Random PINs: nothing secret-looking in the source.
        let pin = uuid::Uuid::new_v4().simple().to_string()[..16].to_owned();
        let so_pin = uuid::Uuid::new_v4().simple().to_string()[..16].to_owned();
        let out = Command::new("softhsm2-util")
            .args(["--init-token", "--free", "--label", &label])
            .args(["--pin", &pin, "--so-pin", &so_pin])
            .env("SOFTHSM2_CONF", &conf)
            .output()
            .expect("softhsm2-util runs (scripts/ensure-tools installs it)");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        Self {
            _dir: dir,
            conf,
            label,
            pin,
        }
    }

    /// The settings of `KEY_PROVIDER=pkcs11` for this token.
    fn env(&self) -> Vec<(String, String)> {
        vec![
            ("SOFTHSM2_CONF".into(), self.conf.display().to_string()),
            ("KEY_PROVIDER".into(), "pkcs11".into()),
            ("PKCS11_MODULE".into(), MODULE.into()),
            ("PKCS11_TOKEN_LABEL".into(), self.label.clone()),
            ("PKCS11_PIN".into(), self.pin.clone()),
        ]
    }
}

/// One data dir and database for a series of servers and commands.
struct Site {
    dir: TempDir,
    url: String,
    env: Vec<(String, String)>,
}

impl Site {
    fn new(hsm: &SoftHsm, extra: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = fresh_database(&dir);
        let mut env = hsm.env();
        env.extend(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        Self { dir, url, env }
    }

    fn vars(&self) -> Vec<(&str, &str)> {
        self.env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }

    /// Runs `backend <args>` on this site.
    fn command(&self, args: &[&str]) -> std::process::Output {
        Command::new(env!("CARGO_BIN_EXE_backend"))
            .args(args)
            .env_clear()
            .env("APP_DATA_DIR", self.dir.path())
            .env("DATABASE_URL", &self.url)
            .envs(self.vars())
            .output()
            .unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.command(args);
        assert!(
            out.status.success(),
            "backend {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn status(&self) -> Value {
        serde_json::from_str(&self.ok(&["keys", "status", "--json"])).unwrap()
    }

    /// A server on this site, ready (a generous deadline: the machine may
    /// be busy; a server that exits fails at once, with what it printed).
    async fn serve(&self) -> (std::process::Child, String) {
        let (mut child, addr) = start_binary(&self.dir, &self.url, &self.vars(), true);
        let base = format!("http://{addr}");
        let client = test_client();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
        loop {
            if client.get(format!("{base}/readyz")).send().await.is_ok() {
                return (child, base);
            }
            if child.try_wait().unwrap().is_some() || std::time::Instant::now() > deadline {
                let _ = child.kill();
                let out = child.wait_with_output().unwrap();
                panic!(
                    "the server did not start: {}{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }
}

async fn post(base: &str, path: &str, body: &Value, cookie: Option<&str>) -> reqwest::Response {
    let mut req = test_client()
        .post(format!("{base}{path}"))
        .header("Origin", base)
        .json(body);
    if let Some(c) = cookie {
        req = req.header("Cookie", c);
    }
    req.send().await.unwrap()
}

async fn get(base: &str, path: &str, cookie: Option<&str>) -> reqwest::Response {
    let mut req = test_client().get(format!("{base}{path}"));
    if let Some(c) = cookie {
        req = req.header("Cookie", c);
    }
    req.send().await.unwrap()
}

/// Registers `name` and signs in: the cookie header and the access token.
async fn signed_in(base: &str, name: &str) -> (String, String) {
    let r = post(
        base,
        "/api/v1/auth/register",
        &json!({"email": format!("{name}@example.org"), "username": name, "password": PASSWORD}),
        None,
    )
    .await;
    assert_eq!(r.status(), 201);
    login(base, name).await
}

async fn login(base: &str, name: &str) -> (String, String) {
    let r = post(
        base,
        "/api/v1/auth/login",
        &json!({"login": name, "password": PASSWORD}),
        None,
    )
    .await;
    assert_eq!(r.status(), 200);
    let cookie = crate::helpers::session_cookie(r.headers()).expect("session cookies");
    let token = cookie
        .split("; ")
        .find_map(|c| c.strip_prefix("__Host-access="))
        .unwrap()
        .to_owned();
    (cookie, token)
}

fn kid_of(token: &str) -> String {
    jsonwebtoken::decode_header(token).unwrap().kid.unwrap()
}

/// Verifies `token` with the key the server publishes for its kid, as a
/// resource server would: the JWK's n and e, nothing else.
async fn verify_through_jwks(base: &str, token: &str) -> Value {
    let jwks: Value = get(base, "/.well-known/jwks.json", None)
        .await
        .json()
        .await
        .unwrap();
    let kid = kid_of(token);
    let jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid.as_str())
        .unwrap_or_else(|| panic!("{kid} is not in the JWKS {jwks}"));
    assert!(jwk.get("d").is_none(), "the JWKS holds no private part");
    let key = jsonwebtoken::DecodingKey::from_rsa_components(
        jwk["n"].as_str().unwrap(),
        jwk["e"].as_str().unwrap(),
    )
    .unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_audience(&["secure-reference-api"]);
    jsonwebtoken::decode::<Value>(token, &key, &validation)
        .expect("the HSM-signed token verifies with the published key")
        .claims
}

fn assert_kept_inside(objects: &Value) {
    let objects = objects.as_array().unwrap();
    assert!(!objects.is_empty());
    for o in objects {
        assert_eq!(o["sensitive"], true, "{o}");
        assert_eq!(o["extractable"], false, "{o}");
        assert_eq!(o["never_extractable"], true, "{o}");
    }
}

async fn put_ssn(base: &str, cookie: &str, ssn: &str) {
    let r = test_client()
        .put(format!("{base}/api/v1/me/ssn"))
        .header("Origin", base)
        .header("Cookie", cookie)
        .json(&json!({ "ssn": ssn }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
}

async fn masked_ssn(base: &str, cookie: &str) -> Value {
    let r = get(base, "/api/v1/me/ssn", Some(cookie)).await;
    assert_eq!(r.status(), 200);
    r.json::<Value>().await.unwrap()["masked"].clone()
}

/// Read directly: the users' data keys as stored (each encrypted by a
/// field data key: `v1:<data key id>:…`; the SSNs are `v2:` under them),
/// and the field data keys as stored (id, KEK label, wrapped).
async fn stored(url: &str) -> (Vec<String>, Vec<(String, String, String)>) {
    let pool = backend::db::connection::build_pool(url, 1).unwrap();
    backend::db::run(&pool, |c| {
        use backend::db::schema::{field_data_keys, user_data_keys, user_ssn};
        use diesel::prelude::*;
        // The SSNs are under their users' data keys (`v2:`), and those are
        // what the field data keys encrypt (`v1:<data key id>:…`).
        let ssns = user_ssn::table
            .select(user_ssn::ciphertext)
            .load::<String>(c)?;
        assert!(ssns.iter().all(|v| v.starts_with("v2:")), "{ssns:?}");
        let user_keys = user_data_keys::table
            .select(user_data_keys::wrapped)
            .load::<String>(c)?;
        let keys = field_data_keys::table
            .select((
                field_data_keys::key_id,
                field_data_keys::kek_label,
                field_data_keys::wrapped,
            ))
            .load::<(String, String, String)>(c)?;
        Ok((user_keys, keys))
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn hsm_signed_tokens_verify_through_the_jwks_and_survive_a_restart_and_a_rotation() {
    let hsm = SoftHsm::new();
    let mut site = Site::new(&hsm, &[]);
    let init = site.ok(&["hsm-init"]);
    assert!(init.contains("generated in the token"), "{init}");

    let (server, base) = site.serve().await;
    let (cookie, token) = signed_in(&base, "hsm_ann").await;
    let claims = verify_through_jwks(&base, &token).await;
    assert_eq!(claims["type"], "access");
    let first_kid = kid_of(&token);

    // The private key is in the token, marked so that it cannot leave it,
    // and nothing on disk holds a signing key.
    let status = site.status();
    assert_eq!(status["key_provider"]["provider"], "pkcs11");
    assert_eq!(status["key_provider"]["token_label"], hsm.label.as_str());
    assert_kept_inside(&status["key_provider"]["signing_keys"]);
    assert_eq!(
        status["key_provider"]["signing_keys"][0]["label"],
        first_kid.as_str()
    );
    assert!(!site.dir.path().join("keys").join("signing").exists());
    let log = stop_binary(server);
    assert!(!log.contains(&hsm.pin), "the PIN is never logged");

    // A restarted server finds the same key: the old token still verifies.
    let (server, base) = site.serve().await;
    verify_through_jwks(&base, &token).await;
    assert_eq!(get(&base, "/api/v1/me", Some(&cookie)).await.status(), 200);

    // rotate-signing-key generates a new pair in the token. It is published
    // at once but signs only after SIGNING_KEY_PUBLICATION_SECS (every cached
    // JWKS holds it by then), as in files mode.
    let out = site.ok(&["rotate-signing-key"]);
    assert!(out.contains(&format!("the token `{}`", hsm.label)), "{out}");
    assert!(out.contains("starts signing at"), "{out}");
    stop_binary(server);
    let (server, base) = site.serve().await;
    let (_, still_old) = login(&base, "hsm_ann").await;
    assert_eq!(
        kid_of(&still_old),
        first_kid,
        "a new key waits before it signs"
    );
    let published = get(&base, "/.well-known/jwks.json", None).await;
    let published: serde_json::Value = published.json().await.unwrap();
    assert_eq!(
        published["keys"].as_array().unwrap().len(),
        2,
        "{published}"
    );
    stop_binary(server);
    // Once the delay is over (here: none), the new key signs; tokens of the
    // retired key keep verifying for their lifetime.
    site.env
        .push(("SIGNING_KEY_PUBLICATION_SECS".into(), "0".into()));
    let (server, base) = site.serve().await;
    let (_, new_token) = login(&base, "hsm_ann").await;
    assert_ne!(kid_of(&new_token), first_kid);
    verify_through_jwks(&base, &new_token).await;
    verify_through_jwks(&base, &token).await;
    assert_eq!(get(&base, "/api/v1/me", Some(&cookie)).await.status(), 200);
    assert_kept_inside(&site.status()["key_provider"]["signing_keys"]);
    assert_eq!(
        site.status()["key_provider"]["signing_keys"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    stop_binary(server);
}

#[tokio::test]
async fn field_values_round_trip_through_envelope_encryption_and_every_key_rotates() {
    let hsm = SoftHsm::new();
    // Dev mode creates the key-encryption key and the first data key.
    let site = Site::new(&hsm, &[]);
    let (server, base) = site.serve().await;
    let (cookie, _) = signed_in(&base, "hsm_bo").await;
    put_ssn(&base, &cookie, "123-45-6789").await;
    assert_eq!(masked_ssn(&base, &cookie).await, "***-**-6789");
    stop_binary(server);

    // The database holds the data key only wrapped; no key file exists.
    let (ssns, keys) = stored(&site.url).await;
    assert_eq!(keys.len(), 1);
    let (first_dk, first_kek, wrapped) = &keys[0];
    assert!(wrapped.starts_with("gcm1:"), "{wrapped}");
    assert!(first_kek.starts_with("field-kek-"));
    assert!(ssns[0].starts_with(&format!("v1:{first_dk}:")));
    assert!(!site.dir.path().join("keys").join("field.keys").exists());
    let status = site.status();
    assert_kept_inside(&status["key_provider"]["keks"]);
    assert_eq!(
        status["key_provider"]["data_keys"][0]["key_id"],
        first_dk.as_str()
    );

    // A restart unwraps the same data key: the value still decrypts.
    let (server, base) = site.serve().await;
    assert_eq!(masked_ssn(&base, &cookie).await, "***-**-6789");
    stop_binary(server);

    // rotate-keys --new-data-key: a new current data key, then every value
    // re-encrypted under it.
    let out = site.ok(&["rotate-keys", "--new-data-key"]);
    assert!(out.contains("1 re-encrypted"), "{out}");
    let (ssns, keys) = stored(&site.url).await;
    assert_eq!(keys.len(), 2);
    let new_dk = status_current_data_key(&site);
    assert_ne!(&new_dk, first_dk);
    assert!(ssns[0].starts_with(&format!("v1:{new_dk}:")), "{}", ssns[0]);

    // rotate-kek: a new KEK, every data key re-wrapped under it.
    let out = site.ok(&["rotate-kek"]);
    assert!(out.contains("2 data key(s) re-wrapped"), "{out}");
    let (_, keys) = stored(&site.url).await;
    let status = site.status();
    let keks = status["key_provider"]["keks"].as_array().unwrap().clone();
    assert_eq!(keks.len(), 2);
    let new_kek = keks[1]["label"].as_str().unwrap();
    assert!(keys
        .iter()
        .all(|(_, kek, w)| kek == new_kek && w != wrapped));
    assert_eq!(status["key_provider"]["unused_keks"], json!([first_kek]));

    // Both rotations are in the audit log; the chain still verifies.
    let audit = site.ok(&["verify-audit"]);
    assert!(audit.contains("audit log intact"), "{audit}");
    let actions = audit_actions(&site.url).await;
    for action in ["keys.data_key_created", "keys.kek_rotated", "keys.rotated"] {
        assert!(
            actions.iter().any(|a| a == action),
            "{action} in {actions:?}"
        );
    }

    // And a restarted server still reads the value.
    let (server, base) = site.serve().await;
    assert_eq!(masked_ssn(&base, &cookie).await, "***-**-6789");
    stop_binary(server);
}

fn status_current_data_key(site: &Site) -> String {
    site.status()["key_provider"]["data_keys"][0]["key_id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn audit_actions(url: &str) -> Vec<String> {
    let pool = backend::db::connection::build_pool(url, 1).unwrap();
    backend::db::run(&pool, |c| {
        use backend::db::schema::audit_log;
        use diesel::prelude::*;
        Ok(audit_log::table
            .select(audit_log::action)
            .load::<String>(c)?)
    })
    .await
    .unwrap()
}

/// Production settings but the key provider's (and the session key).
fn production(hsm: &SoftHsm) -> Site {
    Site::new(
        hsm,
        &[("APP_ENV", "production"), ("SESSION_KEY", &"5e".repeat(32))],
    )
}

#[test]
fn attack_a_wrong_pkcs11_pin_stops_start_up_without_echoing_either_pin() {
    let hsm = SoftHsm::new();
    let mut site = Site::new(&hsm, &[("APP_ADDR", "127.0.0.1:0")]);
    let wrong = format!("{}x", hsm.pin);
    for (k, v) in &mut site.env {
        if k == "PKCS11_PIN" {
            *v = wrong.clone();
        }
    }
    let out = site.command(&["serve"]);
    assert!(!out.status.success());
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        printed.contains("PKCS11_PIN") && printed.contains("refused the PIN"),
        "{printed}"
    );
    assert!(!printed.contains(&hsm.pin), "{printed}");
    // The database was not touched.
    assert!(!site.dir.path().join("app.db").exists() || site.url.starts_with("postgres"));
}

#[test]
fn attack_production_refuses_a_token_without_its_keys_and_names_the_command() {
    let hsm = SoftHsm::new();
    let site = production(&hsm);
    // An empty token: no signing key.
    let out = site.command(&["serve"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("holds no signing key") && stderr.contains("backend hsm-init"),
        "{stderr}"
    );
    // A signing key but no key-encryption key: still refused, nothing made.
    site.ok(&["rotate-signing-key"]);
    let out = site.command(&["serve"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("holds no key-encryption key") && stderr.contains("backend hsm-init"),
        "{stderr}"
    );
    assert!(site.status_fails_without_kek());
    // hsm-init creates what is missing; then production starts.
    let out = site.ok(&["hsm-init"]);
    assert!(out.contains("key-encryption key field-kek-"), "{out}");
    let status = site.status();
    assert_eq!(status["key_provider"]["keks"].as_array().unwrap().len(), 1);
    assert_eq!(
        status["key_provider"]["data_keys"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

impl Site {
    /// `keys status` refuses too (it would have to create the data key).
    fn status_fails_without_kek(&self) -> bool {
        !self.command(&["keys", "status"]).status.success()
    }
}

#[test]
fn the_pkcs11_commands_refuse_in_files_mode() {
    let dir = tempfile::tempdir().unwrap();
    for cmd in [&["hsm-init"][..], &["rotate-kek"][..]] {
        let out = Command::new(env!("CARGO_BIN_EXE_backend"))
            .args(cmd)
            .env_clear()
            .env("APP_DATA_DIR", dir.path())
            .output()
            .unwrap();
        assert!(!out.status.success());
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("is for KEY_PROVIDER=pkcs11"),
            "{cmd:?}"
        );
    }
}

#[tokio::test]
async fn a_new_data_key_waits_for_the_running_servers_then_the_rotation_resumes() {
    let hsm = SoftHsm::new();
    let site = Site::new(&hsm, &[]);
    let (server, base) = site.serve().await;
    let (cookie, _) = signed_in(&base, "hsm_cy").await;
    put_ssn(&base, &cookie, "123-45-6789").await;
    let old_dk = status_current_data_key(&site);

    // The running server does not hold the new key: the key is stored, the
    // re-encryption refused, naming what to do.
    let out = site.command(&["rotate-keys", "--new-data-key"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let new_dk = status_current_data_key(&site);
    assert_ne!(new_dk, old_dk);
    assert!(
        stderr.contains(&format!("do not hold field key {new_dk}"))
            && stderr.contains("without --new-data-key"),
        "{stderr}"
    );
    let (ssns, _) = stored(&site.url).await;
    assert!(ssns[0].starts_with(&format!("v1:{old_dk}:")));
    // The running server still reads and writes under what it holds.
    assert_eq!(masked_ssn(&base, &cookie).await, "***-**-6789");
    stop_binary(server);

    // Restarted, the server loads the new key; the rotation then finishes.
    let (server, base) = site.serve().await;
    let out = site.ok(&["rotate-keys"]);
    assert!(out.contains("1 re-encrypted"), "{out}");
    let (ssns, _) = stored(&site.url).await;
    assert!(ssns[0].starts_with(&format!("v1:{new_dk}:")), "{}", ssns[0]);
    assert_eq!(masked_ssn(&base, &cookie).await, "***-**-6789");
    stop_binary(server);
}

/// The database file's bytes: a refused restore changed nothing.
fn file_sha(path: &Path) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(std::fs::read(path).unwrap()))
}

#[tokio::test]
async fn a_backup_is_restored_through_the_token_and_refused_by_a_token_without_its_kek() {
    let hsm = SoftHsm::new();
    let mut site = Site::new(&hsm, &[]);
    // `restore` replaces SQLite files (PostgreSQL: `--into`, in backup.rs).
    site.url = format!("sqlite://{}", site.dir.path().join("app.db").display());
    let (server, base) = site.serve().await;
    let (cookie, _) = signed_in(&base, "hsm_rb").await;
    put_ssn(&base, &cookie, "123-45-6789").await;
    stop_binary(server);
    let (_, keys_then) = stored(&site.url).await;
    let backup = site.dir.path().join("backup.db");
    site.ok(&["backup", "--to", backup.to_str().unwrap()]);

    // After the backup: more writes, and a new KEK wrapping every data key
    // (the old one stays in the token for this backup).
    let (server, base) = site.serve().await;
    put_ssn(&base, &cookie, "234-56-7890").await;
    signed_in(&base, "hsm_rc").await;
    stop_binary(server);
    site.ok(&["rotate-kek"]);
    let old_kek = keys_then[0].1.clone();
    assert!(stored(&site.url)
        .await
        .1
        .iter()
        .all(|(_, kek, _)| *kek != old_kek));

    // Mistake: another token (a fresh one, not the restored backup of the
    // right one): refused, naming the KEK it lacks; nothing changed.
    let db = site.dir.path().join("app.db");
    let before = file_sha(&db);
    let other = SoftHsm::new();
    let ours = std::mem::replace(&mut site.env, other.env());
    let out = site.command(&["restore", "--from", backup.to_str().unwrap(), "--force"]);
    site.env = ours;
    let printed = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        printed.contains(&format!("`{old_kek}`"))
            && printed.contains("does not hold")
            && printed.contains("nothing was changed"),
        "{printed}"
    );
    assert_eq!(file_sha(&db), before);

    // The right token: restored; the backup's own data keys decrypt its
    // values (the SSN of then), the later user is gone.
    let out = site.ok(&["restore", "--from", backup.to_str().unwrap(), "--force"]);
    assert!(out.contains("restored"), "{out}");
    assert_eq!(stored(&site.url).await.1, keys_then);
    let status = site.status();
    assert_eq!(status["key_provider"]["provider"], "pkcs11");
    assert!(site.ok(&["verify-audit"]).contains("audit log intact"));
    let (server, base) = site.serve().await;
    assert_eq!(masked_ssn(&base, &cookie).await, "***-**-6789");
    let gone = post(
        &base,
        "/api/v1/auth/login",
        &json!({"login": "hsm_rc", "password": PASSWORD}),
        None,
    )
    .await;
    assert_eq!(gone.status(), 401);
    stop_binary(server);
}

impl SoftHsm {
    /// `softhsm2-util --import <file> <args>` into this token: a key whose
    /// value existed outside the token (a file a copy of the disk holds).
    fn import(&self, file: &Path, args: &[&str]) {
        let out = Command::new("softhsm2-util")
            .arg("--import")
            .arg(file)
            .args(["--token", &self.label, "--pin", &self.pin])
            .args(args)
            .env("SOFTHSM2_CONF", &self.conf)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// `serve` on `site`, expected to stop by itself (a generous deadline; a
/// server that comes up instead fails the test): what it printed.
async fn refused_serve(site: &Site) -> String {
    let (mut child, _) = start_binary(&site.dir, &site.url, &site.vars(), true);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("the server started on keys that were not generated in the token");
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success());
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Attack: keys that were put into the token from files (`softhsm2-util
/// --import`, a vendor's import tool) are marked sensitive and not
/// extractable, but their values existed outside it, where a copy of the
/// disk or a backup still has them: a newer signing key that way would
/// sign tokens anyone holding the file can forge; a newer KEK that way
/// would wrap every new data key under a key that is on disk. The token's
/// own attributes say so (`always_sensitive`/`never_extractable` false):
/// the server refuses to start on either, naming the key and the remedy,
/// and never the PIN.
#[tokio::test]
async fn attack_keys_imported_into_the_token_are_refused() {
    let files = tempfile::tempdir().unwrap();
    let now = chrono::Utc::now().timestamp();

    // A signing key pair from a PEM file, labelled as the newest key.
    let hsm = SoftHsm::new();
    let site = Site::new(&hsm, &[]);
    site.ok(&["hsm-init"]);
    let pem = files.path().join("signing.pem");
    let out = Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
        ])
        .arg("-out")
        .arg(&pem)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let kid = format!("{}-0badc0de", now + 5);
    hsm.import(&pem, &["--label", &kid, "--id", &hex::encode(&kid)]);
    let printed = refused_serve(&site).await;
    assert!(
        printed.contains(&kid) && printed.contains("was not generated in it"),
        "{printed}"
    );
    assert!(!printed.contains(&hsm.pin), "{printed}");

    // An AES key from a file, labelled as the newest KEK (it would be
    // current): refused too; `rotate-kek` is the way out, and then the
    // server starts (the imported KEK wraps nothing any more).
    let hsm = SoftHsm::new();
    let site = Site::new(&hsm, &[]);
    site.ok(&["hsm-init"]);
    let aes = files.path().join("kek.bin");
    std::fs::write(&aes, [0x42u8; 32]).unwrap();
    let label = format!("field-kek-{}-0badc0de", now + 5);
    hsm.import(&aes, &["--aes", "--label", &label, "--id", "4b"]);
    let printed = refused_serve(&site).await;
    assert!(
        printed.contains(&label)
            && printed.contains("was not generated in it")
            && printed.contains("backend rotate-kek"),
        "{printed}"
    );
    assert!(!printed.contains(&hsm.pin), "{printed}");
    site.ok(&["rotate-kek"]);
    let (server, _) = site.serve().await;
    stop_binary(server);
}
