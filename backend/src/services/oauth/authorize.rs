//! The authorization request (`GET /oauth/authorize`): checking it against
//! the client's registration, and the redirects back to the client.

use super::{find_client, valid_scope_token};
use crate::db::models::oauth::OAuthClient;
use crate::error::AppResult;
use crate::security::pkce;
use crate::state::AppState;
use serde::{Deserialize, Serialize};

/// The parameters of `GET /oauth/authorize`, also carried by the consent form.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct AuthorizeParams {
    pub response_type: Option<String>,
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub scope: Option<String>,
    pub state: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
}

/// A refused authorization request.
#[derive(Debug)]
pub enum AuthorizeError {
    /// The client or the redirect URI is wrong: show an error page, never
    /// redirect (the URI cannot be trusted).
    NoRedirect(&'static str),
    /// Send the browser back to the client with this URL (`error`, `state`).
    Redirect(String),
}

/// A valid authorization request.
#[derive(Clone, Debug)]
pub struct Approved {
    pub client: OAuthClient,
    pub redirect_uri: String,
    /// The granted scopes, space-separated.
    pub scope: String,
    pub state: Option<String>,
    pub challenge: String,
}

/// `redirect_uri` with `pairs` added to its query, percent-encoded.
pub(super) fn with_query(redirect_uri: &str, pairs: &[(&str, &str)]) -> String {
    let mut url = redirect_uri.to_owned();
    let mut sep = if url.contains('?') { '&' } else { '?' };
    for (k, v) in pairs {
        url.push(sep);
        url.push_str(k);
        url.push('=');
        url.push_str(&crate::security::percent::encode(v));
        sep = '&';
    }
    url
}

/// `redirect_uri?error=…&state=…` (state unchanged, if there was one).
pub fn error_redirect(redirect_uri: &str, error: &str, state: Option<&str>) -> String {
    let mut pairs = vec![("error", error)];
    if let Some(s) = state {
        pairs.push(("state", s));
    }
    with_query(redirect_uri, &pairs)
}

/// Checks an authorization request: client and redirect URI first (errors
/// there never redirect), then the rest (errors redirect with `state`).
pub async fn validate(
    state: &AppState,
    p: &AuthorizeParams,
) -> AppResult<Result<Approved, AuthorizeError>> {
    let Some(client_id) = p.client_id.as_deref().filter(|s| !s.is_empty()) else {
        return Ok(Err(AuthorizeError::NoRedirect("missing client_id")));
    };
    let Some(client) = find_client(&state.pool, client_id).await? else {
        return Ok(Err(AuthorizeError::NoRedirect("unknown client")));
    };
    // Required even with a single registered URI: the token request must
    // repeat it, and an exact match is all we accept.
    let Some(redirect_uri) = p.redirect_uri.as_deref().filter(|s| !s.is_empty()) else {
        return Ok(Err(AuthorizeError::NoRedirect("missing redirect_uri")));
    };
    if !pkce::redirect_uri_matches(&client.redirect_uri_list(), redirect_uri) {
        return Ok(Err(AuthorizeError::NoRedirect(
            "redirect_uri is not registered for this client",
        )));
    }
    let back = |error: &str| {
        Ok(Err(AuthorizeError::Redirect(error_redirect(
            redirect_uri,
            error,
            p.state.as_deref(),
        ))))
    };
    match p.response_type.as_deref() {
        Some("code") => {}
        None | Some("") => return back("invalid_request"),
        Some(_) => return back("unsupported_response_type"),
    }
    let challenge = match pkce::parse_challenge(
        p.code_challenge.as_deref(),
        p.code_challenge_method.as_deref(),
    ) {
        Ok(c) => c,
        Err(_) => return back("invalid_request"),
    };
    let allowed = client.scope_list();
    let requested: Vec<&str> = p
        .scope
        .as_deref()
        .unwrap_or("")
        .split(' ')
        .filter(|s| !s.is_empty())
        .collect();
    if requested
        .iter()
        .any(|s| !valid_scope_token(s) || !allowed.contains(s))
    {
        return back("invalid_scope");
    }
    // No scope asked for: the client's registered scopes (RFC 6749 §3.3).
    let mut granted: Vec<&str> = if requested.is_empty() {
        allowed
    } else {
        requested
    };
    granted.sort_unstable();
    granted.dedup();
    let scope = granted.join(" ");
    Ok(Ok(Approved {
        redirect_uri: redirect_uri.to_owned(),
        scope,
        state: p.state.clone(),
        challenge,
        client,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirects_append_to_an_existing_query() {
        assert_eq!(
            error_redirect("https://a.example/cb", "access_denied", Some("x y")),
            "https://a.example/cb?error=access_denied&state=x%20y"
        );
        assert_eq!(
            error_redirect("https://a.example/cb?k=v", "invalid_scope", None),
            "https://a.example/cb?k=v&error=invalid_scope"
        );
    }
}
