//! One way to show a list of records: an optional filter form, a line when
//! nothing matches, the table with its column headings, and the pager. The
//! audit log, the decisions, the users, the devices and the sessions tables
//! all go through it, so they look, scroll and page alike, and a change to
//! how a table is marked up (headings' `scope`, the scrolling wrapper, the
//! pager's landmark) is made once.

use crate::format::query_string;
use leptos::prelude::*;

/// A column heading. A hidden one is still read by screen readers (an
/// "Actions" column whose cells are buttons).
#[derive(Clone, Copy)]
pub struct Column {
    label: &'static str,
    hidden: bool,
}

pub const fn col(label: &'static str) -> Column {
    Column {
        label,
        hidden: false,
    }
}

pub const fn hidden_col(label: &'static str) -> Column {
    Column {
        label,
        hidden: true,
    }
}

/// What the table says when it has no row: the text, and the `data-testid`
/// the browser tests look for (empty: none).
#[derive(Clone, Copy)]
pub struct Empty {
    pub text: &'static str,
    pub test_id: &'static str,
}

/// A link of the pager: where it goes, its text, and its `data-testid`
/// (empty: none).
#[derive(Clone)]
pub struct PageLink {
    pub href: String,
    pub text: &'static str,
    pub test_id: &'static str,
}

/// The pager under a table: back to the first (or newest) page and on to
/// the next (or older) one, each present only when there is such a page.
#[derive(Clone, Default)]
pub struct Pager {
    /// The `aria-label` of the pager's `<nav>` ("Pages of users").
    pub label: &'static str,
    pub first: Option<PageLink>,
    pub next: Option<PageLink>,
}

impl Pager {
    /// The pager of a newest-first list paged by a keyset cursor
    /// (`before=<id>`): "Newest" once paged, "Older" while there is more.
    /// `path` is the page, `filters` the query pairs in force.
    pub fn newest_first(
        label: &'static str,
        path: &str,
        filters: &[(&str, &str)],
        paged: bool,
        next: Option<i64>,
    ) -> Self {
        let first = paged.then(|| PageLink {
            href: format!("{path}{}", query_string(filters)),
            text: "Newest",
            test_id: "",
        });
        let next = next.map(|id| {
            let id = id.to_string();
            let mut pairs = filters.to_vec();
            pairs.push(("before", &id));
            PageLink {
                href: format!("{path}{}", query_string(&pairs)),
                text: "Older",
                test_id: "older-page",
            }
        });
        Self { label, first, next }
    }
}

#[component]
pub fn DataTable(
    columns: &'static [Column],
    /// Whether there are no rows; with `empty` set, its text is shown.
    is_empty: bool,
    #[prop(optional)] empty: Option<Empty>,
    /// The table's class: `data-table` (admin pages) unless given.
    #[prop(optional)]
    class: Option<&'static str>,
    /// A filter form shown above the table.
    #[prop(optional, into)]
    filter: Option<ViewFn>,
    /// No pager when `None` (a list that is never paged).
    #[prop(optional)]
    pager: Option<Pager>,
    /// The rows (`<tr>` elements).
    children: Children,
) -> impl IntoView {
    let headings = columns
        .iter()
        .map(|c| {
            if c.hidden {
                view! { <th scope="col"><span class="visually-hidden">{c.label}</span></th> }
                    .into_any()
            } else {
                view! { <th scope="col">{c.label}</th> }.into_any()
            }
        })
        .collect_view();
    // With nothing to show, the text says so and the table (still in the
    // page, for the browser to fill) is hidden.
    let hide_table = is_empty && empty.is_some();
    let empty_line = empty.filter(|_| is_empty).map(|e| {
        let test_id = (!e.test_id.is_empty()).then_some(e.test_id);
        view! { <p data-testid=test_id>{e.text}</p> }
    });
    let pager = pager.map(|p| {
        let link = |l: PageLink| {
            let test_id = (!l.test_id.is_empty()).then_some(l.test_id);
            view! { <a href=l.href data-testid=test_id>{l.text}</a> }
        };
        view! {
            <nav class="pager" aria-label=p.label>
                {p.first.map(link)}
                {p.next.map(link)}
            </nav>
        }
    });
    view! {
        {filter.map(|f| f.run())}
        {empty_line}
        <div class="table-wrap" class:hidden=hide_table>
            <table class=class.unwrap_or("data-table")>
                <thead><tr>{headings}</tr></thead>
                <tbody>{children()}</tbody>
            </table>
        </div>
        {pager}
    }
}
