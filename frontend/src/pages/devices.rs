//! The account page's "Devices" section: the devices I registered, a form to
//! register this browser, and a way to remove one.

use crate::components::action::{ActionFeedback, ActionState, ApiCall};
use crate::components::data_table::{col, hidden_col, Column, DataTable, Empty};
use crate::components::form::TextField;
use crate::format::{encode, short_time};
use crate::page_data::{api_resource, LoadError};
use leptos::prelude::*;
use wire::{DeviceInfo, DeviceRegistration, FieldError};

/// A device label's length, as the server checks it.
const LABEL_CHARS: std::ops::RangeInclusive<usize> = 1..=60;

pub type MyDevicesResource = Resource<Result<Vec<DeviceInfo>, LoadError>>;

/// My devices. Created with the page (not inside its `Suspense`), like the
/// page's other resources.
pub fn my_devices_resource() -> MyDevicesResource {
    api_resource::<Vec<DeviceInfo>>(|| "/api/v1/me/devices".to_owned())
}

#[component]
pub fn MyDevices(devices: MyDevicesResource) -> impl IntoView {
    let actions = ActionState::new(move || devices.refetch());
    view! {
        <section aria-labelledby="devices">
            <h2 id="devices">"Devices"</h2>
            <p>
                "Registering this browser marks its requests as coming from a known device: "
                "an administrator can refuse a device they mark non-compliant, and some "
                "administrative actions are only allowed from a registered device."
            </p>
            <Transition fallback=|| view! { <p class="hint">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match devices.await {
                        Ok(list) => view! { <DeviceList devices=list actions=actions/> }.into_any(),
                        Err(_) => view! { <p role="alert">"Your devices could not be loaded. Reload the page to try again."</p> }.into_any(),
                    }
                })}
            </Transition>
            <ActionFeedback state=actions/>
        </section>
    }
}

#[component]
fn DeviceList(devices: Vec<DeviceInfo>, actions: ActionState) -> impl IntoView {
    let this_one = devices.iter().find(|d| d.current).map(|d| d.label.clone());
    let empty = devices.is_empty();
    let rows = devices
        .into_iter()
        .map(|d| {
            let url = StoredValue::new(format!("/api/v1/me/devices/{}", encode(&d.id)));
            let label = format!("Remove {}", d.label);
            view! {
                <tr data-testid="my-device-row" data-current=d.current.to_string()>
                    <td>
                        {d.label.clone()}
                        {d.current.then(|| view! { " " <span class="badge">"This browser"</span> })}
                    </td>
                    <td>
                        {if d.compliant {
                            view! { <span class="badge">"Compliant"</span> }.into_any()
                        } else {
                            view! { <span class="badge danger">"Non-compliant"</span> }.into_any()
                        }}
                    </td>
                    <td>{short_time(&d.registered_at)}</td>
                    <td>{d.last_seen_at.as_deref().map(short_time).unwrap_or_else(|| "—".into())}</td>
                    <td>
                        <button type="button" class="small secondary-button" aria-label=label
                            data-testid="device-remove" disabled=move || actions.pending.get()
                            on:click=move |_| actions.run(ApiCall::delete(url.get_value(), "Device removed."))>
                            "Remove"
                        </button>
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <DataTable columns=COLUMNS is_empty=empty class="sessions"
            empty=Empty { text: "No device is registered.", test_id: "no-devices" }>
            {rows}
        </DataTable>
        {match this_one {
            Some(label) => view! { <p data-testid="device-registered">"This browser is registered as " <strong>{label}</strong> "."</p> }.into_any(),
            None => view! { <RegisterDevice actions=actions/> }.into_any(),
        }}
    }
}

#[component]
fn RegisterDevice(actions: ActionState) -> impl IntoView {
    let label = RwSignal::new(String::new());
    let errors = RwSignal::new(Vec::<FieldError>::new());
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let text = label.get_untracked().trim().to_owned();
        if !LABEL_CHARS.contains(&text.chars().count()) {
            errors.set(vec![FieldError::new("label", "device_label")]);
            return;
        }
        errors.set(Vec::new());
        let body = DeviceRegistration { label: text };
        actions.run(ApiCall::post_with(
            "/api/v1/me/devices".to_owned(),
            &body,
            "This browser is registered.",
        ));
    };
    view! {
        <form class="card-form" on:submit=on_submit novalidate>
            <TextField name="label" label="Name for this browser" hint="For example \u{201c}Work laptop\u{201d}, 1 to 60 characters."
                testid="device-label" value=label errors=errors/>
            <button type="submit" data-testid="device-register" disabled=move || actions.pending.get()>
                "Register this browser"
            </button>
            <noscript><p class="hint">"Registering needs JavaScript in your browser."</p></noscript>
        </form>
    }
}

const COLUMNS: &[Column] = &[
    col("Device"),
    col("Compliance"),
    col("Registered"),
    col("Last seen"),
    hidden_col("Actions"),
];
