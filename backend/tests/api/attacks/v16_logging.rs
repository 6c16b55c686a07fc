//! ASVS 5.0 V16 (security logging): the audit log's integrity and the logs'
//! availability; what a request can make the records say about it (its
//! address, its user agent); what the audit log's observer (workshop
//! crediting) does with events that are rolled back or made up.

use crate::helpers::{signed_in_admin, spawn_app, spawn_app_with, TestApp, PASSWORD};
use backend::audit::{self, AuditEvent, Outcome};
use backend::db::schema::{access_decisions, audit_log, sessions};
use backend::request_meta::RequestMeta;
use backend::security::workshop::Context;
use diesel::prelude::*;
use serde_json::{json, Value};

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

/// Every address a request's records carry: the audit log's and the access
/// decisions' client IPs, and the sessions'.
async fn recorded_addresses(app: &TestApp) -> Vec<Option<String>> {
    backend::db::run(&app.state.pool, |c| {
        let mut all: Vec<Option<String>> = audit_log::table.select(audit_log::client_ip).load(c)?;
        all.extend(
            access_decisions::table
                .select(access_decisions::client_ip)
                .load::<Option<String>>(c)?,
        );
        all.extend(
            sessions::table
                .select(sessions::client_ip)
                .load::<Option<String>>(c)?,
        );
        Ok(all)
    })
    .await
    .unwrap()
}

/// A login (right or wrong password) and a refused admin read, carrying
/// forged forwarding headers: `X-Forwarded-For`, `Forwarded` and
/// `X-Real-IP`.
async fn forged_requests(app: &TestApp, password: &str) -> u16 {
    let forge = |req: reqwest::RequestBuilder| {
        req.header("X-Forwarded-For", "203.0.113.7")
            .header("Forwarded", "for=203.0.113.8;proto=https")
            .header("X-Real-IP", "203.0.113.9")
    };
    let r = forge(app.client.post(app.url("/api/v1/auth/login")))
        .json(&json!({ "login": "ip_user", "password": password }))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    if let Some(cookie) = crate::helpers::session_cookie(r.headers()) {
        let r = forge(app.client.get(app.url("/api/v1/admin/users")))
            .header("Cookie", cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403);
    }
    status
}

/// A client that is no trusted proxy (none configured, or a proxy list it
/// is not in) writes forwarding headers naming another address: the audit
/// log, the access decisions and the session all record its real address.
#[tokio::test]
async fn forged_forwarding_headers_from_an_untrusted_peer_change_no_recorded_address() {
    for proxies in [None, Some("10.0.0.0/8")] {
        let extra: Vec<(&str, &str)> = proxies
            .map(|p| ("TRUSTED_PROXIES", p))
            .into_iter()
            .collect();
        let app = spawn_app_with(&extra).await;
        app.register("ip_user", "ip_user@example.org").await;
        assert_eq!(forged_requests(&app, "Wrong-Password-1!").await, 401);
        assert_eq!(forged_requests(&app, PASSWORD).await, 200);
        let addresses = recorded_addresses(&app).await;
        assert!(addresses.len() >= 4, "{addresses:?}");
        assert!(
            addresses.iter().all(|a| a.as_deref() == Some("127.0.0.1")),
            "proxies {proxies:?}: {addresses:?}"
        );
    }
}

/// `X-Real-IP` is no header this server reads, even from a trusted proxy:
/// only `Forwarded` and `X-Forwarded-For` are (`security::client_ip`). A
/// client behind the proxy that adds it changes nothing recorded.
#[tokio::test]
async fn x_real_ip_is_not_believed_even_from_a_trusted_proxy() {
    let app = spawn_app_with(&[("TRUSTED_PROXIES", "127.0.0.1/32")]).await;
    app.register("ip_user", "ip_user@example.org").await;
    let r = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("X-Real-IP", "203.0.113.9")
        .json(&json!({ "login": "ip_user", "password": "Wrong-Password-1!" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let addresses = recorded_addresses(&app).await;
    assert!(!addresses.is_empty());
    assert!(
        addresses.iter().all(|a| a.as_deref() == Some("127.0.0.1")),
        "{addresses:?}"
    );
}

/// Rotating `Forwarded` and `X-Real-IP` from an untrusted peer does not buy
/// a fresh rate-limit bucket per request (`X-Forwarded-For`: see
/// `rate_limits.rs`).
#[tokio::test]
async fn rotating_forwarded_or_real_ip_from_an_untrusted_peer_shares_one_bucket() {
    let app = spawn_app_with(&[("RATE_LIMIT_AUTH", "3/minute")]).await;
    let mut statuses = Vec::new();
    for i in 0..5 {
        let r = app
            .client
            .post(app.url("/api/v1/auth/login"))
            .header("Forwarded", format!("for=198.51.100.{i}"))
            .header("X-Real-IP", format!("192.0.2.{i}"))
            .json(&json!({ "login": "nobody_here", "password": "" }))
            .send()
            .await
            .unwrap();
        statuses.push(r.status().as_u16());
    }
    assert_eq!(statuses, [422, 422, 422, 429, 429]);
}

/// A user agent far over 256 characters is stored as its first 256 (the
/// session's record), not whole, and the session still works.
#[tokio::test]
async fn a_huge_user_agent_is_stored_truncated_to_256_characters() {
    let app = spawn_app().await;
    app.register("ua_user", "ua_user@example.org").await;
    let agent = format!("Mozilla/5.0 Firefox/130.0 {}", "x".repeat(6000));
    let r = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("User-Agent", &agent)
        .json(&json!({ "login": "ua_user", "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let cookie = crate::helpers::session_cookie(r.headers()).unwrap();
    let stored: Vec<Option<String>> = backend::db::run(&app.state.pool, |c| {
        Ok(sessions::table.select(sessions::user_agent).load(c)?)
    })
    .await
    .unwrap();
    assert_eq!(stored.len(), 1);
    let stored = stored[0].clone().unwrap();
    assert_eq!(stored.chars().count(), 256);
    assert!(agent.starts_with(&stored));
    let mine: Value = app
        .get("/api/v1/me/sessions", Some(&cookie))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(mine[0]["device"], "Firefox", "{mine}");
}

/// A request's metadata in workshop mode, crediting `participant`.
fn workshop_meta(participant: &str) -> RequestMeta {
    RequestMeta {
        request_id: Some("0".repeat(32)),
        client_ip: Some("127.0.0.1".into()),
        user_agent: None,
        workshop: Some(Context {
            participant: Some(participant.to_owned()),
            ..Default::default()
        }),
    }
}

/// (user, challenge) of every stored solve.
async fn solves(app: &TestApp) -> Vec<(String, String)> {
    backend::db::run(&app.state.pool, |c| {
        Ok(backend::db::models::workshop::Solve::all(c)?)
    })
    .await
    .unwrap()
    .into_iter()
    .map(|s| (s.user_id, s.challenge_id))
    .collect()
}

/// (id, action) of every audit entry.
async fn audit_ids(app: &TestApp) -> Vec<(i64, String)> {
    backend::db::run(&app.state.pool, |c| {
        Ok(audit_log::table
            .order(audit_log::id)
            .select((audit_log::id, audit_log::action))
            .load(c)?)
    })
    .await
    .unwrap()
}

/// Records `event` with `meta` on a write transaction that then commits or
/// (`roll_back`) fails after the entry was written.
async fn record_then(app: &TestApp, meta: Option<RequestMeta>, event: AuditEvent, roll_back: bool) {
    let outcome = backend::db::run(&app.state.pool, move |c| {
        backend::db::write_transaction(c, |c| {
            audit::record_in(c, meta.as_ref(), event)?;
            if roll_back {
                return Err(backend::error::AppError::bad_request("the change failed"));
            }
            Ok(())
        })
    })
    .await;
    assert_eq!(outcome.is_err(), roll_back);
}

/// Workshop mode credits a challenge from the audit event's own
/// transaction: an event whose change is rolled back (the entry written,
/// then the transaction failed) credits nothing and leaves no
/// `workshop.solved` entry; the same event committed is credited once, its
/// `workshop.solved` entry right after it in the chain (the same
/// transaction, under the same chain lock).
#[tokio::test]
async fn a_rolled_back_event_credits_nothing_and_a_committed_one_in_its_own_transaction() {
    let app = spawn_app_with(&[("APP_WORKSHOP", "1")]).await;
    let cookie = app.signed_in("ws_rollback").await;
    let uid = app.user_id(&cookie).await;
    let forged_header = || {
        AuditEvent::new("access.forged_header", Outcome::Denied)
            .actor(uid.clone())
            .detail(json!({ "header": "x-is-admin" }))
    };
    let before = audit_ids(&app).await;
    record_then(&app, Some(workshop_meta(&uid)), forged_header(), true).await;
    assert!(
        solves(&app).await.is_empty(),
        "rolled back: nothing credited"
    );
    assert_eq!(
        audit_ids(&app).await,
        before,
        "rolled back: no entry at all"
    );

    record_then(&app, Some(workshop_meta(&uid)), forged_header(), false).await;
    assert_eq!(
        solves(&app).await,
        vec![(uid.clone(), "forged-admin-header".to_owned())]
    );
    let after = audit_ids(&app).await;
    let added: Vec<&(i64, String)> = after.iter().skip(before.len()).collect();
    assert_eq!(added.len(), 2, "{added:?}");
    assert_eq!(added[0].1, "access.forged_header");
    assert_eq!(added[1].1, "workshop.solved");
    assert_eq!(added[1].0, added[0].0 + 1);
}

/// Events that only look like a solve credit nothing: the right action
/// with another outcome, a refusal for another reason, a forged-token
/// refusal without the forged token, a matching event outside workshop
/// mode's request context (the CLI's, or a request that did not come
/// through workshop mode), and a client's own `workshop.solved` claim.
#[tokio::test]
async fn events_that_only_look_like_a_solve_credit_nothing() {
    let app = spawn_app_with(&[("APP_WORKSHOP", "1")]).await;
    let cookie = app.signed_in("ws_forger").await;
    let uid = app.user_id(&cookie).await;
    let ctx = || Some(workshop_meta(&uid));
    let cases: Vec<(Option<RequestMeta>, AuditEvent)> = vec![
        (
            ctx(),
            AuditEvent::new("access.forged_header", Outcome::Success).actor(uid.clone()),
        ),
        (
            ctx(),
            AuditEvent::new("session.revoke", Outcome::Denied)
                .actor(uid.clone())
                .detail(json!({ "reason": "not_found" })),
        ),
        (
            ctx(),
            AuditEvent::new("access.denied", Outcome::Denied)
                .actor(uid.clone())
                .detail(json!({ "reason": "bad_signature" })),
        ),
        (
            ctx(),
            AuditEvent::new("workshop.solved", Outcome::Success)
                .actor(uid.clone())
                .target("jwt-alg-none")
                .detail(json!({ "challenge": "jwt-alg-none" })),
        ),
        (
            None,
            AuditEvent::new("access.forged_header", Outcome::Denied).actor(uid.clone()),
        ),
        (
            Some(RequestMeta::default()),
            AuditEvent::new("mfa.replay", Outcome::Denied).actor(uid.clone()),
        ),
    ];
    for (meta, event) in cases {
        record_then(&app, meta, event, false).await;
    }
    assert_eq!(solves(&app).await, Vec::<(String, String)>::new());
    let board: Value = app
        .get("/api/v1/workshop/challenges", Some(&cookie))
        .await
        .json()
        .await
        .unwrap();
    assert!(
        board["challenges"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["solved_at"].is_null()),
        "{board}"
    );
}
