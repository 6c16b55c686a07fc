//! The signed-in user, as an extractor: a handler that takes [`Authenticated`]
//! only runs for a live session, and answers 401 otherwise.

use super::SESSION_COOKIE;
use crate::error::AppError;
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
        Box::pin(async move {
            let state =
                state.ok_or_else(|| AppError::internal(anyhow::anyhow!("AppState missing")))?;
            accounts::current_user(&state, token.as_deref())
                .await?
                .map(Authenticated)
                .ok_or(AppError::Unauthenticated)
        })
    }
}
