//! Accessible form pieces: every input has a visible label, its errors are
//! linked with `aria-describedby` and announced with `role="alert"`.

use crate::api::{form_error_message, FieldError};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

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
    view! {
        <div class="field">
            <label for=id.clone()>{label}</label>
            {hint.map(|h| view! { <p class="hint" id=hint_id.clone()>{h}</p> })}
            <input
                id=id
                name=name
                type=input_type
                autocomplete=autocomplete
                aria-invalid=invalid
                aria-describedby=described_by
                bind:value=value
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
        next: &'static str,
    ) {
        ev.prevent_default();
        if !found.is_empty() {
            self.alert.set(None);
            self.errors.set(found);
            return;
        }
        #[cfg(feature = "hydrate")]
        {
            self.pending.set(true);
            let body = body();
            leptos::task::spawn_local(async move {
                match crate::client::post_json(url, &body).await {
                    Ok(()) => crate::client::go_to(next),
                    Err(e) => {
                        self.pending.set(false);
                        self.errors.set(e.fields);
                        self.alert.set(Some(e.error));
                    }
                }
            });
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (url, body, next);
    }
}
