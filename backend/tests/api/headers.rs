//! ASVS 14.4: the fail-safe headers on every kind of response.

use crate::helpers::{header, spawn_app};

const PAGES: &[&str] = &["/", "/login", "/no-such-page"];
const NON_PAGES: &[&str] = &["/healthz", "/api/v1/me", "/api/nope", "/api/openapi.json"];

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let app = spawn_app().await;
    for path in PAGES.iter().chain(NON_PAGES) {
        let r = app.get(path, None).await;
        let csp = header(&r, "content-security-policy");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}");
        assert!(!csp.contains("unsafe-inline"), "{path}");
        assert_eq!(header(&r, "x-frame-options"), "DENY", "{path}");
        assert_eq!(header(&r, "x-content-type-options"), "nosniff", "{path}");
        assert_eq!(
            header(&r, "referrer-policy"),
            "strict-origin-when-cross-origin",
            "{path}"
        );
        assert_eq!(
            header(&r, "cross-origin-resource-policy"),
            "same-origin",
            "{path}"
        );
        assert_eq!(header(&r, "x-request-id").len(), 32, "{path}");
        assert!(r.headers().get("server").is_none(), "{path}");
        // Plain HTTP here: HSTS is only sent over TLS.
        assert!(
            r.headers().get("strict-transport-security").is_none(),
            "{path}"
        );
    }
}

#[tokio::test]
async fn pages_get_the_full_policy_and_document_headers() {
    let app = spawn_app().await;
    for path in PAGES {
        let r = app.get(path, None).await;
        assert!(
            header(&r, "content-type").starts_with("text/html"),
            "{path}"
        );
        let csp = header(&r, "content-security-policy");
        assert!(csp.starts_with("default-src 'self'"), "{path}: {csp}");
        assert!(csp.contains("script-src 'self'"), "{path}: {csp}");
        assert!(
            header(&r, "permissions-policy").contains("camera=()"),
            "{path}"
        );
        assert_eq!(
            header(&r, "cross-origin-opener-policy"),
            "same-origin",
            "{path}"
        );
    }
}

#[tokio::test]
async fn everything_else_may_load_nothing() {
    let app = spawn_app().await;
    for path in NON_PAGES {
        let r = app.get(path, None).await;
        assert!(
            !header(&r, "content-type").starts_with("text/html"),
            "{path}"
        );
        assert_eq!(
            header(&r, "content-security-policy"),
            "default-src 'none'; frame-ancestors 'none'",
            "{path}"
        );
        // Document-only headers are left off what is never a document.
        assert!(r.headers().get("permissions-policy").is_none(), "{path}");
        assert!(
            r.headers().get("cross-origin-opener-policy").is_none(),
            "{path}"
        );
    }
}

#[tokio::test]
async fn request_ids_are_unique_and_ours() {
    let app = spawn_app().await;
    let r1 = app
        .client
        .get(app.url("/healthz"))
        .header("X-Request-Id", "chosen-by-client")
        .send()
        .await
        .unwrap();
    let r2 = app.get("/healthz", None).await;
    assert_ne!(header(&r1, "x-request-id"), "chosen-by-client");
    assert_ne!(header(&r1, "x-request-id"), header(&r2, "x-request-id"));
}

#[tokio::test]
async fn the_page_script_nonce_matches_the_csp_and_changes_per_request() {
    let app = spawn_app().await;
    let mut seen = Vec::new();
    for _ in 0..2 {
        let r = app.get("/", None).await;
        assert!(header(&r, "content-type").starts_with("text/html; charset=utf-8"));
        let csp = header(&r, "content-security-policy").to_owned();
        let nonce = csp
            .split("'nonce-")
            .nth(1)
            .and_then(|s| s.split('\'').next())
            .expect("a nonce in the CSP")
            .to_owned();
        let html = r.text().await.unwrap();
        assert!(html.contains(&format!("<script type=\"module\" nonce=\"{nonce}\"")));
        // Every script element carries the nonce: there is no other inline script.
        for chunk in html.split("<script").skip(1) {
            let tag = chunk.split('>').next().unwrap();
            assert!(
                tag.contains(&format!("nonce=\"{nonce}\"")),
                "script without nonce: {tag}"
            );
        }
        seen.push(nonce);
    }
    assert_ne!(seen[0], seen[1]);
}

#[tokio::test]
async fn api_and_authenticated_responses_are_not_cached() {
    let app = spawn_app().await;
    let cookie = app.signed_in("cachey").await;
    assert_eq!(
        header(&app.get("/api/v1/me", Some(&cookie)).await, "cache-control"),
        "no-store"
    );
    assert_eq!(
        header(&app.get("/account", Some(&cookie)).await, "cache-control"),
        "no-store"
    );
    assert_eq!(
        header(&app.get("/api/v1/me", None).await, "cache-control"),
        "no-store"
    );
}
