use crate::current_user::use_current_user;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

#[component]
pub fn AccountPage() -> impl IntoView {
    let user = use_current_user();
    view! {
        <Title text="Your account"/>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match user.await {
                    Some(me) => view! {
                        <h1>"Your account"</h1>
                        <dl class="details">
                            <dt>"Username"</dt><dd data-testid="username">{me.username}</dd>
                            <dt>"E-mail"</dt><dd data-testid="email">{me.email}</dd>
                            <dt>"Roles"</dt><dd data-testid="roles">{me.roles.join(", ")}</dd>
                            <dt>"Member since"</dt><dd>{me.created_at}</dd>
                        </dl>
                        <form method="post" action="/auth/logout">
                            <button type="submit">"Log out"</button>
                        </form>
                    }.into_any(),
                    None => view! {
                        <h1>"Your account"</h1>
                        <p>"You are not signed in. " <A href="/login">"Log in"</A> " to see your account."</p>
                    }.into_any(),
                }
            })}
        </Suspense>
    }
}
