//! The server side of the pages' data (`frontend::page_data::PageData`):
//! per page request, who is signed in, their sessions and MFA state, the
//! server's settings the pages show, and the JSON API reads ([`reads`]) —
//! the same services the API uses, with the request's own identity and
//! policy decisions. `startup` wires [`page_context`] into the Leptos
//! integration.

mod dispatch;
pub mod reads;

use crate::http::auth::FreshAccess;
use crate::http::client::{client_ip_addr, RequestMeta};
use crate::http::enforce::presented_device;
use crate::http::ACCESS_COOKIE;
use crate::services::{access, mfa, sessions};
use crate::state::AppState;
use actix_web::http::header::HeaderValue;
use actix_web::{web, HttpMessage};
use frontend::page_data::{PageData, PageDataSource, PageFuture};
use leptos::prelude::*;
use std::net::IpAddr;
use std::sync::Arc;
use wire::{MeResponse, MfaStatus, SessionInfo};

/// The page request the reads are made for.
pub struct PageRequest {
    pub meta: RequestMeta,
    pub client_ip: Option<IpAddr>,
    pub device_id: Option<String>,
}

/// What the pages may load on the server, for the request being rendered:
/// the same services the API uses, with the request's access token.
struct RequestPageData {
    state: web::Data<AppState>,
    access_token: Option<String>,
    /// Address and device of the page request, for the policy decisions of
    /// the page's API reads.
    page: Arc<PageRequest>,
    /// The request's verified identity, looked up once however many
    /// resources on the page ask for it.
    who: Arc<tokio::sync::OnceCell<Result<Arc<sessions::SignedIn>, sessions::Denied>>>,
    /// The request's login-form CSRF cookie, if it sent a well-formed one.
    login_csrf: Option<String>,
}

impl RequestPageData {
    fn verified(
        &self,
    ) -> impl std::future::Future<Output = Result<Arc<sessions::SignedIn>, sessions::Denied>>
           + Send
           + 'static {
        let (state, token, cell, page) = (
            self.state.clone(),
            self.access_token.clone(),
            self.who.clone(),
            self.page.clone(),
        );
        async move {
            cell.get_or_init(|| async {
                sessions::verify::authenticate_shared(
                    &state,
                    token.as_deref(),
                    page.device_id.as_deref(),
                )
                .await
            })
            .await
            .clone()
        }
    }

    /// The identity the page may show (its name in the navigation, its
    /// MFA state, its sessions): none for a session on a device the
    /// account's quarantine refuses, as `/api/v1/me` refuses it (found by
    /// attacks::v8_authorization). The same device fact as the PDP's.
    fn who(
        &self,
    ) -> impl std::future::Future<Output = Option<Arc<sessions::SignedIn>>> + Send + 'static {
        let (verified, page, outage) = (self.verified(), self.page.clone(), OutageMark::here());
        async move {
            let verified = verified.await;
            if matches!(verified, Err(sessions::Denied::Unavailable)) {
                outage.set();
            }
            verified.ok().filter(|who| {
                access::device_fact(page.device_id.as_deref(), Some(who))
                    != crate::security::policy::DeviceFact::Registered { compliant: false }
            })
        }
    }
}

impl PageData for RequestPageData {
    fn mfa_status(&self) -> PageFuture<Option<MfaStatus>> {
        let (state, who, outage) = (self.state.clone(), self.who(), OutageMark::here());
        Box::pin(async move {
            let who = who.await?;
            match mfa::status(&state, &who).await {
                Ok(status) => Some(status),
                Err(e) => {
                    outage.set_if(&e);
                    tracing::error!(error = ?e, "could not load the MFA status for a page");
                    None
                }
            }
        })
    }

    fn password_policy(&self) -> PageFuture<wire::password_policy::PolicyKind> {
        let kind = self.state.settings.password_policy;
        Box::pin(async move { kind })
    }

    fn workshop_mode(&self) -> PageFuture<bool> {
        let on = self.state.settings.workshop;
        Box::pin(async move { on })
    }

    /// The browser's pre-session cookie is kept; without one a new one is
    /// set with this page (`http::csrf::LOGIN_CSRF_COOKIE`).
    fn login_form_token(&self) -> Option<String> {
        let raw = match &self.login_csrf {
            Some(raw) => raw.clone(),
            None => {
                let raw = crate::http::csrf::new_login_csrf_value();
                let cookie = crate::http::csrf::login_csrf_cookie(&raw).to_string();
                let response = use_context::<leptos_actix::ResponseOptions>()?;
                response.append_header(
                    actix_web::http::header::SET_COOKIE,
                    HeaderValue::from_str(&cookie).ok()?,
                );
                raw
            }
        };
        Some(crate::http::csrf::login_form_token(
            self.state.keys.session.current_key(),
            &raw,
        ))
    }

    fn api_get(&self, path: String) -> PageFuture<Result<String, u16>> {
        let (state, page, verified) = (self.state.clone(), self.page.clone(), self.verified());
        let outage = OutageMark::here();
        Box::pin(async move {
            let answer = dispatch::get(&state, &page, verified.await, &path).await;
            if answer == Err(503) {
                outage.set();
            }
            answer
        })
    }

    fn current_user(&self) -> PageFuture<Option<MeResponse>> {
        let who = self.who();
        Box::pin(async move { who.await.map(|s| s.to_me()) })
    }

    fn my_sessions(&self) -> PageFuture<Option<Vec<SessionInfo>>> {
        let (state, who, outage) = (self.state.clone(), self.who(), OutageMark::here());
        Box::pin(async move {
            let who = who.await?;
            match sessions::manage::list(&state, &who.user.id, Some(&who.session.id)).await {
                Ok(list) => Some(list),
                Err(e) => {
                    outage.set_if(&e);
                    tracing::error!(error = ?e, "could not list sessions for a page");
                    None
                }
            }
        })
    }
}

/// The response of the page being rendered, taken while the page asks for
/// its data (Leptos's context is there, not inside the futures): a read that
/// met the database out of reach makes the page a `503` with `Retry-After`,
/// as the API answers, rather than a `200` that looks signed out or empty.
struct OutageMark(Option<leptos_actix::ResponseOptions>);

impl OutageMark {
    fn here() -> Self {
        Self(use_context::<leptos_actix::ResponseOptions>())
    }

    fn set(&self) {
        if let Some(response) = &self.0 {
            response.set_status(actix_web::http::StatusCode::SERVICE_UNAVAILABLE);
            response.insert_header(
                actix_web::http::header::RETRY_AFTER,
                HeaderValue::from(crate::error::RETRY_AFTER_SECS),
            );
        }
    }

    fn set_if(&self, error: &crate::error::AppError) {
        if error.is_outage() {
            self.set();
        }
    }
}

/// Per page request: gives the pages their [`PageData`].
pub fn page_context(state: web::Data<AppState>) -> impl Fn() + Clone + Send + 'static {
    move || {
        let req = use_context::<leptos_actix::Request>();
        let access_token = req.as_ref().and_then(|req| {
            req.extensions()
                .get::<FreshAccess>()
                .map(|f| f.0.clone())
                .or_else(|| req.cookie(ACCESS_COOKIE).map(|c| c.value().to_owned()))
        });
        let page = match &req {
            Some(req) => PageRequest {
                meta: RequestMeta::of(req),
                client_ip: client_ip_addr(req),
                device_id: presented_device(req),
            },
            None => PageRequest {
                meta: RequestMeta::default(),
                client_ip: None,
                device_id: None,
            },
        };
        // A protected page's identity was verified by the enforcement point
        // for this very request: reuse it instead of looking it up again.
        let verified = req
            .as_ref()
            .and_then(|r| r.extensions().get::<Arc<sessions::SignedIn>>().cloned())
            .map(Ok);
        provide_context(PageDataSource(Arc::new(RequestPageData {
            state: state.clone(),
            access_token,
            page: Arc::new(page),
            who: Arc::new(tokio::sync::OnceCell::new_with(verified)),
            login_csrf: req
                .as_ref()
                .and_then(|r| r.cookie(crate::http::csrf::LOGIN_CSRF_COOKIE))
                .map(|c| c.value().to_owned())
                .filter(|v| crate::security::refresh_token::RefreshToken::parse(v).is_some()),
        })));
    }
}
