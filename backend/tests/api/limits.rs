//! Bad input gets a clear 4xx and changes nothing (ASVS 13.2.5, 5.1.3).

use crate::helpers::{header, spawn_app};
use serde_json::Value;

async fn post_raw(
    app: &crate::helpers::TestApp,
    content_type: &str,
    body: Vec<u8>,
) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/auth/register"))
        .header("Origin", &app.address)
        .header("Content-Type", content_type)
        .body(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn malformed_requests_get_clear_errors_and_create_nothing() {
    let app = spawn_app().await;
    let valid =
        br#"{"email":"l@example.org","username":"leo","password":"Tr0ub4dor&Zebra!"}"#.to_vec();
    let deep = format!("{}{}", "[".repeat(64), "]".repeat(64)).into_bytes();
    let mut huge = br#"{"email":"l@example.org","username":"leo","password":""#.to_vec();
    huge.extend(std::iter::repeat_n(b'A', 20 * 1024));
    huge.extend(br#""}"#);
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        ("text/plain", valid.clone(), 415, "application/json"),
        ("application/x-www-form-urlencoded", valid.clone(), 415, "application/json"),
        ("application/json", b"{\"email\":".to_vec(), 400, "malformed JSON"),
        ("application/json", b"{\"email\":\"\xff\xfe\"}".to_vec(), 400, "UTF-8"),
        ("application/json", deep, 400, "nested"),
        ("application/json", huge, 413, "too large"),
        ("application/json", br#"{"email":"l@example.org","username":"leo"}"#.to_vec(), 400, "missing field"),
        ("application/json", br#"{"email":"l@example.org","username":"leo","password":"Tr0ub4dor&Zebra!","roles":["admin"]}"#.to_vec(), 400, "unknown field `roles`"),
        ("application/json", format!(r#"{{"email":"l@example.org","username":"{}","password":"Tr0ub4dor&Zebra!"}}"#, "a".repeat(51)).into_bytes(), 422, "validation failed"),
    ];
    for (ct, body, status, says) in cases {
        let r = post_raw(&app, ct, body).await;
        assert_eq!(r.status().as_u16(), status, "{ct} -> {says}");
        assert!(header(&r, "content-type").starts_with("application/json"));
        let json: Value = r.json().await.unwrap();
        assert!(json["error"].as_str().unwrap().contains(says), "{json}");
        assert_eq!(json["request_id"].as_str().unwrap().len(), 32);
    }
    // Nothing was created: the valid body now registers for the first time.
    assert_eq!(
        post_raw(&app, "application/json", valid).await.status(),
        201
    );
}

#[tokio::test]
async fn unknown_api_paths_and_wrong_methods_are_json_errors() {
    let app = spawn_app().await;
    let r = app.get("/api/v1/nothing-here", None).await;
    assert_eq!(r.status(), 404);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "not found");
    let r = app.get("/api/v1/auth/login", None).await;
    assert!(r.status().is_client_error());
}

#[tokio::test]
async fn oversized_headers_are_refused() {
    let app = spawn_app().await;
    let r = app
        .client
        .get(app.url("/healthz"))
        .header("X-Padding", "a".repeat(20 * 1024))
        .send()
        .await;
    let r = r.unwrap();
    assert_eq!(r.status().as_u16(), 431);
    assert_eq!(header(&r, "x-frame-options"), "DENY");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "request headers too large");
    // Ordinary requests are unaffected.
    assert_eq!(app.get("/healthz", None).await.status(), 200);
}

#[tokio::test]
async fn a_client_too_slow_to_send_its_request_gets_408() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = crate::helpers::spawn_app_with(&[("REQUEST_HEAD_TIMEOUT_SECS", "1")]).await;
    let addr = app.address.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    // Half a request head, then nothing (a slowloris client).
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        stream.read_to_end(&mut answer),
    )
    .await
    .expect("the server answers and closes within the timeout")
    .unwrap();
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    // Ordinary requests are unaffected.
    assert_eq!(app.get("/healthz", None).await.status(), 200);
}
