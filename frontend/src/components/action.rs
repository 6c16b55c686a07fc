//! Buttons that change something through the JSON API (POST, PUT, DELETE)
//! and what they share: one line of feedback, a pending flag, and the detour
//! through a second factor (or the password) when the server asks for one. They need the wasm;
//! without it a page shows the data and a hint instead.

use crate::components::form::{ReauthCheck, StepUpCheck};
use leptos::prelude::*;
#[cfg(feature = "hydrate")]
use wire::{form_error_message, ErrorBody};

/// The HTTP method of an [`ApiCall`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Post,
    Put,
    Delete,
}

/// One change to send: kept whole so it can be sent again after a step-up.
#[derive(Clone, Debug)]
pub struct ApiCall {
    pub method: Method,
    pub url: String,
    /// Sent as JSON (ignored for DELETE).
    pub body: serde_json::Value,
    /// Shown once the server has accepted it.
    pub done: String,
    /// Given the JSON answer of an accepted POST (see [`ApiCall::with_answer`]).
    answer: Option<Callback<serde_json::Value>>,
}

impl ApiCall {
    /// A POST with an empty JSON object.
    pub fn post(url: String, done: impl Into<String>) -> Self {
        Self::with_body(Method::Post, url, serde_json::json!({}), done)
    }

    /// A POST with `body` as JSON.
    pub fn post_with<T: serde::Serialize>(url: String, body: &T, done: impl Into<String>) -> Self {
        let body = serde_json::to_value(body).unwrap_or_default();
        Self::with_body(Method::Post, url, body, done)
    }

    pub fn put<T: serde::Serialize>(url: String, body: &T, done: impl Into<String>) -> Self {
        let body = serde_json::to_value(body).unwrap_or_default();
        Self::with_body(Method::Put, url, body, done)
    }

    pub fn delete(url: String, done: impl Into<String>) -> Self {
        Self::with_body(Method::Delete, url, serde_json::Value::Null, done)
    }

    fn with_body(
        method: Method,
        url: String,
        body: serde_json::Value,
        done: impl Into<String>,
    ) -> Self {
        Self {
            method,
            url,
            body,
            done: done.into(),
            answer: None,
        }
    }

    /// For a POST whose answer matters (a secret shown once): `answer` gets
    /// the JSON body the server accepted it with.
    pub fn with_answer(mut self, answer: Callback<serde_json::Value>) -> Self {
        self.answer = Some(answer);
        self
    }
}

/// The state of a page's action buttons. One per page: its feedback panel
/// stays in view while the buttons are scrolled through.
#[derive(Clone, Copy)]
pub struct ActionState {
    pub alert: RwSignal<Option<String>>,
    pub notice: RwSignal<Option<String>>,
    pub pending: RwSignal<bool>,
    /// Open while the server waits for a fresh second factor.
    pub step_up: RwSignal<bool>,
    /// Open while the server waits for the password again.
    pub reauth: RwSignal<bool>,
    /// The call that met `step_up_required` (or `reauthentication_required`),
    /// sent again after the code (or the password).
    waiting: RwSignal<Option<ApiCall>>,
    /// Runs after every accepted change (typically: refetch the data).
    on_success: Callback<()>,
}

impl ActionState {
    pub fn new(on_success: impl Fn() + Send + Sync + 'static) -> Self {
        Self {
            alert: RwSignal::new(None),
            notice: RwSignal::new(None),
            pending: RwSignal::new(false),
            step_up: RwSignal::new(false),
            reauth: RwSignal::new(false),
            waiting: RwSignal::new(None),
            on_success: Callback::new(move |()| on_success()),
        }
    }

    /// Shows a problem found before sending anything.
    pub fn refuse(self, message: impl Into<String>) {
        self.notice.set(None);
        self.alert.set(Some(message.into()));
    }

    /// Sends `call` (in the browser; a server-rendered page has no handlers).
    pub fn run(self, call: ApiCall) {
        self.alert.set(None);
        self.notice.set(None);
        #[cfg(feature = "hydrate")]
        {
            self.pending.set(true);
            leptos::task::spawn_local(async move {
                let answer = match (call.method, call.answer) {
                    (Method::Post, Some(answer)) => {
                        crate::client::post_json_for::<_, serde_json::Value>(&call.url, &call.body)
                            .await
                            .map(|json| answer.run(json))
                    }
                    (Method::Post, None) => crate::client::post_json(&call.url, &call.body).await,
                    (Method::Put, _) => crate::client::put_json(&call.url, &call.body).await,
                    (Method::Delete, _) => crate::client::delete(&call.url).await,
                };
                self.pending.set(false);
                match answer {
                    Ok(()) => {
                        self.notice.set(Some(call.done));
                        self.on_success.run(());
                    }
                    Err(e) if needs_second_factor(&e) => {
                        self.alert
                            .set(form_error_message("step_up_required").map(str::to_owned));
                        self.waiting.set(Some(call));
                        self.step_up.set(true);
                    }
                    Err(e) if e.error == "reauthentication_required" => {
                        self.alert.set(
                            form_error_message("reauthentication_required").map(str::to_owned),
                        );
                        self.waiting.set(Some(call));
                        self.reauth.set(true);
                    }
                    Err(e) => self.alert.set(Some(explain(&e))),
                }
            });
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (
            call.method,
            call.url,
            call.body,
            call.done,
            call.answer,
            self.on_success,
        );
    }

    /// After the code was confirmed: send the waiting call again.
    fn resume(self) {
        self.alert.set(None);
        if let Some(call) = self.waiting.get_untracked() {
            self.waiting.set(None);
            self.run(call);
        }
    }
}

/// Both refusals are answered by the same step-up: elevation (admin writes)
/// and the stricter window of the most sensitive routes.
#[cfg(feature = "hydrate")]
fn needs_second_factor(e: &ErrorBody) -> bool {
    matches!(e.error.as_str(), "step_up_required" | "elevation_required")
}

/// What to tell the person: field messages of a 422, a sentence for the
/// policy's codes, otherwise the server's own text (409s explain themselves).
#[cfg(feature = "hydrate")]
pub fn explain(e: &ErrorBody) -> String {
    if !e.fields.is_empty() {
        return e
            .fields
            .iter()
            .map(|f| f.message.as_str())
            .collect::<Vec<_>>()
            .join(" ");
    }
    let known = match e.error.as_str() {
        "mfa_enrollment_required" => {
            "Your role needs two-factor authentication: set it up on your account page first."
        }
        "device_not_registered" => {
            "This action needs a registered device: register this browser on your account page."
        }
        "device_not_compliant" => {
            "This device is marked non-compliant, so its requests are refused."
        }
        "missing_permission" => "Your account does not have the permission for this action.",
        "network_not_allowed" => "Your role cannot be used from this network.",
        _ => return e.error.clone(),
    };
    known.to_owned()
}

/// The feedback of an [`ActionState`]: an error, a confirmation, and the
/// step-up code form when it is needed. Kept in view at the bottom of the page.
#[component]
pub fn ActionFeedback(state: ActionState) -> impl IntoView {
    let on_confirmed = Callback::new(move |()| state.resume());
    view! {
        <div class="action-feedback" data-testid="action-feedback">
            <div class="form-alert" role="alert">
                {move || state.alert.get().map(|m| view! { <p data-testid="action-error">{m}</p> })}
            </div>
            <div role="status">
                {move || state.notice.get().map(|m| view! { <p class="notice" data-testid="action-done">{m}</p> })}
            </div>
            <StepUpCheck open=state.step_up on_confirmed=on_confirmed/>
            <ReauthCheck open=state.reauth on_confirmed=on_confirmed/>
        </div>
    }
}

/// Said once on pages whose buttons need the wasm.
#[component]
pub fn NeedsScript() -> impl IntoView {
    view! {
        <noscript>
            <p class="hint">"Changes on this page need JavaScript in your browser; the figures are shown without it."</p>
        </noscript>
    }
}
