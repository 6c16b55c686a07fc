//! Workshop mode's eyes (`APP_WORKSHOP=1`). Off, it only hides the
//! workshop API (404, before any decision is made or recorded) and passes
//! everything else on untouched.
//!
//! On, for each request it works out who the participant is — the user of
//! a valid session that came with the request: the presented token if it
//! verifies, else the browser's access cookie sent alongside a forged
//! `Authorization` header — and what algorithm the presented token claims.
//! It puts that [`Context`] in the request, where `RequestMeta` picks it up
//! for `audit::record`. After the response it credits what only the
//! response shows: a 429 (the rate limit), a 5xx (recorded with its request
//! id, for the request-id challenge), and an injection string in the query.

use super::auth::presented_access_token;
use super::client::RequestMeta;
use super::ACCESS_COOKIE;
use crate::error::AppError;
use crate::security::workshop::{self as rules, Context};
use crate::services::{sessions, workshop};
use crate::state::AppState;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, Error, HttpMessage, HttpRequest, ResponseError};

/// The workshop API, hidden while workshop mode is off.
const API_PREFIX: &str = "/api/v1/workshop";

fn is_workshop_api(path: &str) -> bool {
    path.strip_prefix(API_PREFIX)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// Requests that cannot attempt anything (assets and health checks).
fn is_passive(path: &str) -> bool {
    path.starts_with("/pkg/") || path == "/healthz" || path == "/readyz"
}

pub async fn workshop<B: MessageBody + 'static>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, Error> {
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let Some(state) = state.filter(|s| s.settings.workshop) else {
        if is_workshop_api(req.path()) {
            let response = AppError::NotFound.error_response();
            return Ok(req.into_response(response).map_into_right_body());
        }
        return next.call(req).await.map(|r| r.map_into_left_body());
    };
    if is_passive(req.path()) {
        return next.call(req).await.map(|r| r.map_into_left_body());
    }
    let ctx = context(&state, req.request()).await;
    let injection = rules::looks_like_injection(req.query_string());
    req.extensions_mut().insert(ctx.clone());
    let res = next.call(req).await?;
    if let Some(user) = ctx.participant.as_deref() {
        let meta = RequestMeta::of(res.request());
        let status = res.status();
        let route = res.request().match_pattern();
        let observed = async {
            if status == actix_web::http::StatusCode::TOO_MANY_REQUESTS {
                workshop::solve(&state.pool, &meta, user, rules::RATE_LIMIT).await?;
            }
            if status.is_server_error() {
                workshop::server_error(&state.pool, &meta, user, status.as_u16(), route).await?;
            }
            if injection {
                workshop::solve(&state.pool, &meta, user, rules::INJECTION).await?;
            }
            Ok::<_, AppError>(())
        };
        // The answer is already made: a failure here is logged, not sent.
        if let Err(e) = observed.await {
            tracing::error!(error = ?e, "workshop mode could not record an observation");
        }
    }
    Ok(res.map_into_left_body())
}

/// The participant (see the module documentation) and the claimed `alg`.
async fn context(state: &AppState, req: &HttpRequest) -> Context {
    let presented = presented_access_token(req);
    let cookie = req.cookie(ACCESS_COOKIE).map(|c| c.value().to_owned());
    let mut participant = None;
    let mut tried: Option<&str> = None;
    for token in [presented.as_deref(), cookie.as_deref()]
        .into_iter()
        .flatten()
    {
        if tried == Some(token) {
            continue;
        }
        tried = Some(token);
        if let Ok(who) = sessions::verify::authenticate(state, Some(token)).await {
            participant = Some(who.user.id);
            break;
        }
    }
    let token_alg = presented.as_deref().and_then(rules::claimed_alg);
    let hmac_with_public_key = match (&token_alg, presented.as_deref()) {
        (Some(alg), Some(token)) if alg.to_ascii_lowercase().starts_with("hs") => {
            rules::hmac_signed_with_any(token, &public_key_bytes(state))
        }
        _ => false,
    };
    Context {
        participant,
        token_alg,
        hmac_with_public_key,
    }
}

/// What a naive library would take as "the key" of our tokens: the PEM of
/// each public key the JWKS publishes, and the JWKS document itself as
/// served. Only an HS* token signed with one of them is key confusion.
fn public_key_bytes(state: &AppState) -> Vec<Vec<u8>> {
    use base64::Engine;
    let jwks = state
        .keys
        .signing
        .current()
        .jwks(chrono::Utc::now().timestamp());
    let Ok(document) = serde_json::to_value(&jwks) else {
        return Vec::new();
    };
    let decode = |v: &serde_json::Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(v.as_str().unwrap_or_default())
            .ok()
    };
    let mut keys: Vec<Vec<u8>> = document["keys"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|k| Some(rules::rsa_public_pem(&decode(&k["n"])?, &decode(&k["e"])?)))
        .flat_map(|pem| {
            // With and without the final newline, as files and strings differ.
            let trimmed = pem.trim_end().as_bytes().to_vec();
            [pem.into_bytes(), trimmed]
        })
        .collect();
    keys.extend(serde_json::to_vec(&jwks).ok());
    keys
}

#[cfg(test)]
mod tests {
    use super::{is_passive, is_workshop_api};

    #[test]
    fn only_the_workshop_api_is_hidden() {
        assert!(is_workshop_api("/api/v1/workshop"));
        assert!(is_workshop_api("/api/v1/workshop/challenges"));
        assert!(!is_workshop_api("/api/v1/workshops"));
        assert!(!is_workshop_api("/workshop"));
        assert!(is_passive("/pkg/frontend.wasm"));
        assert!(!is_passive("/api/v1/me"));
    }
}
