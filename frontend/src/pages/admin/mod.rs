//! The admin dashboard: read-only views for admins and auditors, and the
//! changes an admin makes to other accounts. Every figure comes from the
//! `/api/v1/admin/…` endpoints, which apply the access policy themselves: a
//! page only shows what the server agreed to send.

pub mod audit;
pub mod decisions;
pub mod devices;
pub mod logs;
pub mod oauth_clients;
pub mod overview;
pub mod policies;
pub mod user_detail;
pub mod users;
pub mod workshop;

use crate::format::encode;
use crate::page_data::{set_page_status, LoadError};
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

/// The dashboard's own links, above each admin page.
#[component]
pub fn AdminNav() -> impl IntoView {
    view! {
        <nav class="admin-nav" aria-label="Admin">
            <A href="/admin" exact=true>"Overview"</A>
            <A href="/admin/users">"Users"</A>
            <A href="/admin/devices">"Devices"</A>
            <A href="/admin/decisions">"Access decisions"</A>
            <A href="/admin/policies">"Policies"</A>
            <A href="/admin/audit">"Audit log"</A>
            <A href="/admin/logs">"Server log"</A>
            <A href="/admin/oauth-clients">"OAuth clients"</A>
        </nav>
    }
}

/// What a page shows instead of its data, with the matching HTTP status on
/// the server-rendered response.
#[component]
pub fn LoadFailed(error: LoadError) -> impl IntoView {
    match error {
        LoadError::NotAllowed => {
            set_page_status(403);
            view! {
                <h1>"Not allowed"</h1>
                <p data-testid="not-allowed">
                    "Your account does not have the permission to see this page. "
                    "If you need it, ask an administrator."
                </p>
                <p><a href="/">"Go to the home page"</a></p>
            }
            .into_any()
        }
        LoadError::SignedOut => {
            set_page_status(401);
            view! {
                <h1>"Please sign in"</h1>
                <p>"This page is for signed-in administrators and auditors. "
                   <a href="/login">"Log in"</a> " first."</p>
            }
            .into_any()
        }
        LoadError::NotFound => {
            set_page_status(404);
            view! {
                <h1>"Not found"</h1>
                <p>"There is nothing here: it may have been removed. "
                   <a href="/admin">"Back to the dashboard"</a></p>
            }
            .into_any()
        }
        LoadError::Failed => view! {
            <h1>"Could not load this page"</h1>
            <p role="alert">"The server did not answer as expected. Reload the page to try again."</p>
        }
        .into_any(),
    }
}

/// The value of one query parameter of the page's URL ("" if absent).
pub fn query_param(name: &'static str) -> impl Fn() -> String + Copy + Send + Sync + 'static {
    let query = use_query_map();
    move || query.read().get(name).unwrap_or_default()
}

/// `/admin/users/<id>`, with the id encoded as one path segment.
pub fn user_href(id: &str) -> String {
    format!("/admin/users/{}", encode(id))
}

/// Shown while a page's data loads (in the browser; the server waits).
pub fn loading() -> impl IntoView {
    view! { <p class="hint">"Loading…"</p> }
}
