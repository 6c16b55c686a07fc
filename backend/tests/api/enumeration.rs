//! Enumeration resistance (ASVS 5.0 V6.3.8): sign-in and registration do not
//! tell existing accounts from others, by their answer or by their time.
//!
//! Time is tested by the work that makes it: every sign-in path — a known
//! or unknown name or address, a wrong or right password, a locked account,
//! one with MFA — runs exactly one Argon2id verification, counted by the
//! server (`PasswordWork::done`), and answers a refusal the same way. That
//! cannot fail because the machine is busy. One wall-clock test remains, as
//! a check of the whole: interleaved samples, compared by a rank test with
//! a strict significance level, which a busy machine cannot push over it by
//! chance and which does tell a refusal without the Argon2 work apart.

use crate::helpers::{enrol_totp, prove_email, signed_in_admin, spawn_app, spawn_app_with};
use crate::helpers::{TestApp, PASSWORD};
use backend::state::password_work::WorkDone;
use serde_json::{json, Value};
use std::time::Instant;

/// No delays and no automatic locks: these tests count work, and sign in
/// wrongly many times on purpose.
const NO_THROTTLE: [(&str, &str); 2] = [
    ("LOGIN_DELAY_AFTER", "1000000"),
    ("LOGIN_LOCK_AFTER", "100"),
];

const WRONG: &str = "Wrong-Password-1!";

/// What one request answered and the Argon2id work it caused.
#[derive(Debug)]
struct Answer {
    status: u16,
    /// The error text of a JSON refusal, or the `Location` of a redirect.
    refusal: String,
    work: WorkDone,
}

async fn answer_of(
    app: &TestApp,
    request: impl std::future::Future<Output = reqwest::Response>,
) -> Answer {
    let before = app.state.password_work.done();
    let r = request.await;
    let status = r.status().as_u16();
    let location = r
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body: Value = r.json().await.unwrap_or(Value::Null);
    let after = app.state.password_work.done();
    Answer {
        status,
        refusal: location.unwrap_or_else(|| body["error"].as_str().unwrap_or("").to_owned()),
        work: WorkDone {
            verifications: after.verifications - before.verifications,
            hashes: after.hashes - before.hashes,
        },
    }
}

/// The three ways to sign in with a password.
#[derive(Clone, Copy, Debug)]
enum Endpoint {
    ApiLogin,
    ApiToken,
    Form,
}

async fn sign_in(app: &TestApp, endpoint: Endpoint, login: &str, password: &str) -> Answer {
    let body = json!({ "login": login, "password": password });
    match endpoint {
        Endpoint::ApiLogin => {
            answer_of(app, app.post_json("/api/v1/auth/login", &body, None)).await
        }
        Endpoint::ApiToken => {
            answer_of(app, app.post_json("/api/v1/auth/token", &body, None)).await
        }
        Endpoint::Form => {
            // As a browser does: the login page's pre-session token first.
            answer_of(
                app,
                app.post_login_form(&[("login", login), ("password", password)]),
            )
            .await
        }
    }
}

const ONE_VERIFICATION: WorkDone = WorkDone {
    verifications: 1,
    hashes: 0,
};

#[tokio::test]
async fn every_sign_in_path_runs_one_argon2_verification_and_refusals_look_alike() {
    let app = spawn_app_with(&NO_THROTTLE).await;
    let mut ids = Vec::new();
    for (name, email) in [
        ("known", "known@example.org"),
        ("locked", "locked@example.org"),
        ("with_mfa", "with_mfa@example.org"),
    ] {
        let r = app.register(name, email).await;
        assert_eq!(r.status(), 201);
        let body: Value = r.json().await.unwrap();
        ids.push(body["id"].as_str().unwrap().to_owned());
    }
    // A locked account (by an administrator; a lock after failures is the
    // same flag).
    let (admin, _) = signed_in_admin(&app, "admin").await;
    let locked_id = &ids[1];
    let r = app
        .post_json(
            &format!("/api/v1/admin/users/{locked_id}/lock"),
            &json!({}),
            Some(&admin),
        )
        .await;
    assert_eq!(r.status(), 204, "locked");
    // Addresses sign in once proven.
    for name in ["known", "locked", "with_mfa"] {
        prove_email(&app, name).await;
    }
    // An account with MFA on.
    let cookie = app.login("with_mfa", PASSWORD).await;
    enrol_totp(&app, &cookie).await;

    let refused = [
        ("a wrong password", "known", WRONG),
        ("a wrong password, by e-mail", "known@example.org", WRONG),
        ("a wrong password, name in capitals", "KNOWN", WRONG),
        ("an unknown name", "nobody_here", WRONG),
        ("an unknown address", "nobody@example.org", WRONG),
        ("a locked account, right password", "locked", PASSWORD),
        ("a locked account, wrong password", "locked", WRONG),
        ("an account with MFA, wrong password", "with_mfa", WRONG),
    ];
    for endpoint in [Endpoint::ApiLogin, Endpoint::ApiToken, Endpoint::Form] {
        let mut first: Option<(&str, Answer)> = None;
        for (what, login, password) in refused {
            let a = sign_in(&app, endpoint, login, password).await;
            assert_eq!(a.work, ONE_VERIFICATION, "{endpoint:?}, {what}: {a:?}");
            match &first {
                None => {
                    assert!(matches!(a.status, 401 | 303), "{endpoint:?}, {what}: {a:?}");
                    first = Some((what, a));
                }
                Some((first_what, f)) => assert_eq!(
                    (a.status, &a.refusal),
                    (f.status, &f.refusal),
                    "{endpoint:?}: {what} is answered unlike {first_what}"
                ),
            }
        }
        // The right password costs the same one verification.
        for (what, login) in [
            ("a right password", "known"),
            ("a right password, MFA on", "with_mfa"),
        ] {
            let a = sign_in(&app, endpoint, login, PASSWORD).await;
            assert!(matches!(a.status, 200 | 303), "{endpoint:?}, {what}: {a:?}");
            assert_eq!(a.work, ONE_VERIFICATION, "{endpoint:?}, {what}: {a:?}");
        }
    }
    // The counter counts: a request that is refused before any password is
    // looked at (a malformed login) runs none.
    let a = sign_in(&app, Endpoint::ApiLogin, "", WRONG).await;
    assert_eq!((a.status, a.work), (422, WorkDone::default()));
}

#[tokio::test]
async fn registering_a_taken_email_runs_the_same_argon2_hash_as_a_new_account() {
    let app = spawn_app_with(&NO_THROTTLE).await;
    let fresh = answer_of(&app, app.register("fresh", "fresh@example.org")).await;
    prove_email(&app, "fresh").await;
    let taken = answer_of(&app, app.register("second", "fresh@example.org")).await;
    let one_hash = WorkDone {
        verifications: 0,
        hashes: 1,
    };
    assert_eq!((fresh.status, fresh.work), (201, one_hash), "{fresh:?}");
    assert_eq!((taken.status, taken.work), (201, one_hash), "{taken:?}");
    // Both are accounts (what else is alike: attacks::v6_enumeration).
    app.login("fresh", PASSWORD).await;
    app.login("second", PASSWORD).await;
}

// ------------------------------------------------------------ wall clock

/// Pairs of samples (and a third, baseline kind) for the wall-clock test.
const SAMPLES: usize = 30;

/// Two-sided significance level as a z-score: |z| ≥ 5 is p < 6 × 10⁻⁷. A
/// test at this level that compares equal distributions fails about once in
/// two million runs: never, for a test suite. Samples are interleaved (see
/// below), so a busy machine slows all kinds alike and cannot make them
/// differ.
const Z_STRICT: f64 = 5.0;

/// The Mann–Whitney U statistic of `a` against `b`, as a z-score (normal
/// approximation, ties averaged and corrected for). Positive when `a` tends
/// to be larger. It compares ranks only, so a few very slow requests (a
/// busy machine) weigh no more than a few slightly slow ones.
fn mann_whitney_z(a: &[f64], b: &[f64]) -> f64 {
    let mut all: Vec<(f64, bool)> = a
        .iter()
        .map(|&x| (x, true))
        .chain(b.iter().map(|&x| (x, false)))
        .collect();
    all.sort_by(|x, y| x.0.total_cmp(&y.0));
    let n = all.len();
    let (mut rank_sum_a, mut ties) = (0.0, 0.0);
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j + 1 < n && all[j + 1].0 == all[i].0 {
            j += 1;
        }
        let rank = (i + j) as f64 / 2.0 + 1.0;
        rank_sum_a += rank * all[i..=j].iter().filter(|(_, in_a)| *in_a).count() as f64;
        let t = (j - i + 1) as f64;
        ties += t * t * t - t;
        i = j + 1;
    }
    let (n1, n2, nn) = (a.len() as f64, b.len() as f64, n as f64);
    let u = rank_sum_a - n1 * (n1 + 1.0) / 2.0;
    let var = n1 * n2 / 12.0 * ((nn + 1.0) - ties / (nn * (nn - 1.0)));
    if var <= 0.0 {
        return 0.0;
    }
    (u - n1 * n2 / 2.0) / var.sqrt()
}

#[test]
fn the_rank_test_tells_separated_samples_apart_and_equal_ones_not() {
    let low: Vec<f64> = (0..30).map(f64::from).collect();
    let high: Vec<f64> = (100..130).map(f64::from).collect();
    // Complete separation of 30 and 30: z = 450 / sqrt(900 · 61 / 12) ≈ 6.65.
    assert!((mann_whitney_z(&high, &low) - 6.65).abs() < 0.01);
    assert!((mann_whitney_z(&low, &high) + 6.65).abs() < 0.01);
    // Interleaved: no difference at all.
    let even: Vec<f64> = (0..30).map(|i| f64::from(2 * i)).collect();
    let odd: Vec<f64> = (0..30).map(|i| f64::from(2 * i + 1)).collect();
    assert!(mann_whitney_z(&odd, &even).abs() < 0.5);
    // All tied: no evidence either way.
    assert_eq!(mann_whitney_z(&[1.0, 1.0], &[1.0, 1.0]), 0.0);
}

async fn timed_login(app: &TestApp, login: &str, password: &str) -> (u16, f64) {
    let start = Instant::now();
    let r = app
        .post_json(
            "/api/v1/auth/login",
            &json!({ "login": login, "password": password }),
            None,
        )
        .await;
    (r.status().as_u16(), start.elapsed().as_secs_f64() * 1e3)
}

#[tokio::test]
async fn sign_in_takes_as_long_for_an_unknown_account_as_for_a_wrong_password() {
    let app = spawn_app().await;
    let (mut known, mut unknown, mut no_hash) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..SAMPLES {
        // A fresh account per sample: repeated failures on one would slow
        // it down (the brute-force delay), which is not what is measured.
        let name = format!("timing_known_{i}");
        let email = format!("{name}@example.org");
        assert_eq!(app.register(&name, &email).await.status(), 201);
        // The three kinds in rotating order (a Latin square): whatever the
        // machine or the server does meanwhile (another test, a database
        // checkpoint after the registration) falls on each kind alike.
        for k in 0..3 {
            match (i + k) % 3 {
                0 => {
                    let (status, ms) = timed_login(&app, &name, WRONG).await;
                    assert_eq!(status, 401);
                    known.push(ms);
                }
                1 => {
                    let (status, ms) = timed_login(&app, &format!("timing_ghost_{i}"), WRONG).await;
                    assert_eq!(status, 401);
                    unknown.push(ms);
                }
                _ => {
                    // What a path that skipped the hash would cost: a
                    // refusal before any password is looked at.
                    let (status, ms) = timed_login(&app, &name, "").await;
                    assert_eq!(status, 422);
                    no_hash.push(ms);
                }
            }
        }
    }
    let z = mann_whitney_z(&known, &unknown);
    assert!(
        z.abs() < Z_STRICT,
        "a wrong password and an unknown account are told apart by time: z = {z:.2} \
         (known {known:?}, unknown {unknown:?})"
    );
    // The same test does see a path without the Argon2 work, so passing
    // above means something.
    let power = mann_whitney_z(&known, &no_hash);
    assert!(
        power >= Z_STRICT,
        "the test cannot tell a refusal without Argon2 from one with it: z = {power:.2}"
    );
}
