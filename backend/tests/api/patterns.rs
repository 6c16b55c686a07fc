//! The Patterns area: its pages render on the server, every "where it lives"
//! reference points at real code, and each demonstration endpoint shows its
//! control holding.

use crate::helpers::{header, spawn_app, TestApp, PASSWORD};
use serde_json::{json, Value};

const PAGES: &[(&str, &str)] = &[
    ("/patterns", "Security patterns"),
    ("/patterns/zero-trust", "Zero Trust"),
    ("/patterns/defense-in-depth", "Defense in Depth"),
    ("/patterns/authentication", "Secure Authentication"),
    ("/patterns/api-security", "API Security"),
    ("/patterns/data-protection", "Data Protection"),
    ("/patterns/anti-patterns", "Anti-patterns"),
    ("/patterns/tools", "Security Tools"),
    ("/patterns/password-policy", "Password Policy"),
];

#[test]
fn every_code_ref_points_at_a_file_that_has_its_symbol() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf();
    let mut checked = 0;
    for (page, refs) in wire::patterns::ALL {
        assert!(!refs.is_empty(), "{page} lists no code");
        for r in *refs {
            let path = root.join(r.path);
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{page}: {} cannot be read: {e}", r.path));
            assert!(
                text.contains(r.symbol),
                "{page}: {} no longer contains `{}`",
                r.path,
                r.symbol
            );
            checked += 1;
        }
    }
    assert!(checked >= 40, "only {checked} references");
}

#[tokio::test]
async fn patterns_pages_render_on_the_server_signed_out() {
    let app = spawn_app().await;
    for (path, title) in PAGES {
        let r = app.get(path, None).await;
        assert_eq!(r.status(), 200, "{path}");
        assert!(
            header(&r, "content-type").starts_with("text/html"),
            "{path}"
        );
        let html = r.text().await.unwrap();
        assert!(html.contains(title), "{path} shows {title}");
        assert!(html.contains("/pkg/frontend.js"), "{path} hydrates");
        if *path != "/patterns" {
            assert!(html.contains("Where it lives in this code"), "{path}");
        }
    }
    let html = app
        .get("/patterns/anti-patterns", None)
        .await
        .text()
        .await
        .unwrap();
    // A signed-out reader is asked to sign in for the demos acting as a user.
    assert!(html.contains("demo-forged-header-sign-in"));
    // The bad code is on the page as (escaped) text.
    assert!(html.contains("X-Is-Admin"));
    assert!(html.contains("BAD (text only, never compiled)"));
    // The home page's menu links to the area.
    let home = app.get("/", None).await.text().await.unwrap();
    assert!(home.contains("href=\"/patterns\""));
}

#[tokio::test]
async fn signed_in_readers_get_the_demo_buttons() {
    let app = spawn_app().await;
    let cookie = app.signed_in("pat_reader").await;
    let html = app
        .get("/patterns/anti-patterns", Some(&cookie))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("demo-forged-header-run"));
    assert!(!html.contains("demo-forged-header-sign-in"));
}

fn access_token_of(cookie: &str) -> String {
    cookie
        .split("; ")
        .find_map(|c| c.strip_prefix("__Host-access="))
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn the_token_endpoint_returns_claims_and_never_the_token() {
    let app = spawn_app().await;
    assert_eq!(app.get("/api/v1/me/token", None).await.status(), 401);
    let cookie = app.signed_in("pat_token").await;
    let token = access_token_of(&cookie);
    let r = app.get("/api/v1/me/token", Some(&cookie)).await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "cache-control"), "no-store");
    let text = r.text().await.unwrap();
    for part in token.split('.') {
        assert!(!text.contains(part), "a part of the token came back");
    }
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["header"]["alg"], "RS256");
    assert!(body["header"]["kid"].is_string());
    assert_eq!(body["claims"]["type"], "access");
    assert!(body["claims"]["sub"].is_string());
    assert!(body["claims"]["sid"].is_string());
    assert!(body["expires_in_secs"].as_i64().unwrap() > 0);
    // A Bearer token works the same way.
    let r = app
        .client
        .get(app.url("/api/v1/me/token"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn the_demo_limit_answers_429_on_the_sixth_call_and_leaves_others_alone() {
    let app = spawn_app().await;
    let alice = app.signed_in("pat_alice").await;
    let bob = app.signed_in("pat_bob").await;
    assert_eq!(app.get("/api/v1/demo/limited", None).await.status(), 401);
    for i in 0..5 {
        let r = app.get("/api/v1/demo/limited", Some(&alice)).await;
        assert_eq!(r.status(), 200, "call {}", i + 1);
        assert!(r.headers().contains_key("x-ratelimit-remaining"));
    }
    let r = app.get("/api/v1/demo/limited", Some(&alice)).await;
    assert_eq!(r.status(), 429);
    // Retry-After and X-RateLimit-After come from the limiter that refused;
    // the API's outer limiters add their own X-RateLimit-Limit/-Remaining.
    let wait: u64 = header(&r, "retry-after").parse().unwrap();
    assert!(wait <= 60, "{wait}");
    assert_eq!(header(&r, "x-ratelimit-after"), wait.to_string());
    assert!(r.headers().contains_key("x-ratelimit-limit"));
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "too many requests");
    assert!(!body["request_id"].as_str().unwrap().is_empty());
    // Bob has his own bucket, and Alice's other API calls are untouched.
    assert_eq!(
        app.get("/api/v1/demo/limited", Some(&bob)).await.status(),
        200
    );
    assert_eq!(app.get("/api/v1/me", Some(&alice)).await.status(), 200);
    app.state.rate_limits.flush(&app.state.pool).await.unwrap();
    let audit = app.audit_actions().await;
    assert!(audit
        .iter()
        .any(|a| a.0 == "rate_limit.exceeded" && a.3.contains("demo_per_user")));
}

async fn search(app: &TestApp, cookie: &str, q: &str) -> Value {
    let r = app
        .client
        .get(app.url("/api/v1/demo/search"))
        .query(&[("q", q)])
        .header("Cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{q}");
    r.json().await.unwrap()
}

#[tokio::test]
async fn the_demo_search_treats_injection_text_literally() {
    let app = spawn_app().await;
    let cookie = app.signed_in("pat_search").await;
    let found = search(&app, &cookie, "login").await;
    assert!(found["matches"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m == "auth.login"));
    for q in [
        "' OR '1'='1",
        "%",
        "_",
        "x' UNION SELECT detail FROM audit_log --",
    ] {
        let r = search(&app, &cookie, q).await;
        assert_eq!(r["query"], q);
        assert_eq!(r["matches"], json!([]), "{q} matched rows");
    }
    let r = search(&app, &cookie, "%").await;
    assert_eq!(r["bound_pattern"], "%\\%%");
    // Too long: refused before any query.
    let long = "a".repeat(101);
    let r = app
        .client
        .get(app.url("/api/v1/demo/search"))
        .query(&[("q", long.as_str())])
        .header("Cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(app.get("/api/v1/demo/search?q=a", None).await.status(), 401);
}

#[tokio::test]
async fn the_fail_demo_answers_500_with_only_a_request_id() {
    let app = spawn_app().await;
    let cookie = app.signed_in("pat_fail").await;
    let r = app
        .send(
            reqwest::Method::POST,
            "/api/v1/demo/fail",
            None,
            Some(&cookie),
        )
        .await;
    assert_eq!(r.status(), 500);
    let request_id = header(&r, "x-request-id").to_owned();
    let headers = format!("{:?}", r.headers());
    let text = r.text().await.unwrap();
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["error"], "internal server error");
    assert_eq!(body["request_id"], request_id.as_str());
    let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
    assert!(
        keys.iter()
            .all(|k| ["error", "request_id", "fields"].contains(&k.as_str())),
        "{keys:?}"
    );
    for leak in ["ledger-db", "5432", "demo failure", "outage"] {
        assert!(!text.contains(leak), "the body names {leak}");
        assert!(!headers.contains(leak), "a header names {leak}");
    }
    // The cause is not written into the audit log either.
    for a in app.audit_actions().await {
        assert!(!a.3.contains("ledger-db"), "{a:?}");
    }
}

#[tokio::test]
async fn an_unregistered_device_is_refused_and_the_decision_is_in_my_activity() {
    let app = spawn_app().await;
    let cookie = app.signed_in("pat_device").await;
    let r = app
        .client
        .get(app.url("/api/v1/demo/managed-device"))
        .header("Cookie", &cookie)
        .header("X-Device-ID", "demo-unregistered-device")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let activity: Value = app
        .get("/api/v1/me/activity", Some(&cookie))
        .await
        .json()
        .await
        .unwrap();
    let denied = activity
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "access.denied")
        .expect("an access.denied entry");
    assert_eq!(denied["detail"]["reason"], "device_not_registered");
    assert_eq!(denied["detail"]["route"], "/api/v1/demo/managed-device");
    // From a registered, compliant device it is allowed.
    let (with_device, _) = app.with_device(&cookie, "laptop").await;
    let r = app
        .get("/api/v1/demo/managed-device", Some(&with_device))
        .await;
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn a_forged_admin_header_shows_in_the_users_own_activity() {
    let app = spawn_app().await;
    let cookie = app.signed_in("pat_forger").await;
    let r = app
        .client
        .get(app.url("/api/v1/admin/users"))
        .header("Cookie", &cookie)
        .header("X-Is-Admin", "true")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let activity: Value = app
        .get("/api/v1/me/activity", Some(&cookie))
        .await
        .json()
        .await
        .unwrap();
    let forged = activity
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "access.forged_header")
        .expect("an access.forged_header entry");
    assert_eq!(forged["outcome"], "denied");
    assert_eq!(forged["detail"]["header"], "x-is-admin");
}

#[tokio::test]
async fn the_password_check_gives_both_verdicts_and_keeps_nothing() {
    let app = spawn_app().await;
    let candidate = "plain words make a long phrase";
    let r = app
        .post_json(
            "/api/v1/demo/password-check",
            &json!({ "password": candidate }),
            None,
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "cache-control"), "no-store");
    let text = r.text().await.unwrap();
    assert!(!text.contains(candidate));
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["catalogue"]["accepted"], false);
    assert!(body["catalogue"]["problems"]
        .as_array()
        .unwrap()
        .contains(&json!("missing_upper")));
    assert_eq!(body["nist"]["accepted"], true);
    assert_eq!(body["in_force"], "catalogue");
    // On the big list: refused under both.
    let r: Value = app
        .post_json(
            "/api/v1/demo/password-check",
            &json!({ "password": "Password123!" }),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert!(r["catalogue"]["problems"]
        .as_array()
        .unwrap()
        .contains(&json!("common")));
    assert_eq!(r["nist"]["accepted"], false);
    // The app's own strong test password passes the catalogue's rules.
    let r: Value = app
        .post_json(
            "/api/v1/demo/password-check",
            &json!({ "password": PASSWORD }),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(r["catalogue"]["accepted"], true);
    for a in app.audit_actions().await {
        assert!(!a.3.contains(candidate), "{a:?}");
    }
}

/// Runs the real binary with debug logging: the password check's candidate
/// never reaches the log, and the failure demo's cause does, under the
/// request id the client saw.
#[tokio::test]
async fn the_password_is_never_logged_and_the_failure_is() {
    let dir = tempfile::tempdir().unwrap();
    let url = crate::helpers::fresh_database(&dir);
    let (child, addr) = crate::helpers::start_binary(
        &dir,
        &url,
        &[("RUST_LOG", "debug"), ("LOG_FORMAT", "json")],
        true,
    );
    let base = format!("http://{addr}");
    crate::helpers::wait_until_ready(&base).await;
    let client = crate::helpers::test_client();
    let post = |path: &str, body: Value, cookie: Option<&str>| {
        let mut req = client
            .post(format!("{base}{path}"))
            .header("Origin", &base)
            .json(&body);
        if let Some(c) = cookie {
            req = req.header("Cookie", c);
        }
        req.send()
    };
    let candidate = "Zq7-distinctive-candidate-phrase";
    let r = post(
        "/api/v1/demo/password-check",
        json!({ "password": candidate }),
        None,
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    let r = post(
        "/api/v1/auth/register",
        json!({ "email": "plog@example.org", "username": "plog_user", "password": PASSWORD }),
        None,
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 201);
    let r = post(
        "/api/v1/auth/login",
        json!({ "login": "plog_user", "password": PASSWORD }),
        None,
    )
    .await
    .unwrap();
    let cookie = crate::helpers::session_cookie(r.headers()).unwrap();
    let r = post("/api/v1/demo/fail", json!({}), Some(&cookie))
        .await
        .unwrap();
    assert_eq!(r.status(), 500);
    let request_id = r.json::<Value>().await.unwrap()["request_id"]
        .as_str()
        .unwrap()
        .to_owned();

    let logs = crate::helpers::stop_binary(child);
    assert!(
        !logs.contains(candidate),
        "the candidate password is in the logs"
    );
    assert!(
        logs.lines()
            .any(|l| l.contains(&request_id) && l.contains("ledger-db.internal")),
        "the failure's cause is logged under its request id"
    );
}
