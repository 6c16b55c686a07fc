//! Revocation (RFC 7009) and introspection (RFC 7662) of the tokens a
//! client was issued: which session a token belongs to, ending it, and
//! whether it is live.

use super::client_auth::authenticate_client;
use super::{BasicCredentials, OAuthError};
use crate::audit::{self, AuditEvent, Outcome};
use crate::db::{
    self,
    models::oauth::{OAuthClient, OAuthCode},
    models::refresh_token::RefreshTokenRow,
    models::session::Session,
};
use crate::error::{AppError, AppResult};
use crate::request_meta::RequestMeta;
use crate::security::refresh_token::RefreshToken;
use crate::services::identity_cache;
use crate::services::sessions;
use crate::state::identity_cache::Invalidation;
use crate::state::AppState;
use serde::Deserialize;

/// The body of `POST /oauth/revoke` (RFC 7009) and `POST /oauth/introspect`
/// (RFC 7662): the token, and the client's credentials when not in Basic.
#[derive(Clone, Default, Deserialize)]
pub struct TokenQuery {
    pub token: Option<String>,
    pub token_type_hint: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
}

impl TokenQuery {
    async fn authenticate(
        &self,
        state: &AppState,
        basic: Option<&BasicCredentials>,
    ) -> AppResult<Result<OAuthClient, (OAuthError, &'static str)>> {
        authenticate_client(
            state,
            self.client_id.as_deref(),
            self.client_secret.as_deref(),
            basic,
        )
        .await
    }
}

/// Which session a presented token belongs to, and whether the token is
/// still usable (a live access token, or an unused refresh token).
struct Located {
    session_id: String,
    kind: &'static str,
    /// An access token's own `exp`; a refresh token lives as long as its session.
    exp: Option<i64>,
}

async fn locate(state: &AppState, token: &str) -> AppResult<Option<Located>> {
    if let Some(parsed) = RefreshToken::parse(token) {
        let lookups = state.keys.session.lookups(|k| parsed.digest(k));
        let row = db::run(&state.pool, move |c| {
            Ok(RefreshTokenRow::find_by_hash(c, &lookups)?)
        })
        .await?;
        if let Some(row) = row.filter(|r| r.rotated_at.is_none()) {
            return Ok(Some(Located {
                session_id: row.session_id,
                kind: "refresh_token",
                exp: None,
            }));
        }
        return Ok(None);
    }
    let keys = state.keys.signing.current();
    // Any audience: a resource server asks about the tokens meant for it.
    let claims = crate::security::jwt::verify_any_audience(
        &keys,
        &sessions::token_policy(state),
        token,
        chrono::Utc::now().timestamp(),
    );
    Ok(claims.ok().map(|c| Located {
        session_id: c.sid,
        kind: "access_token",
        exp: Some(c.exp),
    }))
}

/// `POST /oauth/revoke`: ends the session the token belongs to, if this
/// client's. Unknown or already dead tokens answer success too (RFC 7009
/// §2.2); a token of another client is refused.
pub async fn revoke(
    state: &AppState,
    meta: &RequestMeta,
    q: TokenQuery,
    basic: Option<BasicCredentials>,
) -> AppResult<Result<(), OAuthError>> {
    let client = match q.authenticate(state, basic.as_ref()).await? {
        Ok(c) => c,
        Err((e, _)) => return Ok(Err(e)),
    };
    let Some(token) = q.token.as_deref().filter(|t| !t.is_empty()) else {
        return Ok(Err(OAuthError::new("invalid_request", "token is required")));
    };
    let Some(found) = locate(state, token).await? else {
        return Ok(Ok(()));
    };
    let (sid, cid, m) = (found.session_id.clone(), client.id.clone(), meta.clone());
    let kind = found.kind;
    let now = sessions::now();
    let outcome = db::run(&state.pool, move |c| {
        db::write_transaction(c, |c| {
            if OAuthCode::scope_for_session(c, &sid, &cid)?.is_none() {
                return Ok(None);
            }
            let ended = Session::revoke(c, &sid, "oauth_revoked", now)?;
            audit::record_in(
                c,
                Some(&m),
                AuditEvent::new("oauth.revoke", Outcome::Success).detail(serde_json::json!({
                    "client_id": cid,
                    "session_id": sid,
                    "token_type": kind,
                })),
            )?;
            Ok(Some(ended))
        })
    })
    .await?;
    let Some(_) = outcome else {
        audit::record(
            &state.pool,
            Some(meta),
            AuditEvent::new("oauth.revoke", Outcome::Denied).detail(serde_json::json!({
                "client_id": client.id,
                "reason": "not_this_clients_token",
            })),
        )
        .await?;
        return Ok(Err(OAuthError::new(
            "invalid_request",
            "the token was not issued to this client",
        )));
    };
    // Which user it was is not at hand; revocations are rare.
    identity_cache::forget(state, Invalidation::All).await;
    Ok(Ok(()))
}

/// `POST /oauth/introspect` (confidential clients, for their own tokens):
/// `{"active": false}` for anything not live and not theirs.
pub async fn introspect(
    state: &AppState,
    q: TokenQuery,
    basic: Option<BasicCredentials>,
) -> AppResult<Result<serde_json::Value, OAuthError>> {
    let client = match q.authenticate(state, basic.as_ref()).await? {
        Ok(c) => c,
        Err((e, _)) => return Ok(Err(e)),
    };
    if client.is_public() {
        return Ok(Err(OAuthError::new(
            "invalid_client",
            "introspection is for confidential clients",
        )));
    }
    let inactive = serde_json::json!({ "active": false });
    let Some(token) = q.token.as_deref().filter(|t| !t.is_empty()) else {
        return Ok(Err(OAuthError::new("invalid_request", "token is required")));
    };
    let Some(found) = locate(state, token).await? else {
        return Ok(Ok(inactive));
    };
    let (sid, cid) = (found.session_id.clone(), client.id.clone());
    let idle =
        chrono::Duration::from_std(state.settings.session_idle).map_err(AppError::internal)?;
    let now = sessions::now();
    let live = db::run(&state.pool, move |c| {
        let Some(scope) = OAuthCode::scope_for_session(c, &sid, &cid)? else {
            return Ok(None);
        };
        let Some((session, user)) = Session::find_with_user(c, &sid)? else {
            return Ok(None);
        };
        Ok(session.is_live(now, idle).then_some((scope, user, session)))
    })
    .await?;
    let Some((scope, user, session)) = live else {
        return Ok(Ok(inactive));
    };
    let aud = session
        .token_audience
        .unwrap_or_else(|| state.settings.jwt_audience.clone());
    let exp = found
        .exp
        .unwrap_or_else(|| session.expires_at.and_utc().timestamp());
    Ok(Ok(serde_json::json!({
        "active": true,
        "scope": scope,
        "client_id": client.id,
        "username": user.username,
        "sub": user.id,
        "token_type": found.kind,
        "aud": aud,
        "exp": exp,
        "iss": state.settings.jwt_issuer,
    })))
}
