//! Workshop mode (`APP_WORKSHOP=1`): challenges are solved by attempts the
//! server observes, for the participant who made them and nobody else; a
//! client cannot claim a solve; instructors see everyone; the reset clears.

use crate::helpers::oauth_flow::{authorize_pairs, code_for, exchange, param, REDIRECT, VERIFIER};
use crate::helpers::{
    enrol_totp, fresh_database, next_totp_step, oauth_client, signed_in_admin, spawn_app,
    spawn_app_with, spawn_on, totp_code, TestApp, PASSWORD,
};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use std::collections::BTreeSet;

const ON: (&str, &str) = ("APP_WORKSHOP", "1");

/// The ids of the challenges `cookie`'s user has solved, from the scoreboard.
async fn solved(app: &TestApp, cookie: &str) -> BTreeSet<String> {
    let r = app.get("/api/v1/workshop/challenges", Some(cookie)).await;
    assert_eq!(r.status(), 200);
    let board: Value = r.json().await.unwrap();
    assert_eq!(
        board["total"],
        board["challenges"].as_array().unwrap().len()
    );
    board["challenges"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| !c["solved_at"].is_null())
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect()
}

fn set(ids: &[&str]) -> BTreeSet<String> {
    ids.iter().map(|s| (*s).to_owned()).collect()
}

/// Every stored solve: (user id, challenge id).
async fn all_solves(app: &TestApp) -> Vec<(String, String)> {
    backend::db::run(&app.state.pool, |c| {
        Ok(backend::db::models::workshop::Solve::all(c)?)
    })
    .await
    .unwrap()
    .into_iter()
    .map(|s| (s.user_id, s.challenge_id))
    .collect()
}

fn access_token(cookie: &str) -> String {
    cookie
        .split("; ")
        .find_map(|c| c.strip_prefix("__Host-access="))
        .unwrap()
        .to_owned()
}

fn claims_of(token: &str) -> Value {
    serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(token.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap()
}

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(v.to_string())
}

/// `GET /api/v1/me` with a Bearer token and, optionally, the browser's cookie.
async fn me_with(app: &TestApp, bearer: &str, cookie: Option<&str>) -> u16 {
    let mut req = app.client.get(app.url("/api/v1/me")).bearer_auth(bearer);
    if let Some(c) = cookie {
        req = req.header("Cookie", c);
    }
    req.send().await.unwrap().status().as_u16()
}

async fn count_action(app: &TestApp, action: &str) -> usize {
    app.audit_actions()
        .await
        .iter()
        .filter(|r| r.0 == action)
        .count()
}

#[tokio::test]
async fn off_by_default_the_routes_are_404_and_nothing_is_recorded() {
    let app = spawn_app().await;
    let cookie = app.signed_in("ws_off").await;
    let (admin, _) = signed_in_admin(&app, "ws_off_admin").await;
    for (path, who) in [
        ("/api/v1/workshop/challenges", &cookie),
        ("/api/v1/workshop/progress", &admin),
        ("/api/v1/workshop/challenges", &admin),
    ] {
        assert_eq!(app.get(path, Some(who)).await.status(), 404, "{path}");
    }
    assert_eq!(
        app.get("/api/v1/workshop/challenges", None).await.status(),
        404
    );
    let r = app
        .post_json(
            "/api/v1/workshop/answer",
            &json!({ "challenge": "error-request-id", "answer": "0".repeat(32) }),
            Some(&cookie),
        )
        .await;
    assert_eq!(r.status(), 404);
    // An attack that would solve a challenge with the mode on.
    let r = app
        .client
        .get(app.url("/api/v1/me"))
        .header("Cookie", &cookie)
        .header("X-Is-Admin", "true")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(all_solves(&app).await.is_empty());
    assert!(!app
        .audit_actions()
        .await
        .iter()
        .any(|r| r.0.starts_with("workshop.")));
    // The pages say it is off, and no page carries the banner.
    let page = app.get("/workshop", Some(&cookie)).await;
    assert_eq!(page.status(), 404);
    let html = page.text().await.unwrap();
    assert!(html.contains("Workshop mode is off"), "{html}");
    assert!(!html.contains("data-testid=\"workshop-banner\""));
    let home = app.get("/", None).await.text().await.unwrap();
    assert!(!home.contains("Workshop mode:"));
    let progress = app.get("/admin/workshop", Some(&admin)).await;
    assert_eq!(progress.status(), 404);
}

#[tokio::test]
async fn forged_tokens_headers_ids_and_injections_are_credited_to_their_participant_only() {
    let app = spawn_app_with(&[ON]).await;
    let alice = app.signed_in("ws_alice").await;
    let bob = app.signed_in("ws_bob").await;
    let bob_id = app.user_id(&bob).await;
    assert!(solved(&app, &alice).await.is_empty());

    // alg none, naming bob as its subject: refused, credited to the session
    // that came with it (alice), never to the `sub` the forger wrote.
    let mut claims = claims_of(&access_token(&alice));
    claims["sub"] = json!(bob_id);
    let none = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "JWT"})),
        b64(&claims)
    );
    assert_eq!(me_with(&app, &none, Some(&alice)).await, 401);
    assert_eq!(solved(&app, &alice).await, set(&["jwt-alg-none"]));
    // Without a session alongside, nobody is credited.
    assert_eq!(me_with(&app, &none, None).await, 401);
    assert!(solved(&app, &bob).await.is_empty());

    // HS256 keyed with the public JWKS (key confusion).
    let jwks = app
        .get("/.well-known/jwks.json", None)
        .await
        .text()
        .await
        .unwrap();
    let kid = jsonwebtoken::decode_header(access_token(&alice))
        .unwrap()
        .kid;
    let hs = encode(
        &Header {
            alg: Algorithm::HS256,
            kid,
            ..Default::default()
        },
        &claims_of(&access_token(&alice)),
        &EncodingKey::from_secret(jwks.as_bytes()),
    )
    .unwrap();
    assert_eq!(me_with(&app, &hs, Some(&alice)).await, 401);

    // A role-claiming header gains nothing and is noticed.
    let r = app
        .client
        .get(app.url("/api/v1/me"))
        .header("Cookie", &alice)
        .header("X-Is-Admin", "true")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let me: Value = r.json().await.unwrap();
    assert_eq!(me["roles"], json!(["user"]));

    // Another user's resource id: bob's session, ended with alice's.
    let sessions: Value = app
        .get("/api/v1/me/sessions", Some(&bob))
        .await
        .json()
        .await
        .unwrap();
    let bob_session = sessions[0]["id"].as_str().unwrap().to_owned();
    let r = app
        .send(
            reqwest::Method::DELETE,
            &format!("/api/v1/me/sessions/{bob_session}"),
            None,
            Some(&alice),
        )
        .await;
    assert_eq!(r.status(), 404);
    assert_eq!(app.get("/api/v1/me", Some(&bob)).await.status(), 200);

    // An injection string in a query.
    let r = app
        .get("/api/v1/me?q=%27%20OR%20%271%27%3D%271", Some(&alice))
        .await;
    assert_eq!(r.status(), 200);

    assert_eq!(
        solved(&app, &alice).await,
        set(&[
            "jwt-alg-none",
            "jwt-key-confusion",
            "forged-admin-header",
            "other-users-id",
            "injection",
        ])
    );
    assert!(solved(&app, &bob).await.is_empty(), "bob did nothing");
    // Each first solve is audited once; repeating an attack adds nothing.
    assert_eq!(count_action(&app, "workshop.solved").await, 5);
    let r = app
        .client
        .get(app.url("/api/v1/me"))
        .header("Cookie", &alice)
        .header("X-User-Role", "admin")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(count_action(&app, "workshop.solved").await, 5);
}

#[tokio::test]
async fn a_client_cannot_mark_a_challenge_solved() {
    let app = spawn_app_with(&[ON]).await;
    let eve = app.signed_in("ws_eve").await;
    for body in [
        json!({ "challenge": "jwt-alg-none", "answer": "solved" }),
        json!({ "challenge": "forged-admin-header", "answer": "0123456789abcdef0123456789abcdef" }),
        json!({ "challenge": "no-such-challenge", "answer": "x" }),
    ] {
        let r = app
            .post_json("/api/v1/workshop/answer", &body, Some(&eve))
            .await;
        assert_eq!(r.status(), 400, "{body}");
    }
    for answer in ["I solved it", "0123456789abcdef0123456789abcdef", ""] {
        let r = app
            .post_json(
                "/api/v1/workshop/answer",
                &json!({ "challenge": "error-request-id", "answer": answer }),
                Some(&eve),
            )
            .await;
        assert_eq!(r.status(), 200);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["correct"], false, "{answer}");
    }
    // There is no write to the scoreboard itself.
    let r = app
        .post_json(
            "/api/v1/workshop/challenges",
            &json!({ "id": "jwt-alg-none", "solved": true }),
            Some(&eve),
        )
        .await;
    assert_eq!(r.status(), 405);
    // A signed-out client cannot answer at all.
    let r = app
        .post_json(
            "/api/v1/workshop/answer",
            &json!({ "challenge": "error-request-id", "answer": "0".repeat(32) }),
            None,
        )
        .await;
    assert_eq!(r.status(), 401);
    assert!(solved(&app, &eve).await.is_empty());
    assert!(all_solves(&app).await.is_empty());
}

#[tokio::test]
async fn credential_bound_attacks_are_credited_to_the_account_they_targeted() {
    let app = spawn_app_with(&[ON, ("REFRESH_GRACE_SECS", "0")]).await;

    // Refresh-token reuse by an API client (no cookie at all).
    let carol = app.signed_in("ws_carol").await;
    let t: Value = app
        .post_json(
            "/api/v1/auth/token",
            &json!({ "login": "ws_carol", "password": PASSWORD }),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    let r1 = t["refresh_token"].as_str().unwrap().to_owned();
    let refresh = |token: String| {
        let app = &app;
        async move {
            app.post_json(
                "/api/v1/auth/refresh",
                &json!({ "refresh_token": token }),
                None,
            )
            .await
            .status()
        }
    };
    assert_eq!(refresh(r1.clone()).await, 200);
    assert_eq!(refresh(r1).await, 401);

    // A TOTP code used twice.
    let dave = app.signed_in("ws_dave").await;
    let secret = enrol_totp(&app, &dave).await;
    next_totp_step(&app);
    let code = totp_code(&app, &secret);
    let step_up = |code: String| {
        let (app, dave) = (&app, dave.clone());
        async move {
            app.post_json(
                "/api/v1/me/mfa/step-up",
                &json!({ "code": code }),
                Some(&dave),
            )
            .await
            .status()
        }
    };
    assert_eq!(step_up(code.clone()).await, 204);
    assert_eq!(step_up(code).await, 401);

    // A tampered PKCE verifier, then the code used twice.
    let (client_id, _) = oauth_client(&app, true, &[REDIRECT], &["account"]).await;
    let erin = app.signed_in("ws_erin").await;
    let url = code_for(&app, &erin, &authorize_pairs(&client_id, REDIRECT)).await;
    let code = param(&url, "code").unwrap();
    let mut tampered = VERIFIER.to_owned();
    tampered.replace_range(0..1, "X");
    let r = exchange(&app, &client_id, &code, REDIRECT, &tampered).await;
    assert_eq!(r.status(), 400);
    assert_eq!(
        exchange(&app, &client_id, &code, REDIRECT, VERIFIER)
            .await
            .status(),
        200
    );
    assert_eq!(
        exchange(&app, &client_id, &code, REDIRECT, VERIFIER)
            .await
            .status(),
        400
    );

    // Refreshing carol's session ended it (reuse revokes): sign in again.
    let carol = if app.get("/api/v1/me", Some(&carol)).await.status() == 200 {
        carol
    } else {
        app.login("ws_carol", PASSWORD).await
    };
    assert_eq!(solved(&app, &carol).await, set(&["refresh-reuse"]));
    assert_eq!(solved(&app, &dave).await, set(&["totp-replay"]));
    assert_eq!(
        solved(&app, &erin).await,
        set(&["pkce-tamper", "oauth-code-reuse"])
    );
}

#[tokio::test]
async fn tripping_the_rate_limit_is_seen_by_the_server() {
    let app = spawn_app_with(&[ON, ("RATE_LIMIT_USER", "5/minute")]).await;
    let frank = app.signed_in("ws_frank").await;
    let frank_id = app.user_id(&frank).await;
    let mut limited = false;
    for _ in 0..10 {
        if app.get("/api/v1/me", Some(&frank)).await.status() == 429 {
            limited = true;
            break;
        }
    }
    assert!(limited, "the per-user limit answered 429");
    assert_eq!(
        all_solves(&app).await,
        vec![(frank_id, "rate-limit".to_owned())]
    );
}

#[tokio::test]
async fn the_request_id_of_an_error_is_checked_against_the_participants_own_errors() {
    let app = spawn_app_with(&[ON]).await;
    let grace = app.signed_in("ws_grace").await;
    let heidi = app.signed_in("ws_heidi").await;
    // Break one table, so reading the SSN fails on the server (a real 500).
    // (Not `devices`: every request's device posture reads it, and a
    // failing identity check is a 401.)
    backend::db::run(&app.state.pool, |c| {
        use diesel::RunQueryDsl;
        diesel::sql_query("DROP TABLE user_ssn").execute(c)?;
        Ok(())
    })
    .await
    .unwrap();
    let r = app.get("/api/v1/me/ssn", Some(&grace)).await;
    assert_eq!(r.status(), 500);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "internal server error");
    let request_id = body["request_id"].as_str().unwrap().to_owned();

    let answer = |cookie: String, answer: String| {
        let app = &app;
        async move {
            let r = app
                .post_json(
                    "/api/v1/workshop/answer",
                    &json!({ "challenge": "error-request-id", "answer": answer }),
                    Some(&cookie),
                )
                .await;
            assert_eq!(r.status(), 200);
            r.json::<Value>().await.unwrap()["correct"] == true
        }
    };
    // Someone else's error, a made-up id, an id of a request that worked.
    assert!(!answer(heidi.clone(), request_id.clone()).await);
    assert!(!answer(grace.clone(), "f".repeat(32)).await);
    let ok = app.get("/api/v1/me", Some(&grace)).await;
    let ok_id = ok.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert!(!answer(grace.clone(), ok_id).await);
    assert!(solved(&app, &grace).await.is_empty());
    // The right one, in upper case and with spaces, is still the right one.
    assert!(answer(grace.clone(), format!(" {} ", request_id.to_uppercase())).await);
    assert_eq!(solved(&app, &grace).await, set(&["error-request-id"]));
    assert!(solved(&app, &heidi).await.is_empty());
}

#[tokio::test]
async fn instructors_see_everyone_users_do_not_and_the_reset_clears() {
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database(&dir);
    let data_dir = dir.path().to_owned();
    let app = spawn_on(dir, url.clone(), &[ON]).await;
    let ivan = app.signed_in("ws_ivan").await;
    let judy = app.signed_in("ws_judy").await;
    let (admin, _) = signed_in_admin(&app, "ws_teacher").await;
    let r = app
        .client
        .get(app.url("/api/v1/me"))
        .header("Cookie", &ivan)
        .header("X-Is-Admin", "1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    let r = app.get("/api/v1/workshop/progress", Some(&admin)).await;
    assert_eq!(r.status(), 200);
    let p: Value = r.json().await.unwrap();
    let row = |name: &str| {
        p["participants"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["username"] == name)
            .unwrap_or_else(|| panic!("{name} listed"))
            .clone()
    };
    assert_eq!(row("ws_ivan")["solved"], json!(["forged-admin-header"]));
    assert_eq!(row("ws_judy")["solved"], json!([]));
    let total = p["challenges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "forged-admin-header")
        .unwrap()["solved_by"]
        .clone();
    assert_eq!(total, 1);

    // Users see neither the API nor the page.
    assert_eq!(
        app.get("/api/v1/workshop/progress", Some(&judy))
            .await
            .status(),
        403
    );
    assert_eq!(app.get("/admin/workshop", Some(&judy)).await.status(), 403);
    let page = app.get("/admin/workshop", Some(&admin)).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("Workshop progress") && html.contains("ws_ivan"));

    // The instructor's command clears every solve, audited.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_backend"))
        .arg("workshop-reset")
        .env_clear()
        .env("APP_DATA_DIR", &data_dir)
        .env("DATABASE_URL", &url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 solve(s) cleared"));
    assert!(all_solves(&app).await.is_empty());
    assert!(solved(&app, &ivan).await.is_empty());
    assert_eq!(count_action(&app, "workshop.reset").await, 1);
}

#[tokio::test]
async fn the_pages_show_the_banner_and_the_scoreboard_when_on() {
    let app = spawn_app_with(&[ON]).await;
    let home = app.get("/", None).await.text().await.unwrap();
    assert!(
        home.contains("Workshop mode: deliberately observable; not for production"),
        "{home}"
    );
    let kate = app.signed_in("ws_kate").await;
    let r = app.get("/workshop", Some(&kate)).await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    for needle in [
        "Workshop scoreboard",
        "data-testid=\"nav-workshop\"",
        "data-challenge=\"jwt-alg-none\"",
        "href=\"/patterns/authentication\"",
        "<details>",
        "data-testid=\"workshop-answer\"",
        "★★☆☆☆",
    ] {
        assert!(html.contains(needle), "{needle} missing");
    }
    assert!(!html.contains("nav-workshop-progress"), "not an instructor");
    // Signed out: asked to sign in.
    assert_eq!(app.get("/workshop", None).await.status(), 401);
}
