use crate::helpers::spawn_app;

#[tokio::test]
async fn healthz_and_readyz_answer_200_with_json() {
    let app = spawn_app().await;
    for (path, status) in [("/healthz", "ok"), ("/readyz", "ready")] {
        let r = app.get(path, None).await;
        assert_eq!(r.status(), 200, "{path}");
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["status"], status);
    }
}

#[tokio::test]
async fn two_instances_starting_together_both_come_up_on_one_database() {
    // On PostgreSQL the advisory lock makes one wait for the other's migrations.
    let dir_a = tempfile::tempdir().unwrap();
    let dir_b = tempfile::tempdir().unwrap();
    // Both instances share one database (for SQLite, the file in dir_a).
    let url = crate::helpers::fresh_database(&dir_a);
    // Replicas share SESSION_KEY (two different ones on one database are
    // refused: `session_keys`), here as the dev key file.
    for dir in [&dir_a, &dir_b] {
        std::fs::create_dir_all(dir.path().join("keys")).unwrap();
        std::fs::write(dir.path().join("keys/session.key"), "ab".repeat(32)).unwrap();
    }
    let (a, b) = tokio::join!(
        crate::helpers::spawn_on(dir_a, url.clone(), &[]),
        crate::helpers::spawn_on(dir_b, url.clone(), &[]),
    );
    // One registers through A, the other logs in through B: the same database.
    let r = a.register("shared_user", "shared@example.org").await;
    assert_eq!(r.status(), 201);
    b.login("shared_user", crate::helpers::PASSWORD).await;
}

/// The database out of reach — here every pooled connection taken, which is
/// what a request meets while the database is down or restarting — is a
/// `503` with `Retry-After` and the JSON error body, on the API, the
/// readiness check and the pages; `/healthz` (liveness) never asks the
/// database. Once a connection is free again everything answers at once.
/// (The real outages — PostgreSQL restarted, SQLite's disk full — are the
/// fault tests', `tests/faults`.)
#[tokio::test]
async fn a_database_out_of_reach_is_a_503_with_retry_after_and_healthz_stays_up() {
    let app =
        crate::helpers::spawn_app_with(&[("DB_POOL_SIZE", "1"), ("DB_POOL_TIMEOUT_SECS", "1")])
            .await;
    let cookie = app.signed_in("outage_user").await;
    let pool = app.state.pool.clone();
    let held = tokio::task::spawn_blocking(move || pool.get().expect("the one connection"))
        .await
        .unwrap();

    assert_eq!(app.get("/healthz", None).await.status(), 200, "liveness");
    // The image's HEALTHCHECK is liveness: it passes while the database is
    // out of reach (the orchestrator must not restart every replica).
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy/healthcheck");
    let addr = app.address.trim_start_matches("http://").to_owned();
    let check = tokio::task::spawn_blocking(move || {
        std::process::Command::new("bash")
            .arg(script)
            .env("APP_ADDR", &addr)
            .status()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(check.success(), "the health check fails during the outage");
    let login = serde_json::json!({ "login": "outage_user", "password": crate::helpers::PASSWORD });
    let answers = [
        ("/readyz", app.get("/readyz", None).await),
        ("/api/v1/me", app.get("/api/v1/me", Some(&cookie)).await),
        (
            "/api/v1/auth/login",
            app.post_json("/api/v1/auth/login", &login, None).await,
        ),
        // A protected page (refused at the enforcement point) and a public
        // one whose navigation asks who is signed in.
        ("/account", app.get("/account", Some(&cookie)).await),
        ("/", app.get("/", Some(&cookie)).await),
    ];
    for (path, r) in answers {
        assert_eq!(r.status(), 503, "{path}");
        assert_eq!(
            crate::helpers::header(&r, "retry-after"),
            backend::error::RETRY_AFTER_SECS.to_string(),
            "{path}"
        );
        if path != "/" {
            let body: serde_json::Value = r.json().await.unwrap();
            assert_eq!(body["error"], "service unavailable", "{path}");
            assert!(body["request_id"].as_str().is_some_and(|id| !id.is_empty()));
        }
    }

    drop(held);
    for path in ["/readyz", "/api/v1/me", "/"] {
        let r = app.get(path, Some(&cookie)).await;
        assert_eq!(r.status(), 200, "{path} after the outage");
        assert_eq!(crate::helpers::header(&r, "retry-after"), "", "{path}");
    }
}
