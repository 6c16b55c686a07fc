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
