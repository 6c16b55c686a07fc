//! The shared authentication limit (`REDIS_URL`): N instances on one Redis
//! allow `RATE_LIMIT_AUTH` in total; without Redis nothing changes; with
//! Redis down requests still work (fail open) and the failure is logged.
//!
//! Redis is expected on 127.0.0.1:6379 (as in CI); the tests that need it
//! print a note and pass when nothing answers there.

use crate::helpers::{header, spawn_app_with, TestApp};
use serde_json::{json, Value};

const REDIS: &str = "redis://127.0.0.1:6379/0";

fn redis_is_up() -> bool {
    let up = std::net::TcpStream::connect_timeout(
        &"127.0.0.1:6379".parse().unwrap(),
        std::time::Duration::from_millis(300),
    )
    .is_ok();
    if !up {
        eprintln!("note: no Redis on 127.0.0.1:6379; shared-limit test skipped");
    }
    up
}

/// A key prefix of its own, so parallel tests and CI runs never share a log.
fn prefix() -> String {
    format!("test-{}", uuid::Uuid::new_v4().simple())
}

async fn login(app: &TestApp) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({ "login": "nobody_here", "password": "" }))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn two_instances_share_one_limit() {
    if !redis_is_up() {
        return;
    }
    let prefix = prefix();
    let vars = [
        ("REDIS_URL", REDIS),
        ("REDIS_KEY_PREFIX", prefix.as_str()),
        ("RATE_LIMIT_AUTH", "3/minute"),
    ];
    let a = spawn_app_with(&vars).await;
    let b = spawn_app_with(&vars).await;
    assert_eq!(login(&a).await.status(), 422);
    assert_eq!(login(&a).await.status(), 422);
    assert_eq!(login(&b).await.status(), 422);
    // Each instance alone has seen at most two: only the shared limit refuses.
    let r = login(&b).await;
    assert_eq!(r.status(), 429);
    let wait: u64 = header(&r, "retry-after").parse().unwrap();
    assert!((1..=60).contains(&wait), "retry-after {wait}");
    assert_eq!(header(&r, "x-ratelimit-limit"), "3");
    assert_eq!(header(&r, "x-ratelimit-remaining"), "0");
    assert_eq!(header(&r, "x-frame-options"), "DENY");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "too many requests");
    assert_eq!(body["request_id"].as_str().unwrap().len(), 32);
    // The other instance's next request is refused as well (its own governor
    // has seen two of three).
    assert_eq!(login(&a).await.status(), 429);

    // Counted like the governor's hits: audit log and metrics.
    b.state.rate_limits.flush(&b.state.pool).await.unwrap();
    let rows: Vec<_> = b
        .audit_actions()
        .await
        .into_iter()
        .filter(|r| r.0 == "rate_limit.exceeded")
        .collect();
    assert_eq!(rows.len(), 1);
    assert!(rows[0].3.contains("auth_shared"), "{}", rows[0].3);
    assert!(b
        .state
        .metrics
        .render()
        .contains("rate_limit_hits_total{limiter=\"auth_shared\"} 1"));
}

#[tokio::test]
async fn other_clients_and_other_prefixes_are_not_affected() {
    if !redis_is_up() {
        return;
    }
    let (p1, p2) = (prefix(), prefix());
    let vars = |p: &'static str| {
        [
            ("REDIS_URL", REDIS),
            ("REDIS_KEY_PREFIX", p),
            ("RATE_LIMIT_AUTH", "2/minute"),
        ]
    };
    let a = spawn_app_with(&vars(p1.leak())).await;
    let b = spawn_app_with(&vars(p2.leak())).await;
    assert_eq!(login(&a).await.status(), 422);
    assert_eq!(login(&a).await.status(), 422);
    assert_eq!(login(&a).await.status(), 429);
    assert_eq!(login(&b).await.status(), 422, "another prefix, another log");
}

#[tokio::test]
async fn without_redis_the_limit_is_per_instance() {
    let vars = [("RATE_LIMIT_AUTH", "3/minute")];
    let a = spawn_app_with(&vars).await;
    let b = spawn_app_with(&vars).await;
    assert!(a.state.shared_limit.is_none());
    for _ in 0..2 {
        assert_eq!(login(&a).await.status(), 422);
        assert_eq!(login(&b).await.status(), 422);
    }
    assert_eq!(login(&a).await.status(), 422, "each instance allows 3");
    assert_eq!(login(&a).await.status(), 429);
}

#[tokio::test]
async fn an_unreachable_redis_fails_open_and_is_logged() {
    let a = spawn_app_with(&[
        ("REDIS_URL", "redis://127.0.0.1:1/0"),
        ("REDIS_KEY_PREFIX", &prefix()),
        ("RATE_LIMIT_AUTH", "3/minute"),
    ])
    .await;
    for _ in 0..3 {
        assert_eq!(login(&a).await.status(), 422);
    }
    // The per-instance governor still applies.
    assert_eq!(login(&a).await.status(), 429);
    assert!(a
        .state
        .metrics
        .render()
        .contains("rate_limit_backend_errors_total{backend=\"redis\"}"));
    let logged =
        backend::telemetry::recent_logs::recent(&backend::telemetry::recent_logs::LogQuery {
            limit: 10_000,
            ..Default::default()
        });
    assert!(
        logged
            .iter()
            .any(|l| l.level == "ERROR" && l.text.contains("failing open")),
        "the failure is logged"
    );
}
