//! ASVS 7.1 / 7.2: security events recorded with who, what, when, outcome —
//! and never a secret. ASVS 7.3.3: the trail cannot be rewritten.

use crate::helpers::{header, spawn_app, PASSWORD};
use diesel::connection::SimpleConnection;
use serde_json::json;

#[tokio::test]
async fn security_events_are_recorded_with_request_ids_and_no_secrets() {
    let app = spawn_app().await;
    let r = app.register("mallory", "mallory@example.org").await;
    let register_id = header(&r, "x-request-id").to_owned();
    let bad = app
        .post_json(
            "/api/v1/auth/login",
            &json!({ "login": "mallory", "password": "Not-The-Password-9" }),
            None,
        )
        .await;
    let bad_id = header(&bad, "x-request-id").to_owned();
    app.post_json(
        "/api/v1/auth/login",
        &json!({ "login": "ghost", "password": "Whatever-Pass-1" }),
        None,
    )
    .await;
    let cookie = app.login("mallory", PASSWORD).await;
    app.post_json("/api/v1/auth/logout", &json!({}), Some(&cookie))
        .await;

    let rows = app.audit_actions().await;
    let summary: Vec<(&str, &str)> = rows.iter().map(|r| (r.0.as_str(), r.1.as_str())).collect();
    assert_eq!(
        summary,
        vec![
            ("account.register", "success"),
            ("auth.login", "failure"),
            ("auth.login", "failure"),
            ("auth.login", "success"),
            ("auth.logout", "success"),
        ]
    );
    assert_eq!(rows[0].2.as_deref(), Some(register_id.as_str()));
    assert_eq!(rows[1].2.as_deref(), Some(bad_id.as_str()));
    assert!(rows[1].3.contains("wrong_password"));
    assert!(rows[2].3.contains("unknown_account"));
    for row in &rows {
        for secret in [
            PASSWORD,
            "Not-The-Password-9",
            "Whatever-Pass-1",
            "__Host-access",
            "__Host-refresh",
        ] {
            assert!(
                !row.3.contains(secret),
                "audit detail leaks {secret}: {}",
                row.3
            );
        }
    }
}

#[tokio::test]
async fn asvs_7_3_3_audit_rows_cannot_be_updated_or_deleted() {
    let app = spawn_app().await;
    app.register("oscar", "oscar@example.org").await;
    let results = backend::db::run(&app.state.pool, |c| {
        let update = c.batch_execute("UPDATE audit_log SET outcome = 'failure'");
        let delete = c.batch_execute("DELETE FROM audit_log");
        Ok((update.is_err(), delete.is_err()))
    })
    .await
    .unwrap();
    assert_eq!(results, (true, true));
    assert_eq!(app.audit_actions().await.len(), 1);
}
