//! The management plane (`ADMIN_ADDR`): the admin API and pages and
//! `/metrics` only on the management listener; 404 for them on the public one.

use crate::helpers::{signed_in_admin, spawn_app, spawn_app_with, PASSWORD};
use serde_json::json;

const HIDDEN: &[&str] = &[
    "/api/v1/admin/users",
    "/api/v1/%61dmin/users",
    "/api/v1/admin/overview",
    "/admin",
    "/admin/users",
    "/admin/no-such-page",
    "/metrics",
];

#[tokio::test]
async fn the_admin_plane_is_served_on_the_management_listener_only() {
    let app = spawn_app_with(&[("ADMIN_ADDR", "127.0.0.1:0")]).await;
    let management = app.management_address.clone().expect("a management port");
    assert_ne!(management, app.address);
    let (admin, _) = signed_in_admin(&app, "plane_admin").await;
    let on_management = |path: &str, cookie: Option<&str>| {
        let mut req = app.client.get(format!("{management}{path}"));
        if let Some(c) = cookie {
            req = req.header("Cookie", c);
        }
        req.send()
    };

    // Public listener: as if they did not exist, still with the headers.
    for path in HIDDEN {
        let r = app.get(path, Some(&admin)).await;
        assert_eq!(r.status(), 404, "public {path}");
        assert_eq!(
            r.headers()["x-content-type-options"],
            "nosniff",
            "public {path}"
        );
    }
    // Ordinary routes still work there.
    assert_eq!(app.get("/healthz", None).await.status(), 200);
    assert_eq!(app.get("/api/v1/me", Some(&admin)).await.status(), 200);
    assert_eq!(app.get("/login", None).await.status(), 200);

    // Management listener: served, and still decided by the policies.
    let r = on_management("/api/v1/admin/users", Some(&admin))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("plane_admin"));
    let r = on_management("/admin", Some(&admin)).await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("activity-chart"));
    assert_eq!(
        on_management("/api/v1/admin/users", None)
            .await
            .unwrap()
            .status(),
        401
    );
    let user = app.signed_in("plane_user").await;
    assert_eq!(
        on_management("/api/v1/admin/users", Some(&user))
            .await
            .unwrap()
            .status(),
        403
    );

    // What an administrator's browser needs there: sign-in and the pages.
    let r = app
        .client
        .post(format!("{management}/api/v1/auth/login"))
        .header("Origin", &management)
        .json(&json!({ "login": "plane_user", "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(on_management("/login", None).await.unwrap().status(), 200);
}

#[tokio::test]
async fn without_admin_addr_everything_is_on_one_listener() {
    let app = spawn_app().await;
    assert!(app.management_address.is_none());
    let (admin, _) = signed_in_admin(&app, "one_admin").await;
    assert_eq!(
        app.get("/api/v1/admin/users", Some(&admin)).await.status(),
        200
    );
    assert_eq!(app.get("/admin", Some(&admin)).await.status(), 200);
}

/// A raw HTTP/1.1 GET (no client-side path clean-up); the status line.
async fn raw_status(address: &str, path: &str, cookie: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = address.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(host).await.unwrap();
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    stream.read_to_end(&mut out).await.unwrap();
    let text = String::from_utf8_lossy(&out);
    text.lines().next().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn odd_spellings_of_admin_paths_are_hidden_too() {
    let app = spawn_app_with(&[("ADMIN_ADDR", "127.0.0.1:0")]).await;
    let (admin, _) = signed_in_admin(&app, "odd_admin").await;
    for path in [
        "//admin/users",
        "/./admin/users",
        "/x/../admin/users",
        "/%2e/admin/users",
        "/api/v1/./admin/users",
        "/api//v1/admin/users",
        "/api/v1/%61dmin/users",
        "/metrics/",
    ] {
        let status = raw_status(&app.address, path, &admin).await;
        assert!(status.starts_with("HTTP/1.1 404"), "{path}: {status}");
    }
}
