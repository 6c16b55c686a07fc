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

/// A form post to the consent decision endpoint, headers still to add.
fn decision_post(app: &TestApp, form: impl Into<reqwest::Body>) -> reqwest::RequestBuilder {
    app.client
        .post(app.url("/oauth/authorize/decision"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(form)
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
        let r = decision_post(&app, query(&form))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "bearer: {pairs:?}");
        assert!(r.headers().get("location").is_none());
        assert_eq!(error_of(r).await, FIRST_PARTY_ONLY);
        // The same token as the access cookie, with a same-site Origin (a
        // client can write any header): still the client's session.
        let r = decision_post(&app, query(&form))
            .header("Cookie", format!("__Host-access={token}"))
            .header("Origin", &app.address)
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

// ------------------------------------------------------------ red team
// Attacks tried against the consent binding after it landed: each test
// names the attack and the refusal it expects.

/// The `__Host-access` value of a `Cookie` header: the session's
/// first-party access token.
fn access_token_of(cookie: &str) -> String {
    crate::helpers::access_only(cookie)
        .trim_start_matches("__Host-access=")
        .to_owned()
}

async fn consent_rows(app: &TestApp) -> i64 {
    use backend::db::schema::oauth_consent_requests;
    backend::db::run(&app.state.pool, |c| {
        Ok(oauth_consent_requests::table.count().get_result::<i64>(c)?)
    })
    .await
    .unwrap()
}

/// A consent id dies with the session that loaded it: after logout the old
/// cookie is no one, and a new login of the same user is another session.
#[tokio::test]
async fn v10_a_consent_id_does_not_outlive_logout_or_carry_over_to_a_new_login() {
    let app = spawn_app().await;
    let (id, _) = oauth_client(&app, true, &[REDIRECT], &["account"]).await;
    let cookie = app.signed_in("v10_relogin").await;
    let cid = consent_page_id(&app, &cookie, &authorize_pairs(&id, REDIRECT)).await;
    let r = app
        .post_json("/api/v1/auth/logout", &serde_json::json!({}), Some(&cookie))
        .await;
    assert!(r.status().is_success(), "logout: {}", r.status());
    app.forget_cached_identities();
    let codes = code_rows(&app).await;
    let r = decide(&app, &cookie, &cid, "allow").await;
    assert_eq!(r.status(), 401, "the logged-out session");
    assert!(r.headers().get("location").is_none());
    let again = app.login("v10_relogin", crate::helpers::PASSWORD).await;
    let r = decide(&app, &again, &cid, "allow").await;
    assert_eq!(r.status(), 400, "a new login is another session");
    assert_eq!(error_of(r).await, NO_SUCH_CONSENT);
    assert_eq!(code_rows(&app).await, codes, "no code");
}

/// Answering one page twice, or twice at once with opposite answers: the
/// first answer counts, the other is refused, and a deny leaves no code.
#[tokio::test]
async fn v10_deny_then_allow_and_allow_racing_deny_count_once() {
    let app = spawn_app().await;
    let (id, _) = oauth_client(&app, true, &[REDIRECT], &["account"]).await;
    let cookie = app.signed_in("v10_flipflop").await;
    let pairs = authorize_pairs(&id, REDIRECT);
    let codes = code_rows(&app).await;

    let cid = consent_page_id(&app, &cookie, &pairs).await;
    let r = decide(&app, &cookie, &cid, "deny").await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        param(&location(&r), "error").as_deref(),
        Some("access_denied")
    );
    let r = decide(&app, &cookie, &cid, "allow").await;
    assert_eq!(r.status(), 400, "allow after deny");
    assert_eq!(error_of(r).await, NO_SUCH_CONSENT);
    assert_eq!(code_rows(&app).await, codes, "the deny stands");

    // Eight pages, each answered allow and deny at the same moment.
    let mut ids = Vec::new();
    for _ in 0..8 {
        ids.push(consent_page_id(&app, &cookie, &pairs).await);
    }
    let audits = app.audit_actions().await.len();
    let answers = futures_util::future::join_all(ids.iter().flat_map(|cid| {
        let cookie = &cookie;
        let app = &app;
        ["allow", "deny"]
            .into_iter()
            .map(move |d| async move { (d, decide(app, cookie, cid, d).await) })
    }))
    .await;
    let mut allowed = 0;
    for pair in answers.chunks(2) {
        let won: Vec<&str> = pair
            .iter()
            .filter(|(_, r)| r.status() == 303)
            .map(|(d, _)| *d)
            .collect();
        assert_eq!(won.len(), 1, "one answer per page: {won:?}");
        let lost = pair.iter().find(|(_, r)| r.status() != 303).unwrap();
        assert_eq!(lost.1.status(), 400);
        if won[0] == "allow" {
            allowed += 1;
            let (_, r) = pair.iter().find(|(d, _)| *d == "allow").unwrap();
            assert!(param(&location(r), "code").is_some());
        }
    }
    assert_eq!(
        code_rows(&app).await,
        codes + allowed,
        "a code per allow won"
    );
    let written = audit_since(&app, audits).await;
    let decisions = written
        .iter()
        .filter(|(a, _, _)| a == "oauth.authorize")
        .count();
    assert_eq!(decisions, 8, "one decision per page: {written:?}");
}

/// A first-party session cookie with a bearer beside it (even the same
/// user's own first-party token): the identity would come from the header,
/// so it is refused, and the page can still be answered by the browser.
#[tokio::test]
async fn v10_a_bearer_beside_the_session_cookie_is_refused() {
    let app = spawn_app().await;
    let (id, _) = oauth_client(&app, true, &[REDIRECT], &["account"]).await;
    let cookie = app.signed_in("v10_both").await;
    let cid = consent_page_id(&app, &cookie, &authorize_pairs(&id, REDIRECT)).await;
    let token = access_token_of(&cookie);
    let form = query(&[("consent_id", &cid), ("decision", "allow")]);
    for auth in [
        format!("Bearer {token}"),
        "Bearer ".into(),
        "Basic Zm9vOmJhcg==".into(),
    ] {
        let r = decision_post(&app, form.clone())
            .header("Cookie", &cookie)
            .header("Origin", &app.address)
            .header("Authorization", &auth)
            .send()
            .await
            .unwrap();
        assert!(r.headers().get("location").is_none(), "{auth}");
        let status = r.status();
        // 403 when the header's token verifies (first-party only), 401 when
        // it does not: either way no decision.
        assert!(status == 403 || status == 401, "{auth}: {status}");
        if status == 403 {
            assert_eq!(error_of(r).await, FIRST_PARTY_ONLY);
        }
    }
    let r = decide(&app, &cookie, &cid, "allow").await;
    assert_eq!(r.status(), 303, "nothing was used up");
}

/// An OAuth client that puts its refresh token in the browser's refresh
/// cookie (the session refresh middleware then mints cookies for it) is
/// still the client's session: no consent page, no decision.
#[tokio::test]
async fn v10_a_clients_refresh_token_as_a_cookie_is_still_the_client() {
    let app = spawn_app().await;
    let (id, _) = oauth_client(&app, true, &[REDIRECT], &["account", "admin:read"]).await;
    let cookie = app.signed_in("v10_cookiejar").await;
    let url = code_for(&app, &cookie, &authorize_pairs(&id, REDIRECT)).await;
    let r = exchange(&app, &id, &param(&url, "code").unwrap(), REDIRECT, VERIFIER).await;
    let body: Value = r.json().await.unwrap();
    let refresh = body["refresh_token"].as_str().unwrap().to_owned();
    let wider = pairs_with_scope(&id, REDIRECT, "account admin:read");
    let codes = code_rows(&app).await;
    let r = app
        .client
        .get(app.url(&format!("/oauth/authorize?{}", query(&wider))))
        .header("Cookie", format!("__Host-refresh={refresh}"))
        .send()
        .await
        .unwrap();
    // 403 today: the refresh middleware redeems the client's refresh token
    // and the consent check refuses the client's session. A sign-in
    // redirect (or 401) once browser refresh stops redeeming OAuth clients'
    // tokens (issue 16, item 4). Never a consent page.
    assert!(
        matches!(r.status().as_u16(), 401 | 403 | 303),
        "{}",
        r.status()
    );
    if r.status() == 303 {
        assert!(
            location(&r).starts_with("/login"),
            "only a sign-in redirect"
        );
    }
    let text = r.text().await.unwrap();
    assert!(!text.contains("consent_id"), "no consent page: {text}");
    assert_eq!(consent_rows(&app).await, 0, "no consent request stored");
    assert_eq!(code_rows(&app).await, codes);
}

/// The decision form post with the session cookie but without a usable
/// Origin (`null`, or none and no Referer) is refused by the CSRF layer
/// before the consent request is touched.
#[tokio::test]
async fn v10_a_decision_without_a_same_site_origin_is_refused_and_uses_nothing_up() {
    let app = spawn_app().await;
    let (id, _) = oauth_client(&app, true, &[REDIRECT], &["account"]).await;
    let cookie = app.signed_in("v10_nullorigin").await;
    let cid = consent_page_id(&app, &cookie, &authorize_pairs(&id, REDIRECT)).await;
    let form = query(&[("consent_id", &cid), ("decision", "allow")]);
    let origins: [&[(&str, &str)]; 4] = [
        &[("Origin", "null")],
        &[],
        &[("Origin", "https://client.example")],
        &[("Referer", "https://client.example/oauth/authorize")],
    ];
    for headers in origins {
        let mut req = decision_post(&app, form.clone()).header("Cookie", &cookie);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), 403, "{headers:?}");
        assert!(r.headers().get("location").is_none());
    }
    assert_eq!(consent_rows(&app).await, 1, "still open");
    let r = decide(&app, &cookie, &cid, "allow").await;
    assert_eq!(r.status(), 303);
}

/// The consent id counts only in the posted form: not in the query string;
/// a long, non-ASCII, NUL-bearing or duplicated id is refused with the one
/// answer (and the JSON body), never echoed into the audit log, and uses
/// nothing up.
#[tokio::test]
async fn v10_a_consent_id_counts_only_as_one_well_formed_form_field() {
    let app = spawn_app().await;
    let (id, _) = oauth_client(&app, true, &[REDIRECT], &["account"]).await;
    let cookie = app.signed_in("v10_oddids").await;
    let cid = consent_page_id(&app, &cookie, &authorize_pairs(&id, REDIRECT)).await;
    let audits = app.audit_actions().await.len();
    let codes = code_rows(&app).await;

    // In the query, not the form.
    let r = app
        .post_form(
            &format!("/oauth/authorize/decision?consent_id={cid}"),
            "decision=allow",
            Some(&cookie),
        )
        .await;
    assert_eq!(r.status(), 400);
    assert_eq!(error_of(r).await, NO_SUCH_CONSENT);

    // The decision as a GET (a link or an <img>): no such route.
    let r = app
        .get(
            &format!("/oauth/authorize/decision?consent_id={cid}&decision=allow"),
            Some(&cookie),
        )
        .await;
    assert!(matches!(r.status().as_u16(), 404 | 405), "{}", r.status());
    assert!(r.headers().get("location").is_none());

    let long = "A".repeat(8000);
    let non_ascii = "é".repeat(43);
    let with_nul = format!("{}\0", &cid[..42]);
    let padded = format!(" {cid}");
    let look_alike = cid.replace(|c: char| c.is_ascii_alphabetic(), "\u{0430}");
    for odd in [&long, &non_ascii, &with_nul, &padded, &look_alike] {
        let form = query(&[("consent_id", odd), ("decision", "allow")]);
        let r = app
            .post_form("/oauth/authorize/decision", &form, Some(&cookie))
            .await;
        assert_eq!(r.status(), 400, "{:?}", &odd[..odd.len().min(20)]);
        assert_eq!(error_of(r).await, NO_SUCH_CONSENT);
    }
    // Twice in one form (the right id beside another): refused as a
    // malformed form, not taken.
    for form in [
        query(&[
            ("consent_id", &cid),
            ("consent_id", "x"),
            ("decision", "allow"),
        ]),
        query(&[
            ("consent_id", &cid),
            ("decision", "allow"),
            ("decision", "deny"),
        ]),
    ] {
        let r = app
            .post_form("/oauth/authorize/decision", &form, Some(&cookie))
            .await;
        assert_eq!(r.status(), 400, "{form}");
        assert!(r.headers().get("location").is_none());
        error_of(r).await;
    }
    // Past the form limit.
    let huge = query(&[
        ("consent_id", &"A".repeat(64 * 1024)),
        ("decision", "allow"),
    ]);
    let r = app
        .post_form("/oauth/authorize/decision", &huge, Some(&cookie))
        .await;
    assert!(r.status().is_client_error(), "{}", r.status());
    assert!(r.headers().get("location").is_none());

    assert_eq!(code_rows(&app).await, codes);
    for (action, _, detail) in audit_since(&app, audits).await {
        assert!(
            !detail.contains("AAAAAAAA") && !detail.contains('é') && !detail.contains(&cid),
            "{action}: {detail}"
        );
    }
    let r = decide(&app, &cookie, &cid, "allow").await;
    assert_eq!(r.status(), 303, "the page can still be answered");
}

/// Neither the consent id nor the code reaches the log lines or the audit
/// log; the consent page cannot be framed or cached, and its URL does not
/// follow the user to the client in full (Referrer-Policy).
#[tokio::test]
async fn v10_consent_ids_and_codes_stay_out_of_logs_audit_and_referers() {
    use backend::telemetry::recent_logs::{recent, LogQuery};
    let app = spawn_app().await;
    let (id, _) = oauth_client(&app, true, &[REDIRECT], &["account"]).await;
    let cookie = app.signed_in("v10_quiet").await;
    let r = app
        .get(
            &format!(
                "/oauth/authorize?{}",
                query(&authorize_pairs(&id, REDIRECT))
            ),
            Some(&cookie),
        )
        .await;
    assert_eq!(r.status(), 200);
    let page_request = r.headers()["x-request-id"].to_str().unwrap().to_owned();
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(r.headers()["x-frame-options"], "DENY");
    assert_eq!(r.headers()["cache-control"], "no-store");
    let referrer = r.headers()["referrer-policy"].to_str().unwrap().to_owned();
    assert!(
        [
            "no-referrer",
            "same-origin",
            "strict-origin",
            "strict-origin-when-cross-origin"
        ]
        .contains(&referrer.as_str()),
        "{referrer}"
    );
    let cid = consent_id(&r.text().await.unwrap());
    let r = decide(&app, &cookie, &cid, "allow").await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let decision_request = r.headers()["x-request-id"].to_str().unwrap().to_owned();
    let url = location(&r);
    let code = param(&url, "code").unwrap();
    let r = exchange(&app, &id, &code, REDIRECT, VERIFIER).await;
    assert_eq!(r.status(), 200);
    let token_request = r.headers()["x-request-id"].to_str().unwrap().to_owned();

    for request_id in [page_request, decision_request, token_request] {
        let lines = recent(&LogQuery {
            request_id: Some(request_id.clone()),
            min_level: None,
            limit: 1000,
        });
        assert!(!lines.is_empty(), "{request_id} was logged");
        for line in lines {
            assert!(
                !line.text.contains(&cid) && !line.text.contains(&code),
                "{request_id}: {}",
                line.text
            );
        }
    }
    for (action, _, detail) in audit_since(&app, 0).await {
        assert!(
            !detail.contains(&cid) && !detail.contains(&code),
            "{action}: {detail}"
        );
    }
}

/// What a client controls (its registered name, the state, the redirect
/// URI's query) is escaped on the consent page; the state is not on the
/// page at all and goes back percent-encoded.
#[tokio::test]
async fn v10_the_consent_page_escapes_what_the_client_controls() {
    let app = spawn_app().await;
    let evil = "https://client.example/cb?x=\"><script>alert(1)</script>";
    let created = backend::services::oauth_clients::create_client(
        &app.state.pool,
        &app.state.keys.session,
        None,
        None,
        backend::services::oauth_clients::NewClient {
            name: "<img src=x onerror=alert(1)>\"'".into(),
            redirect_uris: vec![evil.into()],
            public: true,
            scopes: vec!["account".into()],
            audience: None,
        },
    )
    .await
    .expect("an admin may register any printable name");
    let cookie = app.signed_in("v10_escaper").await;
    let state = "\"><script>alert(2)</script>\r\nSet-Cookie: x=y";
    let mut pairs = authorize_pairs(&created.id, evil);
    for p in pairs.iter_mut() {
        if p.0 == "state" {
            p.1 = state;
        }
    }
    let html = consent_page(&app, &cookie, &pairs).await;
    for raw in ["<img", "<script", "onerror=alert(1)>"] {
        assert!(!html.contains(raw), "{raw} in {html}");
    }
    assert!(!html.contains("alert(2)"), "the state is not shown");
    let r = decide(&app, &cookie, &consent_id(&html), "allow").await;
    assert_eq!(r.status(), 303);
    let url = location(&r);
    assert!(url.starts_with(evil), "{url}");
    assert!(
        !url[evil.len()..].contains(['<', '"', '\r', '\n', ' ']),
        "{url}"
    );
    assert_eq!(param(&url, "state").as_deref(), Some(state));
    assert!(r.headers().get("set-cookie").is_none());
}

/// `prompt=none` (or any other prompt) never yields a code without the
/// page, even for a client the user approved before; other response types
/// go back with an error and store nothing.
#[tokio::test]
async fn v10_no_prompt_or_response_type_skips_the_consent_page() {
    let app = spawn_app().await;
    let (id, _) = oauth_client(&app, true, &[REDIRECT], &["account"]).await;
    let cookie = app.signed_in("v10_prompter").await;
    code_for(&app, &cookie, &authorize_pairs(&id, REDIRECT)).await;
    let codes = code_rows(&app).await;
    for prompt in ["none", "login", "consent", "select_account"] {
        let mut pairs = authorize_pairs(&id, REDIRECT);
        pairs.push(("prompt", prompt));
        let html = consent_page(&app, &cookie, &pairs).await;
        consent_id(&html);
    }
    assert_eq!(code_rows(&app).await, codes, "no code without a decision");
    let stored = consent_rows(&app).await;
    for response_type in ["token", "code id_token", "id_token", "CODE", "code "] {
        let pairs: Vec<_> = authorize_pairs(&id, REDIRECT)
            .into_iter()
            .map(|(k, v)| {
                if k == "response_type" {
                    (k, response_type)
                } else {
                    (k, v)
                }
            })
            .collect();
        let r = app
            .get(
                &format!("/oauth/authorize?{}", query(&pairs)),
                Some(&cookie),
            )
            .await;
        assert_eq!(r.status(), 303, "{response_type}");
        let url = location(&r);
        assert!(url.starts_with(REDIRECT), "{url}");
        assert_eq!(
            param(&url, "error").as_deref(),
            Some("unsupported_response_type"),
            "{response_type}"
        );
        assert!(param(&url, "code").is_none());
    }
    // Two response types in one query: not read at all.
    let mut pairs = authorize_pairs(&id, REDIRECT);
    pairs.push(("response_type", "token"));
    let r = app
        .get(
            &format!("/oauth/authorize?{}", query(&pairs)),
            Some(&cookie),
        )
        .await;
    assert_eq!(r.status(), 400, "an error page, no redirect");
    assert_eq!(consent_rows(&app).await, stored, "nothing stored");
    assert_eq!(code_rows(&app).await, codes);
}

/// The metadata for an absolute-form request target naming another host,
/// with `X-Forwarded-Prefix`/`-Port` too, still names the configured origin.
#[tokio::test]
async fn v10_metadata_ignores_absolute_form_targets_and_forwarded_prefixes() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let configured = "https://auth.example.org";
    let app = spawn_app_with(&[
        ("APP_PUBLIC_URL", configured),
        ("TRUSTED_PROXIES", "127.0.0.1/32"),
    ])
    .await;
    let addr = app.address.trim_start_matches("http://").to_owned();
    for target in [
        "http://evil.example/.well-known/oauth-authorization-server",
        "/.well-known/oauth-authorization-server",
    ] {
        let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
        let request = format!(
            "GET {target} HTTP/1.1\r\nHost: evil.example:8443\r\n\
             X-Forwarded-Prefix: /evil\r\nX-Forwarded-Port: 8443\r\n\
             X-Forwarded-Host: evil.example\r\nConnection: close\r\n\r\n"
        );
        s.write_all(request.as_bytes()).await.unwrap();
        let mut answer = String::new();
        s.read_to_string(&mut answer).await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(!answer.contains("evil"), "{answer}");
        assert!(
            answer.contains(&format!("\"issuer\":\"{configured}\"")),
            "{answer}"
        );
    }
}

fn changes(
    name: &str,
    redirect_uris: &[&str],
    scopes: &[&str],
) -> backend::services::oauth_clients::ClientChanges {
    backend::services::oauth_clients::ClientChanges {
        name: name.into(),
        redirect_uris: redirect_uris.iter().map(|s| (*s).to_owned()).collect(),
        scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
        audience: None,
    }
}

/// A consent page answered after the client's registration changed: the
/// stored request is checked against the registration as it is now (a
/// removed redirect URI gets the error page, a removed scope the error
/// redirect, a deleted client the one refusal), and no code is issued.
#[tokio::test]
async fn v10_a_consent_request_follows_the_clients_registration_as_it_is_now() {
    use backend::services::oauth_clients::{delete_client, update_client};
    let app = spawn_app().await;
    let other = "https://client.example/other";
    let (id, _) = oauth_client(&app, true, &[REDIRECT, other], &["account", "admin:read"]).await;
    let cookie = app.signed_in("v10_moving").await;
    let wide = pairs_with_scope(&id, REDIRECT, "account admin:read");
    let codes = code_rows(&app).await;
    let audits = app.audit_actions().await.len();

    let cid = consent_page_id(&app, &cookie, &wide).await;
    update_client(
        &app.state.pool,
        None,
        "cli",
        &id,
        changes("c", &[other], &["account", "admin:read"]),
    )
    .await
    .unwrap();
    let r = decide(&app, &cookie, &cid, "allow").await;
    assert_eq!(r.status(), 400, "redirect URI removed: the error page");
    assert!(r.headers().get("location").is_none());

    update_client(
        &app.state.pool,
        None,
        "cli",
        &id,
        changes("c", &[REDIRECT, other], &["account", "admin:read"]),
    )
    .await
    .unwrap();
    let cid = consent_page_id(&app, &cookie, &wide).await;
    update_client(
        &app.state.pool,
        None,
        "cli",
        &id,
        changes("c", &[REDIRECT, other], &["account"]),
    )
    .await
    .unwrap();
    let r = decide(&app, &cookie, &cid, "allow").await;
    assert_eq!(r.status(), 303, "scope removed: back with an error");
    let url = location(&r);
    assert_eq!(
        param(&url, "error").as_deref(),
        Some("invalid_scope"),
        "{url}"
    );
    assert!(param(&url, "code").is_none());

    let cid = consent_page_id(&app, &cookie, &authorize_pairs(&id, REDIRECT)).await;
    delete_client(&app.state.pool, None, "cli", &id)
        .await
        .unwrap();
    let r = decide(&app, &cookie, &cid, "allow").await;
    assert_eq!(r.status(), 400, "client deleted");
    assert_eq!(error_of(r).await, NO_SUCH_CONSENT);
    assert_eq!(code_rows(&app).await, codes, "no code at all");
    // Each refusal audited once, like every other refused decision. Failed
    // before: the two taken-then-refused requests left no entry.
    let refused: Vec<String> = audit_since(&app, audits)
        .await
        .into_iter()
        .filter(|(a, o, _)| a == "oauth.consent_refused" && o == "denied")
        .map(|(_, _, d)| d)
        .collect();
    assert_eq!(refused.len(), 3, "{refused:?}");
    assert_eq!(
        refused
            .iter()
            .filter(|d| d.contains("registration_changed") && d.contains(&id))
            .count(),
        2,
        "{refused:?}"
    );
}

/// A code issued a moment before an administrator narrowed the client (a
/// scope taken away, a redirect URI removed, say because its domain was
/// lost) is not exchanged for what the registration no longer allows: the
/// consent step checks the registration as it is now, so must the token
/// step, or the 60 seconds of a code undo the change. Failed before:
/// 200 with `scope: "account admin:read"`, and 200 for the removed URI.
#[tokio::test]
async fn v10_a_code_is_not_exchanged_for_what_the_registration_no_longer_allows() {
    use backend::services::oauth_clients::update_client;
    let app = spawn_app().await;
    let other = "https://client.example/other";
    let (id, _) = oauth_client(&app, true, &[REDIRECT, other], &["account", "admin:read"]).await;
    let cookie = app.signed_in("v10_narrowed").await;

    // A scope removed between the decision and the exchange.
    let url = code_for(
        &app,
        &cookie,
        &pairs_with_scope(&id, REDIRECT, "account admin:read"),
    )
    .await;
    update_client(
        &app.state.pool,
        None,
        "cli",
        &id,
        changes("c", &[REDIRECT, other], &["account"]),
    )
    .await
    .unwrap();
    let r = exchange(&app, &id, &param(&url, "code").unwrap(), REDIRECT, VERIFIER).await;
    assert_eq!(r.status(), 400, "scope removed");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant", "{body}");

    // The redirect URI the code went to, removed.
    let url = code_for(&app, &cookie, &authorize_pairs(&id, other)).await;
    update_client(
        &app.state.pool,
        None,
        "cli",
        &id,
        changes("c", &[REDIRECT], &["account"]),
    )
    .await
    .unwrap();
    let r = exchange(&app, &id, &param(&url, "code").unwrap(), other, VERIFIER).await;
    assert_eq!(r.status(), 400, "redirect URI removed");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant", "{body}");

    // Nothing changed: the exchange works (the check is not a blanket refusal).
    let url = code_for(&app, &cookie, &authorize_pairs(&id, REDIRECT)).await;
    let r = exchange(&app, &id, &param(&url, "code").unwrap(), REDIRECT, VERIFIER).await;
    assert_eq!(r.status(), 200);

    let refused: Vec<String> = audit_since(&app, 0)
        .await
        .into_iter()
        .filter(|(a, o, _)| a == "oauth.token" && o == "denied")
        .map(|(_, _, d)| d)
        .collect();
    assert_eq!(refused.len(), 2, "{refused:?}");
    assert!(
        refused.iter().all(|d| d.contains("registration_changed")),
        "{refused:?}"
    );
}

/// A scope an administrator took away from a client and later gave back
/// is new again on the consent page: the user's earlier approval went with
/// the sessions that held it (`update_client` ends those), so the grant
/// record must not vouch for it. Failed before: the page said "You allowed
/// this application these permissions before" and marked nothing new.
#[tokio::test]
async fn v10_a_scope_taken_away_and_given_back_is_new_again() {
    use backend::services::oauth_clients::update_client;
    let app = spawn_app().await;
    let (id, _) = oauth_client(&app, true, &[REDIRECT], &["account", "admin:read"]).await;
    let cookie = app.signed_in("v10_regranted").await;
    let wide = pairs_with_scope(&id, REDIRECT, "account admin:read");
    code_for(&app, &cookie, &wide).await;
    update_client(
        &app.state.pool,
        None,
        "cli",
        &id,
        changes("c", &[REDIRECT], &["account"]),
    )
    .await
    .unwrap();
    update_client(
        &app.state.pool,
        None,
        "cli",
        &id,
        changes("c", &[REDIRECT], &["account", "admin:read"]),
    )
    .await
    .unwrap();
    let html = consent_page(&app, &cookie, &wide).await;
    assert!(html.contains("data-new-scope=\"admin:read\""), "{html}");
    assert!(!html.contains("data-new-scope=\"account\""), "{html}");
}

/// Consents given at the same moment for different scopes of one client
/// all count in the grant (the insert-if-absent and compare-and-swap in
/// `record_grant`), on both engines: none is lost, none fails.
#[tokio::test]
async fn v10_concurrent_consents_all_count_in_the_grant() {
    use backend::db::schema::oauth_grants;
    let app = spawn_app().await;
    let (id, _) = oauth_client(&app, true, &[REDIRECT], &["account", "admin:read"]).await;
    let cookie = app.signed_in("v10_concurrent_grants").await;
    let mut ids = Vec::new();
    for i in 0..12 {
        let scope = if i % 2 == 0 { "account" } else { "admin:read" };
        let pairs = pairs_with_scope(&id, REDIRECT, scope);
        ids.push(consent_page_id(&app, &cookie, &pairs).await);
    }
    let answers =
        futures_util::future::join_all(ids.iter().map(|cid| decide(&app, &cookie, cid, "allow")))
            .await;
    let statuses: Vec<u16> = answers.iter().map(|r| r.status().as_u16()).collect();
    assert!(statuses.iter().all(|s| *s == 303), "{statuses:?}");
    let cid = id.clone();
    let grants: Vec<String> = backend::db::run(&app.state.pool, move |c| {
        Ok(oauth_grants::table
            .filter(oauth_grants::client_id.eq(cid))
            .select(oauth_grants::scope)
            .load::<String>(c)?)
    })
    .await
    .unwrap();
    assert_eq!(grants, vec!["account admin:read".to_owned()]);
}

/// The playground is a page of this site, approved under the site's own
/// name ("OAuth playground"). Its loopback redirect URI (any port, RFC 8252)
/// is there for the dev server and the tests; kept in production it lets
/// any process listening on a user's 127.0.0.1 start the playground's flow
/// with its own PKCE pair and receive the code the user approved for the
/// site's playground. Failed before: in production the consent page was
/// shown for http://127.0.0.1:9/playground/oauth.
#[tokio::test]
async fn v10_in_production_the_playground_answers_only_on_the_sites_origins() {
    use backend::services::oauth_playground::{ensure_client, CLIENT_ID, PATH};
    let app = spawn_app().await;
    let cookie = app.signed_in("v10_playground_prod").await;
    let local = "http://127.0.0.1:9/playground/oauth";
    let pairs = authorize_pairs(CLIENT_ID, local);
    // In development (as spawned): the loopback URI works, on any port.
    consent_page(&app, &cookie, &pairs).await;

    // The same database, the server applying a production configuration.
    let public = "https://app.example.org";
    let dir = tempfile::tempdir().unwrap();
    let mut settings =
        crate::helpers::settings_for(&dir, "sqlite://unused", &[("APP_TRUSTED_ORIGINS", public)]);
    settings.env = backend::config::AppEnv::Production;
    ensure_client(&app.state.pool, &settings).await.unwrap();
    let stored = consent_rows(&app).await;
    let r = app
        .get(
            &format!("/oauth/authorize?{}", query(&pairs)),
            Some(&cookie),
        )
        .await;
    assert_eq!(r.status(), 400, "the loopback URI is not the playground's");
    assert!(r.headers().get("location").is_none());
    assert_eq!(consent_rows(&app).await, stored, "no consent page");
    // The site's own playground still works.
    let site = format!("{public}{PATH}");
    consent_page(&app, &cookie, &authorize_pairs(CLIENT_ID, &site)).await;
}
