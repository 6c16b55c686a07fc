//! The OAuth 2.0 authorization server: the authorization request
//! (`authorize`: validation), the user's decision (`consent`: the consent
//! page, codes, grants), the token endpoint (`token`: `authorization_code`
//! with PKCE `S256`, `refresh_token`), and revocation and introspection
//! (`revoke_introspect`); clients authenticate through `client_auth`.
//! Clients are registered and managed in `services::oauth_clients`. This
//! file holds what those parts share: scope and audience rules, the client
//! lookup, the credentials and the error a client is answered with.
//!
//! A token request opens an ordinary server-side session for the user
//! (`sessions::open::open`), so OAuth access tokens are the app's RS256 access
//! tokens and revoking the session ends them. Codes and client secrets are
//! 256 random bits stored only as HMAC-SHA-256 under SESSION_KEY.

pub mod authorize;
pub mod client_auth;
pub mod consent;
pub mod revoke_introspect;
pub mod token;

use crate::db::{self, models::oauth::OAuthClient, Pool};
use crate::error::AppResult;

/// RFC 6749 §3.3: `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`.
pub fn valid_scope_token(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b))
}

/// A resource indicator (the `aud` of a client's tokens): printable ASCII,
/// no spaces, no fragment (RFC 8707 §2), at most 200 characters.
pub fn valid_audience(s: &str) -> bool {
    !s.is_empty() && s.len() <= 200 && s.bytes().all(|b| b.is_ascii_graphic()) && !s.contains('#')
}

/// A space-separated scope as a sorted list without repeats.
fn scope_set(scope: &str) -> Vec<String> {
    let mut list: Vec<String> = scope
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    list.sort_unstable();
    list.dedup();
    list
}

// Registering and managing clients: `services::oauth_clients`.
pub async fn find_client(pool: &Pool, id: &str) -> AppResult<Option<OAuthClient>> {
    let id = id.to_owned();
    db::run(pool, move |c| Ok(OAuthClient::find(c, &id)?)).await
}

/// The client's credentials from an `Authorization: Basic` header.
pub struct BasicCredentials {
    pub client_id: String,
    pub client_secret: String,
}

/// An RFC 6749 §5.2 error.
#[derive(Debug, PartialEq, Eq)]
pub struct OAuthError {
    pub error: &'static str,
    pub description: &'static str,
    /// 401 with `WWW-Authenticate: Basic` (invalid_client).
    pub unauthorized: bool,
}

impl OAuthError {
    fn new(error: &'static str, description: &'static str) -> Self {
        Self {
            error,
            description,
            unauthorized: error == "invalid_client",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_tokens_follow_rfc6749() {
        assert!(valid_scope_token("profile"));
        assert!(valid_scope_token("api:read"));
        for bad in ["", "a b", "a\"b", "a\\b", "é", &"a".repeat(65)] {
            assert!(!valid_scope_token(bad), "{bad:?}");
        }
    }
}
