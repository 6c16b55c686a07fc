//! Devices: every registered device, and the compliance switch that
//! quarantines one (its requests are refused until it is marked compliant).

use super::{loading, user_href, AdminNav, LoadFailed};
use crate::components::action::{ActionFeedback, ActionState, ApiCall, NeedsScript};
use crate::components::data_table::{col, Column, DataTable, Empty};
use crate::format::{encode, short_time};
use crate::page_data::api_resource;
use leptos::prelude::*;
use leptos_meta::Title;
use wire::{ComplianceRequest, DeviceInfo};

#[component]
pub fn DevicesPage() -> impl IntoView {
    let devices = api_resource::<Vec<DeviceInfo>>(|| "/api/v1/admin/devices".to_owned());
    let actions = ActionState::new(move || devices.refetch());
    view! {
        <Title text="Devices · Admin"/>
        <Transition fallback=loading>
            {move || Suspend::new(async move {
                match devices.await {
                    Ok(list) => view! { <DevicesView devices=list actions=actions/> }.into_any(),
                    Err(e) => view! { <LoadFailed error=e/> }.into_any(),
                }
            })}
        </Transition>
        <ActionFeedback state=actions/>
    }
}

#[component]
fn DevicesView(devices: Vec<DeviceInfo>, actions: ActionState) -> impl IntoView {
    let quarantined = devices.iter().filter(|d| !d.compliant).count();
    let empty = devices.is_empty();
    view! {
        <AdminNav/>
        <h1>"Devices"</h1>
        <p>
            {devices.len()} " registered, " {quarantined} " marked non-compliant. "
            "Requests that name a non-compliant device are refused."
        </p>
        <NeedsScript/>
        <DataTable columns=COLUMNS is_empty=empty
            empty=Empty { text: "No device has been registered yet.", test_id: "" }>
            {devices.into_iter().map(|d| view! { <DeviceRow device=d actions=actions/> }).collect_view()}
        </DataTable>
    }
}

#[component]
fn DeviceRow(device: DeviceInfo, actions: ActionState) -> impl IntoView {
    let d = &device;
    let (id, label, user, owner) = (
        d.id.clone(),
        d.label.clone(),
        user_href(&d.user_id),
        d.username.clone(),
    );
    let registered = short_time(&d.registered_at);
    let seen = d
        .last_seen_at
        .as_deref()
        .map(short_time)
        .unwrap_or_else(|| "—".into());
    let reviewed = d
        .reviewed_at
        .as_deref()
        .map(short_time)
        .unwrap_or_else(|| "—".into());
    view! {
        <tr data-testid="device-row" data-device-id=id>
            <td>{label}</td>
            <td><a href=user>{owner}</a></td>
            <td>{registered}</td>
            <td>{seen}</td>
            <td>{reviewed}</td>
            <td><ComplianceButton device=device actions=actions/></td>
        </tr>
    }
}

/// The device's state and the button that flips it.
#[component]
pub fn ComplianceButton(device: DeviceInfo, actions: ActionState) -> impl IntoView {
    let url = StoredValue::new(format!(
        "/api/v1/admin/devices/{}/compliance",
        encode(&device.id)
    ));
    let now = device.compliant;
    let (state, class, action) = if now {
        ("Compliant", "badge", "Mark non-compliant")
    } else {
        ("Non-compliant", "badge danger", "Mark compliant")
    };
    let label = format!("{action}: {}", device.label);
    let done = if now {
        "Marked non-compliant: its requests are now refused."
    } else {
        "Marked compliant."
    };
    view! {
        <span class=class data-testid="device-state">{state}</span>
        " "
        <button type="button" class="small" data-testid="device-compliance"
            data-compliant=now.to_string() aria-label=label
            disabled=move || actions.pending.get()
            on:click=move |_| actions.run(ApiCall::put(
                url.get_value(),
                &ComplianceRequest { compliant: !now },
                done,
            ))>
            {action}
        </button>
    }
}

const COLUMNS: &[Column] = &[
    col("Label"),
    col("User"),
    col("Registered"),
    col("Last seen"),
    col("Reviewed"),
    col("Compliance"),
];
