//! What the pages load: who is signed in, and their sessions.
//!
//! On the server the backend supplies a [`PageDataSource`] for each request
//! (the same services the API uses, with the request's access token); in the
//! browser a value arrives serialized with the page, and a later load calls
//! the JSON API. Either way the pages only display: every decision is taken
//! again by the backend.

use leptos::prelude::*;
use wire::password_policy::PolicyKind;
use wire::{MeResponse, MfaStatus, SessionInfo};

/// A boxed future, as the server-side data source returns them.
#[cfg(feature = "ssr")]
pub type PageFuture<T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send>>;

/// The server side's loaders for the request being rendered.
#[cfg(feature = "ssr")]
pub trait PageData: Send + Sync {
    fn current_user(&self) -> PageFuture<Option<MeResponse>>;
    fn my_sessions(&self) -> PageFuture<Option<Vec<SessionInfo>>>;
    fn mfa_status(&self) -> PageFuture<Option<MfaStatus>>;
    /// The password rules the server applies (its `PASSWORD_POLICY`).
    fn password_policy(&self) -> PageFuture<PolicyKind>;
    /// A read-only `GET` of the JSON API (`/api/v1/…` path and query), answered
    /// in-process on the server with this request's identity and the same
    /// policy decision as over HTTP: the JSON body, or the HTTP status.
    fn api_get(&self, path: String) -> PageFuture<Result<String, u16>>;
    /// Whether workshop mode (`APP_WORKSHOP`) is on: the banner and the
    /// scoreboard link show then.
    fn workshop_mode(&self) -> PageFuture<bool> {
        Box::pin(async { false })
    }
    /// The no-JavaScript login form's pre-session CSRF token, bound to a
    /// cookie the server sets with the page (`None` where there is none).
    fn login_form_token(&self) -> Option<String> {
        None
    }
}

#[cfg(feature = "ssr")]
#[derive(Clone)]
pub struct PageDataSource(pub std::sync::Arc<dyn PageData>);

pub type CurrentUser = Resource<Option<MeResponse>>;

pub fn provide_current_user() {
    let resource: CurrentUser = Resource::new(|| (), |_| load_current_user());
    provide_context(resource);
}

pub fn use_current_user() -> CurrentUser {
    expect_context::<CurrentUser>()
}

/// My sessions, for the Sessions page (`None` when not signed in).
pub fn sessions_resource() -> Resource<Option<Vec<SessionInfo>>> {
    Resource::new(|| (), |_| load_sessions())
}

/// My MFA status, for the account page (`None` when not signed in).
pub fn mfa_status_resource() -> Resource<Option<MfaStatus>> {
    Resource::new(|| (), |_| load_mfa_status())
}

/// The server's password policy, for the forms that set a password: their
/// hint and what they check before sending. Public: no sign-in needed.
pub fn password_policy_resource() -> Resource<PolicyKind> {
    let resource = Resource::new(|| (), |_| load_password_policy());
    // The policy only changes with a restart: once known in this page (from
    // the server's render or a fetch), later navigations do not ask again.
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        if let Some(kind) = resource.get() {
            KNOWN_POLICY.set(Some(kind));
        }
    });
    resource
}

#[cfg(feature = "ssr")]
fn load_password_policy() -> impl std::future::Future<Output = PolicyKind> + Send {
    let source = use_context::<PageDataSource>();
    async move {
        match source {
            Some(source) => source.0.password_policy().await,
            None => PolicyKind::default(),
        }
    }
}

#[cfg(feature = "hydrate")]
thread_local! {
    static KNOWN_POLICY: std::cell::Cell<Option<PolicyKind>> = const { std::cell::Cell::new(None) };
}

/// When the request fails the catalogue's hint is shown; the server checks
/// its own policy on submission either way.
#[cfg(feature = "hydrate")]
fn load_password_policy() -> impl std::future::Future<Output = PolicyKind> + Send {
    send_wrapper::SendWrapper::new(async {
        if let Some(kind) = KNOWN_POLICY.get() {
            return kind;
        }
        let answer: Option<wire::PasswordPolicyResponse> =
            crate::client::get_json("/api/v1/auth/password-policy").await;
        match answer {
            Some(answer) => {
                KNOWN_POLICY.set(Some(answer.policy));
                answer.policy
            }
            None => PolicyKind::default(),
        }
    })
}

#[cfg(not(any(feature = "ssr", feature = "hydrate")))]
async fn load_password_policy() -> PolicyKind {
    PolicyKind::default()
}

#[cfg(feature = "ssr")]
fn load_mfa_status() -> impl std::future::Future<Output = Option<MfaStatus>> + Send {
    let source = use_context::<PageDataSource>();
    async move {
        match source {
            Some(source) => source.0.mfa_status().await,
            None => None,
        }
    }
}

#[cfg(feature = "hydrate")]
fn load_mfa_status() -> impl std::future::Future<Output = Option<MfaStatus>> + Send {
    send_wrapper::SendWrapper::new(async { crate::client::get_json("/api/v1/me/mfa").await })
}

#[cfg(not(any(feature = "ssr", feature = "hydrate")))]
async fn load_mfa_status() -> Option<MfaStatus> {
    None
}

#[cfg(feature = "ssr")]
fn load_current_user() -> impl std::future::Future<Output = Option<MeResponse>> + Send {
    let source = use_context::<PageDataSource>();
    async move {
        match source {
            Some(source) => source.0.current_user().await,
            None => None,
        }
    }
}

#[cfg(feature = "ssr")]
fn load_sessions() -> impl std::future::Future<Output = Option<Vec<SessionInfo>>> + Send {
    let source = use_context::<PageDataSource>();
    async move {
        match source {
            Some(source) => source.0.my_sessions().await,
            None => None,
        }
    }
}

#[cfg(feature = "hydrate")]
fn load_current_user() -> impl std::future::Future<Output = Option<MeResponse>> + Send {
    send_wrapper::SendWrapper::new(async { crate::client::get_json("/api/v1/me").await })
}

#[cfg(feature = "hydrate")]
fn load_sessions() -> impl std::future::Future<Output = Option<Vec<SessionInfo>>> + Send {
    send_wrapper::SendWrapper::new(async { crate::client::get_json("/api/v1/me/sessions").await })
}

/// Built with neither feature (e.g. `cargo check -p frontend`): nobody is signed in.
#[cfg(not(any(feature = "ssr", feature = "hydrate")))]
async fn load_current_user() -> Option<MeResponse> {
    None
}

#[cfg(not(any(feature = "ssr", feature = "hydrate")))]
async fn load_sessions() -> Option<Vec<SessionInfo>> {
    None
}

/// Whether workshop mode is on, for the banner every page shows then (and
/// the scoreboard link). Only a display hint: the workshop API answers 404
/// by itself while the mode is off.
pub fn workshop_mode_resource() -> Resource<bool> {
    Resource::new(|| (), |_| load_workshop_mode())
}

#[cfg(feature = "ssr")]
fn load_workshop_mode() -> impl std::future::Future<Output = bool> + Send {
    let source = use_context::<PageDataSource>();
    async move {
        match source {
            Some(source) => source.0.workshop_mode().await,
            None => false,
        }
    }
}

/// In the browser (normally the server's answer arrives with the page): the
/// scoreboard answers 404 while workshop mode is off.
#[cfg(feature = "hydrate")]
fn load_workshop_mode() -> impl std::future::Future<Output = bool> + Send {
    send_wrapper::SendWrapper::new(async {
        gloo_net::http::Request::get("/api/v1/workshop/challenges")
            .send()
            .await
            .is_ok_and(|r| r.ok())
    })
}

#[cfg(not(any(feature = "ssr", feature = "hydrate")))]
async fn load_workshop_mode() -> bool {
    false
}

/// Why a page could not load its data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum LoadError {
    /// 401: not signed in (or the session ended).
    SignedOut,
    /// 403: signed in, but the policy refuses it.
    NotAllowed,
    /// 404.
    NotFound,
    /// Anything else.
    Failed,
}

impl LoadError {
    pub fn from_status(status: u16) -> Self {
        match status {
            401 => Self::SignedOut,
            403 => Self::NotAllowed,
            404 => Self::NotFound,
            _ => Self::Failed,
        }
    }
}

/// A `GET` of the JSON API as a resource: in-process on the server (see
/// [`PageData::api_get`]), over `fetch` in the browser. `path` is re-read when
/// the signals it uses change (search boxes, filters, pagination).
pub fn api_resource<T>(
    path: impl Fn() -> String + Send + Sync + 'static,
) -> Resource<Result<T, LoadError>>
where
    T: serde::Serialize + serde::de::DeserializeOwned + Clone + Send + Sync + 'static,
{
    Resource::new(path, |p| load_api::<T>(p))
}

#[cfg(feature = "ssr")]
fn load_api<T>(path: String) -> impl std::future::Future<Output = Result<T, LoadError>> + Send
where
    T: serde::de::DeserializeOwned + Send + 'static,
{
    let source = use_context::<PageDataSource>();
    async move {
        let Some(source) = source else {
            return Err(LoadError::SignedOut);
        };
        let body = source
            .0
            .api_get(path)
            .await
            .map_err(LoadError::from_status)?;
        serde_json::from_str(&body).map_err(|_| LoadError::Failed)
    }
}

#[cfg(feature = "hydrate")]
fn load_api<T>(path: String) -> impl std::future::Future<Output = Result<T, LoadError>> + Send
where
    T: serde::de::DeserializeOwned + 'static,
{
    send_wrapper::SendWrapper::new(async move {
        let resp = gloo_net::http::Request::get(&path)
            .send()
            .await
            .map_err(|_| LoadError::Failed)?;
        if !resp.ok() {
            return Err(LoadError::from_status(resp.status()));
        }
        resp.json::<T>().await.map_err(|_| LoadError::Failed)
    })
}

#[cfg(not(any(feature = "ssr", feature = "hydrate")))]
async fn load_api<T>(_path: String) -> Result<T, LoadError> {
    Err(LoadError::SignedOut)
}

/// Sets the response status of the page being rendered on the server (403 for
/// a "not allowed" page, 404…); nothing in the browser.
pub fn set_page_status(status: u16) {
    #[cfg(feature = "ssr")]
    if let (Some(resp), Ok(code)) = (
        use_context::<leptos_actix::ResponseOptions>(),
        actix_http::StatusCode::from_u16(status),
    ) {
        resp.set_status(code);
    }
    #[cfg(not(feature = "ssr"))]
    let _ = status;
}
