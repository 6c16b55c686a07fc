//! The forms say which password policy applies: the register page and the
//! change-password form show the hint of the server's `PASSWORD_POLICY`, and
//! `GET /api/v1/auth/password-policy` tells a page navigated to in the
//! browser (or any client) what the rules are.

use crate::helpers::{header, spawn_app, spawn_app_with, TestApp};
use serde_json::{json, Value};
use wire::password_policy::PolicyKind;

async fn page(app: &TestApp, path: &str, cookie: Option<&str>) -> String {
    let r = app.get(path, cookie).await;
    assert_eq!(r.status(), 200, "{path}");
    r.text().await.unwrap()
}

async fn policy(app: &TestApp) -> Value {
    let r = app.get("/api/v1/auth/password-policy", None).await;
    assert_eq!(r.status(), 200);
    assert!(header(&r, "content-type").starts_with("application/json"));
    r.json().await.unwrap()
}

#[tokio::test]
async fn the_register_page_shows_the_catalogue_hint_by_default() {
    let app = spawn_app().await;
    let html = page(&app, "/register", None).await;
    assert!(html.contains(PolicyKind::Catalogue.hint()), "{html}");
    assert!(html.contains("12 to 128 characters"));
    assert!(!html.contains(PolicyKind::Nist.hint()));
    // Still a plain form that works without JavaScript.
    assert!(html.contains(r#"action="/auth/register""#));
    assert!(html.contains(r#"name="password""#));
}

#[tokio::test]
async fn the_register_page_shows_the_nist_hint_under_nist() {
    let app = spawn_app_with(&[("PASSWORD_POLICY", "nist")]).await;
    let html = page(&app, "/register", None).await;
    assert!(html.contains(PolicyKind::Nist.hint()), "{html}");
    assert!(html.contains("15 to 128 characters"));
    assert!(!html.contains(PolicyKind::Catalogue.hint()));
    assert!(!html.contains("a digit and a special character"));
    assert!(html.contains(r#"action="/auth/register""#));
}

#[tokio::test]
async fn the_change_password_form_shows_the_hint_of_the_policy() {
    for (setting, shown, hidden) in [
        (None, PolicyKind::Catalogue, PolicyKind::Nist),
        (Some("nist"), PolicyKind::Nist, PolicyKind::Catalogue),
    ] {
        let app = match setting {
            Some(kind) => spawn_app_with(&[("PASSWORD_POLICY", kind)]).await,
            None => spawn_app().await,
        };
        let cookie = app.signed_in("hana").await;
        let html = page(&app, "/account", Some(&cookie)).await;
        assert!(html.contains(r#"action="/auth/password""#), "{setting:?}");
        assert!(html.contains(shown.hint()), "{setting:?}: {html}");
        assert!(!html.contains(hidden.hint()), "{setting:?}");
    }
}

#[tokio::test]
async fn the_policy_endpoint_describes_the_catalogue_by_default() {
    let app = spawn_app().await;
    assert_eq!(
        policy(&app).await,
        json!({ "policy": "catalogue", "min_length": 12, "max_length": 128, "composition": true })
    );
}

#[tokio::test]
async fn the_policy_endpoint_describes_nist() {
    let app = spawn_app_with(&[("PASSWORD_POLICY", "nist")]).await;
    assert_eq!(
        policy(&app).await,
        json!({ "policy": "nist", "min_length": 15, "max_length": 128, "composition": false })
    );
}

#[tokio::test]
async fn the_policy_endpoint_is_public_and_read_only() {
    let app = spawn_app().await;
    // No cookie and no token: answered all the same (see `policy`).
    policy(&app).await;
    let r = app
        .post_json("/api/v1/auth/password-policy", &json!({}), None)
        .await;
    assert_eq!(r.status(), 405);
}

#[tokio::test]
async fn the_hint_of_each_policy_agrees_with_the_endpoint() {
    for (setting, kind) in [
        ("catalogue", PolicyKind::Catalogue),
        ("nist", PolicyKind::Nist),
    ] {
        let app = spawn_app_with(&[("PASSWORD_POLICY", setting)]).await;
        let body = policy(&app).await;
        assert_eq!(body["policy"], kind.as_str());
        let figures = format!(
            "{} to {} characters",
            body["min_length"], body["max_length"]
        );
        assert!(kind.hint().starts_with(&figures), "{setting}");
        assert_eq!(body["composition"], kind.composition());
    }
}

#[tokio::test]
async fn the_policy_endpoint_is_documented() {
    let app = spawn_app().await;
    let doc: Value = app
        .get("/api/openapi.json", None)
        .await
        .json()
        .await
        .unwrap();
    assert!(doc["paths"]["/api/v1/auth/password-policy"]["get"].is_object());
    let schemas = &doc["components"]["schemas"];
    assert!(schemas["PasswordPolicyResponse"].is_object());
    assert!(schemas["PolicyKind"].is_object());
}
