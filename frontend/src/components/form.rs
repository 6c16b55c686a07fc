//! Accessible form pieces: every input has a visible label, its errors are
//! linked with `aria-describedby` and announced with `role="alert"`.

use crate::api::FieldError;
use leptos::prelude::*;

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
