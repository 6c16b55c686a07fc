//! ASVS 5.0 V6.3.8 (no account enumeration): registering does not tell an
//! e-mail address that has an account from one that has none, by its answer
//! or by anything observable afterwards.

use crate::helpers::{prove_email, spawn_app_with, TestApp, PASSWORD};
use serde_json::{json, Value};

/// No growing delays or locks: the probes sign in wrongly on purpose.
const NO_THROTTLE: [(&str, &str); 2] = [
    ("LOGIN_DELAY_AFTER", "1000000"),
    ("LOGIN_LOCK_AFTER", "100"),
];

/// The prober's own password (not the victim's).
const PROBE_PASSWORD: &str = "Probe-Passphrase-73";

/// What the outside review's three probes observe after registering `name`
/// with `address`.
#[derive(Debug, PartialEq)]
struct Trace {
    /// The registration's status and the names of its body's fields.
    registered: (u16, Vec<String>),
    /// Registering the same name again, with an address nobody has.
    same_name_again: (u16, String),
    /// Signing in with the first request's credentials, by name.
    by_name: u16,
    /// The same, by address: status and error text.
    by_address: (u16, String),
}

async fn error_of(r: reqwest::Response) -> (u16, String) {
    let status = r.status().as_u16();
    let body: Value = r.json().await.unwrap_or(Value::Null);
    (
        status,
        body["error"].as_str().unwrap_or_default().to_owned(),
    )
}

async fn register(app: &TestApp, name: &str, address: &str) -> reqwest::Response {
    let body = json!({ "email": address, "username": name, "password": PROBE_PASSWORD });
    app.post_json("/api/v1/auth/register", &body, None).await
}

async fn sign_in(app: &TestApp, login: &str) -> reqwest::Response {
    let body = json!({ "login": login, "password": PROBE_PASSWORD });
    app.post_json("/api/v1/auth/login", &body, None).await
}

async fn probe(app: &TestApp, name: &str, address: &str) -> Trace {
    let r = register(app, name, address).await;
    let status = r.status().as_u16();
    let body: Value = r.json().await.unwrap_or(Value::Null);
    let mut fields: Vec<String> = body
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    fields.sort();
    let unused = format!("{name}-unused@example.net");
    let same_name_again = error_of(register(app, name, &unused).await).await;
    let by_name = sign_in(app, name).await.status().as_u16();
    let by_address = error_of(sign_in(app, address).await).await;
    Trace {
        registered: (status, fields),
        same_name_again,
        by_name,
        by_address,
    }
}

#[tokio::test]
async fn registering_with_a_taken_address_leaves_the_same_trace_as_with_a_new_one() {
    let app = spawn_app_with(&NO_THROTTLE).await;
    assert_eq!(
        app.register("victim", "victim@example.org").await.status(),
        201
    );
    prove_email(&app, "victim").await;

    let taken = probe(&app, "probe_taken", "victim@example.org").await;
    let fresh = probe(&app, "probe_fresh", "nobody@example.org").await;
    assert_eq!(taken, fresh, "a taken address is told apart from a new one");
    // And what both look like: a real account whose name is now taken and
    // whose password works, and an address that signs in to nothing yet.
    assert_eq!(taken.registered.0, 201);
    assert_eq!(taken.same_name_again.0, 409);
    assert_eq!(taken.by_name, 200);
    assert_eq!(taken.by_address.0, 401);

    // The owner of the address keeps it: signing in by it still works, and
    // reaches the owner's account, not the prober's.
    let cookie = app.login("victim@example.org", PASSWORD).await;
    let me: Value = app
        .get("/api/v1/me", Some(&cookie))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["username"], "victim");
    assert_eq!(me["email_verified"], true);
    let prober = app.login("probe_taken", PROBE_PASSWORD).await;
    let me: Value = app
        .get("/api/v1/me", Some(&prober))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (me["email"].as_str(), me["email_verified"].as_bool()),
        (Some("victim@example.org"), Some(false))
    );
}

/// Since an address is only a claim, many accounts may hold one. The admin
/// search by e-mail paged with `email > cursor`: every account after the
/// first on a page edge that shares its address was skipped, so anyone
/// could hide an account from the administrator's search by registering
/// others with its address. Paging follows (address, id) now.
#[tokio::test]
async fn claims_on_one_address_cannot_hide_an_account_from_the_admin_search() {
    let app = spawn_app_with(&NO_THROTTLE).await;
    let (admin, _) = crate::helpers::signed_in_admin(&app, "search_boss").await;
    let mut expected = vec!["hidden_owner".to_owned()];
    assert_eq!(
        register(&app, "hidden_owner", "shared.claim@example.net")
            .await
            .status(),
        201
    );
    prove_email(&app, "hidden_owner").await;
    for i in 0..4 {
        let name = format!("claimant_{i}");
        assert_eq!(
            register(&app, &name, "shared.claim@example.net")
                .await
                .status(),
            201
        );
        expected.push(name);
    }
    expected.sort();
    for limit in ["1", "2", "3"] {
        let mut seen = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let mut query = vec![("q", "shared.claim@".to_owned()), ("limit", limit.into())];
            if let Some(a) = &after {
                query.push(("after", a.clone()));
            }
            let r = app
                .client
                .get(app.url("/api/v1/admin/users"))
                .query(&query)
                .header("Cookie", &admin)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            let page: Value = r.json().await.unwrap();
            seen.extend(
                page["users"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|u| u["username"].as_str().unwrap().to_owned()),
            );
            match page["next"].as_str() {
                Some(next) => after = Some(next.to_owned()),
                None => break,
            }
        }
        seen.sort();
        assert_eq!(seen, expected, "pages of {limit}");
    }
}
