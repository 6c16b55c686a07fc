//! Who is signed in, as the pages see it.
//!
//! On the server the backend supplies a [`CurrentUserSource`] for each request
//! (it reads the session cookie and asks the database); in the browser the
//! value arrives serialized with the page, and a later load asks
//! `GET /api/v1/me`. Either way the pages only display it: every decision is
//! taken again by the backend.

use crate::api::MeResponse;
use leptos::prelude::*;

/// A future that resolves to the signed-in user, if any.
#[cfg(feature = "ssr")]
pub type UserFuture =
    std::pin::Pin<Box<dyn std::future::Future<Output = Option<MeResponse>> + Send>>;

/// The server side's way to load the current user for this request.
#[cfg(feature = "ssr")]
#[derive(Clone)]
pub struct CurrentUserSource(pub std::sync::Arc<dyn Fn() -> UserFuture + Send + Sync>);

pub type CurrentUser = Resource<Option<MeResponse>>;

pub fn provide_current_user() {
    let resource: CurrentUser = Resource::new(|| (), |_| load());
    provide_context(resource);
}

pub fn use_current_user() -> CurrentUser {
    expect_context::<CurrentUser>()
}

#[cfg(feature = "ssr")]
fn load() -> impl std::future::Future<Output = Option<MeResponse>> + Send {
    let source = use_context::<CurrentUserSource>();
    async move {
        match source {
            Some(source) => (source.0)().await,
            None => None,
        }
    }
}

#[cfg(feature = "hydrate")]
fn load() -> impl std::future::Future<Output = Option<MeResponse>> + Send {
    send_wrapper::SendWrapper::new(async { crate::client::me().await })
}

/// Built with neither feature (e.g. `cargo check -p frontend`): nobody is signed in.
#[cfg(not(any(feature = "ssr", feature = "hydrate")))]
async fn load() -> Option<MeResponse> {
    None
}
