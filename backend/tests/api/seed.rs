//! `backend seed`: bulk users and audit entries that keep the audit chain
//! intact, and the admin reads over them.

use crate::helpers::{fresh_database, signed_in_admin, spawn_on};
use serde_json::Value;
use std::process::{Command, Output};

fn backend(dir: &tempfile::TempDir, url: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_backend"))
        .args(args)
        .env_clear()
        .env("APP_DATA_DIR", dir.path())
        .env("DATABASE_URL", url)
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

fn stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test]
async fn seeded_data_continues_the_chain_and_pages_by_prefix() {
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database(&dir);
    let seeded = stdout(&backend(
        &dir,
        &url,
        &["seed", "--users", "200", "--audit", "1000"],
        &[],
    ));
    assert!(seeded.contains("200 users"), "{seeded}");
    assert!(seeded.contains("1000 audit entries"), "{seeded}");
    assert!(seeded.contains("rows/s"), "{seeded}");
    // A second run numbers on and links on.
    stdout(&backend(
        &dir,
        &url,
        &["seed", "--users", "10", "--audit", "5"],
        &[],
    ));
    let verified = stdout(&backend(&dir, &url, &["verify-audit"], &[]));
    assert!(
        verified.contains("audit log intact: 1005 entries checked"),
        "{verified}"
    );

    let app = spawn_on(dir, url, &[]).await;
    // Nobody can sign in as a seeded user: their password was thrown away.
    let r = app
        .post_json(
            "/api/v1/auth/login",
            &serde_json::json!({ "login": "user0000001", "password": crate::helpers::PASSWORD }),
            None,
        )
        .await;
    assert_eq!(r.status(), 401);

    // The indexes the seed dropped for the load are all back, and its list
    // of them is the migrated schema's.
    let mut expected: Vec<String> = backend::cli::seed::audit_entries::AUDIT_INDEXES
        .iter()
        .map(|(_, create)| create.split_whitespace().nth(2).unwrap().to_owned())
        .collect();
    expected.sort();
    assert_eq!(audit_indexes(&app).await, expected);

    let (admin, _) = signed_in_admin(&app, "seed_admin").await;
    let page = |query: String| {
        let (app, admin) = (&app, admin.clone());
        async move {
            let r = app.get(&query, Some(&admin)).await;
            assert_eq!(r.status(), 200, "{query}");
            r.json::<Value>().await.unwrap()
        }
    };
    // user0000100 … user0000199, in two pages of 50.
    let first = page("/api/v1/admin/users?q=USER00001&limit=50".into()).await;
    let names: Vec<&str> = first["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 50);
    assert_eq!(names[0], "user0000100");
    assert_eq!(first["next"], "user0000149");
    let second = page("/api/v1/admin/users?q=user00001&limit=50&after=user0000149".into()).await;
    assert_eq!(second["users"].as_array().unwrap().len(), 50);
    assert_eq!(second["users"][49]["username"], "user0000199");
    assert_eq!(second["next"], Value::Null);
    // The 10 of the second run continue the numbering: 201 … 210.
    let more = page("/api/v1/admin/users?q=user00002".into()).await;
    let names: Vec<&str> = more["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 11);
    assert_eq!(names[10], "user0000210");
    let by_mail = page("/api/v1/admin/users?q=user0000042%40example".into()).await;
    assert_eq!(by_mail["users"][0]["email"], "user0000042@example.test");

    // The audit filters, newest first, paged by id.
    let denied = page("/api/v1/admin/audit?outcome=denied".into()).await;
    let entries = denied["entries"].as_array().unwrap();
    assert!(!entries.is_empty());
    assert!(entries.iter().all(|e| e["outcome"] == "denied"));
    let ids: Vec<i64> = entries.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]));
    let before = ids[0];
    let logins = page(format!(
        "/api/v1/admin/audit?action=auth.login&outcome=failure&before={before}"
    ))
    .await;
    let entries = logins["entries"].as_array().unwrap();
    assert!(!entries.is_empty());
    assert!(entries.iter().all(|e| e["action"] == "auth.login"
        && e["outcome"] == "failure"
        && e["id"].as_i64().unwrap() < before));
    let actor = entries[0]["actor"].as_str().map(str::to_owned);
    if let Some(actor) = actor {
        let theirs = page(format!("/api/v1/admin/audit?actor={actor}")).await;
        assert!(theirs["entries"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["actor"] == actor.as_str()));
    }
}

#[derive(diesel::QueryableByName)]
struct IndexName {
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
}

/// The audit log's secondary (non-key) indexes, by name.
async fn audit_indexes(app: &crate::helpers::TestApp) -> Vec<String> {
    use backend::db::DbConn;
    use diesel::RunQueryDsl;
    backend::db::run(&app.state.pool, |conn| {
        let rows: Vec<IndexName> = match conn {
            DbConn::Sqlite(c) => diesel::sql_query(
                "SELECT name FROM sqlite_master WHERE type = 'index' \
                 AND tbl_name = 'audit_log' AND sql IS NOT NULL ORDER BY name",
            )
            .load(c)?,
            DbConn::Postgres(c) => diesel::sql_query(
                "SELECT indexname AS name FROM pg_indexes WHERE schemaname = current_schema() \
                 AND tablename = 'audit_log' AND indexname <> 'audit_log_pkey' ORDER BY 1",
            )
            .load(c)?,
        };
        Ok(rows.into_iter().map(|r| r.name).collect())
    })
    .await
    .unwrap()
}

#[test]
fn seeding_is_refused_in_production() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("app.db").display());
    let out = backend(
        &dir,
        &url,
        &["seed", "--users", "1"],
        &[("APP_ENV", "production")],
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("refused in production"), "{stderr}");
    assert!(!dir.path().join("app.db").exists(), "nothing was written");
}
