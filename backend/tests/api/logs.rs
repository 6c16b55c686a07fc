//! The admin log view: an error shows its user only a request id; an admin
//! finds the cause in the server log by that id.

use crate::helpers::{signed_in_admin, spawn_app};
use serde_json::Value;

#[tokio::test]
async fn an_error_shows_only_a_request_id_and_the_log_view_has_its_cause() {
    let app = spawn_app().await;
    let user = app.signed_in("log_user").await;
    let (admin, _) = signed_in_admin(&app, "log_admin").await;

    let r = app
        .send(
            reqwest::Method::POST,
            "/api/v1/demo/fail",
            None,
            Some(&user),
        )
        .await;
    assert_eq!(r.status(), 500);
    let header_id = r.headers()["x-request-id"].to_str().unwrap().to_owned();
    let body: Value = r.json().await.unwrap();
    let id = body["request_id"]
        .as_str()
        .expect("a request id")
        .to_owned();
    assert_eq!(id, header_id);
    // Only the generic message and the id.
    assert_eq!(
        body.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["error", "request_id"]
    );

    let url = format!("/api/v1/admin/logs?request_id={id}");
    let r = app.get(&url, Some(&admin)).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let logs: Value = r.json().await.unwrap();
    let lines = logs["lines"].as_array().unwrap();
    assert!(!lines.is_empty(), "the request's lines are kept");
    assert!(lines.iter().all(|l| l["request_id"] == id.as_str()));
    let error = lines
        .iter()
        .find(|l| l["level"] == "ERROR")
        .expect("the error's own line");
    // The cause is in the log, not in the response.
    let text = error["text"].as_str().unwrap();
    assert!(!text.is_empty());
    assert!(!body.to_string().contains(text), "{text}");

    // The page shows it too (server-rendered).
    let r = app
        .get(&format!("/admin/logs?request_id={id}"), Some(&admin))
        .await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains(&id) && html.contains("Server log"));
}

#[tokio::test]
async fn only_admins_and_auditors_read_the_log_and_bad_filters_are_400() {
    let app = spawn_app().await;
    let user = app.signed_in("log_reader").await;
    assert_eq!(
        app.get("/api/v1/admin/logs", Some(&user)).await.status(),
        403
    );
    assert_eq!(app.get("/api/v1/admin/logs", None).await.status(), 401);
    assert_eq!(app.get("/admin/logs", Some(&user)).await.status(), 403);

    let (admin, _) = signed_in_admin(&app, "log_boss").await;
    for bad in [
        "request_id=abc%20def",
        "request_id=%27%20OR%201%3D1",
        "level=loud",
        "limit=0",
        "limit=501",
    ] {
        let r = app
            .get(&format!("/api/v1/admin/logs?{bad}"), Some(&admin))
            .await;
        assert_eq!(r.status(), 400, "{bad}");
        let body: Value = r.json().await.unwrap();
        assert!(body["error"].as_str().is_some(), "{bad}");
    }
    let r = app
        .get("/api/v1/admin/logs?level=error&limit=5", Some(&admin))
        .await;
    assert_eq!(r.status(), 200);
    let logs: Value = r.json().await.unwrap();
    let lines = logs["lines"].as_array().unwrap();
    assert!(lines.len() <= 5);
    assert!(lines.iter().all(|l| l["level"] == "ERROR"));
}
