//! OAuth client management through the admin API: who may read and change
//! clients, the step-up, validation, secret rotation, deletion (and the
//! sessions it ends), the audit trail, the page.

use crate::helpers::oauth_flow::*;
use crate::helpers::{
    register_with_roles, signed_in_admin, spawn_app, spawn_app_with, TestApp, PASSWORD,
};
use backend::db::models::user::Role;
use reqwest::Method;
use serde_json::{json, Value};

const CLIENTS: &str = "/api/v1/admin/oauth/clients";

/// An elevated admin on a registered device: the cookie and the user id.
async fn admin(app: &TestApp, name: &str) -> (String, String) {
    let (cookie, _) = signed_in_admin(app, name).await;
    let (cookie, _) = app.with_device(&cookie, "Admin laptop").await;
    let id = app.user_id(&cookie).await;
    (cookie, id)
}

/// An auditor (read-only admin dashboard), signed in.
async fn auditor(app: &TestApp, name: &str) -> String {
    register_with_roles(app, name, &[Role::Auditor, Role::User]).await;
    app.login(name, PASSWORD).await
}

fn client_url(id: &str) -> String {
    format!("{CLIENTS}/{id}")
}

fn new_client(public: bool) -> Value {
    json!({
        "name": "Reports",
        "redirect_uris": [REDIRECT, "http://127.0.0.1/cb"],
        "public": public,
        "scopes": ["account", "admin:read"],
    })
}

/// Registers a client through the API; returns its id and secret.
async fn create(app: &TestApp, admin: &str, body: &Value) -> (String, Option<String>) {
    let r = app
        .send(Method::POST, CLIENTS, Some(body), Some(admin))
        .await;
    assert_eq!(r.status(), 201, "client registered");
    assert_eq!(r.headers()["cache-control"], "no-store");
    let created: Value = r.json().await.unwrap();
    let id = created["client"]["id"].as_str().unwrap().to_owned();
    let secret = created["client_secret"].as_str().map(str::to_owned);
    (id, secret)
}

async fn list(app: &TestApp, cookie: &str) -> Value {
    let r = app.get(CLIENTS, Some(cookie)).await;
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

/// The ids of the registered clients (the server registers its playground
/// client itself).
async fn ids(app: &TestApp, cookie: &str) -> Vec<String> {
    list(app, cookie).await["clients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect()
}

/// The audit entries with this action, newest first (through the admin API).
async fn audit(app: &TestApp, admin: &str, action: &str) -> Vec<Value> {
    let page: Value = app
        .get(&format!("/api/v1/admin/audit?action={action}"), Some(admin))
        .await
        .json()
        .await
        .unwrap();
    page["entries"].as_array().unwrap().clone()
}

/// A user's tokens through `client_id` (`basic`: a confidential client's
/// credentials), after signing in and allowing the request.
async fn tokens_through(
    app: &TestApp,
    user_cookie: &str,
    client_id: &str,
    basic: Option<(&str, &str)>,
) -> reqwest::Response {
    let url = code_for(app, user_cookie, &authorize_pairs(client_id, REDIRECT)).await;
    let code = param(&url, "code").expect("a code");
    match basic {
        Some(credentials) => {
            let body = query(&[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", VERIFIER),
            ]);
            post_form(app, "/oauth/token", &body, None, Some(credentials)).await
        }
        None => exchange(app, client_id, &code, REDIRECT, VERIFIER).await,
    }
}

#[tokio::test]
async fn an_admin_registers_edits_rotates_and_deletes_a_client() {
    let app = spawn_app().await;
    let (admin, admin_id) = admin(&app, "clients_admin").await;

    let (id, secret) = create(&app, &admin, &new_client(false)).await;
    let secret = secret.expect("a confidential client gets a secret");
    let listed = list(&app, &admin).await;
    let text = listed.to_string();
    assert!(!text.contains(&secret), "the list never shows a secret");
    let mine = listed["clients"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id.as_str())
        .expect("listed");
    assert_eq!(mine["public"], false);
    assert_eq!(mine["name"], "Reports");
    assert_eq!(mine["scopes"], json!(["account", "admin:read"]));
    assert_eq!(
        mine["redirect_uris"],
        json!([REDIRECT, "http://127.0.0.1/cb"])
    );
    assert_eq!(mine["created_by"], admin_id.as_str());
    assert!(listed["scopes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["name"] == "account"));

    // Edit: name, one redirect URI less, a scope less, an audience.
    let edit = json!({
        "name": "Reports v2",
        "redirect_uris": [REDIRECT],
        "scopes": ["account"],
        "audience": "https://reports.example",
    });
    let r = app
        .send(Method::PUT, &client_url(&id), Some(&edit), Some(&admin))
        .await;
    assert_eq!(r.status(), 200);
    let one: Value = app
        .get(&client_url(&id), Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(one["name"], "Reports v2");
    assert_eq!(one["redirect_uris"], json!([REDIRECT]));
    assert_eq!(one["scopes"], json!(["account"]));
    assert_eq!(one["audience"], "https://reports.example");
    assert!(one["updated_at"].is_string());

    // Rotate: a new secret, shown once.
    let r = app
        .send(
            Method::POST,
            &format!("{}/secret", client_url(&id)),
            Some(&json!({})),
            Some(&admin),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let rotated: Value = r.json().await.unwrap();
    let new_secret = rotated["client_secret"].as_str().unwrap().to_owned();
    assert_ne!(new_secret, secret);
    assert_eq!(rotated["client_id"], id.as_str());

    // A public client has no secret, so nothing to rotate.
    let (public_id, none) = create(&app, &admin, &new_client(true)).await;
    assert_eq!(none, None);
    let r = app
        .send(
            Method::POST,
            &format!("{}/secret", client_url(&public_id)),
            Some(&json!({})),
            Some(&admin),
        )
        .await;
    assert_eq!(r.status(), 409);

    // Delete.
    let r = app
        .send(Method::DELETE, &client_url(&id), None, Some(&admin))
        .await;
    assert_eq!(r.status(), 204);
    assert_eq!(app.get(&client_url(&id), Some(&admin)).await.status(), 404);
    let r = app
        .send(Method::DELETE, &client_url(&id), None, Some(&admin))
        .await;
    assert_eq!(r.status(), 404);

    // Audited: the admin as actor, the client as target, no secret anywhere.
    for action in [
        "oauth.client_created",
        "oauth.client_updated",
        "oauth.client_secret_rotated",
        "oauth.client_deleted",
    ] {
        let entries = audit(&app, &admin, action).await;
        let entry = entries
            .iter()
            .find(|e| e["target"] == id.as_str())
            .unwrap_or_else(|| panic!("{action} recorded"));
        assert_eq!(entry["actor"], admin_id.as_str(), "{action}");
        assert_eq!(entry["outcome"], "success", "{action}");
    }
    let updated = audit(&app, &admin, "oauth.client_updated").await;
    let detail: Value = serde_json::from_str(updated[0]["detail"].as_str().unwrap()).unwrap();
    assert_eq!(
        detail["changed"]["name"],
        json!({ "from": "Reports", "to": "Reports v2" })
    );
    assert_eq!(
        detail["changed"]["scopes"],
        json!({ "added": [], "removed": ["admin:read"] })
    );
    assert_eq!(
        detail["changed"]["redirect_uris"]["removed"],
        json!(["http://127.0.0.1/cb"])
    );
    assert_eq!(
        detail["changed"]["audience"]["to"],
        "https://reports.example"
    );
    for (action, _, _, detail) in app.audit_actions().await {
        assert!(
            !detail.contains(&secret) && !detail.contains(&new_secret),
            "{action} holds a secret"
        );
    }
}

#[tokio::test]
async fn users_and_auditors_cannot_change_clients_and_auditors_can_read() {
    let app = spawn_app().await;
    let (admin, _) = admin(&app, "clients_rbac_admin").await;
    let (id, _) = create(&app, &admin, &new_client(false)).await;
    let user = app.signed_in("clients_rbac_user").await;
    let (user, _) = app.with_device(&user, "User laptop").await;
    let auditor = auditor(&app, "clients_rbac_auditor").await;
    let (auditor, _) = app.with_device(&auditor, "Auditor laptop").await;

    assert_eq!(app.get(CLIENTS, Some(&user)).await.status(), 403);
    let listed = list(&app, &auditor).await;
    assert!(ids(&app, &auditor).await.contains(&id));
    assert_eq!(
        app.get(&client_url(&id), Some(&auditor)).await.status(),
        200
    );

    let edit = json!({ "name": "Taken over", "redirect_uris": [REDIRECT], "scopes": [] });
    let (one, secret_url) = (client_url(&id), format!("{}/secret", client_url(&id)));
    let (register, empty) = (new_client(true), json!({}));
    let writes: [(Method, &str, Option<&Value>); 4] = [
        (Method::POST, CLIENTS, Some(&register)),
        (Method::PUT, &one, Some(&edit)),
        (Method::POST, &secret_url, Some(&empty)),
        (Method::DELETE, &one, None),
    ];
    for (method, path, body) in &writes {
        for (who, cookie) in [("user", &user), ("auditor", &auditor)] {
            let r = app.send(method.clone(), path, *body, Some(cookie)).await;
            assert_eq!(r.status(), 403, "{who}: {method} {path}");
        }
    }
    // Nothing changed.
    let after = list(&app, &admin).await;
    assert_eq!(after["clients"], listed["clients"]);
    assert!(audit(&app, &admin, "oauth.client_updated").await.is_empty());
}

#[tokio::test]
async fn a_change_needs_a_fresh_second_factor_and_a_registered_device() {
    let app = spawn_app_with(&[("STEP_UP_WINDOW_SECS", "1")]).await;
    let (admin_no_device, secret) = signed_in_admin(&app, "clients_stepup").await;
    // No registered device: refused like a role change.
    let r = app
        .send(
            Method::POST,
            CLIENTS,
            Some(&new_client(true)),
            Some(&admin_no_device),
        )
        .await;
    assert_eq!(r.status(), 403);
    let (admin, _) = app.with_device(&admin_no_device, "Admin laptop").await;
    let before = ids(&app, &admin).await;
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let r = app
        .send(Method::POST, CLIENTS, Some(&new_client(true)), Some(&admin))
        .await;
    assert_eq!(r.status(), 401);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"],
        "step_up_required"
    );
    assert_eq!(ids(&app, &admin).await, before, "nothing registered");
    crate::helpers::next_totp_step(&app);
    let r = app
        .post_json(
            "/api/v1/me/mfa/step-up",
            &json!({ "code": crate::helpers::totp_code(&app, &secret) }),
            Some(&admin),
        )
        .await;
    assert_eq!(r.status(), 204);
    create(&app, &admin, &new_client(true)).await;
}

#[tokio::test]
async fn bad_input_is_a_400_and_changes_nothing() {
    let app = spawn_app().await;
    let (admin, _) = admin(&app, "clients_input").await;
    let before = ids(&app, &admin).await;
    let with = |field: &str, value: Value| {
        let mut body = new_client(false);
        body[field] = value;
        body
    };
    let bad = [
        with("name", json!("")),
        with("name", json!("   ")),
        with("name", json!("x".repeat(101))),
        with("redirect_uris", json!([])),
        with("redirect_uris", json!(["http://client.example/cb"])),
        with("redirect_uris", json!(["https://client.example/cb#frag"])),
        with("redirect_uris", json!(["not a uri"])),
        with("scopes", json!(["users:write"])),
        with("scopes", json!(["account admin:read"])),
        with("audience", json!("https://a.example/x y")),
        with("audience", json!("https://a.example/#frag")),
        with("extra", json!(true)),
    ];
    for body in &bad {
        let r = app
            .send(Method::POST, CLIENTS, Some(body), Some(&admin))
            .await;
        assert_eq!(r.status(), 400, "{body}");
        let err: Value = r.json().await.unwrap();
        assert!(err["error"].is_string() && err["request_id"].is_string());
    }
    assert_eq!(ids(&app, &admin).await, before, "nothing registered");
    assert!(audit(&app, &admin, "oauth.client_created").await.is_empty());

    // The same rules for an edit, and an unchanged client afterwards.
    let (id, _) = create(&app, &admin, &new_client(false)).await;
    let before: Value = app
        .get(&client_url(&id), Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    for mut body in bad {
        if let Some(o) = body.as_object_mut() {
            o.remove("public");
        }
        let r = app
            .send(Method::PUT, &client_url(&id), Some(&body), Some(&admin))
            .await;
        assert_eq!(r.status(), 400, "{body}");
    }
    let after: Value = app
        .get(&client_url(&id), Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(before, after);
    assert!(audit(&app, &admin, "oauth.client_updated").await.is_empty());

    // Unknown clients are 404s.
    let edit = json!({ "name": "x", "redirect_uris": [REDIRECT], "scopes": [] });
    let unknown = client_url("no-such-client");
    assert_eq!(app.get(&unknown, Some(&admin)).await.status(), 404);
    let empty = json!({});
    for (method, path, body) in [
        (Method::PUT, unknown.clone(), Some(&edit)),
        (Method::DELETE, unknown.clone(), None),
        (Method::POST, format!("{unknown}/secret"), Some(&empty)),
    ] {
        let r = app.send(method.clone(), &path, body, Some(&admin)).await;
        assert_eq!(r.status(), 404, "{method} {path}");
    }
}

#[tokio::test]
async fn rotating_a_secret_retires_the_old_one_at_the_token_endpoint() {
    let app = spawn_app().await;
    let (admin, _) = admin(&app, "clients_rotate").await;
    let (id, old) = create(&app, &admin, &new_client(false)).await;
    let old = old.unwrap();
    let user = app.signed_in("clients_rotate_user").await;
    let r = tokens_through(&app, &user, &id, Some((&id, &old))).await;
    assert_eq!(r.status(), 200, "the registered secret works");

    let rotated: Value = app
        .send(
            Method::POST,
            &format!("{}/secret", client_url(&id)),
            Some(&json!({})),
            Some(&admin),
        )
        .await
        .json()
        .await
        .unwrap();
    let new = rotated["client_secret"].as_str().unwrap().to_owned();

    let r = tokens_through(&app, &user, &id, Some((&id, &old))).await;
    assert_eq!(r.status(), 401, "the old secret is refused");
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_client");
    let r = tokens_through(&app, &user, &id, Some((&id, &new))).await;
    assert_eq!(r.status(), 200, "the new secret works");
}

#[tokio::test]
async fn deleting_a_client_ends_the_sessions_it_opened() {
    let app = spawn_app().await;
    let (admin, _) = admin(&app, "clients_delete").await;
    let (id, _) = create(&app, &admin, &new_client(true)).await;
    let (other, _) = create(&app, &admin, &new_client(true)).await;
    let user = app.signed_in("clients_delete_user").await;
    let tokens: Value = tokens_through(&app, &user, &id, None)
        .await
        .json()
        .await
        .unwrap();
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    let kept: Value = tokens_through(&app, &user, &other, None)
        .await
        .json()
        .await
        .unwrap();
    let kept = kept["access_token"].as_str().unwrap().to_owned();
    assert_eq!(me_status(&app, &access).await, 200);

    let r = app
        .send(Method::DELETE, &client_url(&id), None, Some(&admin))
        .await;
    assert_eq!(r.status(), 204);
    assert_eq!(
        me_status(&app, &access).await,
        401,
        "its token stops working"
    );
    assert_eq!(
        me_status(&app, &kept).await,
        200,
        "another client's does not"
    );
    assert_eq!(
        app.get("/api/v1/me", Some(&user)).await.status(),
        200,
        "the user's own browser session goes on"
    );
    let body = query(&[
        ("grant_type", "refresh_token"),
        ("refresh_token", &refresh),
        ("client_id", &id),
    ]);
    let r = post_form(&app, "/oauth/token", &body, None, None).await;
    assert_eq!(r.status(), 401, "an unknown client now");

    let entry = audit(&app, &admin, "oauth.client_deleted").await;
    let detail: Value = serde_json::from_str(entry[0]["detail"].as_str().unwrap()).unwrap();
    assert_eq!(detail["sessions_revoked"], 1);
    let sid = {
        let claims = access.split('.').nth(1).unwrap();
        use base64::Engine;
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(claims)
            .unwrap();
        serde_json::from_slice::<Value>(&raw).unwrap()["sid"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let session = backend::db::run(&app.state.pool, move |c| {
        Ok(backend::db::models::session::Session::find(c, &sid)?)
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!(
        session.revoked_reason.as_deref(),
        Some("oauth_client_deleted")
    );
}

#[tokio::test]
async fn removing_a_scope_ends_the_sessions_granted_it() {
    let app = spawn_app().await;
    let (admin, _) = admin(&app, "clients_scope").await;
    let (id, _) = create(&app, &admin, &new_client(true)).await;
    let user = app.signed_in("clients_scope_user").await;
    // authorize_pairs asks for `account`.
    let tokens: Value = tokens_through(&app, &user, &id, None)
        .await
        .json()
        .await
        .unwrap();
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let edit =
        |scopes: Value| json!({ "name": "Reports", "redirect_uris": [REDIRECT], "scopes": scopes });
    let r = app
        .send(
            Method::PUT,
            &client_url(&id),
            Some(&edit(json!(["account"]))),
            Some(&admin),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        me_status(&app, &access).await,
        200,
        "a scope it was not granted"
    );
    let r = app
        .send(
            Method::PUT,
            &client_url(&id),
            Some(&edit(json!(["admin:read"]))),
            Some(&admin),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        me_status(&app, &access).await,
        401,
        "its granted scope went"
    );
    let updated = audit(&app, &admin, "oauth.client_updated").await;
    let detail: Value = serde_json::from_str(updated[0]["detail"].as_str().unwrap()).unwrap();
    assert_eq!(detail["sessions_revoked"], 1);
}

#[tokio::test]
async fn the_page_renders_on_the_server_for_admins_only() {
    let app = spawn_app().await;
    let (admin, _) = admin(&app, "clients_page").await;
    let (_, secret) = create(&app, &admin, &new_client(false)).await;
    let r = app.get("/admin/oauth-clients", Some(&admin)).await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("OAuth clients"), "{html}");
    assert!(html.contains("data-testid=\"client-row\""), "{html}");
    assert!(html.contains("Reports"));
    assert!(html.contains("Confidential"));
    assert!(html.contains("https://client.example/cb"));
    assert!(html.contains("new-client-form"), "the registration form");
    assert!(!html.contains(&secret.unwrap()), "never the secret");

    let user = app.signed_in("clients_page_user").await;
    let r = app.get("/admin/oauth-clients", Some(&user)).await;
    assert_eq!(r.status(), 403);
    let html = r.text().await.unwrap();
    assert!(html.contains("Not allowed"));
    assert!(!html.contains("client-row"));
}

#[tokio::test]
async fn the_openapi_document_describes_the_client_routes() {
    let app = spawn_app().await;
    let doc: Value = app
        .get("/api/openapi.json", None)
        .await
        .json()
        .await
        .unwrap();
    for (path, methods) in [
        (CLIENTS, &["get", "post"][..]),
        (
            "/api/v1/admin/oauth/clients/{id}",
            &["get", "put", "delete"][..],
        ),
        ("/api/v1/admin/oauth/clients/{id}/secret", &["post"][..]),
    ] {
        for method in methods {
            assert!(
                doc["paths"][path][method].is_object(),
                "{method} {path} is undocumented"
            );
        }
    }
    for schema in [
        "OAuthClientList",
        "NewOAuthClientRequest",
        "UpdateOAuthClientRequest",
        "OAuthClientCreated",
        "OAuthClientSecret",
    ] {
        assert!(doc["components"]["schemas"][schema].is_object(), "{schema}");
    }
}
