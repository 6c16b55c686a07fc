//! Opening a session: at sign-in (with or without the second factor) and
//! for an OAuth client's grant, its first tokens issued in the same step.

use super::manage::device_label;
use super::{issue_access, now, IssuedTokens};
use crate::audit::{self, AuditEvent};
use crate::db::{
    self,
    models::refresh_token::RefreshTokenRow,
    models::session::{NewSession, Session},
    models::user::User,
};
use crate::error::{AppError, AppResult};
use crate::request_meta::RequestMeta;
use crate::security::jwt::ClientGrant;
use crate::security::refresh_token::RefreshToken;
use crate::state::AppState;

/// Opens a session for `user` (ASVS 3.2.1: a new session at every login).
///
/// `event` is the sign-in's audit event, given the new session's id: it is
/// recorded in the transaction that opens the session.
pub async fn open(
    state: &AppState,
    meta: &RequestMeta,
    user: &User,
    event: impl FnOnce(&str) -> AuditEvent + Send + 'static,
) -> AppResult<IssuedTokens> {
    open_with_mfa(state, meta, user, false, event).await
}

/// Opens a session; `mfa_verified` when the login proved the second factor.
pub async fn open_with_mfa(
    state: &AppState,
    meta: &RequestMeta,
    user: &User,
    mfa_verified: bool,
    event: impl FnOnce(&str) -> AuditEvent + Send + 'static,
) -> AppResult<IssuedTokens> {
    open_session(state, meta, user, mfa_verified, None, Some(Box::new(event))).await
}

/// Opens a session for an OAuth client: it can use only what the grant's
/// scopes allow, and its tokens name the client, the scopes and the
/// client's resource (`aud`).
pub async fn open_for_client(
    state: &AppState,
    meta: &RequestMeta,
    user: &User,
    grant: ClientGrant,
) -> AppResult<IssuedTokens> {
    // Recorded by the caller (`oauth.token`), once the code is bound to it.
    open_session(state, meta, user, false, Some(grant), None).await
}

/// The audit event of a sign-in, given the new session's id.
type SignInEvent = Box<dyn FnOnce(&str) -> AuditEvent + Send>;

async fn open_session(
    state: &AppState,
    meta: &RequestMeta,
    user: &User,
    mfa_verified: bool,
    grant: Option<ClientGrant>,
    event: Option<SignInEvent>,
) -> AppResult<IssuedTokens> {
    let refresh = RefreshToken::generate();
    let digest = state.keys.session.digest(|k| refresh.digest(k));
    let now = now();
    let absolute =
        chrono::Duration::from_std(state.settings.session_absolute).map_err(AppError::internal)?;
    let session_id = uuid::Uuid::new_v4().to_string();
    let label = device_label(meta.user_agent.as_deref());
    let (ip, ua, user_id, sid, g) = (
        meta.client_ip.clone(),
        meta.user_agent.clone(),
        user.id.clone(),
        session_id.clone(),
        grant.clone(),
    );
    let m = meta.clone();
    let roles = db::run(&state.pool, move |c| {
        db::write_transaction(c, |c| {
            Session::create(
                c,
                &NewSession {
                    id: &sid,
                    user_id: &user_id,
                    device_label: &label,
                    client_ip: ip.as_deref(),
                    user_agent: ua.as_deref(),
                    created_at: now,
                    last_seen_at: now,
                    expires_at: now + absolute,
                    mfa_verified_at: mfa_verified.then_some(now),
                    oauth_scope: g.as_ref().map(|g| g.scope.as_str()),
                    oauth_client_id: g.as_ref().map(|g| g.client_id.as_str()),
                    token_audience: g.as_ref().and_then(|g| g.audience.as_deref()),
                    // A fresh login is a fresh authentication; a session an
                    // OAuth client opened never counts as one (it is refused
                    // on account-security routes anyway).
                    reauthenticated_at: g.is_none().then_some(now),
                },
            )?;
            RefreshTokenRow::create(c, &sid, &digest, now)?;
            if let Some(event) = event {
                audit::record_in(c, Some(&m), event(&sid))?;
            }
            Ok(User::role_names(c, &user_id, now)?)
        })
    })
    .await?;
    let (access_token, expires_in) =
        issue_access(state, &user.id, &session_id, &roles, grant.as_ref())?;
    Ok(IssuedTokens {
        access_token,
        expires_in,
        refresh_token: refresh,
        session_id,
        roles,
    })
}
