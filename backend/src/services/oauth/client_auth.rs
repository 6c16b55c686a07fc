//! Client authentication at the token, revocation and introspection
//! endpoints: a confidential client by its secret, a public one by its id.

use super::{find_client, BasicCredentials, OAuthError};
use crate::db::models::oauth::OAuthClient;
use crate::error::AppResult;
use crate::security::pkce;
use crate::security::refresh_token::RefreshToken;
use crate::state::AppState;

/// Authenticates the client: a confidential client by its secret (Basic or
/// body, not both), a public one by its id alone (and it must not send a
/// secret). `body_client_id` and `body_secret` are the ones in the form.
pub(super) async fn authenticate_client(
    state: &AppState,
    body_client_id: Option<&str>,
    body_secret: Option<&str>,
    basic: Option<&BasicCredentials>,
) -> AppResult<Result<OAuthClient, (OAuthError, &'static str)>> {
    let err = |e, d, r| Ok(Err((OAuthError::new(e, d), r)));
    if basic.is_some() && body_secret.is_some() {
        return err(
            "invalid_request",
            "use one client authentication method",
            "two_auth_methods",
        );
    }
    let (client_id, secret) = match basic {
        Some(b) => {
            if body_client_id.is_some_and(|id| id != b.client_id) {
                return err(
                    "invalid_request",
                    "client_id differs from the authenticated client",
                    "client_id_mismatch",
                );
            }
            (b.client_id.clone(), Some(b.client_secret.clone()))
        }
        None => match body_client_id.filter(|s| !s.is_empty()) {
            Some(id) => (id.to_owned(), body_secret.map(str::to_owned)),
            None => {
                return err(
                    "invalid_client",
                    "client authentication failed",
                    "no_client_id",
                )
            }
        },
    };
    let Some(client) = find_client(&state.pool, &client_id).await? else {
        return err(
            "invalid_client",
            "client authentication failed",
            "unknown_client",
        );
    };
    match (&client.secret_hash, secret) {
        (None, None) => Ok(Ok(client)),
        (None, Some(_)) => err(
            "invalid_client",
            "client authentication failed",
            "public_client_sent_secret",
        ),
        (Some(_), None) => err(
            "invalid_client",
            "client authentication failed",
            "missing_secret",
        ),
        (Some(stored), Some(given)) => {
            // Under any held session key: a secret stays under the key it
            // was issued under until it is rotated.
            let ok = RefreshToken::parse(&given).is_some_and(|t| {
                state
                    .keys
                    .session
                    .lookups(|k| t.digest(k))
                    .iter()
                    .fold(false, |found, form| {
                        pkce::constant_time_eq(form, stored) | found
                    })
            });
            if ok {
                Ok(Ok(client))
            } else {
                err(
                    "invalid_client",
                    "client authentication failed",
                    "wrong_secret",
                )
            }
        }
    }
}
