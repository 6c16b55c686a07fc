//! The OAuth 2.0 authorization server: the authorization request
//! (validation, consent decision, codes) and the token endpoint
//! (`authorization_code` with PKCE `S256`, `refresh_token`). Clients are
//! registered and managed in `services::oauth_clients`.
//!
//! A token request opens an ordinary server-side session for the user
//! (`sessions::open`), so OAuth access tokens are the app's RS256 access
//! tokens and revoking the session ends them. Codes and client secrets are
//! 256 random bits stored only as HMAC-SHA-256 under SESSION_KEY.

use crate::audit::{self, AuditEvent, Outcome};
use crate::db::{
    self,
    models::oauth::{OAuthClient, OAuthCode, OAuthConsentRequest, OAuthGrant},
    models::refresh_token::RefreshTokenRow,
    models::session::Session,
    models::user::User,
    Pool,
};
use crate::error::{AppError, AppResult};
use crate::request_meta::RequestMeta;
use crate::security::jwt::ClientGrant;
use crate::security::pkce;
use crate::security::refresh_token::RefreshToken;
use crate::services::identity_cache;
use crate::services::sessions::{self, SignedIn};
use crate::state::identity_cache::Invalidation;
use crate::state::AppState;
use serde::{Deserialize, Serialize};

/// How long an authorization code may be exchanged.
pub const CODE_TTL_SECS: i64 = 60;
/// Session revocation reason when a code is presented a second time.
const REUSE_REASON: &str = "oauth_code_reuse";
/// Marks a code whose second use came before its first exchange recorded a
/// session: that exchange then revokes the session it just opened.
const REUSED_MARK: &str = "-reused-";

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

// ---------------------------------------------------------------- clients
// Registering and managing clients: `services::oauth_clients`.

pub async fn find_client(pool: &Pool, id: &str) -> AppResult<Option<OAuthClient>> {
    let id = id.to_owned();
    db::run(pool, move |c| Ok(OAuthClient::find(c, &id)?)).await
}

// ---------------------------------------------------- authorization request

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

fn with_query(redirect_uri: &str, pairs: &[(&str, &str)]) -> String {
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

// ------------------------------------------------------------- consent

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

// ------------------------------------------------------------ token endpoint

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

/// Authenticates the client: a confidential client by its secret (Basic or
/// body, not both), a public one by its id alone (and it must not send a
/// secret).
async fn authenticate_client(
    state: &AppState,
    p: &TokenParams,
    basic: Option<&BasicCredentials>,
) -> AppResult<Result<OAuthClient, (OAuthError, &'static str)>> {
    let err = |e, d, r| Ok(Err((OAuthError::new(e, d), r)));
    if basic.is_some() && p.client_secret.is_some() {
        return err(
            "invalid_request",
            "use one client authentication method",
            "two_auth_methods",
        );
    }
    let (client_id, secret) = match basic {
        Some(b) => {
            if p.client_id.as_deref().is_some_and(|id| id != b.client_id) {
                return err(
                    "invalid_request",
                    "client_id differs from the authenticated client",
                    "client_id_mismatch",
                );
            }
            (b.client_id.clone(), Some(b.client_secret.clone()))
        }
        None => match p.client_id.as_deref().filter(|s| !s.is_empty()) {
            Some(id) => (id.to_owned(), p.client_secret.clone()),
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
    let client = match authenticate_client(state, &p, basic.as_ref()).await? {
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
    let lookups = state.keys.session.lookups(|k| code.digest(k));
    let (client_id, redirect_uri, verifier) = (
        client.id.clone(),
        redirect_uri.to_owned(),
        verifier.to_owned(),
    );
    let now = sessions::now();
    let m = meta.clone();
    let consumed = db::run(&state.pool, move |c| {
        db::write_transaction(c, |c| {
            let Some(row) = OAuthCode::find(c, &lookups)? else {
                return Ok(Consumed::Refused("unknown_code", None));
            };
            if row.client_id != client_id {
                return Ok(Consumed::Refused("other_client", Some(row.user_id)));
            }
            if row.used_at.is_some() {
                // Second use: the code leaked. End what the first use opened.
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
                    Some(&m),
                    AuditEvent::new("oauth.code_reuse", Outcome::Denied)
                        .target(row.user_id.clone())
                        .detail(serde_json::json!({
                            "client_id": client_id,
                            "session_id": row.session_id,
                            "action": "session_revoked",
                        })),
                )?;
                return Ok(Consumed::Reused {
                    user_id: row.user_id,
                });
            }
            if now >= row.expires_at {
                return Ok(Consumed::Refused("expired_code", Some(row.user_id)));
            }
            if row.redirect_uri != redirect_uri {
                return Ok(Consumed::Refused(
                    "redirect_uri_mismatch",
                    Some(row.user_id),
                ));
            }
            if let Err(e) = pkce::verify(&verifier, &row.code_challenge) {
                return Ok(Consumed::Refused(e.as_str(), Some(row.user_id)));
            }
            // The registration as it is now, read in this transaction: the
            // consent step checks the stored request against it again, and so
            // must this one, or a code issued a moment before an
            // administrator took a scope or a redirect URI away (its domain
            // lost, say) still buys a session with it for the code's 60
            // seconds (and `update_client` only ends sessions that exist).
            let current = OAuthClient::find(c, &client_id)?;
            let still_allowed = current.is_some_and(|now_client| {
                let scopes = now_client.scope_list();
                scope_set(&row.scope)
                    .iter()
                    .all(|s| scopes.contains(&s.as_str()))
                    && pkce::redirect_uri_matches(
                        &now_client.redirect_uri_list(),
                        &row.redirect_uri,
                    )
            });
            if !still_allowed {
                return Ok(Consumed::Refused("registration_changed", Some(row.user_id)));
            }
            if !OAuthCode::mark_used(c, &row.code_hash, now)? {
                return Ok(Consumed::Refused("concurrent_use", Some(row.user_id)));
            }
            Ok(Consumed::Fresh(row))
        })
    })
    .await?;
    let row = match consumed {
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
    let tokens = sessions::open_for_client(state, meta, &user, grant).await?;
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
    // The code bound to its session and the grant recorded: one transaction
    // (the tokens are sent only once both are written).
    let recorded = db::run(&state.pool, move |c| {
        db::write_transaction(c, |c| {
            if !OAuthCode::set_session_if_unset(c, &d, &sid)? {
                return Ok(false);
            }
            audit::record_in(c, Some(&m), event)?;
            Ok(true)
        })
    })
    .await?;
    if !recorded {
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

/// `grant_type=refresh_token`: only for a session this client's code opened;
/// rotation and reuse detection are the browser sessions' (`sessions::refresh`).
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
    match sessions::refresh(
        state,
        meta,
        presented,
        sessions::Redeemer::Client(&client.id),
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
    fn credentials(&self) -> TokenParams {
        TokenParams {
            client_id: self.client_id.clone(),
            client_secret: self.client_secret.clone(),
            ..TokenParams::default()
        }
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
    let client = match authenticate_client(state, &q.credentials(), basic.as_ref()).await? {
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
    let client = match authenticate_client(state, &q.credentials(), basic.as_ref()).await? {
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

    #[test]
    fn scope_tokens_follow_rfc6749() {
        assert!(valid_scope_token("profile"));
        assert!(valid_scope_token("api:read"));
        for bad in ["", "a b", "a\"b", "a\\b", "é", &"a".repeat(65)] {
            assert!(!valid_scope_token(bad), "{bad:?}");
        }
    }
}
