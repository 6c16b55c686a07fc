//! The OAuth playground's built-in demo client (`/playground/oauth`): a
//! public client (a browser cannot keep a secret, so PKCE is its only proof)
//! with a fixed id, registered when the server starts.
//!
//! Its redirect URIs: outside production, `http://127.0.0.1/playground/oauth`,
//! which matches any port (RFC 8252 §7.3, `security::pkce::redirect_uri_matches`:
//! the dev server on 127.0.0.1:3000 and the tests on random ports), and
//! `<origin>/playground/oauth` for every origin of `APP_TRUSTED_ORIGINS`
//! that may be registered (https, or http on a loopback address).
//!
//! Idempotent: the client is inserted when missing and its redirect URIs are
//! refreshed when the configuration changed (both logged). This is the
//! server applying its own configuration, not anyone's action, so it is not
//! an audit event: the audit log of a fresh database stays empty until
//! someone does something.

use crate::config::Settings;
use crate::db::{self, models::oauth::OAuthClient, Pool};
use crate::error::AppError;
use crate::security::pkce;
use crate::services::sessions;

/// The client's fixed id (what the playground page sends as `client_id`).
pub const CLIENT_ID: &str = "oauth-playground";
pub const CLIENT_NAME: &str = "OAuth playground";
/// Its one scope: the user's own account.
pub const SCOPE: &str = "account";
/// The page the authorization server sends the browser back to.
pub const PATH: &str = "/playground/oauth";
/// Loopback: any port matches.
pub const LOOPBACK_REDIRECT_URI: &str = "http://127.0.0.1/playground/oauth";

/// The redirect URIs the configuration calls for: the loopback one, then one
/// per trusted origin (in order, without those the loopback one already
/// matches and those that may not be registered, like plain http on a
/// public name).
pub fn redirect_uris(trusted_origins: &[String]) -> Vec<String> {
    redirect_uris_with(trusted_origins, true)
}

/// [`redirect_uris`], with or without the any-port loopback URI. In
/// production it is left out: the playground is a page of this site, and
/// users approve it under the site's own name, so a redirect URI any
/// process on a user's 127.0.0.1 can listen on would hand that process the
/// code (it brings its own PKCE pair). The dev server and the tests keep it;
/// a production site reached on a loopback origin lists that origin in
/// `APP_TRUSTED_ORIGINS`, like any other.
pub fn redirect_uris_with(trusted_origins: &[String], loopback: bool) -> Vec<String> {
    let mut uris = Vec::new();
    if loopback {
        uris.push(LOOPBACK_REDIRECT_URI.to_owned());
    }
    for origin in trusted_origins {
        let uri = format!("{}{PATH}", origin.trim_end_matches('/'));
        if !pkce::redirect_uri_registrable(&uri) {
            tracing::warn!(
                origin = %crate::telemetry::log_safe(origin),
                "APP_TRUSTED_ORIGINS: not a redirect URI the OAuth playground can use (https, or http on 127.0.0.1/[::1])"
            );
            continue;
        }
        if !pkce::redirect_uri_matches(&uris, &uri) {
            uris.push(uri);
        }
    }
    uris
}

/// What [`ensure_client`] did.
#[derive(Debug, PartialEq, Eq)]
pub enum Registration {
    Created,
    /// The redirect URIs changed (these were the old ones).
    Updated(Vec<String>),
    Unchanged,
}

/// Registers the demo client if it is missing, or brings its redirect URIs
/// in line with `settings`. Called once by `Application::build`.
pub async fn ensure_client(pool: &Pool, settings: &Settings) -> anyhow::Result<Registration> {
    let uris = redirect_uris_with(&settings.trusted_origins, !settings.is_production());
    if uris.is_empty() {
        tracing::warn!(
            client_id = CLIENT_ID,
            "the OAuth playground has no redirect URI in production: set APP_TRUSTED_ORIGINS to the public origin"
        );
    }
    // Two instances starting together on one PostgreSQL database may both
    // find the client missing; the loser's insert fails and it tries again.
    let mut attempt = 0;
    let outcome = loop {
        attempt += 1;
        match register(pool, uris.clone()).await {
            Ok(outcome) => break outcome,
            Err(e) if attempt < 3 => {
                tracing::debug!(error = ?e, "registering the OAuth playground client: retrying");
            }
            Err(e) => {
                return Err(anyhow::anyhow!(
                    "cannot register the OAuth playground client: {e:?}"
                ))
            }
        }
    };
    match &outcome {
        Registration::Unchanged => {}
        Registration::Created => {
            tracing::info!(client_id = CLIENT_ID, redirect_uris = ?uris, "OAuth playground client registered");
        }
        Registration::Updated(before) => {
            tracing::info!(client_id = CLIENT_ID, redirect_uris = ?uris, previous = ?before, "OAuth playground client: redirect URIs updated");
        }
    }
    Ok(outcome)
}

async fn register(pool: &Pool, uris: Vec<String>) -> Result<Registration, AppError> {
    db::run(pool, move |c| {
        db::write_transaction(c, |c| {
            let now = sessions::now();
            let wanted = uris.join("\n");
            let Some(existing) = OAuthClient::find(c, CLIENT_ID)? else {
                OAuthClient::create(
                    c,
                    &OAuthClient {
                        id: CLIENT_ID.to_owned(),
                        name: CLIENT_NAME.to_owned(),
                        secret_hash: None,
                        redirect_uris: wanted,
                        scopes: SCOPE.to_owned(),
                        created_at: now,
                        created_by: None,
                        audience: None,
                        updated_at: None,
                    },
                )?;
                return Ok(Registration::Created);
            };
            if !existing.is_public() {
                tracing::warn!(
                    client_id = CLIENT_ID,
                    "the OAuth playground client has a secret: the playground (a public client) cannot use it"
                );
            }
            if existing.redirect_uris == wanted {
                return Ok(Registration::Unchanged);
            }
            OAuthClient::set_redirect_uris(c, CLIENT_ID, &wanted, now)?;
            Ok(Registration::Updated(existing.redirect_uri_list()))
        })
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origins(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn loopback_first_then_each_usable_trusted_origin() {
        assert_eq!(redirect_uris(&[]), vec![LOOPBACK_REDIRECT_URI.to_owned()]);
        assert_eq!(
            redirect_uris(&origins(&[
                "https://app.example.org",
                "https://app.example.org/",
                "http://intranet.example",
                "http://127.0.0.1:3000",
                "https://other.example:8443",
            ])),
            vec![
                LOOPBACK_REDIRECT_URI.to_owned(),
                "https://app.example.org/playground/oauth".to_owned(),
                "https://other.example:8443/playground/oauth".to_owned(),
            ],
            "plain http on a public name cannot be registered; the loopback URI already covers 127.0.0.1:3000"
        );
    }

    #[test]
    fn the_loopback_uri_matches_any_port() {
        let uris = redirect_uris(&[]);
        assert!(pkce::redirect_uri_matches(
            &uris,
            "http://127.0.0.1:3000/playground/oauth"
        ));
        assert!(pkce::redirect_uri_matches(
            &uris,
            "http://127.0.0.1:49152/playground/oauth"
        ));
        assert!(!pkce::redirect_uri_matches(
            &uris,
            "http://127.0.0.1:3000/playground/oauth/evil"
        ));
        assert!(!pkce::redirect_uri_matches(
            &uris,
            "http://localhost:3000/playground/oauth"
        ));
    }
}
