//! The OAuth playground: its built-in demo client, `GET /api/v1/me/activity`
//! (how the page shows the audit entry of a refused step) and the page.

use crate::helpers::{fresh_database, settings_for, spawn_app, TestApp};
use backend::db::models::oauth::OAuthClient;
use backend::security::percent::encode as percent_encode;
use backend::services::oauth_playground::{CLIENT_ID, LOOPBACK_REDIRECT_URI};
use backend::startup::Application;
use serde_json::Value;

/// RFC 7636 Appendix B.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const WRONG_VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXA";

fn form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The page's own address on this server: a loopback URI on a random port.
fn redirect_uri(app: &TestApp) -> String {
    app.url("/playground/oauth")
}

async fn playground_client(app: &TestApp) -> Option<OAuthClient> {
    backend::db::run(&app.state.pool, |c| Ok(OAuthClient::find(c, CLIENT_ID)?))
        .await
        .unwrap()
}

async fn post_form(
    app: &TestApp,
    path: &str,
    body: String,
    cookie: Option<&str>,
) -> reqwest::Response {
    let mut req = app
        .client
        .post(app.url(path))
        .header("Origin", &app.address)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(body);
    if let Some(c) = cookie {
        req = req.header("Cookie", c);
    }
    req.send().await.unwrap()
}

/// Consents as the signed-in user; returns the code the redirect carries.
async fn code_for(app: &TestApp, cookie: &str, state: &str) -> String {
    let redirect = redirect_uri(app);
    let pairs = [
        ("response_type", "code"),
        ("client_id", CLIENT_ID),
        ("redirect_uri", redirect.as_str()),
        ("scope", "account"),
        ("state", state),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ];
    let r = app
        .get(&format!("/oauth/authorize?{}", form(&pairs)), Some(cookie))
        .await;
    assert_eq!(r.status(), 200, "the consent page");
    let html = r.text().await.unwrap();
    assert!(html.contains("OAuth playground"));
    let consent_id = crate::helpers::oauth_flow::consent_id(&html);
    let decision = [("consent_id", consent_id.as_str()), ("decision", "allow")];
    let r = post_form(
        app,
        "/oauth/authorize/decision",
        form(&decision),
        Some(cookie),
    )
    .await;
    assert_eq!(r.status(), 303);
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    let prefix = format!("{redirect}?code=");
    assert!(location.starts_with(&prefix), "{location}");
    let (code, rest) = location[prefix.len()..].split_once("&state=").unwrap();
    assert_eq!(rest, percent_encode(state));
    code.to_owned()
}

async fn exchange(app: &TestApp, code: &str, redirect: &str, verifier: &str) -> reqwest::Response {
    let body = form(&[
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect),
        ("client_id", CLIENT_ID),
        ("code_verifier", verifier),
    ]);
    // As the playground sends it: a form, no cookie.
    post_form(app, "/oauth/token", body, None).await
}

async fn activity(app: &TestApp, cookie: &str) -> Vec<Value> {
    let r = app.get("/api/v1/me/activity", Some(cookie)).await;
    assert_eq!(r.status(), 200);
    r.json::<Vec<Value>>().await.unwrap()
}

async fn me_status(app: &TestApp, token: &str) -> u16 {
    app.client
        .get(app.url("/api/v1/me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn the_demo_client_is_registered_at_start_and_kept_in_line_with_the_configuration() {
    use backend::db::schema::oauth_clients;
    use diesel::prelude::*;

    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database(&dir);
    let start = |origins: &'static str| {
        Application::build(settings_for(
            &dir,
            &url,
            &[("APP_TRUSTED_ORIGINS", origins)],
        ))
    };
    let count = |app: &Application| {
        let pool = app.state().pool.clone();
        async move {
            backend::db::run(&pool, |c| {
                Ok(oauth_clients::table.count().get_result::<i64>(c)?)
            })
            .await
            .unwrap()
        }
    };
    let client = |app: &Application| {
        let pool = app.state().pool.clone();
        async move {
            backend::db::run(&pool, |c| Ok(OAuthClient::find(c, CLIENT_ID)?))
                .await
                .unwrap()
                .expect("the playground client exists")
        }
    };

    let first = start("https://app.example.org, http://intranet.example")
        .await
        .unwrap();
    let c = client(&first).await;
    assert_eq!(c.name, "OAuth playground");
    assert!(c.is_public(), "a browser cannot keep a secret");
    assert_eq!(c.scope_list(), vec!["account"]);
    assert_eq!(c.audience, None, "its tokens are for this app's API");
    assert_eq!(
        c.redirect_uri_list(),
        vec![
            LOOPBACK_REDIRECT_URI.to_owned(),
            "https://app.example.org/playground/oauth".to_owned(),
        ],
        "plain http on a public name cannot be registered"
    );
    assert_eq!(count(&first).await, 1);
    // Applying the configuration is not an audit event.
    let audit = backend::db::run(&first.state().pool, |c| {
        Ok(backend::db::models::audit_entry::AuditEntry::recent(c, 10)?)
    })
    .await
    .unwrap();
    assert!(audit.is_empty(), "{audit:?}");
    drop(first);

    // Restarting with the same configuration changes nothing.
    let second = start("https://app.example.org, http://intranet.example")
        .await
        .unwrap();
    let again = client(&second).await;
    assert_eq!(count(&second).await, 1, "not registered twice");
    assert_eq!(again.redirect_uris, c.redirect_uris);
    assert_eq!(again.created_at, c.created_at);
    assert_eq!(again.updated_at, None);
    drop(second);

    // Another origin: the redirect URIs follow, still one client.
    let third = start("https://other.example").await.unwrap();
    let updated = client(&third).await;
    assert_eq!(count(&third).await, 1);
    assert_eq!(
        updated.redirect_uri_list(),
        vec![
            LOOPBACK_REDIRECT_URI.to_owned(),
            "https://other.example/playground/oauth".to_owned(),
        ]
    );
    assert_eq!(updated.created_at, c.created_at);
    assert!(updated.updated_at.is_some());
}

#[tokio::test]
async fn the_demo_client_completes_the_flow_on_any_loopback_port() {
    let app = spawn_app().await;
    assert!(playground_client(&app).await.is_some());
    let cookie = app.signed_in("pia").await;
    let code = code_for(&app, &cookie, "s1").await;
    let r = exchange(&app, &code, &redirect_uri(&app), VERIFIER).await;
    assert_eq!(r.status(), 200);
    let tokens: Value = r.json().await.unwrap();
    assert_eq!(tokens["scope"], "account");
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    assert_eq!(me_status(&app, &access).await, 200);

    // The same code again: refused, and the first session ends.
    let r = exchange(&app, &code, &redirect_uri(&app), VERIFIER).await;
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_grant");
    assert_eq!(me_status(&app, &access).await, 401);
    let mine = activity(&app, &cookie).await;
    assert_eq!(mine[0]["action"], "oauth.code_reuse", "{mine:?}");
    assert_eq!(mine[0]["outcome"], "denied");
    assert_eq!(mine[0]["detail"]["client_id"], CLIENT_ID);
    assert_eq!(mine[0]["detail"]["action"], "session_revoked");
    assert!(mine
        .iter()
        .any(|e| e["action"] == "oauth.token" && e["outcome"] == "success"));
}

#[tokio::test]
async fn my_activity_holds_my_entries_only_including_a_refused_playground_exchange() {
    let app = spawn_app().await;
    let alice = app.signed_in("alice_act").await;
    let bob = app.signed_in("bob_act").await;

    let code = code_for(&app, &bob, "s2").await;
    let r = exchange(&app, &code, &redirect_uri(&app), WRONG_VERIFIER).await;
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_grant");
    let r = exchange(&app, &code, "https://attacker.example/callback", VERIFIER).await;
    assert_eq!(r.status(), 400);

    let r = app.get("/api/v1/me/activity", Some(&bob)).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let raw = r.text().await.unwrap();
    for secret in [code.as_str(), VERIFIER, WRONG_VERIFIER] {
        assert!(!raw.contains(secret), "a secret in the activity: {raw}");
    }
    let bobs: Vec<Value> = serde_json::from_str(&raw).unwrap();
    // Newest first: the changed redirect URI, then the wrong verifier.
    assert_eq!(bobs[0]["action"], "oauth.token");
    assert_eq!(bobs[0]["outcome"], "denied");
    assert_eq!(bobs[0]["detail"]["reason"], "redirect_uri_mismatch");
    assert_eq!(bobs[1]["action"], "oauth.token");
    assert_eq!(bobs[1]["detail"]["error"], "invalid_grant");
    assert_eq!(bobs[1]["detail"]["reason"], "code_verifier_mismatch");
    assert_eq!(bobs[1]["detail"]["client_id"], CLIENT_ID);
    assert!(bobs.iter().any(|e| e["action"] == "oauth.authorize"));
    assert!(bobs
        .iter()
        .any(|e| e["action"] == "auth.login" && e["outcome"] == "success"));
    for e in &bobs {
        let mut keys: Vec<&str> = e.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["action", "detail", "id", "outcome", "time"], "{e}");
        assert!(e["detail"].is_object(), "the detail is JSON: {e}");
    }
    let ids: Vec<i64> = bobs.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first: {ids:?}");

    // Alice sees her own entries and none of Bob's.
    let alices = activity(&app, &alice).await;
    assert!(alices.iter().any(|e| e["action"] == "auth.login"));
    assert!(
        alices
            .iter()
            .all(|e| !ids.contains(&e["id"].as_i64().unwrap())),
        "{alices:?}"
    );
    assert!(alices
        .iter()
        .all(|e| !e["action"].as_str().unwrap().starts_with("oauth.")));

    // At most 20, the newest.
    for _ in 0..20 {
        exchange(&app, &code, &redirect_uri(&app), WRONG_VERIFIER).await;
    }
    let bobs = activity(&app, &bob).await;
    assert_eq!(bobs.len(), 20);
    assert!(bobs
        .iter()
        .all(|e| e["detail"]["reason"] == "code_verifier_mismatch"));

    let r = app.get("/api/v1/me/activity", None).await;
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn the_playground_page_renders_on_the_server_for_signed_in_users_only() {
    let app = spawn_app().await;
    let r = app.get("/playground/oauth", None).await;
    assert_eq!(r.status(), 401);
    let html = r.text().await.unwrap();
    assert!(html.contains("You are not signed in"), "{html}");
    assert!(!html.contains("pg-generate"));

    let cookie = app.signed_in("page_pg").await;
    let r = app
        .get(
            "/playground/oauth?code=NOT-ECHOED-CODE&state=xyz",
            Some(&cookie),
        )
        .await;
    assert_eq!(r.status(), 200);
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("connect-src 'self'"), "{csp}");
    let html = r.text().await.unwrap();
    for text in [
        "OAuth playground",
        "Generate the code verifier",
        "BASE64URL(SHA-256(code_verifier))",
        "sessionStorage",
        "history.replaceState",
        "/oauth/token",
        "Decode the access token",
        "Tamper with a step",
        "data-testid=\"pg-generate\"",
        CLIENT_ID,
        "/pkg/frontend.js",
    ] {
        assert!(html.contains(text), "{text} missing");
    }
    assert!(
        !html.contains("NOT-ECHOED-CODE"),
        "the server does not echo the code into the page"
    );
    // The nav links to it.
    assert!(app
        .get("/account", Some(&cookie))
        .await
        .text()
        .await
        .unwrap()
        .contains("href=\"/playground/oauth\""));
}
