//! `GET /metrics`: who may read it (the scrape token, admin:read), and what
//! it counts (requests by route pattern, latency, logins, denials,
//! rate-limit hits) — never an id from a path.

use crate::helpers::{header, signed_in_admin, spawn_app, spawn_app_with, TestApp, PASSWORD};
use serde_json::json;
use std::collections::BTreeMap;

const TOKEN: &str = "scrape-token-0123456789abcdef-0123456789";

async fn scrape(app: &TestApp, bearer: &str) -> reqwest::Response {
    app.client
        .get(app.url("/metrics"))
        .bearer_auth(bearer)
        .send()
        .await
        .unwrap()
}

async fn scraped(app: &TestApp) -> String {
    let r = scrape(app, TOKEN).await;
    assert_eq!(r.status(), 200);
    r.text().await.unwrap()
}

/// The value of the sample whose name and labels are exactly `series`.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test]
async fn anonymous_callers_get_401_and_users_403() {
    let app = spawn_app().await;
    assert_eq!(app.get("/metrics", None).await.status(), 401);
    let user = app.signed_in("metrics_user").await;
    assert_eq!(app.get("/metrics", Some(&user)).await.status(), 403);
    // Without METRICS_TOKEN, no bearer token is a scrape token.
    assert_eq!(scrape(&app, TOKEN).await.status(), 401);
    // Refusals are recorded like every other denial (the anonymous one in
    // the minute's counts).
    backend::services::access::flush(&app.state).await.unwrap();
    let actions = app.audit_actions().await;
    let denied = actions
        .iter()
        .filter(|(action, _, _, _)| action == "access.denied")
        .count();
    assert!(denied >= 3, "{actions:?}");
}

#[tokio::test]
async fn the_scrape_token_works_and_a_wrong_one_is_refused() {
    let app = spawn_app_with(&[("METRICS_TOKEN", TOKEN)]).await;
    let r = scrape(&app, TOKEN).await;
    assert_eq!(r.status(), 200);
    assert!(
        header(&r, "content-type").starts_with("text/plain; version=0.0.4"),
        "{}",
        header(&r, "content-type")
    );
    assert_eq!(header(&r, "cache-control"), "no-store");

    let wrong = format!("{TOKEN}x");
    assert_eq!(scrape(&app, &wrong).await.status(), 401);
    assert_eq!(scrape(&app, &TOKEN[1..]).await.status(), 401);
    let r = app
        .client
        .get(app.url("/metrics"))
        .header("Authorization", format!("Basic {TOKEN}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let user = app.signed_in("metrics_user2").await;
    assert_eq!(app.get("/metrics", Some(&user)).await.status(), 403);

    let text = scraped(&app).await;
    // A family is written once it has a series (so not before the first
    // request was counted).
    assert!(
        text.contains("# TYPE http_requests_total counter\n"),
        "{text}"
    );
    let denials: f64 = text
        .lines()
        .filter(|l| l.starts_with("access_denials_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    assert_eq!(denials, 4.0, "{text}");
    assert_eq!(
        sample(&text, "access_denials_total{reason=\"missing_permission\"}"),
        Some(1.0),
        "{text}"
    );
    // The refused scrapes are counted with the route's pattern and status.
    assert_eq!(
        sample(
            &text,
            "http_requests_total{route=\"/metrics\",method=\"GET\",status=\"401\"}"
        ),
        Some(3.0),
        "{text}"
    );
}

#[tokio::test]
async fn an_admin_may_read_the_metrics() {
    let app = spawn_app().await;
    let (admin, _) = signed_in_admin(&app, "metrics_admin").await;
    let r = app.get("/metrics", Some(&admin)).await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "cache-control"), "no-store");
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("auth_logins_total{outcome=\"success\"} 1\n"));
}

#[tokio::test]
async fn requests_are_counted_by_route_pattern_and_never_by_id() {
    let app = spawn_app_with(&[("METRICS_TOKEN", TOKEN)]).await;
    let (admin, _) = signed_in_admin(&app, "metrics_boss").await;
    let user = app.signed_in("metrics_target").await;
    let uid = app.user_id(&user).await;

    // A failed login, a denied admin call, two 404s, an admin read by id.
    let r = app
        .post_json(
            "/api/v1/auth/login",
            &json!({ "login": "metrics_target", "password": format!("{PASSWORD}x") }),
            None,
        )
        .await;
    assert_eq!(r.status(), 401);
    let r = app.get("/api/v1/admin/users", Some(&user)).await;
    assert_eq!(r.status(), 403);
    assert_eq!(app.get("/api/v1/no-such-thing", None).await.status(), 404);
    let missing = format!("/definitely/not/{uid}");
    assert_eq!(app.get(&missing, None).await.status(), 404);
    let r = app
        .get(&format!("/api/v1/admin/users/{uid}"), Some(&admin))
        .await;
    assert_eq!(r.status(), 200);

    let text = scraped(&app).await;
    assert!(!text.contains(&uid), "an id leaked into a label:\n{text}");
    let count = |series: &str| sample(&text, series).unwrap_or_else(|| panic!("{series}\n{text}"));
    assert_eq!(
        count(
            "http_requests_total{route=\"/api/v1/admin/users/{id}\",method=\"GET\",status=\"200\"}"
        ),
        1.0
    );
    assert_eq!(
        count("http_requests_total{route=\"/api/v1/auth/login\",method=\"POST\",status=\"401\"}"),
        1.0
    );
    assert_eq!(
        count("http_requests_total{route=\"/api/v1/admin/users\",method=\"GET\",status=\"403\"}"),
        1.0
    );
    assert_eq!(
        count("http_requests_total{route=\"unmatched\",method=\"GET\",status=\"404\"}"),
        2.0
    );
    assert_eq!(count("auth_logins_total{outcome=\"failure\"}"), 1.0);
    // The admin's and the user's sign-ins.
    assert_eq!(count("auth_logins_total{outcome=\"success\"}"), 2.0);
    assert_eq!(
        count("access_denials_total{reason=\"missing_permission\"}"),
        1.0
    );
    assert!(
        count("http_request_duration_seconds_count{route=\"/api/v1/admin/users/{id}\"}") >= 1.0
    );

    // The histogram is well formed: per route, cumulative buckets in
    // ascending `le` order, `+Inf` equal to `_count`, and a `_sum`.
    let mut buckets: BTreeMap<String, Vec<(String, f64)>> = BTreeMap::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("http_request_duration_seconds_bucket{route=\"") else {
            continue;
        };
        let (route, rest) = rest.split_once("\",le=\"").unwrap();
        let (le, value) = rest.split_once("\"} ").unwrap();
        buckets
            .entry(route.to_owned())
            .or_default()
            .push((le.to_owned(), value.parse().unwrap()));
    }
    assert!(buckets.contains_key("/api/v1/auth/login"), "{text}");
    for (route, series) in &buckets {
        assert_eq!(series.last().unwrap().0, "+Inf", "{route}");
        let bounds: Vec<f64> = series[..series.len() - 1]
            .iter()
            .map(|(le, _)| le.parse().unwrap())
            .collect();
        assert!(
            bounds.windows(2).all(|w| w[0] < w[1]),
            "{route}: {bounds:?}"
        );
        assert!(
            series.windows(2).all(|w| w[0].1 <= w[1].1),
            "{route}: {series:?}"
        );
        let total = count(&format!(
            "http_request_duration_seconds_count{{route=\"{route}\"}}"
        ));
        assert_eq!(series.last().unwrap().1, total, "{route}");
        assert!(sample(
            &text,
            &format!("http_request_duration_seconds_sum{{route=\"{route}\"}}")
        )
        .is_some());
    }
}

#[tokio::test]
async fn rate_limit_hits_are_counted_by_limiter() {
    let app = spawn_app_with(&[("METRICS_TOKEN", TOKEN), ("RATE_LIMIT_AUTH", "2/minute")]).await;
    let mut limited = 0;
    for _ in 0..4 {
        let r = app
            .post_json(
                "/api/v1/auth/login",
                &json!({ "login": "nobody", "password": "wrong" }),
                None,
            )
            .await;
        if r.status() == 429 {
            limited += 1;
        }
    }
    assert!(limited >= 1);
    let text = scraped(&app).await;
    assert_eq!(
        sample(&text, "rate_limit_hits_total{limiter=\"auth_per_ip\"}"),
        Some(f64::from(limited)),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            "http_requests_total{route=\"/api/v1/auth/login\",method=\"POST\",status=\"429\"}"
        ),
        Some(f64::from(limited)),
        "{text}"
    );
}
