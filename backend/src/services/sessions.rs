//! Sessions and the tokens that stand for them.
//!
//! A login opens a server-side session. The client holds two tokens for it:
//! a short-lived RS256 access token (15 minutes) presented on every request,
//! and an opaque refresh token that is rotated on every use. Every request
//! also checks that the session is still live, so revoking a session ends it
//! at once, whatever access tokens are still unexpired.

use crate::audit::{self, AuditEvent, Outcome};
use crate::db::{
    self,
    models::device::Device,
    models::mfa::UserMfa,
    models::refresh_token::RefreshTokenRow,
    models::session::{NewSession, Session},
    models::user::User,
};
use crate::error::{AppError, AppResult};
use crate::request_meta::RequestMeta;
use crate::security::jwt::{self, ClientGrant, TokenError, TokenPolicy};
use crate::security::refresh_token::RefreshToken;
use crate::services::identity_cache;
use crate::state::AppState;
use chrono::NaiveDateTime;
use std::sync::Arc;
use wire::SessionInfo;

/// Only refresh `last_seen_at` when it is older than this, so reading pages
/// does not turn into one database write per request.
const TOUCH_INTERVAL_SECS: i64 = 60;

/// A verified request. Built here; defined below `state`
/// (`crate::identity`), because the identity cache holds it.
pub use crate::identity::SignedIn;

/// What a login or a refresh hands to the client.
pub struct IssuedTokens {
    pub access_token: String,
    pub expires_in: i64,
    pub refresh_token: RefreshToken,
    pub session_id: String,
    /// The roles the access token carries (read from the database).
    pub roles: Vec<String>,
}

/// Why a request was not authenticated (for the audit trail only; the
/// client always gets the same 401).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    NoToken,
    Token(TokenError),
    SessionRevoked,
    SessionExpired,
    UnknownSession,
    Internal,
    /// The database was out of reach: not a refusal but a `503`
    /// ([`Denied::outage`]); never recorded as a deny.
    Unavailable,
}

impl Denied {
    pub fn as_str(self) -> &'static str {
        match self {
            Denied::NoToken => "no_token",
            Denied::Token(e) => e.as_str(),
            Denied::SessionRevoked => "session_revoked",
            Denied::SessionExpired => "session_expired",
            Denied::UnknownSession => "unknown_session_or_user",
            Denied::Internal => "internal_error",
            Denied::Unavailable => "database_unavailable",
        }
    }

    /// The `503` to answer instead of a `401` when the identity could not
    /// be checked because the database was out of reach.
    pub fn outage(self) -> Option<AppError> {
        (self == Denied::Unavailable).then(|| {
            AppError::Unavailable(anyhow::anyhow!(
                "the session could not be checked: the database is out of reach"
            ))
        })
    }
}

pub fn now() -> NaiveDateTime {
    chrono::Utc::now().naive_utc()
}

pub fn token_policy(state: &AppState) -> TokenPolicy {
    TokenPolicy {
        issuer: state.settings.jwt_issuer.clone(),
        audience: state.settings.jwt_audience.clone(),
        ttl_secs: i64::try_from(state.settings.access_token_ttl.as_secs()).unwrap_or(900),
    }
}

fn idle(state: &AppState) -> AppResult<chrono::Duration> {
    chrono::Duration::from_std(state.settings.session_idle).map_err(AppError::internal)
}

fn issue_access(
    state: &AppState,
    user_id: &str,
    sid: &str,
    roles: &[String],
    grant: Option<&ClientGrant>,
) -> AppResult<(String, i64)> {
    let policy = token_policy(state);
    let keys = state.keys.signing.current();
    let (token, claims) = jwt::issue(
        &keys,
        &policy,
        user_id,
        sid,
        roles,
        grant,
        chrono::Utc::now().timestamp(),
    )
    .map_err(|e| AppError::internal(anyhow::anyhow!("signing failed: {}", e.as_str())))?;
    Ok((token, claims.exp - claims.iat))
}

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

/// The OAuth grant a session was opened under, if any.
fn client_grant(session: &Session) -> Option<ClientGrant> {
    Some(ClientGrant {
        client_id: session.oauth_client_id.clone()?,
        scope: session.oauth_scope.clone()?,
        audience: session.token_audience.clone(),
    })
}

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
    fn may_redeem(self, session: &Session) -> bool {
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

/// Verifies an access token and that its session is live: the check every
/// authenticated request makes (one indexed query for session and user, one
/// for roles).
pub async fn authenticate(
    state: &AppState,
    access_token: Option<&str>,
) -> Result<SignedIn, Denied> {
    authenticate_on_device(state, access_token, None).await
}

/// [`authenticate`], also looking up the device the request names (one
/// database round trip for everything the policy decision needs).
pub async fn authenticate_on_device(
    state: &AppState,
    access_token: Option<&str>,
    device_id: Option<&str>,
) -> Result<SignedIn, Denied> {
    authenticate_shared(state, access_token, device_id)
        .await
        .map(Arc::unwrap_or_clone)
}

/// [`authenticate_on_device`], answered with the identity the cache shares
/// rather than a copy of it: the enforcement point's path, which hands it
/// on to the handler without copying it either.
pub async fn authenticate_shared(
    state: &AppState,
    access_token: Option<&str>,
    device_id: Option<&str>,
) -> Result<Arc<SignedIn>, Denied> {
    let token = access_token.ok_or(Denied::NoToken)?;
    let keys = state.keys.signing.current();
    let at = chrono::Utc::now().timestamp();
    if let Some(who) = state.identity_cache.lookup(token, device_id, &keys, at) {
        return Ok(who);
    }
    let ticket = state.identity_cache.ticket();
    let who = Arc::new(verify_and_load(state, token, device_id, at).await?);
    state
        .identity_cache
        .store(ticket, token, device_id, keys, Arc::clone(&who));
    Ok(who)
}

/// The user a presented access token names, if its signature and claims
/// verify (whether its session is live is the policy decision's business).
/// From the identity cache when it verified this very token recently: RSA
/// verification is the costliest step of a request, and several steps
/// before the decision want to know whose token it is.
pub fn token_subject(state: &AppState, token: &str, device_id: Option<&str>) -> Option<String> {
    let keys = state.keys.signing.current();
    let at = chrono::Utc::now().timestamp();
    if let Some(sub) = state
        .identity_cache
        .peek_subject(token, device_id, &keys, at)
    {
        return Some(sub);
    }
    jwt::verify(&keys, &token_policy(state), token, at)
        .ok()
        .map(|c| c.sub)
}

/// The full check behind [`authenticate_on_device`]: the token's signature
/// and claims, then the session, user, roles, MFA and device from the
/// database in one round trip.
async fn verify_and_load(
    state: &AppState,
    token: &str,
    device_id: Option<&str>,
    at: i64,
) -> Result<SignedIn, Denied> {
    let policy = token_policy(state);
    let claims = match jwt::verify(&state.keys.signing.current(), &policy, token, at) {
        // Maybe another instance rotated the shared keys a moment ago.
        Err(TokenError::UnknownKeyId) if state.keys.signing.reload_for_unknown_kid() => {
            jwt::verify(&state.keys.signing.current(), &policy, token, at)
        }
        verdict => verdict,
    }
    .map_err(Denied::Token)?;
    let idle = idle(state).map_err(|_| Denied::Internal)?;
    let sid = claims.sid.clone();
    let sub = claims.sub.clone();
    let device_id = device_id.map(str::to_owned);
    let found = db::run(&state.pool, move |c| {
        let Some((session, user)) = Session::find_with_user(c, &sid)? else {
            return Ok(Err(Denied::UnknownSession));
        };
        if user.id != sub {
            return Ok(Err(Denied::UnknownSession));
        }
        if session.revoked_at.is_some() {
            return Ok(Err(Denied::SessionRevoked));
        }
        let now = now();
        if !session.is_live(now, idle) {
            return Ok(Err(Denied::SessionExpired));
        }
        if (now - session.last_seen_at).num_seconds() >= TOUCH_INTERVAL_SECS {
            Session::touch(c, &session.id, now)?;
        }
        let (roles, roles_until) = User::roles_until(c, &user.id, now)?;
        let mfa_enabled = UserMfa::find(c, &user.id)?.is_some_and(|m| m.enabled_at.is_some());
        let (device, device_quarantined) =
            device_posture(c, &session, &user.id, device_id.as_deref())?;
        Ok(Ok(SignedIn {
            user,
            roles,
            roles_until,
            session,
            claims,
            mfa_enabled,
            device,
            device_quarantined,
        }))
    })
    .await
    .map_err(|e| {
        if e.is_outage() {
            Denied::Unavailable
        } else {
            tracing::error!(error = ?e, "could not load a session");
            Denied::Internal
        }
    })?;
    found
}

/// The device a request is judged as, and whether the account's
/// quarantine applies to it (issue 16, item 5). Zero Trust (NIST SP 800-207:
/// every request is judged on the device's known state, never on what the
/// client chooses to tell): a known-bad state must not be escapable by
/// saying less.
///
/// - A session is bound to the first registered device of its user it
///   names (or registers): from then on a request that names no device is
///   judged as that device, and a quarantined bound device refuses the
///   session whatever the request names. Naming another device than the
///   bound one counts as an unknown device.
/// - A request on a session bound to no device, naming none or one that is
///   not its user's (a made-up id, someone else's device), while the user
///   has a quarantined device, cannot prove it is not that device: it is
///   refused like it (until an admin reviews the device; a compliant device
///   of the user's own that the request names still works).
fn device_posture(
    c: &mut db::DbConn,
    session: &Session,
    user_id: &str,
    named: Option<&str>,
) -> Result<(Option<Device>, bool), AppError> {
    match (session.device_id.as_deref(), named) {
        (Some(bound), named) => {
            let device = Device::find_owned(c, bound, user_id)?;
            let quarantined = device.as_ref().is_some_and(|d| !d.compliant);
            let same = named.is_none_or(|n| n == bound);
            Ok((device.filter(|_| same), quarantined))
        }
        (None, Some(named)) => match Device::find_owned(c, named, user_id)? {
            Some(d) => {
                Session::bind_device(c, &session.id, &d.id)?;
                let quarantined = !d.compliant;
                Ok((Some(d), quarantined))
            }
            // A made-up id or another user's device proves no more than
            // naming none (found by attacks::v8_authorization).
            None => Ok((None, Device::any_non_compliant(c, user_id)?)),
        },
        (None, None) => Ok((None, Device::any_non_compliant(c, user_id)?)),
    }
}

/// Ends one session (logout). Revoking an already-ended session is not an error.
pub async fn end(
    state: &AppState,
    meta: &RequestMeta,
    user_id: &str,
    session_id: &str,
    reason: &'static str,
) -> AppResult<()> {
    let now = now();
    let (sid, m) = (session_id.to_owned(), meta.clone());
    let action = if reason == "logout" {
        "auth.logout"
    } else {
        "session.revoke"
    };
    let event = AuditEvent::new(action, Outcome::Success)
        .actor(user_id.to_owned())
        .target(session_id.to_owned())
        .detail(serde_json::json!({ "reason": reason }));
    let ended = db::run(&state.pool, move |c| {
        db::write_transaction(c, |c| {
            let ended = Session::revoke(c, &sid, reason, now)?;
            if ended {
                audit::record_in(c, Some(&m), event)?;
            }
            Ok(ended)
        })
    })
    .await?;
    if ended {
        identity_cache::forget_user(state, user_id).await;
    }
    Ok(())
}

/// Logout from a refresh token alone (when the access token has expired).
pub async fn end_by_refresh_token(
    state: &AppState,
    meta: &RequestMeta,
    presented: &str,
) -> AppResult<()> {
    let Some(token) = RefreshToken::parse(presented) else {
        return Ok(());
    };
    let lookups = state.keys.session.lookups(|k| token.digest(k));
    let found = db::run(&state.pool, move |c| {
        let Some(row) = RefreshTokenRow::find_by_hash(c, &lookups)? else {
            return Ok(None);
        };
        // Like a refresh: only a first-party session's token ends it here
        // (an OAuth client's is revoked at `/oauth/revoke`, by that client).
        Ok(Session::find(c, &row.session_id)?.filter(|s| Redeemer::FirstParty.may_redeem(s)))
    })
    .await?;
    match found {
        Some(session) => end(state, meta, &session.user_id, &session.id, "logout").await,
        None => Ok(()),
    }
}

/// A user's open sessions, for "Sessions" pages (idle ones left out).
pub async fn list(
    state: &AppState,
    user_id: &str,
    current: Option<&str>,
) -> AppResult<Vec<SessionInfo>> {
    let idle = idle(state)?;
    let uid = user_id.to_owned();
    let now = now();
    let sessions = db::run(&state.pool, move |c| {
        Ok(Session::list_open_for_user(c, &uid, now)?)
    })
    .await?;
    Ok(sessions
        .into_iter()
        .filter(|s| s.is_live(now, idle))
        .map(|s| SessionInfo {
            current: current == Some(s.id.as_str()),
            id: s.id,
            device: s.device_label,
            ip: s.client_ip,
            created_at: s.created_at.and_utc().to_rfc3339(),
            last_seen_at: s.last_seen_at.and_utc().to_rfc3339(),
        })
        .collect())
}

/// Revokes `session_id` if it belongs to `owner` (or to anyone, for an admin
/// passing `owner = None`). Someone else's session is "not found" (no IDOR,
/// and no hint that the id exists).
pub async fn revoke(
    state: &AppState,
    meta: &RequestMeta,
    actor: &str,
    owner: Option<&str>,
    session_id: &str,
) -> AppResult<()> {
    let sid = session_id.to_owned();
    let session = db::run(&state.pool, move |c| Ok(Session::find(c, &sid)?)).await?;
    let session = match (session, owner) {
        (Some(s), Some(owner)) if s.user_id == owner => s,
        (Some(s), None) => s,
        (Some(s), Some(_)) => {
            // Someone else's session id: answered like an unknown one, and
            // recorded as the attempt it is (the owner stays out of the detail).
            audit::record(
                &state.pool,
                Some(meta),
                AuditEvent::new("session.revoke", Outcome::Denied)
                    .actor(actor.to_owned())
                    .target(s.id)
                    .detail(serde_json::json!({ "reason": "not_owner" })),
            )
            .await?;
            return Err(AppError::NotFound);
        }
        _ => return Err(AppError::NotFound),
    };
    let reason = if owner.is_some() {
        "revoked_by_user"
    } else {
        "revoked_by_admin"
    };
    let now = now();
    let (sid, m) = (session.id.clone(), meta.clone());
    let event = AuditEvent::new("session.revoke", Outcome::Success)
        .actor(actor.to_owned())
        .target(session.id.clone())
        .detail(serde_json::json!({ "reason": reason, "owner": session.user_id }));
    let ended = db::run(&state.pool, move |c| {
        db::write_transaction(c, |c| {
            let ended = Session::revoke(c, &sid, reason, now)?;
            if ended {
                audit::record_in(c, Some(&m), event)?;
            }
            Ok(ended)
        })
    })
    .await?;
    if ended {
        identity_cache::forget_user(state, &session.user_id).await;
    }
    Ok(())
}

/// Ends every session of `user_id` except `keep`; returns how many ended.
pub async fn revoke_all_except(
    state: &AppState,
    meta: &RequestMeta,
    actor: &str,
    user_id: &str,
    keep: Option<&str>,
    reason: &'static str,
) -> AppResult<usize> {
    let (uid, keep_owned) = (user_id.to_owned(), keep.map(str::to_owned));
    let (by, m) = (actor.to_owned(), meta.clone());
    let n = db::run(&state.pool, move |c| {
        db::write_transaction(c, |c| {
            revoke_all_except_in(c, &m, &by, &uid, keep_owned.as_deref(), reason)
        })
    })
    .await?;
    identity_cache::forget_user(state, user_id).await;
    Ok(n)
}

/// [`revoke_all_except`] inside the caller's write transaction, for a change
/// that must end sessions with it (a password change, an MFA reset); the
/// caller records its own entry after this (see `audit::record_in`) and then
/// forgets the user's cached identity.
pub fn revoke_all_except_in(
    c: &mut db::DbConn,
    meta: &RequestMeta,
    actor: &str,
    user_id: &str,
    keep: Option<&str>,
    reason: &'static str,
) -> AppResult<usize> {
    let n = Session::revoke_all_except(c, user_id, keep, reason, now())?;
    audit::record_in(
        c,
        Some(meta),
        AuditEvent::new("session.revoke_others", Outcome::Success)
            .actor(actor.to_owned())
            .target(user_id.to_owned())
            .detail(serde_json::json!({ "reason": reason, "count": n })),
    )?;
    Ok(n)
}

/// A short, human label for a user agent: "Firefox on Linux", "curl", ...
/// Shown in session lists so people recognise their devices.
pub fn device_label(user_agent: Option<&str>) -> String {
    let Some(ua) = user_agent.filter(|u| !u.trim().is_empty()) else {
        return "Unknown device".into();
    };
    let browser = [
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("Chromium/", "Chromium"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
        ("curl/", "curl"),
        ("python-requests", "Python"),
        ("reqwest", "reqwest"),
    ]
    .iter()
    .find(|(needle, _)| ua.contains(needle))
    .map(|(_, name)| *name);
    let os = [
        ("Android", "Android"),
        ("iPhone", "iOS"),
        ("iPad", "iPadOS"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("CrOS", "ChromeOS"),
        ("Linux", "Linux"),
    ]
    .iter()
    .find(|(needle, _)| ua.contains(needle))
    .map(|(_, name)| *name);
    match (browser, os) {
        (Some(b), Some(o)) => format!("{b} on {o}"),
        (Some(b), None) => b.to_owned(),
        (None, Some(o)) => format!("Browser on {o}"),
        (None, None) => "Unknown device".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_labels_are_recognisable() {
        let chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36";
        assert_eq!(device_label(Some(chrome)), "Chrome on Linux");
        let firefox =
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0";
        assert_eq!(device_label(Some(firefox)), "Firefox on Windows");
        let safari = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Version/17.0 Mobile/15E148 Safari/604.1";
        assert_eq!(device_label(Some(safari)), "Safari on iOS");
        assert_eq!(device_label(Some("curl/8.5.0")), "curl");
        assert_eq!(device_label(None), "Unknown device");
        assert_eq!(device_label(Some("<script>")), "Unknown device");
    }
}
