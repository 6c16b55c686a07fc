//! Rate limits (ASVS 2.2.1, 11.1.x): per IP on sign-in, per IP and per user on
//! the API; 429 with Retry-After and X-RateLimit-*; client IP only from
//! trusted proxies.

use crate::helpers::{header, spawn_app_with, TestApp};
use serde_json::{json, Value};

async fn login_from(app: &TestApp, forwarded_for: Option<&str>) -> reqwest::Response {
    let mut req = app
        .client
        .post(app.url("/api/v1/auth/login"))
        // An empty password is refused before any hashing, so ten attempts
        // fit well inside one replenish period even in a debug build.
        .json(&json!({ "login": "nobody_here", "password": "" }));
    if let Some(xff) = forwarded_for {
        req = req.header("X-Forwarded-For", xff);
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn the_eleventh_login_in_a_minute_gets_429_with_headers() {
    let app = spawn_app_with(&[("RATE_LIMIT_AUTH", "10/minute")]).await;
    for n in 0..10 {
        let r = login_from(&app, None).await;
        assert_eq!(r.status(), 422, "attempt {}", n + 1);
        assert_eq!(header(&r, "x-ratelimit-limit"), "10");
    }
    let r = login_from(&app, None).await;
    assert_eq!(r.status(), 429);
    assert!(header(&r, "retry-after").parse::<u64>().unwrap() >= 1);
    assert_eq!(header(&r, "x-ratelimit-remaining"), "0");
    assert_eq!(
        header(&r, "x-frame-options"),
        "DENY",
        "still has the security headers"
    );
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "too many requests");
    assert_eq!(body["request_id"].as_str().unwrap().len(), 32);

    // Hits are written to the audit log in aggregate, not one row each.
    login_from(&app, None).await;
    app.state.rate_limits.flush(&app.state.pool).await.unwrap();
    let rows: Vec<_> = app
        .audit_actions()
        .await
        .into_iter()
        .filter(|r| r.0 == "rate_limit.exceeded")
        .collect();
    assert_eq!(rows.len(), 1);
    assert!(
        rows[0].3.contains("\"hits\":2") && rows[0].3.contains("auth_per_ip"),
        "{}",
        rows[0].3
    );
}

#[tokio::test]
async fn a_spoofed_forwarded_for_from_an_untrusted_peer_changes_nothing() {
    let app = spawn_app_with(&[("RATE_LIMIT_AUTH", "10/minute")]).await;
    for n in 0..10 {
        login_from(&app, Some(&format!("198.51.100.{n}"))).await;
    }
    assert_eq!(login_from(&app, Some("203.0.113.77")).await.status(), 429);
    // And the audit trail records the real peer, not the claim.
    let rows = app.audit_actions().await;
    assert!(rows.iter().all(|r| !r.3.contains("198.51.100")));
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_client_has_its_own_bucket() {
    let app = spawn_app_with(&[
        ("RATE_LIMIT_AUTH", "10/minute"),
        ("TRUSTED_PROXIES", "127.0.0.1/32"),
    ])
    .await;
    for _ in 0..10 {
        assert_eq!(login_from(&app, Some("203.0.113.1")).await.status(), 422);
    }
    assert_eq!(login_from(&app, Some("203.0.113.1")).await.status(), 429);
    // A client cannot escape by prepending a fake address: the rightmost untrusted one counts.
    assert_eq!(
        login_from(&app, Some("192.0.2.55, 203.0.113.1"))
            .await
            .status(),
        429
    );
    // Another client behind the same proxy has its own bucket, and the audit
    // trail records its address (a real attempt: wrong password, audited).
    let r = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("X-Forwarded-For", "203.0.113.2")
        .json(&json!({ "login": "nobody_here", "password": "Wrong-Password-1!" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "another client");
    let entries = backend::db::run(&app.state.pool, |c| {
        Ok(backend::db::models::audit_entry::AuditEntry::recent(
            c, 100,
        )?)
    })
    .await
    .unwrap();
    assert!(entries
        .iter()
        .any(|e| e.client_ip.as_deref() == Some("203.0.113.2")));
}

#[tokio::test]
async fn the_api_limits_each_user_and_leaves_others_alone() {
    let app = spawn_app_with(&[("RATE_LIMIT_USER", "3/minute")]).await;
    let alice = app.signed_in("rl_alice").await;
    let bob = app.signed_in("rl_bob").await;
    for _ in 0..3 {
        assert_eq!(app.get("/api/v1/me", Some(&alice)).await.status(), 200);
    }
    let r = app.get("/api/v1/me", Some(&alice)).await;
    assert_eq!(r.status(), 429);
    assert_eq!(app.get("/api/v1/me", Some(&bob)).await.status(), 200);
}

#[tokio::test]
async fn health_checks_pages_and_assets_are_not_api_limited() {
    let app = spawn_app_with(&[("RATE_LIMIT_API", "2/minute")]).await;
    for _ in 0..10 {
        assert_eq!(app.get("/healthz", None).await.status(), 200);
        assert_eq!(app.get("/login", None).await.status(), 200);
    }
    assert_eq!(app.get("/api/v1/me", None).await.status(), 401);
    assert_eq!(app.get("/api/v1/me", None).await.status(), 401);
    assert_eq!(app.get("/api/v1/me", None).await.status(), 429);
}
