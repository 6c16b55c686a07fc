use crate::api::{ChangePasswordRequest, FieldError, PasswordContext, PasswordPolicy};
use crate::components::form::{FormAlert, FormState, StepUpPrompt, TextField};
use crate::format::short_time;
use crate::page_data::{mfa_status_resource, use_current_user};
use crate::pages::devices::{my_devices_resource, MyDevices};
use crate::pages::two_factor::TwoFactor;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_query_map};

/// What the browser checks before sending a password change.
pub fn check_password_change(
    current: &str,
    new: &str,
    ctx: PasswordContext<'_>,
) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if current.is_empty() {
        errors.push(FieldError::new("current_password", "required"));
    }
    errors.extend(
        PasswordPolicy::violations(new, ctx)
            .into_iter()
            .map(|e| FieldError::new("new_password", &e.code)),
    );
    errors
}

#[component]
pub fn AccountPage() -> impl IntoView {
    let user = use_current_user();
    let mfa = mfa_status_resource();
    let devices = my_devices_resource();
    view! {
        <Title text="Your account"/>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match user.await {
                    Some(me) => view! {
                        <h1>"Your account"</h1>
                        <dl class="details">
                            <dt>"Username"</dt><dd data-testid="username">{me.username.clone()}</dd>
                            <dt>"E-mail"</dt><dd data-testid="email">{me.email.clone()}</dd>
                            <dt>"Roles"</dt><dd data-testid="roles">{me.roles.join(", ")}</dd>
                            <dt>"Member since"</dt><dd>{short_time(&me.created_at)}</dd>
                        </dl>
                        <p><A href="/account/sessions">"Sessions: where you are signed in"</A></p>
                        <Suspense fallback=|| ()>
                            {move || Suspend::new(async move {
                                mfa.await.map(|status| view! { <TwoFactor status=status/> })
                            })}
                        </Suspense>
                        <MyDevices devices=devices/>
                        <ChangePassword username=me.username.clone() email=me.email.clone()/>
                        <section aria-labelledby="sign-out">
                            <h2 id="sign-out">"Sign out"</h2>
                            <form method="post" action="/auth/logout">
                                <button type="submit">"Log out"</button>
                            </form>
                        </section>
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

#[component]
fn ChangePassword(username: String, email: String) -> impl IntoView {
    let current = RwSignal::new(String::new());
    let new = RwSignal::new(String::new());
    let form = FormState::from_query();
    let changed = use_query_map()
        .read_untracked()
        .get("password_changed")
        .is_some();
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        let (c, n) = (current.get_untracked(), new.get_untracked());
        let found = check_password_change(
            &c,
            &n,
            PasswordContext {
                username: &username,
                email: &email,
            },
        );
        let body = move || ChangePasswordRequest {
            current_password: c,
            new_password: n,
        };
        form.submit(
            ev,
            found,
            "/api/v1/me/password",
            body,
            "/account?password_changed=1",
        );
    };
    view! {
        <section aria-labelledby="change-password">
            <h2 id="change-password">"Change password"</h2>
            {changed.then(|| view! {
                <p class="notice" role="status">"Your password was changed. Your other sessions were signed out."</p>
            })}
            <FormAlert message=form.alert.into()/>
            <StepUpPrompt form=form/>
            <form method="post" action="/auth/password" on:submit=on_submit novalidate class="card-form">
                <TextField name="current_password" label="Current password" input_type="password"
                    autocomplete="current-password" value=current errors=form.errors/>
                <TextField name="new_password" label="New password" input_type="password"
                    autocomplete="new-password" value=new errors=form.errors
                    hint="12 to 128 characters with upper- and lower-case letters, a digit and a special character."/>
                <button type="submit" disabled=move || form.pending.get()>"Change password"</button>
            </form>
        </section>
    }
}
