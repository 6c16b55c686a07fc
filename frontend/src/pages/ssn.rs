//! The account page's "Social Security number" section: the masked number,
//! a form to store or change it, and "Reveal", which asks for a fresh code
//! when the server wants one and hides the number again after 30 seconds.

use crate::components::action::{ActionFeedback, ActionState, ApiCall};
use crate::components::form::{StepUpCheck, TextField};
use crate::format::short_time;
use crate::page_data::{api_resource, LoadError};
use leptos::prelude::*;
use wire::{FieldError, Ssn, SsnRequest, SsnStatus};

/// How long a revealed number stays on screen.
#[cfg(feature = "hydrate")]
const REVEAL_SECS: u64 = 30;

pub type SsnResource = Resource<Result<SsnStatus, LoadError>>;

pub fn my_ssn_resource() -> SsnResource {
    api_resource::<SsnStatus>(|| "/api/v1/me/ssn".to_owned())
}

#[component]
pub fn MySsn(ssn: SsnResource) -> impl IntoView {
    let actions = ActionState::new(move || ssn.refetch());
    let value = RwSignal::new(String::new());
    let errors = RwSignal::new(Vec::<FieldError>::new());
    let form = NodeRef::<leptos::html::Form>::new();

    let on_save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        match Ssn::parse(&value.get_untracked()) {
            Err(e) => errors.set(vec![e]),
            Ok(parsed) => {
                errors.set(Vec::new());
                value.set(String::new());
                // The typed number must not stay on screen: clear the input.
                if let Some(form) = form.get_untracked() {
                    form.reset();
                }
                let body = SsnRequest {
                    ssn: parsed.expose().to_owned(),
                };
                actions.run(ApiCall::put("/api/v1/me/ssn".into(), &body, "Saved."));
            }
        }
    };

    view! {
        <section aria-labelledby="ssn">
            <h2 id="ssn">"Social Security number"</h2>
            <p class="hint">
                "Stored encrypted (AES-256-GCM) and shown masked. Revealing it asks for a fresh "
                "code from your authenticator app, is recorded in the audit log, and hides "
                "again after 30 seconds."
            </p>
            <Transition fallback=|| view! { <p class="hint">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match ssn.await {
                        Ok(status) if status.stored => view! {
                            <SsnReveal url="/api/v1/me/ssn/reveal".to_owned()
                                masked=status.masked.clone().unwrap_or_default()/>
                            <p class="hint">{status.updated_at.as_deref().map(|t| format!("Saved {}.", short_time(t)))}</p>
                        }.into_any(),
                        Ok(_) => view! { <p data-testid="ssn-value">"None stored."</p> }.into_any(),
                        Err(_) => view! { <p role="alert">"Could not load this section. Reload the page to try again."</p> }.into_any(),
                    }
                })}
            </Transition>
            <form class="card-form" on:submit=on_save novalidate node_ref=form>
                <TextField name="ssn" label="New number (###-##-####)" autocomplete="off"
                    testid="ssn-input" value=value errors=errors/>
                <button type="submit" data-testid="ssn-save">"Save"</button>
                <noscript><p class="hint">"Saving and revealing need JavaScript."</p></noscript>
            </form>
            <ActionFeedback state=actions/>
        </section>
    }
}

/// A masked SSN with "Reveal": POSTs `url`; when the server wants a fresh
/// second factor it asks for a code and tries again; the number hides
/// itself after 30 seconds. Used for my own number and by admins.
#[component]
pub fn SsnReveal(url: String, masked: String) -> impl IntoView {
    let revealed = RwSignal::new(None::<String>);
    let step_up = RwSignal::new(false);
    let problem = RwSignal::new(None::<String>);
    let url = StoredValue::new(url);
    let reveal = move || {
        problem.set(None);
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            let answer = crate::client::post_json_for::<_, wire::SsnRevealed>(
                &url.get_value(),
                &serde_json::json!({}),
            )
            .await;
            match answer {
                Ok(r) => {
                    revealed.set(Some(r.ssn));
                    // Hide it again on its own.
                    set_timeout(
                        move || revealed.set(None),
                        std::time::Duration::from_secs(REVEAL_SECS),
                    );
                }
                Err(e) if e.error == "step_up_required" => step_up.set(true),
                Err(e) if e.error == "not found" => {
                    problem.set(Some("No number is stored.".into()))
                }
                Err(e) => problem.set(Some(e.error)),
            }
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = url;
    };
    let on_confirmed = Callback::new(move |()| reveal());
    view! {
        <p>
            <span data-testid="ssn-value">
                {move || revealed.get().unwrap_or_else(|| masked.clone())}
            </span>
            " "
            <Show
                when=move || revealed.get().is_none()
                fallback=move || view! {
                    <button type="button" class="secondary" data-testid="ssn-hide"
                        on:click=move |_| revealed.set(None)>"Hide"</button>
                }
            >
                <button type="button" data-testid="ssn-reveal" on:click=move |_| reveal()>"Reveal"</button>
            </Show>
        </p>
        {move || problem.get().map(|e| view! { <p role="alert" class="error">{e}</p> })}
        <StepUpCheck open=step_up on_confirmed=on_confirmed/>
    }
}
