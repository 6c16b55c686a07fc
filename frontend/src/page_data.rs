//! What the pages load: who is signed in, and their sessions.
//!
//! On the server the backend supplies a [`PageDataSource`] for each request
//! (the same services the API uses, with the request's access token); in the
//! browser a value arrives serialized with the page, and a later load calls
//! the JSON API. Either way the pages only display: every decision is taken
//! again by the backend.

use crate::api::{MeResponse, MfaStatus, SessionInfo};
use leptos::prelude::*;

/// A boxed future, as the server-side data source returns them.
#[cfg(feature = "ssr")]
pub type PageFuture<T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send>>;

/// The server side's loaders for the request being rendered.
#[cfg(feature = "ssr")]
pub trait PageData: Send + Sync {
    fn current_user(&self) -> PageFuture<Option<MeResponse>>;
    fn my_sessions(&self) -> PageFuture<Option<Vec<SessionInfo>>>;
    fn mfa_status(&self) -> PageFuture<Option<MfaStatus>>;
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
