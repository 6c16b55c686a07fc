//! ASVS 5.0 V7 (session management): refresh rotation, reuse and redemption only where issued.

use crate::helpers::oauth_flow::{self, code_for, me_status, param, query};
use crate::helpers::{oauth_client, spawn_app_with, TestApp, PASSWORD};
use backend::db::schema::{refresh_tokens, sessions};
use diesel::prelude::*;
use futures_util::future::join_all;
use serde_json::{json, Value};

const REDIRECT: &str = oauth_flow::REDIRECT;

/// A first-party API session's tokens (`POST /api/v1/auth/token`).
async fn first_party_tokens(app: &TestApp, username: &str) -> Value {
    app.register(username, &format!("{username}@example.org"))
        .await;
    let r = app
        .post_json(
            "/api/v1/auth/token",
            &json!({ "login": username, "password": PASSWORD }),
            None,
        )
        .await;
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

/// A confidential client's tokens for `username`, through the real flow.
async fn client_tokens(app: &TestApp, username: &str) -> (String, String, Value) {
    let (id, secret) = oauth_client(app, false, &[REDIRECT], &["account"]).await;
    let secret = secret.expect("a confidential client has a secret");
    let cookie = app.signed_in(username).await;
    let url = code_for(app, &cookie, &oauth_flow::authorize_pairs(&id, REDIRECT)).await;
    let code = param(&url, "code").expect("a code");
    let r = exchange_confidential(app, &id, &secret, &code).await;
    assert_eq!(r.status(), 200);
    (id, secret, r.json().await.unwrap())
}

async fn exchange_confidential(
    app: &TestApp,
    id: &str,
    secret: &str,
    code: &str,
) -> reqwest::Response {
    let body = query(&[
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT),
        ("code_verifier", oauth_flow::VERIFIER),
    ]);
    oauth_flow::post_form(app, "/oauth/token", &body, None, Some((id, secret))).await
}

async fn client_refresh(
    app: &TestApp,
    client: (&str, Option<&str>),
    refresh_token: &str,
) -> reqwest::Response {
    let (id, secret) = client;
    let mut pairs = vec![
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token),
    ];
    if secret.is_none() {
        pairs.push(("client_id", id));
    }
    let basic = secret.map(|s| (id, s));
    oauth_flow::post_form(app, "/oauth/token", &query(&pairs), None, basic).await
}

async fn first_party_refresh(app: &TestApp, refresh_token: &str) -> reqwest::Response {
    app.post_json(
        "/api/v1/auth/refresh",
        &json!({ "refresh_token": refresh_token }),
        None,
    )
    .await
}

/// Audit rows of `action` so far.
async fn count_audit(app: &TestApp, action: &str, detail: &str) -> usize {
    app.audit_actions()
        .await
        .iter()
        .filter(|a| a.0 == action && a.3.contains(detail))
        .count()
}

/// Unused refresh tokens in the live sessions of `username`: the
/// first-party ones, or with `client` those OAuth clients opened (the tests
/// give each user one session of the kind they count).
async fn live_refresh_tokens(app: &TestApp, username: &str, client: bool) -> i64 {
    let name = username.to_owned();
    backend::db::run(&app.state.pool, move |c| {
        let uid: String = backend::db::schema::users::table
            .filter(backend::db::schema::users::username.eq(&name))
            .select(backend::db::schema::users::id)
            .first(c)?;
        let live: i64 = refresh_tokens::table
            .inner_join(sessions::table)
            .filter(sessions::user_id.eq(uid))
            .filter(sessions::revoked_at.is_null())
            .filter(sessions::oauth_client_id.is_not_null().eq(client))
            .filter(refresh_tokens::rotated_at.is_null())
            .count()
            .get_result(c)?;
        Ok(live)
    })
    .await
    .unwrap()
}

// ------------------------------------------------------------------ item 4

#[tokio::test]
async fn a_clients_refresh_token_is_refused_by_the_first_party_refresh() {
    let app = spawn_app_with(&[]).await;
    let (id, secret, tokens) = client_tokens(&app, "leaky_client").await;
    let stolen = tokens["refresh_token"].as_str().unwrap();

    // In the body, as an API client would send it: no client secret needed
    // before the fix.
    let r = first_party_refresh(&app, stolen).await;
    assert_eq!(
        r.status(),
        401,
        "a client's refresh token is not first-party"
    );
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "authentication required");
    assert!(body.get("access_token").is_none());
    // As the browser's refresh cookie: refused the same way.
    let r = app
        .client
        .post(app.url("/api/v1/auth/refresh"))
        .header("Origin", &app.address)
        .header("Cookie", format!("__Host-refresh={stolen}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // Nor does a first-party logout by refresh cookie end the client's session.
    let r = app
        .client
        .post(app.url("/api/v1/auth/logout"))
        .header("Origin", &app.address)
        .header("Cookie", format!("__Host-refresh={stolen}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(
        count_audit(&app, "auth.refresh", "not_issued_here").await,
        2,
        "each refusal recorded"
    );
    assert_eq!(count_audit(&app, "auth.logout", "").await, 0);

    // Nothing changed: the token still works where it belongs, by its client.
    let r = client_refresh(&app, (&id, Some(&secret)), stolen).await;
    assert_eq!(r.status(), 200, "still usable at /oauth/token");
    let fresh: Value = r.json().await.unwrap();
    assert_eq!(
        me_status(&app, fresh["access_token"].as_str().unwrap()).await,
        200
    );
}

#[tokio::test]
async fn the_token_endpoint_refuses_first_party_and_other_clients_refresh_tokens() {
    let app = spawn_app_with(&[]).await;
    let own = first_party_tokens(&app, "first_party").await;
    let own_refresh = own["refresh_token"].as_str().unwrap();
    let (id_a, secret_a, a_tokens) = client_tokens(&app, "client_user").await;
    let a_refresh = a_tokens["refresh_token"].as_str().unwrap();
    let (id_b, _) = oauth_client(&app, true, &[REDIRECT], &["account"]).await;

    for (who, client, token) in [
        (
            "a first-party token at client A",
            (id_a.as_str(), Some(secret_a.as_str())),
            own_refresh,
        ),
        (
            "a first-party token at client B",
            (id_b.as_str(), None),
            own_refresh,
        ),
        (
            "client A's token at client B",
            (id_b.as_str(), None),
            a_refresh,
        ),
    ] {
        let r = client_refresh(&app, client, token).await;
        assert_eq!(r.status(), 400, "{who}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"], "invalid_grant", "{who}");
        assert!(body.get("access_token").is_none(), "{who}");
    }

    // Each still works where it was issued.
    assert_eq!(first_party_refresh(&app, own_refresh).await.status(), 200);
    let r = client_refresh(&app, (&id_a, Some(&secret_a)), a_refresh).await;
    assert_eq!(r.status(), 200);
    assert_eq!(count_audit(&app, "auth.refresh_reuse", "").await, 0);
}

// ------------------------------------------------------------------ item 9

#[tokio::test]
async fn parallel_replays_inside_the_grace_get_one_successor() {
    let app = spawn_app_with(&[("REFRESH_GRACE_SECS", "30")]).await;
    let t = first_party_tokens(&app, "racer").await;
    let r1 = t["refresh_token"].as_str().unwrap();

    let answers = join_all((0..24).map(|_| first_party_refresh(&app, r1))).await;
    let mut successors = Vec::new();
    for r in answers {
        assert_eq!(r.status(), 200, "racing tabs stay signed in");
        let body: Value = r.json().await.unwrap();
        successors.push(body["refresh_token"].as_str().unwrap().to_owned());
    }
    successors.sort();
    successors.dedup();
    assert_eq!(
        successors.len(),
        1,
        "one successor, not {} branches",
        successors.len()
    );
    assert_eq!(live_refresh_tokens(&app, "racer", false).await, 1);

    // That one successor carries the session on.
    let r = first_party_refresh(&app, &successors[0]).await;
    assert_eq!(r.status(), 200);
    assert_eq!(live_refresh_tokens(&app, "racer", false).await, 1);
}

#[tokio::test]
async fn a_replay_inside_the_grace_after_the_successor_was_used_revokes_the_session() {
    let app = spawn_app_with(&[("REFRESH_GRACE_SECS", "30")]).await;
    let t = first_party_tokens(&app, "forker").await;
    let r1 = t["refresh_token"].as_str().unwrap().to_owned();
    let second: Value = first_party_refresh(&app, &r1).await.json().await.unwrap();
    let r2 = second["refresh_token"].as_str().unwrap().to_owned();
    let third: Value = first_party_refresh(&app, &r2).await.json().await.unwrap();
    let r3 = third["refresh_token"].as_str().unwrap().to_owned();
    let access3 = third["access_token"].as_str().unwrap().to_owned();

    // The thief replays the first token seconds later: before the fix this
    // minted a second live branch beside r3.
    let r = first_party_refresh(&app, &r1).await;
    assert_eq!(r.status(), 401, "divergence is refused");
    let body: Value = r.json().await.unwrap();
    assert!(body.get("refresh_token").is_none());
    assert_eq!(
        count_audit(&app, "auth.refresh_reuse", "session_revoked").await,
        1
    );
    // No branch survives: the session is revoked with everything in it.
    assert_eq!(live_refresh_tokens(&app, "forker", false).await, 0);
    assert_eq!(first_party_refresh(&app, &r3).await.status(), 401);
    assert_eq!(me_status(&app, &access3).await, 401);
}

#[tokio::test]
async fn a_replay_inside_the_grace_is_idempotent_and_outside_it_revokes() {
    let app = spawn_app_with(&[("REFRESH_GRACE_SECS", "30")]).await;
    let t = first_party_tokens(&app, "replayer").await;
    let r1 = t["refresh_token"].as_str().unwrap().to_owned();
    let a: Value = first_party_refresh(&app, &r1).await.json().await.unwrap();
    let b: Value = first_party_refresh(&app, &r1).await.json().await.unwrap();
    assert_eq!(a["refresh_token"], b["refresh_token"], "the same successor");
    assert_eq!(live_refresh_tokens(&app, "replayer", false).await, 1);

    // The grace passes (the first use moved back in time).
    backend::db::run(&app.state.pool, |c| {
        diesel::update(refresh_tokens::table.filter(refresh_tokens::rotated_at.is_not_null()))
            .set(refresh_tokens::rotated_at.eq(Some(
                chrono::Utc::now().naive_utc() - chrono::Duration::seconds(60),
            )))
            .execute(c)?;
        Ok(())
    })
    .await
    .unwrap();
    let r = first_party_refresh(&app, &r1).await;
    assert_eq!(r.status(), 401, "outside the grace: theft assumed");
    assert_eq!(
        count_audit(&app, "auth.refresh_reuse", "session_revoked").await,
        1
    );
    assert_eq!(live_refresh_tokens(&app, "replayer", false).await, 0);
    let successor = a["refresh_token"].as_str().unwrap();
    assert_eq!(first_party_refresh(&app, successor).await.status(), 401);
}

#[tokio::test]
async fn a_clients_replay_inside_the_grace_gets_the_same_successor() {
    let app = spawn_app_with(&[("REFRESH_GRACE_SECS", "30")]).await;
    let (id, secret, tokens) = client_tokens(&app, "client_racer").await;
    let r1 = tokens["refresh_token"].as_str().unwrap();
    let answers = join_all((0..20).map(|_| client_refresh(&app, (&id, Some(&secret)), r1))).await;
    let mut successors = Vec::new();
    for r in answers {
        assert_eq!(r.status(), 200);
        let body: Value = r.json().await.unwrap();
        successors.push(body["refresh_token"].as_str().unwrap().to_owned());
    }
    successors.sort();
    successors.dedup();
    assert_eq!(successors.len(), 1);
    assert_eq!(live_refresh_tokens(&app, "client_racer", true).await, 1);
}

// ------------------------------------------------------------------ logout, password change

/// A browser's refresh with its refresh cookie: the status and the new
/// cookies, if any.
async fn cookie_refresh(app: &TestApp, cookie: &str) -> (u16, Option<String>) {
    let r = app
        .client
        .post(app.url("/api/v1/auth/refresh"))
        .header("Origin", &app.address)
        .header("Cookie", cookie)
        .send()
        .await
        .unwrap();
    (
        r.status().as_u16(),
        crate::helpers::session_cookie(r.headers()),
    )
}

/// The grace window lets a racing tab replay the token it just rotated and
/// get the same successor. A thief holding that pre-rotation token replays
/// it right after the owner signed out (well inside the window, its
/// successor never used): the session is over, so neither the old token
/// nor its successor mints anything, alone or many at once, for a bearer
/// client or a browser.
#[tokio::test]
async fn no_refresh_token_of_a_logged_out_session_works_even_inside_the_grace() {
    let app = spawn_app_with(&[("REFRESH_GRACE_SECS", "30")]).await;
    let t = first_party_tokens(&app, "leaver").await;
    let r1 = t["refresh_token"].as_str().unwrap().to_owned();
    let second: Value = first_party_refresh(&app, &r1).await.json().await.unwrap();
    let r2 = second["refresh_token"].as_str().unwrap().to_owned();
    let access2 = second["access_token"].as_str().unwrap().to_owned();
    // Inside the grace the old token still answers (so the checks below can fail).
    let again: Value = first_party_refresh(&app, &r1).await.json().await.unwrap();
    assert_eq!(again["refresh_token"], second["refresh_token"]);

    let r = app
        .client
        .post(app.url("/api/v1/auth/logout"))
        .bearer_auth(&access2)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let replays = join_all(
        [&r1, &r2, &r1, &r2, &r1, &r1]
            .into_iter()
            .map(|t| first_party_refresh(&app, t)),
    )
    .await;
    for r in replays {
        assert_eq!(r.status(), 401, "a token of the ended session");
        let body: Value = r.json().await.unwrap();
        assert!(body.get("refresh_token").is_none());
        assert!(body.get("access_token").is_none());
    }
    assert_eq!(me_status(&app, &access2).await, 401);
    assert_eq!(live_refresh_tokens(&app, "leaver", false).await, 0);

    // A browser: it refreshes (its old cookie is now the pre-rotation
    // token), signs out with the new cookies, and the old ones come back.
    let old = app.login("leaver", PASSWORD).await;
    let (status, new) = cookie_refresh(&app, &old).await;
    assert_eq!(status, 204);
    let new = new.expect("rotated cookies");
    let r = app
        .client
        .post(app.url("/api/v1/auth/logout"))
        .header("Origin", &app.address)
        .header("Cookie", &new)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    for cookie in [&old, &new] {
        let (status, cookies) = cookie_refresh(&app, cookie).await;
        assert_eq!((status, cookies), (401, None));
    }
    assert_eq!(live_refresh_tokens(&app, "leaver", false).await, 0);
}

/// A password change ends every other session (ASVS 3.3.3); the session
/// that made it stays signed in (`accounts::change_password`). So no
/// refresh token of another session may keep one alive: a second
/// browser's, a bearer client's (its current one and the one it rotated
/// moments ago, inside the grace) and an OAuth client's. The changing
/// session's own refresh goes on working.
#[tokio::test]
async fn after_a_password_change_no_other_sessions_refresh_token_works() {
    let app = spawn_app_with(&[("REFRESH_GRACE_SECS", "30")]).await;
    let bearer = first_party_tokens(&app, "rotator").await;
    let b1 = bearer["refresh_token"].as_str().unwrap().to_owned();
    let rotated: Value = first_party_refresh(&app, &b1).await.json().await.unwrap();
    let b2 = rotated["refresh_token"].as_str().unwrap().to_owned();
    let changer = app.login("rotator", PASSWORD).await;
    let other = app.login("rotator", PASSWORD).await;
    let (client_id, _) = oauth_client(&app, true, &[REDIRECT], &["account"]).await;
    let url = code_for(
        &app,
        &other,
        &oauth_flow::authorize_pairs(&client_id, REDIRECT),
    )
    .await;
    let r = oauth_flow::exchange(
        &app,
        &client_id,
        &param(&url, "code").unwrap(),
        REDIRECT,
        oauth_flow::VERIFIER,
    )
    .await;
    assert_eq!(r.status(), 200);
    let client: Value = r.json().await.unwrap();
    let client_refresh_token = client["refresh_token"].as_str().unwrap().to_owned();

    let r = app
        .post_json(
            "/api/v1/me/password",
            &json!({ "current_password": PASSWORD, "new_password": "Glacier-Mango-Fjord-77" }),
            Some(&changer),
        )
        .await;
    assert_eq!(r.status(), 200, "password changed");

    for (what, token) in [("bearer's current", &b2), ("bearer's rotated", &b1)] {
        let r = first_party_refresh(&app, token).await;
        assert_eq!(r.status(), 401, "{what}");
    }
    assert_eq!(cookie_refresh(&app, &other).await, (401, None));
    let r = client_refresh(&app, (&client_id, None), &client_refresh_token).await;
    assert_eq!(r.status(), 400, "the OAuth client's");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");
    assert_eq!(live_refresh_tokens(&app, "rotator", true).await, 0);

    // The changing session carries on, and only it.
    let (status, renewed) = cookie_refresh(&app, &changer).await;
    assert_eq!(status, 204, "the changing session keeps its refresh");
    let renewed = renewed.expect("new cookies");
    assert_eq!(app.get("/api/v1/me", Some(&renewed)).await.status(), 200);
    assert_eq!(live_refresh_tokens(&app, "rotator", false).await, 1);
}
