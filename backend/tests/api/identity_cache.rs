//! The identity cache (`services::identity_cache`): repeated requests are
//! answered from memory, and every change that can alter a verdict is seen
//! by the very next request, however warm the cache is.

use crate::helpers::{spawn_app, spawn_app_with, PASSWORD};
use serde_json::json;

#[tokio::test]
async fn a_repeated_request_is_answered_from_memory() {
    let app = spawn_app().await;
    let cookie = app.signed_in("repeat").await;
    assert_eq!(app.get("/api/v1/me", Some(&cookie)).await.status(), 200);
    let (hits, _) = app.state.identity_cache.counts();
    assert_eq!(app.get("/api/v1/me", Some(&cookie)).await.status(), 200);
    assert_eq!(app.get("/api/v1/me", Some(&cookie)).await.status(), 200);
    let (after, _) = app.state.identity_cache.counts();
    assert_eq!(after - hits, 2, "two more requests, two hits");
}

#[tokio::test]
async fn a_session_ended_elsewhere_is_refused_at_once_despite_a_warm_cache() {
    let app = spawn_app().await;
    let first = app.signed_in("two_tabs").await;
    let second = app.login("two_tabs", PASSWORD).await;
    for _ in 0..2 {
        assert_eq!(app.get("/api/v1/me", Some(&second)).await.status(), 200);
    }
    let r = app
        .post_json(
            "/api/v1/me/sessions/revoke-others",
            &json!({}),
            Some(&first),
        )
        .await;
    assert!(r.status().is_success(), "{}", r.status());
    assert_eq!(
        app.get("/api/v1/me", Some(&second)).await.status(),
        401,
        "the cached session is refused by the next request"
    );
    assert_eq!(app.get("/api/v1/me", Some(&first)).await.status(), 200);
}

#[tokio::test]
async fn logout_is_refused_at_once_despite_a_warm_cache() {
    let app = spawn_app().await;
    let cookie = app.signed_in("leaving").await;
    for _ in 0..2 {
        assert_eq!(app.get("/api/v1/me", Some(&cookie)).await.status(), 200);
    }
    let r = app
        .post_json("/api/v1/auth/logout", &json!({}), Some(&cookie))
        .await;
    assert!(r.status().is_success(), "{}", r.status());
    assert_eq!(app.get("/api/v1/me", Some(&cookie)).await.status(), 401);
}

#[tokio::test]
async fn a_zero_lifetime_turns_the_cache_off() {
    let app = spawn_app_with(&[("IDENTITY_CACHE_SECS", "0")]).await;
    let cookie = app.signed_in("uncached").await;
    for _ in 0..3 {
        assert_eq!(app.get("/api/v1/me", Some(&cookie)).await.status(), 200);
    }
    assert_eq!(app.state.identity_cache.counts().0, 0, "no hits");
    assert!(app.state.identity_cache.is_empty());
}

/// A made-up scrape token (at least 32 characters).
const SCRAPE: &str = "scrape-token-for-the-identity-cache-test"; // pragma: allowlist secret

#[tokio::test]
async fn metrics_report_the_cache() {
    let app = spawn_app_with(&[("METRICS_TOKEN", SCRAPE)]).await;
    let cookie = app.signed_in("metered").await;
    for _ in 0..2 {
        app.get("/api/v1/me", Some(&cookie)).await;
    }
    let body = app
        .client
        .get(app.url("/metrics"))
        .bearer_auth(SCRAPE)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let hits = body
        .lines()
        .find_map(|l| l.strip_prefix("identity_cache_lookups_total{result=\"hit\"} "))
        .and_then(|n| n.parse::<u64>().ok())
        .expect("a hit counter");
    assert!(hits >= 1, "{body}");
}

/// When a registered device was last used, from the database.
async fn device_last_seen(
    app: &crate::helpers::TestApp,
    id: &str,
) -> Option<chrono::NaiveDateTime> {
    let id = id.to_owned();
    backend::db::run(&app.state.pool, move |c| {
        Ok(backend::db::models::device::Device::find(c, &id)?)
    })
    .await
    .unwrap()
    .expect("the device")
    .last_seen_at
}

#[tokio::test]
async fn a_device_is_recorded_as_used_once_not_on_every_cached_request() {
    let app = spawn_app().await;
    let cookie = app.signed_in("device_user").await;
    let (cookie, device) = app.with_device(&cookie, "Laptop").await;
    assert_eq!(app.get("/api/v1/me", Some(&cookie)).await.status(), 200);
    let first = device_last_seen(&app, &device).await;
    assert!(first.is_some(), "the use is recorded");
    for _ in 0..3 {
        assert_eq!(app.get("/api/v1/me", Some(&cookie)).await.status(), 200);
    }
    assert_eq!(
        device_last_seen(&app, &device).await,
        first,
        "not written again within the minute"
    );
}
