//! TOTP MFA (ASVS 2.8.x, 3.7.1, 4.3.1): enrolment, login, replay, skew,
//! recovery codes, disabling, admin reset, step-up, the admin gate.

use crate::helpers::{
    enrolment, register_with_roles, session_cookie, spawn_app_with, TestApp, PASSWORD,
};
use backend::db::models::user::Role;
use backend::security::totp::{code_at, TotpSecret};
use serde_json::{json, Value};

fn secret_of(base32: &str) -> TotpSecret {
    TotpSecret::from_bytes(
        totp_rs::Secret::Encoded(base32.to_owned())
            .to_bytes()
            .unwrap(),
    )
}

/// The code the server's (possibly shifted) clock expects, `skew_steps` away.
fn code(app: &TestApp, secret: &TotpSecret, skew_steps: i64) -> String {
    let t = app.state.clock.now_unix() as i64 + skew_steps * 30;
    code_at(secret, t as u64, 6).unwrap()
}

/// Moves the server clock forward one step, so a new code is due.
fn next_step(app: &TestApp) {
    let now = app.state.clock.now_unix() as i64 - chrono::Utc::now().timestamp();
    app.state.clock.set_offset(now + 30);
}

/// Enrols `cookie`'s user; returns the secret and the recovery codes, with
/// the clock at the next step (the confirmation used the current one).
async fn enroll(app: &TestApp, cookie: &str) -> (TotpSecret, Vec<String>) {
    let e = enrolment(app, cookie).await;
    next_step(app);
    (e.secret, e.recovery_codes)
}

async fn login_step1(app: &TestApp, login: &str) -> String {
    let r = app
        .post_json(
            "/api/v1/auth/login",
            &json!({ "login": login, "password": PASSWORD }),
            None,
        )
        .await;
    assert_eq!(r.status(), 200);
    assert!(
        session_cookie(r.headers()).is_none(),
        "no session before the second factor"
    );
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["mfa_required"], true);
    assert!(body.get("user").is_none());
    body["mfa_token"].as_str().unwrap().to_owned()
}

async fn login_step2(app: &TestApp, token: &str, code: &str) -> reqwest::Response {
    app.post_json(
        "/api/v1/auth/login/mfa",
        &json!({ "mfa_token": token, "code": code }),
        None,
    )
    .await
}

#[tokio::test]
async fn enroll_confirm_and_log_in_with_a_code() {
    let app = spawn_app_with(&[]).await;
    let cookie = app.signed_in("mfa_amy").await;

    let r = app
        .post_json("/api/v1/me/mfa/totp/setup", &json!({}), Some(&cookie))
        .await;
    let setup: Value = r.json().await.unwrap();
    let base32 = setup["secret"].as_str().unwrap();
    assert_eq!(base32.len(), 32, "160-bit secret");
    let uri = setup["otpauth_uri"].as_str().unwrap();
    assert!(
        uri.starts_with("otpauth://totp/Secure%20Reference:mfa_amy?"),
        "{uri}"
    );
    assert!(
        uri.contains("algorithm=SHA1") || !uri.contains("algorithm="),
        "SHA-1"
    );
    assert!(
        setup["qr_svg"].as_str().unwrap().starts_with("<?xml")
            || setup["qr_svg"].as_str().unwrap().contains("<svg")
    );

    // Not enabled until confirmed: login still signs in directly.
    let status: Value = app
        .get("/api/v1/me/mfa", Some(&cookie))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(status["enabled"], false);

    // The secret is stored encrypted, bound to its row.
    let stored = backend::db::run(&app.state.pool, |c| {
        Ok(backend::db::models::mfa::UserMfa::all_secrets(c)?)
    })
    .await
    .unwrap();
    assert!(stored[0].1.starts_with("v2:"), "under the user's data key");
    assert!(!stored[0].1.contains(base32));

    let secret = secret_of(base32);
    let r = app
        .post_json(
            "/api/v1/me/mfa/totp/confirm",
            &json!({ "code": "000000" }),
            Some(&cookie),
        )
        .await;
    assert_eq!(r.status(), 422);
    let r = app
        .post_json(
            "/api/v1/me/mfa/totp/confirm",
            &json!({ "code": code(&app, &secret, 0) }),
            Some(&cookie),
        )
        .await;
    assert_eq!(r.status(), 200);
    let codes: Value = r.json().await.unwrap();
    assert_eq!(codes["recovery_codes"].as_array().unwrap().len(), 10);
    let status: Value = app
        .get("/api/v1/me/mfa", Some(&cookie))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(status["enabled"], true);
    assert_eq!(status["recovery_codes_remaining"], 10);
    assert!(status["enabled_at"].is_string());

    next_step(&app);
    let token = login_step1(&app, "mfa_amy").await;
    let r = login_step2(&app, &token, &code(&app, &secret, 0)).await;
    assert_eq!(r.status(), 200);
    let signed_in = session_cookie(r.headers()).expect("cookies after the second factor");
    assert_eq!(app.get("/api/v1/me", Some(&signed_in)).await.status(), 200);

    // The token was single-use.
    next_step(&app);
    assert_eq!(
        login_step2(&app, &token, &code(&app, &secret, 0))
            .await
            .status(),
        401
    );

    let actions: Vec<String> = app.audit_actions().await.into_iter().map(|r| r.0).collect();
    for a in ["mfa.setup", "mfa.confirm", "mfa.enable"] {
        assert!(actions.iter().any(|x| x == a), "audit lacks {a}");
    }
}

#[tokio::test]
async fn asvs_2_8_4_a_used_code_is_a_replay() {
    let app = spawn_app_with(&[]).await;
    let cookie = app.signed_in("mfa_ben").await;
    let (secret, _) = enroll(&app, &cookie).await;
    let c = code(&app, &secret, 0);
    let t1 = login_step1(&app, "mfa_ben").await;
    assert_eq!(login_step2(&app, &t1, &c).await.status(), 200);
    let t2 = login_step1(&app, "mfa_ben").await;
    assert_eq!(login_step2(&app, &t2, &c).await.status(), 401);
    assert!(app
        .audit_actions()
        .await
        .iter()
        .any(|r| r.0 == "mfa.replay"));
}

#[tokio::test]
async fn asvs_2_8_1_one_step_of_skew_is_accepted_two_are_not() {
    let app = spawn_app_with(&[]).await;
    let cookie = app.signed_in("mfa_cy").await;
    let (secret, _) = enroll(&app, &cookie).await;
    // Move well past the step used at enrolment, so only the window matters.
    for _ in 0..3 {
        next_step(&app);
    }
    let step_up = |c: String| {
        let app = &app;
        let cookie = cookie.clone();
        async move {
            app.post_json(
                "/api/v1/me/mfa/step-up",
                &json!({ "code": c }),
                Some(&cookie),
            )
            .await
            .status()
        }
    };
    // Each accepted step must be later than the last used one, so go in order.
    assert_eq!(
        step_up(code(&app, &secret, -2)).await,
        401,
        "two steps behind"
    );
    assert_eq!(
        step_up(code(&app, &secret, -1)).await,
        204,
        "one step behind"
    );
    assert_eq!(step_up(code(&app, &secret, 0)).await, 204, "current step");
    assert_eq!(step_up(code(&app, &secret, 1)).await, 204, "one step ahead");
    assert_eq!(
        step_up(code(&app, &secret, 2)).await,
        401,
        "two steps ahead"
    );
    assert!(app
        .audit_actions()
        .await
        .iter()
        .any(|r| r.0 == "mfa.step_up"));
}

#[tokio::test]
async fn a_recovery_code_works_once() {
    let app = spawn_app_with(&[]).await;
    let cookie = app.signed_in("mfa_dee").await;
    let (_, codes) = enroll(&app, &cookie).await;
    let t = login_step1(&app, "mfa_dee").await;
    let r = login_step2(&app, &t, &codes[0].to_uppercase()).await;
    assert_eq!(r.status(), 200, "recovery codes are case-insensitive");
    let t = login_step1(&app, "mfa_dee").await;
    assert_eq!(login_step2(&app, &t, &codes[0]).await.status(), 401);
    let fresh = session_cookie(r.headers()).unwrap();
    let status: Value = app
        .get("/api/v1/me/mfa", Some(&fresh))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(status["recovery_codes_remaining"], 9);
    assert!(app
        .audit_actions()
        .await
        .iter()
        .any(|r| r.0 == "mfa.recovery_code_used"));
}

#[tokio::test]
async fn a_pending_login_allows_only_a_few_wrong_codes() {
    let app = spawn_app_with(&[]).await;
    let cookie = app.signed_in("mfa_eve").await;
    let (secret, _) = enroll(&app, &cookie).await;
    let t = login_step1(&app, "mfa_eve").await;
    for _ in 0..5 {
        assert_eq!(login_step2(&app, &t, "123456").await.status(), 401);
    }
    // Even the right code is refused now: the password must be entered again.
    assert_eq!(
        login_step2(&app, &t, &code(&app, &secret, 0))
            .await
            .status(),
        401
    );
    let t = login_step1(&app, "mfa_eve").await;
    assert_eq!(
        login_step2(&app, &t, &code(&app, &secret, 0))
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn disabling_needs_the_password_and_a_code() {
    let app = spawn_app_with(&[]).await;
    let cookie = app.signed_in("mfa_fay").await;
    let (secret, _) = enroll(&app, &cookie).await;
    let r = app
        .post_json(
            "/api/v1/me/mfa/disable",
            &json!({ "password": "Wrong-Password-1!", "code": code(&app, &secret, 0) }),
            Some(&cookie),
        )
        .await;
    assert_eq!(r.status(), 422);
    let r = app
        .post_json(
            "/api/v1/me/mfa/disable",
            &json!({ "password": PASSWORD, "code": "000000" }),
            Some(&cookie),
        )
        .await;
    assert_eq!(r.status(), 401);
    let r = app
        .post_json(
            "/api/v1/me/mfa/disable",
            &json!({ "password": PASSWORD, "code": code(&app, &secret, 0) }),
            Some(&cookie),
        )
        .await;
    assert_eq!(r.status(), 204);
    // Login no longer asks for a code.
    app.login("mfa_fay", PASSWORD).await;
}

async fn make_admin(app: &TestApp, username: &str) -> String {
    register_with_roles(app, username, &[Role::Admin, Role::User]).await;
    app.login(username, PASSWORD).await
}

#[tokio::test]
async fn asvs_4_3_1_admins_must_enrol_before_the_admin_api_answers() {
    let app = spawn_app_with(&[]).await;
    let admin = make_admin(&app, "mfa_root").await;
    let r = app
        .get("/api/v1/admin/users/x/sessions", Some(&admin))
        .await;
    assert_eq!(r.status(), 403);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"],
        "mfa_enrollment_required"
    );
    let status: Value = app
        .get("/api/v1/me/mfa", Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(status["required"], true);
    enroll(&app, &admin).await;
    assert_eq!(
        app.get("/api/v1/admin/users/x/sessions", Some(&admin))
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn an_admin_reset_removes_mfa_and_ends_the_users_sessions() {
    let app = spawn_app_with(&[]).await;
    let (admin, _) = crate::helpers::signed_in_admin(&app, "mfa_boss").await;
    let user = app.signed_in("mfa_gus").await;
    enroll(&app, &user).await;
    let uid = app
        .get("/api/v1/me", Some(&user))
        .await
        .json::<Value>()
        .await
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = app
        .post_json(
            &format!("/api/v1/admin/users/{uid}/mfa/reset"),
            &json!({}),
            Some(&user),
        )
        .await;
    assert_eq!(r.status(), 403, "users cannot reset MFA");
    let r = app
        .post_json(
            &format!("/api/v1/admin/users/{uid}/mfa/reset"),
            &json!({}),
            Some(&admin),
        )
        .await;
    assert_eq!(r.status(), 204);
    assert_eq!(app.get("/api/v1/me", Some(&user)).await.status(), 401);
    app.login("mfa_gus", PASSWORD).await;
    assert!(app
        .audit_actions()
        .await
        .iter()
        .any(|r| r.0 == "mfa.admin_reset"));
}

#[tokio::test]
async fn asvs_3_7_1_sensitive_actions_need_a_recent_second_factor() {
    let app = spawn_app_with(&[("STEP_UP_WINDOW_SECS", "1")]).await;
    let cookie = app.signed_in("mfa_hal").await;
    let (secret, _) = enroll(&app, &cookie).await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let change = json!({ "current_password": PASSWORD, "new_password": "N3w-Passphrase!x" });
    let r = app
        .post_json("/api/v1/me/password", &change, Some(&cookie))
        .await;
    assert_eq!(r.status(), 401);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"],
        "step_up_required"
    );
    let r = app
        .post_json("/api/v1/me/mfa/recovery-codes", &json!({}), Some(&cookie))
        .await;
    assert_eq!(r.status(), 401, "regenerating codes needs step-up too");

    let r = app
        .post_json(
            "/api/v1/me/mfa/step-up",
            &json!({ "code": code(&app, &secret, 0) }),
            Some(&cookie),
        )
        .await;
    assert_eq!(r.status(), 204);
    let r = app
        .post_json("/api/v1/me/password", &change, Some(&cookie))
        .await;
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn regenerating_recovery_codes_invalidates_the_old_set() {
    let app = spawn_app_with(&[]).await;
    let cookie = app.signed_in("mfa_ivy").await;
    let (_, old_codes) = enroll(&app, &cookie).await;
    // The enrolment counts as a recent second factor for this session.
    let r = app
        .post_json("/api/v1/me/mfa/recovery-codes", &json!({}), Some(&cookie))
        .await;
    assert_eq!(r.status(), 200);
    let new_codes: Vec<String> = r.json::<Value>().await.unwrap()["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(new_codes.len(), 10);
    let t = login_step1(&app, "mfa_ivy").await;
    assert_eq!(
        login_step2(&app, &t, &old_codes[0]).await.status(),
        401,
        "old set is void"
    );
    let t = login_step1(&app, "mfa_ivy").await;
    assert_eq!(login_step2(&app, &t, &new_codes[0]).await.status(), 200);
}

#[tokio::test]
async fn wrong_codes_count_toward_the_account_lock() {
    let app = spawn_app_with(&[("LOGIN_LOCK_AFTER", "3"), ("LOGIN_DELAY_AFTER", "50")]).await;
    let cookie = app.signed_in("mfa_jo").await;
    enroll(&app, &cookie).await;
    for _ in 0..3 {
        let t = login_step1(&app, "mfa_jo").await;
        assert_eq!(login_step2(&app, &t, "000000").await.status(), 401);
    }
    // Locked now: the password step answers like a wrong password.
    let r = app
        .post_json(
            "/api/v1/auth/login",
            &json!({ "login": "mfa_jo", "password": PASSWORD }),
            None,
        )
        .await;
    assert_eq!(r.status(), 401);
}
