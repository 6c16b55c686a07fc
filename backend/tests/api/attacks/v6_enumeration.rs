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

/// One page of the admin search: status, usernames, `next`.
async fn admin_search(
    app: &TestApp,
    admin: &str,
    q: &str,
    after: Option<&str>,
    limit: &str,
) -> (u16, Vec<String>, Option<String>) {
    let mut query = vec![("q", q.to_owned()), ("limit", limit.to_owned())];
    if let Some(a) = after {
        query.push(("after", a.to_owned()));
    }
    let r = app
        .client
        .get(app.url("/api/v1/admin/users"))
        .query(&query)
        .header("Cookie", admin)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let page: Value = r.json().await.unwrap_or(Value::Null);
    let names = page["users"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|u| u["username"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default();
    (status, names, page["next"].as_str().map(str::to_owned))
}

/// The search by e-mail pages by a cursor `<email> <id>` the client hands
/// back, so an administrator's browser (or whoever edits the URL) can send
/// any text there. Hand-made cursors — empty, spaces only, an address
/// alone, a trailing space, several spaces, upper case, `%` and `_`,
/// very long, beyond every address — must give a 4xx or an ordinary page,
/// never a server error; an upper-case copy of a real cursor continues
/// exactly where the real one does, and a cursor from one prefix used with
/// another prefix shows only accounts of the prefix asked for.
#[tokio::test]
async fn hand_made_search_cursors_neither_fail_nor_skip_nor_leak_other_prefixes() {
    let app = spawn_app_with(&NO_THROTTLE).await;
    let (admin, _) = crate::helpers::signed_in_admin(&app, "cursor_boss").await;
    let mut expected = Vec::new();
    for i in 0..4 {
        let name = format!("twin_{i}");
        assert_eq!(
            register(&app, &name, "twin.claim@example.net")
                .await
                .status(),
            201
        );
        expected.push(name);
    }
    assert_eq!(
        register(&app, "outsider", "zz.other@example.net")
            .await
            .status(),
        201
    );
    expected.sort();

    // Pages of one: the real cursors, and the same cursors in upper case.
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let (status, names, next) =
            admin_search(&app, &admin, "twin.claim@", after.as_deref(), "1").await;
        assert_eq!(status, 200);
        if let Some(a) = &after {
            let upper =
                admin_search(&app, &admin, "TWIN.CLAIM@", Some(&a.to_uppercase()), "1").await;
            assert_eq!(
                (upper.0, &upper.1, upper.2.is_some()),
                (200, &names, next.is_some()),
                "an upper-case copy of {a}"
            );
        }
        seen.extend(names);
        match next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    // In (address, id) order: sorted by name, each account exactly once.
    seen.sort();
    assert_eq!(seen, expected, "each account once");

    // A real cursor of the twins' address, used with another prefix: only
    // that prefix's accounts, never the twins.
    let (_, _, first_next) = admin_search(&app, &admin, "twin.claim@", None, "1").await;
    let cursor = first_next.expect("a next page");
    let (status, names, _) = admin_search(&app, &admin, "zz.other@", Some(&cursor), "10").await;
    assert_eq!((status, names), (200, vec!["outsider".to_owned()]));
    let (status, names, _) = admin_search(&app, &admin, "a@", Some(&cursor), "10").await;
    assert_eq!((status, names), (200, Vec::<String>::new()));

    let long = "a".repeat(3000);
    for cursor in [
        "",
        " ",
        "   ",
        "twin.claim@example.net",
        "twin.claim@example.net ",
        "twin.claim@example.net  x",
        "%",
        "_ _",
        "\\",
        "é @ ü",
        "\u{10FFFF}",
        long.as_str(),
    ] {
        for q in ["twin.claim@", "@", "twin"] {
            let (status, names, _) = admin_search(&app, &admin, q, Some(cursor), "2").await;
            assert!(
                status == 200 || (400..500).contains(&status),
                "{q:?} after {cursor:?}: {status}"
            );
            if status == 200 && q == "twin.claim@" {
                assert!(
                    names.iter().all(|n| expected.contains(n)),
                    "{q:?} after {cursor:?}: {names:?}"
                );
            }
        }
    }
    // An address alone continues after every account with it.
    let (status, names, _) = admin_search(
        &app,
        &admin,
        "twin.claim@",
        Some("twin.claim@example.net"),
        "10",
    )
    .await;
    assert_eq!((status, names), (200, Vec::<String>::new()));
}

/// A NUL in the search text or cursor (`%00` in the URL) is text no
/// address or username holds. SQLite compares it like any other character;
/// PostgreSQL refuses to take it as a text parameter at all, and the error
/// came back as a 500 (and an error log line per request) instead of a 400
/// or an empty page: bad input must not be a server error.
#[tokio::test]
async fn a_nul_in_the_search_text_or_cursor_is_no_server_error() {
    let app = spawn_app_with(&NO_THROTTLE).await;
    let (admin, _) = crate::helpers::signed_in_admin(&app, "nul_boss").await;
    assert_eq!(
        register(&app, "nul_twin", "nul.claim@example.net")
            .await
            .status(),
        201
    );
    let mut failed = Vec::new();
    for (q, after) in [
        ("nul.claim@", Some("nul.claim@example.net\u{0}")),
        ("nul.claim@", Some("nul.claim@example.net \u{0}")),
        ("nul", Some("nul\u{0}")),
        ("nul.claim\u{0}@", None),
        ("nul\u{0}", None),
    ] {
        let (status, names, _) = admin_search(&app, &admin, q, after, "2").await;
        if !(status == 200 || (400..500).contains(&status)) {
            failed.push(format!("{q:?} after {after:?}: {status}"));
        } else if status == 200 {
            assert!(
                names.iter().all(|n| n.starts_with("nul")),
                "{q:?} after {after:?}: {names:?}"
            );
        }
    }
    assert!(failed.is_empty(), "server errors: {failed:#?}");
}

/// Eight registrations of one username at once (in every spelling of its
/// case, which names the same account): the check-then-insert must not let
/// two through, and the losers must not be told apart from any
/// registration of a taken name by their answer (no 500 from the unique
/// index, no other text).
#[tokio::test]
async fn parallel_registrations_of_one_username_create_one_account_and_answer_like_a_taken_name() {
    let app = spawn_app_with(&NO_THROTTLE).await;
    let spellings = [
        "race_name",
        "RACE_NAME",
        "Race_Name",
        "race_NAME",
        "rAce_name",
        "raCe_name",
        "racE_name",
        "race_nAme",
    ];
    let addresses: Vec<String> = (0..spellings.len())
        .map(|i| format!("racer{i}@example.net"))
        .collect();
    let requests = spellings
        .iter()
        .zip(&addresses)
        .map(|(name, address)| register(&app, name, address));
    let mut answers = Vec::new();
    for r in futures_util::future::join_all(requests).await {
        let status = r.status().as_u16();
        let mut body: Value = r.json().await.unwrap_or(Value::Null);
        if let Some(o) = body.as_object_mut() {
            o.remove("request_id");
        }
        answers.push((status, body));
    }
    let created = answers.iter().filter(|a| a.0 == 201).count();
    assert_eq!(created, 1, "{answers:?}");
    // What a registration of the taken name gets, one at a time.
    let r = register(&app, "RACE_name", "late@example.net").await;
    let status = r.status().as_u16();
    let mut taken: Value = r.json().await.unwrap();
    taken.as_object_mut().unwrap().remove("request_id");
    assert_eq!(status, 409);
    for answer in answers.iter().filter(|a| a.0 != 201) {
        assert_eq!(answer, &(409, taken.clone()));
    }
    let accounts: i64 = backend::db::run(&app.state.pool, |c| {
        use backend::db::schema::users;
        use diesel::prelude::*;
        Ok(users::table
            .filter(users::email.like("racer%@example.net"))
            .count()
            .get_result(c)?)
    })
    .await
    .unwrap();
    assert_eq!(accounts, 1);
}
