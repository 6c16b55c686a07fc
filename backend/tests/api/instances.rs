//! Several instances behind one load balancer: nothing a request needs lives
//! in one instance's memory. Sessions, refresh tokens and revocations are in
//! the database; keys come from the same secrets (here: the same data folder,
//! as a shared secret mount would give them). What an instance caches
//! (`services::identity_cache`) is forgotten on every instance when it
//! changes: over PostgreSQL NOTIFY. Two processes on one SQLite file have no
//! such channel, so there the cache is turned off (`IDENTITY_CACHE_SECS=0`),
//! as a deployment sharing an SQLite file would have to.

use crate::helpers::{fresh_database, spawn_on, TestApp, PASSWORD};
use serde_json::json;

/// Two instances on one database and one set of keys (and no grace for a
/// refresh token used twice, so reuse shows at once).
async fn two_instances() -> (TestApp, TestApp) {
    let dir_a = tempfile::tempdir().unwrap();
    let dir_b = tempfile::tempdir().unwrap();
    let url = fresh_database(&dir_a);
    let shared = dir_a.path().display().to_string();
    let grace = ("REFRESH_GRACE_SECS", "0");
    let publication = ("SIGNING_KEY_PUBLICATION_SECS", "0");
    let cache = if url.starts_with("sqlite://") {
        ("IDENTITY_CACHE_SECS", "0")
    } else {
        ("IDENTITY_CACHE_SECS", "30")
    };
    let a = spawn_on(dir_a, url.clone(), &[grace, cache, publication]).await;
    let b = spawn_on(
        dir_b,
        url,
        &[grace, cache, publication, ("APP_DATA_DIR", &shared)],
    )
    .await;
    (a, b)
}

/// Polls `status` until it answers `expected`: a change made on one
/// instance reaches the others' caches by a NOTIFY, within milliseconds.
/// Fails if that takes a second; returns how long it took.
async fn within_a_second<F, Fut>(expected: u16, mut status: F) -> std::time::Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = u16>,
{
    let started = std::time::Instant::now();
    loop {
        let got = status().await;
        if got == expected {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(1),
            "still {got} after a second, expected {expected}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}

async fn bearer_me_status(app: &TestApp, token: &str) -> u16 {
    app.client
        .get(app.url("/api/v1/me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn me_status(app: &TestApp, cookie: &str) -> u16 {
    app.get("/api/v1/me", Some(cookie)).await.status().as_u16()
}

#[tokio::test]
async fn a_session_from_one_instance_works_on_the_other_and_ends_on_both() {
    let (a, b) = two_instances().await;
    let cookie = a.signed_in("roaming").await;
    assert_eq!(me_status(&b, &cookie).await, 200, "B accepts A's session");

    // A second session, signed in through B and used there (so B has it
    // cached), ended from A: B refuses it as soon as A's news arrives.
    let other = b.login("roaming", PASSWORD).await;
    assert_eq!(me_status(&a, &other).await, 200);
    assert_eq!(me_status(&b, &other).await, 200);
    let r = a
        .post_json("/api/v1/auth/logout", &json!({}), Some(&other))
        .await;
    assert!(r.status().is_success(), "{}", r.status());
    assert_eq!(me_status(&a, &other).await, 401, "refused by A at once");
    let took = within_a_second(401, || me_status(&b, &other)).await;
    eprintln!("revoked on A, refused by B after {took:?}");
    assert_eq!(
        me_status(&b, &cookie).await,
        200,
        "the first session lives on"
    );
}

#[tokio::test]
async fn a_refresh_token_rotated_on_one_instance_is_spent_on_the_other() {
    let (a, b) = two_instances().await;
    a.signed_in("rotating").await;
    let r = a
        .post_json(
            "/api/v1/auth/token",
            &json!({ "login": "rotating", "password": PASSWORD }),
            None,
        )
        .await;
    assert_eq!(r.status(), 200);
    let tokens: serde_json::Value = r.json().await.unwrap();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();

    // Rotated on B...
    let r = b
        .post_json(
            "/api/v1/auth/refresh",
            &json!({ "refresh_token": refresh }),
            None,
        )
        .await;
    assert_eq!(r.status(), 200);
    let rotated: serde_json::Value = r.json().await.unwrap();
    let access = rotated["access_token"].as_str().unwrap();
    assert_eq!(
        bearer_me_status(&a, access).await,
        200,
        "A accepts B's token"
    );
    // ...then replayed on A: refused, and the whole session ends on both.
    let r = a
        .post_json(
            "/api/v1/auth/refresh",
            &json!({ "refresh_token": refresh }),
            None,
        )
        .await;
    assert_eq!(r.status(), 401);
    within_a_second(401, || bearer_me_status(&b, access)).await;
    assert_eq!(bearer_me_status(&a, access).await, 401);
}

/// With the publication delay every instance has read a new key long before
/// it signs. This is the net under that (a delay of 0, allowed in dev mode as
/// here; an instance whose folder read failed): a token naming a key an
/// instance has not loaded makes it re-read the folder at once.
#[tokio::test]
async fn a_key_rotated_by_one_instance_is_trusted_by_the_other_at_once() {
    let (a, b) = two_instances().await;
    let cookie = a.signed_in("rotated_keys").await;
    assert_eq!(me_status(&b, &cookie).await, 200);
    // `backend rotate-signing-key` on the shared folder; A picks it up and
    // signs with it, while B has not re-read the folder yet.
    let dir = a.state.settings.signing_keys_dir.clone();
    let kid = backend::keys::signing::rotate_signing_key(&dir, 900, 0)
        .unwrap()
        .kid;
    // A key made in the same second as the one before it is dated a second
    // later and signs from then: poll (generous deadline) until A signs
    // with it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        a.state.keys.signing.reload().unwrap();
        if a.state.keys.signing.current().current().kid == kid {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "A never signs with {kid}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_ne!(b.state.keys.signing.current().current().kid, kid);
    // Wait out B's reload throttle (once a second at most).
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    // A bearer token (a browser cookie would be refreshed silently instead).
    let r = a
        .post_json(
            "/api/v1/auth/token",
            &json!({ "login": "rotated_keys", "password": PASSWORD }),
            None,
        )
        .await;
    let tokens: serde_json::Value = r.json().await.unwrap();
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(
        bearer_me_status(&b, access).await,
        200,
        "B re-reads the keys on an unknown kid"
    );
    assert_eq!(b.state.keys.signing.current().current().kid, kid);
}
