//! ASVS 5.0 V8 (authorization), the server-rendered pages: a page reads its
//! data in-process (`routes::pages::dispatch`), matched against the route
//! table's patterns and decided under that route's own entry. These attacks
//! go through the page URL (its path and query parameters build the API
//! path the page reads) and through the credential the page request
//! carries.

use crate::helpers::oauth_flow::{authorize_pairs, code_for, exchange, param, REDIRECT, VERIFIER};
use crate::helpers::{
    oauth_client, register_with_roles, signed_in_admin, spawn_app_with, TestApp, PASSWORD,
};
use backend::db::models::user::Role;
use backend::db::schema::access_decisions;
use diesel::prelude::*;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const WORKSHOP_ON: (&str, &str) = ("APP_WORKSHOP", "1");

/// Every page of the admin area (the workshop board needs `APP_WORKSHOP=1`).
const ADMIN_PAGES: [&str; 9] = [
    "/admin",
    "/admin/users",
    "/admin/audit",
    "/admin/decisions",
    "/admin/devices",
    "/admin/policies",
    "/admin/logs",
    "/admin/oauth-clients",
    "/admin/workshop",
];

/// What any admin page would carry if it had loaded its data: other
/// people's names and addresses, the rows of every table, audit actions and
/// the policy listing's routes (also in the hydration script, which these
/// plain substring checks cover). Audit actions are not markers: the audit
/// page's filter names them.
fn leaked(html: &str, others: &[&str]) -> Vec<String> {
    let mut found: Vec<String> = others
        .iter()
        .filter(|o| html.contains(*o))
        .map(|o| (*o).to_owned())
        .collect();
    for marker in [
        "data-testid=\"user-row\"",
        "data-testid=\"audit-row\"",
        "data-testid=\"decision-row\"",
        "data-testid=\"policy-route-row\"",
        "data-testid=\"admin-device-row\"",
        "data-testid=\"admin-session-row\"",
        "data-testid=\"client-row\"",
        "data-testid=\"tile-users\"",
        "data-testid=\"user-detail-name\"",
        "/api/v1/admin/users/{id}/shred",
        "missing_permission",
    ] {
        if html.contains(marker) {
            found.push(marker.to_owned());
        }
    }
    found
}

/// The page as `cookie` sees it: status and HTML.
async fn page(app: &TestApp, path: &str, cookie: &str) -> (u16, String) {
    let r = app.get(path, Some(cookie)).await;
    (r.status().as_u16(), r.text().await.unwrap())
}

/// (route, reason) of the denied decisions recorded for `user_id`.
async fn denied_routes(app: &TestApp, user_id: &str) -> Vec<(String, String)> {
    let uid = user_id.to_owned();
    backend::db::run(&app.state.pool, move |c| {
        Ok(access_decisions::table
            .filter(access_decisions::user_id.eq(uid))
            .filter(access_decisions::outcome.eq("deny"))
            .select((access_decisions::route, access_decisions::reason))
            .load(c)?)
    })
    .await
    .unwrap()
}

/// A plain user (no admin or auditor role) loads every admin page, the user
/// page with someone else's id and with their own: each answers 403 with
/// the "not allowed" view and carries no data; the reads behind them were
/// refused under the API routes' own entries, and recorded.
#[tokio::test]
async fn a_plain_user_gets_every_admin_page_as_not_allowed_and_no_data() {
    let app = spawn_app_with(&[WORKSHOP_ON]).await;
    let _admin = signed_in_admin(&app, "pr_admin").await;
    let user = app.signed_in("pr_user").await;
    let user_id = app.user_id(&user).await;
    let victim = app.signed_in("pr_victim").await;
    let victim_id = app.user_id(&victim).await;
    let others = ["pr_admin", "pr_victim", "pr_admin@example.org"];

    let mut pages: Vec<String> = ADMIN_PAGES.iter().map(|p| (*p).to_owned()).collect();
    pages.push(format!("/admin/users/{victim_id}"));
    pages.push(format!("/admin/users/{user_id}"));
    for path in &pages {
        let (status, html) = page(&app, path, &user).await;
        assert_eq!(status, 403, "{path}");
        assert!(
            html.contains("data-testid=\"not-allowed\""),
            "{path}: {html}"
        );
        assert_eq!(leaked(&html, &others), Vec::<String>::new(), "{path}");
        assert!(!html.contains("auth.login"), "no audit action: {path}");
    }
    let denied = denied_routes(&app, &user_id).await;
    for route in [
        "/api/v1/admin/overview",
        "/api/v1/admin/users",
        "/api/v1/admin/users/{id}",
        "/api/v1/admin/audit",
        "/api/v1/admin/decisions",
        "/api/v1/admin/devices",
        "/api/v1/admin/policies",
        "/api/v1/admin/logs",
        "/api/v1/admin/oauth/clients",
        "/api/v1/workshop/progress",
    ] {
        assert!(
            denied
                .iter()
                .any(|(r, reason)| r == route && reason == "missing_permission"),
            "the page's read of {route} was refused and recorded: {denied:?}"
        );
    }
}

/// Path tricks in a page URL, whose segment and query parameters the page
/// puts into the API path it reads: encoded slashes and dots, a query or a
/// fragment inside the id, unicode, NUL, trailing and double slashes, a
/// second query smuggled inside a parameter. A plain user gets no data from
/// any; an admin's page reads only the route the page names (an id with a
/// `/`, `?` or `#` is one id, not found; a smuggled `q` is searched for
/// literally).
#[tokio::test]
async fn path_tricks_in_a_pages_url_reach_no_other_read() {
    let app = spawn_app_with(&[]).await;
    let (admin, _) = signed_in_admin(&app, "pt_admin").await;
    let user = app.signed_in("pt_user").await;
    let victim = app.signed_in("pt_victim").await;
    let vid = app.user_id(&victim).await;
    let others = ["pt_admin", "pt_victim"];
    // (path, the status a plain user gets, the status the admin gets).
    let tricks: Vec<(String, u16, u16)> = vec![
        ("/admin/users/..%2Fpolicies".into(), 403, 404),
        ("/admin/users/%2F..%2F..%2Fme".into(), 403, 404),
        (format!("/admin/users/{vid}%2Fsessions"), 403, 404),
        (format!("/admin/users/{vid}%3Fq%3Dpt_"), 403, 404),
        (format!("/admin/users/{vid}%23frag"), 403, 404),
        ("/admin/users/%C3%A9%E2%80%AE".into(), 403, 404),
        (format!("/admin/users/{vid}/sessions"), 404, 404),
        (format!("/admin/users//{vid}"), 404, 404),
        ("/admin//users".into(), 404, 404),
        ("/admin/users/%00".into(), 400, 400),
        ("/admin/users?q=x%2F..%2F..%2Fpolicies".into(), 403, 200),
        ("/admin/users?q=nomatch%26q%3Dpt_victim".into(), 403, 200),
        ("/admin/users?q=zz&after=..%2F..%2Fme".into(), 403, 200),
        (
            "/admin/audit?actor=x%3F%26action%3Dauth.register".into(),
            403,
            200,
        ),
        (
            "/admin/decisions?user=x%23&route=%2Fapi%2Fv1%2Fme".into(),
            403,
            200,
        ),
        (
            "/admin/logs?request_id=..%2F..%2Fme%3Flevel%3D".into(),
            403,
            200,
        ),
    ];
    for (path, as_user, as_admin) in &tricks {
        let (status, html) = page(&app, path, &user).await;
        assert_eq!(status, *as_user, "user: {path}");
        assert_eq!(leaked(&html, &others), Vec::<String>::new(), "user: {path}");

        let (status, html) = page(&app, path, &admin).await;
        assert_eq!(status, *as_admin, "admin: {path}");
        // No other route's data: no victim (the search box may echo the
        // trick's text), no policy listing, no sessions, no rows a literal
        // search for the trick's text would not find.
        assert_eq!(
            leaked(&html, &["pt_victim@example.org"]),
            Vec::<String>::new(),
            "admin: {path}"
        );
    }
    // The same with literal dot segments, which no browser sends: refused
    // before routing (see the next test), so no page and no data.
    for raw in [
        "/admin/users/..".to_owned(),
        "/admin/users/../policies".to_owned(),
        format!("/admin/users/{vid}/../../policies"),
        "/nowhere/../admin/audit".to_owned(),
    ] {
        let (status, html) = raw_get(&app, &raw, &user).await;
        assert_eq!(status, 400, "user: {raw}");
        assert_eq!(leaked(&html, &others), Vec::<String>::new(), "user: {raw}");
    }
}

/// `GET path` sent byte for byte (HTTP/1.1, one request, then close): the
/// status and the body.
async fn raw_get(app: &TestApp, path: &str, cookie: &str) -> (u16, String) {
    let host = app.address.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(host).await.unwrap();
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut bytes = Vec::new();
    stream.read_to_end(&mut bytes).await.unwrap();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, text)
}

/// An OAuth client's token with the `account` scope, granted by `cookie`'s
/// user (an admin: the scope, not the roles, must stop it).
async fn account_token(app: &TestApp, cookie: &str) -> String {
    let (client_id, _) = oauth_client(app, true, &[REDIRECT], &["account"]).await;
    let location = code_for(app, cookie, &authorize_pairs(&client_id, REDIRECT)).await;
    let code = param(&location, "code").expect("a code");
    let r = exchange(app, &client_id, &code, REDIRECT, VERIFIER).await;
    assert_eq!(r.status(), 200, "token exchange");
    let body: Value = r.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

/// An admin's OAuth token scoped `account`, presented to the admin pages as
/// a bearer and as the browser's access cookie, and a plain user's
/// first-party bearer token: no page loads data. The page reads are decided
/// with the token's scopes (`insufficient_scope`), not the admin's roles.
#[tokio::test]
async fn oauth_and_bearer_tokens_open_no_admin_page() {
    let app = spawn_app_with(&[]).await;
    let (admin, _) = signed_in_admin(&app, "tok_admin").await;
    let admin_id = app.user_id(&admin).await;
    let victim = app.signed_in("tok_victim").await;
    let vid = app.user_id(&victim).await;
    let scoped = account_token(&app, &admin).await;
    // Where the scope applies, it works.
    assert_eq!(
        crate::helpers::oauth_flow::me_status(&app, &scoped).await,
        200
    );
    let r = app
        .post_json(
            "/api/v1/auth/token",
            &json!({ "login": "tok_victim", "password": PASSWORD }),
            None,
        )
        .await;
    let first_party: Value = r.json().await.unwrap();
    let user_bearer = first_party["access_token"].as_str().unwrap().to_owned();

    let mut pages: Vec<String> = ADMIN_PAGES[..8].iter().map(|p| (*p).to_owned()).collect();
    pages.push(format!("/admin/users/{vid}"));
    for path in &pages {
        for bearer in [&scoped, &user_bearer] {
            let r = app
                .client
                .get(app.url(path))
                .bearer_auth(bearer)
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            let html = r.text().await.unwrap();
            assert!(status == 401 || status == 403, "bearer {path} -> {status}");
            assert_eq!(
                leaked(&html, &["tok_victim@example.org", "tok_admin@example.org"]),
                Vec::<String>::new(),
                "bearer: {path}"
            );
        }
        let (status, html) = page(&app, path, &format!("__Host-access={scoped}")).await;
        assert_eq!(status, 403, "scoped cookie: {path}");
        assert!(html.contains("data-testid=\"not-allowed\""), "{path}");
        // The token's own user may show (the navigation's `me` is within
        // the `account` scope); nobody else, and no admin data.
        assert_eq!(
            leaked(&html, &["tok_victim@example.org"]),
            Vec::<String>::new(),
            "scoped cookie: {path}"
        );
    }
    let denied = denied_routes(&app, &admin_id).await;
    assert!(
        denied
            .iter()
            .any(|(r, why)| r == "/api/v1/admin/users" && why == "insufficient_scope"),
        "{denied:?}"
    );
    assert!(
        denied
            .iter()
            .any(|(r, why)| r == "/admin/users" && why == "insufficient_scope"),
        "the page itself was refused too: {denied:?}"
    );
}

/// An auditor reads every admin page (data shown, marked read-only) and
/// cannot change anything; an admin whose elevation window lapsed still
/// reads, is shown as read-only, and their change is refused until a step
/// up. The target account is unchanged.
#[tokio::test]
async fn auditors_and_lapsed_admins_read_pages_but_change_nothing() {
    let app = spawn_app_with(&[("ADMIN_ELEVATION_SECS", "1")]).await;
    let (admin, _) = signed_in_admin(&app, "ro_admin").await;
    register_with_roles(&app, "ro_auditor", &[Role::Auditor, Role::User]).await;
    let auditor = app.login("ro_auditor", PASSWORD).await;
    let victim = app.signed_in("ro_victim").await;
    let vid = app.user_id(&victim).await;

    let detail = format!("/admin/users/{vid}");
    for (path, shows) in [
        ("/admin", "data-testid=\"tile-users\""),
        ("/admin/users", "ro_victim@example.org"),
        (detail.as_str(), "ro_victim@example.org"),
        ("/admin/audit", "data-testid=\"audit-row\""),
        ("/admin/decisions", "data-testid=\"decision-row\""),
        ("/admin/policies", "data-testid=\"policy-route-row\""),
    ] {
        let (status, html) = page(&app, path, &auditor).await;
        assert_eq!(status, 200, "auditor: {path}");
        assert!(html.contains(shows), "auditor: {path} shows {shows}");
    }
    let (_, overview) = page(&app, "/admin", &auditor).await;
    assert!(overview.contains("Read-only: your roles let you view, not change."));

    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let (status, html) = page(&app, &detail, &admin).await;
    assert_eq!(status, 200, "a lapsed admin still reads");
    assert!(html.contains("ro_victim@example.org"));
    let (_, overview) = page(&app, "/admin", &admin).await;
    assert!(overview.contains("Read-only until you verify again."));

    let lock = format!("/api/v1/admin/users/{vid}/lock");
    let r = app.post_json(&lock, &json!({}), Some(&auditor)).await;
    assert_eq!(r.status(), 403);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "forbidden");
    let r = app.post_json(&lock, &json!({}), Some(&admin)).await;
    assert_eq!(r.status(), 401);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"],
        "step_up_required"
    );
    // Nothing happened to the account.
    assert_eq!(app.get("/api/v1/me", Some(&victim)).await.status(), 200);
    let (_, html) = page(&app, &detail, &auditor).await;
    assert!(html.contains("Allowed"), "not locked");
    assert!(!app
        .audit_actions()
        .await
        .iter()
        .any(|a| a.0 == "account.locked"));
}

/// A path with dot segments (`/nowhere/../admin/policies`, also `%2E%2E`,
/// `/./`) matched no actix pattern, so the enforcement point passed it on
/// undecided and the pages' fallback handed the raw path to the Leptos
/// router, which resolved the dots and rendered the admin page: the page's
/// own policy entry was never decided (its data reads were, so nothing
/// leaked). Found by this suite; now `http::request_target` refuses such a
/// path with a 400 before routing, for a user and for an admin alike.
#[tokio::test]
async fn a_dot_segment_path_does_not_render_a_page_its_policy_did_not_decide() {
    let app = spawn_app_with(&[]).await;
    let user = app.signed_in("pd_user").await;
    let (admin, _) = signed_in_admin(&app, "pd_admin").await;
    for cookie in [&user, &admin] {
        for raw in [
            "/nowhere/../admin/policies",
            "/admin/./policies",
            "/%2E%2E/admin/policies",
            "/%2e/admin/policies",
            "/.%2E/admin/policies",
            "/admin/users/..",
            "/auth/../admin/audit",
            "/api/v1/../../admin/decisions",
        ] {
            let (status, html) = raw_get(&app, raw, cookie).await;
            assert_eq!(status, 400, "{raw}");
            assert!(
                !html.contains("Admin</title>"),
                "{raw} rendered an admin page"
            );
            assert!(html.contains("`.` or `..` segment"), "{raw}: {html}");
        }
    }
}
