//! ASVS 4.2.2 / 13.2.3: cookie-authenticated state changes only from our origin.

use crate::helpers::spawn_app;

#[tokio::test]
async fn cross_origin_logout_is_refused_and_the_session_survives() {
    let app = spawn_app().await;
    let cookie = app.signed_in("ivan").await;
    for origin in [Some("https://evil.example"), None] {
        let mut req = app
            .client
            .post(app.url("/api/v1/auth/logout"))
            .header("Cookie", &cookie);
        if let Some(o) = origin {
            req = req.header("Origin", o);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), 403, "origin {origin:?}");
        let body: serde_json::Value = r.json().await.unwrap();
        assert!(body["request_id"].as_str().unwrap().len() == 32);
    }
    assert_eq!(app.get("/api/v1/me", Some(&cookie)).await.status(), 200);
    let actions = app.audit_actions().await;
    assert_eq!(
        actions
            .iter()
            .filter(|a| a.0 == "csrf.rejected" && a.1 == "denied")
            .count(),
        2
    );
}

#[tokio::test]
async fn a_foreign_page_cannot_post_the_login_form() {
    let app = spawn_app().await;
    app.register("judy", "judy@example.org").await;
    let r = app
        .client
        .post(app.url("/auth/login"))
        .header("Origin", "https://evil.example")
        .form(&[("login", "judy"), ("password", crate::helpers::PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(crate::helpers::session_cookie(r.headers()).is_none());
}

#[tokio::test]
async fn api_clients_without_cookies_or_origin_may_post() {
    let app = spawn_app().await;
    let r = app
        .client
        .post(app.url("/api/v1/auth/register"))
        .json(&serde_json::json!({
            "email": "k@example.org", "username": "kim", "password": crate::helpers::PASSWORD
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
}
