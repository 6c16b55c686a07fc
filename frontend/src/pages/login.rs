//! The login form. Without JavaScript it posts to `/auth/login` and the server
//! redirects; once hydrated it checks the fields first, then calls the JSON
//! API and shows the server's answer in place.

use crate::api::{form_error_message, FieldError, LoginName};
use crate::components::form::{FormAlert, TextField};
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
    let query = use_query_map();
    let login = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let errors = RwSignal::new(
        query
            .read_untracked()
            .get_all("e")
            .unwrap_or_default()
            .iter()
            .filter_map(|k| FieldError::from_key(k))
            .collect::<Vec<_>>(),
    );
    let alert = RwSignal::new(
        query
            .read_untracked()
            .get("error")
            .and_then(|c| form_error_message(&c))
            .map(str::to_owned),
    );
    let registered = query.read_untracked().get("registered").is_some();
    let pending = RwSignal::new(false);

    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        let found = check(&login.get_untracked(), &password.get_untracked());
        if !found.is_empty() {
            ev.prevent_default();
            alert.set(None);
            errors.set(found);
        } else {
            // Hydrated: send it ourselves and show the answer in place.
            // (Without the wasm, the browser posts the form natively.)
            #[cfg(feature = "hydrate")]
            {
                ev.prevent_default();
                pending.set(true);
                let body = crate::api::LoginRequest {
                    login: login.get_untracked(),
                    password: password.get_untracked(),
                };
                leptos::task::spawn_local(async move {
                    match crate::client::login(&body).await {
                        Ok(()) => crate::client::go_to("/account"),
                        Err(e) => {
                            pending.set(false);
                            errors.set(e.fields);
                            alert.set(Some(e.error));
                        }
                    }
                });
            }
        }
    };

    view! {
        <Title text="Log in"/>
        <h1>"Log in"</h1>
        {registered.then(|| view! {
            <p class="notice" role="status">"Your account was created. You can log in now."</p>
        })}
        <FormAlert message=alert.into()/>
        <form method="post" action="/auth/login" on:submit=on_submit novalidate class="card-form">
            <TextField name="login" label="Username or e-mail" autocomplete="username" value=login errors=errors/>
            <TextField name="password" label="Password" input_type="password" autocomplete="current-password" value=password errors=errors/>
            <button type="submit" disabled=move || pending.get()>"Log in"</button>
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
