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
use crate::services::oauth::{
    self, AuthorizeError, AuthorizeParams, BasicCredentials, TokenParams,
};
use crate::services::sessions::{self, SignedIn};
use crate::startup::AppState;
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
    sessions::authenticate(state, Some(&token)).await.ok()
}

/// `GET /oauth/authorize`.
pub async fn authorize(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let Ok(params) = web::Query::<AuthorizeParams>::from_query(req.query_string()) else {
        return error_page("the request's parameters could not be read");
    };
    let params = params.into_inner();
    let approved = match oauth::validate(&state, &params).await {
        Ok(Ok(a)) => a,
        Ok(Err(AuthorizeError::NoRedirect(reason))) => return error_page(reason),
        Ok(Err(AuthorizeError::Redirect(url))) => return see_other(&url),
        Err(e) => return actix_web::ResponseError::error_response(&e),
    };
    let Some(who) = signed_in(&state, &req).await else {
        let next = format!("/oauth/authorize?{}", req.query_string());
        return see_other(&format!("/login?next={}", oauth::percent_encode(&next)));
    };
    let p = params;
    let fields = [
        ("response_type", p.response_type),
        ("client_id", p.client_id),
        ("redirect_uri", p.redirect_uri),
        ("scope", p.scope),
        ("state", p.state),
        ("code_challenge", p.code_challenge),
        ("code_challenge_method", p.code_challenge_method),
    ]
    .into_iter()
    .filter_map(|(name, value)| Some((name, value?)))
    .collect();
    let request = ConsentRequest {
        client_name: approved.client.name.clone(),
        username: who.user.username.clone(),
        scopes: approved
            .scope
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        redirect_uri: approved.redirect_uri.clone(),
        fields,
    };
    let body = view! { <ConsentPage request=request/> }.to_html();
    let mut response = page(actix_web::http::StatusCode::OK, "Allow access?", &body);
    // The decision redirects there: the CSP's form-action must allow it.
    if let Some(origin) = crate::http::csrf::origin_of(&approved.redirect_uri) {
        if let Ok(v) = header::HeaderValue::from_str(&origin) {
            response.headers_mut().insert(X_CSP_FORM_ACTION, v);
        }
    }
    response
}

/// The consent form: the authorization request again, plus the decision.
#[derive(serde::Deserialize)]
pub struct DecisionForm {
    decision: String,
    response_type: Option<String>,
    client_id: Option<String>,
    redirect_uri: Option<String>,
    scope: Option<String>,
    state: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
}

/// `POST /oauth/authorize/decision`: validates the request again (the form
/// is the client's to change), then issues a code or reports the refusal.
pub async fn decision(
    state: web::Data<AppState>,
    meta: RequestMeta,
    who: Authenticated,
    form: web::Form<DecisionForm>,
) -> Result<HttpResponse, AppError> {
    let f = form.into_inner();
    let params = AuthorizeParams {
        response_type: f.response_type,
        client_id: f.client_id,
        redirect_uri: f.redirect_uri,
        scope: f.scope,
        state: f.state,
        code_challenge: f.code_challenge,
        code_challenge_method: f.code_challenge_method,
    };
    let approved = match oauth::validate(&state, &params).await? {
        Ok(a) => a,
        Err(AuthorizeError::NoRedirect(reason)) => return Ok(error_page(reason)),
        Err(AuthorizeError::Redirect(url)) => return Ok(see_other(&url)),
    };
    let user_id = &who.0.user.id;
    let url = match f.decision.as_str() {
        "allow" => oauth::allow(&state, &meta, user_id, &approved).await?,
        "deny" => oauth::deny(&state, &meta, user_id, &approved).await?,
        _ => {
            return Err(AppError::BadRequest(
                "decision must be allow or deny".into(),
            ))
        }
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
    match oauth::token(&state, &meta, form.into_inner(), basic).await? {
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
    form: Result<web::Form<oauth::TokenQuery>, actix_web::Error>,
) -> Result<HttpResponse, AppError> {
    let (Ok(form), Ok(basic)) = (form, basic_credentials(&req)) else {
        return Ok(oauth_error(&oauth::OAuthError {
            error: "invalid_request",
            description: "a form-encoded body and at most one Basic header are required",
            unauthorized: false,
        }));
    };
    match oauth::revoke(&state, &meta, form.into_inner(), basic).await? {
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
    form: Result<web::Form<oauth::TokenQuery>, actix_web::Error>,
) -> Result<HttpResponse, AppError> {
    let (Ok(form), Ok(basic)) = (form, basic_credentials(&req)) else {
        return Ok(oauth_error(&oauth::OAuthError {
            error: "invalid_request",
            description: "a form-encoded body and at most one Basic header are required",
            unauthorized: false,
        }));
    };
    match oauth::introspect(&state, form.into_inner(), basic).await? {
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
