//! ASVS 5.0 V3 (web frontend security): cross-site request forgery, including login CSRF.

use crate::helpers::{session_cookie, spawn_app, TestApp, PASSWORD};
use serde_json::{json, Value};

// ------------------------------------------------------------------ item 8

/// CSRF refusals recorded with `reason`: a refusal of a request without any
/// credential is counted in memory and written by the minute's flush (item
/// 6), so the flush runs first.
async fn csrf_rejections(app: &TestApp, reason: &str) -> usize {
    backend::services::access::flush(&app.state)
        .await
        .expect("the counts are written");
    app.audit_actions()
        .await
        .iter()
        .filter(|a| a.0 == "csrf.rejected" && a.1 == "denied" && a.3.contains(reason))
        // An aggregated entry stands for its `hits` refusals.
        .map(|a| {
            serde_json::from_str::<Value>(&a.3)
                .ok()
                .and_then(|d| d["hits"].as_u64())
                .unwrap_or(1) as usize
        })
        .sum()
}

async fn logins(app: &TestApp) -> usize {
    app.audit_actions()
        .await
        .iter()
        .filter(|a| a.0 == "auth.login" && a.1 == "success")
        .count()
}

/// Login CSRF: a sandboxed iframe, a `data:` page or a redirect chain posts
/// the victim's browser into the attacker's account with `Origin: null`
/// and no Referer. Before the fix `null` counted as "no Origin", which a
/// cookie-less request may have: 303 with session cookies.
#[tokio::test]
async fn a_login_form_post_with_an_opaque_origin_is_refused() {
    let app = spawn_app().await;
    app.register("attacker_acct", "attacker_acct@example.org")
        .await;
    let before = logins(&app).await;
    let r = app
        .client
        .post(app.url("/auth/login"))
        .header("Origin", "null")
        .form(&[("login", "attacker_acct"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(session_cookie(r.headers()).is_none(), "no session cookie");
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body["error"],
        "request refused: it did not come from this site"
    );
    assert_eq!(body["request_id"].as_str().unwrap().len(), 32);
    assert_eq!(csrf_rejections(&app, "opaque origin").await, 1);
    assert_eq!(logins(&app).await, before, "no login happened");
}

/// The same for every state-changing request, cookies or not, API or form:
/// an opaque origin is never ours.
#[tokio::test]
async fn every_state_change_with_an_opaque_origin_is_refused() {
    let app = spawn_app().await;
    let cookie = app.signed_in("null_victim").await;
    let api_login = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("Origin", "null")
        .json(&json!({ "login": "null_victim", "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(api_login.status(), 403);
    assert!(session_cookie(api_login.headers()).is_none());
    let register = app
        .client
        .post(app.url("/auth/register"))
        .header("Origin", "NULL")
        .form(&[
            ("username", "null_new"),
            ("email", "null_new@example.org"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(register.status(), 403);
    let logout = app
        .client
        .post(app.url("/api/v1/auth/logout"))
        .header("Origin", "null")
        .header("Cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), 403);
    assert_eq!(app.get("/api/v1/me", Some(&cookie)).await.status(), 200);
    assert_eq!(csrf_rejections(&app, "opaque origin").await, 3);
    // Nothing was created: the username is still free.
    assert_eq!(
        app.register("null_new", "other@example.org").await.status(),
        201
    );
}

/// Login CSRF with a real Origin is stopped by the Origin rule; the no-JS
/// login form also carries a pre-session token bound to a `__Host-` cookie
/// the login page set (OWASP: login CSRF needs a pre-session token). A
/// post without it, with a wrong one, or with a token but not its cookie
/// (an attacker's own page-token pair) signs nobody in.
#[tokio::test]
async fn the_no_js_login_form_needs_its_pre_session_token() {
    let app = spawn_app().await;
    app.register("form_user", "form_user@example.org").await;
    let (cookie, token) = app.login_form().await;
    let (_, attackers_token) = app.login_form().await;
    let fields = [("login", "form_user"), ("password", PASSWORD)];
    let post = |cookie: Option<String>, token: Option<String>| {
        let app = &app;
        async move {
            let mut form: Vec<(&str, String)> =
                fields.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
            if let Some(t) = token {
                form.push(("csrf", t));
            }
            let mut req = app
                .client
                .post(app.url("/auth/login"))
                .header("Origin", &app.address)
                .form(&form);
            if let Some(c) = cookie {
                req = req.header("Cookie", c);
            }
            req.send().await.unwrap()
        }
    };
    for (what, c, t) in [
        ("no token, no cookie", None, None),
        ("cookie without token", Some(cookie.clone()), None),
        ("wrong token", Some(cookie.clone()), Some("x".repeat(64))),
        (
            "another page's token",
            Some(cookie.clone()),
            Some(attackers_token.clone()),
        ),
        ("token without its cookie", None, Some(token.clone())),
    ] {
        let r = post(c, t).await;
        assert_eq!(r.status(), 303, "{what}");
        assert_eq!(
            crate::helpers::header(&r, "location"),
            "/login?error=forbidden",
            "{what}"
        );
        assert!(session_cookie(r.headers()).is_none(), "{what}");
    }
    assert_eq!(csrf_rejections(&app, "login_form_token").await, 5);
    assert_eq!(logins(&app).await, 0, "nobody signed in");

    // The page's own pair signs in.
    let r = post(Some(cookie), Some(token)).await;
    assert_eq!(r.status(), 303);
    assert_eq!(crate::helpers::header(&r, "location"), "/account");
    assert!(session_cookie(r.headers()).is_some());
    assert_eq!(logins(&app).await, 1);
}

/// A login POST without `Origin` (an old browser, a privacy proxy that
/// strips it) is judged by what it still carries (`http::csrf::check`):
/// its `Referer` names the site it came from, a form post needs the login
/// page's pre-session token, and the JSON login needs a JSON body, which
/// no cross-site form can send. The edges: a foreign Referer (a look-alike
/// host, user-info before `@`, a port-less copy) is refused; a Referer that
/// is not http(s) proves nothing, so the token still decides; with neither
/// header the API login refuses form-encoded and `text/plain` bodies
/// before reading them; and a same-site Referer with the page's own token
/// pair signs in (so each refusal is a refusal, not a broken login).
#[tokio::test]
async fn a_login_post_without_origin_is_judged_by_referer_token_and_content_type() {
    let app = spawn_app().await;
    app.register("no_origin", "no_origin@example.org").await;
    let host = app.address.trim_start_matches("http://").to_owned();
    let form = [("login", "no_origin"), ("password", PASSWORD)];
    let (cookie, token) = app.login_form().await;
    let with_token = [
        ("login", "no_origin"),
        ("password", PASSWORD),
        ("csrf", token.as_str()),
    ];

    for referer in [
        "https://evil.test/login".to_owned(),
        format!("http://{host}.evil.test/"),
        format!("http://{host}@evil.test/"),
        format!("http://evil.test/{host}"),
        "http://127.0.0.1/".to_owned(),
    ] {
        let r = app
            .client
            .post(app.url("/auth/login"))
            .header("Referer", &referer)
            .header("Cookie", &cookie)
            .form(&with_token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "form post from {referer}");
        assert!(session_cookie(r.headers()).is_none(), "{referer}");
        let r = app
            .client
            .post(app.url("/api/v1/auth/login"))
            .header("Referer", &referer)
            .json(&json!({ "login": "no_origin", "password": PASSWORD }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "JSON login from {referer}");
        assert!(session_cookie(r.headers()).is_none(), "{referer}");
    }
    assert_eq!(csrf_rejections(&app, "cross-origin request").await, 10);

    // No Origin, no Referer (or one that is not a web origin): the form
    // needs its token.
    for referer in [None, Some("file:///tmp/page.html"), Some("about:blank")] {
        let mut request = app.client.post(app.url("/auth/login")).form(&form);
        if let Some(r) = referer {
            request = request.header("Referer", r);
        }
        let r = request.send().await.unwrap();
        assert_eq!(r.status(), 303, "{referer:?}");
        assert_eq!(
            crate::helpers::header(&r, "location"),
            "/login?error=forbidden",
            "{referer:?}"
        );
        assert!(session_cookie(r.headers()).is_none(), "{referer:?}");
    }
    // No Origin, no Referer: the API login reads nothing but JSON.
    let body = format!("{{\"login\":\"no_origin\",\"password\":\"{PASSWORD}\"}}");
    for content_type in [
        "application/x-www-form-urlencoded",
        "text/plain",
        "multipart/form-data; boundary=x",
        "application/jsonp",
    ] {
        let r = app
            .client
            .post(app.url("/api/v1/auth/login"))
            .header("Content-Type", content_type)
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 415, "{content_type}");
        assert!(session_cookie(r.headers()).is_none(), "{content_type}");
    }
    assert_eq!(logins(&app).await, 0, "nobody signed in");

    // The same-site Referer with the page's own pair signs in.
    let r = app
        .client
        .post(app.url("/auth/login"))
        .header("Referer", format!("{}/login", app.address))
        .header("Cookie", &cookie)
        .form(&with_token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(crate::helpers::header(&r, "location"), "/account");
    assert!(session_cookie(r.headers()).is_some());
    assert_eq!(logins(&app).await, 1);
}
