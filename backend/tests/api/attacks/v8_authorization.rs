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

/// `GET path` with the session `cookie`, naming `device` by header or cookie.
async fn get_naming(app: &TestApp, path: &str, cookie: &str, device: &str, how: &str) -> u16 {
    let request = app.client.get(app.url(path));
    let request = match how {
        "header" => request
            .header("Cookie", cookie)
            .header("X-Device-ID", device),
        _ => request.header("Cookie", format!("{cookie}; __Host-device={device}")),
    };
    request.send().await.unwrap().status().as_u16()
}

/// A session keeps the first device it was bound to. One bound to device
/// A that names the user's other compliant device B (its cookie copied, or
/// its id in `X-Device-ID`) is not B: the managed-device route refuses it,
/// whichever way it names B, while A's own requests still pass, and B's
/// session cannot become A by naming A either.
#[tokio::test]
async fn a_session_bound_to_one_device_naming_another_gets_no_managed_device_route() {
    let app = spawn_app().await;
    let laptop = app.signed_in("zt_two").await;
    let desktop = app.login("zt_two", crate::helpers::PASSWORD).await;
    let secret = enrol_totp(&app, &laptop).await;
    let (laptop_on_a, a) = app.with_device(&laptop, "Laptop").await;
    step_up(&app, &desktop, &secret).await;
    let (desktop_on_b, b) = app.with_device(&desktop, "Desktop").await;
    let managed = "/api/v1/demo/managed-device";
    assert_eq!(app.get(managed, Some(&laptop_on_a)).await.status(), 200);
    assert_eq!(app.get(managed, Some(&desktop_on_b)).await.status(), 200);

    for how in ["header", "cookie"] {
        assert_eq!(
            get_naming(&app, managed, &laptop, &b, how).await,
            403,
            "A's session naming B by {how}"
        );
        assert_eq!(
            get_naming(&app, managed, &desktop, &a, how).await,
            403,
            "B's session naming A by {how}"
        );
    }
    // Both headers at once: the header names B, the cookie A.
    let r = app
        .client
        .get(app.url(managed))
        .header("Cookie", &laptop_on_a)
        .header("X-Device-ID", &b)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "A's cookie with B's id in the header");
    // Nothing rebound: each session is still its own device's.
    assert_eq!(app.get(managed, Some(&laptop_on_a)).await.status(), 200);
    assert_eq!(app.get(managed, Some(&desktop_on_b)).await.status(), 200);
    assert!(denials(&app)
        .await
        .iter()
        .any(|d| d.contains("/api/v1/demo/managed-device")));
}

/// A first-party bearer session (`/api/v1/auth/token`) and its refresh.
async fn bearer_tokens(app: &TestApp, username: &str) -> (String, String) {
    let t: Value = app
        .post_json(
            "/api/v1/auth/token",
            &json!({ "login": username, "password": crate::helpers::PASSWORD }),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    (
        t["access_token"].as_str().unwrap().to_owned(),
        t["refresh_token"].as_str().unwrap().to_owned(),
    )
}

/// `GET /api/v1/me` with a bearer token, naming `device` in `X-Device-ID`.
async fn me_bearer_naming(app: &TestApp, token: &str, device: Option<&str>) -> u16 {
    let mut request = app.client.get(app.url("/api/v1/me")).bearer_auth(token);
    if let Some(d) = device {
        request = request.header("X-Device-ID", d);
    }
    request.send().await.unwrap().status().as_u16()
}

/// The quarantine of one device holds for every credential that cannot
/// prove it is another of the user's devices: a bearer API session, an
/// OAuth client's token, a browser session, each after a refresh too, and
/// a new sign-in made while naming the quarantined device. Each tries
/// naming nothing, the quarantined device, a made-up id, an id too long to
/// be one, another user's device, and whitespace; every answer is 403, and
/// no session ends up bound to anything by trying.
#[tokio::test]
async fn a_quarantined_account_is_not_escaped_by_any_token_kind_or_refresh() {
    use crate::helpers::oauth_flow::{self, code_for, param};
    let app = spawn_app().await;
    let (admin, _) = signed_in_admin(&app, "zt_admin3").await;
    let user = app.signed_in("zt_tokens").await;
    let thief = app.login("zt_tokens", crate::helpers::PASSWORD).await;
    let (bearer, bearer_refresh) = bearer_tokens(&app, "zt_tokens").await;
    let (client_id, _) =
        crate::helpers::oauth_client(&app, true, &[oauth_flow::REDIRECT], &["account"]).await;
    let location = code_for(
        &app,
        &thief,
        &oauth_flow::authorize_pairs(&client_id, oauth_flow::REDIRECT),
    )
    .await;
    let r = oauth_flow::exchange(
        &app,
        &client_id,
        &param(&location, "code").unwrap(),
        oauth_flow::REDIRECT,
        oauth_flow::VERIFIER,
    )
    .await;
    assert_eq!(r.status(), 200);
    let oauth: Value = r.json().await.unwrap();
    let oauth_access = oauth["access_token"].as_str().unwrap().to_owned();
    let oauth_refresh = oauth["refresh_token"].as_str().unwrap().to_owned();
    let secret = enrol_totp(&app, &user).await;
    let (_, device_id) = app.with_device(&user, "Work laptop").await;
    let neighbour = app.signed_in("zt_tokens_nb").await;
    let (_, neighbours) = app.with_device(&neighbour, "Neighbour's laptop").await;
    assert_eq!(me_bearer_naming(&app, &bearer, None).await, 200);
    assert_eq!(me_bearer_naming(&app, &oauth_access, None).await, 200);
    set_compliance(&app, &admin, &device_id, false).await;

    // Refreshed after the quarantine: a bearer, an OAuth client, a browser.
    let r = app
        .post_json(
            "/api/v1/auth/refresh",
            &json!({ "refresh_token": bearer_refresh }),
            None,
        )
        .await;
    assert_eq!(r.status(), 200, "a refresh is no resource");
    let refreshed: Value = r.json().await.unwrap();
    let refreshed_bearer = refreshed["access_token"].as_str().unwrap().to_owned();
    let body = oauth_flow::query(&[
        ("grant_type", "refresh_token"),
        ("refresh_token", &oauth_refresh),
        ("client_id", &client_id),
    ]);
    let r = oauth_flow::post_form(&app, "/oauth/token", &body, None, None).await;
    assert_eq!(r.status(), 200);
    let refreshed_oauth: Value = r.json().await.unwrap();
    let refreshed_oauth = refreshed_oauth["access_token"].as_str().unwrap().to_owned();
    let r = app
        .client
        .post(app.url("/api/v1/auth/refresh"))
        .header("Origin", &app.address)
        .header("Cookie", &thief)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204, "the browser refresh sets new cookies");
    let refreshed_thief = crate::helpers::session_cookie(r.headers()).expect("new cookies");
    // A new sign-in that names the quarantined device while signing in.
    let r = app
        .client
        .post(app.url("/api/v1/auth/token"))
        .header("Origin", &app.address)
        .header("X-Device-ID", &device_id)
        .json(&json!({ "login": "zt_tokens", "password": crate::helpers::PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "the password step");
    let pending: Value = r.json().await.unwrap();
    next_totp_step(&app);
    let r = app
        .client
        .post(app.url("/api/v1/auth/token/mfa"))
        .header("Origin", &app.address)
        .header("X-Device-ID", &device_id)
        .json(&json!({ "mfa_token": pending["mfa_token"], "code": totp_code(&app, &secret) }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "the second step");
    let named_at_login: Value = r.json().await.unwrap();
    let named_at_login = named_at_login["access_token"].as_str().unwrap().to_owned();

    let long = "a".repeat(65);
    let names: [Option<&str>; 6] = [
        None,
        Some(&device_id),
        Some("00000000000040008000000000000000"),
        Some(&long),
        Some(&neighbours),
        Some("   "),
    ];
    for (what, token) in [
        ("bearer", &bearer),
        ("refreshed bearer", &refreshed_bearer),
        ("OAuth", &oauth_access),
        ("refreshed OAuth", &refreshed_oauth),
        ("named at sign-in", &named_at_login),
    ] {
        for named in names {
            assert_eq!(
                me_bearer_naming(&app, token, named).await,
                403,
                "{what} naming {named:?}"
            );
        }
    }
    for (what, cookie) in [("thief", &thief), ("refreshed thief", &refreshed_thief)] {
        for named in names.iter().flatten() {
            for how in ["header", "cookie"] {
                assert_eq!(
                    get_naming(&app, "/api/v1/me", cookie, named, how).await,
                    403,
                    "{what} naming {named:?} by {how}"
                );
            }
        }
        assert_eq!(app.get("/api/v1/me", Some(cookie)).await.status(), 403);
    }
    // Naming the quarantined device binds a session to it (which only
    // keeps it out); nothing got bound to anything else by trying.
    let quarantined = device_id.clone();
    let bound_elsewhere: i64 = backend::db::run(&app.state.pool, move |c| {
        Ok(sessions::table
            .inner_join(users::table)
            .filter(users::username.eq("zt_tokens"))
            .filter(sessions::device_id.is_not_null())
            .filter(sessions::device_id.ne(quarantined))
            .count()
            .get_result(c)?)
    })
    .await
    .unwrap();
    assert_eq!(bound_elsewhere, 0);
}

/// What `/api/v1/me` refuses a quarantined session, the server-rendered
/// pages must not show it either: a public page (the home page, the login
/// page) renders the signed-in user in its navigation, from the same
/// session. A session that cannot prove it is not the quarantined device
/// sees those pages as anyone signed out does: no username, no address.
/// Found: the home page renders "Account (<username>)" in its navigation,
/// and the address in the page's data, for a session whose `/api/v1/me`
/// answers 403 (the page identity is looked up without the device posture).
#[tokio::test]
async fn a_quarantined_session_sees_no_account_data_on_public_pages() {
    let app = spawn_app().await;
    let (admin, _) = signed_in_admin(&app, "zt_admin4").await;
    let user = app.signed_in("zt_pages_owner").await;
    let thief = app.login("zt_pages_owner", crate::helpers::PASSWORD).await;
    let (_, device_id) = app.with_device(&user, "Work laptop").await;
    // Before the quarantine the page shows who is signed in (so the check
    // below can fail).
    let page = app.get("/", Some(&thief)).await.text().await.unwrap();
    assert!(page.contains("zt_pages_owner"), "the page names its user");
    set_compliance(&app, &admin, &device_id, false).await;
    assert_eq!(app.get("/api/v1/me", Some(&thief)).await.status(), 403);
    for path in ["/", "/login", "/register"] {
        let r = app.get(path, Some(&thief)).await;
        let status = r.status().as_u16();
        let page = r.text().await.unwrap();
        assert!(
            !page.contains("zt_pages_owner"),
            "{path} ({status}) shows the quarantined account's name"
        );
    }
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
    // The loser is refused by the last-admin rule (409) when both were
    // inside at once, or by the policy (403) when the winner's removal
    // committed before the loser's request was decided (SQLite, which
    // serialises them, on a busy machine): either way, refused.
    assert!(
        statuses == [204, 409] || statuses == [204, 403],
        "one removal, one refusal: {statuses:?}"
    );
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
