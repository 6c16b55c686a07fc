//! Accessible form pieces: every input has a visible label, its errors are
//! linked with `aria-describedby` and announced with `role="alert"`.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use wire::{form_error_message, FieldError};

/// The errors that concern one field.
pub fn errors_for(errors: &[FieldError], field: &str) -> Vec<String> {
    errors
        .iter()
        .filter(|e| e.field == field)
        .map(|e| e.message.clone())
        .collect()
}

#[component]
pub fn TextField(
    /// The `name` the server reads; also the field name in [`FieldError`].
    name: &'static str,
    label: &'static str,
    #[prop(default = "text")] input_type: &'static str,
    #[prop(default = "off")] autocomplete: &'static str,
    #[prop(optional)] hint: Option<&'static str>,
    #[prop(default = "text")] input_mode: &'static str,
    /// `data-testid` of the input, for the browser tests.
    #[prop(optional)]
    testid: Option<&'static str>,
    value: RwSignal<String>,
    errors: RwSignal<Vec<FieldError>>,
) -> impl IntoView {
    let id = format!("field-{name}");
    let error_id = format!("{id}-error");
    let hint_id = format!("{id}-hint");
    let described_by = {
        let error_id = error_id.clone();
        let hint_id = hint_id.clone();
        move || {
            let mut ids = Vec::new();
            if hint.is_some() {
                ids.push(hint_id.clone());
            }
            if !errors_for(&errors.read(), name).is_empty() {
                ids.push(error_id.clone());
            }
            ids.join(" ")
        }
    };
    let invalid = move || (!errors_for(&errors.read(), name).is_empty()).to_string();
    // The input is not bound to `value`: hydration must not overwrite what
    // someone typed before the wasm arrived. Once hydrated, pick that text up.
    let input = NodeRef::<leptos::html::Input>::new();
    Effect::new(move |_| {
        if let Some(el) = input.get() {
            let typed = el.value();
            if !typed.is_empty() {
                value.set(typed);
            }
        }
    });
    view! {
        <div class="field">
            <label for=id.clone()>{label}</label>
            {hint.map(|h| view! { <p class="hint" id=hint_id.clone()>{h}</p> })}
            <input
                id=id
                name=name
                type=input_type
                autocomplete=autocomplete
                inputmode=input_mode
                aria-invalid=invalid
                aria-describedby=described_by
                data-testid=testid
                node_ref=input
                on:input:target=move |ev| value.set(ev.target().value())
            />
            <ul class="field-error" id=error_id role="alert">
                {move || {
                    errors_for(&errors.read(), name)
                        .into_iter()
                        .map(|m| view! { <li>{m}</li> })
                        .collect_view()
                }}
            </ul>
        </div>
    }
}

/// A form-level message (for errors not tied to one field).
#[component]
pub fn FormAlert(message: Signal<Option<String>>) -> impl IntoView {
    view! {
        <div class="form-alert" role="alert">
            {move || message.get().map(|m| view! { <p>{m}</p> })}
        </div>
    }
}

/// The state every form shares: field errors, a form-level alert, and
/// whether a submission is in flight.
#[derive(Clone, Copy)]
pub struct FormState {
    pub errors: RwSignal<Vec<FieldError>>,
    pub alert: RwSignal<Option<String>>,
    pub pending: RwSignal<bool>,
    /// The server asked for a fresh second factor (`step_up_required`); the
    /// submission waits in `retry` until the code is confirmed.
    pub step_up: RwSignal<bool>,
    /// The server asked for the password again (`reauthentication_required`);
    /// the submission waits in `retry` likewise.
    pub reauth: RwSignal<bool>,
    #[cfg(feature = "hydrate")]
    retry: RwSignal<Option<Retry>>,
}

/// A submission to send again after a step-up.
#[cfg(feature = "hydrate")]
#[derive(Clone)]
struct Retry {
    url: &'static str,
    body: serde_json::Value,
    next: String,
}

impl FormState {
    /// Starts with what a no-JavaScript submission brought back through its
    /// redirect: `e=<field>.<code>` keys and an `error=<code>`. Unknown codes
    /// are ignored, so a crafted link cannot put its own text on the page.
    pub fn from_query() -> Self {
        let query = use_query_map().read_untracked();
        let errors = query
            .get_all("e")
            .unwrap_or_default()
            .iter()
            .filter_map(|k| FieldError::from_key(k))
            .collect();
        let alert = query
            .get("error")
            .and_then(|c| form_error_message(&c))
            .map(str::to_owned);
        Self {
            errors: RwSignal::new(errors),
            alert: RwSignal::new(alert),
            pending: RwSignal::new(false),
            step_up: RwSignal::new(false),
            reauth: RwSignal::new(false),
            #[cfg(feature = "hydrate")]
            retry: RwSignal::new(None),
        }
    }

    /// Handles a submit event. Errors found in the browser (`found`) stop it
    /// and are shown. Otherwise, once hydrated, the body is posted as JSON to
    /// `url` and the browser goes to `next` on success or shows the server's
    /// answer in place. Without the wasm, this never runs and the browser
    /// posts the form to its `action` natively.
    pub fn submit<T: serde::Serialize + 'static>(
        self,
        ev: leptos::ev::SubmitEvent,
        found: Vec<FieldError>,
        url: &'static str,
        body: impl FnOnce() -> T,
        next: impl Into<String>,
    ) {
        let next: String = next.into();
        ev.prevent_default();
        if !found.is_empty() {
            self.alert.set(None);
            self.errors.set(found);
            return;
        }
        #[cfg(feature = "hydrate")]
        {
            let body = serde_json::to_value(body()).unwrap_or_default();
            self.send(Retry { url, body, next });
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (url, body, next);
    }

    #[cfg(feature = "hydrate")]
    fn send(self, attempt: Retry) {
        self.pending.set(true);
        leptos::task::spawn_local(async move {
            match crate::client::post_json(attempt.url, &attempt.body).await {
                Ok(()) => crate::client::go_to(&attempt.next),
                Err(e) => {
                    self.pending.set(false);
                    if e.error == "step_up_required" {
                        self.alert
                            .set(form_error_message("step_up_required").map(str::to_owned));
                        self.retry.set(Some(attempt));
                        self.step_up.set(true);
                    } else if e.error == "reauthentication_required" {
                        self.alert.set(
                            form_error_message("reauthentication_required").map(str::to_owned),
                        );
                        self.retry.set(Some(attempt));
                        self.reauth.set(true);
                    } else {
                        self.errors.set(e.fields);
                        self.alert.set(Some(e.error));
                    }
                }
            }
        });
    }

    /// After a successful step-up or re-authentication: send the waiting
    /// submission again.
    #[cfg(feature = "hydrate")]
    pub fn resume(self) {
        self.step_up.set(false);
        self.reauth.set(false);
        self.alert.set(None);
        if let Some(attempt) = self.retry.get_untracked() {
            self.send(attempt);
        }
    }
}

/// Asks for a code when the server wants a fresh second factor (or the
/// password when it wants a re-authentication), confirms it, then resumes
/// the form's submission.
#[component]
pub fn StepUpPrompt(form: FormState) -> impl IntoView {
    let on_confirmed = Callback::new(move |()| {
        #[cfg(feature = "hydrate")]
        form.resume();
        #[cfg(not(feature = "hydrate"))]
        let _ = form;
    });
    view! {
        <StepUpCheck open=form.step_up on_confirmed=on_confirmed/>
        <ReauthCheck open=form.reauth on_confirmed=on_confirmed/>
    }
}

/// The password form for `reauthentication_required`, for any caller: shown
/// while `open`, under the caller's alert that says why (so it says nothing
/// itself), it confirms the password with `POST
/// /api/v1/me/reauthenticate`, closes and calls `on_confirmed` (which sends
/// the refused change again).
#[component]
pub fn ReauthCheck(open: RwSignal<bool>, on_confirmed: Callback<()>) -> impl IntoView {
    let password = RwSignal::new(String::new());
    let errors = RwSignal::new(Vec::<FieldError>::new());
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let value = password.get_untracked();
        if value.is_empty() {
            errors.set(vec![FieldError::new("password", "required")]);
            return;
        }
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            let body = wire::ReauthenticateRequest { password: value };
            match crate::client::post_json("/api/v1/me/reauthenticate", &body).await {
                Ok(()) => {
                    password.set(String::new());
                    errors.set(Vec::new());
                    open.set(false);
                    on_confirmed.run(());
                }
                Err(e) if !e.fields.is_empty() => errors.set(e.fields),
                Err(_) => errors.set(vec![FieldError::new("password", "wrong")]),
            }
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = (value, on_confirmed);
    };
    view! {
        <Show when=move || open.get()>
            <form class="card-form reauth" on:submit=on_submit novalidate>
                <TextField name="password" label="Your password" input_type="password"
                    autocomplete="current-password" testid="reauth-password" value=password errors=errors/>
                <button type="submit" data-testid="reauth-confirm">"Confirm"</button>
            </form>
        </Show>
    }
}

/// The code form behind [`StepUpPrompt`], for any caller: shown while `open`,
/// it confirms a code with `POST /api/v1/me/mfa/step-up`, closes and calls
/// `on_confirmed`.
#[component]
pub fn StepUpCheck(open: RwSignal<bool>, on_confirmed: Callback<()>) -> impl IntoView {
    let code = RwSignal::new(String::new());
    let errors = RwSignal::new(Vec::<FieldError>::new());
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let value = code.get_untracked();
        if value.trim().is_empty() {
            errors.set(vec![FieldError::new("code", "required")]);
            return;
        }
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            let body = wire::MfaCodeRequest { code: value };
            match crate::client::post_json("/api/v1/me/mfa/step-up", &body).await {
                Ok(()) => {
                    code.set(String::new());
                    errors.set(Vec::new());
                    open.set(false);
                    on_confirmed.run(());
                }
                Err(_) => errors.set(vec![FieldError::new("code", "invalid")]),
            }
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = (value, on_confirmed);
    };
    view! {
        <Show when=move || open.get()>
            <form class="card-form step-up" on:submit=on_submit novalidate>
                <TextField name="code" label="Authentication code" autocomplete="one-time-code"
                    input_mode="numeric" testid="step-up-code" value=code errors=errors/>
                <button type="submit" data-testid="step-up-confirm">"Confirm"</button>
            </form>
        </Show>
    }
}
