//! The registration form, checked in the browser by the very code the server
//! runs (`api::fields`, `api::password_policy`).

use crate::api::{Email, FieldError, PasswordContext, PasswordPolicy, RegisterRequest, Username};
use crate::components::form::{FormAlert, FormState, TextField};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

/// Every problem with the three fields, as the server would report it.
pub fn check(email: &str, username: &str, password: &str) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if let Err(e) = Email::parse(email) {
        errors.push(e);
    }
    if let Err(e) = Username::parse(username) {
        errors.push(e);
    }
    errors.extend(PasswordPolicy::violations(
        password,
        PasswordContext { username, email },
    ));
    errors
}

#[component]
pub fn RegisterPage() -> impl IntoView {
    let email = RwSignal::new(String::new());
    let username = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let form = FormState::from_query();
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        let (e, u, p) = (
            email.get_untracked(),
            username.get_untracked(),
            password.get_untracked(),
        );
        let found = check(&e, &u, &p);
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
        <Title text="Create an account"/>
        <h1>"Create an account"</h1>
        <FormAlert message=form.alert.into()/>
        <form method="post" action="/auth/register" on:submit=on_submit novalidate class="card-form">
            <TextField name="email" label="E-mail" input_type="email" autocomplete="email" value=email errors=form.errors/>
            <TextField name="username" label="Username" autocomplete="username"
                hint="3 to 50 letters, digits or underscores." value=username errors=form.errors/>
            <TextField name="password" label="Password" input_type="password" autocomplete="new-password"
                hint="12 to 128 characters with upper- and lower-case letters, a digit and a special character; not a common password and not containing your username."
                value=password errors=form.errors/>
            <button type="submit" disabled=move || form.pending.get()>"Create account"</button>
        </form>
        <p>"Already registered? " <A href="/login">"Log in"</A> "."</p>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_every_field() {
        let keys: Vec<_> = check("nope", "a", "short")
            .into_iter()
            .map(|e| e.key())
            .collect();
        assert!(keys.contains(&"email.invalid".to_owned()));
        assert!(keys.contains(&"username.too_short".to_owned()));
        assert!(keys.contains(&"password.too_short".to_owned()));
        assert!(check("a@example.org", "alice", "Tr0ub4dor&Zebra!").is_empty());
    }
}
