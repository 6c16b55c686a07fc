//! The login form. Without JavaScript it posts to `/auth/login` and the server
//! redirects; once hydrated it checks the fields first, then calls the JSON
//! API and shows the server's answer in place.

use crate::api::{FieldError, LoginName, LoginRequest};
use crate::components::form::{FormAlert, FormState, TextField};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_query_map};

/// What the browser checks before sending: the same parsers the server uses.
pub fn check(login: &str, password: &str) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if let Err(e) = LoginName::parse(login) {
        errors.push(e);
    }
    if password.is_empty() {
        errors.push(FieldError::new("password", "required"));
    }
    errors
}

#[component]
pub fn LoginPage() -> impl IntoView {
    let login = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let registered = use_query_map().read_untracked().get("registered").is_some();
    let form = FormState::from_query();
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        let found = check(&login.get_untracked(), &password.get_untracked());
        let body = move || LoginRequest {
            login: login.get_untracked(),
            password: password.get_untracked(),
        };
        form.submit(ev, found, "/api/v1/auth/login", body, "/account");
    };

    view! {
        <Title text="Log in"/>
        <h1>"Log in"</h1>
        {registered.then(|| view! {
            <p class="notice" role="status">"Your account was created. You can log in now."</p>
        })}
        <FormAlert message=form.alert.into()/>
        <form method="post" action="/auth/login" on:submit=on_submit novalidate class="card-form">
            <TextField name="login" label="Username or e-mail" autocomplete="username" value=login errors=form.errors/>
            <TextField name="password" label="Password" input_type="password" autocomplete="current-password" value=password errors=form.errors/>
            <button type="submit" disabled=move || form.pending.get()>"Log in"</button>
        </form>
        <p>"No account yet? " <A href="/register">"Register"</A> "."</p>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_fields_are_reported_before_sending() {
        let codes: Vec<_> = check("", "").into_iter().map(|e| e.key()).collect();
        assert_eq!(codes, vec!["login.required", "password.required"]);
        assert!(check("alice", "anything").is_empty());
    }
}
