//! The user's decision on an authorization request: who may see and
//! answer a consent page, the single-use consent request behind the page,
//! and allowing (a code, the grant recorded) or denying.

use super::authorize::{error_redirect, with_query, Approved, AuthorizeParams};
use super::scope_set;
use crate::audit::{self, AuditEvent, Outcome};
use crate::db::{
    self,
    models::oauth::{OAuthCode, OAuthConsentRequest, OAuthGrant},
};
use crate::error::{AppError, AppResult};
use crate::request_meta::RequestMeta;
use crate::security::refresh_token::RefreshToken;
use crate::services::sessions::{self, SignedIn};
use crate::state::AppState;

/// How long an authorization code may be exchanged.
pub const CODE_TTL_SECS: i64 = 60;

/// How long a rendered consent page can be answered. Ory Hydra keeps its
/// consent requests for 30 minutes, Keycloak its authentication sessions
/// about as long; reading one page needs far less, and a shorter life
/// leaves less for a stolen id (which is useless outside its session anyway).
pub const CONSENT_TTL_SECS: i64 = 600;

/// The refusal for a caller that is not the user in a first-party browser
/// session: a bearer token, or the session of an OAuth client. The same code
/// as the decision point's `Deny::FirstPartyRequired`, which refuses an OAuth
/// client's session on the decision route before this handler runs.
pub const FIRST_PARTY_ONLY: &str = "first_party_session_required";

/// The refusal for a decision that names no consent page this very session
/// loaded: missing, made up, already answered, expired or another
/// session's (one answer for all, so an id cannot be probed).
pub const NO_SUCH_CONSENT: &str =
    "this consent request is unknown, expired or already answered: start again from the application";

/// Whether `who` may see and answer consent pages. Consent is the user's
/// own act, in the browser, on a page this server rendered (RFC 6749
/// §10.2, ASVS 5.0 V10.7): the identity must come from the session cookie,
/// not an `Authorization` header (`bearer`: one was sent), and the session
/// must be a first-party one, not a session an OAuth client opened, which
/// could otherwise approve itself or any other client for more (Keycloak
/// and Hydra show consent only to their own login session, too).
pub fn first_party(who: &SignedIn, bearer: bool) -> Result<(), &'static str> {
    if bearer {
        return Err("bearer_token");
    }
    if who.session.oauth_scope.is_some() || who.session.oauth_client_id.is_some() {
        return Err("oauth_client_session");
    }
    Ok(())
}

/// Records a refused consent page or decision (once per request).
pub async fn consent_refused(
    state: &AppState,
    meta: &RequestMeta,
    user_id: &str,
    client_id: Option<&str>,
    reason: &str,
) -> AppResult<()> {
    audit::record(
        &state.pool,
        Some(meta),
        AuditEvent::new("oauth.consent_refused", Outcome::Denied)
            .actor(user_id)
            .detail(serde_json::json!({ "reason": reason, "client_id": client_id })),
    )
    .await
}

/// What a consent page shows beyond the request itself.
pub struct ConsentPage {
    /// The id the page posts back (the only value it carries).
    pub consent_id: String,
    /// Whether the user approved this client before.
    pub granted_before: bool,
    /// The requested scopes the user has not approved for this client yet.
    pub new_scopes: Vec<String>,
}

/// Stores the validated request as a single-use consent request bound to
/// `who`'s session (its id only as an HMAC), and compares it with what the
/// user granted this client before.
pub async fn render_consent(
    state: &AppState,
    who: &SignedIn,
    a: &Approved,
) -> AppResult<ConsentPage> {
    let id = RefreshToken::generate();
    let now = sessions::now();
    let row = OAuthConsentRequest {
        id_hash: state.keys.session.digest(|k| id.digest(k)),
        session_id: who.session.id.clone(),
        user_id: who.user.id.clone(),
        client_id: a.client.id.clone(),
        redirect_uri: a.redirect_uri.clone(),
        scope: a.scope.clone(),
        state: a.state.clone(),
        code_challenge: a.challenge.clone(),
        created_at: now,
        expires_at: now + chrono::Duration::seconds(CONSENT_TTL_SECS),
    };
    let (uid, cid) = (who.user.id.clone(), a.client.id.clone());
    let grant = db::run(&state.pool, move |c| {
        OAuthConsentRequest::delete_expired(c, now)?;
        OAuthConsentRequest::create(c, &row)?;
        Ok(OAuthGrant::find(c, &uid, &cid)?)
    })
    .await?;
    let granted = grant
        .as_ref()
        .map(|g| scope_set(&g.scope))
        .unwrap_or_default();
    Ok(ConsentPage {
        consent_id: id.expose().to_owned(),
        granted_before: grant.is_some(),
        new_scopes: scope_set(&a.scope)
            .into_iter()
            .filter(|s| !granted.contains(s))
            .collect(),
    })
}

/// Takes the consent request `consent_id` names, if it belongs to `who`'s
/// session and is still open: deleted in the same transaction, so of two
/// decisions posted at once only one gets it. A refusal (the reason, for
/// the audit log) changes nothing.
pub async fn take_consent(
    state: &AppState,
    who: &SignedIn,
    consent_id: Option<&str>,
) -> AppResult<Result<OAuthConsentRequest, &'static str>> {
    let Some(consent_id) = consent_id.filter(|s| !s.is_empty()) else {
        return Ok(Err("no_consent_id"));
    };
    let Some(id) = RefreshToken::parse(consent_id) else {
        return Ok(Err("malformed_consent_id"));
    };
    let lookups = state.keys.session.lookups(|k| id.digest(k));
    let (sid, uid) = (who.session.id.clone(), who.user.id.clone());
    let now = sessions::now();
    db::run(&state.pool, move |c| {
        db::write_transaction(c, |c| {
            let Some(row) = OAuthConsentRequest::find(c, &lookups)? else {
                return Ok(Err("unknown_consent_id"));
            };
            if row.session_id != sid || row.user_id != uid {
                return Ok(Err("other_session"));
            }
            if now >= row.expires_at {
                return Ok(Err("expired_consent"));
            }
            if !OAuthConsentRequest::delete(c, &row.id_hash)? {
                return Ok(Err("already_answered"));
            }
            Ok(Ok(row))
        })
    })
    .await
}

/// The stored request as authorization parameters, to be validated again
/// against the client's registration as it is now.
pub fn params_of(row: &OAuthConsentRequest) -> AuthorizeParams {
    AuthorizeParams {
        response_type: Some("code".into()),
        client_id: Some(row.client_id.clone()),
        redirect_uri: Some(row.redirect_uri.clone()),
        scope: Some(row.scope.clone()),
        state: row.state.clone(),
        code_challenge: Some(row.code_challenge.clone()),
        code_challenge_method: Some("S256".into()),
    }
}

/// Adds `scope` to what `user_id` granted `client_id`; returns the whole
/// grant and the scopes that were new. Concurrent consents both count: the
/// insert skips an existing row and the update is a compare and swap.
fn record_grant(
    c: &mut crate::db::DbConn,
    user_id: &str,
    client_id: &str,
    scope: &str,
    now: chrono::NaiveDateTime,
) -> AppResult<(String, Vec<String>)> {
    let asked = scope_set(scope);
    let created = OAuthGrant::create_if_absent(
        c,
        &OAuthGrant {
            user_id: user_id.to_owned(),
            client_id: client_id.to_owned(),
            scope: asked.join(" "),
            created_at: now,
            updated_at: now,
        },
    )?;
    if created {
        return Ok((asked.join(" "), asked));
    }
    for _ in 0..8 {
        let Some(grant) = OAuthGrant::find(c, user_id, client_id)? else {
            continue;
        };
        let before = scope_set(&grant.scope);
        let new: Vec<String> = asked
            .iter()
            .filter(|s| !before.contains(s))
            .cloned()
            .collect();
        if new.is_empty() {
            return Ok((grant.scope, new));
        }
        let mut all = before;
        all.extend(new.iter().cloned());
        all.sort_unstable();
        let all = all.join(" ");
        if OAuthGrant::replace_scope(c, user_id, client_id, &grant.scope, &all, now)? {
            return Ok((all, new));
        }
    }
    Err(AppError::internal(anyhow::anyhow!(
        "the OAuth grant kept changing while being recorded"
    )))
}

/// The user allowed the request: stores a fresh single-use code (its HMAC
/// only) and returns the redirect to the client with `code` and `state`.
pub async fn allow(
    state: &AppState,
    meta: &RequestMeta,
    user_id: &str,
    a: &Approved,
) -> AppResult<String> {
    let code = RefreshToken::generate();
    let now = sessions::now();
    let row = OAuthCode {
        code_hash: state.keys.session.digest(|k| code.digest(k)),
        client_id: a.client.id.clone(),
        user_id: user_id.to_owned(),
        redirect_uri: a.redirect_uri.clone(),
        code_challenge: a.challenge.clone(),
        scope: a.scope.clone(),
        created_at: now,
        expires_at: now + chrono::Duration::seconds(CODE_TTL_SECS),
        used_at: None,
        session_id: None,
    };
    let (uid, cid, scope) = (user_id.to_owned(), a.client.id.clone(), a.scope.clone());
    let m = meta.clone();
    db::run(&state.pool, move |c| {
        db::write_transaction(c, |c| {
            OAuthCode::delete_expired(c, now - chrono::Duration::hours(1))?;
            OAuthCode::create(c, &row)?;
            let (granted, new_scopes) = record_grant(c, &uid, &cid, &scope, now)?;
            // The consent: who, which client, which scopes (never the code).
            audit::record_in(
                c,
                Some(&m),
                AuditEvent::new("oauth.authorize", Outcome::Success)
                    .actor(uid.clone())
                    .target(cid.clone())
                    .detail(serde_json::json!({
                        "decision": "allow",
                        "client_id": cid,
                        "scope": scope,
                        "new_scopes": new_scopes,
                        "granted": granted,
                    })),
            )
        })
    })
    .await?;
    let mut pairs = vec![("code", code.expose())];
    if let Some(s) = a.state.as_deref() {
        pairs.push(("state", s));
    }
    Ok(with_query(&a.redirect_uri, &pairs))
}

/// The user denied the request: `error=access_denied` with the state.
pub async fn deny(
    state: &AppState,
    meta: &RequestMeta,
    user_id: &str,
    a: &Approved,
) -> AppResult<String> {
    audit::record(
        &state.pool,
        Some(meta),
        AuditEvent::new("oauth.authorize", Outcome::Denied)
            .actor(user_id)
            .target(a.client.id.clone())
            .detail(serde_json::json!({
                "decision": "deny",
                "client_id": a.client.id,
                "scope": a.scope,
            })),
    )
    .await?;
    Ok(error_redirect(
        &a.redirect_uri,
        "access_denied",
        a.state.as_deref(),
    ))
}
