//! The login form, in two steps when MFA is on: password, then a code.
//!
//! Without JavaScript the forms post to `/auth/login` and `/auth/login/mfa`
//! and the server redirects (the pending login travels in an HttpOnly
//! cookie). Once hydrated, the page checks the fields first, calls the JSON
//! API, and shows the code step or the server's answer in place.

use crate::components::form::{FormAlert, FormState, TextField};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_query_map};
use wire::{FieldError, LoginName};

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

/// The second step's check: something that could be a code.
pub fn check_code(code: &str) -> Vec<FieldError> {
    if code.trim().is_empty() {
        vec![FieldError::new("code", "required")]
    } else {
        Vec::new()
    }
}

#[component]
pub fn LoginPage() -> impl IntoView {
    let query = use_query_map().read_untracked();
    let registered = query.get("registered").is_some();
    // `step=mfa` comes from the no-JavaScript flow's redirect.
    let server_mfa_step = query.get("step").as_deref() == Some("mfa");
    // Back to the OAuth authorization request after signing in (only that;
    // the server applies the same rule).
    let next = query
        .get("next")
        .and_then(|n| wire::login_next(&n).map(str::to_owned));
    let after_login = StoredValue::new(next.clone().unwrap_or_else(|| "/account".to_owned()));
    let next_for_code = next.clone();
    let login = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let code = RwSignal::new(String::new());
    let form = FormState::from_query();
    // Hydrated flow: the pending login's token, in memory only.
    let mfa_token = RwSignal::new(None::<String>);
    let show_code_step = move || server_mfa_step || mfa_token.with(Option::is_some);
    // The no-JavaScript post's pre-session CSRF token (login CSRF), from the
    // server's render; hydrated, the form calls the JSON API instead (which
    // keeps the Origin rule), so the browser side needs no value.
    #[cfg(feature = "ssr")]
    let csrf = use_context::<crate::page_data::PageDataSource>()
        .and_then(|s| s.0.login_form_token())
        .unwrap_or_default();
    #[cfg(not(feature = "ssr"))]
    let csrf = String::new();

    let on_password = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let found = check(&login.get_untracked(), &password.get_untracked());
        if !found.is_empty() {
            form.alert.set(None);
            form.errors.set(found);
        } else {
            #[cfg(feature = "hydrate")]
            password_step(form, login, password, mfa_token, after_login.get_value());
        }
    };

    let on_code = move |ev: leptos::ev::SubmitEvent| {
        let found = check_code(&code.get_untracked());
        if !found.is_empty() {
            ev.prevent_default();
            form.errors.set(found);
            return;
        }
        // Without an in-memory token (the no-JavaScript step), post natively.
        let Some(token) = mfa_token.get_untracked() else {
            return;
        };
        ev.prevent_default();
        let body = wire::MfaLoginRequest {
            mfa_token: token,
            code: code.get_untracked(),
        };
        let after = after_login.get_value();
        form.submit(
            ev,
            Vec::new(),
            "/api/v1/auth/login/mfa",
            move || body,
            after,
        );
    };

    view! {
        <Title text="Log in"/>
        <h1>"Log in"</h1>
        {registered.then(|| view! {
            <p class="notice" role="status">"Account created: log in with your username and the password you chose. (Your e-mail address signs you in once you have confirmed it.)"</p>
        })}
        <FormAlert message=form.alert.into()/>
        <Show
            when=show_code_step
            fallback=move || view! {
                <form method="post" action="/auth/login" on:submit=on_password novalidate class="card-form">
                    <TextField name="login" label="Username or e-mail" autocomplete="username" value=login errors=form.errors/>
                    <TextField name="password" label="Password" input_type="password" autocomplete="current-password" value=password errors=form.errors/>
                    {next.clone().map(|n| view! { <input type="hidden" name="next" value=n/> })}
                    <input type="hidden" name="csrf" value=csrf.clone()/>
                    <button type="submit" disabled=move || form.pending.get()>"Log in"</button>
                </form>
                <p>"No account yet? " <A href="/register">"Register"</A> "."</p>
            }
        >
            <p>"Two-factor authentication is on. Enter the 6-digit code from your authenticator app, or one of your recovery codes."</p>
            <form method="post" action="/auth/login/mfa" on:submit=on_code novalidate class="card-form">
                <TextField name="code" label="Authentication code" autocomplete="one-time-code"
                    input_mode="numeric" value=code errors=form.errors/>
                {next_for_code.clone().map(|n| view! { <input type="hidden" name="next" value=n/> })}
                <button type="submit" disabled=move || form.pending.get()>"Verify"</button>
            </form>
            <p><a href="/login">"Start again"</a></p>
        </Show>
    }
}

/// The hydrated password step: send it, then show the code step or go on.
#[cfg(feature = "hydrate")]
fn password_step(
    form: FormState,
    login: RwSignal<String>,
    password: RwSignal<String>,
    mfa_token: RwSignal<Option<String>>,
    after_login: String,
) {
    form.pending.set(true);
    let body = wire::LoginRequest {
        login: login.get_untracked(),
        password: password.get_untracked(),
    };
    leptos::task::spawn_local(async move {
        let answer: Result<wire::LoginResponse, _> =
            crate::client::post_json_for("/api/v1/auth/login", &body).await;
        form.pending.set(false);
        match answer {
            Ok(r) if r.mfa_required => {
                form.errors.set(Vec::new());
                form.alert.set(None);
                password.set(String::new());
                mfa_token.set(r.mfa_token);
            }
            Ok(_) => crate::client::go_to(&after_login),
            Err(e) => {
                form.errors.set(e.fields);
                form.alert.set(Some(e.error));
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_fields_are_reported_before_sending() {
        let codes: Vec<_> = check("", "").into_iter().map(|e| e.key()).collect();
        assert_eq!(codes, vec!["login.required", "password.required"]);
        assert!(check("alice", "anything").is_empty());
        assert_eq!(check_code(" ")[0].key(), "code.required");
        assert!(check_code("123456").is_empty());
    }
}
