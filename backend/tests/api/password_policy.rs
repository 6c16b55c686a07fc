//! `PASSWORD_POLICY`: `catalogue` (the default) or `nist`. Both refuse the
//! 100,000 most common passwords (also decorated) and passwords containing
//! the username or the e-mail's local part, at registration, at a password
//! change and in `create-admin`.

use crate::helpers::{fresh_database, spawn_app, spawn_app_with, TestApp, PASSWORD};
use backend::config::Settings;
use serde_json::{json, Value};
use std::io::Write;
use std::process::{Command, Output, Stdio};

/// Fifteen characters, lower-case letters and a space: no composition at all.
const PASSPHRASE: &str = "violet harbours";
/// Rank 90,242 of the source list ("zangetsu"), decorated to pass the
/// catalogue's composition rules and NIST's length; not on the short list.
const LISTED: &str = "Zangetsu#2024!!!";

/// The status and the error codes of the `field` entries.
async fn codes(r: reqwest::Response, field: &str) -> (u16, Vec<String>) {
    let status = r.status().as_u16();
    let body: Value = r.json().await.unwrap_or(Value::Null);
    let codes = body["fields"]
        .as_array()
        .map(|fields| {
            fields
                .iter()
                .filter(|f| f["field"] == field)
                .map(|f| f["code"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default();
    (status, codes)
}

async fn register(
    app: &TestApp,
    username: &str,
    email: &str,
    password: &str,
) -> (u16, Vec<String>) {
    let r = app
        .post_json(
            "/api/v1/auth/register",
            &json!({ "email": email, "username": username, "password": password }),
            None,
        )
        .await;
    codes(r, "password").await
}

async fn change_password(app: &TestApp, cookie: &str, new: &str) -> (u16, Vec<String>) {
    let r = app
        .post_json(
            "/api/v1/me/password",
            &json!({ "current_password": PASSWORD, "new_password": new }),
            Some(cookie),
        )
        .await;
    codes(r, "new_password").await
}

#[tokio::test]
async fn nist_accepts_a_long_passphrase_without_composition_and_catalogue_refuses_it() {
    let nist = spawn_app_with(&[("PASSWORD_POLICY", "nist")]).await;
    assert_eq!(
        register(&nist, "ivy", "ivy@example.org", PASSPHRASE).await,
        (201, vec![])
    );
    nist.login("ivy", PASSPHRASE).await;
    assert_eq!(
        register(&nist, "ivo", "ivo@example.org", "violet harbour").await,
        (422, vec!["passphrase_too_short".to_owned()]),
        "fourteen characters are too few under nist"
    );
    // Twelve characters with every class: enough for the catalogue, not for nist.
    assert_eq!(
        register(&nist, "ivo", "ivo@example.org", "Zq9!Zq9!Zq9!").await,
        (422, vec!["passphrase_too_short".to_owned()])
    );

    let missing = ["missing_upper", "missing_digit", "missing_special"].map(String::from);
    for catalogue in [
        spawn_app().await,
        spawn_app_with(&[("PASSWORD_POLICY", "catalogue")]).await,
    ] {
        assert_eq!(
            register(&catalogue, "ivy", "ivy@example.org", PASSPHRASE).await,
            (422, missing.to_vec())
        );
        assert_eq!(
            register(&catalogue, "ivy", "ivy@example.org", "Zq9!Zq9!Zq9!").await,
            (201, vec![])
        );
    }
}

#[tokio::test]
async fn nist_applies_to_a_password_change_too() {
    let app = spawn_app_with(&[("PASSWORD_POLICY", "nist")]).await;
    let cookie = app.signed_in("jules").await;
    assert_eq!(
        change_password(&app, &cookie, "Zq9!Zq9!Zq9!").await,
        (422, vec!["passphrase_too_short".to_owned()])
    );
    assert_eq!(change_password(&app, &cookie, PASSPHRASE).await.0, 200);
    app.login("jules", PASSPHRASE).await;
}

#[tokio::test]
async fn listed_passwords_are_refused_under_both_policies() {
    for policy in ["catalogue", "nist"] {
        let app = spawn_app_with(&[("PASSWORD_POLICY", policy)]).await;
        for password in [
            LISTED,
            // Other ranks of the big list, decorated in other ways.
            "Y0urM0ther#1999!",
            "!!Celebrity-2024!!",
            // The short list, as before.
            "P@ssw0rd2024!!!!",
        ] {
            assert_eq!(
                register(&app, "kim", "kim@example.org", password).await,
                (422, vec!["common".to_owned()]),
                "{password} under {policy}"
            );
        }
        let cookie = app.signed_in("kim").await;
        assert_eq!(
            change_password(&app, &cookie, LISTED).await,
            (422, vec!["common".to_owned()]),
            "password change under {policy}"
        );
    }
}

#[tokio::test]
async fn context_passwords_are_refused_under_both_policies() {
    for policy in ["catalogue", "nist"] {
        let app = spawn_app_with(&[("PASSWORD_POLICY", policy)]).await;
        assert_eq!(
            register(
                &app,
                "kathleen",
                "k.lovelace@example.org",
                "Kathleen#Rides-2024"
            )
            .await,
            (422, vec!["contains_username".to_owned()]),
            "{policy}"
        );
        assert_eq!(
            register(
                &app,
                "kathleen",
                "lovelace@example.org",
                "Ada-Lovelace#1815"
            )
            .await,
            (422, vec!["contains_email".to_owned()]),
            "{policy}"
        );
        let cookie = app.signed_in("leonie").await;
        assert_eq!(
            change_password(&app, &cookie, "Leonie-Sails#2024!").await,
            (
                422,
                ["contains_username", "contains_email"]
                    .map(String::from)
                    .to_vec()
            ),
            "{policy}"
        );
    }
}

#[tokio::test]
async fn the_messages_name_the_rule_that_failed() {
    let app = spawn_app_with(&[("PASSWORD_POLICY", "nist")]).await;
    let r = app
        .post_json(
            "/api/v1/auth/register",
            &json!({ "email": "mo@example.org", "username": "mo_1", "password": "short" }),
            None,
        )
        .await;
    let body: Value = r.json().await.unwrap();
    let message = body["fields"][0]["message"].as_str().unwrap();
    assert!(message.contains("at least 15 characters"), "{message}");
    let r = app
        .post_json(
            "/api/v1/auth/register",
            &json!({ "email": "mo@example.org", "username": "mo_1", "password": LISTED }),
            None,
        )
        .await;
    let body: Value = r.json().await.unwrap();
    assert!(body["fields"][0]["message"]
        .as_str()
        .unwrap()
        .contains("too common"));
    assert!(!body.to_string().contains(LISTED), "never echoed");
}

fn backend(dir: &tempfile::TempDir, args: &[&str], vars: &[(&str, &str)], stdin: &str) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_backend"));
    cmd.args(args)
        .env_clear()
        .env("APP_DATA_DIR", dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    writeln!(child.stdin.take().unwrap(), "{stdin}").unwrap();
    child.wait_with_output().unwrap()
}

#[tokio::test]
async fn create_admin_follows_the_configured_policy() {
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database(&dir);
    let create = |username: &str, policy: &str, password: &str| {
        backend(
            &dir,
            &[
                "create-admin",
                "--username",
                username,
                "--email",
                &format!("{username}@example.org"),
            ],
            &[("DATABASE_URL", &url), ("PASSWORD_POLICY", policy)],
            password,
        )
    };
    let out = create("root_a", "catalogue", PASSPHRASE);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("Add an upper-case letter."), "{stderr}");

    let out = create("root_b", "nist", LISTED);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("too common"));

    let out = create("root_c", "nist", PASSPHRASE);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn an_unknown_policy_is_a_configuration_error() {
    let err = Settings::from_lookup(|k| (k == "PASSWORD_POLICY").then(|| "strong".to_owned()))
        .unwrap_err();
    assert_eq!(err.0.len(), 1);
    assert_eq!(err.0[0].variable, "PASSWORD_POLICY");
    assert!(err
        .to_string()
        .contains("`catalogue` or `nist`, not `strong`"));

    // The server does not start with it.
    let dir = tempfile::tempdir().unwrap();
    let out = backend(
        &dir,
        &["migrate"],
        &[("PASSWORD_POLICY", "NIST 800-63")],
        "",
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("PASSWORD_POLICY"), "{stderr}");
}
