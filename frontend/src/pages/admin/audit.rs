//! The audit log: security events, newest first, filtered by actor, action,
//! outcome and time with a plain GET form (no JavaScript needed), exported
//! as CSV, each row expandable to its details. The "verify" button asks the
//! server to walk the log's hash chain (it needs the wasm).

use super::decisions::{short_id, FilterInput};
use super::{loading, query_param, user_href, AdminNav, LoadFailed};
use crate::components::action::NeedsScript;
use crate::components::data_table::{col, Column, DataTable, Empty, Pager};
use crate::format::{query_string, short_time, to_rfc3339};
use crate::page_data::api_resource;
use leptos::prelude::*;
use leptos_meta::Title;
use wire::{AuditEntryInfo, AuditPage};

/// The filters, as the page's URL and the API both name them.
#[derive(Clone, Default)]
struct Filters {
    actor: String,
    action: String,
    outcome: String,
    from: String,
    to: String,
}

impl Filters {
    fn pairs(&self) -> [(&'static str, &str); 5] {
        [
            ("actor", &self.actor),
            ("action", &self.action),
            ("outcome", &self.outcome),
            ("from", &self.from),
            ("to", &self.to),
        ]
    }

    /// The query of the API (page and CSV): times completed to RFC 3339.
    fn api_query(&self, before: &str) -> String {
        let (from, to) = (to_rfc3339(&self.from), to_rfc3339(&self.to));
        query_string(&[
            ("actor", &self.actor),
            ("action", &self.action),
            ("outcome", &self.outcome),
            ("from", &from),
            ("to", &to),
            ("before", before),
        ])
    }
}

#[component]
pub fn AuditLogPage() -> impl IntoView {
    let params = [
        query_param("actor"),
        query_param("action"),
        query_param("outcome"),
        query_param("from"),
        query_param("to"),
    ];
    let before = query_param("before");
    let filters = move || {
        let [actor, action, outcome, from, to] = params.map(|p| p());
        Filters {
            actor,
            action,
            outcome,
            from,
            to,
        }
    };
    let entries = api_resource::<AuditPage>(move || {
        format!("/api/v1/admin/audit{}", filters().api_query(&before()))
    });
    view! {
        <Title text="Audit log · Admin"/>
        <Transition fallback=loading>
            {move || Suspend::new(async move {
                match entries.await {
                    Ok(page) => view! { <AuditView page=page filters=filters() paged=!before().is_empty()/> }.into_any(),
                    Err(e) => view! { <LoadFailed error=e/> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn AuditView(page: AuditPage, filters: Filters, paged: bool) -> impl IntoView {
    let pager = Pager::newest_first(
        "Pages of the audit log",
        "/admin/audit",
        &filters.pairs(),
        paged,
        page.next,
    );
    let csv = format!("/api/v1/admin/audit.csv{}", filters.api_query(""));
    // The filters, and the export of what they select.
    let filter = move || {
        view! {
            <FilterForm filters=filters.clone()/>
            <p>
                <a href=csv.clone() download="audit-log.csv" data-testid="audit-csv">"Download these entries as CSV"</a>
                <span class="hint">" (newest first, up to 10,000)"</span>
            </p>
        }
    };
    view! {
        <AdminNav/>
        <h1>"Audit log"</h1>
        <VerifyChain/>
        <DataTable columns=COLUMNS is_empty=page.entries.is_empty() filter=filter pager=pager
            empty=Empty { text: "No entry matches.", test_id: "no-audit" }>
            {page.entries.into_iter().map(|e| view! { <AuditRow entry=e/> }).collect_view()}
        </DataTable>
    }
}

const COLUMNS: &[Column] = &[
    col("#"),
    col("Time"),
    col("Actor"),
    col("Action"),
    col("Target"),
    col("Outcome"),
    col("IP address"),
    col("Request id"),
    col("Details"),
];

#[component]
fn FilterForm(filters: Filters) -> impl IntoView {
    let outcome = filters.outcome.clone();
    let option = move |value: &'static str, text: &'static str| {
        view! { <option value=value selected=outcome == value>{text}</option> }
    };
    view! {
        <form method="get" action="/admin/audit" class="filter-form" role="search"
            aria-label="Filter the audit log">
            <FilterInput name="actor" label="Actor (user id)" value=filters.actor/>
            <FilterInput name="action" label="Action" value=filters.action placeholder="auth.login"/>
            <div class="field">
                <label for="filter-outcome">"Outcome"</label>
                <select id="filter-outcome" name="outcome" data-testid="filter-outcome">
                    {option("", "Any")}
                    {option("success", "Success")}
                    {option("failure", "Failure")}
                    {option("denied", "Denied")}
                </select>
            </div>
            <FilterInput name="from" label="From (UTC)" value=filters.from placeholder="2026-11-28T09:00"/>
            <FilterInput name="to" label="To (UTC)" value=filters.to placeholder="2026-11-28T18:00"/>
            <button type="submit">"Filter"</button>
        </form>
    }
}

/// The integrity check: the server walks the hash chain and names the
/// first broken entry.
#[component]
fn VerifyChain() -> impl IntoView {
    // `Ok(summary, intact)` or the reason the check could not run.
    let result = RwSignal::new(None::<Result<(String, bool), String>>);
    let pending = RwSignal::new(false);
    let verify = move |_| {
        #[cfg(feature = "hydrate")]
        {
            pending.set(true);
            result.set(None);
            leptos::task::spawn_local(async move {
                let answer = crate::client::post_json_for::<_, wire::AuditVerifyResult>(
                    "/api/v1/admin/audit/verify",
                    &serde_json::json!({}),
                )
                .await;
                pending.set(false);
                result.set(Some(
                    answer
                        .map(|r| (r.summary(), r.ok))
                        .map_err(|e| crate::components::action::explain(&e)),
                ));
            });
        }
    };
    let class = move || match result.get() {
        Some(Ok((_, true))) => "verify-result verify-ok",
        Some(Ok((_, false))) | Some(Err(_)) => "verify-result verify-broken",
        None => "verify-result",
    };
    let text = move || match result.get() {
        Some(Ok((summary, _))) => summary,
        Some(Err(e)) => format!("The check could not run: {e}"),
        None => String::new(),
    };
    view! {
        <section class="audit-verify" aria-labelledby="audit-verify-title">
            <h2 id="audit-verify-title">"Integrity"</h2>
            <p class="hint">
                "Each entry carries a hash of its content and of the entry before it, so a \
                 changed or deleted entry breaks the chain."
            </p>
            <NeedsScript/>
            <button type="button" data-testid="audit-verify" disabled=move || pending.get()
                on:click=verify>
                {move || if pending.get() { "Verifying…" } else { "Verify the chain" }}
            </button>
            <p role="status" class=class data-testid="audit-verify-result">{text}</p>
        </section>
    }
}

#[component]
fn AuditRow(entry: AuditEntryInfo) -> impl IntoView {
    let e = entry;
    let outcome_class = match e.outcome.as_str() {
        "success" => "badge",
        "failure" => "badge warn",
        _ => "badge danger",
    };
    view! {
        <tr data-testid="audit-row" data-action=e.action.clone() data-id=e.id.to_string()>
            <td><code>{e.id}</code></td>
            <td>{short_time(&e.occurred_at)}</td>
            <td>{actor_cell(e.actor.as_deref())}</td>
            <td><code>{e.action.clone()}</code></td>
            <td>{e.target.clone().map(|t| view! { <code class="detail">{t}</code> })}</td>
            <td><span class=outcome_class>{e.outcome.clone()}</span></td>
            <td>{e.client_ip.clone().unwrap_or_else(|| "—".into())}</td>
            <td><code>{e.request_id.clone().unwrap_or_default()}</code></td>
            <td><DetailCell detail=e.detail hash=e.hash/></td>
        </tr>
    }
}

/// The detail JSON, one line in the table; expanded, pretty-printed with
/// the entry's hash (a `<details>` element: no script needed).
#[component]
fn DetailCell(detail: String, hash: Option<String>) -> impl IntoView {
    // `{}` and empty details say nothing.
    let has_detail = !matches!(detail.trim(), "" | "{}");
    if !has_detail && hash.is_none() {
        return ().into_any();
    }
    let summary = if has_detail {
        shorten(detail.trim(), 60)
    } else {
        "hash".to_owned()
    };
    let pretty = has_detail.then(|| pretty_json(&detail));
    view! {
        <details class="audit-detail" data-testid="audit-detail">
            <summary><code class="detail">{summary}</code></summary>
            {pretty.map(|p| view! { <pre class="audit-json">{p}</pre> })}
            {hash.map(|h| view! { <p class="hint">"Hash " <code class="detail">{h}</code></p> })}
        </details>
    }
    .into_any()
}

/// The detail indented, or as it is when it is not JSON.
fn pretty_json(detail: &str) -> String {
    serde_json::from_str::<serde_json::Value>(detail)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| detail.to_owned())
}

/// At most `max` characters, with "…" when cut.
fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let mut cut: String = text.chars().take(max).collect();
        cut.push('…');
        cut
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn details_are_pretty_printed_when_they_are_json() {
        assert_eq!(pretty_json(r#"{"a":1}"#), "{\n  \"a\": 1\n}");
        assert_eq!(pretty_json("not json"), "not json");
    }

    #[test]
    fn long_summaries_are_cut() {
        assert_eq!(shorten("abc", 5), "abc");
        assert_eq!(shorten("abcdef", 3), "abc…");
    }

    #[test]
    fn the_csv_link_carries_the_filters_in_rfc3339() {
        let f = Filters {
            actor: "u1".into(),
            outcome: "denied".into(),
            from: "2026-11-28".into(),
            ..Default::default()
        };
        assert_eq!(
            f.api_query(""),
            "?actor=u1&outcome=denied&from=2026-11-28T00%3A00%3A00Z"
        );
    }
}
