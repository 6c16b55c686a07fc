//! ASVS 5.0 V6 (authentication): every secret check counts, locks hold under concurrency, re-authentication.

use crate::helpers::{
    oauth_client, oauth_flow, spawn_app_with, totp_code, totp_secret, TestApp, PASSWORD,
};
use backend::db::models::{mfa::UserMfa, user::User};
use backend::security::totp::{code_at, TotpSecret};
use futures_util::future::join_all;
use reqwest::Client;
use serde_json::{json, Value};

/// The default `LOGIN_LOCK_AFTER`.
const LOCK_AFTER: usize = 10;
/// Wrong codes one pending login (`mfa_token`) allows.
const CHALLENGE_ATTEMPTS: usize = 5;
/// No growing delays (they would only slow the tests down; the lock is what
/// is under attack), the default lock, no MFA obligation for admins.
const SETTINGS: &[(&str, &str)] = &[
    ("LOGIN_DELAY_AFTER", "100"),
    ("MFA_REQUIRED_FOR_ROLES", "none"),
];

/// Enrols `cookie`'s user in TOTP; returns the secret and the recovery
/// codes, with the server clock moved to the next step (the confirmation
/// used the current one).
async fn enroll(app: &TestApp, cookie: &str) -> (TotpSecret, Vec<String>) {
    let r = app
        .post_json("/api/v1/me/mfa/totp/setup", &json!({}), Some(cookie))
        .await;
    assert_eq!(r.status(), 200, "setup");
    let setup: Value = r.json().await.unwrap();
    let secret = totp_secret(setup["secret"].as_str().unwrap());
    let r = app
        .post_json(
            "/api/v1/me/mfa/totp/confirm",
            &json!({ "code": totp_code(app, &secret) }),
            Some(cookie),
        )
        .await;
    assert_eq!(r.status(), 200, "confirm");
    let body: Value = r.json().await.unwrap();
    let codes = body["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    crate::helpers::next_totp_step(app);
    (secret, codes)
}

/// A well-formed code that no step the server accepts now (±1) produces.
fn wrong_code(app: &TestApp, secret: &TotpSecret) -> String {
    let now = app.state.clock.now_unix();
    let valid: Vec<String> = [now - 30, now, now + 30]
        .iter()
        .map(|t| code_at(secret, *t, 6).unwrap())
        .collect();
    (0..1_000_000)
        .map(|n| format!("{n:06}"))
        .find(|c| !valid.contains(c))
        .unwrap()
}

async fn user_row(app: &TestApp, login: &str) -> User {
    let login = login.to_owned();
    backend::db::run(&app.state.pool, move |c| {
        Ok(User::find_by_login(c, &login)?)
    })
    .await
    .unwrap()
    .expect("the user exists")
}

/// Audit entries with this action and outcome whose detail contains every needle.
async fn audited(app: &TestApp, action: &str, outcome: &str, needles: &[&str]) -> usize {
    app.audit_actions()
        .await
        .iter()
        .filter(|(a, o, _, d)| a == action && o == outcome && needles.iter().all(|n| d.contains(n)))
        .count()
}

/// Status and body of an answer, without its request id (so answers compare).
async fn answer(r: reqwest::Response) -> (u16, Value) {
    let status = r.status().as_u16();
    let mut body: Value = r.json().await.unwrap_or(Value::Null);
    if let Some(o) = body.as_object_mut() {
        o.remove("request_id");
    }
    (status, body)
}

/// HTTP clients bound to different loopback source addresses, so parallel
/// guesses come from several clients as a distributed attack would.
fn clients_from_several_addresses() -> Vec<Client> {
    (2..=6)
        .map(|last| {
            Client::builder()
                .local_address(std::net::IpAddr::from([127, 0, 0, last]))
                .redirect(reqwest::redirect::Policy::none())
                .pool_max_idle_per_host(0)
                .timeout(std::time::Duration::from_secs(60))
                .build()
                .unwrap()
        })
        .collect()
}

async fn step_up(app: &TestApp, cookie: &str, code: &str) -> reqwest::Response {
    app.post_json(
        "/api/v1/me/mfa/step-up",
        &json!({ "code": code }),
        Some(cookie),
    )
    .await
}

async fn login_step1(app: &TestApp, login: &str) -> String {
    let r = app
        .post_json(
            "/api/v1/auth/login",
            &json!({ "login": login, "password": PASSWORD }),
            None,
        )
        .await;
    assert_eq!(r.status(), 200, "password step");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["mfa_required"], true);
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

/// Item 2: the step-up code was guessable (only per-IP and per-user rate
/// limits). 60 wrong codes: the first LOCK_AFTER are evaluated and lock the
/// account; the rest, and then the right code, are refused unevaluated.
#[tokio::test]
async fn sixty_wrong_step_up_codes_lock_the_account_and_then_the_right_code_is_refused() {
    let app = spawn_app_with(SETTINGS).await;
    let cookie = app.signed_in("stepper").await;
    let (secret, _) = enroll(&app, &cookie).await;
    let wrong = wrong_code(&app, &secret);
    let mut answers = Vec::new();
    for _ in 0..60 {
        answers.push(answer(step_up(&app, &cookie, &wrong).await).await);
    }
    assert!(
        answers.iter().all(|a| a == &answers[0]),
        "one answer for all"
    );
    assert_eq!(answers[0].0, 401);
    assert_eq!(answers[0].1["error"], "invalid or expired code");

    crate::helpers::next_totp_step(&app);
    let right = answer(step_up(&app, &cookie, &totp_code(&app, &secret)).await).await;
    assert_eq!(
        right, answers[0],
        "the right code is refused like a wrong one"
    );

    assert_eq!(
        audited(
            &app,
            "mfa.verify",
            "failure",
            &["\"step_up\"", "invalid_code"]
        )
        .await,
        LOCK_AFTER,
        "exactly the allowed number of codes was evaluated"
    );
    assert_eq!(
        audited(
            &app,
            "mfa.verify",
            "denied",
            &["\"step_up\"", "account_locked"]
        )
        .await,
        60 - LOCK_AFTER + 1
    );
    assert_eq!(audited(&app, "account.locked", "success", &[]).await, 1);
    assert_eq!(audited(&app, "mfa.step_up", "success", &[]).await, 0);
    // The lock is the account's: the password does not sign in either.
    let login = app
        .post_json(
            "/api/v1/auth/login",
            &json!({ "login": "stepper", "password": PASSWORD }),
            None,
        )
        .await;
    assert_eq!(login.status(), 401);
}

/// Items 2 and 11: disabling MFA checks the password and a code; both
/// counted nothing. Wrong passwords and wrong codes now share the account's
/// limit, and once locked the right pair is refused and MFA stays on.
#[tokio::test]
async fn wrong_passwords_and_codes_when_disabling_mfa_lock_the_account() {
    let app = spawn_app_with(SETTINGS).await;
    let cookie = app.signed_in("disabler").await;
    let (secret, _) = enroll(&app, &cookie).await;
    let disable = |password: String, code: String| {
        let cookie = cookie.clone();
        let app = &app;
        async move {
            answer(
                app.post_json(
                    "/api/v1/me/mfa/disable",
                    &json!({ "password": password, "code": code }),
                    Some(&cookie),
                )
                .await,
            )
            .await
        }
    };
    let wrong_password = disable("Not-The-Password-1!".into(), totp_code(&app, &secret)).await;
    assert_eq!(wrong_password.0, 422);
    assert_eq!(wrong_password.1["fields"][0]["field"], "current_password");
    for _ in 1..LOCK_AFTER / 2 {
        assert_eq!(
            disable("Not-The-Password-1!".into(), totp_code(&app, &secret)).await,
            wrong_password
        );
    }
    let wrong = wrong_code(&app, &secret);
    for _ in 0..LOCK_AFTER / 2 {
        let (status, body) = disable(PASSWORD.into(), wrong.clone()).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (401, Some("invalid or expired code"))
        );
    }
    // Locked: the right password and the right code answer like a wrong password.
    crate::helpers::next_totp_step(&app);
    assert_eq!(
        disable(PASSWORD.into(), totp_code(&app, &secret)).await,
        wrong_password
    );
    let status: Value = app
        .get("/api/v1/me/mfa", Some(&cookie))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(status["enabled"], true, "MFA is still on");
    assert_eq!(
        audited(&app, "mfa.disable", "failure", &["wrong_password"]).await,
        LOCK_AFTER / 2
    );
    assert_eq!(
        audited(
            &app,
            "mfa.verify",
            "failure",
            &["\"disable\"", "invalid_code"]
        )
        .await,
        LOCK_AFTER / 2
    );
    assert_eq!(
        audited(&app, "mfa.disable", "failure", &["account_locked"]).await,
        1
    );
    assert_eq!(audited(&app, "account.locked", "success", &[]).await, 1);
    assert_eq!(audited(&app, "mfa.disable", "success", &[]).await, 0);
}

/// Item 11: wrong current passwords on a password change were free, so a
/// session thief could guess the password there without limit.
#[tokio::test]
async fn wrong_current_passwords_on_a_password_change_lock_the_account() {
    let app = spawn_app_with(SETTINGS).await;
    let cookie = app.signed_in("changer").await;
    let before = user_row(&app, "changer").await.password_hash;
    let change = |current: &'static str| {
        let cookie = cookie.clone();
        let app = &app;
        async move {
            answer(
                app.post_json(
                    "/api/v1/me/password",
                    &json!({ "current_password": current, "new_password": "Glacier-Mango-Fjord-77" }),
                    Some(&cookie),
                )
                .await,
            )
            .await
        }
    };
    let wrong = change("Not-The-Password-1!").await;
    assert_eq!(wrong.0, 422);
    assert_eq!(wrong.1["fields"][0]["field"], "current_password");
    for _ in 1..LOCK_AFTER {
        assert_eq!(change("Not-The-Password-1!").await, wrong);
    }
    // Locked: the right current password gets the same answer and changes nothing.
    assert_eq!(change(PASSWORD).await, wrong);
    assert_eq!(user_row(&app, "changer").await.password_hash, before);
    assert_eq!(
        audited(
            &app,
            "account.password_change",
            "failure",
            &["wrong_current_password"]
        )
        .await,
        LOCK_AFTER
    );
    assert_eq!(
        audited(
            &app,
            "account.password_change",
            "failure",
            &["account_locked"]
        )
        .await,
        1
    );
    assert_eq!(audited(&app, "account.locked", "success", &[]).await, 1);
    let login = app
        .post_json(
            "/api/v1/auth/login",
            &json!({ "login": "changer", "password": PASSWORD }),
            None,
        )
        .await;
    assert_eq!(login.status(), 401, "the lock is the account's");
}

/// Item 2, the class: one counter for every second-factor path. Wrong
/// step-up codes and wrong recovery codes at the login add up; once locked,
/// a valid recovery code is refused and not used up.
#[tokio::test]
async fn step_up_and_recovery_code_failures_share_one_lock_and_a_locked_recovery_code_is_not_used_up(
) {
    let app = spawn_app_with(SETTINGS).await;
    let cookie = app.signed_in("recoverer").await;
    let (secret, codes) = enroll(&app, &cookie).await;
    // Pending logins, started before the lock.
    let first = login_step1(&app, "recoverer").await;
    let last = login_step1(&app, "recoverer").await;
    let wrong = wrong_code(&app, &secret);
    for _ in 0..LOCK_AFTER / 2 {
        assert_eq!(step_up(&app, &cookie, &wrong).await.status(), 401);
    }
    let unused = |i: usize| {
        // Another well-formed code: the real one with its first character changed.
        let real = &codes[i];
        let swapped = if real.starts_with('a') { 'b' } else { 'a' };
        format!("{swapped}{}", &real[1..])
    };
    for i in 0..LOCK_AFTER / 2 {
        let r = login_step2(&app, &first, &unused(i)).await;
        assert_eq!(r.status(), 401);
    }
    assert_eq!(audited(&app, "account.locked", "success", &[]).await, 1);
    let r = login_step2(&app, &last, &codes[0]).await;
    assert_eq!(r.status(), 401, "a valid recovery code on a locked account");
    assert!(crate::helpers::session_cookie(r.headers()).is_none());
    assert_eq!(
        audited(&app, "mfa.recovery_code_used", "success", &[]).await,
        0
    );
    let status: Value = app
        .get("/api/v1/me/mfa", Some(&cookie))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        status["recovery_codes_remaining"],
        codes.len(),
        "not used up"
    );
    assert_eq!(
        audited(
            &app,
            "mfa.verify",
            "denied",
            &["\"login\"", "account_locked"]
        )
        .await,
        1
    );
}

/// Item 3: `login/mfa` checked `failed_attempts < 5` once at the start, so
/// parallel wrong codes on one `mfa_token` were all evaluated (11–17 of 20
/// recorded). Now each claims an attempt atomically: exactly the challenge's
/// allowance is evaluated and counted, the rest are refused unevaluated.
#[tokio::test]
async fn parallel_wrong_codes_on_one_mfa_token_evaluate_no_more_than_the_limit() {
    let app = spawn_app_with(SETTINGS).await;
    let cookie = app.signed_in("racer").await;
    let (secret, _) = enroll(&app, &cookie).await;
    let token = login_step1(&app, "racer").await;
    let wrong = wrong_code(&app, &secret);
    let clients = clients_from_several_addresses();
    let requests = (0..25).map(|i| {
        let client = &clients[i % clients.len()];
        client
            .post(app.url("/api/v1/auth/login/mfa"))
            .header("Origin", &app.address)
            .json(&json!({ "mfa_token": token, "code": wrong }))
            .send()
    });
    let statuses: Vec<u16> = join_all(requests)
        .await
        .into_iter()
        .map(|r| r.expect("answered").status().as_u16())
        .collect();
    assert!(statuses.iter().all(|s| *s == 401), "{statuses:?}");
    let evaluated = audited(
        &app,
        "mfa.verify",
        "failure",
        &["\"login\"", "invalid_code"],
    )
    .await;
    let refused = audited(
        &app,
        "mfa.verify",
        "denied",
        &["\"login\"", "unknown_used_or_expired_token"],
    )
    .await;
    assert_eq!(evaluated, CHALLENGE_ATTEMPTS, "evaluated before the limit");
    assert_eq!(refused, 25 - CHALLENGE_ATTEMPTS, "refused unevaluated");
    let failures = user_row(&app, "racer").await.failed_logins;
    assert_eq!(
        usize::try_from(failures).unwrap(),
        evaluated,
        "every evaluated code was counted"
    );
}

/// Item 3: password login read the user, waited in the Argon2 queue, then
/// checked the lock on that old copy, so parallel guesses were all
/// evaluated. Now exactly LOCK_AFTER are, each counted; the rest meet the
/// lock, with the same answer.
#[tokio::test]
async fn parallel_wrong_passwords_from_several_addresses_evaluate_no_more_than_the_limit() {
    let app = spawn_app_with(SETTINGS).await;
    let r = app.register("crowd", "crowd@example.org").await;
    assert_eq!(r.status(), 201);
    let clients = clients_from_several_addresses();
    let requests = (0..25).map(|i| {
        let client = &clients[i % clients.len()];
        client
            .post(app.url("/api/v1/auth/login"))
            .header("Origin", &app.address)
            .json(&json!({ "login": "crowd", "password": format!("Wrong-Password-{i}!") }))
            .send()
    });
    let answers = join_all(
        join_all(requests)
            .await
            .into_iter()
            .map(|r| answer(r.expect("answered"))),
    )
    .await;
    assert!(
        answers.iter().all(|a| a == &answers[0]),
        "one answer for all"
    );
    assert_eq!(answers[0].0, 401);
    let evaluated = audited(&app, "auth.login", "failure", &["wrong_password"]).await;
    let locked = audited(&app, "auth.login", "failure", &["account_locked"]).await;
    assert_eq!(evaluated, LOCK_AFTER, "evaluated before the lock");
    assert_eq!(locked, 25 - LOCK_AFTER, "refused by the lock");
    assert_eq!(audited(&app, "account.locked", "success", &[]).await, 1);
    let row = user_row(&app, "crowd").await;
    assert_eq!(usize::try_from(row.failed_logins).unwrap(), evaluated);
    assert!(row.locked_until.is_some());
}

/// An OAuth client's access token (scope `account`) and how it asks.
async fn account_token(app: &TestApp, cookie: &str) -> String {
    use oauth_flow::*;
    let (client_id, _) = oauth_client(app, true, &[REDIRECT], &["account"]).await;
    let location = code_for(app, cookie, &authorize_pairs(&client_id, REDIRECT)).await;
    let code = param(&location, "code").expect("a code");
    let r = exchange(app, &client_id, &code, REDIRECT, VERIFIER).await;
    assert_eq!(r.status(), 200, "token exchange");
    let body: Value = r.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

/// Item 10: a client holding a user's `account` token could enrol its own
/// authenticator (and lock the owner out). Every account-security endpoint
/// refuses OAuth-scoped tokens with 403 `first_party_session_required`, and
/// nothing is created.
#[tokio::test]
async fn an_oauth_account_token_cannot_enrol_its_own_totp_or_touch_account_security() {
    let app = spawn_app_with(SETTINGS).await;
    let cookie = app.signed_in("owner").await;
    let token = account_token(&app, &cookie).await;
    assert_eq!(
        oauth_flow::me_status(&app, &token).await,
        200,
        "the scope works where it applies"
    );
    let uid = user_row(&app, "owner").await.id;
    for (path, body) in [
        ("/api/v1/me/mfa/totp/setup", json!({})),
        ("/api/v1/me/mfa/totp/confirm", json!({ "code": "123456" })),
        ("/api/v1/me/mfa/step-up", json!({ "code": "123456" })),
        ("/api/v1/me/mfa/recovery-codes", json!({})),
        (
            "/api/v1/me/mfa/disable",
            json!({ "password": PASSWORD, "code": "123456" }),
        ),
        (
            "/api/v1/me/password",
            json!({ "current_password": PASSWORD, "new_password": "Glacier-Mango-Fjord-77" }),
        ),
        ("/api/v1/me/reauthenticate", json!({ "password": PASSWORD })),
        ("/api/v1/me/sessions/revoke-others", json!({})),
        // A device is trusted at once: a client must not register its own.
        ("/api/v1/me/devices", json!({ "label": "client laptop" })),
        // Consent is the user's: a client must not approve itself.
        ("/oauth/authorize/decision", json!({ "decision": "allow" })),
    ] {
        let r = app
            .client
            .post(app.url(path))
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let (status, body) = answer(r).await;
        assert_eq!(status, 403, "{path}");
        assert_eq!(body["error"], "first_party_session_required", "{path}");
    }
    let owner = uid.clone();
    let pending = backend::db::run(&app.state.pool, move |c| Ok(UserMfa::find(c, &owner)?))
        .await
        .unwrap();
    assert!(pending.is_none(), "no authenticator was enrolled");
    assert_eq!(audited(&app, "mfa.setup", "success", &[]).await, 0);
    assert!(
        audited(
            &app,
            "access.denied",
            "denied",
            &["first_party_session_required"]
        )
        .await
            >= 10
    );
    let devices = backend::db::run(&app.state.pool, move |c| {
        use backend::db::schema::devices::dsl::*;
        use diesel::prelude::*;
        Ok(devices
            .filter(user_id.eq(&uid))
            .count()
            .get_result::<i64>(c)?)
    });
    assert_eq!(devices.await.unwrap(), 0, "no device was registered");
}

/// Item 10: account-security changes need a recent authentication. A fresh
/// login counts (so enrolling right after signing in works).
#[tokio::test]
async fn a_fresh_login_counts_as_a_recent_authentication() {
    let app = spawn_app_with(SETTINGS).await;
    let cookie = app.signed_in("fresh").await;
    enroll(&app, &cookie).await;
}

/// Item 10: once the window has passed, a session (a thief's, or an
/// unattended browser) cannot enrol TOTP or change the password until the
/// password is entered again, and wrong passwords there count too.
#[tokio::test]
async fn account_security_changes_need_a_recent_authentication() {
    let mut settings = SETTINGS.to_vec();
    settings.push(("REAUTH_WINDOW_SECS", "4"));
    let app = spawn_app_with(&settings).await;
    let cookie = app.signed_in("lapsed").await;
    let uid = user_row(&app, "lapsed").await.id;
    // Outside the window (waiting makes the session older, never younger).
    tokio::time::sleep(std::time::Duration::from_millis(4500)).await;
    for (path, body) in [
        ("/api/v1/me/mfa/totp/setup", json!({})),
        (
            "/api/v1/me/password",
            json!({ "current_password": PASSWORD, "new_password": "Glacier-Mango-Fjord-77" }),
        ),
    ] {
        let (status, body) = answer(app.post_json(path, &body, Some(&cookie)).await).await;
        assert_eq!(status, 401, "{path}");
        assert_eq!(body["error"], "reauthentication_required", "{path}");
    }
    let id = uid.clone();
    let pending = backend::db::run(&app.state.pool, move |c| Ok(UserMfa::find(c, &id)?))
        .await
        .unwrap();
    assert!(pending.is_none(), "nothing was enrolled");
    assert_eq!(
        audited(&app, "account.password_change", "success", &[]).await,
        0
    );

    // A wrong password does not re-authenticate, and counts.
    let (status, body) = answer(
        app.post_json(
            "/api/v1/me/reauthenticate",
            &json!({ "password": "Not-The-Password-1!" }),
            Some(&cookie),
        )
        .await,
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(body["fields"][0]["field"], "password");
    assert_eq!(user_row(&app, "lapsed").await.failed_logins, 1);
    let r = app
        .post_json("/api/v1/me/mfa/totp/setup", &json!({}), Some(&cookie))
        .await;
    assert_eq!(r.status(), 401);

    // The password again: the window starts afresh.
    let r = app
        .post_json(
            "/api/v1/me/reauthenticate",
            &json!({ "password": PASSWORD }),
            Some(&cookie),
        )
        .await;
    assert_eq!(r.status(), 204);
    assert_eq!(
        audited(&app, "auth.reauthenticate", "success", &[]).await,
        1
    );
    let (secret, _) = enroll(&app, &cookie).await;
    // The earlier wrong password still counts (a right one gives back only its own attempt).
    assert_eq!(user_row(&app, "lapsed").await.failed_logins, 1);

    // With MFA on, the existing second factor (a step-up) re-authenticates too.
    tokio::time::sleep(std::time::Duration::from_millis(4500)).await;
    let r = app
        .post_json("/api/v1/me/mfa/recovery-codes", &json!({}), Some(&cookie))
        .await;
    assert_eq!(answer(r).await.1["error"], "reauthentication_required");
    let r = step_up(&app, &cookie, &totp_code(&app, &secret)).await;
    assert_eq!(r.status(), 204);
    let r = app
        .post_json("/api/v1/me/mfa/recovery-codes", &json!({}), Some(&cookie))
        .await;
    assert_eq!(r.status(), 200);
}

/// Moves every session of `login` out of the re-authentication window (an
/// hour old), as time passing would.
async fn lapse_reauthentication(app: &TestApp, login: &str) {
    use backend::db::schema::sessions;
    use diesel::prelude::*;
    let uid = user_row(app, login).await.id;
    backend::db::run(&app.state.pool, move |c| {
        diesel::update(sessions::table.filter(sessions::user_id.eq(uid)))
            .set(sessions::reauthenticated_at.eq(Some(
                chrono::Utc::now().naive_utc() - chrono::Duration::hours(1),
            )))
            .execute(c)?;
        Ok(())
    })
    .await
    .unwrap();
    app.forget_cached_identities();
}

/// The error of a refused account-security request, or its status.
async fn totp_setup(app: &TestApp, cookie: &str) -> (u16, Value) {
    answer(
        app.post_json("/api/v1/me/mfa/totp/setup", &json!({}), Some(cookie))
            .await,
    )
    .await
}

/// The recent-authentication window is the session's, not the user's: a
/// thief's session (or a forgotten browser) does not become fit for
/// account-security changes because the owner entered the password in
/// another session.
#[tokio::test]
async fn reauthenticating_one_session_does_not_open_the_window_of_another() {
    let app = spawn_app_with(SETTINGS).await;
    let owner = app.signed_in("two_tabs").await;
    let thief = app.login("two_tabs", PASSWORD).await;
    lapse_reauthentication(&app, "two_tabs").await;
    for cookie in [&owner, &thief] {
        let (status, body) = totp_setup(&app, cookie).await;
        assert_eq!(
            (status, &body["error"]),
            (401, &json!("reauthentication_required"))
        );
    }
    let r = app
        .post_json(
            "/api/v1/me/reauthenticate",
            &json!({ "password": PASSWORD }),
            Some(&owner),
        )
        .await;
    assert_eq!(r.status(), 204);
    let (status, body) = totp_setup(&app, &thief).await;
    assert_eq!(
        (status, &body["error"]),
        (401, &json!("reauthentication_required")),
        "the other session is still outside its window"
    );
    assert_eq!(totp_setup(&app, &owner).await.0, 200, "the owner's is open");
    let (status, _) = totp_setup(&app, &thief).await;
    assert_eq!(status, 401, "and stays closed for the other");
}

/// A refresh proves only that the client holds the refresh token (what a
/// thief takes along with the session), not that the user is at the
/// keyboard: it must not renew the recent-authentication window. A
/// refreshed session past the window still needs the password again; the
/// refresh leaves the session's re-authentication time alone.
#[tokio::test]
async fn a_token_refresh_is_not_a_recent_authentication() {
    use backend::db::schema::sessions;
    use diesel::prelude::*;
    let app = spawn_app_with(SETTINGS).await;
    let cookie = app.signed_in("refresher").await;
    lapse_reauthentication(&app, "refresher").await;
    let uid = user_row(&app, "refresher").await.id;
    let reauth_times = || {
        let uid = uid.clone();
        backend::db::run(&app.state.pool, move |c| {
            Ok(sessions::table
                .filter(sessions::user_id.eq(uid))
                .select(sessions::reauthenticated_at)
                .load::<Option<chrono::NaiveDateTime>>(c)?)
        })
    };
    let before = reauth_times().await.unwrap();
    let r = app
        .client
        .post(app.url("/api/v1/auth/refresh"))
        .header("Origin", &app.address)
        .header("Cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let refreshed = crate::helpers::session_cookie(r.headers()).expect("new cookies");
    assert_eq!(
        reauth_times().await.unwrap(),
        before,
        "unchanged by the refresh"
    );
    let (status, body) = totp_setup(&app, &refreshed).await;
    assert_eq!(
        (status, &body["error"]),
        (401, &json!("reauthentication_required"))
    );
    // The password again opens it (so the refusal above was the window's).
    let r = app
        .post_json(
            "/api/v1/me/reauthenticate",
            &json!({ "password": PASSWORD }),
            Some(&refreshed),
        )
        .await;
    assert_eq!(r.status(), 204);
    assert_eq!(totp_setup(&app, &refreshed).await.0, 200);
}

/// Re-authentication checks the password, so it is a guessing oracle for a
/// session thief. Twenty wrong passwords at once: no more than the lock's
/// allowance is evaluated (each counted), the rest meet the lock, and
/// every answer is the same.
#[tokio::test]
async fn parallel_wrong_reauthentication_passwords_evaluate_no_more_than_the_limit() {
    let app = spawn_app_with(SETTINGS).await;
    let cookie = app.signed_in("reauth_crowd").await;
    let bodies: Vec<Value> = (0..20)
        .map(|i| json!({ "password": format!("Wrong-Password-{i}!") }))
        .collect();
    let requests = bodies
        .iter()
        .map(|b| app.post_json("/api/v1/me/reauthenticate", b, Some(&cookie)));
    let answers = join_all(join_all(requests).await.into_iter().map(answer)).await;
    assert!(
        answers.iter().all(|a| a == &answers[0]),
        "one answer for all: {answers:?}"
    );
    assert_eq!(answers[0].0, 422);
    let evaluated = audited(&app, "auth.reauthenticate", "failure", &["wrong_password"]).await;
    let locked = audited(&app, "auth.reauthenticate", "failure", &["account_locked"]).await;
    assert_eq!(evaluated, LOCK_AFTER, "evaluated before the lock");
    assert_eq!(locked, 20 - LOCK_AFTER, "refused by the lock");
    assert_eq!(audited(&app, "account.locked", "success", &[]).await, 1);
    let row = user_row(&app, "reauth_crowd").await;
    assert_eq!(usize::try_from(row.failed_logins).unwrap(), evaluated);
    assert!(row.locked_until.is_some());
}

/// One second factor, sent at once to several pending logins (a thief who
/// saw the code and holds several password-stage tokens): a code is good
/// for one sign-in, so exactly one of them signs in.
async fn one_code_over_several_pending_logins(app: &TestApp, user: &str, code: &str) -> usize {
    let mut tokens = Vec::new();
    for _ in 0..6 {
        tokens.push(login_step1(app, user).await);
    }
    let answers = join_all(tokens.iter().map(|t| login_step2(app, t, code))).await;
    let mut signed_in = 0;
    for r in answers {
        match r.status().as_u16() {
            200 => {
                assert!(crate::helpers::session_cookie(r.headers()).is_some());
                signed_in += 1;
            }
            401 => assert!(crate::helpers::session_cookie(r.headers()).is_none()),
            other => panic!("unexpected {other}"),
        }
    }
    signed_in
}

/// The TOTP step is claimed atomically (`UserMfa::use_step`): six pending
/// logins racing one code give one session, and five recorded replays.
#[tokio::test]
async fn one_totp_code_raced_over_several_pending_logins_signs_in_once() {
    let app = spawn_app_with(SETTINGS).await;
    let cookie = app.signed_in("code_racer").await;
    let (secret, _) = enroll(&app, &cookie).await;
    let code = totp_code(&app, &secret);
    assert_eq!(
        one_code_over_several_pending_logins(&app, "code_racer", &code).await,
        1
    );
    assert_eq!(
        audited(&app, "mfa.replay", "denied", &["\"login\""]).await,
        5,
        "the others were replays"
    );
}

/// A recovery code is good once ever: six pending logins racing one code
/// give one session, one recorded use, and one code fewer.
#[tokio::test]
async fn one_recovery_code_raced_over_several_pending_logins_signs_in_once() {
    let app = spawn_app_with(SETTINGS).await;
    let cookie = app.signed_in("recovery_racer").await;
    let (_, codes) = enroll(&app, &cookie).await;
    assert_eq!(
        one_code_over_several_pending_logins(&app, "recovery_racer", &codes[0]).await,
        1
    );
    assert_eq!(
        audited(&app, "mfa.recovery_code_used", "success", &[]).await,
        1
    );
    let status: Value = app
        .get("/api/v1/me/mfa", Some(&cookie))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(status["recovery_codes_remaining"], codes.len() - 1);
}
