//! Enumeration resistance, measured: sign-in and registration take the same
//! time whether or not the account exists. Many interleaved samples per case,
//! compared by median, so one slow request (a busy machine) cannot decide.

use crate::helpers::{spawn_app, TestApp, PASSWORD};
use serde_json::json;
use std::time::{Duration, Instant};

const SAMPLES: usize = 24;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// The medians may differ by at most a quarter of the larger one. (An
/// answer without the Argon2 work — tens of milliseconds — would take a few
/// milliseconds, far outside this; a database row more or less is far inside.)
fn assert_indistinguishable(what: &str, a: Vec<Duration>, b: Vec<Duration>) {
    let (ma, mb) = (median(a), median(b));
    let (lo, hi) = if ma < mb { (ma, mb) } else { (mb, ma) };
    assert!(
        hi - lo <= hi / 4,
        "{what}: medians {ma:?} vs {mb:?} differ by more than 25%"
    );
}

async fn timed(f: impl std::future::Future<Output = reqwest::Response>) -> (u16, Duration) {
    let start = Instant::now();
    let r = f.await;
    (r.status().as_u16(), start.elapsed())
}

async fn login(app: &TestApp, login: &str, password: &str) -> reqwest::Response {
    app.post_json(
        "/api/v1/auth/login",
        &json!({ "login": login, "password": password }),
        None,
    )
    .await
}

#[tokio::test]
async fn sign_in_takes_as_long_for_an_unknown_account_as_for_a_wrong_password() {
    let app = spawn_app().await;
    let mut known = Vec::new();
    let mut unknown = Vec::new();
    for i in 0..SAMPLES {
        // A fresh account per sample: repeated failures on one would slow it down.
        let name = format!("timing_known_{i}");
        assert_eq!(
            app.register(&name, &format!("{name}@example.org"))
                .await
                .status(),
            201
        );
        let (s1, t1) = timed(login(&app, &name, "Wrong-Password-1!")).await;
        let (s2, t2) = timed(login(
            &app,
            &format!("timing_ghost_{i}"),
            "Wrong-Password-1!",
        ))
        .await;
        assert_eq!((s1, s2), (401, 401));
        known.push(t1);
        unknown.push(t2);
    }
    assert_indistinguishable("login", known, unknown);
}

#[tokio::test]
async fn registering_a_taken_email_takes_as_long_as_a_new_account() {
    let app = spawn_app().await;
    assert_eq!(
        app.register("owner", "owner@example.org").await.status(),
        201
    );
    let mut fresh = Vec::new();
    let mut taken = Vec::new();
    for i in 0..SAMPLES {
        let (s1, t1) =
            timed(app.register(&format!("new_{i}"), &format!("new_{i}@example.org"))).await;
        let (s2, t2) = timed(app.register(&format!("again_{i}"), "owner@example.org")).await;
        assert_eq!((s1, s2), (201, 201));
        fresh.push(t1);
        taken.push(t2);
    }
    assert_indistinguishable("registration", fresh, taken);
    // Only the new accounts exist.
    app.login("new_0", PASSWORD).await;
    assert_eq!(login(&app, "again_0", PASSWORD).await.status(), 401);
}
