use crate::helpers::{header, spawn_app};

#[tokio::test]
async fn pages_render_on_the_server() {
    let app = spawn_app().await;
    for (path, text) in [
        ("/", "Secure Reference App"),
        ("/login", "Log in"),
        ("/register", "Create an account"),
    ] {
        let r = app.get(path, None).await;
        assert_eq!(r.status(), 200, "{path}");
        let html = r.text().await.unwrap();
        assert!(html.contains(text), "{path}");
        assert!(
            html.contains("/pkg/frontend.js"),
            "{path} loads the hydration bundle"
        );
    }
}

#[tokio::test]
async fn the_account_page_shows_the_signed_in_user_only() {
    let app = spawn_app().await;
    let html = app.get("/account", None).await.text().await.unwrap();
    assert!(html.contains("You are not signed in"));
    let cookie = app.signed_in("rita").await;
    let html = app
        .get("/account", Some(&cookie))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("rita@example.org"));
    assert!(html.contains("Log out"));
}

#[tokio::test]
async fn unknown_pages_are_404_html() {
    let app = spawn_app().await;
    let r = app.get("/definitely/not/here", None).await;
    assert_eq!(r.status(), 404);
    assert!(header(&r, "content-type").starts_with("text/html"));
    assert!(r.text().await.unwrap().contains("Page not found"));
}

#[tokio::test]
async fn the_openapi_document_describes_every_api_route() {
    let app = spawn_app().await;
    let doc: serde_json::Value = app
        .get("/api/openapi.json", None)
        .await
        .json()
        .await
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for (path, method) in [
        ("/api/v1/auth/register", "post"),
        ("/api/v1/auth/login", "post"),
        ("/api/v1/auth/logout", "post"),
        ("/api/v1/me", "get"),
        ("/healthz", "get"),
        ("/readyz", "get"),
    ] {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} is undocumented"
        );
    }
    for schema in ["RegisterRequest", "LoginRequest", "MeResponse", "ErrorBody"] {
        assert!(doc["components"]["schemas"][schema].is_object(), "{schema}");
    }
}
