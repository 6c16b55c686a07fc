//! The registration form, checked in the browser by the very code the server
//! runs (`api::fields`, `api::password_policy`).

use crate::api::{
    form_error_message, Email, FieldError, PasswordContext, PasswordPolicy, Username,
};
use crate::components::form::{FormAlert, TextField};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_query_map};

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
    let query = use_query_map();
    let email = RwSignal::new(String::new());
    let username = RwSignal::new(String::new());
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
    let pending = RwSignal::new(false);

    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        let found = check(
            &email.get_untracked(),
            &username.get_untracked(),
            &password.get_untracked(),
        );
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
                let body = crate::api::RegisterRequest {
                    email: email.get_untracked(),
                    username: username.get_untracked(),
                    password: password.get_untracked(),
                };
                leptos::task::spawn_local(async move {
                    match crate::client::register(&body).await {
                        Ok(()) => crate::client::go_to("/login?registered=1"),
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
        <Title text="Create an account"/>
        <h1>"Create an account"</h1>
        <FormAlert message=alert.into()/>
        <form method="post" action="/auth/register" on:submit=on_submit novalidate class="card-form">
            <TextField name="email" label="E-mail" input_type="email" autocomplete="email" value=email errors=errors/>
            <TextField name="username" label="Username" autocomplete="username"
                hint="3 to 50 letters, digits or underscores." value=username errors=errors/>
            <TextField name="password" label="Password" input_type="password" autocomplete="new-password"
                hint="12 to 128 characters with upper- and lower-case letters, a digit and a special character; not a common password and not containing your username."
                value=password errors=errors/>
            <button type="submit" disabled=move || pending.get()>"Create account"</button>
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
