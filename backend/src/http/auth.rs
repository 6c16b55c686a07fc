//! Who is calling. A handler that takes [`Authenticated`] only runs for a
//! request whose access token verifies and whose session is live; otherwise
//! it answers 401 with a generic body, and the refusal is an `access.denied`
//! audit event carrying the precise reason.

use super::ACCESS_COOKIE;
use crate::audit::{self, AuditEvent, Outcome};
use crate::error::AppError;
use crate::http::client::RequestMeta;
use crate::services::sessions::{self, SignedIn};
use crate::state::AppState;
use actix_web::dev::Payload;
use actix_web::http::header::AUTHORIZATION;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use futures_util::future::LocalBoxFuture;
use std::sync::Arc;

/// An access token issued during this very request by the refresh
/// middleware; it takes precedence over the (expired) cookie.
#[derive(Clone)]
pub struct FreshAccess(pub String);

/// The access token a request presents: one just refreshed, else
/// `Authorization: Bearer …` (API clients), else the `__Host-access` cookie
/// (browsers). Both are verified the same way.
pub fn presented_access_token(req: &HttpRequest) -> Option<String> {
    if let Some(fresh) = req.extensions().get::<FreshAccess>() {
        return Some(fresh.0.clone());
    }
    if let Some(value) = req.headers().get(AUTHORIZATION) {
        // Any other scheme counts as a bad token, not as "no token".
        let text = value.to_str().unwrap_or_default();
        return Some(
            text.strip_prefix("Bearer ")
                .unwrap_or_default()
                .trim()
                .to_owned(),
        );
    }
    req.cookie(ACCESS_COOKIE).map(|c| c.value().to_owned())
}

/// The identity is shared with the enforcement point (and the identity
/// cache) rather than copied for each handler.
pub struct Authenticated(pub Arc<SignedIn>);

impl FromRequest for Authenticated {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        // Verified by the enforcement middleware for this very request.
        if let Some(who) = req.extensions().get::<Arc<SignedIn>>() {
            let who = Arc::clone(who);
            return Box::pin(async move { Ok(Authenticated(who)) });
        }
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = presented_access_token(req);
        let meta = RequestMeta::of(req);
        let path = req.path().to_owned();
        Box::pin(async move {
            let state =
                state.ok_or_else(|| AppError::internal(anyhow::anyhow!("AppState missing")))?;
            match sessions::verify::authenticate_shared(&state, token.as_deref(), None).await {
                Ok(signed_in) => Ok(Authenticated(signed_in)),
                Err(denied) => {
                    if let Some(outage) = denied.outage() {
                        return Err(outage);
                    }
                    let event = AuditEvent::new("access.denied", Outcome::Denied)
                        .detail(serde_json::json!({ "reason": denied.as_str(), "path": path }));
                    audit::record(&state.pool, Some(&meta), event).await?;
                    Err(AppError::Unauthenticated)
                }
            }
        })
    }
}
