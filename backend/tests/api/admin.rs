//! The admin API: who may call what, search, roles (step-up, devices, the
//! last admin, time-bound grants), locks, the dashboard figures.

use crate::helpers::{signed_in_admin, spawn_app, TestApp, PASSWORD};
use backend::routes::table::POLICIES;
use backend::security::policy::{Access, Role};
use reqwest::Method;
use serde_json::{json, Value};

async fn set_role(app: &TestApp, admin: &str, uid: &str, body: Value) -> reqwest::Response {
    app.send(
        Method::PUT,
        &format!("/api/v1/admin/users/{uid}/roles"),
        Some(&body),
        Some(admin),
    )
    .await
}

fn method(m: &str) -> Method {
    Method::from_bytes(m.as_bytes()).unwrap()
}

#[tokio::test]
async fn every_admin_route_refuses_users_and_auditors_cannot_change_anything() {
    let app = spawn_app().await;
    let (admin, _) = signed_in_admin(&app, "rbac_admin").await;
    let (admin_dev, _) = app.with_device(&admin, "Admin laptop").await;
    let user = app.signed_in("rbac_user").await;
    let auditor = app.signed_in("rbac_auditor").await;
    let auditor_id = app.user_id(&auditor).await;
    let r = set_role(
        &app,
        &admin_dev,
        &auditor_id,
        json!({ "role": "auditor", "grant": true }),
    )
    .await;
    assert_eq!(r.status(), 204);
    // A bystander to act on: locking or resetting the callers would end
    // their own sessions mid-test.
    let bystander = app.signed_in("rbac_target").await;
    let target = app.user_id(&bystander).await;

    for p in POLICIES
        .iter()
        .filter(|p| p.path.starts_with("/api/v1/admin/"))
    {
        let path = p.path.replace("{id}", &target);
        let body = json!({ "role": "user", "grant": true, "compliant": true });
        let as_user = app
            .send(method(p.method), &path, Some(&body), Some(&user))
            .await;
        assert_eq!(as_user.status(), 403, "user: {} {}", p.method, p.path);
        let as_auditor = app
            .send(method(p.method), &path, Some(&body), Some(&auditor))
            .await;
        let Access::Requires(perm) = p.access else {
            panic!("admin route {} is public", p.path)
        };
        if perm.is_privileged_write() {
            assert_eq!(as_auditor.status(), 403, "auditor: {} {}", p.method, p.path);
        } else {
            assert!(
                as_auditor.status() == 200 || as_auditor.status() == 404,
                "auditor read: {} {} -> {}",
                p.method,
                p.path,
                as_auditor.status()
            );
        }
        let as_admin = app
            .send(method(p.method), &path, Some(&body), Some(&admin_dev))
            .await;
        assert!(
            as_admin.status() != 403 && as_admin.status() != 401,
            "admin: {} {} -> {}",
            p.method,
            p.path,
            as_admin.status()
        );
    }
}

/// The usernames of one page of `GET /api/v1/admin/users{query}`, and its
/// `next` cursor.
async fn user_page(app: &TestApp, admin: &str, query: &str) -> (Vec<String>, Option<String>) {
    let url = format!("/api/v1/admin/users{query}");
    let r = app.get(&url, Some(admin)).await;
    assert_eq!(r.status(), 200, "{url}");
    let page: Value = r.json().await.unwrap();
    let names = page["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap().to_owned())
        .collect();
    (names, page["next"].as_str().map(str::to_owned))
}

/// Every page of a search with `limit` 1, following `next`.
async fn all_pages(app: &TestApp, admin: &str, q: &str) -> Vec<String> {
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let mut query = format!("?limit=1&q={}", url_escape(q));
        if let Some(a) = &after {
            query.push_str(&format!("&after={}", url_escape(a)));
        }
        let (names, next) = user_page(app, admin, &query).await;
        assert!(names.len() <= 1);
        seen.extend(names);
        match next {
            Some(n) => after = Some(n),
            None => return seen,
        }
    }
}

#[tokio::test]
async fn search_matches_the_start_of_a_username_or_e_mail_literally() {
    let app = spawn_app().await;
    let (admin, _) = signed_in_admin(&app, "search_admin").await;
    for name in ["under_score", "underxscore", "UnderCase"] {
        app.signed_in(name).await;
    }
    for (name, email) in [
        ("pct_a", "50%off@example.org"),
        ("pct_b", "50xoff@example.org"),
        ("pct_c", "50_off@example.org"),
        ("ops_one", "ops@one.example.org"),
        ("ops_two", "ops@two.example.org"),
        ("ops_three", "ops@three.example.org"),
    ] {
        assert_eq!(app.register(name, email).await.status(), 201, "{name}");
    }
    let search = |q: &str| {
        let query = format!("?q={}", url_escape(q));
        let (app, admin) = (&app, admin.clone());
        async move { user_page(app, &admin, &query).await.0 }
    };
    // Usernames: a prefix, any case, in lower-case order.
    assert_eq!(
        search("UNDER").await,
        vec!["under_score", "UnderCase", "underxscore"]
    );
    assert_eq!(search("under_").await, vec!["under_score"], "_ is literal");
    assert!(search("score").await.is_empty(), "not a substring search");
    for q in ["%", "_", "\\", "' OR '1'='1", "\"; DROP TABLE users; --"] {
        assert!(search(q).await.is_empty(), "{q}");
    }
    assert!(search("x' UNION SELECT password_hash FROM users --")
        .await
        .is_empty());
    // With an `@`: e-mails, also from the start, literally.
    assert_eq!(search("50%off@").await, vec!["pct_a"], "% is literal");
    assert_eq!(search("50_OFF@EX").await, vec!["pct_c"], "any case");
    assert_eq!(search("UNDER_SCORE@example").await, vec!["under_score"]);
    assert!(search("@example.org").await.is_empty(), "not a substring");
    assert!(search("50%").await.is_empty(), "no @: usernames only");
    // No text: everyone (the users table is intact).
    assert_eq!(search("").await.len(), 10);

    // Keyset pages, in each field's order: no repeats, no gaps.
    assert_eq!(
        all_pages(&app, &admin, "under").await,
        vec!["under_score", "UnderCase", "underxscore"]
    );
    assert_eq!(
        all_pages(&app, &admin, "ops@").await,
        vec!["ops_one", "ops_three", "ops_two"],
        "by e-mail"
    );
    let everyone = all_pages(&app, &admin, "").await;
    let mut sorted = everyone.clone();
    sorted.sort_by_key(|n| n.to_lowercase());
    sorted.dedup();
    assert_eq!(everyone, sorted);
    assert_eq!(everyone.len(), 10);

    let long = "a".repeat(101);
    assert_eq!(
        app.get(&format!("/api/v1/admin/users?q={long}"), Some(&admin))
            .await
            .status(),
        400
    );
}

fn url_escape(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn role_changes_need_a_registered_device_and_are_audited() {
    let app = spawn_app().await;
    let (admin, _) = signed_in_admin(&app, "roles_admin").await;
    let user = app.signed_in("roles_user").await;
    let uid = app.user_id(&user).await;
    let grant = json!({ "role": "auditor", "grant": true });

    let r = set_role(&app, &admin, &uid, grant.clone()).await;
    assert_eq!(r.status(), 403, "no registered device");
    let (admin, _) = app.with_device(&admin, "Admin laptop").await;
    for bad in [
        json!({ "role": "root", "grant": true }),
        json!({ "role": "auditor", "grant": true, "expires_in_minutes": 0 }),
        json!({ "role": "auditor", "grant": false, "expires_in_minutes": 5 }),
    ] {
        assert_eq!(set_role(&app, &admin, &uid, bad).await.status(), 422);
    }
    assert_eq!(set_role(&app, &admin, &uid, grant).await.status(), 204);
    // Applies from the user's next request: roles are read live.
    assert_eq!(
        app.get("/api/v1/admin/users", Some(&user)).await.status(),
        200
    );
    let me: Value = app
        .get("/api/v1/me", Some(&user))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["roles"], json!(["auditor", "user"]));

    let r = set_role(
        &app,
        &admin,
        &uid,
        json!({ "role": "auditor", "grant": false }),
    )
    .await;
    assert_eq!(r.status(), 204);
    assert_eq!(
        app.get("/api/v1/admin/users", Some(&user)).await.status(),
        403
    );
    let audit = app.audit_actions().await;
    assert!(audit
        .iter()
        .any(|a| a.0 == "role.grant" && a.1 == "success"));
    assert!(audit
        .iter()
        .any(|a| a.0 == "role.revoke" && a.1 == "success"));
}

#[tokio::test]
async fn time_bound_grants_lapse_by_themselves() {
    let app = spawn_app().await;
    let (admin, _) = signed_in_admin(&app, "jit_granter").await;
    let (admin, _) = app.with_device(&admin, "Admin laptop").await;
    let user = app.signed_in("jit_auditor").await;
    let uid = app.user_id(&user).await;
    let r = set_role(
        &app,
        &admin,
        &uid,
        json!({ "role": "auditor", "grant": true, "expires_in_minutes": 30 }),
    )
    .await;
    assert_eq!(r.status(), 204);
    let detail: Value = app
        .get(&format!("/api/v1/admin/users/{uid}"), Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    let auditor = detail["user"]["roles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["role"] == "auditor")
        .unwrap()
        .clone();
    assert!(auditor["expires_at"].is_string());
    assert_eq!(
        app.get("/api/v1/admin/users", Some(&user)).await.status(),
        200
    );

    // The same grant, already past its expiry, gives nothing.
    let (pool, u, by) = (
        app.state.pool.clone(),
        uid.clone(),
        app.user_id(&admin).await,
    );
    backend::db::run(&pool, move |c| {
        let past = chrono::Utc::now().naive_utc() - chrono::Duration::minutes(1);
        Ok(backend::db::models::role_grant::RoleGrant::grant(
            c,
            &u,
            Role::Auditor,
            &by,
            past - chrono::Duration::minutes(5),
            Some(past),
        )?)
    })
    .await
    .unwrap();
    app.forget_cached_identities();
    assert_eq!(
        app.get("/api/v1/admin/users", Some(&user)).await.status(),
        403
    );
}

#[tokio::test]
async fn the_last_admin_cannot_lose_the_admin_role() {
    let app = spawn_app().await;
    let (admin, _) = signed_in_admin(&app, "only_admin").await;
    let (admin, _) = app.with_device(&admin, "Admin laptop").await;
    let me = app.user_id(&admin).await;
    let r = set_role(
        &app,
        &admin,
        &me,
        json!({ "role": "admin", "grant": false }),
    )
    .await;
    assert_eq!(r.status(), 409);
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body["error"],
        "the last administrator cannot lose the admin role"
    );
    // Nor trade it for a grant that would lapse.
    let r = set_role(
        &app,
        &admin,
        &me,
        json!({ "role": "admin", "grant": true, "expires_in_minutes": 10 }),
    )
    .await;
    assert_eq!(r.status(), 409);

    let other = app.signed_in("second_admin").await;
    let other_id = app.user_id(&other).await;
    let r = set_role(
        &app,
        &admin,
        &other_id,
        json!({ "role": "admin", "grant": true }),
    )
    .await;
    assert_eq!(r.status(), 204);
    let r = set_role(
        &app,
        &admin,
        &me,
        json!({ "role": "admin", "grant": false }),
    )
    .await;
    assert_eq!(r.status(), 204);
    assert!(app
        .audit_actions()
        .await
        .iter()
        .any(|a| a.0 == "role.revoke" && a.1 == "failure"));
}

#[tokio::test]
async fn an_admin_locks_and_unlocks_an_account() {
    let app = spawn_app().await;
    let (admin, _) = signed_in_admin(&app, "lock_boss").await;
    let user = app.signed_in("lock_target").await;
    let uid = app.user_id(&user).await;
    let r = app
        .post_json(
            &format!("/api/v1/admin/users/{uid}/lock"),
            &json!({}),
            Some(&admin),
        )
        .await;
    assert_eq!(r.status(), 204);
    assert_eq!(
        app.get("/api/v1/me", Some(&user)).await.status(),
        401,
        "sessions ended"
    );
    let r = app
        .post_json(
            "/api/v1/auth/login",
            &json!({ "login": "lock_target", "password": PASSWORD }),
            None,
        )
        .await;
    assert_eq!(r.status(), 401, "locked");
    let admin_id = app.user_id(&admin).await;
    let r = app
        .post_json(
            &format!("/api/v1/admin/users/{admin_id}/lock"),
            &json!({}),
            Some(&admin),
        )
        .await;
    assert_eq!(r.status(), 409, "not yourself");
    let r = app
        .post_json(
            &format!("/api/v1/admin/users/{uid}/unlock"),
            &json!({}),
            Some(&admin),
        )
        .await;
    assert_eq!(r.status(), 204);
    app.login("lock_target", PASSWORD).await;
}

#[tokio::test]
async fn the_overview_counts_what_happened() {
    let app = spawn_app().await;
    let (admin, _) = signed_in_admin(&app, "stats_admin").await;
    let user = app.signed_in("stats_user").await;
    app.get("/api/v1/admin/users", Some(&user)).await;
    let r = app
        .post_json(
            "/api/v1/auth/login",
            &json!({ "login": "stats_user", "password": "Wrong-Password-1!" }),
            None,
        )
        .await;
    assert_eq!(r.status(), 401);
    let o: Value = app
        .get("/api/v1/admin/overview", Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(o["users"], 2);
    assert_eq!(o["mfa_users"], 1);
    assert!(o["active_sessions"].as_i64().unwrap() >= 2);
    assert_eq!(o["hours"].as_array().unwrap().len(), 24);
    let sum = |k: &str| {
        o["hours"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h[k].as_i64().unwrap())
            .sum::<i64>()
    };
    assert!(sum("logins") >= 2);
    assert_eq!(sum("login_failures"), 1);
    assert!(sum("denied") >= 1);
    assert!(o["allowed_last_24h"].as_i64().unwrap() >= 1);
    assert!(o["deny_reasons"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["label"] == "missing_permission"));
    assert_eq!(o["me"]["elevated"], true);

    let bad = app
        .get("/api/v1/admin/decisions?outcome=maybe", Some(&admin))
        .await;
    assert_eq!(bad.status(), 400);
    let bad = app
        .get("/api/v1/admin/decisions?from=yesterday", Some(&admin))
        .await;
    assert_eq!(bad.status(), 400);
    let policies: Value = app
        .get("/api/v1/admin/policies", Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(policies["routes"].as_array().unwrap().len(), POLICIES.len());
    // Every flag of the table is shown as the server enforces it.
    for (shown, p) in policies["routes"].as_array().unwrap().iter().zip(POLICIES) {
        let flags = (
            shown["managed_device"].as_bool(),
            shown["fresh_mfa"].as_bool(),
            shown["first_party"].as_bool(),
            shown["recent_auth"].as_bool(),
        );
        let expected = (
            Some(p.managed_device),
            Some(p.fresh_mfa),
            Some(p.first_party),
            Some(p.recent_auth),
        );
        assert_eq!(flags, expected, "{} {}", p.method, p.path);
    }
    assert!(POLICIES.iter().any(|p| p.first_party) && POLICIES.iter().any(|p| p.recent_auth));
    assert_eq!(policies["reauth_secs"], 300);
}

#[tokio::test]
async fn a_role_change_needs_a_second_factor_within_the_step_up_window() {
    let app = crate::helpers::spawn_app_with(&[("STEP_UP_WINDOW_SECS", "1")]).await;
    let (admin, secret) = signed_in_admin(&app, "stepup_admin").await;
    let (admin, _) = app.with_device(&admin, "Admin laptop").await;
    let user = app.signed_in("stepup_user").await;
    let uid = app.user_id(&user).await;
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let grant = json!({ "role": "auditor", "grant": true });
    let r = set_role(&app, &admin, &uid, grant.clone()).await;
    assert_eq!(r.status(), 401);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"],
        "step_up_required"
    );
    crate::helpers::next_totp_step(&app);
    let r = app
        .post_json(
            "/api/v1/me/mfa/step-up",
            &json!({ "code": crate::helpers::totp_code(&app, &secret) }),
            Some(&admin),
        )
        .await;
    assert_eq!(r.status(), 204);
    assert_eq!(set_role(&app, &admin, &uid, grant).await.status(), 204);
}
