//! Per-account brute-force protection (ASVS 2.2.1): delays, a temporary lock
//! that answers exactly like a wrong password, admin unlock, and second-factor
//! failures counting toward the same limit.

use crate::helpers::{spawn_app_with, TestApp, PASSWORD};
use serde_json::{json, Value};

const FAST_LOCK: &[(&str, &str)] = &[
    ("LOGIN_LOCK_AFTER", "3"),
    ("LOGIN_DELAY_AFTER", "50"),
    ("LOGIN_LOCK_SECS", "2"),
    ("MFA_REQUIRED_FOR_ROLES", "none"),
];

async fn attempt(app: &TestApp, login: &str, password: &str) -> (u16, Value) {
    let r = app
        .post_json(
            "/api/v1/auth/login",
            &json!({ "login": login, "password": password }),
            None,
        )
        .await;
    let status = r.status().as_u16();
    let mut body: Value = r.json().await.unwrap();
    if let Some(o) = body.as_object_mut() {
        o.remove("request_id");
    }
    (status, body)
}

#[tokio::test]
async fn an_account_locks_after_repeated_failures_and_says_nothing_different() {
    let app = spawn_app_with(FAST_LOCK).await;
    app.register("locky", "locky@example.org").await;
    let wrong = attempt(&app, "locky", "Wrong-Password-1!").await;
    assert_eq!(wrong.0, 401);
    attempt(&app, "locky", "Wrong-Password-2!").await;
    attempt(&app, "locky", "Wrong-Password-3!").await;
    // Locked: even the right password gets the wrong-password answer.
    let locked = attempt(&app, "locky", PASSWORD).await;
    assert_eq!(locked, wrong);
    let rows = app.audit_actions().await;
    assert!(rows.iter().any(|r| r.0 == "account.locked"));
    assert!(rows
        .iter()
        .any(|r| r.0 == "auth.login" && r.3.contains("account_locked")));
    // The lock is temporary.
    tokio::time::sleep(std::time::Duration::from_millis(2200)).await;
    app.login("locky", PASSWORD).await;
}

#[tokio::test]
async fn a_successful_login_resets_the_count() {
    let app = spawn_app_with(FAST_LOCK).await;
    app.register("resetty", "resetty@example.org").await;
    attempt(&app, "resetty", "Wrong-Password-1!").await;
    attempt(&app, "resetty", "Wrong-Password-2!").await;
    app.login("resetty", PASSWORD).await;
    attempt(&app, "resetty", "Wrong-Password-3!").await;
    attempt(&app, "resetty", "Wrong-Password-4!").await;
    app.login("resetty", PASSWORD).await;
}

#[tokio::test]
async fn an_admin_can_unlock_and_it_is_audited() {
    let app = spawn_app_with(&[("LOGIN_LOCK_AFTER", "3"), ("LOGIN_LOCK_SECS", "600")]).await;
    let (admin, _) = crate::helpers::signed_in_admin(&app, "lock_admin").await;
    let r = app.register("stuck", "stuck@example.org").await;
    let uid = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for n in 0..3 {
        attempt(&app, "stuck", &format!("Wrong-Password-{n}!")).await;
    }
    assert_eq!(attempt(&app, "stuck", PASSWORD).await.0, 401);
    let r = app
        .post_json(
            &format!("/api/v1/admin/users/{uid}/unlock"),
            &json!({}),
            Some(&admin),
        )
        .await;
    assert_eq!(r.status(), 204);
    app.login("stuck", PASSWORD).await;
    assert!(app
        .audit_actions()
        .await
        .iter()
        .any(|r| r.0 == "account.unlock"));
}

#[tokio::test]
async fn responses_slow_down_after_a_few_failures() {
    let app = spawn_app_with(&[("LOGIN_DELAY_AFTER", "1"), ("LOGIN_LOCK_AFTER", "50")]).await;
    app.register("slowpoke", "slowpoke@example.org").await;
    attempt(&app, "slowpoke", "Wrong-Password-1!").await;
    let started = std::time::Instant::now();
    attempt(&app, "slowpoke", "Wrong-Password-2!").await;
    // The second failure is held back by at least the base delay (250 ms).
    assert!(started.elapsed() >= std::time::Duration::from_millis(250));
}

#[tokio::test]
async fn an_unknown_name_is_slowed_down_exactly_like_a_real_account() {
    // Otherwise the delay itself would tell which accounts exist.
    let app = spawn_app_with(&[("LOGIN_DELAY_AFTER", "1"), ("LOGIN_LOCK_AFTER", "50")]).await;
    attempt(&app, "no_such_user", "Wrong-Password-1!").await;
    let started = std::time::Instant::now();
    let (status, body) = attempt(&app, "no_such_user", "Wrong-Password-2!").await;
    assert!(started.elapsed() >= std::time::Duration::from_millis(250));
    app.register("real_user", "real_user@example.org").await;
    attempt(&app, "real_user", "Wrong-Password-1!").await;
    assert_eq!(
        attempt(&app, "real_user", "Wrong-Password-2!").await,
        (status, body)
    );
}
