//! The server log: this instance's most recent log lines, searchable by the
//! request id an error showed its user (a plain GET form, no JavaScript
//! needed). A 500 tells the user only "internal error" and an id; the cause
//! is here, for admins and auditors.

use super::decisions::FilterInput;
use super::{loading, query_param, AdminNav, LoadFailed};
use crate::format::{query_string, short_time};
use crate::page_data::api_resource;
use leptos::prelude::*;
use leptos_meta::Title;
use wire::{LogLineInfo, LogsResponse};

#[component]
pub fn LogsPage() -> impl IntoView {
    let request_id = query_param("request_id");
    let level = query_param("level");
    let logs = api_resource::<LogsResponse>(move || {
        format!(
            "/api/v1/admin/logs{}",
            query_string(&[("request_id", &request_id()), ("level", &level())])
        )
    });
    view! {
        <Title text="Server log · Admin"/>
        <Transition fallback=loading>
            {move || Suspend::new(async move {
                match logs.await {
                    Ok(l) => view! { <LogsView logs=l request_id=request_id() level=level()/> }.into_any(),
                    Err(e) => view! { <LoadFailed error=e/> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn LogsView(logs: LogsResponse, request_id: String, level: String) -> impl IntoView {
    let empty = logs.lines.is_empty();
    let option = move |value: &'static str, text: &'static str| {
        view! { <option value=value selected=level == value>{text}</option> }
    };
    view! {
        <AdminNav/>
        <h1>"Server log"</h1>
        <p>
            "The newest lines this server instance wrote to its log (it keeps the last "
            {logs.capacity} "). An error page or response shows its user only a request id; "
            "paste it here to see what went wrong. With several instances, each keeps its own."
        </p>
        <form method="get" action="/admin/logs" class="filter-form" role="search"
            aria-label="Search the server log">
            <FilterInput name="request_id" label="Request id" value=request_id
                placeholder="from an error or the X-Request-Id header"/>
            <div class="field">
                <label for="filter-level">"Level"</label>
                <select id="filter-level" name="level" data-testid="filter-level">
                    {option("", "Any")}
                    {option("error", "Errors")}
                    {option("warn", "Warnings and errors")}
                    {option("info", "Info and above")}
                </select>
            </div>
            <button type="submit">"Search"</button>
        </form>
        {empty.then(|| view! { <p data-testid="no-logs">"No line matches."</p> })}
        <div class="table-wrap">
            <table class="data-table">
                <thead>
                    <tr>
                        <th scope="col">"Time"</th>
                        <th scope="col">"Level"</th>
                        <th scope="col">"Request id"</th>
                        <th scope="col">"Line"</th>
                    </tr>
                </thead>
                <tbody>
                    {logs.lines.into_iter().map(|l| view! { <LogRow line=l/> }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

#[component]
fn LogRow(line: LogLineInfo) -> impl IntoView {
    let href = line
        .request_id
        .as_deref()
        .map(|id| format!("/admin/logs{}", query_string(&[("request_id", id)])));
    let level = line.level;
    let data_level = level.clone();
    view! {
        <tr data-testid="log-row" data-level=data_level>
            <td>{short_time(&line.time)}</td>
            <td>{level}</td>
            <td>
                {match (href, line.request_id) {
                    (Some(href), Some(id)) => view! { <a href=href><code>{id}</code></a> }.into_any(),
                    _ => view! { <span class="hint">"—"</span> }.into_any(),
                }}
            </td>
            <td><code class="log-text">{line.text}</code></td>
        </tr>
    }
}
