//! The no-JavaScript path: plain HTML form posts answered with redirects.

use crate::helpers::{header, session_cookie, spawn_app, PASSWORD};

#[tokio::test]
async fn register_login_logout_with_plain_forms() {
    let app = spawn_app().await;
    let post = |path: &'static str, form: Vec<(&'static str, String)>, cookie: Option<String>| {
        let mut req = app
            .client
            .post(app.url(path))
            .header("Origin", &app.address)
            .form(&form);
        if let Some(c) = cookie {
            req = req.header("Cookie", c);
        }
        req.send()
    };
    let r = post(
        "/auth/register",
        vec![
            ("email", "pat@example.org".into()),
            ("username", "pat".into()),
            ("password", PASSWORD.into()),
        ],
        None,
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(header(&r, "location"), "/login?registered=1");

    // With the pre-session token the login page rendered (login CSRF).
    let r = app
        .post_login_form(&[("login", "pat"), ("password", PASSWORD)])
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(header(&r, "location"), "/account");
    let cookie = session_cookie(r.headers()).unwrap();

    let page = app
        .get("/account", Some(&cookie))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("pat@example.org"));

    let r = post("/auth/logout", vec![], Some(cookie.clone()))
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(header(&r, "location"), "/");
    assert_eq!(app.get("/api/v1/me", Some(&cookie)).await.status(), 401);
}

#[tokio::test]
async fn form_errors_come_back_as_codes_never_values() {
    let app = spawn_app().await;
    let r = app
        .client
        .post(app.url("/auth/register"))
        .header("Origin", &app.address)
        .form(&[
            ("email", "quinn-at-example"),
            ("username", "q"),
            ("password", "secretpassword"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let location = header(&r, "location");
    assert!(location.starts_with("/register?"));
    assert!(location.contains("e=email.invalid"));
    assert!(location.contains("e=username.too_short"));
    assert!(location.contains("e=password.missing_upper"));
    assert!(!location.contains("quinn") && !location.contains("secretpassword"));

    let r = app
        .post_login_form(&[("login", "nobody"), ("password", "Wrong-Password-1!")])
        .await;
    assert_eq!(header(&r, "location"), "/login?error=invalid_credentials");

    // The login page turns the code into a message, server-side.
    let html = app
        .get("/login?error=invalid_credentials", None)
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Invalid username, e-mail or password."));
    let html = app
        .get("/register?e=username.too_short", None)
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Username must be at least 3 characters."));
}
