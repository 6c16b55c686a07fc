//! The token endpoint (`POST /oauth/token`): the `authorization_code`
//! grant (PKCE, single-use codes, a reused code ends what it opened) and the
//! `refresh_token` grant, each refusal audited.

use super::client_auth::authenticate_client;
use super::{scope_set, BasicCredentials, OAuthError};
use crate::audit::{self, AuditEvent, Outcome};
use crate::db::{
    self,
    models::oauth::{OAuthClient, OAuthCode},
    models::refresh_token::RefreshTokenRow,
    models::session::Session,
    models::user::User,
    DbConn,
};
use crate::error::{AppError, AppResult};
use crate::request_meta::RequestMeta;
use crate::security::jwt::ClientGrant;
use crate::security::pkce;
use crate::security::refresh_token::RefreshToken;
use crate::services::identity_cache;
use crate::services::sessions::{self, IssuedTokens};
use crate::state::identity_cache::Invalidation;
use crate::state::AppState;
use serde::{Deserialize, Serialize};

/// Session revocation reason when a code is presented a second time.
const REUSE_REASON: &str = "oauth_code_reuse";
/// Marks a code whose second use came before its first exchange recorded a
/// session: that exchange then revokes the session it just opened.
const REUSED_MARK: &str = "-reused-";

/// The body of `POST /oauth/token` (form-encoded).
#[derive(Clone, Default, Deserialize)]
pub struct TokenParams {
    pub grant_type: Option<String>,
    pub code: Option<String>,
    pub redirect_uri: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub code_verifier: Option<String>,
    pub refresh_token: Option<String>,
}

/// A successful token response (RFC 6749 §5.1).
#[derive(Debug, Serialize, Deserialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: String,
    pub expires_in: i64,
    pub refresh_token: String,
    pub scope: String,
}

async fn refuse(
    state: &AppState,
    meta: &RequestMeta,
    client_id: Option<&str>,
    err: OAuthError,
    reason: &str,
) -> AppResult<Result<TokenResponse, OAuthError>> {
    refuse_for(state, meta, client_id, None, err, reason).await
}

/// A refused token request, audited; `user` when the code named one.
async fn refuse_for(
    state: &AppState,
    meta: &RequestMeta,
    client_id: Option<&str>,
    user: Option<String>,
    err: OAuthError,
    reason: &str,
) -> AppResult<Result<TokenResponse, OAuthError>> {
    let mut event = AuditEvent::new("oauth.token", Outcome::Denied).detail(serde_json::json!({
        "error": err.error,
        "reason": reason,
        "client_id": client_id,
    }));
    if let Some(user) = user {
        event = event.target(user);
    }
    audit::record(&state.pool, Some(meta), event).await?;
    Ok(Err(err))
}

/// `POST /oauth/token`.
pub async fn token(
    state: &AppState,
    meta: &RequestMeta,
    p: TokenParams,
    basic: Option<BasicCredentials>,
) -> AppResult<Result<TokenResponse, OAuthError>> {
    let grant = p.grant_type.clone();
    match grant.as_deref() {
        Some("authorization_code") | Some("refresh_token") => {}
        None | Some("") => {
            return refuse(
                state,
                meta,
                p.client_id.as_deref(),
                OAuthError::new("invalid_request", "grant_type is required"),
                "no_grant_type",
            )
            .await
        }
        Some(_) => {
            return refuse(
                state,
                meta,
                p.client_id.as_deref(),
                OAuthError::new("unsupported_grant_type", "unsupported grant_type"),
                "unsupported_grant_type",
            )
            .await
        }
    }
    let client = match authenticate_client(
        state,
        p.client_id.as_deref(),
        p.client_secret.as_deref(),
        basic.as_ref(),
    )
    .await?
    {
        Ok(c) => c,
        Err((e, reason)) => {
            let id = basic
                .as_ref()
                .map(|b| b.client_id.clone())
                .or(p.client_id.clone());
            return refuse(state, meta, id.as_deref(), e, reason).await;
        }
    };
    if grant.as_deref() == Some("refresh_token") {
        return refresh_grant(state, meta, &client, &p).await;
    }
    code_grant(state, meta, &client, &p).await
}

/// What looking up and consuming a code found.
enum Consumed {
    Fresh(OAuthCode),
    /// Why, and whose code it was when the code was found (so the refusal
    /// shows in that user's own activity).
    Refused(&'static str, Option<String>),
    /// A second use: what the first opened was ended, and that recorded.
    Reused {
        user_id: String,
    },
}

/// `grant_type=authorization_code`: the code consumed, a session opened for
/// its user, the code bound to that session.
async fn code_grant(
    state: &AppState,
    meta: &RequestMeta,
    client: &OAuthClient,
    p: &TokenParams,
) -> AppResult<Result<TokenResponse, OAuthError>> {
    let cid = Some(client.id.as_str());
    let (Some(code), Some(redirect_uri), Some(verifier)) = (
        p.code.as_deref(),
        p.redirect_uri.as_deref(),
        p.code_verifier.as_deref(),
    ) else {
        return refuse(
            state,
            meta,
            cid,
            OAuthError::new(
                "invalid_request",
                "code, redirect_uri and code_verifier are required",
            ),
            "missing_parameter",
        )
        .await;
    };
    let invalid_grant = OAuthError::new("invalid_grant", "the code is invalid or expired");
    let Some(code) = RefreshToken::parse(code) else {
        return refuse(state, meta, cid, invalid_grant, "malformed_code").await;
    };
    let presented = Presented {
        lookups: state.keys.session.lookups(|k| code.digest(k)),
        client_id: client.id.clone(),
        redirect_uri: redirect_uri.to_owned(),
        verifier: verifier.to_owned(),
    };
    let row = match consume_code(state, meta, presented).await? {
        Consumed::Fresh(row) => row,
        Consumed::Refused(reason, user) => {
            return refuse_for(state, meta, cid, user, invalid_grant, reason).await;
        }
        // The revocation and its entry were written together.
        Consumed::Reused { user_id } => {
            identity_cache::forget_user(state, &user_id).await;
            return Ok(Err(invalid_grant));
        }
    };
    let uid = row.user_id.clone();
    let Some(user) = db::run(&state.pool, move |c| Ok(User::find_by_id(c, &uid)?)).await? else {
        return refuse(state, meta, cid, invalid_grant, "user_gone").await;
    };
    let grant = ClientGrant {
        client_id: client.id.clone(),
        scope: row.scope.clone(),
        audience: client.audience.clone(),
    };
    let tokens = sessions::open::open_for_client(state, meta, &user, grant).await?;
    if !bind_code_to_session(state, meta, &row, &user, client, &tokens).await? {
        // A second use came in between: the code leaked; end this session.
        let sid = tokens.session_id.clone();
        db::run(&state.pool, move |c| {
            Ok(Session::revoke(c, &sid, REUSE_REASON, sessions::now())?)
        })
        .await?;
        identity_cache::forget(state, Invalidation::All).await;
        return refuse(state, meta, cid, invalid_grant, "reused_during_exchange").await;
    }
    Ok(Ok(TokenResponse {
        access_token: tokens.access_token,
        token_type: "Bearer".into(),
        expires_in: tokens.expires_in,
        refresh_token: tokens.refresh_token.expose().to_owned(),
        scope: row.scope,
    }))
}

/// What the token request presents for its code.
struct Presented {
    /// The code's HMAC under each held session key.
    lookups: Vec<String>,
    client_id: String,
    redirect_uri: String,
    verifier: String,
}

/// Looks the code up and, if every check passes, marks it used: one
/// transaction, so of two requests with the same code only one gets it.
async fn consume_code(
    state: &AppState,
    meta: &RequestMeta,
    presented: Presented,
) -> AppResult<Consumed> {
    let now = sessions::now();
    let m = meta.clone();
    db::run(&state.pool, move |c| {
        db::write_transaction(c, |c| consume(c, &m, &presented, now))
    })
    .await
}

fn consume(
    c: &mut DbConn,
    meta: &RequestMeta,
    p: &Presented,
    now: chrono::NaiveDateTime,
) -> AppResult<Consumed> {
    let Some(row) = OAuthCode::find(c, &p.lookups)? else {
        return Ok(Consumed::Refused("unknown_code", None));
    };
    if row.client_id != p.client_id {
        return Ok(Consumed::Refused("other_client", Some(row.user_id)));
    }
    if row.used_at.is_some() {
        return end_first_use(c, meta, row, now);
    }
    if now >= row.expires_at {
        return Ok(Consumed::Refused("expired_code", Some(row.user_id)));
    }
    if row.redirect_uri != p.redirect_uri {
        return Ok(Consumed::Refused(
            "redirect_uri_mismatch",
            Some(row.user_id),
        ));
    }
    if let Err(e) = pkce::verify(&p.verifier, &row.code_challenge) {
        return Ok(Consumed::Refused(e.as_str(), Some(row.user_id)));
    }
    if !registration_still_allows(c, &row)? {
        return Ok(Consumed::Refused("registration_changed", Some(row.user_id)));
    }
    if !OAuthCode::mark_used(c, &row.code_hash, now)? {
        return Ok(Consumed::Refused("concurrent_use", Some(row.user_id)));
    }
    Ok(Consumed::Fresh(row))
}

/// Second use: the code leaked. End what the first use opened (or mark the
/// code so that the first exchange, still under way, ends it), and record it.
fn end_first_use(
    c: &mut DbConn,
    meta: &RequestMeta,
    row: OAuthCode,
    now: chrono::NaiveDateTime,
) -> AppResult<Consumed> {
    match row.session_id.as_deref() {
        Some(sid) if sid != REUSED_MARK => {
            Session::revoke(c, sid, REUSE_REASON, now)?;
        }
        Some(_) => {}
        None => {
            OAuthCode::set_session_if_unset(c, &row.code_hash, REUSED_MARK)?;
        }
    }
    audit::record_in(
        c,
        Some(meta),
        AuditEvent::new("oauth.code_reuse", Outcome::Denied)
            .target(row.user_id.clone())
            .detail(serde_json::json!({
                "client_id": row.client_id,
                "session_id": row.session_id,
                "action": "session_revoked",
            })),
    )?;
    Ok(Consumed::Reused {
        user_id: row.user_id,
    })
}

/// Whether the client's registration as it is now, read in this transaction,
/// still allows the code's scopes and redirect URI: the consent step checks
/// the stored request against it again, and so must this one, or a code
/// issued a moment before an administrator took a scope or a redirect URI
/// away (its domain lost, say) still buys a session with it for the code's
/// 60 seconds (and `update_client` only ends sessions that exist).
fn registration_still_allows(c: &mut DbConn, row: &OAuthCode) -> AppResult<bool> {
    let current = OAuthClient::find(c, &row.client_id)?;
    Ok(current.is_some_and(|now_client| {
        let scopes = now_client.scope_list();
        scope_set(&row.scope)
            .iter()
            .all(|s| scopes.contains(&s.as_str()))
            && pkce::redirect_uri_matches(&now_client.redirect_uri_list(), &row.redirect_uri)
    }))
}

/// Binds the code to the session it opened and records the grant: one
/// transaction (the tokens are sent only once both are written). False when
/// a second use of the code came first.
async fn bind_code_to_session(
    state: &AppState,
    meta: &RequestMeta,
    row: &OAuthCode,
    user: &User,
    client: &OAuthClient,
    tokens: &IssuedTokens,
) -> AppResult<bool> {
    let (d, sid, m) = (
        row.code_hash.clone(),
        tokens.session_id.clone(),
        meta.clone(),
    );
    let event = AuditEvent::new("oauth.token", Outcome::Success)
        .actor(user.id.clone())
        .target(client.id.clone())
        .detail(serde_json::json!({
            "grant_type": "authorization_code",
            "session_id": tokens.session_id,
            "scope": row.scope,
        }));
    db::run(&state.pool, move |c| {
        db::write_transaction(c, |c| {
            if !OAuthCode::set_session_if_unset(c, &d, &sid)? {
                return Ok(false);
            }
            audit::record_in(c, Some(&m), event)?;
            Ok(true)
        })
    })
    .await
}

/// `grant_type=refresh_token`: only for a session this client's code opened;
/// rotation and reuse detection are the browser sessions' (`sessions::refresh::refresh`).
async fn refresh_grant(
    state: &AppState,
    meta: &RequestMeta,
    client: &OAuthClient,
    p: &TokenParams,
) -> AppResult<Result<TokenResponse, OAuthError>> {
    let cid = Some(client.id.as_str());
    let invalid_grant = OAuthError::new("invalid_grant", "the refresh token is invalid");
    let Some(presented) = p.refresh_token.as_deref() else {
        return refuse(
            state,
            meta,
            cid,
            OAuthError::new("invalid_request", "refresh_token is required"),
            "missing_parameter",
        )
        .await;
    };
    let Some(parsed) = RefreshToken::parse(presented) else {
        return refuse(state, meta, cid, invalid_grant, "malformed_refresh_token").await;
    };
    let lookups = state.keys.session.lookups(|k| parsed.digest(k));
    let client_id = client.id.clone();
    let scope = db::run(&state.pool, move |c| {
        let Some(row) = RefreshTokenRow::find_by_hash(c, &lookups)? else {
            return Ok(None);
        };
        Ok(OAuthCode::scope_for_session(
            c,
            &row.session_id,
            &client_id,
        )?)
    })
    .await?;
    let Some(scope) = scope else {
        return refuse(state, meta, cid, invalid_grant, "not_this_clients_session").await;
    };
    match sessions::refresh::refresh(
        state,
        meta,
        presented,
        sessions::refresh::Redeemer::Client(&client.id),
    )
    .await
    {
        Ok(tokens) => Ok(Ok(TokenResponse {
            access_token: tokens.access_token,
            token_type: "Bearer".into(),
            expires_in: tokens.expires_in,
            refresh_token: tokens.refresh_token.expose().to_owned(),
            scope,
        })),
        Err(AppError::Unauthenticated) => Ok(Err(invalid_grant)),
        Err(e) => Err(e),
    }
}

// ------------------------------------------ revocation and introspection
