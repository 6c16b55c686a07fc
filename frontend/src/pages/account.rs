use crate::components::email_state::EmailState;
use crate::components::form::{FormAlert, FormState, StepUpPrompt, TextField};
use crate::format::short_time;
use crate::page_data::{mfa_status_resource, password_policy_resource, use_current_user};
use crate::pages::devices::{my_devices_resource, MyDevices};
use crate::pages::ssn::{my_ssn_resource, MySsn};
use crate::pages::two_factor::TwoFactor;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_query_map};
use wire::password_policy::PolicyKind;
use wire::{ChangePasswordRequest, FieldError, PasswordContext, PasswordPolicy};

/// What the browser checks before sending a password change: the full rules
/// of the server's policy `kind` (all but its big list of common passwords).
pub fn check_password_change(
    kind: PolicyKind,
    current: &str,
    new: &str,
    ctx: PasswordContext<'_>,
) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if current.is_empty() {
        errors.push(FieldError::new("current_password", "required"));
    }
    errors.extend(
        PasswordPolicy::new(kind)
            .check(new, ctx)
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
    let ssn = my_ssn_resource();
    let policy = password_policy_resource();
    view! {
        <Title text="Your account"/>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match user.await {
                    Some(me) => {
                        let kind = policy.await;
                        view! {
                            <h1>"Your account"</h1>
                            <dl class="details">
                                <dt>"Username"</dt><dd data-testid="username">{me.username.clone()}</dd>
                                <dt>"E-mail"</dt><dd><span data-testid="email">{me.email.clone()}</span><EmailState verified=me.email_verified/></dd>
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
                            <MySsn ssn=ssn/>
                            <ChangePassword username=me.username.clone() email=me.email.clone() kind=kind/>
                            <section aria-labelledby="sign-out">
                                <h2 id="sign-out">"Sign out"</h2>
                                <form method="post" action="/auth/logout">
                                    <button type="submit">"Log out"</button>
                                </form>
                            </section>
                        }.into_any()
                    }
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
fn ChangePassword(username: String, email: String, kind: PolicyKind) -> impl IntoView {
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
            kind,
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
                    hint=kind.hint()/>
                <button type="submit" disabled=move || form.pending.get()>"Change password"</button>
            </form>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(kind: PolicyKind, current: &str, new: &str) -> Vec<String> {
        let ctx = PasswordContext {
            username: "alice",
            email: "alice@example.org",
        };
        check_password_change(kind, current, new, ctx)
            .into_iter()
            .map(|e| e.key())
            .collect()
    }

    #[test]
    fn checks_the_new_password_under_the_servers_policy() {
        assert_eq!(
            keys(PolicyKind::Catalogue, "", "Tr0ub4dor&Zebra!"),
            vec!["current_password.required"]
        );
        assert!(keys(PolicyKind::Nist, "old", "violet harbours").is_empty());
        assert_eq!(
            keys(PolicyKind::Catalogue, "old", "violet harbours"),
            vec![
                "new_password.missing_upper",
                "new_password.missing_digit",
                "new_password.missing_special"
            ]
        );
        assert_eq!(
            keys(PolicyKind::Nist, "old", "Zq9!Zq9!Zq9!"),
            vec!["new_password.passphrase_too_short"]
        );
        assert!(keys(PolicyKind::Nist, "old", "alice walks a long way")
            .contains(&"new_password.contains_username".to_owned()));
    }
}
