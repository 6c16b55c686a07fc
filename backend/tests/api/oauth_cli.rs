//! The example OAuth client (`examples/oauth-cli`, built on the `oauth2`
//! crate) run end to end against the real server. The client runs on a
//! blocking thread; its "open the browser" hook hands the authorization URL
//! to the test, which plays the browser with a signed-in session: consent
//! page, decision form, then the redirect to the client's loopback listener.

use crate::helpers::oauth_flow::{location, query};
use crate::helpers::{oauth_client, spawn_app, TestApp};
use backend::db::models::oauth::OAuthCode;
use backend::security::refresh_token::RefreshToken;
use oauth_cli::{Config, Error, SignedIn};
use std::time::Duration;
use tokio::task::JoinHandle;

/// Registered without a port: any port matches on loopback (RFC 8252 §7.3).
const LOOPBACK: &str = "http://127.0.0.1/callback";

fn config(app: &TestApp, client_id: &str, secret: Option<String>) -> Config {
    Config {
        issuer: app.address.clone(),
        client_id: client_id.to_owned(),
        client_secret: secret,
        scopes: vec!["account".into()],
        wait: Duration::from_secs(30),
    }
}

/// Starts the client; returns the URL it asked to open, and its outcome.
async fn start(config: Config) -> (String, JoinHandle<Result<SignedIn, Error>>) {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let flow = tokio::task::spawn_blocking(move || {
        oauth_cli::run(&config, move |url| {
            let _ = tx.send(url.to_owned());
        })
    });
    match rx.await {
        Ok(url) => (url, flow),
        Err(_) => panic!(
            "the client stopped before opening the browser: {:?}",
            flow.await
        ),
    }
}

/// The `name`/`value` pairs of the hidden inputs in `html` (attributes in
/// double quotes, as the app renders them; entities decoded).
fn hidden_fields(html: &str) -> Vec<(String, String)> {
    html.split("<input")
        .skip(1)
        .filter_map(|rest| {
            let tag = &rest[..rest.find('>')?];
            let attr = |name: &str| {
                let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
                let len = tag[start..].find('"')?;
                Some(unescape(&tag[start..start + len]))
            };
            if attr("type")? != "hidden" {
                return None;
            }
            Some((attr("name")?, attr("value")?))
        })
        .collect()
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The browser: opens the authorization URL with the session, submits the
/// consent form's fields with `decision`, and returns where the server sends
/// it.
async fn consent(app: &TestApp, cookie: &str, authorize_url: &str, decision: &str) -> String {
    let request = authorize_url
        .strip_prefix(&format!("{}/oauth/authorize?", app.address))
        .unwrap_or_else(|| panic!("the discovered endpoint is used: {authorize_url}"));
    assert!(request.contains("code_challenge_method=S256"), "{request}");
    assert!(
        request.contains("redirect_uri=http%3A%2F%2F127.0.0.1%3A"),
        "a loopback redirect with a port: {request}"
    );
    let r = app
        .client
        .get(authorize_url)
        .header("Cookie", cookie)
        .send()
        .await
        .expect("consent page");
    assert_eq!(r.status(), 200, "consent page shown");
    let html = r.text().await.expect("html");
    assert!(
        html.contains("oauth-cli example"),
        "the client is named: {html}"
    );
    assert!(
        html.contains("action=\"/oauth/authorize/decision\""),
        "{html}"
    );
    let mut form = hidden_fields(&html);
    assert!(
        matches!(&form[..], [(k, _)] if k == "consent_id"),
        "the form carries only the id of the stored request: {form:?}"
    );
    form.push(("decision".into(), decision.into()));
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (&**k, &**v)).collect();
    let body = query(&pairs);
    let r = app
        .post_form("/oauth/authorize/decision", &body, Some(cookie))
        .await;
    assert_eq!(r.status(), 303, "the decision redirects");
    let to = location(&r);
    assert!(to.starts_with("http://127.0.0.1:"), "{to}");
    assert!(
        !to.starts_with("http://127.0.0.1/"),
        "the client's port: {to}"
    );
    to
}

/// The browser follows the redirect to the client's listener.
async fn deliver(app: &TestApp, url: &str) -> (u16, String) {
    let r = app.client.get(url).send().await.expect("loopback answered");
    let status = r.status().as_u16();
    (status, r.text().await.expect("page"))
}

async fn token_requests(app: &TestApp) -> Vec<String> {
    app.audit_actions()
        .await
        .into_iter()
        .filter(|(action, ..)| action == "oauth.token")
        .map(|(_, outcome, ..)| outcome)
        .collect()
}

#[tokio::test]
async fn the_example_client_signs_in_and_reads_me() {
    let app = spawn_app().await;
    let (id, secret) = oauth_client(&app, true, &[LOOPBACK], &["account"]).await;
    assert!(secret.is_none(), "a public client");
    let cookie = app.signed_in("alice").await;

    let (url, flow) = start(config(&app, &id, None)).await;
    let redirect = consent(&app, &cookie, &url, "allow").await;
    assert!(redirect.contains("/callback?code="), "{redirect}");
    let (status, page) = deliver(&app, &redirect).await;
    assert_eq!(status, 200);
    assert!(page.contains("Signed in"), "{page}");

    let signed_in = flow.await.expect("joined").expect("the flow succeeds");
    assert_eq!(signed_in.me["username"], "alice");
    assert_eq!(signed_in.me["email"], "alice@example.org");
    assert_eq!(signed_in.scopes, ["account"]);
    assert!(signed_in.expires_in.is_some_and(|d| d.as_secs() > 0));
    // Only a preview of the token is kept: 8 characters and an ellipsis.
    assert_eq!(signed_in.token_preview.chars().count(), 9);
    assert!(signed_in.token_preview.ends_with('…'));
    assert_eq!(token_requests(&app).await, ["success"]);

    // The client took one redirect and stopped listening: replaying it
    // reaches nobody.
    let again = app.client.get(&redirect).send().await;
    assert!(again.is_err(), "the listener is closed");
}

#[tokio::test]
async fn a_confidential_client_authenticates_with_its_secret() {
    let app = spawn_app().await;
    let (id, secret) = oauth_client(&app, false, &[LOOPBACK], &["account"]).await;
    let secret = secret.expect("a confidential client has a secret");
    let cookie = app.signed_in("carol").await;

    let (url, flow) = start(config(&app, &id, Some(secret))).await;
    let redirect = consent(&app, &cookie, &url, "allow").await;
    assert_eq!(deliver(&app, &redirect).await.0, 200);
    let signed_in = flow.await.expect("joined").expect("the flow succeeds");
    assert_eq!(signed_in.me["username"], "carol");

    // A wrong secret: the server refuses the code, the client says so.
    let wrong = RefreshToken::generate().expose().to_owned();
    let (url, flow) = start(config(&app, &id, Some(wrong))).await;
    let redirect = consent(&app, &cookie, &url, "allow").await;
    assert_eq!(deliver(&app, &redirect).await.0, 200);
    match flow.await.expect("joined") {
        Err(Error::TokenRefused { error, .. }) => assert_eq!(error, "invalid_client"),
        other => panic!("expected invalid_client, got {other:?}"),
    }
    assert_eq!(token_requests(&app).await, ["success", "denied"]);
}

#[tokio::test]
async fn a_redirect_with_another_state_is_refused_before_any_exchange() {
    let app = spawn_app().await;
    let (id, _) = oauth_client(&app, true, &[LOOPBACK], &["account"]).await;
    let cookie = app.signed_in("bob").await;

    let (url, flow) = start(config(&app, &id, None)).await;
    let redirect = consent(&app, &cookie, &url, "allow").await;
    // A real, fresh code, but arriving with a state this sign-in never sent
    // (a forged redirect, or one meant for another sign-in).
    let (without_state, _) = redirect.split_once("&state=").expect("a state");
    let forged = format!("{without_state}&state=forged-state");
    let (status, page) = deliver(&app, &forged).await;
    assert_eq!(status, 400);
    assert!(page.contains("Sign-in failed"), "{page}");
    match flow.await.expect("joined") {
        Err(Error::StateMismatch) => {}
        other => panic!("expected a state mismatch, got {other:?}"),
    }

    // The code never reached the token endpoint: no token request at all,
    // and the stored code is still unused.
    assert!(token_requests(&app).await.is_empty());
    let code = without_state
        .split_once("code=")
        .map(|(_, c)| c.to_owned())
        .expect("a code");
    let code = RefreshToken::parse(&code).expect("a code of the server's shape");
    let lookups = app.state.keys.session.lookups(|k| code.digest(k));
    let row = backend::db::run(&app.state.pool, move |c| Ok(OAuthCode::find(c, &lookups)?))
        .await
        .expect("query")
        .expect("the code is stored");
    assert!(row.used_at.is_none(), "the code was not exchanged");
}

#[tokio::test]
async fn a_denied_consent_is_reported_without_a_token() {
    let app = spawn_app().await;
    let (id, _) = oauth_client(&app, true, &[LOOPBACK], &["account"]).await;
    let cookie = app.signed_in("dave").await;

    let (url, flow) = start(config(&app, &id, None)).await;
    let redirect = consent(&app, &cookie, &url, "deny").await;
    assert!(
        redirect.contains("/callback?error=access_denied"),
        "{redirect}"
    );
    assert_eq!(deliver(&app, &redirect).await.0, 400);
    match flow.await.expect("joined") {
        Err(Error::Authorization { error, .. }) => assert_eq!(error, "access_denied"),
        other => panic!("expected access_denied, got {other:?}"),
    }
    assert!(token_requests(&app).await.is_empty());
}
