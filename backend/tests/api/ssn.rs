//! The encrypted SSN field: validation, masking, reveal with a fresh second
//! factor (own and admin), audit, and never a plaintext outside a reveal.

use crate::helpers::{
    enrol_totp, signed_in_admin, spawn_app, spawn_app_with, totp_secret, TestApp, PASSWORD,
};
use reqwest::Method;
use serde_json::{json, Value};

const SSN: &str = "123-45-6789";

async fn put_ssn(app: &TestApp, cookie: &str, ssn: &str) -> reqwest::Response {
    app.send(
        Method::PUT,
        "/api/v1/me/ssn",
        Some(&json!({ "ssn": ssn })),
        Some(cookie),
    )
    .await
}

#[tokio::test]
async fn an_ssn_is_stored_encrypted_and_shown_masked() {
    let app = spawn_app().await;
    let cookie = app.signed_in("ssn_amy").await;
    let status: Value = app
        .get("/api/v1/me/ssn", Some(&cookie))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(status["stored"], false);

    let r = put_ssn(&app, &cookie, SSN).await;
    assert_eq!(r.status(), 200);
    let body = r.text().await.unwrap();
    assert!(
        body.contains("***-**-6789") && !body.contains(SSN),
        "{body}"
    );
    let status: Value = app
        .get("/api/v1/me/ssn", Some(&cookie))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(status["masked"], "***-**-6789");

    // The account page shows the masked form only.
    let page = app
        .get("/account", Some(&cookie))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("***-**-6789"));
    assert!(!page.contains(SSN) && !page.contains("123456789"));

    // In the database: a versioned ciphertext, no digits of the number.
    let pool = app.state.pool.clone();
    let stored: Vec<String> = backend::db::run(&pool, |c| {
        use backend::db::schema::user_ssn::dsl::*;
        use diesel::prelude::*;
        Ok(user_ssn.select(ciphertext).load::<String>(c)?)
    })
    .await
    .unwrap();
    assert_eq!(stored.len(), 1);
    // Under the user's data key (`v2`), which names no key id.
    assert!(stored[0].starts_with("v2:"), "{}", stored[0]);
    assert!(!stored[0].contains("6789") && !stored[0].contains("123-45"));
    assert!(app
        .audit_actions()
        .await
        .iter()
        .any(|a| a.0 == "ssn.set" && !a.3.contains("6789")));
}

#[tokio::test]
async fn invalid_numbers_are_refused_with_the_rule_and_change_nothing() {
    let app = spawn_app().await;
    let cookie = app.signed_in("ssn_bob").await;
    for (bad, code) in [
        ("123456789", "format"),
        ("000-12-3456", "area"),
        ("666-12-3456", "area"),
        ("912-12-3456", "area"),
        ("123-00-4567", "group"),
        ("123-45-0000", "serial"),
        ("", "required"),
    ] {
        let r = put_ssn(&app, &cookie, bad).await;
        assert_eq!(r.status(), 422, "{bad}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["fields"][0]["field"], "ssn");
        assert_eq!(body["fields"][0]["code"], code, "{bad}");
        if !bad.is_empty() {
            assert!(!body.to_string().contains(bad), "the value is not echoed");
        }
    }
    let status: Value = app
        .get("/api/v1/me/ssn", Some(&cookie))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(status["stored"], false);
}

#[tokio::test]
async fn revealing_needs_a_fresh_second_factor_is_not_cached_and_is_audited() {
    let app = spawn_app_with(&[("STEP_UP_WINDOW_SECS", "1")]).await;
    let cookie = app.signed_in("ssn_cat").await;
    assert_eq!(put_ssn(&app, &cookie, SSN).await.status(), 200);
    let empty = json!({});
    let reveal = || app.post_json("/api/v1/me/ssn/reveal", &empty, Some(&cookie));

    let r = reveal().await;
    assert_eq!(r.status(), 401, "no second factor yet");
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"],
        "step_up_required"
    );

    enrol_totp(&app, &cookie).await;
    let r = reveal().await;
    assert_eq!(r.status(), 200);
    assert!(r
        .headers()
        .get("cache-control")
        .unwrap()
        .to_str()
        .unwrap()
        .contains("no-store"));
    assert_eq!(r.json::<Value>().await.unwrap()["ssn"], SSN);

    // The window passes: a new code is needed again.
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert_eq!(reveal().await.status(), 401);
    let audit = app.audit_actions().await;
    assert!(audit
        .iter()
        .any(|a| a.0 == "ssn.reveal" && a.1 == "success"));
    assert!(audit.iter().all(|a| !a.3.contains("6789")));
}

#[tokio::test]
async fn an_admin_reveals_another_users_ssn_and_the_audit_says_who_and_whose() {
    let app = spawn_app().await;
    let (admin, _) = signed_in_admin(&app, "ssn_admin").await;
    let user = app.signed_in("ssn_dan").await;
    assert_eq!(put_ssn(&app, &user, SSN).await.status(), 200);
    let me: Value = app
        .get("/api/v1/me", Some(&user))
        .await
        .json()
        .await
        .unwrap();
    let uid = me["id"].as_str().unwrap();
    let path = format!("/api/v1/admin/users/{uid}/ssn/reveal");

    // Neither another user nor an auditor may.
    let other = app.signed_in("ssn_eve").await;
    assert_eq!(
        app.post_json(&path, &json!({}), Some(&other))
            .await
            .status(),
        403
    );

    let r = app.post_json(&path, &json!({}), Some(&admin)).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["ssn"], SSN);
    let admin_me: Value = app
        .get("/api/v1/me", Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    let rows = app.audit_actions().await;
    let reveal = rows.iter().find(|a| a.0 == "ssn.reveal").unwrap();
    assert!(reveal.3.contains("\"own\":false"), "{}", reveal.3);
    let entries = backend::db::run(&app.state.pool, |c| {
        Ok(backend::db::models::audit_entry::AuditEntry::recent(
            c, 100,
        )?)
    })
    .await
    .unwrap();
    let e = entries.iter().find(|e| e.action == "ssn.reveal").unwrap();
    assert_eq!(e.actor.as_deref(), admin_me["id"].as_str());
    assert_eq!(e.target.as_deref(), Some(uid));
}

#[tokio::test]
async fn a_ciphertext_moved_to_another_user_does_not_decrypt() {
    let app = spawn_app().await;
    let a = app.signed_in("ssn_fay").await;
    let b = app.signed_in("ssn_gus").await;
    assert_eq!(put_ssn(&app, &a, SSN).await.status(), 200);
    assert_eq!(put_ssn(&app, &b, "234-56-7890").await.status(), 200);
    // Copy A's ciphertext over B's row.
    backend::db::run(&app.state.pool, |c| {
        use backend::db::schema::user_ssn::dsl::*;
        use diesel::prelude::*;
        let rows: Vec<(String, String)> = user_ssn.select((user_id, ciphertext)).load(c)?;
        let (from, to) = (&rows[0], &rows[1]);
        diesel::update(user_ssn.filter(user_id.eq(&to.0)))
            .set(ciphertext.eq(&from.1))
            .execute(c)?;
        Ok(())
    })
    .await
    .unwrap();
    let statuses = [
        app.get("/api/v1/me/ssn", Some(&a)).await.status(),
        app.get("/api/v1/me/ssn", Some(&b)).await.status(),
    ];
    assert!(
        statuses.contains(&reqwest::StatusCode::INTERNAL_SERVER_ERROR),
        "{statuses:?}"
    );
    assert!(statuses.contains(&reqwest::StatusCode::OK), "{statuses:?}");
}

/// Runs the real binary with debug logging, sets and reveals an SSN over
/// HTTP, and searches everything it printed.
#[tokio::test]
async fn the_ssn_never_appears_in_the_logs() {
    let dir = tempfile::tempdir().unwrap();
    let url = crate::helpers::fresh_database(&dir);
    let (child, addr) = crate::helpers::start_binary(
        &dir,
        &url,
        &[("RUST_LOG", "debug"), ("LOG_FORMAT", "json")],
        true,
    );
    let base = format!("http://{addr}");
    crate::helpers::wait_until_ready(&base).await;
    let client = crate::helpers::test_client();
    let post = |path: &str, body: Value, cookie: Option<&str>| {
        let mut req = client
            .post(format!("{base}{path}"))
            .header("Origin", &base)
            .json(&body);
        if let Some(c) = cookie {
            req = req.header("Cookie", c);
        }
        req.send()
    };
    let r = post(
        "/api/v1/auth/register",
        json!({ "email": "log@example.org", "username": "log_user", "password": PASSWORD }),
        None,
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 201);
    let r = post(
        "/api/v1/auth/login",
        json!({ "login": "log_user", "password": PASSWORD }),
        None,
    )
    .await
    .unwrap();
    let cookie = crate::helpers::session_cookie(r.headers()).unwrap();
    let setup: Value = post("/api/v1/me/mfa/totp/setup", json!({}), Some(&cookie))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let secret = totp_secret(setup["secret"].as_str().unwrap());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let code = backend::security::totp::code_at(&secret, now, 6).unwrap();
    let r = post(
        "/api/v1/me/mfa/totp/confirm",
        json!({ "code": code }),
        Some(&cookie),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    let r = client
        .put(format!("{base}/api/v1/me/ssn"))
        .header("Origin", &base)
        .header("Cookie", &cookie)
        .json(&json!({ "ssn": SSN }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // A refused value too (errors must not echo it).
    let r = client
        .put(format!("{base}/api/v1/me/ssn"))
        .header("Origin", &base)
        .header("Cookie", &cookie)
        .json(&json!({ "ssn": "666-45-6789" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let r = post("/api/v1/me/ssn/reveal", json!({}), Some(&cookie))
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["ssn"], SSN);
    client
        .get(format!("{base}/account"))
        .header("Cookie", &cookie)
        .send()
        .await
        .unwrap();

    let logs = crate::helpers::stop_binary(child);
    assert!(
        logs.contains("ssn.reveal"),
        "the logs were captured: {logs}"
    );
    for needle in [SSN, "123456789", "666-45-6789", "45-6789"] {
        assert!(!logs.contains(needle), "`{needle}` is in the logs");
    }
}
