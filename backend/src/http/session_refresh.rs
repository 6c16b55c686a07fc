//! Keeps a browser signed in past its 15-minute access token, with or without
//! JavaScript: when a request carries a refresh cookie but no valid access
//! token, the refresh token is rotated here, the request proceeds with the
//! new access token, and the response sets both new cookies. A refresh token
//! that does not work clears the cookies.
//!
//! API clients (with an `Authorization` header) refresh explicitly through
//! `POST /api/v1/auth/refresh`; so do requests to the auth endpoints themselves.

use super::auth::FreshAccess;
use super::client::RequestMeta;
use super::enforce::presented_device;
use super::session_cookie;
use super::{ACCESS_COOKIE, REFRESH_COOKIE};
use crate::error::AppError;
use crate::services::sessions;
use crate::state::AppState;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::AUTHORIZATION;
use actix_web::middleware::Next;
use actix_web::{web, Error, HttpMessage};

fn eligible(path: &str) -> bool {
    ![
        "/api/v1/auth/",
        "/auth/",
        "/pkg/",
        "/.well-known/",
        "/healthz",
        "/readyz",
    ]
    .iter()
    .any(|p| path.starts_with(p))
}

pub async fn session_refresh(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let refresh = req.cookie(REFRESH_COOKIE).map(|c| c.value().to_owned());
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let (Some(refresh), Some(state), true, false) = (
        refresh,
        state,
        eligible(req.path()),
        req.headers().contains_key(AUTHORIZATION),
    ) else {
        return next.call(req).await;
    };
    let device = presented_device(req.request());
    let access_ok = req.cookie(ACCESS_COOKIE).is_some_and(|c| {
        sessions::verify::token_subject(&state, c.value(), device.as_deref()).is_some()
    });
    if access_ok {
        return next.call(req).await;
    }
    let meta = RequestMeta::of(req.request());
    match sessions::refresh::refresh(
        &state,
        &meta,
        &refresh,
        sessions::refresh::Redeemer::FirstParty,
    )
    .await
    {
        Ok(tokens) => {
            req.extensions_mut()
                .insert(FreshAccess(tokens.access_token.clone()));
            let mut res = next.call(req).await?;
            for cookie in session_cookie::issue(&tokens, state.settings.session_absolute) {
                res.response_mut().add_cookie(&cookie)?;
            }
            Ok(res)
        }
        Err(AppError::Unauthenticated) => {
            let mut res = next.call(req).await?;
            for cookie in session_cookie::clear() {
                res.response_mut().add_cookie(&cookie)?;
            }
            Ok(res)
        }
        Err(other) => Err(other.into()),
    }
}
