//! The tamper-evident audit log: a hash chain that concurrent writers cannot
//! fork, verified by `backend verify-audit` and `POST
//! /api/v1/admin/audit/verify`, which pinpoint an entry edited or deleted
//! behind the application's back (the append-only triggers are dropped for
//! these tests, as someone with database access could). And the audit page's
//! filters and CSV export.

use crate::helpers::{fresh_database, signed_in_admin, spawn_app, spawn_on, TestApp};
use backend::audit::{self, AuditEvent, Outcome};
use backend::db::models::audit_entry::AuditEntry;
use backend::db::schema::audit_log;
use backend::db::DbConn;
use backend::services::audit_verify::{self, ChainReport};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use serde_json::{json, Value};
use std::process::Command;

async fn record(app: &TestApp, event: AuditEvent) {
    audit::record(&app.state.pool, None, event).await.unwrap();
}

async fn verify(app: &TestApp) -> ChainReport {
    audit_verify::verify(&app.state.pool).await.unwrap()
}

async fn all_entries(app: &TestApp) -> Vec<AuditEntry> {
    backend::db::run(&app.state.pool, |c| {
        Ok(AuditEntry::chain_batch(c, None, 100_000)?)
    })
    .await
    .unwrap()
}

/// Drops the trigger that refuses `what` ("update" or "delete") on either engine.
async fn drop_append_only_trigger(app: &TestApp, what: &'static str) {
    backend::db::run(&app.state.pool, move |c| {
        let sql = match c {
            DbConn::Postgres(_) => "DROP TRIGGER audit_log_no_update_or_delete ON audit_log",
            DbConn::Sqlite(_) if what == "update" => "DROP TRIGGER audit_log_no_update",
            DbConn::Sqlite(_) => "DROP TRIGGER audit_log_no_delete",
        };
        c.batch_execute(sql)?;
        Ok(())
    })
    .await
    .unwrap();
}

async fn set_detail(app: &TestApp, id: i64, detail: &'static str) {
    backend::db::run(&app.state.pool, move |c| {
        diesel::update(audit_log::table.find(id))
            .set(audit_log::detail.eq(detail))
            .execute(c)?;
        Ok(())
    })
    .await
    .unwrap();
}

async fn delete_entry(app: &TestApp, id: i64) {
    backend::db::run(&app.state.pool, move |c| {
        diesel::delete(audit_log::table.find(id)).execute(c)?;
        Ok(())
    })
    .await
    .unwrap();
}

async fn some_events(app: &TestApp, n: usize) {
    for i in 0..n {
        record(
            app,
            AuditEvent::new("test.event", Outcome::Success)
                .actor(format!("user-{i}"))
                .detail(json!({ "n": i })),
        )
        .await;
    }
}

async fn verify_api(app: &TestApp, cookie: &str) -> Value {
    let r = app
        .post_json("/api/v1/admin/audit/verify", &json!({}), Some(cookie))
        .await;
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

#[tokio::test]
async fn parallel_writers_keep_one_unbroken_chain() {
    let app = spawn_app().await;
    let mut tasks = Vec::new();
    for task in 0..8 {
        let pool = app.state.pool.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..50 {
                audit::record(
                    &pool,
                    None,
                    AuditEvent::new("test.parallel", Outcome::Success)
                        .actor(format!("writer-{task}"))
                        .detail(json!({ "i": i })),
                )
                .await
                .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }

    let report = verify(&app).await;
    assert_eq!(report.first_broken, None, "{report:?}");
    assert_eq!((report.checked, report.legacy), (400, 0));
    let entries = all_entries(&app).await;
    let ids: Vec<i64> = entries.iter().map(|e| e.id).collect();
    assert_eq!(ids, (1..=400).collect::<Vec<_>>(), "consecutive ids");
    assert_eq!(
        entries[0].prev_hash.as_deref(),
        Some(backend::security::audit_chain::GENESIS)
    );
    for pair in entries.windows(2) {
        assert_eq!(pair[1].prev_hash, pair[0].hash, "one link per entry");
    }
    assert!(entries
        .windows(2)
        .all(|p| p[0].occurred_at <= p[1].occurred_at));
    let head = report.head.unwrap();
    assert_eq!((head.0, Some(head.1)), (400, entries[399].hash.clone()));
}

#[tokio::test]
async fn an_edited_entry_is_pinpointed_by_the_service_and_the_api() {
    let app = spawn_app().await;
    let (cookie, _) = signed_in_admin(&app, "auditlead").await;
    some_events(&app, 6).await;
    let intact = verify_api(&app, &cookie).await;
    assert_eq!(intact["ok"], true);
    assert!(intact["checked"].as_i64().unwrap() > 6);
    assert_eq!(intact["first_broken"], Value::Null);

    let victim = all_entries(&app)
        .await
        .into_iter()
        .rev()
        .find(|e| e.action == "test.event")
        .unwrap()
        .id
        - 2;
    drop_append_only_trigger(&app, "update").await;
    set_detail(&app, victim, r#"{"n":"forged"}"#).await;

    let report = verify(&app).await;
    let broken = report.first_broken.clone().unwrap();
    assert_eq!(broken.id, victim);
    assert_eq!(broken.problem.code(), "content_changed");
    assert_eq!(report.checked, u64::try_from(victim - 1).unwrap());

    let answer = verify_api(&app, &cookie).await;
    assert_eq!(answer["ok"], false);
    assert_eq!(answer["first_broken"]["id"], victim);
    assert_eq!(answer["first_broken"]["kind"], "content_changed");
    assert!(answer["first_broken"]["problem"]
        .as_str()
        .unwrap()
        .starts_with("content changed"));
    assert_eq!(answer["checked"], victim - 1);

    // The check itself is on record, with what it found.
    let last = all_entries(&app).await.pop().unwrap();
    assert_eq!(
        (last.action.as_str(), last.outcome.as_str()),
        ("audit.verify", "failure")
    );
    assert!(
        last.detail.contains(&format!("\"broken_id\":{victim}")),
        "{}",
        last.detail
    );
}

#[tokio::test]
async fn a_deleted_entry_is_named() {
    let app = spawn_app().await;
    some_events(&app, 10).await;
    drop_append_only_trigger(&app, "delete").await;
    delete_entry(&app, 5).await;
    let report = verify(&app).await;
    let broken = report.first_broken.unwrap();
    assert_eq!(broken.id, 5);
    assert_eq!(broken.problem.code(), "entry_missing");
    assert!(broken.problem.describe().contains("#5 was deleted"));
    assert_eq!(report.checked, 4);

    // New entries after the deletion do not hide it.
    some_events(&app, 2).await;
    assert_eq!(verify(&app).await.first_broken.unwrap().id, 5);
}

#[tokio::test]
async fn a_rewritten_hash_breaks_the_next_link() {
    let app = spawn_app().await;
    some_events(&app, 5).await;
    drop_append_only_trigger(&app, "update").await;
    // Someone edits entry 3 and recomputes its hash, but not the rest.
    backend::db::run(&app.state.pool, |c| {
        let mut e = AuditEntry::chain_batch(c, Some(2), 1)?.remove(0);
        e.outcome = "failure".into();
        let prev = e.prev_hash.clone().unwrap_or_default();
        let hash = backend::security::audit_chain::entry_hash(&prev, &e.content());
        diesel::update(audit_log::table.find(3))
            .set((audit_log::outcome.eq("failure"), audit_log::hash.eq(hash)))
            .execute(c)?;
        Ok(())
    })
    .await
    .unwrap();
    let broken = verify(&app).await.first_broken.unwrap();
    assert_eq!(broken.id, 4);
    assert_eq!(broken.problem.code(), "link_broken");
}

#[tokio::test]
async fn entries_from_before_the_chain_are_counted_not_verified() {
    let app = spawn_app().await;
    assert!(all_entries(&app).await.is_empty());
    // As a database migrated from before the chain has them: no hashes.
    backend::db::run(&app.state.pool, |c| {
        for id in [1_i64, 2] {
            diesel::insert_into(audit_log::table)
                .values((
                    audit_log::id.eq(id),
                    audit_log::occurred_at.eq(chrono::Utc::now().naive_utc()),
                    audit_log::action.eq("legacy.event"),
                    audit_log::outcome.eq("success"),
                    audit_log::detail.eq("{}"),
                ))
                .execute(c)?;
        }
        Ok(())
    })
    .await
    .unwrap();
    some_events(&app, 3).await;
    let report = verify(&app).await;
    assert_eq!(report.first_broken, None, "{report:?}");
    assert_eq!((report.checked, report.legacy), (3, 2));
    let entries = all_entries(&app).await;
    assert_eq!(entries[2].id, 3);
    assert_eq!(
        entries[2].prev_hash.as_deref(),
        Some(backend::security::audit_chain::GENESIS)
    );
}

fn verify_audit_cli(data_dir: &std::path::Path, url: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_backend"))
        .arg("verify-audit")
        .env_clear()
        .env("APP_DATA_DIR", data_dir)
        .env("DATABASE_URL", url)
        .output()
        .unwrap()
}

#[tokio::test]
async fn the_cli_exits_non_zero_naming_the_broken_entry() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().to_owned();
    let url = fresh_database(&dir);
    let app = spawn_on(dir, url.clone(), &[]).await;
    some_events(&app, 8).await;

    let out = verify_audit_cli(&data_dir, &url);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("audit log intact: 8 entries checked"),
        "{stdout}"
    );
    assert!(stdout.contains("head: #8 "), "{stdout}");

    drop_append_only_trigger(&app, "update").await;
    set_detail(&app, 6, r#"{"n":600}"#).await;
    let out = verify_audit_cli(&data_dir, &url);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("audit log broken at entry #6: content changed"),
        "{stderr}"
    );
    assert!(stderr.contains("5 entries verified before it"), "{stderr}");
}

#[tokio::test]
async fn verification_and_export_are_for_admins_and_auditors_only() {
    let app = spawn_app().await;
    let cookie = app.signed_in("plainuser").await;
    let r = app
        .post_json("/api/v1/admin/audit/verify", &json!({}), Some(&cookie))
        .await;
    assert_eq!(r.status(), 403);
    assert_eq!(
        app.get("/api/v1/admin/audit.csv", Some(&cookie))
            .await
            .status(),
        403
    );
    let r = app
        .post_json("/api/v1/admin/audit/verify", &json!({}), None)
        .await;
    assert_eq!(r.status(), 401);

    let doc: Value = app
        .get("/api/openapi.json", None)
        .await
        .json()
        .await
        .unwrap();
    assert!(doc["paths"]["/api/v1/admin/audit/verify"]["post"].is_object());
    assert!(doc["paths"]["/api/v1/admin/audit.csv"]["get"].is_object());
    assert!(doc["components"]["schemas"]["AuditVerifyResult"].is_object());
}

fn rfc3339(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

async fn page(app: &TestApp, cookie: &str, query: &str) -> Value {
    let r = app
        .get(&format!("/api/v1/admin/audit{query}"), Some(cookie))
        .await;
    assert_eq!(r.status(), 200, "{query}");
    r.json().await.unwrap()
}

fn actions(page: &Value) -> Vec<String> {
    page["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn the_audit_page_filters_and_pages() {
    let app = spawn_app().await;
    let (cookie, _) = signed_in_admin(&app, "filterer").await;
    record(
        &app,
        AuditEvent::new("test.alpha", Outcome::Denied).actor("actor-a"),
    )
    .await;
    record(
        &app,
        AuditEvent::new("test.beta", Outcome::Failure).actor("actor-a"),
    )
    .await;
    record(
        &app,
        AuditEvent::new("test.alpha", Outcome::Success).actor("actor-b"),
    )
    .await;

    let p = page(&app, &cookie, "?actor=actor-a").await;
    assert_eq!(actions(&p), ["test.beta", "test.alpha"]);
    let p = page(&app, &cookie, "?action=test.alpha").await;
    assert_eq!(p["entries"].as_array().unwrap().len(), 2);
    let p = page(&app, &cookie, "?action=test.alpha&outcome=denied").await;
    assert_eq!(p["entries"][0]["actor"], "actor-a");
    assert_eq!(p["entries"].as_array().unwrap().len(), 1);
    assert_eq!(p["entries"][0]["hash"].as_str().unwrap().len(), 64);

    let now = chrono::Utc::now();
    let hour = chrono::Duration::hours(1);
    let window = format!(
        "?actor=actor-b&from={}&to={}",
        rfc3339(now - hour),
        rfc3339(now + hour)
    );
    assert_eq!(actions(&page(&app, &cookie, &window).await), ["test.alpha"]);
    let past = format!("?actor=actor-b&to={}", rfc3339(now - hour));
    assert!(actions(&page(&app, &cookie, &past).await).is_empty());
    let future = format!("?actor=actor-b&from={}", rfc3339(now + hour));
    assert!(actions(&page(&app, &cookie, &future).await).is_empty());

    for bad in [
        "?outcome=maybe",
        "?from=yesterday",
        "?to=2026-13-01T00:00:00Z",
    ] {
        let r = app
            .get(&format!("/api/v1/admin/audit{bad}"), Some(&cookie))
            .await;
        assert_eq!(r.status(), 400, "{bad}");
    }

    // Keyset pages keep the filters.
    for i in 0..60 {
        record(
            &app,
            AuditEvent::new("test.many", Outcome::Success)
                .actor("actor-c")
                .detail(json!({ "i": i })),
        )
        .await;
    }
    record(&app, AuditEvent::new("test.other", Outcome::Success)).await;
    let first = page(&app, &cookie, "?actor=actor-c").await;
    assert_eq!(first["entries"].as_array().unwrap().len(), 50);
    let next = first["next"].as_i64().unwrap();
    let second = page(&app, &cookie, &format!("?actor=actor-c&before={next}")).await;
    assert_eq!(second["entries"].as_array().unwrap().len(), 10);
    assert_eq!(second["next"], Value::Null);
    assert!(second["entries"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["actor"] == "actor-c" && e["id"].as_i64().unwrap() < next));
}

#[tokio::test]
async fn the_csv_export_quotes_and_defuses_cells() {
    let app = spawn_app().await;
    let (cookie, _) = signed_in_admin(&app, "exporter").await;
    record(
        &app,
        AuditEvent::new("test.csv", Outcome::Failure)
            .actor("actor-x")
            .target("=HYPERLINK(\"http://evil.example\",\"click\")")
            .detail(json!({ "note": "a, \"quoted\"\nline" })),
    )
    .await;
    record(
        &app,
        AuditEvent::new("test.csv", Outcome::Success)
            .actor("actor-x")
            .target("@SUM(A1:A9)"),
    )
    .await;
    record(
        &app,
        AuditEvent::new("test.csv", Outcome::Success)
            .actor("actor-y")
            .target("-2+3"),
    )
    .await;

    let r = app
        .get("/api/v1/admin/audit.csv?actor=actor-x", Some(&cookie))
        .await;
    assert_eq!(r.status(), 200);
    assert!(crate::helpers::header(&r, "content-type").starts_with("text/csv"));
    let disposition = crate::helpers::header(&r, "content-disposition").to_owned();
    assert!(disposition.starts_with("attachment"), "{disposition}");
    assert!(disposition.contains("audit-log.csv"));
    let body = r.text().await.unwrap();
    let lines: Vec<&str> = body.split("\r\n").collect();
    assert_eq!(
        lines[0],
        "id,occurred_at,actor,action,target,outcome,client_ip,request_id,detail,prev_hash,hash"
    );
    // Newest first, only actor-x: the header, two rows and the final CRLF.
    assert_eq!(lines.len(), 4, "{body}");
    assert!(
        lines[1].contains(",actor-x,test.csv,'@SUM(A1:A9),success,"),
        "{body}"
    );
    assert!(
        lines[2].contains(
            r#",actor-x,test.csv,"'=HYPERLINK(""http://evil.example"",""click"")",failure,"#
        ),
        "{body}"
    );
    assert!(
        body.contains(r#""{""note"":""a, \""quoted\""\nline""}""#),
        "{body}"
    );
    assert!(!body.contains("actor-y"));
    assert!(body.ends_with("\r\n"));
    // Nothing starts a cell with a formula character unprefixed.
    for cell in body.split([',', '\n']) {
        let cell = cell.trim_start_matches('"');
        assert!(
            !cell.starts_with(['=', '+', '@']),
            "an undefused cell: {cell}"
        );
    }

    // The same filters as the page; a bad one is refused the same way.
    let r = app
        .get("/api/v1/admin/audit.csv?outcome=nope", Some(&cookie))
        .await;
    assert_eq!(r.status(), 400);

    // The export is on record.
    let last = all_entries(&app).await.pop().unwrap();
    assert_eq!(last.action, "audit.export");
    assert!(last.detail.contains("\"rows\":2"), "{}", last.detail);
    assert!(
        last.detail.contains("\"actor\":\"actor-x\""),
        "{}",
        last.detail
    );
    // And the chain is still whole.
    assert_eq!(verify(&app).await.first_broken, None);
}

#[tokio::test]
async fn the_audit_page_renders_filters_export_verify_and_details() {
    let app = spawn_app().await;
    let (cookie, _) = signed_in_admin(&app, "pagereader").await;
    record(
        &app,
        AuditEvent::new("test.page", Outcome::Denied)
            .actor("actor-p")
            .detail(json!({ "reason": "<script>x</script>" })),
    )
    .await;
    let r = app
        .get(
            "/admin/audit?actor=actor-p&outcome=denied&from=2020-01-01",
            Some(&cookie),
        )
        .await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert_eq!(
        html.matches("data-testid=\"audit-row\"").count(),
        1,
        "{html}"
    );
    assert!(html.contains("data-testid=\"audit-verify\""));
    assert!(html.contains("data-testid=\"audit-verify-result\""));
    // The CSV link carries the filters in force (times in RFC 3339).
    assert!(
        html.contains(
            "href=\"/api/v1/admin/audit.csv?actor=actor-p&amp;outcome=denied&amp;from=2020-01-01T00%3A00%3A00Z\""
        ),
        "{html}"
    );
    assert!(html.contains("data-testid=\"audit-detail\""));
    // Pretty-printed, and escaped as text.
    assert!(
        html.contains("<pre class=\"audit-json\">{\n  \"reason\": "),
        "{html}"
    );
    assert!(!html.contains("<script>x</script>"));
    assert!(html.contains("value=\"denied\" selected"));
}
