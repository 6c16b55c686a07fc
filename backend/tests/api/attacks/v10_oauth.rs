//! ASVS 5.0 V10 (OAuth and OIDC): consent, scopes, metadata.

use crate::helpers::oauth_flow::*;
use crate::helpers::{oauth_client, spawn_app, spawn_app_with, TestApp};
use backend::db::schema::oauth_codes;
use diesel::prelude::*;
use serde_json::Value;

/// What the decision endpoint answers a caller that is not the user in a
/// first-party browser session (a bearer token, an OAuth client's session).
const FIRST_PARTY_ONLY: &str = "first_party_session_required";
/// What it answers a decision that does not name a consent page this very
/// session loaded (missing, made up, used, expired, another session's).
const NO_SUCH_CONSENT: &str =
    "this consent request is unknown, expired or already answered: start again from the application";

async fn code_rows(app: &TestApp) -> i64 {
    backend::db::run(&app.state.pool, |c| {
        Ok(oauth_codes::table.count().get_result::<i64>(c)?)
    })
    .await
    .unwrap()
}

/// The audit entries written after the first `skip`: (action, outcome, detail).
async fn audit_since(app: &TestApp, skip: usize) -> Vec<(String, String, String)> {
    app.audit_actions()
        .await
        .into_iter()
        .skip(skip)
        .map(|(a, o, _, d)| (a, o, d))
        .collect()
}

fn pairs_with_scope<'a>(
    client_id: &'a str,
    redirect: &'a str,
    scope: &'a str,
) -> Vec<(&'a str, &'a str)> {
    authorize_pairs(client_id, redirect)
        .into_iter()
        .map(|(k, v)| if k == "scope" { (k, scope) } else { (k, v) })
        .collect()
}

/// An `account`-scoped access token of a public client for `username`,
/// obtained through the real flow; the client may ask for `account admin:read`.
async fn client_token(app: &TestApp, username: &str) -> (String, String, String) {
    let (id, _) = oauth_client(app, true, &[REDIRECT], &["account", "admin:read"]).await;
    let cookie = app.signed_in(username).await;
    let url = code_for(app, &cookie, &authorize_pairs(&id, REDIRECT)).await;
    let r = exchange(app, &id, &param(&url, "code").unwrap(), REDIRECT, VERIFIER).await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["scope"], "account");
    (
        id,
        cookie,
        body["access_token"].as_str().unwrap().to_owned(),
    )
}

async fn error_of(r: reqwest::Response) -> String {
    let body: Value = r.json().await.expect("the JSON error body");
    assert!(body["request_id"].is_string(), "{body}");
    body["error"].as_str().unwrap_or_default().to_owned()
}

/// Issue 16, item 1: a client holding a user's `account` token approved
/// itself (and the playground) for `admin:read` through the decision
/// endpoint: bearer, no cookie, no Origin, 303 with `code=`.
#[tokio::test]
async fn v10_a_clients_token_cannot_approve_itself_or_another_client() {
    let app = spawn_app().await;
    let (id, _, token) = client_token(&app, "v10_victim").await;
    let playground_redirect = app.url("/playground/oauth");
    let codes = code_rows(&app).await;
    let audits = app.audit_actions().await.len();

    let wider = pairs_with_scope(&id, REDIRECT, "account admin:read");
    let playground = pairs_with_scope("oauth-playground", &playground_redirect, "account");
    for pairs in [&wider, &playground] {
        let mut form = pairs.clone();
        form.push(("decision", "allow"));
        // As a bearer: no cookie, no Origin.
        let r = app
            .client
            .post(app.url("/oauth/authorize/decision"))
            .bearer_auth(&token)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(query(&form))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "bearer: {pairs:?}");
        assert!(r.headers().get("location").is_none());
        assert_eq!(error_of(r).await, FIRST_PARTY_ONLY);
        // The same token as the access cookie, with a same-site Origin (a
        // client can write any header): still the client's session.
        let r = app
            .client
            .post(app.url("/oauth/authorize/decision"))
            .header("Cookie", format!("__Host-access={token}"))
            .header("Origin", &app.address)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(query(&form))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "cookie: {pairs:?}");
        assert!(r.headers().get("location").is_none());
        assert_eq!(error_of(r).await, FIRST_PARTY_ONLY);
    }
    // Nor may the client's token load a consent page (and get its id).
    let r = app
        .client
        .get(app.url(&format!("/oauth/authorize?{}", query(&wider))))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(error_of(r).await, FIRST_PARTY_ONLY);

    assert_eq!(code_rows(&app).await, codes, "no code was issued");
    let written = audit_since(&app, audits).await;
    assert_eq!(written.len(), 5, "each refusal audited once: {written:?}");
    for (action, outcome, detail) in &written {
        // The decision route is first-party only in the policy table, so
        // the enforcement point refuses a client's session there; the
        // consent page (public: it sends anonymous users to sign in) is
        // refused by its handler.
        assert!(
            matches!(
                (action.as_str(), outcome.as_str()),
                ("oauth.consent_refused" | "access.denied", "denied")
            ),
            "{action} {outcome}"
        );
        assert!(
            detail.contains("bearer_token")
                || detail.contains("oauth_client_session")
                || detail.contains("first_party_session_required"),
            "{detail}"
        );
        assert!(!detail.contains(&token), "no token in the audit log");
    }
}

/// A first-party session that never loaded the consent page posts a
/// decision with fields of its own choosing (a wider scope, another client).
#[tokio::test]
async fn v10_a_decision_needs_a_consent_page_this_session_loaded() {
    let app = spawn_app().await;
    let (id, _) = oauth_client(&app, true, &[REDIRECT], &["account", "admin:read"]).await;
    let cookie = app.signed_in("v10_forger").await;
    let codes = code_rows(&app).await;
    let audits = app.audit_actions().await.len();
    let playground_redirect = app.url("/playground/oauth");
    let forged = [
        pairs_with_scope(&id, REDIRECT, "account admin:read"),
        pairs_with_scope("oauth-playground", &playground_redirect, "account"),
    ];
    for pairs in &forged {
        for consent_id in [None, Some("made-up"), Some(&*"A".repeat(43))] {
            let mut form = pairs.clone();
            if let Some(c) = consent_id {
                form.push(("consent_id", c));
            }
            form.push(("decision", "allow"));
            let r = app
                .post_form("/oauth/authorize/decision", &query(&form), Some(&cookie))
                .await;
            assert_eq!(r.status(), 400, "{form:?}");
            assert!(r.headers().get("location").is_none());
            assert_eq!(error_of(r).await, NO_SUCH_CONSENT);
        }
    }
    assert_eq!(code_rows(&app).await, codes, "no code was issued");
    let written = audit_since(&app, audits).await;
    assert_eq!(written.len(), 6, "each refusal audited once: {written:?}");
    assert!(written
        .iter()
        .all(|(a, o, _)| a == "oauth.consent_refused" && o == "denied"));
}

async fn consent_page(app: &TestApp, cookie: &str, pairs: &[(&str, &str)]) -> String {
    let r = app
        .get(&format!("/oauth/authorize?{}", query(pairs)), Some(cookie))
        .await;
    assert_eq!(r.status(), 200, "the consent page");
    r.text().await.unwrap()
}

/// Editing the form (another scope, client or redirect URI next to the
/// consent id) changes nothing: the code is for what the page showed.
#[tokio::test]
async fn v10_the_code_is_for_the_rendered_request_not_the_posted_fields() {
    let app = spawn_app().await;
    let (id, _) = oauth_client(&app, true, &[REDIRECT], &["account", "admin:read"]).await;
    let cookie = app.signed_in("v10_editor").await;
    let html = consent_page(&app, &cookie, &authorize_pairs(&id, REDIRECT)).await;
    let cid = consent_id(&html);
    assert!(
        !html.contains("name=\"scope\"") && !html.contains("name=\"client_id\""),
        "the page carries only the id"
    );
    let form = query(&[
        ("consent_id", &cid),
        ("decision", "allow"),
        ("scope", "account admin:read"),
        ("client_id", "oauth-playground"),
        ("redirect_uri", "https://evil.example/cb"),
        ("state", "forged"),
    ]);
    let r = app
        .post_form("/oauth/authorize/decision", &form, Some(&cookie))
        .await;
    assert_eq!(r.status(), 303);
    let url = location(&r);
    assert!(url.starts_with(&format!("{REDIRECT}?code=")), "{url}");
    assert_eq!(param(&url, "state").as_deref(), Some(STATE));
    let r = exchange(&app, &id, &param(&url, "code").unwrap(), REDIRECT, VERIFIER).await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body["scope"], "account",
        "the rendered scope, not the posted one"
    );
}

/// A double submit (or a replay) of one consent page, 24 at once: exactly
/// one code.
#[tokio::test]
async fn v10_a_consent_id_is_used_once_under_parallel_submits() {
    let app = spawn_app().await;
    let (id, _) = oauth_client(&app, true, &[REDIRECT], &["account"]).await;
    let cookie = app.signed_in("v10_double").await;
    let html = consent_page(&app, &cookie, &authorize_pairs(&id, REDIRECT)).await;
    let cid = consent_id(&html);
    let codes = code_rows(&app).await;
    let audits = app.audit_actions().await.len();
    let form = query(&[("consent_id", &cid), ("decision", "allow")]);
    let answers = futures_util::future::join_all(
        (0..24).map(|_| app.post_form("/oauth/authorize/decision", &form, Some(&cookie))),
    )
    .await;
    let statuses: Vec<u16> = answers.iter().map(|r| r.status().as_u16()).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 303).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 400).count(),
        23,
        "{statuses:?}"
    );
    assert_eq!(code_rows(&app).await, codes + 1, "one code");
    let written = audit_since(&app, audits).await;
    let count = |action: &str, outcome: &str| {
        written
            .iter()
            .filter(|(a, o, _)| a == action && o == outcome)
            .count()
    };
    assert_eq!(count("oauth.authorize", "success"), 1, "{written:?}");
    assert_eq!(count("oauth.consent_refused", "denied"), 23, "{written:?}");
}

/// A consent id works only for the session that loaded the page: not for
/// the same user's other session, not for another user; those attempts
/// change nothing, so the owner can still answer.
#[tokio::test]
async fn v10_a_consent_id_belongs_to_the_session_that_loaded_the_page() {
    let app = spawn_app().await;
    let (id, _) = oauth_client(&app, true, &[REDIRECT], &["account"]).await;
    let owner = app.signed_in("v10_owner").await;
    let second = app.login("v10_owner", crate::helpers::PASSWORD).await;
    let other = app.signed_in("v10_other").await;
    let html = consent_page(&app, &owner, &authorize_pairs(&id, REDIRECT)).await;
    let form = query(&[("consent_id", &consent_id(&html)), ("decision", "allow")]);
    for cookie in [&second, &other] {
        let r = app
            .post_form("/oauth/authorize/decision", &form, Some(cookie))
            .await;
        assert_eq!(r.status(), 400);
        assert_eq!(error_of(r).await, NO_SUCH_CONSENT);
    }
    let r = app
        .post_form("/oauth/authorize/decision", &form, Some(&owner))
        .await;
    assert_eq!(r.status(), 303);
    assert!(param(&location(&r), "code").is_some());
}

/// A page left open past the consent request's lifetime cannot be answered.
#[tokio::test]
async fn v10_an_expired_consent_request_is_refused() {
    use backend::db::schema::oauth_consent_requests;
    let app = spawn_app().await;
    let (id, _) = oauth_client(&app, true, &[REDIRECT], &["account"]).await;
    let cookie = app.signed_in("v10_late").await;
    let html = consent_page(&app, &cookie, &authorize_pairs(&id, REDIRECT)).await;
    let past = chrono::Utc::now().naive_utc() - chrono::Duration::seconds(1);
    backend::db::run(&app.state.pool, move |c| {
        diesel::update(oauth_consent_requests::table)
            .set(oauth_consent_requests::expires_at.eq(past))
            .execute(c)?;
        Ok(())
    })
    .await
    .unwrap();
    let form = query(&[("consent_id", &consent_id(&html)), ("decision", "allow")]);
    let r = app
        .post_form("/oauth/authorize/decision", &form, Some(&cookie))
        .await;
    assert_eq!(r.status(), 400);
    assert_eq!(error_of(r).await, NO_SUCH_CONSENT);
}

/// Grants are recorded; a client that later asks for more gets a page that
/// names what is new, and a client never gets a scope the user did not
/// approve on a rendered page.
#[tokio::test]
async fn v10_a_wider_request_names_the_new_scopes() {
    let app = spawn_app().await;
    let (id, _) = oauth_client(&app, true, &[REDIRECT], &["account", "admin:read"]).await;
    let cookie = app.signed_in("v10_granter").await;
    let first = consent_page(&app, &cookie, &authorize_pairs(&id, REDIRECT)).await;
    assert!(
        !first.contains("data-new-scope"),
        "nothing granted yet, nothing 'new' either"
    );
    let audits = app.audit_actions().await.len();
    let url = code_for(&app, &cookie, &authorize_pairs(&id, REDIRECT)).await;
    let code = param(&url, "code").unwrap();
    let written = audit_since(&app, audits).await;
    let (_, _, detail) = written
        .iter()
        .find(|(a, o, _)| a == "oauth.authorize" && o == "success")
        .expect("the consent is audited");
    let detail: Value = serde_json::from_str(detail).unwrap();
    assert_eq!(detail["client_id"], id.as_str());
    assert_eq!(detail["scope"], "account");
    assert_eq!(detail["granted"], "account");
    assert!(
        !detail.to_string().contains(&code),
        "no code in the audit log"
    );

    // The same again: nothing new.
    let again = consent_page(&app, &cookie, &authorize_pairs(&id, REDIRECT)).await;
    assert!(!again.contains("data-new-scope"), "{again}");
    assert!(
        again.contains("data-testid=\"consent-granted-before\""),
        "{again}"
    );
    // Wider: the page says which scope is new.
    let wider = pairs_with_scope(&id, REDIRECT, "account admin:read");
    let html = consent_page(&app, &cookie, &wider).await;
    assert!(html.contains("data-new-scope=\"admin:read\""), "{html}");
    assert!(!html.contains("data-new-scope=\"account\""), "{html}");
    // Approving it widens the grant.
    let form = query(&[("consent_id", &consent_id(&html)), ("decision", "allow")]);
    let audits = app.audit_actions().await.len();
    let r = app
        .post_form("/oauth/authorize/decision", &form, Some(&cookie))
        .await;
    assert_eq!(r.status(), 303);
    let written = audit_since(&app, audits).await;
    let detail: Value = serde_json::from_str(&written[0].2).unwrap();
    assert_eq!(detail["granted"], "account admin:read");
    assert_eq!(detail["new_scopes"], serde_json::json!(["admin:read"]));
}

/// Issue 16, item 12: the metadata named `https://evil.example` as issuer
/// for `Forwarded: host=evil.example;proto=https`, and was cached `public`.
#[tokio::test]
async fn v10_metadata_urls_come_from_configuration_not_request_headers() {
    let configured = "https://auth.example.org";
    for (app, base) in [
        (
            spawn_app_with(&[("APP_PUBLIC_URL", configured)]).await,
            configured.to_owned(),
        ),
        // Behind a trusted proxy too: the metadata is configuration.
        (
            spawn_app_with(&[
                ("APP_PUBLIC_URL", configured),
                ("TRUSTED_PROXIES", "127.0.0.1/32"),
            ])
            .await,
            configured.to_owned(),
        ),
    ] {
        let forged: [&[(&str, &str)]; 4] = [
            &[("Forwarded", "host=evil.example;proto=https")],
            &[
                ("X-Forwarded-Host", "evil.example"),
                ("X-Forwarded-Proto", "https"),
            ],
            &[("Host", "evil.example")],
            &[],
        ];
        for headers in forged {
            let mut req = app
                .client
                .get(app.url("/.well-known/oauth-authorization-server"));
            for (k, v) in headers {
                req = req.header(*k, *v);
            }
            let r = req.send().await.unwrap();
            assert_eq!(r.status(), 200, "{headers:?}");
            assert_eq!(r.headers()["cache-control"], "public, max-age=300");
            let vary = r
                .headers()
                .get("vary")
                .map(|v| v.to_str().unwrap().to_ascii_lowercase());
            assert!(
                !vary.unwrap_or_default().contains("host"),
                "nothing in it varies by host"
            );
            let m: Value = r.json().await.unwrap();
            assert_eq!(m["issuer"], base.as_str(), "{headers:?}");
            for (name, path) in [
                ("authorization_endpoint", "/oauth/authorize"),
                ("token_endpoint", "/oauth/token"),
                ("revocation_endpoint", "/oauth/revoke"),
                ("introspection_endpoint", "/oauth/introspect"),
                ("jwks_uri", "/.well-known/jwks.json"),
            ] {
                assert_eq!(m[name], format!("{base}{path}"), "{name} {headers:?}");
            }
            assert!(!m.to_string().contains("evil"), "{m}");
        }
    }
}

/// Unconfigured, the metadata names this server's own listener, whatever
/// the request says.
#[tokio::test]
async fn v10_unconfigured_metadata_names_the_listener_not_the_request() {
    let app = spawn_app().await;
    let r = app
        .client
        .get(app.url("/.well-known/oauth-authorization-server"))
        .header("Forwarded", "host=evil.example;proto=https")
        .header("X-Forwarded-Host", "evil.example")
        .send()
        .await
        .unwrap();
    let m: Value = r.json().await.unwrap();
    assert_eq!(m["issuer"], app.address.as_str());
    assert_eq!(m["token_endpoint"], format!("{}/oauth/token", app.address));
}

/// Forwarded headers count only from a trusted proxy: a client that claims
/// `proto=https` over plain HTTP is not treated as TLS (no HSTS).
#[tokio::test]
async fn v10_forwarded_proto_counts_only_from_a_trusted_proxy() {
    let untrusted = spawn_app().await;
    let trusted = spawn_app_with(&[("TRUSTED_PROXIES", "127.0.0.1/32")]).await;
    for (app, hsts) in [(&untrusted, false), (&trusted, true)] {
        for (k, v) in [
            ("X-Forwarded-Proto", "https"),
            ("Forwarded", "for=203.0.113.9;proto=https"),
        ] {
            let r = app
                .client
                .get(app.url("/healthz"))
                .header(k, v)
                .send()
                .await
                .unwrap();
            assert_eq!(
                r.headers().get("strict-transport-security").is_some(),
                hsts,
                "{k}: {v}"
            );
        }
    }
}
