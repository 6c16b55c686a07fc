//! ASVS 5.0 V16 (security logging): the audit log's integrity and the logs' availability.

use crate::helpers::{signed_in_admin, spawn_app};
use serde_json::Value;

/// Item 14: a flood of `/healthz` (more requests than the in-memory tail
/// holds lines) must not evict the error line an administrator looks up by
/// the request id a 500 showed (the "500 with a request id" demo).
#[tokio::test]
async fn a_healthz_flood_does_not_evict_the_error_behind_a_request_id() {
    let app = spawn_app().await;
    let user = app.signed_in("flood_victim").await;
    let (admin, _) = signed_in_admin(&app, "flood_admin").await;
    let r = app
        .send(
            reqwest::Method::POST,
            "/api/v1/demo/fail",
            None,
            Some(&user),
        )
        .await;
    assert_eq!(r.status(), 500);
    let id = r.json::<Value>().await.unwrap()["request_id"]
        .as_str()
        .unwrap()
        .to_owned();

    let flood = backend::telemetry::recent_logs::CAPACITY + 200;
    for chunk in 0..flood.div_ceil(100) {
        let statuses = futures_util::future::join_all(
            (0..100).map(|_| async { app.get("/healthz", None).await.status() }),
        )
        .await;
        assert!(statuses.iter().all(|s| *s == 200), "chunk {chunk}");
    }

    let r = app
        .get(&format!("/api/v1/admin/logs?request_id={id}"), Some(&admin))
        .await;
    assert_eq!(r.status(), 200);
    let logs: Value = r.json().await.unwrap();
    let lines = logs["lines"].as_array().unwrap();
    assert!(
        lines
            .iter()
            .any(|l| l["level"] == "ERROR" && l["request_id"] == id.as_str()),
        "the 500's error line is still there: {lines:?}"
    );
}

/// Item 13: the audit log is append-only against the database roles too.
/// On PostgreSQL the app connects as a role that may only INSERT and SELECT
/// there (migrations run as the owner, `DATABASE_MIGRATION_URL`): UPDATE,
/// DELETE, TRUNCATE and switching the triggers off are refused to it; the
/// owner's TRUNCATE is refused by the statement trigger. On SQLite a DELETE
/// without WHERE (its truncate) is refused by the row trigger.
#[tokio::test]
async fn the_audit_log_cannot_be_emptied_or_rewritten() {
    use diesel::connection::SimpleConnection;
    use diesel::Connection;
    let Ok(base) = std::env::var("TEST_DATABASE_URL").map(|u| u.trim().to_owned()) else {
        let app = spawn_app().await;
        app.signed_in("sqlite_auditee").await;
        let before = app.audit_actions().await.len();
        let result = backend::db::run(&app.state.pool, |c| {
            Ok(c.batch_execute("DELETE FROM audit_log"))
        })
        .await
        .unwrap();
        let err = result
            .expect_err("DELETE without WHERE is refused")
            .to_string();
        assert!(err.contains("append-only"), "{err}");
        assert_eq!(app.audit_actions().await.len(), before);
        return;
    };
    if base.is_empty() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let owner_url = crate::helpers::fresh_database(&dir);
    let role = format!("app_{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    let mut admin = diesel::PgConnection::establish(&base).unwrap();
    admin
        .batch_execute(&format!("CREATE ROLE {role} LOGIN"))
        .unwrap();
    let (scheme, rest) = owner_url.split_once("://").unwrap();
    let host_and_more = rest.split_once('@').map_or(rest, |(_, h)| h);
    let app_url = format!("{scheme}://{role}@{host_and_more}");
    let app = crate::helpers::spawn_on(
        dir,
        app_url.clone(),
        &[("DATABASE_MIGRATION_URL", owner_url.as_str())],
    )
    .await;
    // The app works as that role: sign-ups and sign-ins are audited.
    app.signed_in("pg_auditee").await;
    let before = app.audit_actions().await.len();
    assert!(before >= 2);

    let mut as_app = diesel::PgConnection::establish(&app_url).unwrap();
    let user: String = {
        #[derive(diesel::QueryableByName)]
        struct Who {
            #[diesel(sql_type = diesel::sql_types::Text)]
            name: String,
        }
        diesel::RunQueryDsl::get_result::<Who>(
            diesel::sql_query("SELECT current_user::text AS name"),
            &mut as_app,
        )
        .unwrap()
        .name
    };
    assert_eq!(user, role, "connected as the app role");
    for attack in [
        "UPDATE audit_log SET actor = 'nobody'",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
        "ALTER TABLE audit_log DISABLE TRIGGER ALL",
        "DROP TRIGGER audit_log_no_update_or_delete ON audit_log",
    ] {
        let err = as_app.batch_execute(attack).expect_err(attack).to_string();
        assert!(
            err.contains("permission denied") || err.contains("must be owner"),
            "{attack}: {err}"
        );
    }
    let mut as_owner = diesel::PgConnection::establish(&owner_url).unwrap();
    let err = as_owner
        .batch_execute("TRUNCATE audit_log")
        .expect_err("the owner's TRUNCATE is refused")
        .to_string();
    assert!(err.contains("append-only"), "{err}");
    assert_eq!(app.audit_actions().await.len(), before, "nothing changed");
    drop(app);
}
