//! Starting and stopping the real binary, its CLI, and the HTTP calls the
//! fault tests make.

use reqwest::{Client, Response};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const PASSWORD: &str = "Tr0ub4dor&Zebra!";

/// A running `backend serve`, its output in a file outside the data folder
/// (which may be the full disk under test).
pub struct Server {
    child: Option<Child>,
    pub base: String,
    log: PathBuf,
}

/// The environment every server and command of these tests gets (on top of a
/// cleared one): dev mode, quiet JSON logs, limits no test reaches.
fn base_env(data_dir: &Path, database_url: &str) -> Vec<(String, String)> {
    [
        ("APP_DATA_DIR", data_dir.display().to_string()),
        ("DATABASE_URL", database_url.to_owned()),
        ("LOG_FORMAT", "json".into()),
        ("RUST_LOG", "warn".into()),
        ("RATE_LIMIT_AUTH", "100000/minute".into()),
        ("RATE_LIMIT_API", "100000/minute".into()),
        ("RATE_LIMIT_USER", "100000/minute".into()),
        ("RATE_LIMIT_IP", "100000/minute".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

impl Server {
    /// Starts the server on a free loopback port; returns once `/healthz`
    /// answers (the database may still be out of reach).
    pub async fn start(
        data_dir: &Path,
        log_dir: &Path,
        database_url: &str,
        env: &[(&str, &str)],
    ) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let addr = format!("127.0.0.1:{port}");
        let log = log_dir.join(format!("server-{port}.log"));
        let out = std::fs::File::create(&log).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_backend"))
            .arg("serve")
            .env_clear()
            .envs(base_env(data_dir, database_url))
            .env("APP_ADDR", &addr)
            .envs(env.iter().copied())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap();
        let mut server = Self {
            child: Some(child),
            base: format!("http://{addr}"),
            log,
        };
        server
            .wait_for("/healthz", 200, Duration::from_secs(90))
            .await;
        server
    }

    /// Polls `path` until it answers `status`; panics with the server's log
    /// after `limit` (generous: the machine is shared).
    pub async fn wait_for(&mut self, path: &str, status: u16, limit: Duration) {
        let deadline = Instant::now() + limit;
        let client = client();
        loop {
            if let Ok(r) = client.get(self.url(path)).send().await {
                if r.status().as_u16() == status {
                    return;
                }
            }
            if let Some(exit) = self.child.as_mut().and_then(|c| c.try_wait().unwrap()) {
                panic!("the server exited ({exit}):\n{}", self.log_text());
            }
            assert!(
                Instant::now() < deadline,
                "{path} never answered {status}:\n{}",
                self.log_text()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Still the same process (not exited, not restarted).
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| c.try_wait().unwrap().is_none())
    }

    /// SIGKILL: no shutdown hook, no flush, no graceful anything.
    pub fn kill9(mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    /// SIGTERM, as an orchestrator stops it; waits for the exit.
    pub fn stop(mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            child.wait().unwrap();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Runs a `backend` command to its end: success, stdout + stderr.
pub fn cli(
    data_dir: &Path,
    database_url: &str,
    args: &[&str],
    env: &[(&str, &str)],
) -> (bool, String) {
    let out = cli_command(data_dir, database_url, args, env)
        .output()
        .unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

pub fn cli_command(
    data_dir: &Path,
    database_url: &str,
    args: &[&str],
    env: &[(&str, &str)],
) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_backend"));
    cmd.args(args)
        .env_clear()
        .envs(base_env(data_dir, database_url))
        .envs(env.iter().copied())
        .stdin(Stdio::null());
    cmd
}

pub fn sqlite_url(dir: &Path) -> String {
    format!("sqlite://{}", dir.join("app.db").display())
}

/// No redirects, a fresh connection per request, and a timeout: a request
/// that hangs fails its test.
pub fn client() -> Client {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// Registers `username` and signs in: the `Cookie` header value.
pub async fn signed_in(server: &Server, username: &str) -> String {
    let client = client();
    let r = client
        .post(server.url("/api/v1/auth/register"))
        .header("Origin", &server.base)
        .json(&json!({
            "email": format!("{username}@example.org"),
            "username": username,
            "password": PASSWORD,
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "registering {username}");
    let r = client
        .post(server.url("/api/v1/auth/login"))
        .header("Origin", &server.base)
        .json(&json!({ "login": username, "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "signing in {username}");
    let pairs: Vec<String> = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter(|v| v.starts_with("__Host-access=") || v.starts_with("__Host-refresh="))
        .filter_map(|v| v.split(';').next().map(str::to_owned))
        .collect();
    assert_eq!(pairs.len(), 2, "both session cookies");
    pairs.join("; ")
}

/// `PUT /api/v1/me/ssn` (an encrypted, audited change).
pub async fn put_ssn(
    client: &Client,
    server: &Server,
    cookie: &str,
    ssn: &str,
) -> reqwest::Result<Response> {
    client
        .put(server.url("/api/v1/me/ssn"))
        .header("Origin", &server.base)
        .header("Cookie", cookie)
        .json(&json!({ "ssn": ssn }))
        .send()
        .await
}

/// The masked SSN the API shows (`***-**-1234`).
pub async fn masked_ssn(server: &Server, cookie: &str) -> Option<String> {
    let r = client()
        .get(server.url("/api/v1/me/ssn"))
        .header("Cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    body["masked"].as_str().map(str::to_owned)
}

/// A 503 as the API must answer a database outage: `Retry-After` and the
/// JSON error body with a request id.
pub async fn assert_unavailable(r: Response, what: &str) {
    assert_eq!(r.status(), 503, "{what}");
    let retry = r
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(
        retry,
        backend::error::RETRY_AFTER_SECS.to_string(),
        "{what}: Retry-After"
    );
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "service unavailable", "{what}: {body}");
    assert!(
        body["request_id"].as_str().is_some_and(|id| !id.is_empty()),
        "{what}: {body}"
    );
}

/// This process runs as root: `mount` and `runuser` need it. Fails (never
/// skips) when it does not.
pub fn require_root(why: &str) {
    let out = Command::new("id").arg("-u").output().expect("`id` runs");
    let uid = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert_eq!(
        uid, "0",
        "this fault test needs root ({why}); run the fault tests as root, as scripts/test and CI do"
    );
}

/// Runs `program` with `args`, panicking with its output when it fails.
pub fn run(program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{program} {args:?} failed: {text}");
    text
}
