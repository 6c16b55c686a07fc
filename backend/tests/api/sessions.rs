//! Session management (ASVS 3.3.3, 3.3.4; 5.0 7.4.5).

use crate::helpers::{spawn_app, PASSWORD};
use serde_json::{json, Value};

async fn my_sessions(app: &crate::helpers::TestApp, cookie: &str) -> Vec<Value> {
    let r = app.get("/api/v1/me/sessions", Some(cookie)).await;
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

async fn delete(app: &crate::helpers::TestApp, path: &str, cookie: &str) -> reqwest::Response {
    app.client
        .delete(app.url(path))
        .header("Origin", &app.address)
        .header("Cookie", cookie)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_user_sees_their_sessions_and_revokes_another_device() {
    let app = spawn_app().await;
    let laptop = app.signed_in("sam").await;
    let phone = app.login("sam", PASSWORD).await;

    let list = my_sessions(&app, &laptop).await;
    assert_eq!(list.len(), 2);
    assert_eq!(list.iter().filter(|s| s["current"] == true).count(), 1);
    assert!(list
        .iter()
        .all(|s| s["device"].is_string() && s["created_at"].is_string()));
    let other = list.iter().find(|s| s["current"] == false).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let r = delete(&app, &format!("/api/v1/me/sessions/{other}"), &laptop).await;
    assert_eq!(r.status(), 204);
    // The phone is signed out on its next request, refresh cookie or not.
    assert_eq!(app.get("/api/v1/me", Some(&phone)).await.status(), 401);
    assert_eq!(app.get("/api/v1/me", Some(&laptop)).await.status(), 200);
    assert_eq!(my_sessions(&app, &laptop).await.len(), 1);
}

#[tokio::test]
async fn another_users_session_is_not_found() {
    let app = spawn_app().await;
    let alice = app.signed_in("alice_s").await;
    let bob = app.signed_in("bob_s").await;
    let bobs = my_sessions(&app, &bob).await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = delete(&app, &format!("/api/v1/me/sessions/{bobs}"), &alice).await;
    assert_eq!(r.status(), 404);
    assert_eq!(
        app.get("/api/v1/me", Some(&bob)).await.status(),
        200,
        "Bob is still signed in"
    );
    let r = delete(&app, "/api/v1/me/sessions/no-such-id", &alice).await;
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn log_out_everywhere_else() {
    let app = spawn_app().await;
    let here = app.signed_in("tess").await;
    let a = app.login("tess", PASSWORD).await;
    let b = app.login("tess", PASSWORD).await;
    let r = app
        .post_json("/api/v1/me/sessions/revoke-others", &json!({}), Some(&here))
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["revoked"], 2);
    for other in [&a, &b] {
        assert_eq!(app.get("/api/v1/me", Some(other)).await.status(), 401);
    }
    assert_eq!(app.get("/api/v1/me", Some(&here)).await.status(), 200);
}

#[tokio::test]
async fn asvs_3_3_3_a_password_change_ends_the_other_sessions() {
    let app = spawn_app().await;
    let here = app.signed_in("uma").await;
    let elsewhere = app.login("uma", PASSWORD).await;
    let wrong = app
        .post_json(
            "/api/v1/me/password",
            &json!({ "current_password": "Not-my-password-1", "new_password": "N3w-Passphrase!x" }),
            Some(&here),
        )
        .await;
    assert_eq!(wrong.status(), 422);
    assert_eq!(
        app.get("/api/v1/me", Some(&elsewhere)).await.status(),
        200,
        "nothing changed"
    );

    let weak = app
        .post_json(
            "/api/v1/me/password",
            &json!({ "current_password": PASSWORD, "new_password": "Password123!" }),
            Some(&here),
        )
        .await;
    assert_eq!(weak.status(), 422);

    let r = app
        .post_json(
            "/api/v1/me/password",
            &json!({ "current_password": PASSWORD, "new_password": "N3w-Passphrase!x" }),
            Some(&here),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(app.get("/api/v1/me", Some(&elsewhere)).await.status(), 401);
    assert_eq!(app.get("/api/v1/me", Some(&here)).await.status(), 200);
    app.login("uma", "N3w-Passphrase!x").await;
    let old = app
        .post_json(
            "/api/v1/auth/login",
            &json!({ "login": "uma", "password": PASSWORD }),
            None,
        )
        .await;
    assert_eq!(old.status(), 401);
    let rows = app.audit_actions().await;
    assert!(rows
        .iter()
        .any(|r| r.0 == "account.password_change" && r.1 == "success"));
}

#[tokio::test]
async fn admins_list_and_revoke_anyones_sessions_and_users_cannot() {
    let app = crate::helpers::spawn_app().await;
    let (admin, _) = crate::helpers::signed_in_admin(&app, "boss").await;
    let user = app.signed_in("worker").await;
    let me: Value = app
        .get("/api/v1/me", Some(&user))
        .await
        .json()
        .await
        .unwrap();
    let uid = me["id"].as_str().unwrap();

    // A user may not use the admin API; the attempt is recorded.
    let r = app
        .get(&format!("/api/v1/admin/users/{uid}/sessions"), Some(&user))
        .await;
    assert_eq!(r.status(), 403);
    assert!(app
        .audit_actions()
        .await
        .iter()
        .any(|r| r.0 == "access.denied" && r.3.contains("missing_permission")));

    let r = app
        .get(&format!("/api/v1/admin/users/{uid}/sessions"), Some(&admin))
        .await;
    assert_eq!(r.status(), 200);
    let list: Vec<Value> = r.json().await.unwrap();
    assert_eq!(list.len(), 1);
    let sid = list[0]["id"].as_str().unwrap();
    let r = delete(&app, &format!("/api/v1/admin/sessions/{sid}"), &admin).await;
    assert_eq!(r.status(), 204);
    assert_eq!(app.get("/api/v1/me", Some(&user)).await.status(), 401);
}

#[tokio::test]
async fn the_sessions_page_lists_sessions_and_revokes_with_plain_forms() {
    let app = spawn_app().await;
    let laptop = app.signed_in("vera").await;
    let phone = app.login("vera", PASSWORD).await;
    let html = app
        .get("/account/sessions", Some(&laptop))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(html.matches("data-testid=\"session-row\"").count(), 2);
    assert!(html.contains("This device"));
    assert!(html.contains("Log out everywhere else"));

    let r = app
        .client
        .post(app.url("/auth/sessions/revoke-others"))
        .header("Origin", &app.address)
        .header("Cookie", &laptop)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(crate::helpers::header(&r, "location"), "/account/sessions");
    assert_eq!(app.get("/api/v1/me", Some(&phone)).await.status(), 401);
}
