//! The site header: where you are, and who you are signed in as.

use crate::page_data::use_current_user;
use leptos::prelude::*;
use leptos_router::components::A;

#[component]
pub fn Nav() -> impl IntoView {
    let user = use_current_user();
    let workshop = use_context::<crate::pages::workshop::WorkshopMode>();
    view! {
        <header class="site-header">
            <nav aria-label="Main">
                <A href="/" attr:class="brand">"Secure Reference"</A>
                <A href="/patterns" attr:data-testid="nav-patterns">"Patterns"</A>
                <Suspense fallback=|| ()>
                    {move || Suspend::new(async move {
                        let workshop_on = match workshop {
                            Some(w) => w.0.await,
                            None => false,
                        };
                        match user.await {
                            Some(me) => view! {
                                // Workshop mode only (APP_WORKSHOP=1).
                                {workshop_on.then(|| view! {
                                    <A href="/workshop" attr:data-testid="nav-workshop">"Workshop"</A>
                                })}
                                {(workshop_on && me.roles.iter().any(|r| r == "admin" || r == "auditor")).then(|| view! {
                                    <A href="/admin/workshop" attr:data-testid="nav-workshop-progress">"Workshop progress"</A>
                                })}
                                // Only a shortcut: the admin pages and API check again.
                                {me.roles.iter().any(|r| r == "admin" || r == "auditor").then(|| view! {
                                    <A href="/admin" attr:data-testid="nav-admin">"Admin"</A>
                                })}
                                <A href="/playground/oauth" attr:data-testid="nav-playground">"OAuth playground"</A>
                                <A href="/account">"Account (" {me.username} ")"</A>
                                <form method="post" action="/auth/logout" class="inline-form">
                                    <button type="submit" class="link-button">"Log out"</button>
                                </form>
                            }.into_any(),
                            None => view! {
                                <A href="/login">"Log in"</A>
                                <A href="/register">"Register"</A>
                            }.into_any(),
                        }
                    })}
                </Suspense>
            </nav>
        </header>
    }
}
