//! The registration form, checked in the browser by the very code the server
//! runs (`api::fields`, `api::password_policy`).

use crate::components::form::{FormAlert, FormState, TextField};
use crate::page_data::password_policy_resource;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use wire::password_policy::PolicyKind;
use wire::{Email, FieldError, PasswordContext, PasswordPolicy, RegisterRequest, Username};

/// Every problem with the three fields, as the server would report it under
/// its password policy `kind` (all but the server's big list of common
/// passwords).
pub fn check(kind: PolicyKind, email: &str, username: &str, password: &str) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if let Err(e) = Email::parse(email) {
        errors.push(e);
    }
    if let Err(e) = Username::parse(username) {
        errors.push(e);
    }
    errors.extend(PasswordPolicy::new(kind).check(password, PasswordContext { username, email }));
    errors
}

#[component]
pub fn RegisterPage() -> impl IntoView {
    let email = RwSignal::new(String::new());
    let username = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let form = FormState::from_query();
    let policy = password_policy_resource();

    view! {
        <Title text="Create an account"/>
        <h1>"Create an account"</h1>
        <FormAlert message=form.alert.into()/>
        <Suspense fallback=|| view! { <p class="hint">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let kind = policy.await;
                view! { <RegisterForm kind=kind email=email username=username password=password form=form/> }
            })}
        </Suspense>
        <p>"Already registered? " <A href="/login">"Log in"</A> "."</p>
    }
}

/// The form itself, once the password policy is known.
#[component]
fn RegisterForm(
    kind: PolicyKind,
    email: RwSignal<String>,
    username: RwSignal<String>,
    password: RwSignal<String>,
    form: FormState,
) -> impl IntoView {
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        let (e, u, p) = (
            email.get_untracked(),
            username.get_untracked(),
            password.get_untracked(),
        );
        let found = check(kind, &e, &u, &p);
        let body = move || RegisterRequest {
            email: e,
            username: u,
            password: p,
        };
        form.submit(
            ev,
            found,
            "/api/v1/auth/register",
            body,
            "/login?registered=1",
        );
    };
    view! {
        <form method="post" action="/auth/register" on:submit=on_submit novalidate class="card-form">
            <TextField name="email" label="E-mail" input_type="email" autocomplete="email" value=email errors=form.errors/>
            <TextField name="username" label="Username" autocomplete="username"
                hint="3 to 50 letters, digits or underscores." value=username errors=form.errors/>
            <TextField name="password" label="Password" input_type="password" autocomplete="new-password"
                hint=kind.hint() value=password errors=form.errors/>
            <button type="submit" disabled=move || form.pending.get()>"Create account"</button>
        </form>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(kind: PolicyKind, email: &str, username: &str, password: &str) -> Vec<String> {
        check(kind, email, username, password)
            .into_iter()
            .map(|e| e.key())
            .collect()
    }

    #[test]
    fn reports_every_field() {
        let keys = keys(PolicyKind::Catalogue, "nope", "a", "short");
        assert!(keys.contains(&"email.invalid".to_owned()));
        assert!(keys.contains(&"username.too_short".to_owned()));
        assert!(keys.contains(&"password.too_short".to_owned()));
        assert!(check(
            PolicyKind::Catalogue,
            "a@example.org",
            "alice",
            "Tr0ub4dor&Zebra!"
        )
        .is_empty());
    }

    #[test]
    fn checks_the_full_rules_of_the_servers_policy() {
        let ok = |kind, pw| keys(kind, "a@example.org", "alice", pw);
        // Composition only under the catalogue.
        assert!(ok(PolicyKind::Nist, "violet harbours").is_empty());
        assert_eq!(
            ok(PolicyKind::Catalogue, "violet harbours"),
            vec![
                "password.missing_upper",
                "password.missing_digit",
                "password.missing_special"
            ]
        );
        // Fifteen characters under NIST.
        assert!(ok(PolicyKind::Catalogue, "Zq9!Zq9!Zq9!").is_empty());
        assert_eq!(
            ok(PolicyKind::Nist, "Zq9!Zq9!Zq9!"),
            vec!["password.passphrase_too_short"]
        );
    }
}
