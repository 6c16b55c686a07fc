//! Access tokens and refresh tokens (ASVS 3.5.2/3.5.3, 5.0 9.1–9.2, 10.4.5/10.4.8).
//! Every attack is answered 401 with the generic body and leaves an audit event.

use crate::helpers::{spawn_app, spawn_app_with, TestApp, PASSWORD};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

/// Tokens for an API client.
async fn api_tokens(app: &TestApp, login: &str) -> Value {
    let r = app
        .post_json(
            "/api/v1/auth/token",
            &json!({ "login": login, "password": PASSWORD }),
            None,
        )
        .await;
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

async fn me_with_bearer(app: &TestApp, token: &str) -> reqwest::Response {
    app.client
        .get(app.url("/api/v1/me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Claims like the server's, for a real user and session.
fn claims_from(app: &TestApp, token: &str) -> Value {
    let _ = app;
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

/// Signs `claims` with the server's current key (as an insider could not).
fn sign_as_server(app: &TestApp, header: Header, claims: &Value) -> String {
    let keys = app.state.keys.signing.current();
    let mut header = header;
    if header.kid.is_none() {
        header.kid = Some(keys.current().kid.clone());
    }
    keys.current().sign(&header, claims).unwrap()
}

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(v.to_string())
}

async fn assert_refused(app: &TestApp, token: &str, reason: &str, case: &str) {
    let before = app.audit_actions().await.len();
    let r = me_with_bearer(app, token).await;
    assert_eq!(r.status(), 401, "{case}");
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body["error"], "authentication required",
        "{case}: generic body"
    );
    assert_eq!(
        body.as_object().unwrap().len(),
        2,
        "{case}: nothing but error and request_id"
    );
    let rows = app.audit_actions().await;
    let new: Vec<_> = rows[before..]
        .iter()
        .filter(|r| r.0 == "access.denied")
        .collect();
    assert_eq!(new.len(), 1, "{case}: one audit event");
    assert!(
        new[0].3.contains(reason),
        "{case}: expected reason {reason}, got {}",
        new[0].3
    );
}

#[tokio::test]
async fn api_clients_get_bearer_tokens_that_work() {
    let app = spawn_app().await;
    app.register("api_user", "api_user@example.org").await;
    let t = api_tokens(&app, "api_user").await;
    assert_eq!(t["token_type"], "Bearer");
    assert_eq!(t["expires_in"], 900);
    let r = me_with_bearer(&app, t["access_token"].as_str().unwrap()).await;
    assert_eq!(r.status(), 200);
    let claims = claims_from(&app, t["access_token"].as_str().unwrap());
    for c in [
        "iss", "sub", "aud", "iat", "nbf", "exp", "jti", "roles", "sid", "type",
    ] {
        assert!(claims.get(c).is_some(), "claim {c} missing");
    }
    assert_eq!(claims["type"], "access");
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        900
    );
}

#[tokio::test]
async fn every_token_attack_is_refused_and_audited() {
    let app = spawn_app().await;
    app.register("victim", "victim@example.org").await;
    let t = api_tokens(&app, "victim").await;
    let good = t["access_token"].as_str().unwrap();
    let base = claims_from(&app, good);
    let with = |k: &str, v: Value| {
        let mut c = base.clone();
        c[k] = v;
        c
    };
    let rs = || Header::new(Algorithm::RS256);

    // alg: none
    let none = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "JWT"})),
        b64(&base)
    );
    assert_refused(&app, &none, "malformed", "alg none").await;

    // HS256 signed with the RSA public key (from our own JWKS).
    let jwks = app
        .get("/.well-known/jwks.json", None)
        .await
        .text()
        .await
        .unwrap();
    let hs_header = Header {
        alg: Algorithm::HS256,
        kid: base_kid(good),
        ..Default::default()
    };
    let hs = encode(
        &hs_header,
        &base,
        &EncodingKey::from_secret(jwks.as_bytes()),
    )
    .unwrap();
    assert_refused(
        &app,
        &hs,
        "algorithm_not_allowed",
        "HS256 with the public key",
    )
    .await;

    let t0 = now();
    let expired = with("exp", json!(t0 - 300));
    assert_refused(
        &app,
        &sign_as_server(&app, rs(), &expired),
        "expired",
        "expired",
    )
    .await;
    let early = with("nbf", json!(t0 + 600));
    assert_refused(
        &app,
        &sign_as_server(&app, rs(), &early),
        "not_yet_valid",
        "not yet valid",
    )
    .await;
    let iss = with("iss", json!("https://evil.example"));
    assert_refused(
        &app,
        &sign_as_server(&app, rs(), &iss),
        "wrong_issuer",
        "wrong iss",
    )
    .await;
    let aud = with("aud", json!("another-api"));
    assert_refused(
        &app,
        &sign_as_server(&app, rs(), &aud),
        "wrong_audience",
        "wrong aud",
    )
    .await;
    let refresh_type = with("type", json!("refresh"));
    assert_refused(
        &app,
        &sign_as_server(&app, rs(), &refresh_type),
        "wrong_type",
        "type refresh",
    )
    .await;

    // Tampered payload, original signature.
    let parts: Vec<&str> = good.split('.').collect();
    let forged = with("roles", json!(["admin"]));
    let tampered = format!("{}.{}.{}", parts[0], b64(&forged), parts[2]);
    assert_refused(&app, &tampered, "bad_signature", "tampered payload").await;

    // kid: unknown, a path, an SQL payload.
    for (kid, case) in [
        ("1-deadbeef", "unknown kid"),
        ("../../../etc/passwd", "kid with a path"),
        ("x' OR '1'='1", "kid with SQL"),
    ] {
        let mut h = rs();
        h.kid = Some(kid.into());
        assert_refused(&app, &sign_as_server(&app, h, &base), "unknown_kid", case).await;
    }

    // jku / x5u pointing elsewhere, signed with the attacker's own key.
    let (_, foreign_pem) = backend::security::signing_keys::generate(t0).unwrap();
    let mut h = rs();
    h.kid = base_kid(good);
    h.jku = Some("https://evil.example/jwks.json".into());
    h.x5u = Some("https://evil.example/cert.pem".into());
    let foreign = encode(
        &h,
        &base,
        &EncodingKey::from_rsa_pem(foreign_pem.as_bytes()).unwrap(),
    )
    .unwrap();
    assert_refused(&app, &foreign, "bad_signature", "jku/x5u elsewhere").await;

    // The genuine token still works: nothing above had a side effect.
    assert_eq!(me_with_bearer(&app, good).await.status(), 200);
}

fn base_kid(token: &str) -> Option<String> {
    jsonwebtoken::decode_header(token).unwrap().kid
}

#[tokio::test]
async fn tokens_of_revoked_sessions_and_deleted_users_are_refused() {
    use backend::db::schema::users;
    use diesel::prelude::*;
    let app = spawn_app().await;
    app.register("leaver", "leaver@example.org").await;
    let t = api_tokens(&app, "leaver").await;
    let access = t["access_token"].as_str().unwrap().to_owned();
    // Revoked session: log out, then reuse the still-unexpired access token.
    let r = app
        .client
        .post(app.url("/api/v1/auth/logout"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_refused(&app, &access, "session_revoked", "revoked session").await;

    // Deleted user.
    let t = api_tokens(&app, "leaver").await;
    let access = t["access_token"].as_str().unwrap().to_owned();
    backend::db::run(&app.state.pool, |c| {
        diesel::delete(users::table.filter(users::username.eq("leaver"))).execute(c)?;
        Ok(())
    })
    .await
    .unwrap();
    assert_refused(&app, &access, "unknown_session_or_user", "deleted user").await;
}

async fn refresh_with(app: &TestApp, refresh_token: &str) -> reqwest::Response {
    app.post_json(
        "/api/v1/auth/refresh",
        &json!({ "refresh_token": refresh_token }),
        None,
    )
    .await
}

#[tokio::test]
async fn refresh_tokens_rotate_and_reuse_revokes_the_session() {
    let app = spawn_app_with(&[("REFRESH_GRACE_SECS", "0")]).await;
    app.register("rotator", "rotator@example.org").await;
    let first = api_tokens(&app, "rotator").await;
    let r1 = first["refresh_token"].as_str().unwrap();

    let second: Value = refresh_with(&app, r1).await.json().await.unwrap();
    let r2 = second["refresh_token"].as_str().unwrap();
    assert_ne!(r1, r2, "rotated on use");
    let access2 = second["access_token"].as_str().unwrap().to_owned();
    assert_eq!(me_with_bearer(&app, &access2).await.status(), 200);

    // The first token again, after the grace window: theft assumed.
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let r = refresh_with(&app, r1).await;
    assert_eq!(r.status(), 401);
    let rows = app.audit_actions().await;
    assert!(rows
        .iter()
        .any(|r| r.0 == "auth.refresh_reuse" && r.3.contains("session_revoked")));
    // The whole session is gone: the newest tokens die with it.
    assert_refused(
        &app,
        &access2,
        "session_revoked",
        "access token of a reuse-revoked session",
    )
    .await;
    assert_eq!(refresh_with(&app, r2).await.status(), 401);
}

#[tokio::test]
async fn a_second_use_within_the_grace_window_is_tolerated() {
    let app = spawn_app_with(&[("REFRESH_GRACE_SECS", "10")]).await;
    app.register("twotabs", "twotabs@example.org").await;
    let first = api_tokens(&app, "twotabs").await;
    let r1 = first["refresh_token"].as_str().unwrap();
    let (a, b) = tokio::join!(refresh_with(&app, r1), refresh_with(&app, r1));
    assert_eq!(a.status(), 200);
    assert_eq!(b.status(), 200);
    let again: Value = refresh_with(&app, r1).await.json().await.unwrap();
    assert_eq!(
        me_with_bearer(&app, again["access_token"].as_str().unwrap())
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn a_refresh_keeps_a_user_signed_in_past_the_access_token_lifetime() {
    let app = spawn_app_with(&[("ACCESS_TOKEN_TTL_SECS", "1")]).await;
    let cookie = app.signed_in("patient").await;
    let t = api_tokens(&app, "patient").await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;

    // API client: the access token has expired; a refresh brings a new one.
    assert_refused(
        &app,
        t["access_token"].as_str().unwrap(),
        "expired",
        "expired access token",
    )
    .await;
    let fresh: Value = refresh_with(&app, t["refresh_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        me_with_bearer(&app, fresh["access_token"].as_str().unwrap())
            .await
            .status(),
        200
    );

    // Browser: the expired cookie is refreshed transparently on the next request.
    let r = app.get("/api/v1/me", Some(&cookie)).await;
    assert_eq!(r.status(), 200);
    let renewed = crate::helpers::session_cookie(r.headers()).expect("new cookies");
    assert_ne!(renewed, cookie);
    assert_eq!(app.get("/api/v1/me", Some(&renewed)).await.status(), 200);
    // Without the refresh cookie, an expired access cookie is simply refused.
    let only_access = crate::helpers::access_only(&cookie);
    assert_eq!(
        app.get("/api/v1/me", Some(&only_access)).await.status(),
        401
    );
}

async fn jwks_kids(app: &TestApp) -> Vec<String> {
    let jwks: Value = app
        .get("/.well-known/jwks.json", None)
        .await
        .json()
        .await
        .unwrap();
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

/// A rotation logs nobody out, and a new key is published before it signs:
/// here after 2 s (`SIGNING_KEY_PUBLICATION_SECS`; production waits at least
/// the JWKS max-age plus a folder reload), so no client holding a cached
/// JWKS meets a token whose key it cannot know.
#[tokio::test]
async fn signing_keys_rotate_without_logging_anyone_out() {
    let app = spawn_app_with(&[("SIGNING_KEY_PUBLICATION_SECS", "2")]).await;
    app.register("keeper", "keeper@example.org").await;
    let before = api_tokens(&app, "keeper").await;
    let old_access = before["access_token"].as_str().unwrap().to_owned();
    let old_kid = base_kid(&old_access).unwrap();

    let dir = app.state.settings.signing_keys_dir.clone();
    let rotated = backend::keys::signing::rotate_signing_key(&dir, 900, 2).unwrap();
    let new_kid = rotated.kid.clone();
    assert_eq!(
        Some(rotated.signs_from),
        backend::security::signing_keys::created_at_of(&new_kid).map(|t| t + 2)
    );
    app.state.keys.signing.reload().unwrap();

    // Published at once, while the old key still signs.
    let kids = jwks_kids(&app).await;
    assert!(
        kids.contains(&old_kid) && kids.contains(&new_kid),
        "{kids:?}"
    );
    if chrono::Utc::now().timestamp() < rotated.signs_from {
        let early = api_tokens(&app, "keeper").await;
        assert_eq!(
            base_kid(early["access_token"].as_str().unwrap()).unwrap(),
            old_kid,
            "the new key does not sign before its publication delay"
        );
    }

    // Then the new key signs; tokens of the old one still verify.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let after = api_tokens(&app, "keeper").await;
        if base_kid(after["access_token"].as_str().unwrap()).unwrap() == new_kid {
            assert!(chrono::Utc::now().timestamp() >= rotated.signs_from);
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the new key never started signing"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(me_with_bearer(&app, &old_access).await.status(), 200);
    let kids = jwks_kids(&app).await;
    assert!(
        kids.contains(&old_kid) && kids.contains(&new_kid),
        "{kids:?}"
    );
}

#[tokio::test]
async fn the_jwks_publishes_public_keys_only() {
    let app = spawn_app().await;
    let jwks: Value = app
        .get("/.well-known/jwks.json", None)
        .await
        .json()
        .await
        .unwrap();
    let key = &jwks["keys"][0];
    assert_eq!(key["kty"], "RSA");
    assert_eq!(key["alg"], "RS256");
    assert!(key["kid"].as_str().is_some());
    for private in ["d", "p", "q", "dp", "dq", "qi"] {
        assert!(key.get(private).is_none());
    }
}
