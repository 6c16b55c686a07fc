use backend::config::Settings;
use backend::startup::Application;
use backend::state::AppState;
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
    /// `http://127.0.0.1:<port>` of the management listener (`ADMIN_ADDR`).
    pub management_address: Option<String>,
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
            // Before this process's first libpq connection (see prepare_libpq).
            backend::db::connection::prepare_libpq();
            let mut conn =
                diesel::PgConnection::establish(&base).expect("TEST_DATABASE_URL is reachable");
            conn.batch_execute(&format!("CREATE SCHEMA {schema}"))
                .expect("create schema");
            let sep = if base.contains('?') { '&' } else { '?' };
            // The schema also names the connections (`application_name`),
            // so a test can tell its own server's from other tests' in
            // `pg_stat_activity` (attacks::v8_authorization::inside_at_once).
            format!("{base}{sep}options=-csearch_path%3D{schema}&application_name={schema}")
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
        ("RATE_LIMIT_IP".into(), "100000/minute".into()),
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
        // Kept for the life of the test process (the writer thread stops
        // when its guard is dropped).
        std::mem::forget(backend::telemetry::init(
            backend::telemetry::LogFormat::Pretty,
        ));
    } else {
        // Quiet, but the admin log view (an in-memory tail) has lines to show.
        backend::telemetry::init_tail_only();
    }
    let app = Application::build(settings_for(&dir, &database_url, extra))
        .await
        .expect("the application builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    let management_address = app
        .management_port()
        .map(|port| format!("http://127.0.0.1:{port}"));
    let state = app.state();
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address,
        management_address,
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

    /// For tests that edit rows directly to stand for time passing (an idle
    /// session, a lapsed grant): the services tell the identity cache about
    /// every change they make, and real time also ends cached entries, but
    /// a direct edit does neither, so the test forgets them itself.
    pub fn forget_cached_identities(&self) {
        self.state
            .identity_cache
            .forget(&backend::state::identity_cache::Invalidation::All);
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
    /// device cookie, and the device id. Registering needs a fresh second
    /// factor: a session without one (its user not enrolled) enrols TOTP
    /// first, which counts as the step-up; an enrolled user's session must
    /// have stepped up already (as `signed_in_admin`'s has).
    pub async fn with_device(&self, cookie: &str, label: &str) -> (String, String) {
        let body = json!({ "label": label });
        let register = || self.post_json("/api/v1/me/devices", &body, Some(cookie));
        let mut r = register().await;
        if r.status() == 401 {
            enrol_totp(self, cookie).await;
            r = register().await;
        }
        assert_eq!(r.status(), 201, "device registered");
        let device: Value = r.json().await.expect("device json");
        let id = device["id"].as_str().expect("device id").to_owned();
        (format!("{cookie}; __Host-device={id}"), id)
    }

    /// The id of the user `cookie` is signed in as.
    pub async fn user_id(&self, cookie: &str) -> String {
        let me: Value = self
            .get("/api/v1/me", Some(cookie))
            .await
            .json()
            .await
            .expect("me json");
        me["id"].as_str().expect("an id").to_owned()
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
    register_with_roles(app, username, &[Role::Admin, Role::User]).await;
    let cookie = app.login(username, PASSWORD).await;
    let secret = enrol_totp(app, &cookie).await;
    (cookie, secret)
}

/// A TOTP enrolment: the shared secret and the one-time recovery codes.
pub struct Enrolment {
    pub secret: backend::security::totp::TotpSecret,
    pub recovery_codes: Vec<String>,
}

/// Enrols `cookie`'s user in TOTP at the server's current step (which also
/// counts as the session's step-up). The confirmation used the current code:
/// the next sign-in needs [`next_totp_step`] first.
pub async fn enrolment(app: &TestApp, cookie: &str) -> Enrolment {
    let r = app
        .post_json("/api/v1/me/mfa/totp/setup", &json!({}), Some(cookie))
        .await;
    assert_eq!(r.status(), 200, "TOTP setup (already enrolled?)");
    let setup: Value = r.json().await.expect("setup json");
    let secret = totp_secret(setup["secret"].as_str().expect("a secret"));
    let r = app
        .post_json(
            "/api/v1/me/mfa/totp/confirm",
            &json!({ "code": totp_code(app, &secret) }),
            Some(cookie),
        )
        .await;
    assert_eq!(r.status(), 200, "TOTP confirmed");
    let body: Value = r.json().await.expect("confirm json");
    let recovery_codes = body["recovery_codes"]
        .as_array()
        .expect("recovery codes")
        .iter()
        .map(|c| c.as_str().expect("a code").to_owned())
        .collect();
    Enrolment {
        secret,
        recovery_codes,
    }
}

/// [`enrolment`], when only the secret matters.
pub async fn enrol_totp(app: &TestApp, cookie: &str) -> backend::security::totp::TotpSecret {
    enrolment(app, cookie).await.secret
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

/// Registers an OAuth client (as `backend create-oauth-client` does); returns
/// its id and, for a confidential client, its secret.
pub async fn oauth_client(
    app: &TestApp,
    public: bool,
    redirect_uris: &[&str],
    scopes: &[&str],
) -> (String, Option<String>) {
    let created = backend::services::oauth_clients::create_client(
        &app.state.pool,
        &app.state.keys.session,
        None,
        None,
        backend::services::oauth_clients::NewClient {
            name: "oauth-cli example".into(),
            redirect_uris: redirect_uris.iter().map(|s| (*s).to_owned()).collect(),
            public,
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
            audience: None,
        },
    )
    .await
    .expect("OAuth client created");
    (created.id, created.secret)
}

impl TestApp {
    /// A same-origin form POST (`application/x-www-form-urlencoded`), as a
    /// browser submits a server-rendered form.
    pub async fn post_form(&self, path: &str, body: &str, cookie: Option<&str>) -> Response {
        let mut req = self
            .client
            .post(self.url(path))
            .header("Origin", &self.address)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body.to_owned());
        if let Some(c) = cookie {
            req = req.header("Cookie", c);
        }
        req.send().await.expect("request sent")
    }
}

impl TestApp {
    /// What a browser gets from `GET /login` for the no-JavaScript form:
    /// the pre-session cookie (`name=value`) and the form's hidden `csrf`
    /// value bound to it.
    pub async fn login_form(&self) -> (String, String) {
        let r = self.get("/login", None).await;
        assert_eq!(r.status(), 200);
        let cookie = set_cookie_for(r.headers(), "__Host-login-csrf=")
            .expect("the login page sets its pre-session cookie")
            .split(';')
            .next()
            .expect("a cookie pair")
            .to_owned();
        let html = r.text().await.expect("the page");
        let field = html
            .split("name=\"csrf\"")
            .nth(1)
            .expect("the form carries a csrf field");
        let value = field
            .split("value=\"")
            .nth(1)
            .and_then(|v| v.split('"').next())
            .expect("its value")
            .to_owned();
        (cookie, value)
    }

    /// A same-origin no-JavaScript login form post, with the pre-session
    /// token a browser would carry; `fields` are the form's other fields.
    pub async fn post_login_form(&self, fields: &[(&str, &str)]) -> Response {
        let (cookie, token) = self.login_form().await;
        let mut form: Vec<(&str, &str)> = fields.to_vec();
        form.push(("csrf", &token));
        self.client
            .post(self.url("/auth/login"))
            .header("Origin", &self.address)
            .header("Cookie", cookie)
            .form(&form)
            .send()
            .await
            .expect("request sent")
    }
}

/// The OAuth authorization-code flow as a browser and a client run it
/// (shared by `oauth.rs` and `oauth_clients.rs`).
pub mod oauth_flow {
    use super::TestApp;
    use backend::security::percent::encode as percent_encode;

    pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    pub const REDIRECT: &str = "https://client.example/cb";
    pub const STATE: &str = "st&te =/?é";

    pub fn query(pairs: &[(&str, &str)]) -> String {
        pairs
            .iter()
            .map(|(k, v)| format!("{k}={}", percent_encode(v)))
            .collect::<Vec<_>>()
            .join("&")
    }

    pub fn authorize_pairs<'a>(client_id: &'a str, redirect: &'a str) -> Vec<(&'a str, &'a str)> {
        vec![
            ("response_type", "code"),
            ("client_id", client_id),
            ("redirect_uri", redirect),
            ("scope", "account"),
            ("state", STATE),
            (
                "code_challenge",
                "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            ),
            ("code_challenge_method", "S256"),
        ]
    }

    pub fn location(r: &reqwest::Response) -> String {
        r.headers()
            .get("location")
            .expect("a Location header")
            .to_str()
            .expect("ascii")
            .to_owned()
    }

    /// The value of `name` in the query of `url` (percent-decoded).
    pub fn param(url: &str, name: &str) -> Option<String> {
        let q = url.split_once('?')?.1;
        q.split('&').find_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            (k == name).then(|| decode(v))
        })
    }

    pub fn decode(s: &str) -> String {
        let b = s.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'%' && i + 2 < b.len() {
                let h = u8::from_str_radix(&s[i + 1..i + 3], 16).expect("hex");
                out.push(h);
                i += 3;
            } else {
                out.push(b[i]);
                i += 1;
            }
        }
        String::from_utf8(out).expect("utf8")
    }

    pub async fn post_form(
        app: &TestApp,
        path: &str,
        body: &str,
        cookie: Option<&str>,
        basic: Option<(&str, &str)>,
    ) -> reqwest::Response {
        let mut req = app
            .client
            .post(app.url(path))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body.to_owned());
        if let Some(c) = cookie {
            req = req.header("Cookie", c).header("Origin", &app.address);
        }
        if let Some((id, secret)) = basic {
            req = req.basic_auth(id, Some(secret));
        }
        req.send().await.expect("request sent")
    }

    /// The consent id a rendered consent page carries in its hidden field:
    /// what a browser posts back with the decision.
    pub fn consent_id(html: &str) -> String {
        let at = html
            .find("name=\"consent_id\"")
            .unwrap_or_else(|| panic!("a consent id on the page: {html}"));
        let start = html[..at].rfind('<').expect("the input tag");
        let tag = &html[start..start + html[start..].find('>').expect("its end")];
        let value = tag.find("value=\"").expect("a value") + 7;
        tag[value..value + tag[value..].find('"').expect("quoted")].to_owned()
    }

    /// Loads the consent page for `pairs` with the session `cookie`, as a
    /// browser does; returns the page's consent id.
    pub async fn consent_page_id(app: &TestApp, cookie: &str, pairs: &[(&str, &str)]) -> String {
        let r = app
            .get(&format!("/oauth/authorize?{}", query(pairs)), Some(cookie))
            .await;
        assert_eq!(r.status(), 200, "consent page");
        consent_id(&r.text().await.expect("the page"))
    }

    /// Posts the consent form: the page's id and `decision`.
    pub async fn decide(
        app: &TestApp,
        cookie: &str,
        consent_id: &str,
        decision: &str,
    ) -> reqwest::Response {
        let form = query(&[("consent_id", consent_id), ("decision", decision)]);
        post_form(app, "/oauth/authorize/decision", &form, Some(cookie), None).await
    }

    /// Signs in, consents, returns the redirect URL carrying the code.
    pub async fn code_for(app: &TestApp, cookie: &str, pairs: &[(&str, &str)]) -> String {
        let id = consent_page_id(app, cookie, pairs).await;
        let r = decide(app, cookie, &id, "allow").await;
        assert_eq!(r.status(), 303);
        location(&r)
    }

    pub async fn exchange(
        app: &TestApp,
        client_id: &str,
        code: &str,
        redirect: &str,
        verifier: &str,
    ) -> reqwest::Response {
        let body = query(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect),
            ("client_id", client_id),
            ("code_verifier", verifier),
        ]);
        post_form(app, "/oauth/token", &body, None, None).await
    }

    pub async fn me_status(app: &TestApp, token: &str) -> u16 {
        app.client
            .get(app.url("/api/v1/me"))
            .bearer_auth(token)
            .send()
            .await
            .expect("sent")
            .status()
            .as_u16()
    }
}

/// The real `backend` binary (not an in-process server), for what only a
/// process shows: its log output, its signals. Started with a cleared
/// environment on a free port, on the database at `database_url`, with
/// `env` added; stdout and stderr captured when `capture`. Returns the
/// process and its `host:port`.
pub fn start_binary(
    dir: &TempDir,
    database_url: &str,
    env: &[(&str, &str)],
    capture: bool,
) -> (std::process::Child, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let output = || {
        if capture {
            std::process::Stdio::piped()
        } else {
            std::process::Stdio::null()
        }
    };
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_backend"))
        .env_clear()
        .env("APP_ADDR", &addr)
        .env("APP_DATA_DIR", dir.path())
        .env("DATABASE_URL", database_url)
        .envs(env.iter().copied())
        .stdout(output())
        .stderr(output())
        .spawn()
        .unwrap();
    (child, addr)
}

/// Stops a server started by [`start_binary`] as an orchestrator would
/// (SIGTERM, so it finishes writing its log) and returns what it printed.
pub fn stop_binary(child: std::process::Child) -> String {
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success(), "SIGTERM sent");
    // A graceful stop takes at most the shutdown timeout (10 s).
    let out = child.wait_with_output().expect("the server exits");
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Waits (up to 10 s) until `base` answers `/readyz`.
pub async fn wait_until_ready(base: &str) {
    let client = test_client();
    for _ in 0..100 {
        if client.get(format!("{base}/readyz")).send().await.is_ok() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the server at {base} did not start");
}

/// Creates `username` (`<username>@example.org`, the test password) with
/// `roles`, as `create-admin` does: the address counts as proven.
pub async fn register_with_roles(
    app: &TestApp,
    username: &str,
    roles: &'static [backend::db::models::user::Role],
) {
    backend::services::accounts::register(
        &app.state,
        None,
        wire::RegisterRequest {
            email: format!("{username}@example.org"),
            username: username.into(),
            password: PASSWORD.into(),
        },
        roles,
        backend::services::accounts::EmailClaim::Proven,
    )
    .await
    .expect("registered");
}

/// Marks `username`'s e-mail address as proven, as following the proof
/// link will (issue 19).
pub async fn prove_email(app: &TestApp, username: &str) {
    use backend::db::schema::users;
    use diesel::prelude::*;
    let name = username.to_owned();
    backend::db::run(&app.state.pool, move |c| {
        let now = chrono::Utc::now().naive_utc();
        diesel::update(users::table.filter(users::username.eq(name)))
            .set(users::email_verified_at.eq(now))
            .execute(c)?;
        Ok(())
    })
    .await
    .expect("e-mail proven");
}
