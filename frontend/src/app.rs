//! The HTML shell, the router and the routes.

use crate::components::nav::Nav;
use crate::page_data::provide_current_user;
use crate::pages::admin::logs::LogsPage;
use crate::pages::admin::oauth_clients::OAuthClientsPage;
use crate::pages::admin::workshop::WorkshopProgressPage;
use crate::pages::admin::{
    audit::AuditLogPage, decisions::DecisionsPage, devices::DevicesPage, overview::OverviewPage,
    policies::PoliciesPage, user_detail::UserDetailPage, users::UsersPage,
};
use crate::pages::patterns::{
    anti_patterns::AntiPatternsPage, api_security::ApiSecurityPage,
    authentication::AuthenticationPage, data_protection::DataProtectionPage,
    defense_in_depth::DefenseInDepthPage, password_policy::PasswordPolicyPage, tools::ToolsPage,
    zero_trust::ZeroTrustPage, PatternsIndexPage,
};
use crate::pages::playground::oauth::OAuthPlaygroundPage;
use crate::pages::workshop::{WorkshopBanner, WorkshopMode, WorkshopPage};
use crate::pages::{
    account::AccountPage, home::HomePage, login::LoginPage, not_found::NotFound,
    register::RegisterPage, sessions::SessionsPage,
};
use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    path, SsrMode,
};

/// The document around the app. The hydration script carries the per-request
/// nonce that the Content-Security-Policy header allows; there is no other
/// inline script and nothing is loaded from another origin.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                // No favicon file: an empty data: icon spares the browser a 404.
                <link rel="icon" href="data:,"/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// Every route renders in `Async` mode: the server waits for the signed-in
/// user before sending the page, so the HTML is complete without JavaScript
/// (streamed fragments would need inline script to be put in place).
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    provide_current_user();
    let workshop = crate::page_data::workshop_mode_resource();
    provide_context(WorkshopMode(workshop));
    mark_hydrated();

    view! {
        <Stylesheet id="app-style" href="/pkg/frontend.css"/>
        <Title text="Secure Reference App"/>
        <Router>
            <a class="skip-link" href="#main">"Skip to content"</a>
            <Nav/>
            <WorkshopBanner on=workshop/>
            <main id="main" tabindex="-1">
                <Routes fallback=NotFound>
                    <Route path=path!("/") view=HomePage ssr=SsrMode::Async/>
                    <Route path=path!("/register") view=RegisterPage ssr=SsrMode::Async/>
                    <Route path=path!("/login") view=LoginPage ssr=SsrMode::Async/>
                    <Route path=path!("/account") view=AccountPage ssr=SsrMode::Async/>
                    <Route path=path!("/account/sessions") view=SessionsPage ssr=SsrMode::Async/>
                    <Route path=path!("/playground/oauth") view=OAuthPlaygroundPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin") view=OverviewPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin/users") view=UsersPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin/users/:id") view=UserDetailPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin/devices") view=DevicesPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin/decisions") view=DecisionsPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin/policies") view=PoliciesPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin/audit") view=AuditLogPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin/logs") view=LogsPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin/oauth-clients") view=OAuthClientsPage ssr=SsrMode::Async/>
                    <Route path=path!("/workshop") view=WorkshopPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin/workshop") view=WorkshopProgressPage ssr=SsrMode::Async/>
                    <Route path=path!("/patterns") view=PatternsIndexPage ssr=SsrMode::Async/>
                    <Route path=path!("/patterns/zero-trust") view=ZeroTrustPage ssr=SsrMode::Async/>
                    <Route path=path!("/patterns/defense-in-depth") view=DefenseInDepthPage ssr=SsrMode::Async/>
                    <Route path=path!("/patterns/authentication") view=AuthenticationPage ssr=SsrMode::Async/>
                    <Route path=path!("/patterns/api-security") view=ApiSecurityPage ssr=SsrMode::Async/>
                    <Route path=path!("/patterns/data-protection") view=DataProtectionPage ssr=SsrMode::Async/>
                    <Route path=path!("/patterns/anti-patterns") view=AntiPatternsPage ssr=SsrMode::Async/>
                    <Route path=path!("/patterns/tools") view=ToolsPage ssr=SsrMode::Async/>
                    <Route path=path!("/patterns/password-policy") view=PasswordPolicyPage ssr=SsrMode::Async/>
                </Routes>
            </main>
            <footer class="site-footer">
                <p>"A reference application for secure web architecture patterns."</p>
            </footer>
        </Router>
    }
}

/// Sets `data-hydrated="true"` on `<html>` once the wasm has taken over, so
/// people (and the browser tests) can tell a hydrated page from a static one.
fn mark_hydrated() {
    #[cfg(feature = "hydrate")]
    Effect::new(|_| {
        if let Some(root) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.document_element())
        {
            let _ = root.set_attribute("data-hydrated", "true");
        }
    });
}
