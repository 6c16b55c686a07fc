//! Zero trust: one enforcement point, one decision function, four kinds of
//! facts (identity, device, network, permissions), every deny recorded.

use crate::helpers::{signed_in_admin, spawn_app, spawn_app_with, TestApp};
use backend::routes::table::POLICIES;
use base64::Engine;
use reqwest::Method;
use serde_json::{json, Value};

async fn my_id(app: &TestApp, cookie: &str) -> String {
    let me: Value = app
        .get("/api/v1/me", Some(cookie))
        .await
        .json()
        .await
        .unwrap();
    me["id"].as_str().unwrap().to_owned()
}

/// The reasons of the recorded denies, newest first.
async fn deny_reasons(app: &TestApp, admin: &str) -> Vec<(String, String)> {
    let page: Value = app
        .get("/api/v1/admin/decisions?outcome=deny", Some(admin))
        .await
        .json()
        .await
        .unwrap();
    page["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["route"].as_str().unwrap().to_owned(),
                d["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn every_route_and_page_has_a_policy_entry() {
    let app = spawn_app().await;
    let limiters = backend::http::rate_limit::Limiters::new(&app.state).unwrap();
    let mut registered = None;
    let _ = actix_web::App::new().configure(|cfg| {
        registered = Some(backend::routes::configure(cfg, &limiters));
    });
    let registered = registered.unwrap().list();
    let pages: Vec<String> = backend::startup::page_routes()
        .iter()
        .map(|r| r.path().to_owned())
        .collect();
    assert!(registered.len() > 40, "{registered:?}");
    assert!(pages.iter().any(|p| p == "/admin/users/{id}"), "{pages:?}");
    assert_eq!(
        backend::routes::routes_without_policy(&registered, &pages),
        Vec::<String>::new()
    );
    // And the check does catch a route that is not listed.
    assert_eq!(
        backend::routes::routes_without_policy(&[("GET", "/api/v1/secret".into())], &[]),
        vec!["GET /api/v1/secret".to_owned()]
    );
    // Every listed route exists: no stale entries that would hide a rename.
    for p in POLICIES {
        let known = registered
            .iter()
            .any(|(m, path)| *m == p.method && *path == p.path)
            || (p.method == "GET" && pages.contains(&p.path.to_owned()))
            || p.path == "/pkg";
        assert!(
            known,
            "{} {} is listed but not registered",
            p.method, p.path
        );
    }
}

#[tokio::test]
async fn a_listed_path_with_another_method_is_405_and_runs_nothing() {
    let app = spawn_app().await;
    let r = app.send(Method::PUT, "/api/v1/me", None, None).await;
    assert_eq!(r.status(), 405);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"],
        "method not allowed"
    );
}

#[tokio::test]
async fn a_forged_admin_header_gains_nothing_and_is_recorded() {
    let app = spawn_app().await;
    let user = app.signed_in("mallory").await;
    let r = app
        .client
        .get(app.url("/api/v1/admin/users"))
        .header("Cookie", &user)
        .header("X-Is-Admin", "true")
        .header("X-User-Role", "admin")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "forbidden");
    let audit = app.audit_actions().await;
    assert!(audit.iter().any(|a| a.0 == "access.forged_header"));
    assert!(audit
        .iter()
        .any(|a| a.0 == "access.denied" && a.3.contains("missing_permission")));
}

#[tokio::test]
async fn a_forged_roles_claim_is_refused() {
    let app = spawn_app().await;
    let r = app
        .post_json(
            "/api/v1/auth/token",
            &json!({ "login": "eve_user", "password": crate::helpers::PASSWORD }),
            None,
        )
        .await;
    assert_eq!(r.status(), 401, "no such user yet");
    app.signed_in("eve_user").await;
    let tokens: Value = app
        .post_json(
            "/api/v1/auth/token",
            &json!({ "login": "eve_user", "password": crate::helpers::PASSWORD }),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    let token = tokens["access_token"].as_str().unwrap();
    let parts: Vec<&str> = token.split('.').collect();
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut claims: Value = serde_json::from_slice(&b64.decode(parts[1]).unwrap()).unwrap();
    claims["roles"] = json!(["admin", "user"]);
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        b64.encode(serde_json::to_vec(&claims).unwrap()),
        parts[2]
    );
    let r = app
        .client
        .get(app.url("/api/v1/admin/users"))
        .bearer_auth(&forged)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // The genuine token works for its own account and still not for admin.
    let r = app
        .client
        .get(app.url("/api/v1/admin/users"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(app
        .audit_actions()
        .await
        .iter()
        .any(|a| a.0 == "access.denied" && a.3.contains("/api/v1/admin/users")));
}

#[tokio::test]
async fn a_non_compliant_device_is_refused_and_recorded() {
    let app = spawn_app().await;
    let (admin, _) = signed_in_admin(&app, "dev_admin").await;
    let user = app.signed_in("dev_user").await;
    let (on_device, device_id) = app.with_device(&user, "Work laptop").await;
    assert_eq!(app.get("/api/v1/me", Some(&on_device)).await.status(), 200);

    let r = app
        .send(
            Method::PUT,
            &format!("/api/v1/admin/devices/{device_id}/compliance"),
            Some(&json!({ "compliant": false })),
            Some(&admin),
        )
        .await;
    assert_eq!(r.status(), 204);
    assert_eq!(app.get("/api/v1/me", Some(&on_device)).await.status(), 403);
    // An API client naming the device by header is refused the same way.
    let r = app
        .client
        .get(app.url("/api/v1/me"))
        .header("Cookie", &user)
        .header("X-Device-ID", &device_id)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(deny_reasons(&app, &admin)
        .await
        .contains(&("/api/v1/me".into(), "device_not_compliant".into())));

    // A device id that is not the user's own counts as unknown, not as theirs.
    let other = app.signed_in("dev_other").await;
    let r = app
        .send(
            Method::DELETE,
            &format!("/api/v1/me/devices/{device_id}"),
            None,
            Some(&other),
        )
        .await;
    assert_eq!(r.status(), 404, "another user's device is not found");
}

#[tokio::test]
async fn a_role_only_works_from_its_networks() {
    let app = spawn_app_with(&[
        ("NETWORKS_ADMIN", "10.0.0.0/8"),
        ("TRUSTED_PROXIES", "127.0.0.1/32"),
    ])
    .await;
    let (admin, _) = signed_in_admin(&app, "net_admin").await;
    let r = app.get("/api/v1/admin/users", Some(&admin)).await;
    assert_eq!(r.status(), 403);
    // The admin's own account is not restricted (the user role is not).
    assert_eq!(app.get("/api/v1/me", Some(&admin)).await.status(), 200);
    // From inside the admin network (through the trusted proxy) it works.
    let inside = |path: &str| {
        app.client
            .get(app.url(path))
            .header("Cookie", &admin)
            .header("X-Forwarded-For", "10.1.2.3")
            .send()
    };
    assert_eq!(inside("/api/v1/admin/users").await.unwrap().status(), 200);
    let page: Value = inside("/api/v1/admin/decisions?outcome=deny")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(page["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .any(|d| d["reason"] == "network_not_allowed" && d["client_ip"] == "127.0.0.1"));
}

#[tokio::test]
async fn admin_writes_lapse_after_the_elevation_window_and_a_step_up_restores_them() {
    let app = spawn_app_with(&[("ADMIN_ELEVATION_SECS", "1")]).await;
    let (admin, secret) = signed_in_admin(&app, "jit_admin").await;
    let user = app.signed_in("jit_user").await;
    let uid = my_id(&app, &user).await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;

    let lock = format!("/api/v1/admin/users/{uid}/lock");
    let r = app.post_json(&lock, &json!({}), Some(&admin)).await;
    assert_eq!(r.status(), 401);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"],
        "step_up_required"
    );
    // Reading still works: outside the window an admin is an auditor.
    assert_eq!(
        app.get("/api/v1/admin/users", Some(&admin)).await.status(),
        200
    );
    let overview: Value = app
        .get("/api/v1/admin/overview", Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(overview["me"]["elevated"], false);

    crate::helpers::next_totp_step(&app);
    let r = app
        .post_json(
            "/api/v1/me/mfa/step-up",
            &json!({ "code": crate::helpers::totp_code(&app, &secret) }),
            Some(&admin),
        )
        .await;
    assert_eq!(r.status(), 204);
    assert_eq!(
        app.post_json(&lock, &json!({}), Some(&admin))
            .await
            .status(),
        204
    );
    assert!(deny_reasons(&app, &admin)
        .await
        .iter()
        .any(|(route, reason)| route == "/api/v1/admin/users/{id}/lock"
            && reason == "elevation_required"));
}

#[tokio::test]
async fn pages_are_decided_too_and_a_refused_page_says_not_allowed() {
    let app = spawn_app().await;
    let user = app.signed_in("page_user").await;
    let r = app.get("/admin/users", Some(&user)).await;
    assert_eq!(r.status(), 403);
    let html = r.text().await.unwrap();
    assert!(html.contains("Not allowed"), "{html}");
    assert!(!html.contains("user-row"), "no admin data on the page");

    let (admin, _) = signed_in_admin(&app, "page_admin").await;
    let r = app.get("/admin/users?q=page_user", Some(&admin)).await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("page_user@example.org"), "{html}");
    let r = app.get("/admin", Some(&admin)).await;
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("activity-chart"));
}
