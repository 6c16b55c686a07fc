//! ASVS 5.0 V8 (authorization): device posture, first-party-only routes, admin plane.

use crate::helpers::{enrol_totp, next_totp_step, signed_in_admin, spawn_app, totp_code, TestApp};
use backend::db::schema::{devices, sessions, user_roles, users};
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

/// A session bound to no device that names a device it does not own (a
/// made-up id, or another user's compliant device) was judged as an
/// "unknown device", which own routes accept: the account's quarantine was
/// escaped by saying something instead of nothing. It cannot prove it is
/// not the quarantined device either, so it is refused like it.
#[tokio::test]
async fn a_quarantined_account_is_not_escaped_by_naming_an_unknown_device() {
    let app = spawn_app().await;
    let (admin, _) = signed_in_admin(&app, "zt_admin2").await;
    let user = app.signed_in("zt_named").await;
    let thief = app.login("zt_named", crate::helpers::PASSWORD).await;
    let (_, device_id) = app.with_device(&user, "Work laptop").await;
    // Someone else's compliant device.
    let other = app.signed_in("zt_neighbour").await;
    let (_, neighbours) = app.with_device(&other, "Neighbour's laptop").await;
    set_compliance(&app, &admin, &device_id, false).await;

    for named in [
        "00000000-0000-4000-8000-000000000000".to_owned(),
        "not-even-an-id".to_owned(),
        neighbours.clone(),
    ] {
        for how in ["header", "cookie"] {
            let mut request = app.client.get(app.url("/api/v1/me"));
            request = match how {
                "header" => request
                    .header("Cookie", &thief)
                    .header("X-Device-ID", &named),
                _ => request.header("Cookie", format!("{thief}; __Host-device={named}")),
            };
            let r = request.send().await.unwrap();
            assert_eq!(r.status(), 403, "naming {named} by {how}");
        }
    }
    // The thief's session did not get bound to anything by trying.
    let bound: Option<String> = {
        backend::db::run(&app.state.pool, move |c| {
            Ok(sessions::table
                .inner_join(users::table)
                .filter(users::username.eq("zt_named"))
                .filter(sessions::device_id.is_not_null())
                .filter(sessions::device_id.ne(device_id))
                .select(sessions::device_id)
                .first::<Option<String>>(c)
                .optional()?
                .flatten())
        })
        .await
        .unwrap()
    };
    assert_eq!(bound, None);
    // The neighbour is not affected by its id being named.
    let neighbour_on_device = format!("{other}; __Host-device={neighbours}");
    assert_eq!(
        app.get("/api/v1/me", Some(&neighbour_on_device))
            .await
            .status(),
        200
    );
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

// ------------------------------------------------------- the last admin

/// `k` elevated admins on managed devices: (cookie, user id) each.
async fn admins(app: &TestApp, prefix: &str, k: usize) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for i in 0..k {
        let (cookie, _) = signed_in_admin(app, &format!("{prefix}{i}")).await;
        let (cookie, _) = app.with_device(&cookie, "Admin laptop").await;
        let me: Value = app
            .get("/api/v1/me", Some(&cookie))
            .await
            .json()
            .await
            .unwrap();
        out.push((cookie, me["id"].as_str().unwrap().to_owned()));
    }
    out
}

/// Users holding a permanent admin grant whose account is not locked: the
/// admins who can still act.
async fn admins_who_can_act(app: &TestApp) -> Vec<String> {
    backend::db::run(&app.state.pool, |c| {
        let now = chrono::Utc::now().naive_utc();
        Ok(user_roles::table
            .inner_join(users::table)
            .filter(user_roles::role.eq("admin"))
            .filter(user_roles::expires_at.is_null())
            .filter(
                users::locked_until
                    .is_null()
                    .or(users::locked_until.le(now)),
            )
            .select(user_roles::user_id)
            .load::<String>(c)?)
    })
    .await
    .unwrap()
}

async fn revoke_admin(app: &TestApp, cookie: &str, target: &str) -> u16 {
    app.send(
        Method::PUT,
        &format!("/api/v1/admin/users/{target}/roles"),
        Some(&json!({ "role": "admin", "grant": false })),
        Some(cookie),
    )
    .await
    .status()
    .as_u16()
}

async fn lock(app: &TestApp, cookie: &str, target: &str) -> u16 {
    app.post_json(
        &format!("/api/v1/admin/users/{target}/lock"),
        &json!({}),
        Some(cookie),
    )
    .await
    .status()
    .as_u16()
}

/// Runs `requests` so that, on PostgreSQL, they are all inside their write
/// transactions at once, whatever the scheduler does: a transaction of the
/// test holds every insert into `audit_log` (each change records one before
/// it commits) and lets go only once `waiting` of this server's connections
/// wait for a lock (the first request behind the test, the others behind
/// it). Without the admins' lock the second request would by then have
/// checked and removed its admin too. SQLite takes one writer at a time
/// (`BEGIN IMMEDIATE`): there the requests are simply sent together.
async fn inside_at_once<F: std::future::Future>(
    app: &TestApp,
    waiting: i64,
    requests: F,
) -> F::Output {
    use diesel::connection::SimpleConnection;
    if std::env::var("TEST_DATABASE_URL").map_or(true, |u| u.is_empty()) {
        return requests.await;
    }
    #[derive(QueryableByName)]
    struct Waiting {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let pool = app.state.pool.clone();
    let (held, holding) = tokio::sync::oneshot::channel();
    let holder = tokio::task::spawn_blocking(move || {
        let mut c = pool.get().unwrap();
        c.batch_execute("BEGIN; LOCK TABLE audit_log IN SHARE ROW EXCLUSIVE MODE")
            .unwrap();
        held.send(()).unwrap();
        // Bounded only so a broken build cannot hang the suite: the
        // requests' own client timeout fails the test long before.
        for _ in 0..3000 {
            // This server's connections (named after its schema).
            let n = diesel::sql_query(
                "SELECT COUNT(*) AS n FROM pg_stat_activity
                 WHERE application_name = current_setting('application_name')
                   AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'",
            )
            .get_result::<Waiting>(&mut *c)
            .unwrap()
            .n;
            if n >= waiting {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        c.batch_execute("COMMIT").unwrap();
    });
    holding.await.unwrap();
    let out = requests.await;
    holder.await.unwrap();
    out
}

#[tokio::test]
async fn two_admins_removing_each_other_at_once_leave_one() {
    let app = spawn_app().await;
    let peers = admins(&app, "pair", 2).await;
    let ((a, a_id), (b, b_id)) = (&peers[0], &peers[1]);
    let answers = inside_at_once(
        &app,
        2,
        futures_util::future::join(revoke_admin(&app, a, b_id), revoke_admin(&app, b, a_id)),
    )
    .await;
    let mut statuses = [answers.0, answers.1];
    statuses.sort_unstable();
    assert_eq!(statuses, [204, 409], "one removal, one refusal");
    assert_eq!(admins_who_can_act(&app).await.len(), 1);
}

#[tokio::test]
async fn admins_removing_each_other_at_once_leave_an_admin_who_can_act() {
    let app = spawn_app().await;
    let peers = admins(&app, "peer", 5).await;
    // Every admin takes the admin role from every other one, all at once:
    // each request alone sees others remain; only one at a time may act on
    // that.
    let answers = futures_util::future::join_all(peers.iter().flat_map(|(cookie, _)| {
        peers
            .iter()
            .map(|(_, target)| revoke_admin(&app, cookie, target))
            .collect::<Vec<_>>()
    }))
    .await;
    assert!(
        answers.iter().all(|s| [204, 403, 404, 409].contains(s)),
        "refused or done, never a server error: {answers:?}"
    );
    let left = admins_who_can_act(&app).await;
    assert_eq!(left.len(), 1, "exactly one admin remains: {answers:?}");
}

#[tokio::test]
async fn admins_locking_each_other_at_once_leave_an_admin_who_can_act() {
    let app = spawn_app().await;
    let peers = admins(&app, "locker", 4).await;
    // Each admin locks every other one and takes the admin role from them,
    // all at once.
    let answers = futures_util::future::join_all(peers.iter().flat_map(|(cookie, _)| {
        peers
            .iter()
            .flat_map(|(_, target)| {
                [
                    futures_util::future::Either::Left(lock(&app, cookie, target)),
                    futures_util::future::Either::Right(revoke_admin(&app, cookie, target)),
                ]
            })
            .collect::<Vec<_>>()
    }))
    .await;
    assert!(
        answers
            .iter()
            .all(|s| [204, 401, 403, 404, 409].contains(s)),
        "refused or done, never a server error: {answers:?}"
    );
    assert!(
        !admins_who_can_act(&app).await.is_empty(),
        "an admin who can act remains: {answers:?}"
    );
}

#[tokio::test]
async fn a_locked_admin_does_not_count_as_the_admin_who_remains() {
    let app = spawn_app().await;
    let peers = admins(&app, "solo", 2).await;
    let ((a, a_id), (_, b_id)) = (&peers[0], &peers[1]);
    assert_eq!(lock(&app, a, b_id).await, 204);
    // B still holds the admin role, but cannot act: A is the last admin.
    assert_eq!(revoke_admin(&app, a, a_id).await, 409);
    assert_eq!(admins_who_can_act(&app).await, vec![a_id.clone()]);
}
