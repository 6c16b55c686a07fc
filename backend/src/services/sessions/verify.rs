//! Checking a request's identity: the access token, the live session, the
//! user and the device the request is judged as (`device_posture`).

use super::{idle, now, token_policy, Denied, SignedIn};
use crate::db::{
    self, models::device::Device, models::mfa::UserMfa, models::session::Session,
    models::user::User,
};
use crate::error::AppError;
use crate::security::jwt::{self, TokenError};
use crate::state::AppState;
use std::sync::Arc;

/// Only refresh `last_seen_at` when it is older than this, so reading pages
/// does not turn into one database write per request.
const TOUCH_INTERVAL_SECS: i64 = 60;

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
