//! ASVS 5.0 V8 (authorization): device posture, first-party-only routes, admin plane.

use crate::helpers::{enrol_totp, next_totp_step, signed_in_admin, spawn_app, totp_code, TestApp};
use backend::db::schema::{devices, sessions, users};
use diesel::prelude::*;
use reqwest::Method;
use serde_json::{json, Value};

// ------------------------------------------------------------------ item 5

/// An admin marks `device_id` compliant or not.
async fn set_compliance(app: &TestApp, admin: &str, device_id: &str, compliant: bool) {
    let r = app
        .send(
            Method::PUT,
            &format!("/api/v1/admin/devices/{device_id}/compliance"),
            Some(&json!({ "compliant": compliant })),
            Some(admin),
        )
        .await;
    assert_eq!(r.status(), 204);
}

async fn me_with_bearer(app: &TestApp, token: &str) -> u16 {
    app.client
        .get(app.url("/api/v1/me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn device_rows(app: &TestApp, username: &str) -> Vec<(String, bool)> {
    let name = username.to_owned();
    backend::db::run(&app.state.pool, move |c| {
        Ok(devices::table
            .inner_join(users::table)
            .filter(users::username.eq(name))
            .select((devices::id, devices::compliant))
            .load(c)?)
    })
    .await
    .unwrap()
}

/// (reason, route) of the `access.denied` audit entries.
async fn denials(app: &TestApp) -> Vec<String> {
    app.audit_actions()
        .await
        .into_iter()
        .filter(|a| a.0 == "access.denied")
        .map(|a| a.3)
        .collect()
}

async fn step_up(app: &TestApp, cookie: &str, secret: &backend::security::totp::TotpSecret) {
    next_totp_step(app);
    let r = app
        .post_json(
            "/api/v1/me/mfa/step-up",
            &json!({ "code": totp_code(app, secret) }),
            Some(cookie),
        )
        .await;
    assert_eq!(r.status(), 204);
}

#[tokio::test]
async fn a_quarantined_device_is_not_escaped_by_omitting_it() {
    let app = spawn_app().await;
    let (admin, _) = signed_in_admin(&app, "zt_admin").await;
    let user = app.signed_in("zt_user").await;
    // Sessions opened before the device existed: another browser, a
    // thief's own login, a bearer API client.
    let other_browser = app.login("zt_user", crate::helpers::PASSWORD).await;
    let fresh = app.login("zt_user", crate::helpers::PASSWORD).await;
    let t: Value = app
        .post_json(
            "/api/v1/auth/token",
            &json!({ "login": "zt_user", "password": crate::helpers::PASSWORD }),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    let bearer = t["access_token"].as_str().unwrap().to_owned();
    let secret = enrol_totp(&app, &user).await;
    let (on_device, device_id) = app.with_device(&user, "Work laptop").await;
    assert_eq!(app.get("/api/v1/me", Some(&on_device)).await.status(), 200);
    // The other browser steps up and registers itself before the quarantine.
    step_up(&app, &other_browser, &secret).await;
    let (good_device, good_id) = app.with_device(&other_browser, "Home desktop").await;

    set_compliance(&app, &admin, &device_id, false).await;
    assert_eq!(app.get("/api/v1/me", Some(&on_device)).await.status(), 403);

    // The same session, saying less: no device cookie, no header.
    let r = app.get("/api/v1/me", Some(&user)).await;
    assert_eq!(r.status(), 403, "the session keeps its device's posture");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "forbidden");
    // A session that never named a device (a thief's own login, a bearer
    // client): it cannot prove it is not the quarantined device.
    assert_eq!(app.get("/api/v1/me", Some(&fresh)).await.status(), 403);
    assert_eq!(me_with_bearer(&app, &bearer).await, 403);
    let refused = denials(&app).await;
    assert!(
        refused
            .iter()
            .filter(|d| d.contains("device_not_compliant"))
            .count()
            >= 4,
        "each refusal recorded: {refused:?}"
    );

    // Nor can the quarantine be deleted away: not from a quarantined
    // session, and not from a good device either (an admin clears it).
    let r = app
        .send(
            Method::DELETE,
            &format!("/api/v1/me/devices/{device_id}"),
            None,
            Some(&user),
        )
        .await;
    assert_eq!(r.status(), 403);
    let r = app
        .send(
            Method::DELETE,
            &format!("/api/v1/me/devices/{device_id}"),
            None,
            Some(&good_device),
        )
        .await;
    assert_eq!(r.status(), 409, "a quarantined device stays until reviewed");
    let rows = device_rows(&app, "zt_user").await;
    assert!(rows.contains(&(device_id.clone(), false)), "{rows:?}");
    // The known-good device keeps working, and naming it from the
    // quarantined session does not help.
    assert_eq!(
        app.get("/api/v1/me", Some(&good_device)).await.status(),
        200
    );
    let r = app
        .client
        .get(app.url("/api/v1/me"))
        .header("Cookie", &user)
        .header("X-Device-ID", &good_id)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    // Once the admin clears the device, the account works again.
    set_compliance(&app, &admin, &device_id, true).await;
    assert_eq!(app.get("/api/v1/me", Some(&user)).await.status(), 200);
    assert_eq!(app.get("/api/v1/me", Some(&fresh)).await.status(), 200);
}

#[tokio::test]
async fn registering_a_device_needs_a_fresh_second_factor() {
    let app = spawn_app().await;
    // A session thief without the second factor.
    let stolen = app.signed_in("zt_victim").await;
    let r = app
        .post_json(
            "/api/v1/me/devices",
            &json!({ "label": "Thief's laptop" }),
            Some(&stolen),
        )
        .await;
    assert_eq!(r.status(), 401);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "step_up_required");
    assert!(device_rows(&app, "zt_victim").await.is_empty());
    assert!(!app
        .audit_actions()
        .await
        .iter()
        .any(|a| a.0 == "device.register"));
    let r = app.get("/api/v1/demo/managed-device", Some(&stolen)).await;
    assert_eq!(r.status(), 403, "still no managed device");

    // Enrolled, but the last second factor is old: refused the same way.
    let secret = enrol_totp(&app, &stolen).await;
    backend::db::run(&app.state.pool, |c| {
        diesel::update(sessions::table)
            .set(sessions::mfa_verified_at.eq(Some(
                chrono::Utc::now().naive_utc() - chrono::Duration::hours(1),
            )))
            .execute(c)?;
        Ok(())
    })
    .await
    .unwrap();
    app.forget_cached_identities();
    let r = app
        .post_json(
            "/api/v1/me/devices",
            &json!({ "label": "Thief's laptop" }),
            Some(&stolen),
        )
        .await;
    assert_eq!(r.status(), 401);
    assert!(device_rows(&app, "zt_victim").await.is_empty());

    // The owner steps up with the second factor, then registers.
    step_up(&app, &stolen, &secret).await;
    let r = app
        .post_json(
            "/api/v1/me/devices",
            &json!({ "label": "Work laptop" }),
            Some(&stolen),
        )
        .await;
    assert_eq!(r.status(), 201);
    assert_eq!(device_rows(&app, "zt_victim").await.len(), 1);
}
