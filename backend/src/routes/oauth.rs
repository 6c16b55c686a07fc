//! OAuth 2.0 endpoints: `GET /oauth/authorize` (sign-in redirect or the
//! consent page), `POST /oauth/authorize/decision`, `POST /oauth/token`, and
//! the RFC 8414 metadata. The logic is in `services::oauth`.
//!
//! The consent page is a Leptos component (`frontend::pages::consent`)
//! rendered to plain HTML here: no script, no inline style, the app's
//! stylesheet; it needs no hydration, and Leptos escapes every value.

use crate::error::AppError;
use crate::http::auth::{presented_access_token, Authenticated};
use crate::http::client::RequestMeta;
use crate::http::security_headers::X_CSP_FORM_ACTION;
use crate::services::oauth::authorize::{self, AuthorizeError, AuthorizeParams};
use crate::services::oauth::token::TokenParams;
use crate::services::oauth::{self, consent, revoke_introspect, BasicCredentials};
use crate::services::sessions::{self, SignedIn};
use crate::state::AppState;
use actix_web::http::header::{self, ContentType};
use actix_web::{web, HttpMessage, HttpRequest, HttpResponse};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use frontend::consent::{AuthorizeRefused, ConsentPage, ConsentRequest};
use leptos::prelude::*;
use leptos::tachys::view::RenderHtml;
use std::sync::Arc;

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn page(status: actix_web::http::StatusCode, title: &str, body: &str) -> HttpResponse {
    let html = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><link rel=\"stylesheet\" href=\"/pkg/frontend.css\"></head>\
         <body><main class=\"container\">{body}</main></body></html>",
        escape(title)
    );
    HttpResponse::build(status)
        .content_type(ContentType::html())
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(html)
}

fn error_page(reason: &str) -> HttpResponse {
    let reason = reason.to_owned();
    let body = view! { <AuthorizeRefused reason=reason/> }.to_html();
    page(
        actix_web::http::StatusCode::BAD_REQUEST,
        "Authorization request refused",
        &body,
    )
}

fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location.to_owned()))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

/// The signed-in user, if any: verified by the PEP for this request, or
/// (the route being public) verified here from the same token.
async fn signed_in(state: &AppState, req: &HttpRequest) -> Option<SignedIn> {
    if let Some(who) = req.extensions().get::<Arc<SignedIn>>() {
        return Some(SignedIn::clone(who));
    }
    let token = presented_access_token(req)?;
    sessions::verify::authenticate(state, Some(&token))
        .await
        .ok()
}

/// Whether the request carries an `Authorization` header: then the identity
/// came from it (it takes precedence over the cookie), not from the browser
/// session.
fn has_authorization(req: &HttpRequest) -> bool {
    req.headers().contains_key(header::AUTHORIZATION)
}

/// A caller that may not see or answer consent pages: refused (403, the
/// JSON error body) and audited once.
async fn not_first_party(
    state: &AppState,
    meta: &RequestMeta,
    who: &SignedIn,
    client_id: Option<&str>,
    reason: &str,
) -> Result<HttpResponse, AppError> {
    consent::consent_refused(state, meta, &who.user.id, client_id, reason).await?;
    Err(AppError::Forbidden(consent::FIRST_PARTY_ONLY.into()))
}

/// `GET /oauth/authorize`.
pub async fn authorize(
    state: web::Data<AppState>,
    meta: RequestMeta,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let Ok(params) = web::Query::<AuthorizeParams>::from_query(req.query_string()) else {
        return Ok(error_page("the request's parameters could not be read"));
    };
    let params = params.into_inner();
    let approved = match authorize::validate(&state, &params).await? {
        Ok(a) => a,
        Err(AuthorizeError::NoRedirect(reason)) => return Ok(error_page(reason)),
        Err(AuthorizeError::Redirect(url)) => return Ok(see_other(&url)),
    };
    let Some(who) = signed_in(&state, &req).await else {
        let next = format!("/oauth/authorize?{}", req.query_string());
        return Ok(see_other(&format!(
            "/login?next={}",
            crate::security::percent::encode(&next)
        )));
    };
    // Only the user's own browser session gets a consent page (and with it
    // a consent id): not a bearer token, not an OAuth client's session.
    if let Err(reason) = consent::first_party(&who, has_authorization(&req)) {
        return not_first_party(&state, &meta, &who, Some(&approved.client.id), reason).await;
    }
    let consent = consent::render_consent(&state, &who, &approved).await?;
    let request = ConsentRequest {
        client_name: approved.client.name.clone(),
        username: who.user.username.clone(),
        scopes: approved
            .scope
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        new_scopes: consent.new_scopes,
        granted_before: consent.granted_before,
        redirect_uri: approved.redirect_uri.clone(),
        consent_id: consent.consent_id,
    };
    let body = view! { <ConsentPage request=request/> }.to_html();
    let mut response = page(actix_web::http::StatusCode::OK, "Allow access?", &body);
    // The decision redirects there: the CSP's form-action must allow it.
    if let Some(origin) = crate::security::origin::origin_of(&approved.redirect_uri) {
        if let Ok(v) = header::HeaderValue::from_str(&origin) {
            response.headers_mut().insert(X_CSP_FORM_ACTION, v);
        }
    }
    Ok(response)
}

/// The consent form: the id of the request the page showed, and the
/// decision. Anything else posted (a scope, a client, a redirect URI) is
/// ignored: the code is issued from the stored request.
#[derive(serde::Deserialize)]
pub struct DecisionForm {
    decision: Option<String>,
    consent_id: Option<String>,
}

/// `POST /oauth/authorize/decision`: only the user, in the browser session
/// that loaded the consent page, answers it, once.
pub async fn decision(
    state: web::Data<AppState>,
    meta: RequestMeta,
    req: HttpRequest,
    who: Authenticated,
    form: web::Form<DecisionForm>,
) -> Result<HttpResponse, AppError> {
    let who = &who.0;
    if let Err(reason) = consent::first_party(who, has_authorization(&req)) {
        return not_first_party(&state, &meta, who, None, reason).await;
    }
    let f = form.into_inner();
    // Checked before the request is taken, so a malformed post uses nothing up.
    let allow = match f.decision.as_deref() {
        Some("allow") => true,
        Some("deny") => false,
        _ => {
            return Err(AppError::BadRequest(
                "decision must be allow or deny".into(),
            ))
        }
    };
    let row = match consent::take_consent(&state, who, f.consent_id.as_deref()).await? {
        Ok(row) => row,
        Err(reason) => {
            consent::consent_refused(&state, &meta, &who.user.id, None, reason).await?;
            return Err(AppError::BadRequest(consent::NO_SUCH_CONSENT.into()));
        }
    };
    // Validated again: the client's registration may have changed since.
    let approved = match authorize::validate(&state, &consent::params_of(&row)).await? {
        Ok(a) => a,
        Err(refused) => {
            // Taken, then refused by the registration as it is now (a
            // redirect URI or a scope removed since the page was shown): a
            // refused decision like the others, so audited once like them.
            consent::consent_refused(
                &state,
                &meta,
                &who.user.id,
                Some(&row.client_id),
                "registration_changed",
            )
            .await?;
            return Ok(match refused {
                AuthorizeError::NoRedirect(reason) => error_page(reason),
                AuthorizeError::Redirect(url) => see_other(&url),
            });
        }
    };
    let user_id = &who.user.id;
    let url = if allow {
        consent::allow(&state, &meta, user_id, &approved).await?
    } else {
        consent::deny(&state, &meta, user_id, &approved).await?
    };
    Ok(see_other(&url))
}

fn basic_credentials(req: &HttpRequest) -> Result<Option<BasicCredentials>, ()> {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value.to_str().map_err(|_| ())?;
    let Some(encoded) = value
        .strip_prefix("Basic ")
        .or_else(|| value.strip_prefix("basic "))
    else {
        return Err(());
    };
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| ())?;
    let decoded = String::from_utf8(decoded).map_err(|_| ())?;
    let (id, secret) = decoded.split_once(':').ok_or(())?;
    Ok(Some(BasicCredentials {
        client_id: id.to_owned(),
        client_secret: secret.to_owned(),
    }))
}

fn oauth_error(e: &oauth::OAuthError) -> HttpResponse {
    let mut resp = if e.unauthorized {
        let mut r = HttpResponse::Unauthorized();
        r.insert_header((header::WWW_AUTHENTICATE, "Basic realm=\"oauth\""));
        r
    } else {
        HttpResponse::BadRequest()
    };
    resp.insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(serde_json::json!({ "error": e.error, "error_description": e.description }))
}

/// `POST /oauth/token` (form-encoded; RFC 6749 §4.1.3, §6).
pub async fn token(
    state: web::Data<AppState>,
    meta: RequestMeta,
    req: HttpRequest,
    form: Result<web::Form<TokenParams>, actix_web::Error>,
) -> Result<HttpResponse, AppError> {
    let Ok(form) = form else {
        return Ok(oauth_error(&oauth::OAuthError {
            error: "invalid_request",
            description: "the body must be application/x-www-form-urlencoded",
            unauthorized: false,
        }));
    };
    let Ok(basic) = basic_credentials(&req) else {
        return Ok(oauth_error(&oauth::OAuthError {
            error: "invalid_client",
            description: "malformed Authorization header",
            unauthorized: true,
        }));
    };
    match oauth::token::token(&state, &meta, form.into_inner(), basic).await? {
        Ok(tokens) => Ok(HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .insert_header((header::PRAGMA, "no-cache"))
            .json(tokens)),
        Err(e) => Ok(oauth_error(&e)),
    }
}

/// `POST /oauth/revoke` (RFC 7009, form-encoded).
pub async fn revoke(
    state: web::Data<AppState>,
    meta: RequestMeta,
    req: HttpRequest,
    form: Result<web::Form<revoke_introspect::TokenQuery>, actix_web::Error>,
) -> Result<HttpResponse, AppError> {
    let (Ok(form), Ok(basic)) = (form, basic_credentials(&req)) else {
        return Ok(oauth_error(&oauth::OAuthError {
            error: "invalid_request",
            description: "a form-encoded body and at most one Basic header are required",
            unauthorized: false,
        }));
    };
    match revoke_introspect::revoke(&state, &meta, form.into_inner(), basic).await? {
        Ok(()) => Ok(HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .finish()),
        Err(e) => Ok(oauth_error(&e)),
    }
}

/// `POST /oauth/introspect` (RFC 7662, form-encoded; confidential clients).
pub async fn introspect(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: Result<web::Form<revoke_introspect::TokenQuery>, actix_web::Error>,
) -> Result<HttpResponse, AppError> {
    let (Ok(form), Ok(basic)) = (form, basic_credentials(&req)) else {
        return Ok(oauth_error(&oauth::OAuthError {
            error: "invalid_request",
            description: "a form-encoded body and at most one Basic header are required",
            unauthorized: false,
        }));
    };
    match revoke_introspect::introspect(&state, form.into_inner(), basic).await? {
        Ok(body) => Ok(HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .json(body)),
        Err(e) => Ok(oauth_error(&e)),
    }
}

/// `GET /.well-known/oauth-authorization-server` (RFC 8414). Every URL is
/// built from configuration (`APP_PUBLIC_URL`), never from the request's
/// `Host` or forwarded headers: anyone can send those, and a shared cache
/// would hand a poisoned answer to everyone. The answer is the same for
/// every request, so it may be cached publicly.
pub async fn metadata(state: web::Data<AppState>) -> HttpResponse {
    let base = state.settings.public_origin();
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .json(serde_json::json!({
            "issuer": base,
            "authorization_endpoint": format!("{base}/oauth/authorize"),
            "token_endpoint": format!("{base}/oauth/token"),
            "revocation_endpoint": format!("{base}/oauth/revoke"),
            "introspection_endpoint": format!("{base}/oauth/introspect"),
            "jwks_uri": format!("{base}/.well-known/jwks.json"),
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported":
                ["none", "client_secret_basic", "client_secret_post"],
        }))
}
