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
