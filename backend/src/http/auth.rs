//! The signed-in user, as an extractor: a handler that takes [`Authenticated`]
//! only runs for a live session, and answers 401 otherwise. Every refusal is
//! an `access.denied` audit event.

use super::SESSION_COOKIE;
use crate::audit::{self, AuditEvent, Outcome};
use crate::error::AppError;
use crate::http::client::RequestMeta;
use crate::services::accounts::{self, SignedIn};
use crate::startup::AppState;
use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;

pub struct Authenticated(pub SignedIn);

impl FromRequest for Authenticated {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = req.cookie(SESSION_COOKIE).map(|c| c.value().to_owned());
        let meta = RequestMeta::of(req);
        let path = req.path().to_owned();
        Box::pin(async move {
            let state =
                state.ok_or_else(|| AppError::internal(anyhow::anyhow!("AppState missing")))?;
            if let Some(signed_in) = accounts::current_user(&state, token.as_deref()).await? {
                return Ok(Authenticated(signed_in));
            }
            let reason = if token.is_some() {
                "invalid_or_expired_session"
            } else {
                "no_session"
            };
            let event = AuditEvent::new("access.denied", Outcome::Denied)
                .detail(serde_json::json!({ "reason": reason, "path": path }));
            audit::record(&state.pool, Some(&meta), event).await?;
            Err(AppError::Unauthenticated)
        })
    }
}
