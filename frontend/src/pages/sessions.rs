//! "Sessions": every place I am signed in, with a way to end any of them.
//! The buttons are plain forms, so they work with and without JavaScript.

use crate::components::data_table::{col, hidden_col, Column, DataTable};
use crate::format::short_time;
use crate::page_data::sessions_resource;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

#[component]
pub fn SessionsPage() -> impl IntoView {
    let sessions = sessions_resource();
    view! {
        <Title text="Sessions"/>
        <h1>"Sessions"</h1>
        <p>
            "Everywhere you are signed in. Revoke a session you do not recognise: "
            "that device is signed out on its next request."
        </p>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match sessions.await {
                    None => view! {
                        <p>"You are not signed in. " <A href="/login">"Log in"</A> " to see your sessions."</p>
                    }.into_any(),
                    Some(list) => view! {
                        <DataTable columns=COLUMNS is_empty=false class="sessions">
                            {list.into_iter().map(|s| {
                                let action = format!("/auth/sessions/{}/revoke", s.id);
                                let label = format!("Revoke {} session", s.device);
                                view! {
                                    <tr data-testid="session-row" data-current=s.current.to_string()>
                                        <td>
                                            {s.device.clone()}
                                            {s.current.then(|| view! { " " <span class="badge">"This device"</span> })}
                                        </td>
                                        <td>{s.ip.unwrap_or_else(|| "—".into())}</td>
                                        <td>{short_time(&s.created_at)}</td>
                                        <td>{short_time(&s.last_seen_at)}</td>
                                        <td>
                                            {(!s.current).then(|| view! {
                                                <form method="post" action=action class="inline-form">
                                                    <button type="submit" class="small" aria-label=label>"Revoke"</button>
                                                </form>
                                            })}
                                        </td>
                                    </tr>
                                }
                            }).collect_view()}
                        </DataTable>
                        <form method="post" action="/auth/sessions/revoke-others">
                            <button type="submit" class="secondary-button">"Log out everywhere else"</button>
                        </form>
                    }.into_any(),
                }
            })}
        </Suspense>
        <p><A href="/account">"Back to your account"</A></p>
    }
}

const COLUMNS: &[Column] = &[
    col("Device"),
    col("IP address"),
    col("Signed in"),
    col("Last active"),
    hidden_col("Actions"),
];
