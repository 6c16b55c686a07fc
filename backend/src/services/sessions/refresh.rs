//! Refresh-token rotation: one use per token, a short idempotent grace
//! for racing tabs, reuse after it revokes the session, and where a token
//! may be redeemed (`Redeemer`).

use super::{idle, issue_access, now, IssuedTokens};
use crate::audit::{self, AuditEvent, Outcome};
use crate::db::{
    self, models::refresh_token::RefreshTokenRow, models::session::Session, models::user::User,
};
use crate::error::{AppError, AppResult};
use crate::request_meta::RequestMeta;
use crate::security::jwt::ClientGrant;
use crate::security::refresh_token::RefreshToken;
use crate::services::identity_cache;
use crate::state::AppState;

/// The OAuth grant a session was opened under, if any.
fn client_grant(session: &Session) -> Option<ClientGrant> {
    Some(ClientGrant {
        client_id: session.oauth_client_id.clone()?,
        scope: session.oauth_scope.clone()?,
        audience: session.token_audience.clone(),
    })
}

/// Where a refresh token is presented. A refresh token is redeemable only
/// where it was issued, by the client it was issued to (RFC 9700 4.14; what
/// Keycloak and Hydra enforce by binding refresh tokens to their client): a
/// first-party session's at `/api/v1/auth/refresh` (or the browser's
/// cookie), an OAuth client's only at `/oauth/token` by that client, after
/// it authenticated. Otherwise a leaked confidential client's refresh token
/// would work without the client secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Redeemer<'a> {
    FirstParty,
    Client(&'a str),
}

impl Redeemer<'_> {
    pub(super) fn may_redeem(self, session: &Session) -> bool {
        match self {
            Redeemer::FirstParty => session.oauth_client_id.is_none(),
            Redeemer::Client(id) => session.oauth_client_id.as_deref() == Some(id),
        }
    }
}

/// What using a refresh token found.
enum Rotation {
    Rotated {
        user_id: String,
        roles: Vec<String>,
        grant: Option<ClientGrant>,
    },
    /// A used token presented again: the session was revoked (and that
    /// recorded, in the same transaction).
    Reused {
        user_id: String,
    },
    /// A live token presented where it was not issued: refused, unchanged.
    WrongRedeemer,
    Invalid,
}

/// Exchanges a refresh token for a new access token and a new refresh token.
///
/// A token is good once. Presenting one that was already used revokes the
/// whole session (the token was copied) — unless the first use was less than
/// `REFRESH_GRACE_SECS` ago, which is two tabs refreshing at once. Inside
/// the grace the answer is idempotent: the successor is derived from the
/// token (`RefreshToken::successor`), so a replay gets the very token the
/// first use handed out, never a second live branch. Keycloak (refresh
/// token max reuse 0) and Hydra (reuse revokes the token family) allow no
/// second use at all; a short idempotent grace keeps racing tabs signed in
/// without forking the session. A replay after that successor was itself
/// used is divergence — two holders of one session — and revokes it.
///
/// A token presented where it was not issued ([`Redeemer`]) is refused
/// before anything is written, so it stays usable where it belongs.
pub async fn refresh(
    state: &AppState,
    meta: &RequestMeta,
    presented: &str,
    redeemer: Redeemer<'_>,
) -> AppResult<IssuedTokens> {
    let Some(token) = RefreshToken::parse(presented) else {
        return deny_refresh(state, meta, "malformed").await;
    };
    // Found under any held key; the successor is always issued under the
    // current one, so a rotation moves a session to the new key on its
    // next refresh.
    let keys = &state.keys.session;
    let lookups = keys.lookups(|k| token.digest(k));
    let next = token.successor(keys.current_key());
    let next_digest = keys.digest(|k| next.digest(k));
    let next_lookups = vec![next_digest.clone()];
    let idle = idle(state)?;
    let grace =
        chrono::Duration::from_std(state.settings.refresh_grace).map_err(AppError::internal)?;
    let now = now();
    let redeemer_client = match redeemer {
        Redeemer::FirstParty => None,
        Redeemer::Client(id) => Some(id.to_owned()),
    };

    let m = meta.clone();
    let rotation = db::run(&state.pool, move |c| {
        let redeemer = match &redeemer_client {
            None => Redeemer::FirstParty,
            Some(id) => Redeemer::Client(id),
        };
        db::write_transaction(c, |c| {
            let Some(row) = RefreshTokenRow::find_by_hash(c, &lookups)? else {
                return Ok((Rotation::Invalid, None));
            };
            let Some((session, user)) = Session::find_with_user(c, &row.session_id)? else {
                return Ok((Rotation::Invalid, None));
            };
            // Before any write: a refusal here changes nothing.
            if !redeemer.may_redeem(&session) {
                return Ok((Rotation::WrongRedeemer, Some(session.id)));
            }
            if !session.is_live(now, idle) {
                return Ok((Rotation::Invalid, Some(session.id)));
            }
            let first_use = RefreshTokenRow::mark_rotated(c, &row.id, now)?;
            let reused = if first_use {
                RefreshTokenRow::create(c, &session.id, &next_digest, now)?;
                false
            } else {
                // Not the first use: fine if the first was moments ago (no
                // rotated_at in our read means a concurrent request marked
                // it just now: the same tab racing itself) and its successor
                // is still unused — then this answer is that same successor.
                let within_grace = row.rotated_at.is_none_or(|t| now - t <= grace);
                let successor_unused = RefreshTokenRow::find_by_hash(c, &next_lookups)?
                    .is_some_and(|s| s.rotated_at.is_none());
                !(within_grace && successor_unused)
            };
            if reused {
                Session::revoke(c, &session.id, "refresh_token_reuse", now)?;
                audit::record_in(
                    c,
                    Some(&m),
                    AuditEvent::new("auth.refresh_reuse", Outcome::Denied)
                        .target(user.id.clone())
                        .detail(serde_json::json!({
                            "session_id": session.id,
                            "action": "session_revoked",
                        })),
                )?;
                return Ok((Rotation::Reused { user_id: user.id }, None));
            }
            Session::touch(c, &session.id, now)?;
            let roles = User::role_names(c, &user.id, now)?;
            Ok((
                Rotation::Rotated {
                    user_id: user.id,
                    roles,
                    grant: client_grant(&session),
                },
                Some(session.id),
            ))
        })
    })
    .await?;

    match rotation {
        (
            Rotation::Rotated {
                user_id,
                roles,
                grant,
            },
            Some(session_id),
        ) => {
            let (access_token, expires_in) =
                issue_access(state, &user_id, &session_id, &roles, grant.as_ref())?;
            Ok(IssuedTokens {
                access_token,
                expires_in,
                refresh_token: next,
                session_id,
                roles,
            })
        }
        (Rotation::Reused { user_id }, _) => {
            identity_cache::forget_user(state, &user_id).await;
            Err(AppError::Unauthenticated)
        }
        (Rotation::WrongRedeemer, _) => deny_refresh(state, meta, "not_issued_here").await,
        _ => deny_refresh(state, meta, "invalid_or_expired").await,
    }
}

async fn deny_refresh<T>(state: &AppState, meta: &RequestMeta, reason: &str) -> AppResult<T> {
    audit::record(
        &state.pool,
        Some(meta),
        AuditEvent::new("auth.refresh", Outcome::Denied)
            .detail(serde_json::json!({ "reason": reason })),
    )
    .await?;
    Err(AppError::Unauthenticated)
}
