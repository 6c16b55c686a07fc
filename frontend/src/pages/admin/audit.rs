//! The audit log: security events, newest first, filtered by action.

use super::decisions::{short_id, FilterInput};
use super::{loading, query_param, user_href, AdminNav, LoadFailed};
use crate::api::{AuditEntryInfo, AuditPage};
use crate::format::{query_string, short_time};
use crate::page_data::api_resource;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn AuditLogPage() -> impl IntoView {
    let (action, before) = (query_param("action"), query_param("before"));
    let entries = api_resource::<AuditPage>(move || {
        let query = query_string(&[("action", &action()), ("before", &before())]);
        format!("/api/v1/admin/audit{query}")
    });
    view! {
        <Title text="Audit log · Admin"/>
        <Transition fallback=loading>
            {move || Suspend::new(async move {
                match entries.await {
                    Ok(page) => view! { <AuditView page=page action=action() paged=!before().is_empty()/> }.into_any(),
                    Err(e) => view! { <LoadFailed error=e/> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn AuditView(page: AuditPage, action: String, paged: bool) -> impl IntoView {
    let newest = paged.then(|| format!("/admin/audit{}", query_string(&[("action", &action)])));
    let older = page.next.map(|id| {
        format!(
            "/admin/audit{}",
            query_string(&[("action", &action), ("before", &id.to_string())])
        )
    });
    let empty = page.entries.is_empty();
    view! {
        <AdminNav/>
        <h1>"Audit log"</h1>
        <form method="get" action="/admin/audit" class="filter-form" role="search"
            aria-label="Filter the audit log">
            <FilterInput name="action" label="Action" value=action placeholder="login.failed"/>
            <button type="submit">"Filter"</button>
        </form>
        {empty.then(|| view! { <p data-testid="no-audit">"No entry matches."</p> })}
        <div class="table-wrap">
            <table class="data-table">
                <thead>
                    <tr>
                        <th scope="col">"Time"</th>
                        <th scope="col">"Actor"</th>
                        <th scope="col">"Action"</th>
                        <th scope="col">"Target"</th>
                        <th scope="col">"Outcome"</th>
                        <th scope="col">"IP address"</th>
                        <th scope="col">"Request id"</th>
                        <th scope="col">"Details"</th>
                    </tr>
                </thead>
                <tbody>
                    {page.entries.into_iter().map(|e| view! { <AuditRow entry=e/> }).collect_view()}
                </tbody>
            </table>
        </div>
        <nav class="pager" aria-label="Pages of the audit log">
            {newest.map(|href| view! { <a href=href>"Newest"</a> })}
            {older.map(|href| view! { <a href=href data-testid="older-page">"Older"</a> })}
        </nav>
    }
}

#[component]
fn AuditRow(entry: AuditEntryInfo) -> impl IntoView {
    let e = entry;
    // `{}` and empty details say nothing: leave the cell blank.
    let detail = (!matches!(e.detail.trim(), "" | "{}")).then_some(e.detail.clone());
    view! {
        <tr data-testid="audit-row" data-action=e.action.clone()>
            <td>{short_time(&e.occurred_at)}</td>
            <td>{actor_cell(e.actor.as_deref())}</td>
            <td><code>{e.action.clone()}</code></td>
            <td>{e.target.clone().map(|t| view! { <code class="detail">{t}</code> })}</td>
            <td>{e.outcome.clone()}</td>
            <td>{e.client_ip.clone().unwrap_or_else(|| "—".into())}</td>
            <td><code>{e.request_id.clone().unwrap_or_default()}</code></td>
            <td>{detail.map(|d| view! { <code class="detail">{d}</code> })}</td>
        </tr>
    }
}

/// Actors are user ids: shortened, linked to the user. (Targets may be
/// sessions or devices too, so they are shown whole and unlinked.)
fn actor_cell(id: Option<&str>) -> AnyView {
    match id {
        Some(id) => {
            let (href, short) = (user_href(id), short_id(id));
            view! { <a href=href><code>{short}</code></a> }.into_any()
        }
        None => view! { "—" }.into_any(),
    }
}
