//! A scripted password-guessing run, both ways round: many source addresses
//! against one account, and one address against many accounts. Each is
//! slowed and then stopped as configured, and a legitimate user on another
//! account, from their own address, notices nothing.

use crate::helpers::{spawn_app_with, TestApp, PASSWORD};
use serde_json::json;
use std::time::{Duration, Instant};

async fn attempt_from(app: &TestApp, ip: &str, login: &str, password: &str) -> (u16, Duration) {
    let start = Instant::now();
    let r = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("Origin", &app.address)
        .header("X-Forwarded-For", ip)
        .json(&json!({ "login": login, "password": password }))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), start.elapsed())
}

async fn guarded_app() -> TestApp {
    spawn_app_with(&[
        // The test client stands for a proxy that reports each guesser's address.
        ("TRUSTED_PROXIES", "127.0.0.1/32"),
        ("RATE_LIMIT_AUTH", "10/minute"),
        ("LOGIN_DELAY_AFTER", "3"),
        ("LOGIN_LOCK_AFTER", "6"),
        ("LOGIN_LOCK_SECS", "300"),
    ])
    .await
}

#[tokio::test]
async fn guessing_one_password_from_many_addresses_is_slowed_then_locked() {
    let app = guarded_app().await;
    app.register("victim", "victim@example.org").await;
    app.register("bystander", "bystander@example.org").await;

    let mut times = Vec::new();
    for n in 0..6 {
        let (status, took) = attempt_from(
            &app,
            &format!("198.51.100.{n}"),
            "victim",
            &format!("Guess-{n}-pass!"),
        )
        .await;
        assert_eq!(
            status, 401,
            "attempt {n}: a wrong password, never a 429 (new address)"
        );
        times.push(took);
    }
    // Slowed: after three failures answers come later (250 ms, then doubling).
    assert!(
        times[5] >= times[0] + Duration::from_millis(400),
        "later guesses answer later: {times:?}"
    );
    // Stopped: the account is locked; even the right password is refused,
    // with the same answer as a wrong one.
    let (status, _) = attempt_from(&app, "198.51.100.77", "victim", PASSWORD).await;
    assert_eq!(status, 401);

    // The bystander, from their own address, logs in at once.
    let (status, took) = attempt_from(&app, "192.0.2.10", "bystander", PASSWORD).await;
    assert_eq!(status, 200);
    assert!(took < Duration::from_secs(2), "{took:?}");

    let o = overview(&app).await;
    assert_eq!(limit(&o, "LOGIN_LOCK_AFTER")["hits_24h"], 1);
}

#[tokio::test]
async fn guessing_many_accounts_from_one_address_is_cut_off_by_the_rate_limit() {
    let app = guarded_app().await;
    app.register("bystander", "bystander@example.org").await;
    let mut statuses = Vec::new();
    for n in 0..12 {
        let (status, _) = attempt_from(
            &app,
            "203.0.113.9",
            &format!("target_{n}"),
            "Summer2024-guess!",
        )
        .await;
        statuses.push(status);
    }
    assert!(statuses[..10].iter().all(|s| *s == 401), "{statuses:?}");
    assert!(statuses[10..].iter().all(|s| *s == 429), "{statuses:?}");

    let (status, _) = attempt_from(&app, "192.0.2.10", "bystander", PASSWORD).await;
    assert_eq!(status, 200, "another address has its own budget");

    // The dashboard shows the limit and how often it struck.
    let o = overview(&app).await;
    let auth = limit(&o, "RATE_LIMIT_AUTH");
    assert_eq!(auth["setting"], "10/minute");
    assert_eq!(auth["hits_24h"], 2);
}

async fn overview(app: &TestApp) -> serde_json::Value {
    let (admin, _) = crate::helpers::signed_in_admin(app, "dashboard_admin").await;
    app.get("/api/v1/admin/overview", Some(&admin))
        .await
        .json()
        .await
        .unwrap()
}

fn limit<'a>(o: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    o["limits"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["name"].as_str().unwrap().contains(name))
        .unwrap()
}
