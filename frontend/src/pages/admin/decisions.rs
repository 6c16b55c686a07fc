//! Access decisions: what the policy decision point allowed and refused,
//! newest first, filtered by a plain GET form (no JavaScript needed).

use super::{loading, query_param, user_href, AdminNav, LoadFailed};
use crate::components::data_table::{col, Column, DataTable, Empty, Pager};
use crate::format::{query_string, short_time, to_rfc3339};
use crate::page_data::api_resource;
use leptos::prelude::*;
use leptos_meta::Title;
use wire::{DecisionInfo, DecisionPage};

/// The filters, as the page's URL and the API both name them.
#[derive(Clone, Default)]
struct Filters {
    user: String,
    route: String,
    outcome: String,
    reason: String,
    from: String,
    to: String,
}

impl Filters {
    fn pairs(&self) -> [(&'static str, &str); 6] {
        [
            ("user", &self.user),
            ("route", &self.route),
            ("outcome", &self.outcome),
            ("reason", &self.reason),
            ("from", &self.from),
            ("to", &self.to),
        ]
    }
}

#[component]
pub fn DecisionsPage() -> impl IntoView {
    let params = [
        query_param("user"),
        query_param("route"),
        query_param("outcome"),
        query_param("reason"),
        query_param("from"),
        query_param("to"),
    ];
    let before = query_param("before");
    let filters = move || {
        let [user, route, outcome, reason, from, to] = params.map(|p| p());
        Filters {
            user,
            route,
            outcome,
            reason,
            from,
            to,
        }
    };
    let decisions = api_resource::<DecisionPage>(move || {
        let f = filters();
        // The API takes RFC 3339; a date or "date time" typed here is completed.
        let (from, to) = (to_rfc3339(&f.from), to_rfc3339(&f.to));
        let before = before();
        let mut pairs = f.pairs().to_vec();
        pairs.retain(|(k, _)| *k != "from" && *k != "to");
        pairs.extend([
            ("from", from.as_str()),
            ("to", to.as_str()),
            ("before", before.as_str()),
        ]);
        format!("/api/v1/admin/decisions{}", query_string(&pairs))
    });
    view! {
        <Title text="Access decisions · Admin"/>
        <Transition fallback=loading>
            {move || Suspend::new(async move {
                match decisions.await {
                    Ok(page) => view! { <DecisionsView page=page filters=filters() paged=!before().is_empty()/> }.into_any(),
                    Err(e) => view! { <LoadFailed error=e/> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn DecisionsView(page: DecisionPage, filters: Filters, paged: bool) -> impl IntoView {
    let pager = Pager::newest_first(
        "Pages of decisions",
        "/admin/decisions",
        &filters.pairs(),
        paged,
        page.next,
    );
    view! {
        <AdminNav/>
        <h1>"Access decisions"</h1>
        <p>"Every request to a protected route is decided by the access policy; denials say why."</p>
        <DataTable columns=COLUMNS is_empty=page.decisions.is_empty() filter=move || view! { <FilterForm filters=filters.clone()/> } pager=pager
            empty=Empty { text: "No decision matches these filters.", test_id: "no-decisions" }>
            {page.decisions.into_iter().map(|e| view! { <DecisionRow decision=e/> }).collect_view()}
        </DataTable>
    }
}

const COLUMNS: &[Column] = &[
    col("Time"),
    col("User"),
    col("Request"),
    col("Outcome"),
    col("Reason"),
    col("IP address"),
    col("Device"),
    col("Request id"),
];

#[component]
fn FilterForm(filters: Filters) -> impl IntoView {
    let outcome = filters.outcome.clone();
    let option = move |value: &'static str, text: &'static str| {
        view! { <option value=value selected=outcome == value>{text}</option> }
    };
    view! {
        <form method="get" action="/admin/decisions" class="filter-form" role="search"
            aria-label="Filter decisions">
            <FilterInput name="user" label="User id" value=filters.user/>
            <FilterInput name="route" label="Route" value=filters.route/>
            <div class="field">
                <label for="filter-outcome">"Outcome"</label>
                <select id="filter-outcome" name="outcome" data-testid="filter-outcome">
                    {option("", "Any")}
                    {option("allow", "Allowed")}
                    {option("deny", "Denied")}
                </select>
            </div>
            <FilterInput name="reason" label="Reason" value=filters.reason/>
            <FilterInput name="from" label="From (UTC)" value=filters.from placeholder="2026-11-28T09:00"/>
            <FilterInput name="to" label="To (UTC)" value=filters.to placeholder="2026-11-28T18:00"/>
            <button type="submit">"Filter"</button>
        </form>
    }
}

/// A labelled text input of a filter form, showing the value in force.
#[component]
pub fn FilterInput(
    name: &'static str,
    label: &'static str,
    value: String,
    #[prop(optional)] placeholder: &'static str,
) -> impl IntoView {
    let id = format!("filter-{name}");
    view! {
        <div class="field">
            <label for=id.clone()>{label}</label>
            <input id=id name=name type="text" value=value autocomplete="off"
                placeholder=placeholder data-testid=format!("filter-{name}")/>
        </div>
    }
}

#[component]
fn DecisionRow(decision: DecisionInfo) -> impl IntoView {
    let d = decision;
    let allowed = d.outcome == "allow";
    view! {
        <tr data-testid="decision-row" data-outcome=d.outcome.clone()>
            <td>{short_time(&d.decided_at)}</td>
            <td>
                {match d.user_id.as_deref() {
                    Some(id) => {
                        let (href, short) = (user_href(id), short_id(id));
                        view! { <a href=href><code>{short}</code></a> }.into_any()
                    }
                    None => view! { <span class="hint">"anonymous"</span> }.into_any(),
                }}
            </td>
            <td><code>{d.method.clone()} " " {d.route.clone()}</code></td>
            <td>
                <span class=if allowed { "badge" } else { "badge danger" }>
                    {if allowed { "allowed" } else { "denied" }}
                </span>
            </td>
            <td>{d.reason.clone()}</td>
            <td>{d.client_ip.clone().unwrap_or_else(|| "—".into())}</td>
            <td>{d.device_id.as_deref().map(short_id).unwrap_or_else(|| "—".into())}</td>
            <td><code>{d.request_id.clone().unwrap_or_default()}</code></td>
        </tr>
    }
}

/// The first 8 characters of an id: enough to tell rows apart, the full id
/// is in the link.
pub fn short_id(id: &str) -> String {
    id.chars().take(8).collect()
}
