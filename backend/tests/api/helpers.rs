use backend::config::Settings;
use backend::startup::{AppState, Application};
use diesel::connection::SimpleConnection;
use diesel::Connection;
use reqwest::header::{HeaderMap, SET_COOKIE};
use reqwest::{redirect::Policy, Client, Response};
use serde_json::{json, Value};
use std::collections::HashMap;
use tempfile::TempDir;

pub const PASSWORD: &str = "Tr0ub4dor&Zebra!";

pub struct TestApp {
    pub address: String,
    pub client: Client,
    pub state: actix_web::web::Data<AppState>,
    /// Kept so the data folder lives as long as the server.
    _data_dir: TempDir,
}

/// A database for one test: a new SQLite file, or a new PostgreSQL schema
/// when `TEST_DATABASE_URL` is set.
pub fn fresh_database(dir: &TempDir) -> String {
    match std::env::var("TEST_DATABASE_URL") {
        Ok(base) if !base.is_empty() => {
            let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
            let mut conn =
                diesel::PgConnection::establish(&base).expect("TEST_DATABASE_URL is reachable");
            conn.batch_execute(&format!("CREATE SCHEMA {schema}"))
                .expect("create schema");
            let sep = if base.contains('?') { '&' } else { '?' };
            format!("{base}{sep}options=-csearch_path%3D{schema}")
        }
        _ => format!("sqlite://{}", dir.path().join("app.db").display()),
    }
}

pub fn settings_for(dir: &TempDir, database_url: &str, extra: &[(&str, &str)]) -> Settings {
    let mut vars: HashMap<String, String> = HashMap::from([
        ("APP_ADDR".into(), "127.0.0.1:0".into()),
        ("APP_DATA_DIR".into(), dir.path().display().to_string()),
        ("DATABASE_URL".into(), database_url.to_owned()),
        ("DB_POOL_SIZE".into(), "4".into()),
        // Generous limits: each test sends many requests from 127.0.0.1.
        // rate_limits.rs sets the real ones.
        ("RATE_LIMIT_AUTH".into(), "100000/minute".into()),
        ("RATE_LIMIT_API".into(), "100000/minute".into()),
        ("RATE_LIMIT_USER".into(), "100000/minute".into()),
    ]);
    for (k, v) in extra {
        vars.insert((*k).into(), (*v).into());
    }
    Settings::from_lookup(|k| vars.get(k).cloned()).expect("valid test settings")
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

pub async fn spawn_app_with(extra: &[(&str, &str)]) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let database_url = fresh_database(&dir);
    spawn_on(dir, database_url, extra).await
}

/// Starts a server on an existing data dir and database.
pub async fn spawn_on(dir: TempDir, database_url: String, extra: &[(&str, &str)]) -> TestApp {
    if std::env::var("TEST_LOG").is_ok() {
        backend::telemetry::init(backend::config::LogFormat::Pretty);
    }
    let app = Application::build(settings_for(&dir, &database_url, extra))
        .await
        .expect("the application builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    let state = app.state();
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address,
        client: test_client(),
        state,
        _data_dir: dir,
    }
}

/// The HTTP client of the tests: no redirects followed, a fresh connection
/// per request (no test depends on another's connection state), and a
/// timeout, so a request that never gets an answer fails its test instead of
/// hanging the whole run — which once stalled CI for its full time limit (the
/// cause: `startup::page_routes`).
pub fn test_client() -> Client {
    Client::builder()
        .redirect(Policy::none())
        .pool_max_idle_per_host(0)
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .expect("client")
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// A same-origin JSON POST, as the app's own pages send it.
    pub async fn post_json(&self, path: &str, body: &Value, cookie: Option<&str>) -> Response {
        let mut req = self
            .client
            .post(self.url(path))
            .header("Origin", &self.address)
            .json(body);
        if let Some(c) = cookie {
            req = req.header("Cookie", c);
        }
        req.send().await.expect("request sent")
    }

    /// A same-origin request with any method and an optional JSON body.
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
        cookie: Option<&str>,
    ) -> Response {
        let mut req = self
            .client
            .request(method, self.url(path))
            .header("Origin", &self.address);
        if let Some(b) = body {
            req = req.json(b);
        }
        if let Some(c) = cookie {
            req = req.header("Cookie", c);
        }
        req.send().await.expect("request sent")
    }

    /// Registers the calling device; returns the cookie extended with the
    /// device cookie, and the device id.
    pub async fn with_device(&self, cookie: &str, label: &str) -> (String, String) {
        let r = self
            .post_json(
                "/api/v1/me/devices",
                &json!({ "label": label }),
                Some(cookie),
            )
            .await;
        assert_eq!(r.status(), 201, "device registered");
        let device: Value = r.json().await.expect("device json");
        let id = device["id"].as_str().expect("device id").to_owned();
        (format!("{cookie}; __Host-device={id}"), id)
    }

    pub async fn get(&self, path: &str, cookie: Option<&str>) -> Response {
        let mut req = self.client.get(self.url(path));
        if let Some(c) = cookie {
            req = req.header("Cookie", c);
        }
        req.send().await.expect("request sent")
    }

    pub async fn register(&self, username: &str, email: &str) -> Response {
        self.post_json(
            "/api/v1/auth/register",
            &json!({ "email": email, "username": username, "password": PASSWORD }),
            None,
        )
        .await
    }

    /// Registers `username` and logs in; returns the `Cookie` header value.
    pub async fn signed_in(&self, username: &str) -> String {
        let r = self
            .register(username, &format!("{username}@example.org"))
            .await;
        assert_eq!(r.status(), 201, "registration of {username} failed");
        self.login(username, PASSWORD).await
    }

    pub async fn login(&self, login: &str, password: &str) -> String {
        let r = self
            .post_json(
                "/api/v1/auth/login",
                &json!({ "login": login, "password": password }),
                None,
            )
            .await;
        assert_eq!(r.status(), 200, "login as {login} failed");
        session_cookie(r.headers()).expect("a session cookie")
    }

    pub async fn audit_actions(&self) -> Vec<(String, String, Option<String>, String)> {
        let pool = self.state.pool.clone();
        let rows = backend::db::run(&pool, |c| {
            Ok(backend::db::models::audit_entry::AuditEntry::recent(
                c, 1000,
            )?)
        })
        .await
        .expect("audit rows");
        rows.into_iter()
            .rev()
            .map(|r| (r.action, r.outcome, r.request_id, r.detail))
            .collect()
    }
}

/// The `Cookie` header a browser would send after this response: both auth
/// cookies as `name=value; name=value`, if the response set them.
pub fn session_cookie(headers: &HeaderMap) -> Option<String> {
    let pairs: Vec<String> = ["__Host-access=", "__Host-refresh="]
        .iter()
        .filter_map(|prefix| {
            let raw = set_cookie_for(headers, prefix)?;
            let pair = raw.split(';').next()?.trim().to_owned();
            (pair.len() > prefix.len()).then_some(pair)
        })
        .collect();
    (pairs.len() == 2).then(|| pairs.join("; "))
}

/// The raw `Set-Cookie` header whose value starts with `prefix`.
pub fn set_cookie_for(headers: &HeaderMap, prefix: &str) -> Option<String> {
    headers
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(prefix))
        .map(str::to_owned)
}

/// The raw `Set-Cookie` header for the access cookie.
pub fn set_cookie_header(headers: &HeaderMap) -> Option<String> {
    set_cookie_for(headers, "__Host-access=")
}

/// Only the access cookie of a `Cookie` header (a client that lost its refresh cookie).
pub fn access_only(cookie: &str) -> String {
    cookie
        .split("; ")
        .find(|c| c.starts_with("__Host-access="))
        .unwrap_or_default()
        .to_owned()
}

pub fn header<'a>(r: &'a Response, name: &str) -> &'a str {
    r.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// An administrator (admin + user roles) who enrolled in MFA on the returned
/// session, so the session is elevated (admin writes are active) for
/// `ADMIN_ELEVATION_SECS`. Returns the cookie and the TOTP secret.
pub async fn signed_in_admin(
    app: &TestApp,
    username: &str,
) -> (String, backend::security::totp::TotpSecret) {
    use backend::db::models::user::Role;
    backend::services::accounts::register(
        &app.state,
        None,
        frontend::api::RegisterRequest {
            email: format!("{username}@example.org"),
            username: username.into(),
            password: PASSWORD.into(),
        },
        &[Role::Admin, Role::User],
    )
    .await
    .expect("admin registered");
    let cookie = app.login(username, PASSWORD).await;
    let setup: Value = app
        .post_json("/api/v1/me/mfa/totp/setup", &json!({}), Some(&cookie))
        .await
        .json()
        .await
        .expect("setup");
    let secret = totp_secret(setup["secret"].as_str().expect("a secret"));
    let r = app
        .post_json(
            "/api/v1/me/mfa/totp/confirm",
            &json!({ "code": totp_code(app, &secret) }),
            Some(&cookie),
        )
        .await;
    assert_eq!(r.status(), 200, "MFA confirmed");
    (cookie, secret)
}

pub fn totp_secret(base32: &str) -> backend::security::totp::TotpSecret {
    backend::security::totp::TotpSecret::from_bytes(
        totp_rs::Secret::Encoded(base32.to_owned())
            .to_bytes()
            .expect("base32"),
    )
}

/// The current code on the server's (possibly shifted) clock.
pub fn totp_code(app: &TestApp, secret: &backend::security::totp::TotpSecret) -> String {
    backend::security::totp::code_at(secret, app.state.clock.now_unix(), 6).expect("a code")
}

/// Moves the server clock forward one TOTP step, so a fresh code is due.
pub fn next_totp_step(app: &TestApp) {
    let offset = app.state.clock.now_unix() as i64 - chrono::Utc::now().timestamp();
    app.state.clock.set_offset(offset + 30);
}
