//! Per-user data keys and crypto-shredding (issue 17): each user's fields
//! under their own data key, wrapped by the field keys; a shred destroys
//! the key and nothing the server holds opens the user's data again; the
//! field keys' rotation re-wraps the keys and moves old `v1` values; a
//! field key that wraps data keys is held to the same start-up, status and
//! restore checks as one that encrypts values.

use crate::field_keys::serve_refused;
use crate::helpers::{enrol_totp, signed_in_admin, spawn_app, TestApp, PASSWORD};
use crate::key_rotation::{
    conn, database, insert_ssns, insert_totp, insert_users, mfa, open, ssn, stored_ssns,
    stored_totp, under, wrapped_keys,
};
use backend::db::models::user_key::UserDataKey;
use backend::db::schema::{user_data_keys, user_ssn};
use backend::security::field_crypto::FieldKeys;
use backend::security::user_keys::DataKey;
use backend::services::key_rotation::{self, RotationOptions};
use backend::services::user_keys;
use diesel::prelude::*;
use reqwest::Method;
use serde_json::{json, Value};
use std::process::Command;
use std::sync::Arc;

const K1_HEX: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const K2_HEX: &str = "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf";

fn k1() -> String {
    format!("k1:{K1_HEX}")
}
fn k2() -> String {
    format!("k2:{K2_HEX}")
}

pub(crate) async fn put_ssn(app: &TestApp, cookie: &str, number: &str) -> reqwest::Response {
    app.send(
        Method::PUT,
        "/api/v1/me/ssn",
        Some(&json!({ "ssn": number })),
        Some(cookie),
    )
    .await
}

pub(crate) async fn shred(app: &TestApp, cookie: &str, uid: &str) -> reqwest::Response {
    app.post_json(
        &format!("/api/v1/admin/users/{uid}/shred"),
        &json!({}),
        Some(cookie),
    )
    .await
}

/// The stored SSN ciphertext of `uid`, if any.
pub(crate) async fn ssn_row(app: &TestApp, uid: &str) -> Option<String> {
    let uid = uid.to_owned();
    backend::db::run(&app.state.pool, move |c| {
        Ok(user_ssn::table
            .find(uid)
            .select(user_ssn::ciphertext)
            .first::<String>(c)
            .optional()?)
    })
    .await
    .unwrap()
}

pub(crate) async fn data_key_row(app: &TestApp, uid: &str) -> Option<String> {
    let uid = uid.to_owned();
    backend::db::run(&app.state.pool, move |c| Ok(UserDataKey::find(c, &uid)?))
        .await
        .unwrap()
}

/// Every data key the database still holds, unwrapped with the server's
/// field keys.
async fn every_data_key(app: &TestApp) -> Vec<(String, DataKey)> {
    let rows = backend::db::run(&app.state.pool, |c| Ok(UserDataKey::all(c)?))
        .await
        .unwrap();
    rows.into_iter()
        .map(|(uid, wrapped)| {
            let key = DataKey::unwrap(&app.state.keys.fields, &uid, &wrapped).unwrap();
            (uid, key)
        })
        .collect()
}

#[tokio::test]
async fn two_users_ssns_are_under_different_data_keys_and_a_copied_value_fails() {
    let app = spawn_app().await;
    let alice = app.signed_in("dek_alice").await;
    let bob = app.signed_in("dek_bob").await;
    let (a, b) = (app.user_id(&alice).await, app.user_id(&bob).await);
    assert_eq!(put_ssn(&app, &alice, "123-45-6789").await.status(), 200);
    assert_eq!(put_ssn(&app, &bob, "234-56-4321").await.status(), 200);

    // The database: a wrapped key per user, under the current field key,
    // each bound to its user; the values in the `v2` format.
    let kek = &app.state.keys.fields;
    let (a_wrapped, b_wrapped) = (
        data_key_row(&app, &a).await.unwrap(),
        data_key_row(&app, &b).await.unwrap(),
    );
    for w in [&a_wrapped, &b_wrapped] {
        assert_eq!(FieldKeys::key_id_of(w), Some(kek.current_kid()), "{w}");
    }
    assert!(
        DataKey::unwrap(kek, &b, &a_wrapped).is_err(),
        "bound to alice"
    );
    let (a_value, b_value) = (
        ssn_row(&app, &a).await.unwrap(),
        ssn_row(&app, &b).await.unwrap(),
    );
    assert!(a_value.starts_with("v2:") && b_value.starts_with("v2:"));
    let a_key = DataKey::unwrap(kek, &a, &a_wrapped).unwrap();
    let b_key = DataKey::unwrap(kek, &b, &b_wrapped).unwrap();
    assert_eq!(a_key.decrypt(ssn(&a), &a_value).unwrap(), b"123-45-6789");
    // Different keys: bob's does not open alice's value, even on her row.
    assert!(b_key.decrypt(ssn(&a), &a_value).is_err());

    // Alice's value copied into bob's row: it decrypts under no key, and
    // bob's reads fail closed (a server error, nothing of alice shown).
    let (bid, copied) = (b.clone(), a_value.clone());
    backend::db::run(&app.state.pool, move |c| {
        diesel::update(user_ssn::table.find(bid))
            .set(user_ssn::ciphertext.eq(copied))
            .execute(c)?;
        Ok(())
    })
    .await
    .unwrap();
    assert!(b_key.decrypt(ssn(&b), &a_value).is_err());
    assert!(a_key.decrypt(ssn(&b), &a_value).is_err());
    let r = app.get("/api/v1/me/ssn", Some(&bob)).await;
    assert_eq!(r.status(), 500);
    assert!(!r.text().await.unwrap().contains("6789"));
    // Alice is unaffected.
    let status: Value = app
        .get("/api/v1/me/ssn", Some(&alice))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(status["masked"], "***-**-6789");
}

#[tokio::test]
async fn after_a_shred_no_key_the_server_holds_opens_the_users_data_and_others_are_unaffected() {
    let app = spawn_app().await;
    let (admin, _) = signed_in_admin(&app, "dek_boss").await;
    let alice = app.signed_in("dek_anna").await;
    let bob = app.signed_in("dek_bert").await;
    let (a, b) = (app.user_id(&alice).await, app.user_id(&bob).await);
    assert_eq!(put_ssn(&app, &alice, "123-45-6789").await.status(), 200);
    enrol_totp(&app, &alice).await;
    assert_eq!(put_ssn(&app, &bob, "234-56-4321").await.status(), 200);
    let old_value = ssn_row(&app, &a).await.unwrap();

    let r = shred(&app, &admin, &a).await;
    assert_eq!(r.status(), 204, "{}", r.text().await.unwrap());

    // Her key, her SSN and her TOTP secret are gone; her MFA removed, so
    // (as an MFA reset does) her sessions ended.
    assert_eq!(data_key_row(&app, &a).await, None);
    assert_eq!(ssn_row(&app, &a).await, None);
    let aid = a.clone();
    let mfa_left = backend::db::run(&app.state.pool, move |c| {
        Ok(backend::db::models::mfa::UserMfa::find(c, &aid)?.is_some())
    })
    .await
    .unwrap();
    assert!(!mfa_left);
    assert_eq!(app.get("/api/v1/me", Some(&alice)).await.status(), 401);

    // The copy of her value (a replica, a log, an old backup) opens under
    // no key the server holds: no field key (the format names none), no
    // remaining data key (bob's, the admin's if any).
    let kek = &app.state.keys.fields;
    for kid in kek.key_ids() {
        assert!(kek.decrypt(ssn(&a), &old_value).is_err(), "field key {kid}");
    }
    let remaining = every_data_key(&app).await;
    assert!(remaining.iter().any(|(uid, _)| uid == &b));
    for (uid, key) in &remaining {
        assert!(key.decrypt(ssn(&a), &old_value).is_err(), "{uid}'s key");
    }

    // Put back (a stale copy of the table): reads answer 410, never 500.
    let alice = app.login("dek_anna", PASSWORD).await;
    let (aid, stale) = (a.clone(), old_value.clone());
    backend::db::run(&app.state.pool, move |c| {
        diesel::insert_into(user_ssn::table)
            .values((
                user_ssn::user_id.eq(aid),
                user_ssn::ciphertext.eq(stale),
                user_ssn::updated_at.eq(chrono::Utc::now().naive_utc()),
            ))
            .execute(c)?;
        Ok(())
    })
    .await
    .unwrap();
    let r = app.get("/api/v1/me/ssn", Some(&alice)).await;
    assert_eq!(r.status(), 410);
    let body: Value = r.json().await.unwrap();
    assert!(
        body["error"].as_str().unwrap().contains("crypto-shredded"),
        "{body}"
    );
    let r = app
        .post_json(
            &format!("/api/v1/admin/users/{a}/ssn/reveal"),
            &json!({}),
            Some(&admin),
        )
        .await;
    assert_eq!(r.status(), 410);

    // Bob is unaffected.
    let status: Value = app
        .get("/api/v1/me/ssn", Some(&bob))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(status["masked"], "***-**-4321");
    assert!(data_key_row(&app, &b).await.is_some());

    // Audited, naming what was destroyed, never a value.
    let entries = backend::db::run(&app.state.pool, |c| {
        Ok(backend::db::models::audit_entry::AuditEntry::recent(
            c, 1000,
        )?)
    })
    .await
    .unwrap();
    let entry = entries
        .iter()
        .find(|e| e.action == "user_keys.shredded")
        .expect("audited");
    assert_eq!(entry.target.as_deref(), Some(a.as_str()));
    assert_eq!(entry.outcome, "success");
    let detail: Value = serde_json::from_str(&entry.detail).unwrap();
    assert_eq!(
        detail,
        json!({ "data_key": true, "ssn": true, "mfa": true })
    );
}

#[tokio::test]
async fn rotation_rewraps_data_keys_without_touching_values_and_moves_v1_values() {
    let dir = tempfile::tempdir().unwrap();
    let (_url, pool) = database(&dir).await;
    let old = FieldKeys::parse(&k1()).unwrap();
    let (totp, ssns) = {
        let mut c = conn(&pool);
        let ids = insert_users(&mut c, 6);
        // Old data: TOTP secrets as `v1` values; SSNs as the app writes
        // them now, under data keys wrapped by k1.
        (
            insert_totp(&mut c, &old, &ids),
            insert_ssns(&mut c, &old, &ids[..4]),
        )
    };
    let kek_ids = |pool: &backend::db::Pool| -> Vec<Option<String>> {
        user_data_keys::table
            .order(user_data_keys::user_id)
            .select(user_data_keys::kek_id)
            .load(&mut conn(pool))
            .unwrap()
    };
    assert_eq!(kek_ids(&pool), vec![Some("k1".to_owned()); 4]);
    let ssns_before = stored_ssns(&mut conn(&pool));

    let both = FieldKeys::parse(&format!("{},{}", k2(), k1())).unwrap();
    let report = key_rotation::rotate(&pool, Arc::new(both), RotationOptions::default(), |_| {})
        .await
        .unwrap();
    assert!(report.is_complete(), "{report:?}");
    // 6 TOTP values moved, 4 data keys re-wrapped (2 created by the move).
    assert_eq!(report.rotated(), 6 + 4);

    // The keys: all under k2 now (the generated column follows).
    assert_eq!(kek_ids(&pool), vec![Some("k2".to_owned()); 6]);
    // The SSN values are byte for byte what they were: re-wrapping the
    // key is enough.
    assert_eq!(stored_ssns(&mut conn(&pool)), ssns_before);
    let totp_rows = stored_totp(&mut conn(&pool));
    assert_eq!(under(&totp_rows, "k1"), 0);
    assert!(totp_rows.iter().all(|(_, s)| s.starts_with("v2:")));
    // Everything decrypts under k2 alone.
    let k2_only = FieldKeys::parse(&k2()).unwrap();
    let mut c = conn(&pool);
    for (id, stored) in &totp_rows {
        assert_eq!(open(&mut c, &k2_only, mfa(id), stored), totp[id]);
    }
    for (id, stored) in &ssns_before {
        assert_eq!(open(&mut c, &k2_only, ssn(id), stored), ssns[id]);
    }
    // ...and nothing under k1 alone.
    for (id, wrapped) in wrapped_keys(&mut c) {
        assert!(DataKey::unwrap(&old, &id, &wrapped).is_err());
    }
}

fn backend_cmd(
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

/// Data under data keys only (no `v1` value anywhere): the field key that
/// wraps them is as needed as one that encrypts values. Without it, `keys
/// status` says it must stay and exits non-zero, the server refuses to
/// start, and a backup of the data is refused by `restore`. (SQLite: the
/// restore is a SQLite command.)
#[tokio::test]
async fn a_missing_key_that_wraps_data_keys_is_refused_by_status_start_and_restore() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("app.db").display());
    let pool = backend::db::connection::build_pool(&url, 2).unwrap();
    backend::startup::migrations::migrate(&pool).await.unwrap();
    {
        let mut c = conn(&pool);
        let ids = insert_users(&mut c, 3);
        insert_ssns(&mut c, &FieldKeys::parse(&k1()).unwrap(), &ids);
        assert_eq!(
            stored_ssns(&mut c)
                .iter()
                .filter(|(_, s)| s.starts_with("v1:"))
                .count(),
            0
        );
    }

    // `keys status` with k2 alone: k1 keeps 3 rows (the wrapped keys).
    let (code, stdout, _) = backend_cmd(&dir, &url, &["keys", "status"], &k2());
    assert_eq!(code, Some(1), "{stdout}");
    assert!(
        stdout.contains("  user_data_keys.wrapped: k1 3"),
        "{stdout}"
    );
    assert!(
        stdout.contains("  k1: keep: 3 row(s) still under it; run `backend rotate-keys` — and FIELD_KEYS does not hold it"),
        "{stdout}"
    );
    assert!(
        stdout.contains("PROBLEM: user_data_keys.wrapped has rows under key `k1`"),
        "{stdout}"
    );
    // With both, k1 still cannot go (it wraps the keys)...
    let both = format!("{},{}", k2(), k1());
    let (code, stdout, _) = backend_cmd(&dir, &url, &["keys", "status", "--json"], &both);
    assert_eq!(code, Some(0));
    let status: Value = serde_json::from_str(&stdout).unwrap();
    let k1_verdict = status["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["key_id"] == "k1")
        .unwrap()
        .clone();
    assert_eq!(k1_verdict["can_go"], false, "{status}");
    assert_eq!(k1_verdict["rows"], 3);

    // The server refuses to start without k1.
    drop(pool);
    let out = serve_refused(&dir, &url, &k2()).await;
    assert!(
        out.contains("user_data_keys.wrapped has rows under key `k1`"),
        "{out}"
    );

    // A backup of it is refused by a restore without k1 (nothing changed).
    let backups = tempfile::tempdir().unwrap();
    let file = backups.path().join("dek.db");
    let (code, out, err) = backend_cmd(
        &dir,
        &url,
        &["backup", "--to", file.to_str().unwrap()],
        &k1(),
    );
    assert_eq!(code, Some(0), "{out}{err}");
    let manifest: Value = serde_json::from_slice(
        &std::fs::read(backend::services::backup::manifest_path(&file)).unwrap(),
    )
    .unwrap();
    assert_eq!(manifest["field_key_ids"]["user_data_keys.wrapped"]["k1"], 3);
    let (code, out, err) = backend_cmd(
        &dir,
        &url,
        &["restore", "--from", file.to_str().unwrap(), "--force"],
        &k2(),
    );
    assert_ne!(code, Some(0), "{out}");
    assert!(
        err.contains("FIELD_KEYS cannot decrypt the backup")
            && err.contains("user_data_keys.wrapped has rows under key `k1`"),
        "{err}"
    );
    // After a rotation k1 can go, and the same data starts on k2 alone.
    let (code, _, err) = backend_cmd(&dir, &url, &["rotate-keys"], &both);
    assert_eq!(code, Some(0), "{err}");
    let (code, stdout, _) = backend_cmd(&dir, &url, &["keys", "status"], &k2());
    assert_eq!(code, Some(0), "{stdout}");
    assert!(
        stdout.contains("  user_data_keys.wrapped: k2 3"),
        "{stdout}"
    );
}

#[tokio::test]
async fn a_value_sealed_by_the_service_is_v2_and_needs_its_users_key() {
    let dir = tempfile::tempdir().unwrap();
    let (_url, pool) = database(&dir).await;
    let kek = FieldKeys::parse(&k1()).unwrap();
    let mut c = conn(&pool);
    let ids = insert_users(&mut c, 2);
    let (a, b) = (&ids[0], &ids[1]);
    let sealed = backend::db::write_transaction(&mut c, |c| {
        user_keys::seal_blocking(c, &kek, ssn(a), a, b"123-45-6789")
    })
    .unwrap();
    // The same key for the same user next time; another user gets another.
    let again = backend::db::write_transaction(&mut c, |c| {
        user_keys::seal_blocking(c, &kek, ssn(a), a, b"x")
    })
    .unwrap();
    assert_eq!(open(&mut c, &kek, ssn(a), &again), b"x");
    backend::db::write_transaction(&mut c, |c| {
        user_keys::seal_blocking(c, &kek, ssn(b), b, b"y")
    })
    .unwrap();
    assert_eq!(wrapped_keys(&mut c).len(), 2);
    assert_eq!(open(&mut c, &kek, ssn(a), &sealed), b"123-45-6789");
    // Destroyed: the value answers "gone", not a server error.
    assert!(UserDataKey::destroy(&mut c, a).unwrap());
    let err = user_keys::open_blocking(&mut c, &kek, ssn(a), a, &sealed).unwrap_err();
    assert!(matches!(err, backend::error::AppError::Gone(_)), "{err:?}");
    assert!(!UserDataKey::destroy(&mut c, a).unwrap());
}
