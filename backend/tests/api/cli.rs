//! `backend create-admin`: the only way to get an administrator (no default accounts).

use crate::helpers::{fresh_database, spawn_on};
use std::io::Write;
use std::process::{Command, Stdio};

fn create_admin(
    dir: &tempfile::TempDir,
    url: &str,
    username: &str,
    password: &str,
) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_backend"))
        .args([
            "create-admin",
            "--username",
            username,
            "--email",
            "root@example.org",
        ])
        .env_clear()
        .env("APP_DATA_DIR", dir.path())
        .env("DATABASE_URL", url)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
    child.wait_with_output().unwrap()
}

#[tokio::test]
async fn create_admin_reads_the_password_from_stdin_and_grants_admin() {
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database(&dir);
    let out = create_admin(&dir, &url, "root_admin", "Adm1n-Pass-Phrase!");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("created administrator root_admin"));
    assert!(!stdout.contains("Adm1n-Pass-Phrase!"));

    let app = spawn_on(dir, url, &[]).await;
    let cookie = app.login("root_admin", "Adm1n-Pass-Phrase!").await;
    let me: serde_json::Value = app
        .get("/api/v1/me", Some(&cookie))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["roles"], serde_json::json!(["admin", "user"]));
}

#[tokio::test]
async fn create_admin_refuses_a_weak_password() {
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database(&dir);
    let out = create_admin(&dir, &url, "weak_admin", "password");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("at least 12 characters"), "{stderr}");
}

#[test]
fn production_mode_refuses_to_start_without_its_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let run = |vars: &[(&str, &str)]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_backend"));
        cmd.arg("migrate")
            .env_clear()
            .env("APP_DATA_DIR", dir.path());
        for (k, v) in vars {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    };
    let out = run(&[("APP_ENV", "production")]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("DATABASE_URL: is required in production mode"));

    let out = run(&[("APP_ENV", "production"), ("APP_ADDR", "nowhere")]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("APP_ADDR") && stderr.contains("DATABASE_URL"),
        "{stderr}"
    );
}

#[tokio::test]
async fn production_mode_refuses_to_serve_without_a_session_key() {
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database(&dir);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_backend"));
    cmd.arg("serve")
        .env_clear()
        .env("APP_ENV", "production")
        .env("APP_ADDR", "127.0.0.1:0")
        .env("APP_DATA_DIR", dir.path())
        .env("DATABASE_URL", &url);
    let out = cmd.output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("SESSION_KEY is required in production mode"),
        "{stderr}"
    );
    // No key was generated.
    assert!(!dir.path().join("keys").exists());
}

#[test]
fn rotate_signing_key_adds_a_key_and_production_needs_one() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("signing");
    let rotate = || {
        Command::new(env!("CARGO_BIN_EXE_backend"))
            .arg("rotate-signing-key")
            .env_clear()
            .env("APP_DATA_DIR", dir.path())
            .env("SIGNING_KEYS_DIR", &keys)
            .output()
            .unwrap()
    };
    let out = rotate();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("new signing key"));
    let out = rotate();
    assert!(out.status.success());
    // The second key waits out the JWKS cache before it signs, and says when.
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(
        printed.contains("starts signing at")
            && printed.contains("SIGNING_KEY_PUBLICATION_SECS=330"),
        "{printed}"
    );
    let pems = std::fs::read_dir(&keys).unwrap().count();
    assert_eq!(pems, 2, "the older key stays while its tokens may live");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for entry in std::fs::read_dir(&keys).unwrap() {
            let mode = entry.unwrap().metadata().unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    // Production with a session key but an empty key folder refuses to serve.
    let empty = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", empty.path().join("app.db").display());
    let out = Command::new(env!("CARGO_BIN_EXE_backend"))
        .arg("serve")
        .env_clear()
        .env("APP_ENV", "production")
        .env("APP_ADDR", "127.0.0.1:0")
        .env("APP_DATA_DIR", empty.path())
        .env("DATABASE_URL", &url)
        .env("SESSION_KEY", "ab".repeat(32))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("SIGNING_KEYS_DIR"), "{stderr}");
}

/// Dev mode says at start-up, on stderr, what it means: generated keys
/// beside the data, not for production.
#[test]
fn serve_in_dev_mode_says_so_loudly() {
    use std::io::Read;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("app.db").display());
    let mut child = Command::new(env!("CARGO_BIN_EXE_backend"))
        .arg("serve")
        .env_clear()
        .env("APP_ADDR", "127.0.0.1:0")
        .env("APP_DATA_DIR", dir.path())
        .env("DATABASE_URL", &url)
        .env("RUST_LOG", "off")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The banner comes before anything else is done; read until its end.
    let mut stderr = child.stderr.take().unwrap();
    let mut text = String::new();
    let mut buf = [0u8; 4096];
    while text.matches("=====").count() < 2 {
        let n = stderr.read(&mut buf).unwrap();
        assert!(n > 0, "the server stopped before its banner: {text}");
        text.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        text.contains("DEV MODE") && text.contains("NOT FOR PRODUCTION"),
        "{text}"
    );
    let keys = dir.path().join("keys");
    assert!(
        text.contains(&keys.join("session.key").display().to_string())
            && text.contains(&keys.join("signing").display().to_string()),
        "{text}"
    );
}
