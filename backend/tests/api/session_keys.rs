//! `SESSION_KEY` as a key set, by the rotation procedure of docs/operations.md: what was
//! issued under the old key keeps working while both are held, ends cleanly
//! once the old key is removed, and what is new is under the new key.
//!
//! Each step is a server started on the same database with the data
//! directory's keys copied (field and signing keys alike) and `SESSION_KEY`
//! (the dev key file `keys/session.key`) changed, as a redeploy would.

use crate::helpers::oauth_flow::{post_form, query};
use crate::helpers::{
    enrolment, fresh_database, oauth_client, spawn_on, start_binary, stop_binary, test_client,
    wait_until_ready, TestApp, PASSWORD,
};
use backend::db::schema::{mfa_challenges, oauth_clients, recovery_codes, refresh_tokens};
use backend::security::session_keys::SessionKeys;
use diesel::prelude::*;
use serde_json::{json, Value};
use std::path::Path;
use tempfile::TempDir;

const H1: &str = "1111111111111111111111111111111111111111111111111111111111111111";
const H2: &str = "2222222222222222222222222222222222222222222222222222222222222222";
const H3: &str = "3333333333333333333333333333333333333333333333333333333333333333";
const REDIRECT: &str = "https://client.example/cb";

/// A data directory holding `from`'s field and signing keys and `session`
/// as `SESSION_KEY`.
fn redeployed(from: &Path, session: &str) -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    std::fs::create_dir_all(keys.join("signing")).unwrap();
    std::fs::copy(from.join("keys/field.keys"), keys.join("field.keys")).unwrap();
    for entry in std::fs::read_dir(from.join("keys/signing")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), keys.join("signing").join(entry.file_name())).unwrap();
    }
    std::fs::write(keys.join("session.key"), session).unwrap();
    dir
}

/// The stored digests of one column, by key id (`legacy`: no prefix).
async fn kids(pool: &backend::db::Pool, column: &'static str) -> Vec<String> {
    let hashes: Vec<String> = backend::db::run(pool, move |c| {
        Ok(match column {
            "refresh" => refresh_tokens::table
                .select(refresh_tokens::token_hash)
                .load(c)?,
            "challenge" => mfa_challenges::table
                .select(mfa_challenges::token_hash)
                .load(c)?,
            "recovery" => recovery_codes::table
                .select(recovery_codes::code_hash)
                .load(c)?,
            _ => oauth_clients::table
                .select(oauth_clients::secret_hash)
                .load::<Option<String>>(c)?
                .into_iter()
                .flatten()
                .collect(),
        })
    })
    .await
    .unwrap();
    let mut kids: Vec<String> = hashes
        .iter()
        .map(|h| backend::security::session_keys::SessionKeys::key_id_of(h).to_owned())
        .collect();
    kids.sort();
    kids.dedup();
    kids
}

async fn api_tokens(app: &TestApp, login: &str) -> Value {
    let r = app
        .post_json(
            "/api/v1/auth/token",
            &json!({ "login": login, "password": PASSWORD }),
            None,
        )
        .await;
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

async fn refresh(app: &TestApp, token: &str) -> (u16, Value) {
    let r = app
        .post_json(
            "/api/v1/auth/refresh",
            &json!({ "refresh_token": token }),
            None,
        )
        .await;
    (r.status().as_u16(), r.json().await.unwrap())
}

/// The first login step of a user with MFA: the challenge token.
async fn mfa_challenge(app: &TestApp, login: &str) -> String {
    let body = api_login(app, login).await;
    body["mfa_token"].as_str().unwrap().to_owned()
}

async fn api_login(app: &TestApp, login: &str) -> Value {
    let r = app
        .post_json(
            "/api/v1/auth/login",
            &json!({ "login": login, "password": PASSWORD }),
            None,
        )
        .await;
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

async fn second_step(app: &TestApp, token: &str, code: &str) -> (u16, Value) {
    let r = app
        .post_json(
            "/api/v1/auth/login/mfa",
            &json!({ "mfa_token": token, "code": code }),
            None,
        )
        .await;
    (r.status().as_u16(), r.json().await.unwrap())
}

/// Client authentication, as `/oauth/introspect` checks it.
async fn client_auth(app: &TestApp, id: &str, secret: &str) -> (u16, Value) {
    let body = query(&[("token", "not-a-token")]);
    let r = post_form(app, "/oauth/introspect", &body, None, Some((id, secret))).await;
    (r.status().as_u16(), r.json().await.unwrap())
}

#[tokio::test]
async fn what_was_issued_under_the_old_session_key_lives_until_the_key_leaves() {
    // Before: one key, k1.
    let dir = tempfile::tempdir().unwrap();
    let first_dir = dir.path().to_owned();
    std::fs::create_dir_all(first_dir.join("keys")).unwrap();
    std::fs::write(first_dir.join("keys/session.key"), format!("k1:{H1}")).unwrap();
    let url = fresh_database(&dir);
    let app1 = spawn_on(dir, url.clone(), &[]).await;

    app1.register("rita", "rita@example.org").await;
    let refresh_a = api_tokens(&app1, "rita").await["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let refresh_b = api_tokens(&app1, "rita").await["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let cookie = app1.signed_in("moira").await;
    let codes = enrolment(&app1, &cookie).await.recovery_codes;
    let challenge_a = mfa_challenge(&app1, "moira").await;
    let challenge_b = mfa_challenge(&app1, "moira").await;
    let (client_id, secret) = oauth_client(&app1, false, &[REDIRECT], &["account"]).await;
    let secret = secret.unwrap();
    assert_eq!(client_auth(&app1, &client_id, &secret).await.0, 200);
    for column in ["refresh", "challenge", "recovery", "secret"] {
        assert_eq!(kids(&app1.state.pool, column).await, ["k1"], "{column}");
    }

    // Step 1: the new key added after the old one (every instance can then
    // verify what any will store under it); new values stay under k1.
    let added = redeployed(&first_dir, &format!("k1:{H1},k2:{H2}"));
    let app_added = spawn_on(added, url.clone(), &[]).await;
    mfa_challenge(&app_added, "moira").await;
    assert_eq!(kids(&app_added.state.pool, "challenge").await, ["k1"]);
    // Mistake: new key material under the old id, alone or with the old
    // key: refused (`appears twice` is the parser's, FIELD_KEYS's rule).
    let reused = redeployed(&first_dir, &format!("k1:{H3}"));
    let err = refused_start(&reused, &url).await;
    assert!(err.contains("a new key needs a new id"), "{err}");
    assert!(!err.contains(H3) && !err.contains(H1), "{err}");
    let twice = redeployed(&first_dir, &format!("k1:{H3},k1:{H1}"));
    let err = refused_start(&twice, &url).await;
    assert!(err.contains("key id `k1` appears twice"), "{err}");

    // Step 2: the new key first, the old one kept after it.
    let both = redeployed(&first_dir, &format!("k2:{H2},k1:{H1}"));
    let app2 = spawn_on(both, url.clone(), &[]).await;
    // A refresh token under k1 works, and its successor is under k2.
    let (status, body) = refresh(&app2, &refresh_a).await;
    assert_eq!(status, 200, "{body}");
    let refresh_k2 = body["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(kids(&app2.state.pool, "refresh").await, ["k1", "k2"]);
    // An MFA challenge and a recovery code under k1 work.
    let (status, body) = second_step(&app2, &challenge_a, &codes[0]).await;
    assert_eq!(status, 200, "{body}");
    // A client secret under k1 works.
    assert_eq!(client_auth(&app2, &client_id, &secret).await.0, 200);
    // New ones are under k2.
    let challenge_k2 = mfa_challenge(&app2, "moira").await;
    let (new_client, new_secret) = oauth_client(&app2, false, &[REDIRECT], &["account"]).await;
    let new_secret = new_secret.unwrap();
    assert_eq!(kids(&app2.state.pool, "challenge").await, ["k1", "k2"]);
    assert_eq!(kids(&app2.state.pool, "secret").await, ["k1", "k2"]);
    // `keys status`: k1 cannot go yet, and says why.
    let status = session_status(&app2).await;
    let k1 = &status["k1"];
    assert_eq!(k1["can_go"], false, "{k1}");
    // rita's unused second token and moira's browser session.
    assert_eq!(k1["live_rows"]["refresh_tokens"], 2, "{k1}");
    assert_eq!(k1["live_rows"]["recovery_codes"], 9, "{k1}");
    assert_eq!(k1["live_rows"]["client_secrets"], 1, "{k1}");
    assert!(k1["verdict"]
        .as_str()
        .unwrap()
        .contains("client secrets only when rotated"));
    assert_eq!(status["k2"]["current"], true);

    // Step 3 (here too early: k1 still has rows). The old key removed: the
    // server starts (warned, not refused: removing a leaked key at once
    // must stay possible), and what is still under it fails cleanly.
    let new_only = redeployed(&first_dir, &format!("k2:{H2}"));
    let app3 = spawn_on(new_only, url, &[]).await;
    let (status, body) = refresh(&app3, &refresh_b).await;
    assert_eq!(status, 401, "{body}");
    assert!(body["error"].is_string(), "{body}");
    let (status, body) = second_step(&app3, &challenge_b, &codes[1]).await;
    assert_eq!(status, 401, "{body}");
    assert!(body["error"].is_string(), "{body}");
    // A recovery code under k1, with a challenge under k2: refused.
    let (status, body) = second_step(&app3, &challenge_k2, &codes[2]).await;
    assert_eq!(status, 401, "{body}");
    let (status, body) = client_auth(&app3, &client_id, &secret).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"], "invalid_client", "{body}");
    // What is under k2 works without k1.
    assert_eq!(refresh(&app3, &refresh_k2).await.0, 200);
    assert_eq!(client_auth(&app3, &new_client, &new_secret).await.0, 200);
    let status = session_status(&app3).await;
    assert_eq!(status["k1"]["in_session_key"], false);
    assert!(
        status["k1"]["verdict"]
            .as_str()
            .unwrap()
            .contains("these no longer verify"),
        "{status}"
    );
}

/// Starting with this data directory's keys fails; the error's text.
async fn refused_start(dir: &TempDir, url: &str) -> String {
    let settings = crate::helpers::settings_for(dir, url, &[]);
    match backend::startup::Application::build(settings).await {
        Ok(_) => panic!("started"),
        Err(e) => format!("{e:#}"),
    }
}

/// `keys status`'s session-key part, by key id.
async fn session_status(app: &TestApp) -> Value {
    let state = app.state.clone();
    let now = chrono::Utc::now().naive_utc();
    let list = backend::db::run(&app.state.pool, move |c| {
        backend::services::session_keys::status(c, &state.keys.session, now)
    })
    .await
    .unwrap();
    let mut out = serde_json::Map::new();
    for s in list {
        out.insert(s.key_id.clone(), serde_json::to_value(&s).unwrap());
    }
    Value::Object(out)
}

/// Today's single key is the key `legacy`; rows written before key sets
/// (no prefix) are its rows, found when it is kept as `legacy:<old>`.
#[tokio::test]
async fn a_single_key_deployment_moves_to_a_key_set() {
    let dir = tempfile::tempdir().unwrap();
    let first_dir = dir.path().to_owned();
    std::fs::create_dir_all(first_dir.join("keys")).unwrap();
    std::fs::write(first_dir.join("keys/session.key"), H1).unwrap();
    let url = fresh_database(&dir);
    let app1 = spawn_on(dir, url.clone(), &[]).await;
    app1.register("lena", "lena@example.org").await;
    let token = api_tokens(&app1, "lena").await["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(kids(&app1.state.pool, "refresh").await, ["legacy"]);
    // As a row written before key sets: the bare HMAC.
    backend::db::run(&app1.state.pool, |c| {
        let rows: Vec<(String, String)> = refresh_tokens::table
            .select((refresh_tokens::id, refresh_tokens::token_hash))
            .load(c)?;
        for (id, hash) in rows {
            let bare = hash.trim_start_matches("legacy:").to_owned();
            diesel::update(refresh_tokens::table.filter(refresh_tokens::id.eq(id)))
                .set(refresh_tokens::token_hash.eq(bare))
                .execute(c)?;
        }
        Ok(())
    })
    .await
    .unwrap();

    let both = redeployed(&first_dir, &format!("s2:{H2},legacy:{H1}"));
    let app2 = spawn_on(both, url, &[]).await;
    let (status, body) = refresh(&app2, &token).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(kids(&app2.state.pool, "refresh").await, ["legacy", "s2"]);
}

/// `backend rotate-session-key <step>` with `SESSION_KEY=spec`: (success,
/// stdout, stderr).
fn rotate_step(dir: &Path, url: &str, spec: &str, args: &[&str]) -> (bool, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_backend"))
        .arg("rotate-session-key")
        .args(args)
        .env_clear()
        .env("APP_DATA_DIR", dir)
        .env("DATABASE_URL", url)
        .env("SESSION_KEY", spec)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).trim().to_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn refused(result: (bool, String, String), says: &str) {
    let (ok, out, err) = result;
    let text = format!("{out}{err}");
    assert!(!ok, "not refused: {text}");
    assert!(text.contains(says), "{text}");
    assert!(!text.contains(&H1[..16]), "a refusal prints no key: {text}");
}

/// One server process on the shared database with `SESSION_KEY=spec`:
/// a real instance (its heartbeat row goes when it stops cleanly). Its
/// base URL.
async fn instance(dir: &TempDir, url: &str, spec: &str) -> (std::process::Child, String) {
    let (child, addr) = start_binary(dir, url, &[("SESSION_KEY", spec)], false);
    let base = format!("http://{addr}");
    wait_until_ready(&base).await;
    (child, base)
}

async fn post(base: &str, path: &str, body: Value) -> (u16, Value) {
    let r = test_client()
        .post(format!("{base}{path}"))
        .header("Origin", base)
        .json(&body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

/// docs/operations.md's session-key rotation, step by step through
/// `backend rotate-session-key`, against real server processes, with each
/// mistake an operator plausibly makes on the way refused before it costs
/// anything.
#[tokio::test]
async fn the_rotation_command_walks_the_procedure_and_refuses_each_mistake() {
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database(&dir);
    let pool = backend::db::connection::build_pool(&url, 1).unwrap();
    let cli_dir = tempfile::tempdir().unwrap();
    let cli = cli_dir.path();
    let v0 = format!("k1:{H1}");
    let (server1, base1) = instance(&dir, &url, &v0).await;
    let (status, body) = post(
        &base1,
        "/api/v1/auth/register",
        json!({ "email": "tess@example.org", "username": "tess", "password": PASSWORD }),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = post(
        &base1,
        "/api/v1/auth/token",
        json!({ "login": "tess", "password": PASSWORD }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let token = body["refresh_token"].as_str().unwrap().to_owned();

    // Out of order: nothing to promote; the current key cannot go.
    refused(
        rotate_step(cli, &url, &v0, &["promote"]),
        "no key waits to become current",
    );
    refused(
        rotate_step(cli, &url, &v0, &["retire", "k1"]),
        "`k1` is the current key",
    );
    refused(
        rotate_step(cli, &url, &v0, &["retire", "k9"]),
        "holds no key `k9`",
    );

    // Step 1: a new key after the current one, under an id never used.
    let (ok, v1, says) = rotate_step(cli, &url, &v0, &["add"]);
    assert!(ok, "{says}");
    let added = SessionKeys::parse(&v1).unwrap();
    let ids = added.key_ids();
    assert_eq!(ids.len(), 2, "{ids:?}");
    assert_eq!(ids[0], "k1", "the old key stays current: {ids:?}");
    let new_kid = ids[1].to_owned();
    assert!(v1.starts_with(&v0), "the old key material is kept");
    assert!(says.contains("promote"), "{says}");
    assert!(!says.contains(H1), "stderr holds no key material: {says}");
    // Twice in a row: refused (the first new key is not current yet).
    refused(rotate_step(cli, &url, &v1, &["add"]), "is not current yet");
    // Promoting before any server runs with it: refused.
    refused(
        rotate_step(cli, &url, &v1, &["promote"]),
        "no server has started with",
    );

    // Deployed to one instance while the other still runs the old set.
    let (server2, _) = instance(&dir, &url, &v1).await;
    refused(
        rotate_step(cli, &url, &v1, &["promote"]),
        "1 live instance(s) do not hold",
    );
    stop_binary(server1);

    // Step 2: the new key first.
    let (ok, v2, says) = rotate_step(cli, &url, &v1, &["promote"]);
    assert!(ok, "{says}");
    let promoted = SessionKeys::parse(&v2).unwrap();
    assert_eq!(promoted.key_ids(), [new_kid.as_str(), "k1"]);
    assert!(says.contains("retire k1"), "{says}");
    let (server3, base3) = instance(&dir, &url, &v2).await;

    // Step 4 too early: an instance still stores under k1, and a live
    // refresh token is under it.
    refused(
        rotate_step(cli, &url, &v2, &["retire", "k1"]),
        "still store new values under `k1`",
    );
    stop_binary(server2);
    refused(
        rotate_step(cli, &url, &v2, &["retire", "k1"]),
        "still under `k1`: 1 refresh token(s)",
    );
    // --force (a leaked key) would end it, and says so.
    let (ok, _, says) = rotate_step(cli, &url, &v2, &["retire", "k1", "--force"]);
    assert!(
        ok && says.contains("These stop verifying: 1 refresh token(s)"),
        "{says}"
    );

    // Step 3: the token is used, and moves to the new key.
    let (status, body) = post(
        &base3,
        "/api/v1/auth/refresh",
        json!({ "refresh_token": token }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(kids(&pool, "refresh").await, ["k1", new_kid.as_str()]);
    let (ok, v3, says) = rotate_step(cli, &url, &v2, &["retire", "k1"]);
    assert!(ok, "{says}");
    assert_eq!(
        SessionKeys::parse(&v3).unwrap().key_ids(),
        [new_kid.as_str()]
    );

    // The last set runs; the refreshed session lives on under it.
    stop_binary(server3);
    let (server4, base4) = instance(&dir, &url, &v3).await;
    let (status, body) = post(
        &base4,
        "/api/v1/auth/refresh",
        json!({ "refresh_token": body["refresh_token"] }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    stop_binary(server4);
}

/// Attack (operator mistake): a step run with a `SESSION_KEY` that gives a
/// key id the servers already recorded other key material (a second `add`
/// whose output was kept instead of the deployed one, a pasted typo). The
/// step must refuse, not print a set every server then refuses to start
/// with (or, once current, one whose stored values nobody can verify).
#[tokio::test]
async fn attack_a_step_run_with_other_material_under_a_recorded_key_id_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database(&dir);
    let cli_dir = tempfile::tempdir().unwrap();
    let cli = cli_dir.path();
    let v0 = format!("k1:{H1}");
    let (server1, _) = instance(&dir, &url, &v0).await;

    let says = "a key other than the one first used";
    let wrong_current = format!("k1:{H2}");
    for step in [&["add"][..], &["promote"], &["retire", "k9"]] {
        refused(rotate_step(cli, &url, &wrong_current, step), says);
    }

    // Step 1 deployed, so its new id is recorded; then promote run with
    // another key under that id.
    let (ok, v1, err) = rotate_step(cli, &url, &v0, &["add"]);
    assert!(ok, "{err}");
    let new_kid = SessionKeys::parse(&v1).unwrap().key_ids()[1].to_owned();
    let (server2, _) = instance(&dir, &url, &v1).await;
    stop_binary(server1);
    let forged = format!("{v0},{new_kid}:{H3}");
    refused(rotate_step(cli, &url, &forged, &["promote"]), says);
    refused(
        rotate_step(
            cli,
            &url,
            &format!("{new_kid}:{H3},{v0}"),
            &["retire", "k1"],
        ),
        says,
    );
    // The right set still promotes.
    let (ok, v2, err) = rotate_step(cli, &url, &v1, &["promote"]);
    assert!(ok, "{err}");
    assert_eq!(
        SessionKeys::parse(&v2).unwrap().key_ids(),
        [new_kid.as_str(), "k1"]
    );
    stop_binary(server2);
}
