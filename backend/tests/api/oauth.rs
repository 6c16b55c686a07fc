//! The OAuth 2.0 authorization server: authorization code flow with PKCE.

use crate::helpers::oauth_flow::*;
use crate::helpers::{spawn_app, TestApp};
use backend::services::oauth_clients::{self, NewClient};
use serde_json::Value;

async fn client(app: &TestApp, public: bool, uris: &[&str]) -> (String, Option<String>) {
    let created = oauth_clients::create_client(
        &app.state.pool,
        &app.state.keys.session,
        None,
        None,
        NewClient {
            name: "Demo <app>".into(),
            redirect_uris: uris.iter().map(|s| (*s).to_owned()).collect(),
            public,
            scopes: vec!["account".into(), "admin:read".into()],
            audience: None,
        },
    )
    .await
    .expect("client created");
    (created.id, created.secret)
}

#[tokio::test]
async fn full_flow_with_pkce_gives_a_working_token() {
    let app = spawn_app().await;
    let (id, _) = client(&app, true, &[REDIRECT]).await;
    let cookie = app.signed_in("alice").await;
    let pairs = authorize_pairs(&id, REDIRECT);
    let r = app
        .get(
            &format!("/oauth/authorize?{}", query(&pairs)),
            Some(&cookie),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    // Browsers apply form-action to the redirect after the decision form.
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("form-action 'self' https://client.example;"),
        "{csp}"
    );
    let html = r.text().await.unwrap();
    assert!(html.contains("Demo &lt;app&gt;"), "client name escaped");
    assert!(html.contains("action=\"/oauth/authorize/decision\""));
    assert!(html.contains("/pkg/frontend.css"));
    assert!(!html.contains("<script") && !html.contains("style="));

    let url = code_for(&app, &cookie, &pairs).await;
    assert!(url.starts_with("https://client.example/cb?code="), "{url}");
    assert_eq!(
        param(&url, "state").as_deref(),
        Some(STATE),
        "state unchanged"
    );
    let code = param(&url, "code").unwrap();

    let r = exchange(&app, &id, &code, REDIRECT, VERIFIER).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], "account");
    assert!(body["refresh_token"].as_str().is_some());
    let token = body["access_token"].as_str().unwrap();
    assert_eq!(me_status(&app, token).await, 200);

    // The refresh grant rotates the tokens.
    let body2 = query(&[
        ("grant_type", "refresh_token"),
        ("refresh_token", body["refresh_token"].as_str().unwrap()),
        ("client_id", &id),
    ]);
    let r = post_form(&app, "/oauth/token", &body2, None, None).await;
    assert_eq!(r.status(), 200);
    let refreshed: Value = r.json().await.unwrap();
    assert_eq!(
        me_status(&app, refreshed["access_token"].as_str().unwrap()).await,
        200
    );

    let actions: Vec<String> = app.audit_actions().await.into_iter().map(|a| a.0).collect();
    assert!(actions.iter().any(|a| a == "oauth.client_created"));
    assert!(actions.iter().any(|a| a == "oauth.authorize"));
    assert!(actions.iter().any(|a| a == "oauth.token"));
}

#[tokio::test]
async fn metadata_lists_the_endpoints() {
    let app = spawn_app().await;
    let r = app
        .get("/.well-known/oauth-authorization-server", None)
        .await;
    assert_eq!(r.status(), 200);
    let m: Value = r.json().await.unwrap();
    assert_eq!(
        m["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(m["response_types_supported"], serde_json::json!(["code"]));
    assert!(m["token_endpoint"]
        .as_str()
        .unwrap()
        .ends_with("/oauth/token"));
    assert!(m["jwks_uri"]
        .as_str()
        .unwrap()
        .ends_with("/.well-known/jwks.json"));
}

#[tokio::test]
async fn anonymous_users_are_sent_to_login_with_next() {
    let app = spawn_app().await;
    let (id, _) = client(&app, true, &[REDIRECT]).await;
    let q = query(&authorize_pairs(&id, REDIRECT));
    let r = app.get(&format!("/oauth/authorize?{q}"), None).await;
    assert_eq!(r.status(), 303);
    let loc = location(&r);
    assert!(loc.starts_with("/login?next="), "{loc}");
    assert_eq!(
        param(&loc, "next").unwrap(),
        format!("/oauth/authorize?{q}")
    );
}

#[tokio::test]
async fn unknown_client_or_bad_redirect_never_redirects() {
    let app = spawn_app().await;
    let (id, _) = client(&app, true, &[REDIRECT, "http://127.0.0.1/cb"]).await;
    let cookie = app.signed_in("bob").await;
    for (cid, uri) in [
        ("no-such-client", REDIRECT),
        (id.as_str(), "https://client.example/cb/evil"),
        (id.as_str(), "https://client.example/c"),
        (id.as_str(), "https://evil.example/cb"),
        (id.as_str(), "http://127.0.0.1:4444/other"),
        (id.as_str(), ""),
    ] {
        let r = app
            .get(
                &format!("/oauth/authorize?{}", query(&authorize_pairs(cid, uri))),
                Some(&cookie),
            )
            .await;
        assert_eq!(r.status(), 400, "{cid} {uri}");
        assert!(r.headers().get("location").is_none());
    }
    // Loopback: any port is accepted.
    let url = code_for(
        &app,
        &cookie,
        &authorize_pairs(&id, "http://127.0.0.1:53123/cb"),
    )
    .await;
    assert!(url.starts_with("http://127.0.0.1:53123/cb?code="), "{url}");
}

#[tokio::test]
async fn request_errors_redirect_with_the_state() {
    let app = spawn_app().await;
    let (id, _) = client(&app, true, &[REDIRECT]).await;
    let cookie = app.signed_in("carol").await;
    let base = authorize_pairs(&id, REDIRECT);
    let with = |k: &str, v: Option<&'static str>| {
        let mut p: Vec<(&str, &str)> = base.iter().filter(|(n, _)| *n != k).cloned().collect();
        if let Some(v) = v {
            p.push((k, v));
        }
        p.iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect::<Vec<_>>()
    };
    for (k, v, error) in [
        ("code_challenge_method", Some("plain"), "invalid_request"),
        ("code_challenge_method", None, "invalid_request"),
        ("code_challenge", None, "invalid_request"),
        ("response_type", Some("token"), "unsupported_response_type"),
        ("scope", Some("admin"), "invalid_scope"),
    ] {
        let owned = with(k, v);
        let pairs: Vec<(&str, &str)> = owned
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        let r = app
            .get(
                &format!("/oauth/authorize?{}", query(&pairs)),
                Some(&cookie),
            )
            .await;
        assert_eq!(r.status(), 303, "{k}");
        let loc = location(&r);
        assert!(loc.starts_with(REDIRECT), "{loc}");
        assert_eq!(param(&loc, "error").as_deref(), Some(error), "{k} {v:?}");
        assert_eq!(param(&loc, "state").as_deref(), Some(STATE));
        assert!(param(&loc, "code").is_none());
    }
    // Deny.
    let id = consent_page_id(&app, &cookie, &base).await;
    let r = decide(&app, &cookie, &id, "deny").await;
    assert_eq!(r.status(), 303);
    let loc = location(&r);
    assert_eq!(param(&loc, "error").as_deref(), Some("access_denied"));
    assert_eq!(param(&loc, "state").as_deref(), Some(STATE));
}

#[tokio::test]
async fn the_decision_needs_a_session_and_same_origin() {
    let app = spawn_app().await;
    let (id, _) = client(&app, true, &[REDIRECT]).await;
    let cookie = app.signed_in("dora").await;
    let consent = consent_page_id(&app, &cookie, &authorize_pairs(&id, REDIRECT)).await;
    let form = [("consent_id", consent.as_str()), ("decision", "allow")];
    let r = post_form(&app, "/oauth/authorize/decision", &query(&form), None, None).await;
    assert_eq!(r.status(), 401);
    let r = app
        .client
        .post(app.url("/oauth/authorize/decision"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .header("Cookie", &cookie)
        .header("Origin", "https://evil.example")
        .body(query(&form))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}

#[tokio::test]
async fn wrong_verifier_redirect_or_client_is_invalid_grant() {
    let app = spawn_app().await;
    let (id, _) = client(&app, true, &[REDIRECT, "https://client.example/other"]).await;
    let (other, _) = client(&app, true, &[REDIRECT]).await;
    let cookie = app.signed_in("erin").await;
    let url = code_for(&app, &cookie, &authorize_pairs(&id, REDIRECT)).await;
    let code = param(&url, "code").unwrap();
    let wrong = "x".repeat(43);
    for (cid, redirect, verifier) in [
        (id.as_str(), REDIRECT, wrong.as_str()),
        (id.as_str(), REDIRECT, "short"),
        (id.as_str(), "https://client.example/other", VERIFIER),
        (other.as_str(), REDIRECT, VERIFIER),
    ] {
        let r = exchange(&app, cid, &code, redirect, verifier).await;
        assert_eq!(r.status(), 400, "{cid} {redirect} {verifier}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"], "invalid_grant");
    }
    // Those failures did not burn the code.
    let r = exchange(&app, &id, &code, REDIRECT, VERIFIER).await;
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn a_reused_code_fails_and_revokes_the_first_tokens() {
    let app = spawn_app().await;
    let (id, _) = client(&app, true, &[REDIRECT]).await;
    let cookie = app.signed_in("finn").await;
    let url = code_for(&app, &cookie, &authorize_pairs(&id, REDIRECT)).await;
    let code = param(&url, "code").unwrap();
    let r = exchange(&app, &id, &code, REDIRECT, VERIFIER).await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    let token = body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(me_status(&app, &token).await, 200);

    let r = exchange(&app, &id, &code, REDIRECT, VERIFIER).await;
    assert_eq!(r.status(), 400);
    let again: Value = r.json().await.unwrap();
    assert_eq!(again["error"], "invalid_grant");
    assert_eq!(me_status(&app, &token).await, 401, "first tokens revoked");
    let actions: Vec<String> = app.audit_actions().await.into_iter().map(|a| a.0).collect();
    assert!(actions.iter().any(|a| a == "oauth.code_reuse"));
}

#[tokio::test]
async fn an_expired_code_is_refused() {
    use backend::db::schema::oauth_codes;
    use diesel::prelude::*;
    let app = spawn_app().await;
    let (id, _) = client(&app, true, &[REDIRECT]).await;
    let cookie = app.signed_in("gwen").await;
    let url = code_for(&app, &cookie, &authorize_pairs(&id, REDIRECT)).await;
    let code = param(&url, "code").unwrap();
    let past = chrono::Utc::now().naive_utc() - chrono::Duration::seconds(1);
    backend::db::run(&app.state.pool, move |c| {
        diesel::update(oauth_codes::table)
            .set(oauth_codes::expires_at.eq(past))
            .execute(c)?;
        Ok(())
    })
    .await
    .unwrap();
    let r = exchange(&app, &id, &code, REDIRECT, VERIFIER).await;
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");
}

#[tokio::test]
async fn confidential_clients_must_authenticate() {
    let app = spawn_app().await;
    let (id, secret) = client(&app, false, &[REDIRECT]).await;
    let secret = secret.expect("a confidential client has a secret");
    let cookie = app.signed_in("hugo").await;
    let url = code_for(&app, &cookie, &authorize_pairs(&id, REDIRECT)).await;
    let code = param(&url, "code").unwrap();
    let body = query(&[
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
    ]);
    let wrong = "A".repeat(43);
    // No secret, a wrong one (Basic), a wrong one (body): invalid_client.
    let r = exchange(&app, &id, &code, REDIRECT, VERIFIER).await;
    assert_eq!(r.status(), 401);
    let r = post_form(&app, "/oauth/token", &body, None, Some((&id, &wrong))).await;
    assert_eq!(r.status(), 401);
    assert!(r.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("Basic"));
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_client");
    let with_body_secret = format!("{body}&client_id={id}&client_secret={wrong}");
    let r = post_form(&app, "/oauth/token", &with_body_secret, None, None).await;
    assert_eq!(r.status(), 401);
    // Unknown grant type.
    let r = post_form(&app, "/oauth/token", "grant_type=password", None, None).await;
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"],
        "unsupported_grant_type"
    );
    // The right secret over Basic works.
    let r = post_form(&app, "/oauth/token", &body, None, Some((&id, &secret))).await;
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn login_honours_next_only_for_the_authorize_endpoint() {
    let app = spawn_app().await;
    let r = app.register("ivy", "ivy@example.org").await;
    assert_eq!(r.status(), 201);
    let password = crate::helpers::PASSWORD;
    for (next, expected) in [
        (
            "/oauth/authorize?client_id=x&state=y",
            "/oauth/authorize?client_id=x&state=y",
        ),
        ("https://evil.example/oauth/authorize?x", "/account"),
        ("//evil.example/oauth/authorize?x", "/account"),
        ("/\\evil.example/", "/account"),
        ("/account/sessions", "/account"),
        ("/oauth/authorizeX", "/account"),
    ] {
        let r = app
            .post_login_form(&[("login", "ivy"), ("password", password), ("next", next)])
            .await;
        assert_eq!(r.status(), 303, "{next}");
        assert_eq!(location(&r), expected, "{next}");
    }
}

#[tokio::test]
async fn a_client_token_reaches_only_what_its_scopes_allow() {
    let app = spawn_app().await;
    let (id, _) = client(&app, true, &[REDIRECT]).await;
    // An administrator grants a client the `account` scope only.
    let (admin, _) = crate::helpers::signed_in_admin(&app, "scoped_admin").await;
    let url = code_for(&app, &admin, &authorize_pairs(&id, REDIRECT)).await;
    let code = param(&url, "code").unwrap();
    let body: Value = exchange(&app, &id, &code, REDIRECT, VERIFIER)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["scope"], "account");
    let token = body["access_token"].as_str().unwrap();
    assert_eq!(me_status(&app, token).await, 200);
    let r = app
        .client
        .get(app.url("/api/v1/admin/users"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        403,
        "the admin's roles do not leak to the client"
    );
    // The admin's own browser session still can.
    assert_eq!(
        app.get("/api/v1/admin/users", Some(&admin)).await.status(),
        200
    );
    let decisions: Value = app
        .get(
            "/api/v1/admin/decisions?reason=insufficient_scope",
            Some(&admin),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(decisions["decisions"].as_array().unwrap().len(), 1);
    // A client cannot even be registered with a scope the app does not know.
    let unknown = oauth_clients::create_client(
        &app.state.pool,
        &app.state.keys.session,
        None,
        None,
        NewClient {
            name: "x".into(),
            redirect_uris: vec![REDIRECT.into()],
            public: true,
            scopes: vec!["users:write".into()],
            audience: None,
        },
    )
    .await;
    assert!(unknown.is_err());
}

async fn introspect(app: &TestApp, token: &str, auth: Option<(&str, &str)>) -> (u16, Value) {
    let body = query(&[("token", token)]);
    let r = post_form(app, "/oauth/introspect", &body, None, auth).await;
    let status = r.status().as_u16();
    (status, r.json::<Value>().await.unwrap())
}

/// Tokens for a signed-in user through a confidential client.
async fn confidential_tokens(app: &TestApp, username: &str) -> (String, String, Value) {
    let (id, secret) = client(app, false, &[REDIRECT]).await;
    let secret = secret.unwrap();
    let cookie = app.signed_in(username).await;
    let url = code_for(app, &cookie, &authorize_pairs(&id, REDIRECT)).await;
    let code = param(&url, "code").unwrap();
    let body = query(&[
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
    ]);
    let r = post_form(app, "/oauth/token", &body, None, Some((&id, &secret))).await;
    assert_eq!(r.status(), 200);
    (id, secret, r.json().await.unwrap())
}

#[tokio::test]
async fn introspection_tells_a_confidential_client_about_its_own_tokens() {
    let app = spawn_app().await;
    let (id, secret, tokens) = confidential_tokens(&app, "intro_user").await;
    let access = tokens["access_token"].as_str().unwrap();
    let (status, body) = introspect(&app, access, Some((&id, &secret))).await;
    assert_eq!(status, 200);
    assert_eq!(body["active"], true);
    assert_eq!(body["scope"], "account");
    assert_eq!(body["username"], "intro_user");
    assert_eq!(body["client_id"], id.as_str());
    let (_, body) = introspect(
        &app,
        tokens["refresh_token"].as_str().unwrap(),
        Some((&id, &secret)),
    )
    .await;
    assert_eq!(body["active"], true);
    assert_eq!(body["token_type"], "refresh_token");
    let (_, body) = introspect(&app, "not-a-token", Some((&id, &secret))).await;
    assert_eq!(body, serde_json::json!({ "active": false }));
    // Another client learns nothing about it; a public client may not ask.
    let (other, other_secret) = client(&app, false, &[REDIRECT]).await;
    let (_, body) = introspect(&app, access, Some((&other, &other_secret.unwrap()))).await;
    assert_eq!(body, serde_json::json!({ "active": false }));
    let (public, _) = client(&app, true, &[REDIRECT]).await;
    let body = query(&[("token", access), ("client_id", &public)]);
    let r = post_form(&app, "/oauth/introspect", &body, None, None).await;
    assert_eq!(r.status(), 401);
    let (status, _) = introspect(&app, access, Some((&id, "wrong-secret"))).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn revoking_a_token_ends_its_session_and_only_its_client_may() {
    let app = spawn_app().await;
    let (id, secret, tokens) = confidential_tokens(&app, "revoke_user").await;
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(me_status(&app, access).await, 200);

    // Another client cannot revoke it.
    let (other, other_secret) = client(&app, false, &[REDIRECT]).await;
    let body = query(&[("token", access)]);
    let r = post_form(
        &app,
        "/oauth/revoke",
        &body,
        None,
        Some((&other, &other_secret.unwrap())),
    )
    .await;
    assert_eq!(r.status(), 400);
    assert_eq!(me_status(&app, access).await, 200);

    // Its own client can, with the refresh token; the access token dies with it.
    let body = query(&[("token", tokens["refresh_token"].as_str().unwrap())]);
    let r = post_form(&app, "/oauth/revoke", &body, None, Some((&id, &secret))).await;
    assert_eq!(r.status(), 200);
    assert_eq!(me_status(&app, access).await, 401);
    // Revoking again, or an unknown token, is not an error (RFC 7009 §2.2).
    let r = post_form(&app, "/oauth/revoke", &body, None, Some((&id, &secret))).await;
    assert_eq!(r.status(), 200);
    let r = post_form(
        &app,
        "/oauth/revoke",
        &query(&[("token", "nope")]),
        None,
        Some((&id, &secret)),
    )
    .await;
    assert_eq!(r.status(), 200);
    let intro = post_form(
        &app,
        "/oauth/introspect",
        &query(&[("token", access)]),
        None,
        Some((&id, &secret)),
    )
    .await
    .json::<Value>()
    .await
    .unwrap();
    assert_eq!(intro["active"], false);
    assert!(app
        .audit_actions()
        .await
        .iter()
        .any(|a| a.0 == "oauth.revoke" && a.1 == "success"));
}

#[tokio::test]
async fn an_mfa_login_continues_to_the_authorization_request() {
    let app = spawn_app().await;
    let (_, secret) = crate::helpers::signed_in_admin(&app, "mfa_next").await;
    let next = "/oauth/authorize?client_id=x&state=y";
    let r = app
        .post_login_form(&[
            ("login", "mfa_next"),
            ("password", crate::helpers::PASSWORD),
            ("next", next),
        ])
        .await;
    assert_eq!(r.status(), 303);
    let step = location(&r);
    assert!(step.starts_with("/login?step=mfa&next="), "{step}");
    assert_eq!(decode(&param(&step, "next").unwrap()), next);
    let pending = crate::helpers::set_cookie_for(r.headers(), "__Host-mfa=")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    crate::helpers::next_totp_step(&app);
    let body = query(&[
        ("code", &crate::helpers::totp_code(&app, &secret)),
        ("next", next),
    ]);
    let r = post_form(&app, "/auth/login/mfa", &body, Some(&pending), None).await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), next);
    // Anything else is not followed.
    let r = app
        .post_login_form(&[
            ("login", "mfa_next"),
            ("password", crate::helpers::PASSWORD),
            ("next", "https://evil.example/"),
        ])
        .await;
    assert_eq!(location(&r), "/login?step=mfa");
}

fn claims_of(token: &str) -> Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).expect("a JWT");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url");
    serde_json::from_slice(&bytes).expect("JSON claims")
}

#[tokio::test]
async fn access_tokens_name_the_client_the_scopes_and_the_resource() {
    let app = spawn_app().await;
    let cookie = app.signed_in("aud_user").await;

    // A client of this API: its tokens carry aud = the API, the client and
    // the scopes, and keep them through a refresh.
    let (id, _) = client(&app, true, &[REDIRECT]).await;
    let url = code_for(&app, &cookie, &authorize_pairs(&id, REDIRECT)).await;
    let r = exchange(&app, &id, &param(&url, "code").unwrap(), REDIRECT, VERIFIER).await;
    let body: Value = r.json().await.unwrap();
    let claims = claims_of(body["access_token"].as_str().unwrap());
    assert_eq!(claims["aud"], "secure-reference-api");
    assert_eq!(claims["client_id"], id.as_str());
    assert_eq!(claims["scope"], "account");
    let refresh = query(&[
        ("grant_type", "refresh_token"),
        ("refresh_token", body["refresh_token"].as_str().unwrap()),
        ("client_id", &id),
    ]);
    let r = post_form(&app, "/oauth/token", &refresh, None, None).await;
    let refreshed: Value = r.json().await.unwrap();
    let again = claims_of(refreshed["access_token"].as_str().unwrap());
    assert_eq!(
        (&again["aud"], &again["client_id"], &again["scope"]),
        (&claims["aud"], &claims["client_id"], &claims["scope"])
    );

    // A client registered for another resource server: its tokens say so,
    // and this API refuses them; introspection tells that server about them.
    let created = oauth_clients::create_client(
        &app.state.pool,
        &app.state.keys.session,
        None,
        None,
        NewClient {
            name: "Reports".into(),
            redirect_uris: vec![REDIRECT.into()],
            public: false,
            scopes: vec!["account".into()],
            audience: Some("https://reports.example".into()),
        },
    )
    .await
    .expect("client created");
    let secret = created.secret.unwrap();
    let url = code_for(&app, &cookie, &authorize_pairs(&created.id, REDIRECT)).await;
    let body = query(&[
        ("grant_type", "authorization_code"),
        ("code", &param(&url, "code").unwrap()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
    ]);
    let r = post_form(
        &app,
        "/oauth/token",
        &body,
        None,
        Some((&created.id, &secret)),
    )
    .await;
    assert_eq!(r.status(), 200);
    let tokens: Value = r.json().await.unwrap();
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(claims_of(access)["aud"], "https://reports.example");
    assert_eq!(
        me_status(&app, access).await,
        401,
        "wrong audience for /api/v1"
    );
    let (_, info) = introspect(&app, access, Some((&created.id, &secret))).await;
    assert_eq!(info["active"], true);
    assert_eq!(info["aud"], "https://reports.example");
    assert_eq!(info["exp"], claims_of(access)["exp"]);

    // An audience with a space or a fragment is refused at registration.
    for bad in ["https://a.example/x y", "https://a.example/#frag"] {
        let refused = oauth_clients::create_client(
            &app.state.pool,
            &app.state.keys.session,
            None,
            None,
            NewClient {
                name: "bad".into(),
                redirect_uris: vec![REDIRECT.into()],
                public: true,
                scopes: vec!["account".into()],
                audience: Some(bad.into()),
            },
        )
        .await;
        assert!(refused.is_err(), "{bad}");
    }
}
