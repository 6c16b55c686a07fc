use crate::page_data::use_current_user;
use leptos::prelude::*;
use leptos_router::components::A;

#[component]
pub fn HomePage() -> impl IntoView {
    let user = use_current_user();
    view! {
        <h1>"Secure Reference App"</h1>
        <p class="lead">
            "A full-stack Rust application that shows, end to end, how the patterns of a "
            "security architecture catalogue fit together: verified identity on every request, "
            "layered defences, careful sessions and an audit trail of every security event."
        </p>
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match user.await {
                    Some(me) => view! {
                        <p>"Signed in as " <strong>{me.username}</strong> ". "
                           <A href="/account">"See your account"</A> "."</p>
                    }.into_any(),
                    None => view! {
                        <p class="actions">
                            <A href="/register" attr:class="button">"Create an account"</A>
                            <A href="/login" attr:class="button secondary">"Log in"</A>
                        </p>
                    }.into_any(),
                }
            })}
        </Suspense>
        <section aria-labelledby="in-place">
            <h2 id="in-place">"What this page already does"</h2>
            <ul>
                <li>"A Content-Security-Policy that allows only this site's own scripts, the hydration script by a per-request nonce."</li>
                <li>"Session cookies that are " <code>"HttpOnly"</code> ", " <code>"Secure"</code> ", " <code>"SameSite=Strict"</code> " and " <code>"__Host-"</code> " prefixed."</li>
                <li>"Passwords hashed with Argon2id, checked against a policy shared by this page and the server."</li>
                <li>"Every response tagged with an " <code>"X-Request-Id"</code> " that also appears in the server's log."</li>
            </ul>
        </section>
    }
}
