use crate::helpers::{prove_email, session_cookie, set_cookie_header, spawn_app, PASSWORD};
use serde_json::{json, Value};

#[tokio::test]
async fn register_then_login_then_me_then_logout() {
    let app = spawn_app().await;
    let r = app.register("alice", "Alice@Example.org").await;
    assert_eq!(r.status(), 201);
    let created: Value = r.json().await.unwrap();
    assert_eq!(created["username"], "alice");
    // Registration does not sign in.
    assert!(set_cookie_header(
        &app.register("bob", "bob@example.org")
            .await
            .headers()
            .clone()
    )
    .is_none());

    let cookie = app.login("alice", PASSWORD).await;
    let me: Value = app
        .get("/api/v1/me", Some(&cookie))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["username"], "alice");
    assert_eq!(
        me["email"], "alice@example.org",
        "e-mail is stored lower-cased"
    );
    assert_eq!(me["roles"], json!(["user"]));
    assert!(me["created_at"].as_str().unwrap().contains('T'));
    assert!(me.get("password_hash").is_none());

    let r = app
        .post_json("/api/v1/auth/logout", &json!({}), Some(&cookie))
        .await;
    assert_eq!(r.status(), 204);
    assert!(set_cookie_header(r.headers())
        .unwrap()
        .contains("Max-Age=0"));
    // ASVS 3.3.1: the old cookie no longer works anywhere.
    assert_eq!(app.get("/api/v1/me", Some(&cookie)).await.status(), 401);
}

#[tokio::test]
async fn login_accepts_username_in_any_case_or_email() {
    let app = spawn_app().await;
    app.register("Carol_1", "carol@example.org").await;
    app.login("carol_1", PASSWORD).await;
    // By e-mail only once the address is proven (an unproven one is a claim
    // that other accounts may share).
    let by_address = json!({ "login": "carol@example.org", "password": PASSWORD });
    let r = app.post_json("/api/v1/auth/login", &by_address, None).await;
    assert_eq!(r.status(), 401);
    prove_email(&app, "Carol_1").await;
    app.login("CAROL@example.org", PASSWORD).await;
}

#[tokio::test]
async fn asvs_3_4_session_cookie_flags() {
    let app = spawn_app().await;
    app.register("dave", "dave@example.org").await;
    let r = app
        .post_json(
            "/api/v1/auth/login",
            &json!({ "login": "dave", "password": PASSWORD }),
            None,
        )
        .await;
    for name in ["__Host-access=", "__Host-refresh="] {
        let raw = crate::helpers::set_cookie_for(r.headers(), name).unwrap();
        for attr in [
            name,
            "HttpOnly",
            "Secure",
            "SameSite=Strict",
            "Path=/",
            "Max-Age=",
        ] {
            assert!(raw.contains(attr), "{raw} lacks {attr}");
        }
        assert!(!raw.contains("Domain"));
    }
}

#[tokio::test]
async fn asvs_3_2_1_every_login_gets_a_new_session() {
    let app = spawn_app().await;
    app.register("erin", "erin@example.org").await;
    let a = app.login("erin", PASSWORD).await;
    let b = app.login("erin", PASSWORD).await;
    assert_ne!(a, b);
    // Both are live until ended.
    assert_eq!(app.get("/api/v1/me", Some(&a)).await.status(), 200);
    assert_eq!(app.get("/api/v1/me", Some(&b)).await.status(), 200);
}

#[tokio::test]
async fn unknown_user_and_wrong_password_get_the_same_answer() {
    let app = spawn_app().await;
    app.register("frank", "frank@example.org").await;
    let mut bodies = Vec::new();
    for (login, password) in [
        ("frank", "Wrong-Password-1!"),
        ("nobody_here", "Wrong-Password-1!"),
    ] {
        let r = app
            .post_json(
                "/api/v1/auth/login",
                &json!({ "login": login, "password": password }),
                None,
            )
            .await;
        assert_eq!(r.status(), 401);
        assert!(session_cookie(r.headers()).is_none());
        let mut body: Value = r.json().await.unwrap();
        body.as_object_mut().unwrap().remove("request_id");
        bodies.push(body);
    }
    assert_eq!(bodies[0], bodies[1]);
}

#[tokio::test]
async fn me_requires_a_live_session() {
    let app = spawn_app().await;
    assert_eq!(app.get("/api/v1/me", None).await.status(), 401);
    let forged = format!("__Host-access={}", "A".repeat(43));
    assert_eq!(app.get("/api/v1/me", Some(&forged)).await.status(), 401);
    assert_eq!(
        app.get("/api/v1/me", Some("__Host-access=garbage.token.here"))
            .await
            .status(),
        401
    );
}

#[tokio::test]
async fn asvs_3_3_2_idle_sessions_expire_server_side() {
    use backend::db::schema::sessions;
    use diesel::prelude::*;
    let app = spawn_app().await;
    let cookie = app.signed_in("idle_user").await;
    assert_eq!(app.get("/api/v1/me", Some(&cookie)).await.status(), 200);
    // Pretend the session was last used two hours ago (idle timeout: one hour).
    let two_hours_ago = chrono::Utc::now().naive_utc() - chrono::Duration::hours(2);
    backend::db::run(&app.state.pool, move |c| {
        diesel::update(sessions::table)
            .set(sessions::last_seen_at.eq(two_hours_ago))
            .execute(c)?;
        Ok(())
    })
    .await
    .unwrap();
    app.forget_cached_identities();
    assert_eq!(app.get("/api/v1/me", Some(&cookie)).await.status(), 401);
}

#[tokio::test]
async fn asvs_3_3_2_absolute_lifetime_ends_even_an_active_session() {
    use backend::db::schema::sessions;
    use diesel::prelude::*;
    let app = spawn_app().await;
    let cookie = app.signed_in("old_user").await;
    let past = chrono::Utc::now().naive_utc() - chrono::Duration::seconds(1);
    backend::db::run(&app.state.pool, move |c| {
        diesel::update(sessions::table)
            .set(sessions::expires_at.eq(past))
            .execute(c)?;
        Ok(())
    })
    .await
    .unwrap();
    assert_eq!(app.get("/api/v1/me", Some(&cookie)).await.status(), 401);
}

#[tokio::test]
async fn a_taken_username_is_a_conflict_in_any_case() {
    let app = spawn_app().await;
    assert_eq!(
        app.register("grace", "grace@example.org").await.status(),
        201
    );
    let r = app.register("GRACE", "other@example.org").await;
    assert_eq!(r.status(), 409);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"],
        "this username is taken: choose another"
    );
    // A taken address: see attacks::v6_enumeration.
}

#[tokio::test]
async fn registration_validation_is_the_shared_policy() {
    let app = spawn_app().await;
    let r = app
        .post_json(
            "/api/v1/auth/register",
            &json!({ "email": "heidi@example.org", "username": "heidi", "password": "Password123!" }),
            None,
        )
        .await;
    assert_eq!(r.status(), 422);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["fields"][0]["field"], "password");
    assert_eq!(body["fields"][0]["code"], "common");
    assert!(
        !body.to_string().contains("Password123!"),
        "the password is never echoed"
    );

    let r = app
        .post_json(
            "/api/v1/auth/register",
            &json!({ "email": "x@example.org", "username": "heidi", "password": "Heidi-is-great-99" }),
            None,
        )
        .await;
    let body: Value = r.json().await.unwrap();
    assert!(body["fields"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["code"] == "contains_username"));
}

#[tokio::test]
async fn refused_requests_are_audited_as_access_denied() {
    let app = spawn_app().await;
    app.get("/api/v1/me", None).await;
    app.get(
        "/api/v1/me",
        Some(&format!("__Host-access={}", "B".repeat(43))),
    )
    .await;
    // The request that presented a token is recorded at once; the one that
    // presented none is counted and written with the minute's counts.
    backend::services::access::flush(&app.state).await.unwrap();
    let rows = app.audit_actions().await;
    let denied: Vec<_> = rows.iter().filter(|r| r.0 == "access.denied").collect();
    assert_eq!(denied.len(), 2);
    assert!(denied[0].3.contains("malformed"));
    assert!(
        !denied[0].3.contains("BBBB"),
        "the presented token is not recorded"
    );
    assert!(denied[1].3.contains("no_token") && denied[1].3.contains("\"hits\":1"));
}
