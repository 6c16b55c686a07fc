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
    lazy_route, path, Lazy, LazyRoute, SsrMode,
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
                    <Route path=path!("/playground/oauth") view={Lazy::<OAuthPlayground>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/admin") view={Lazy::<AdminOverview>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/admin/users") view={Lazy::<AdminUsers>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/admin/users/:id") view={Lazy::<AdminUserDetail>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/admin/devices") view={Lazy::<AdminDevices>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/admin/decisions") view={Lazy::<AdminDecisions>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/admin/policies") view={Lazy::<AdminPolicies>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/admin/audit") view={Lazy::<AdminAudit>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/admin/logs") view={Lazy::<AdminLogs>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/admin/oauth-clients") view={Lazy::<AdminOAuthClients>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/workshop") view={Lazy::<Workshop>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/admin/workshop") view={Lazy::<AdminWorkshop>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/patterns") view={Lazy::<PatternsIndex>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/patterns/zero-trust") view={Lazy::<ZeroTrust>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/patterns/defense-in-depth") view={Lazy::<DefenseInDepth>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/patterns/authentication") view={Lazy::<Authentication>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/patterns/api-security") view={Lazy::<ApiSecurity>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/patterns/data-protection") view={Lazy::<DataProtection>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/patterns/anti-patterns") view={Lazy::<AntiPatterns>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/patterns/tools") view={Lazy::<Tools>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/patterns/password-policy") view={Lazy::<PasswordPolicy>::new()} ssr=SsrMode::Async/>
                </Routes>
            </main>
            <footer class="site-footer">
                <p>"A reference application for secure web architecture patterns."</p>
            </footer>
        </Router>
    }
}

/// Declares a lazily loaded route for a page component: with
/// `cargo leptos build --split` the page's code goes into its own wasm chunk
/// (shared code into shared chunks), which the browser fetches when the route
/// is first shown. The admin area, the patterns, the OAuth playground and the
/// workshop page are lazy so that the first page load downloads only the
/// sign-in, account and home pages and what they share (issue 11, figure 7).
/// The server renders them like any other route; hydrating a lazy route waits
/// for its chunk, which the server preloads with a `<link rel="preload">`.
macro_rules! lazy_pages {
    ($($route:ident => $page:ident),* $(,)?) => {$(
        struct $route;

        #[lazy_route]
        impl LazyRoute for $route {
            fn data() -> Self {
                $route
            }

            fn view(_this: Self) -> AnyView {
                view! { <$page/> }.into_any()
            }
        }
    )*};
}

lazy_pages! {
    OAuthPlayground => OAuthPlaygroundPage,
    AdminOverview => OverviewPage,
    AdminUsers => UsersPage,
    AdminUserDetail => UserDetailPage,
    AdminDevices => DevicesPage,
    AdminDecisions => DecisionsPage,
    AdminPolicies => PoliciesPage,
    AdminAudit => AuditLogPage,
    AdminLogs => LogsPage,
    AdminOAuthClients => OAuthClientsPage,
    AdminWorkshop => WorkshopProgressPage,
    Workshop => WorkshopPage,
    PatternsIndex => PatternsIndexPage,
    ZeroTrust => ZeroTrustPage,
    DefenseInDepth => DefenseInDepthPage,
    Authentication => AuthenticationPage,
    ApiSecurity => ApiSecurityPage,
    DataProtection => DataProtectionPage,
    AntiPatterns => AntiPatternsPage,
    Tools => ToolsPage,
    PasswordPolicy => PasswordPolicyPage,
}
