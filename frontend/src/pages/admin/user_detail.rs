//! One user: account state, roles, sessions and devices, and the changes an
//! admin can make to them. The figures render without JavaScript; the
//! buttons call the JSON API once the page is hydrated, and the server may
//! first ask for a fresh second factor.

use super::devices::ComplianceButton;
use super::users::RoleList;
use super::{loading, AdminNav, LoadFailed};
use crate::components::action::{ActionFeedback, ActionState, ApiCall, NeedsScript};
use crate::components::data_table::{col, hidden_col, Column, DataTable, Empty};
use crate::components::email_state::EmailState;
use crate::format::{encode, short_time};
use crate::page_data::api_resource;
use crate::pages::ssn::SsnReveal;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;
use wire::{
    AdminUserDetail, DeviceInfo, FieldError, RoleChangeRequest, RoleGrantInfo, SessionInfo,
};

/// The roles an admin can grant or revoke.
const ROLES: [&str; 3] = ["admin", "auditor", "user"];

/// The longest time-bound grant the server accepts: 30 days.
const MAX_MINUTES: u32 = 30 * 24 * 60;

#[component]
pub fn UserDetailPage() -> impl IntoView {
    let params = use_params_map();
    let detail = api_resource::<AdminUserDetail>(move || {
        let id = params.read().get("id").unwrap_or_default();
        format!("/api/v1/admin/users/{}", encode(&id))
    });
    // After every accepted change, load the user again: the server's view
    // is the one to show (a grant may have been capped, a lock shortened…).
    let actions = ActionState::new(move || detail.refetch());
    view! {
        <Title text="User · Admin"/>
        <Transition fallback=loading>
            {move || Suspend::new(async move {
                match detail.await {
                    Ok(d) => view! { <UserDetailView detail=d actions=actions/> }.into_any(),
                    Err(e) => view! { <LoadFailed error=e/> }.into_any(),
                }
            })}
        </Transition>
        <ActionFeedback state=actions/>
    }
}

#[component]
fn UserDetailView(detail: AdminUserDetail, actions: ActionState) -> impl IntoView {
    let user = detail.user;
    let base = format!("/api/v1/admin/users/{}", encode(&user.id));
    view! {
        <AdminNav/>
        <h1 data-testid="user-detail-name">{user.username.clone()}</h1>
        <NeedsScript/>
        <dl class="details">
            <dt>"E-mail"</dt><dd>{user.email.clone()}<EmailState verified=user.email_verified/></dd>
            <dt>"User id"</dt><dd><code>{user.id.clone()}</code></dd>
            <dt>"Member since"</dt><dd>{short_time(&user.created_at)}</dd>
            <dt>"Two-factor"</dt><dd data-testid="user-mfa">{if user.mfa_enabled { "On" } else { "Off" }}</dd>
            <dt>"Failed sign-ins"</dt><dd>{detail.failed_logins}</dd>
            <dt>"Sign-in"</dt>
            <dd data-testid="user-lock-state">
                {match user.locked_until.as_deref() {
                    Some(until) => format!("Locked until {}", short_time(until)),
                    None => "Allowed".to_owned(),
                }}
            </dd>
        </dl>
        <AccountActions base=base.clone() locked=user.locked_until.is_some()
            mfa_enabled=user.mfa_enabled actions=actions/>
        <Roles base=base roles=user.roles actions=actions/>
        <Sessions sessions=detail.sessions actions=actions/>
        <Devices devices=detail.devices actions=actions/>
    }
}

/// Lock or unlock sign-in, and reset the second factor (for a lost phone).
#[component]
fn AccountActions(
    base: String,
    locked: bool,
    mfa_enabled: bool,
    actions: ActionState,
) -> impl IntoView {
    let lock_url = StoredValue::new(format!("{base}/lock"));
    let unlock_url = StoredValue::new(format!("{base}/unlock"));
    let reset_url = StoredValue::new(format!("{base}/mfa/reset"));
    let pending = move || actions.pending.get();
    view! {
        <section aria-labelledby="account-actions">
            <h2 id="account-actions">"Account"</h2>
            <div class="actions">
                {if locked {
                    view! {
                        <button type="button" data-testid="user-unlock" disabled=pending
                            on:click=move |_| actions.run(ApiCall::post(unlock_url.get_value(), "Sign-in is allowed again."))>
                            "Unlock sign-in"
                        </button>
                    }.into_any()
                } else {
                    view! {
                        <button type="button" data-testid="user-lock" disabled=pending
                            on:click=move |_| actions.run(ApiCall::post(lock_url.get_value(), "Sign-in is locked."))>
                            "Lock sign-in"
                        </button>
                    }.into_any()
                }}
                {mfa_enabled.then(|| view! {
                    <button type="button" class="secondary-button" data-testid="mfa-reset" disabled=pending
                        on:click=move |_| actions.run(ApiCall::post(reset_url.get_value(),
                            "Two-factor authentication was reset: the user sets it up again."))>
                        "Reset two-factor authentication"
                    </button>
                })}
            </div>
            <p class="hint">"Locking blocks new sign-ins. Reset two-factor authentication when someone has lost their authenticator."</p>
        </section>
        <section aria-labelledby="user-ssn">
            <h2 id="user-ssn">"Social Security number"</h2>
            <SsnReveal url=format!("{base}/ssn/reveal") masked="Hidden".to_owned()/>
            <p class="hint">"Revealing needs a fresh code from your authenticator and is recorded in the audit log with your name and theirs."</p>
        </section>
    }
}

/// Current grants, and a form to grant (optionally for a while) or revoke one.
#[component]
fn Roles(base: String, roles: Vec<RoleGrantInfo>, actions: ActionState) -> impl IntoView {
    let url = StoredValue::new(format!("{base}/roles"));
    let role_select = NodeRef::<leptos::html::Select>::new();
    let minutes_input = NodeRef::<leptos::html::Input>::new();

    // Reads the form when a button is pressed (nothing is bound, so what was
    // chosen before hydration counts too).
    let change = move |grant: bool| {
        let role = role_select
            .get_untracked()
            .map(|el| el.value())
            .unwrap_or_default();
        let typed = minutes_input
            .get_untracked()
            .map(|el| el.value())
            .unwrap_or_default();
        let expires_in_minutes = match (grant, typed.trim()) {
            (false, _) | (true, "") => None,
            (true, text) => match text.parse::<u32>() {
                Ok(m) if (1..=MAX_MINUTES).contains(&m) => Some(m),
                _ => {
                    actions.refuse(FieldError::new("expires_in_minutes", "invalid").message);
                    return;
                }
            },
        };
        let done = match (grant, expires_in_minutes) {
            (true, Some(m)) => format!("Granted the {role} role for {m} minutes."),
            (true, None) => format!("Granted the {role} role."),
            (false, _) => format!("Revoked the {role} role."),
        };
        let body = RoleChangeRequest {
            role,
            grant,
            expires_in_minutes,
        };
        actions.run(ApiCall::put(url.get_value(), &body, done));
    };

    let rows = roles
        .iter()
        .map(|r| {
            view! {
                <tr data-testid="role-row" data-role=r.role.clone()>
                    <th scope="row">{r.role.clone()}</th>
                    <td>{r.granted_at.as_deref().map(short_time).unwrap_or_else(|| "—".into())}</td>
                    <td>{r.granted_by.clone().unwrap_or_else(|| "—".into())}</td>
                    <td>{r.expires_at.as_deref().map(short_time).unwrap_or_else(|| "never".into())}</td>
                </tr>
            }
        })
        .collect_view();

    view! {
        <section aria-labelledby="roles">
            <h2 id="roles">"Roles"</h2>
            <RoleList roles=roles/>
            <div class="table-wrap">
                <table class="data-table">
                    <thead>
                        <tr>
                            <th scope="col">"Role"</th>
                            <th scope="col">"Granted"</th>
                            <th scope="col">"Granted by"</th>
                            <th scope="col">"Expires"</th>
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
            <form class="inline-fields" on:submit=|ev| ev.prevent_default()>
                <div class="field">
                    <label for="role-select">"Role"</label>
                    <select id="role-select" name="role" data-testid="role-select" node_ref=role_select>
                        {ROLES.iter().map(|r| view! { <option value=*r>{*r}</option> }).collect_view()}
                    </select>
                </div>
                <div class="field">
                    <label for="role-expires">"Expires in minutes"</label>
                    <input id="role-expires" name="expires_in_minutes" type="number" min="1"
                        max=MAX_MINUTES.to_string() step="1" inputmode="numeric"
                        aria-describedby="role-expires-hint" data-testid="role-expires"
                        node_ref=minutes_input/>
                </div>
                <div class="actions">
                    <button type="button" data-testid="role-grant"
                        disabled=move || actions.pending.get() on:click=move |_| change(true)>"Grant"</button>
                    <button type="button" class="secondary-button" data-testid="role-revoke"
                        disabled=move || actions.pending.get() on:click=move |_| change(false)>"Revoke"</button>
                </div>
            </form>
            <p class="hint" id="role-expires-hint">
                "Optional, for grants: a time-bound grant lapses by itself (up to 30 days). "
                "Changing roles needs a recent second factor."
            </p>
        </section>
    }
}

#[component]
fn Sessions(sessions: Vec<SessionInfo>, actions: ActionState) -> impl IntoView {
    let empty = sessions.is_empty();
    let rows = sessions
        .into_iter()
        .map(|s| {
            let url = StoredValue::new(format!("/api/v1/admin/sessions/{}", encode(&s.id)));
            let label = format!("End the {} session", s.device);
            view! {
                <tr data-testid="admin-session-row">
                    <td>{s.device.clone()}</td>
                    <td>{s.ip.clone().unwrap_or_else(|| "—".into())}</td>
                    <td>{short_time(&s.created_at)}</td>
                    <td>{short_time(&s.last_seen_at)}</td>
                    <td>
                        {if s.current {
                            view! { <span class="badge">"Your session"</span> }.into_any()
                        } else {
                            view! {
                                <button type="button" class="small" aria-label=label data-testid="session-revoke"
                                    disabled=move || actions.pending.get()
                                    on:click=move |_| actions.run(ApiCall::delete(url.get_value(), "Session ended."))>
                                    "End"
                                </button>
                            }.into_any()
                        }}
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section aria-labelledby="user-sessions">
            <h2 id="user-sessions">"Sessions"</h2>
            <DataTable columns=SESSION_COLUMNS is_empty=empty
                empty=Empty { text: "Not signed in anywhere.", test_id: "" }>
                {rows}
            </DataTable>
        </section>
    }
}

#[component]
fn Devices(devices: Vec<DeviceInfo>, actions: ActionState) -> impl IntoView {
    let empty = devices.is_empty();
    let rows = devices
        .into_iter()
        .map(|d| {
            view! {
                <tr data-testid="admin-device-row">
                    <td>{d.label.clone()}</td>
                    <td>{short_time(&d.registered_at)}</td>
                    <td>{d.last_seen_at.as_deref().map(short_time).unwrap_or_else(|| "—".into())}</td>
                    <td><ComplianceButton device=d actions=actions/></td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section aria-labelledby="user-devices">
            <h2 id="user-devices">"Devices"</h2>
            <DataTable columns=DEVICE_COLUMNS is_empty=empty
                empty=Empty { text: "No registered devices.", test_id: "" }>
                {rows}
            </DataTable>
        </section>
    }
}

const SESSION_COLUMNS: &[Column] = &[
    col("Device"),
    col("IP address"),
    col("Signed in"),
    col("Last active"),
    hidden_col("Actions"),
];

const DEVICE_COLUMNS: &[Column] = &[
    col("Label"),
    col("Registered"),
    col("Last seen"),
    col("Compliance"),
];
