//! ASVS 5.0 V16 (security logging): the audit log's integrity and the logs' availability.

use crate::helpers::{signed_in_admin, spawn_app, spawn_app_with};
use serde_json::Value;

/// Item 14: a flood of `/healthz` (more requests than the in-memory tail
/// holds lines) must not evict the error line an administrator looks up by
/// the request id a 500 showed (the "500 with a request id" demo).
#[tokio::test]
async fn a_healthz_flood_does_not_evict_the_error_behind_a_request_id() {
    let app = spawn_app().await;
    let user = app.signed_in("flood_victim").await;
    let (admin, _) = signed_in_admin(&app, "flood_admin").await;
    let r = app
        .send(
            reqwest::Method::POST,
            "/api/v1/demo/fail",
            None,
            Some(&user),
        )
        .await;
    assert_eq!(r.status(), 500);
    let id = r.json::<Value>().await.unwrap()["request_id"]
        .as_str()
        .unwrap()
        .to_owned();

    let flood = backend::recent_logs::CAPACITY + 200;
    for chunk in 0..flood.div_ceil(100) {
        let statuses = futures_util::future::join_all(
            (0..100).map(|_| async { app.get("/healthz", None).await.status() }),
        )
        .await;
        assert!(statuses.iter().all(|s| *s == 200), "chunk {chunk}");
    }

    let r = app
        .get(&format!("/api/v1/admin/logs?request_id={id}"), Some(&admin))
        .await;
    assert_eq!(r.status(), 200);
    let logs: Value = r.json().await.unwrap();
    let lines = logs["lines"].as_array().unwrap();
    assert!(
        lines
            .iter()
            .any(|l| l["level"] == "ERROR" && l["request_id"] == id.as_str()),
        "the 500's error line is still there: {lines:?}"
    );
}
