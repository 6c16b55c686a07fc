//! Users: search by the start of a username or e-mail, one page at a time.
//! The search box is a plain GET form, so it works the same with and
//! without JavaScript. A prefix (not a substring) search, so it stays an
//! index walk with millions of users (`User::search` in the backend).

use super::{loading, query_param, user_href, AdminNav, LoadFailed};
use crate::components::data_table::{col, Column, DataTable, Empty, PageLink, Pager};
use crate::components::email_state::EmailState;
use crate::format::{query_string, short_time};
use crate::page_data::api_resource;
use leptos::prelude::*;
use leptos_meta::Title;
use wire::{AdminUserSummary, RoleGrantInfo, UserPage};

#[component]
pub fn UsersPage() -> impl IntoView {
    let (q, after, limit) = (query_param("q"), query_param("after"), query_param("limit"));
    let users = api_resource::<UserPage>(move || {
        let query = query_string(&[("q", &q()), ("after", &after()), ("limit", &limit())]);
        format!("/api/v1/admin/users{query}")
    });
    view! {
        <Title text="Users · Admin"/>
        <Transition fallback=loading>
            {move || Suspend::new(async move {
                match users.await {
                    Ok(page) => view! { <UsersView page=page q=q() limit=limit() paged=!after().is_empty()/> }.into_any(),
                    Err(e) => view! { <LoadFailed error=e/> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn UsersView(page: UserPage, q: String, limit: String, paged: bool) -> impl IntoView {
    let next = page.next.as_ref().map(|cursor| PageLink {
        href: format!(
            "/admin/users{}",
            query_string(&[("q", &q), ("after", cursor), ("limit", &limit)])
        ),
        text: "Next page",
        test_id: "next-page",
    });
    let first = paged.then(|| PageLink {
        href: format!(
            "/admin/users{}",
            query_string(&[("q", &q), ("limit", &limit)])
        ),
        text: "First page",
        test_id: "",
    });
    let pager = Pager {
        label: "Pages of users",
        first,
        next,
    };
    let search = move || {
        view! {
            <form method="get" action="/admin/users" class="filter-form" role="search">
                <div class="field">
                    <label for="user-search">"Search by username or e-mail"</label>
                    <input id="user-search" name="q" type="search" value=q.clone() autocomplete="off"
                        placeholder="user0000042 or ann@example" aria-describedby="user-search-help"
                        data-testid="user-search"/>
                    <p id="user-search-help" class="hint">
                        "Matches the start of a username, any case; with an @, the start of an e-mail address."
                    </p>
                </div>
                <button type="submit">"Search"</button>
            </form>
        }
    };
    view! {
        <AdminNav/>
        <h1>"Users"</h1>
        <DataTable columns=COLUMNS is_empty=page.users.is_empty() filter=search pager=pager
            empty=Empty { text: "No user matches.", test_id: "no-users" }>
            {page.users.into_iter().map(|u| view! { <UserRow user=u/> }).collect_view()}
        </DataTable>
    }
}

const COLUMNS: &[Column] = &[
    col("Username"),
    col("E-mail"),
    col("Roles"),
    col("Two-factor"),
    col("Sign-in"),
    col("Created"),
];

#[component]
fn UserRow(user: AdminUserSummary) -> impl IntoView {
    view! {
        <tr data-testid="user-row" data-user-id=user.id.clone()>
            <td><a href=user_href(&user.id)>{user.username.clone()}</a></td>
            <td>{user.email.clone()}<EmailState verified=user.email_verified/></td>
            <td><RoleList roles=user.roles.clone()/></td>
            <td>{if user.mfa_enabled { "On" } else { "Off" }}</td>
            <td>
                {match user.locked_until.as_deref() {
                    Some(until) => view! { <span class="badge warn">"Locked until " {short_time(until)}</span> }.into_any(),
                    None => view! { "Allowed" }.into_any(),
                }}
            </td>
            <td>{short_time(&user.created_at)}</td>
        </tr>
    }
}

/// Role names, time-bound grants marked with their end.
#[component]
pub fn RoleList(roles: Vec<RoleGrantInfo>) -> impl IntoView {
    if roles.is_empty() {
        return view! { <span class="hint">"none"</span> }.into_any();
    }
    view! {
        <ul class="chips">
            {roles.into_iter().map(|r| {
                let title = r.expires_at.as_deref().map(|t| format!("until {}", short_time(t)));
                view! {
                    <li class="chip">
                        {r.role}
                        {title.map(|t| view! { " " <span class="hint">{t}</span> })}
                    </li>
                }
            }).collect_view()}
        </ul>
    }
    .into_any()
}
