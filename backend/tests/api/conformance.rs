//! The API answers as its OpenAPI document (`/api/openapi.json`) says, and
//! every refusal is the JSON error body with a request id. Regression tests
//! for what schemathesis found (`scripts/security-check api` runs it over
//! every operation, anonymous, as a user and as an admin); each failed on
//! the code before its fix.

use crate::helpers::{header, signed_in_admin, spawn_app, TestApp};
use reqwest::Method;
use serde_json::{json, Value};

async fn openapi(app: &TestApp) -> Value {
    let r = app.get("/api/openapi.json", None).await;
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

/// The statuses the document lists for `method` on `path` (a template).
fn documented(doc: &Value, method: &str, path: &str) -> Vec<String> {
    doc["paths"][path][method.to_lowercase()]["responses"]
        .as_object()
        .unwrap_or_else(|| panic!("{method} {path} is not documented"))
        .keys()
        .cloned()
        .collect()
}

/// The answer is the app's JSON error body, naming the request's id.
async fn assert_json_refusal(r: reqwest::Response, what: &str) -> Value {
    let id = header(&r, "x-request-id").to_owned();
    let content_type = header(&r, "content-type").to_owned();
    assert!(
        content_type.starts_with("application/json"),
        "{what}: answered {content_type:?}, not JSON ({})",
        r.text().await.unwrap_or_default()
    );
    let body: Value = r.json().await.unwrap();
    assert!(
        body["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{what}: {body}"
    );
    assert!(!id.is_empty(), "{what}: no X-Request-Id");
    assert_eq!(body["request_id"], id.as_str(), "{what}: {body}");
    body
}

#[tokio::test]
async fn query_string_errors_are_json_with_the_request_id_and_echo_no_value() {
    let app = spawn_app().await;
    let (admin, _) = signed_in_admin(&app, "admin").await;
    for path in [
        "/api/v1/admin/audit?before=9223372036854775808",
        "/api/v1/admin/audit.csv?before=secret-value-1",
        "/api/v1/admin/decisions?before=1.5",
        "/api/v1/admin/logs?limit=",
        "/api/v1/admin/logs?limit=-1",
        "/api/v1/admin/users?limit=secret-value-2",
    ] {
        let r = app.get(path, Some(&admin)).await;
        assert_eq!(r.status(), 400, "{path}");
        let body = assert_json_refusal(r, path).await;
        assert!(!body.to_string().contains("secret-value"), "{path}: {body}");
    }
}

#[tokio::test]
async fn a_page_size_out_of_range_is_refused_as_documented() {
    let app = spawn_app().await;
    let (admin, _) = signed_in_admin(&app, "admin").await;
    let doc = openapi(&app).await;
    let limit = doc["paths"]["/api/v1/admin/users"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "limit")
        .unwrap()
        .clone();
    assert_eq!(
        (&limit["schema"]["minimum"], &limit["schema"]["maximum"]),
        (&json!(1), &json!(100)),
        "{limit}"
    );
    assert!(documented(&doc, "GET", "/api/v1/admin/users").contains(&"400".into()));
    for (limit, status) in [("0", 400), ("101", 400), ("1", 200), ("100", 200)] {
        let r = app
            .get(&format!("/api/v1/admin/users?limit={limit}"), Some(&admin))
            .await;
        assert_eq!(r.status(), status, "limit={limit}");
        if status == 400 {
            assert_json_refusal(r, "limit").await;
        }
    }
}

/// A same-origin request with a raw body and content type.
async fn send_raw(
    app: &TestApp,
    method: &Method,
    path: &str,
    content_type: &str,
    body: &'static str,
    cookie: &str,
) -> reqwest::Response {
    app.client
        .request(method.clone(), app.url(path))
        .header("Origin", &app.address)
        .header("Cookie", cookie)
        .header("Content-Type", content_type)
        .body(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn every_json_body_refusal_is_a_documented_status() {
    let app = spawn_app().await;
    let (admin, _) = signed_in_admin(&app, "admin").await;
    let doc = openapi(&app).await;
    let mut checked = 0;
    let mut operations: Vec<(String, String)> = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if op["requestBody"]["content"]["application/json"].is_object() {
                operations.push((method.to_uppercase(), path.clone()));
            }
        }
    }
    // Signing out would end the admin's session: last.
    operations.sort_by_key(|(_, path)| path.ends_with("/logout"));
    for (method, path) in operations {
        let listed = documented(&doc, &method, &path);
        for status in ["400", "413", "415"] {
            assert!(
                listed.contains(&status.into()),
                "{method} {path} does not list {status}"
            );
        }
        let concrete = path.replace("{id}", "00000000-0000-4000-8000-000000000000");
        let m = Method::from_bytes(method.as_bytes()).unwrap();
        for (content_type, body) in [("application/json", "{not json"), ("text/plain", "{}")] {
            let r = send_raw(&app, &m, &concrete, content_type, body, &admin).await;
            let status = r.status().as_u16().to_string();
            assert!(
                listed.contains(&status),
                "{method} {path} with {content_type} {body:?} answered {status}, documented {listed:?}"
            );
            assert_json_refusal(r, &format!("{method} {path}")).await;
            checked += 1;
        }
    }
    assert!(
        checked >= 30,
        "only {checked} requests: is the document empty?"
    );
}

#[tokio::test]
async fn new_recovery_codes_with_mfa_off_answer_the_documented_409() {
    let app = spawn_app().await;
    let cookie = app.signed_in("alice").await;
    let r = app
        .post_json("/api/v1/me/mfa/recovery-codes", &json!({}), Some(&cookie))
        .await;
    assert_eq!(r.status(), 409);
    assert_json_refusal(r, "recovery codes").await;
    let doc = openapi(&app).await;
    assert!(documented(&doc, "POST", "/api/v1/me/mfa/recovery-codes").contains(&"409".into()));
}

#[tokio::test]
async fn a_405_names_the_methods_the_path_takes() {
    let app = spawn_app().await;
    let cookie = app.signed_in("alice").await;
    for (method, path, allow) in [
        ("PUT", "/api/v1/me", "GET, HEAD"),
        ("TRACE", "/healthz", "GET, HEAD"),
        ("DELETE", "/api/v1/auth/login", "POST"),
        ("PATCH", "/api/v1/me/ssn", "GET, HEAD, PUT, DELETE"),
        (
            "OPTIONS",
            "/api/v1/admin/oauth/clients/{x}",
            "GET, HEAD, PUT, DELETE",
        ),
        ("POST", "/login", "GET, HEAD"),
        ("POST", "/.well-known/jwks.json", "GET, HEAD"),
    ] {
        let path = path.replace("{x}", "some-id");
        let m = Method::from_bytes(method.as_bytes()).unwrap();
        let r = app.send(m, &path, None, Some(&cookie)).await;
        assert_eq!(r.status(), 405, "{method} {path}");
        assert_eq!(header(&r, "allow"), allow, "{method} {path}");
        assert_json_refusal(r, &format!("{method} {path}")).await;
    }
}

/// The headers of a response, less those that differ between any two
/// requests (their id, date, the page's script nonce, the body's framing).
fn stable_headers(r: &reqwest::Response) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = r
        .headers()
        .iter()
        .filter(|(name, _)| {
            !matches!(
                name.as_str(),
                "x-request-id"
                    | "date"
                    | "content-length"
                    | "transfer-encoding"
                    | "x-ratelimit-remaining"
            )
        })
        .map(|(name, value)| {
            let value = value.to_str().unwrap_or("").to_owned();
            // A fresh random cookie value per response (the login page's
            // pre-session token): compare its name and attributes.
            let value = match (name.as_str(), value.split_once('=')) {
                ("set-cookie", Some((cookie, rest))) => {
                    format!("{cookie}=…{}", rest.find(';').map_or("", |i| &rest[i..]))
                }
                _ => value,
            };
            let value = match value.split_once("'nonce-") {
                Some((head, tail)) => {
                    format!("{head}'nonce-…{}", &tail[tail.find('\'').unwrap()..])
                }
                None => value,
            };
            (name.as_str().to_owned(), value)
        })
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn head_is_answered_with_the_headers_of_get_and_no_body() {
    let app = spawn_app().await;
    let cookie = app.signed_in("alice").await;
    for (path, cookie) in [
        ("/login", None),
        ("/", None),
        ("/account", Some(cookie.as_str())),
        ("/api/v1/auth/password-policy", None),
        ("/api/v1/me", Some(cookie.as_str())),
        ("/api/openapi.json", None),
        ("/healthz", None),
    ] {
        let get = app.send(Method::GET, path, None, cookie).await;
        let head = app.send(Method::HEAD, path, None, cookie).await;
        assert_eq!(head.status(), get.status(), "HEAD {path}");
        assert_eq!(stable_headers(&head), stable_headers(&get), "HEAD {path}");
        assert!(
            head.bytes().await.unwrap().is_empty(),
            "HEAD {path} sent a body"
        );
    }
    // What `curl -I /login` showed: the page's policy, not the API's.
    let head = app.send(Method::HEAD, "/login", None, None).await;
    assert!(header(&head, "content-security-policy").starts_with("default-src 'self'"));
    assert!(!header(&head, "permissions-policy").is_empty());
}

/// The schema of query parameter `name` of `GET path`.
fn param_schema(doc: &Value, path: &str, name: &str) -> Value {
    doc["paths"][path]["get"]["parameters"]
        .as_array()
        .unwrap_or_else(|| panic!("GET {path} has no parameters"))
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("GET {path} has no parameter {name}"))["schema"]
        .clone()
}

/// (path, parameter, (schema keyword, its value), a value the server
/// refuses, one it takes).
type Constraint<'a> = (&'a str, &'a str, (&'a str, Value), &'a str, &'a str);

#[tokio::test]
async fn the_document_states_the_constraints_the_server_enforces() {
    let app = spawn_app().await;
    let (admin, _) = signed_in_admin(&app, "admin").await;
    let doc = openapi(&app).await;
    let long = "a".repeat(101);
    let cases: [Constraint; 8] = [
        (
            "/api/v1/admin/audit",
            "outcome",
            ("pattern", json!("^(success|failure|denied)?$")),
            "allow",
            "denied",
        ),
        (
            "/api/v1/admin/audit.csv",
            "outcome",
            ("pattern", json!("^(success|failure|denied)?$")),
            "maybe",
            "success",
        ),
        (
            "/api/v1/admin/decisions",
            "outcome",
            ("pattern", json!("^(allow|deny)?$")),
            "denied",
            "deny",
        ),
        (
            "/api/v1/admin/audit",
            "from",
            ("format", json!("date-time")),
            "yesterday",
            "2026-01-02T03:04:05Z",
        ),
        (
            "/api/v1/admin/decisions",
            "to",
            ("format", json!("date-time")),
            "2026-13-01",
            "2026-01-02T03:04:05%2B01:00",
        ),
        (
            "/api/v1/admin/logs",
            "limit",
            ("maximum", json!(500)),
            "501",
            "500",
        ),
        (
            "/api/v1/admin/logs",
            "level",
            ("pattern", json!("^(error|warn|info|debug|trace)?$")),
            "LOUD",
            "warn",
        ),
        (
            "/api/v1/admin/users",
            "q",
            ("maxLength", json!(100)),
            &long,
            "adm",
        ),
    ];
    for (path, name, (keyword, expected), refused, taken) in cases {
        let schema = param_schema(&doc, path, name);
        // A time is RFC 3339 or empty (no filter): the first of `anyOf`.
        let stated = match schema["anyOf"][0].is_object() {
            true => &schema["anyOf"][0],
            false => &schema,
        };
        assert_eq!(stated[keyword], expected, "GET {path} {name}: {schema}");
        let r = app
            .get(&format!("{path}?{name}={refused}"), Some(&admin))
            .await;
        assert_eq!(r.status(), 400, "GET {path}?{name}={refused}");
        assert_json_refusal(r, path).await;
        let r = app
            .get(&format!("{path}?{name}={taken}"), Some(&admin))
            .await;
        assert_eq!(r.status(), 200, "GET {path}?{name}={taken}");
    }
    // Sign-in fields must not be empty (the server answers 422 for "").
    let login = &doc["components"]["schemas"]["LoginRequest"]["properties"];
    assert_eq!(login["login"]["minLength"], 1, "{login}");
    assert_eq!(login["password"]["minLength"], 1, "{login}");
}
