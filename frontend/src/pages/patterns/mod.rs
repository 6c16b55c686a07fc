//! The Patterns area (`/patterns/*`): one page per part of the security
//! architecture catalogue — what the pattern is and why, where it lives in
//! this code (`api::patterns`, checked by a backend test), and live
//! demonstrations against the running server (`components::demo_panel`).
//! Public pages: a reader who is not signed in reads everything, and the
//! demos that act as a user ask them to sign in.

pub mod anti_patterns;
pub mod api_security;
pub mod authentication;
pub mod data_protection;
pub mod defense_in_depth;
pub mod password_policy;
pub mod tools;
pub mod zero_trust;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use wire::patterns::{self, CodeRef};

/// One page of the area: its URL slug, its title and a one-line summary.
pub struct PageInfo {
    pub slug: &'static str,
    pub title: &'static str,
    pub summary: &'static str,
}

/// The pages, in reading order (the index and the side links use it).
pub const PAGES: &[PageInfo] = &[
    PageInfo {
        slug: "zero-trust",
        title: "Zero Trust",
        summary: "Never trust the network: every request is authenticated and authorised, by one enforcement point asking one decision point.",
    },
    PageInfo {
        slug: "defense-in-depth",
        title: "Defense in Depth",
        summary: "Five layers of controls, so one failing does not open the system; safe defaults everywhere.",
    },
    PageInfo {
        slug: "authentication",
        title: "Secure Authentication",
        summary: "OAuth 2.0 with PKCE, short-lived signed access tokens, and a second factor.",
    },
    PageInfo {
        slug: "api-security",
        title: "API Security",
        summary: "Validate every input, limit every caller, bind every value.",
    },
    PageInfo {
        slug: "data-protection",
        title: "Data Protection",
        summary: "Encrypt sensitive columns, and keep secrets out of the code.",
    },
    PageInfo {
        slug: "anti-patterns",
        title: "Anti-patterns",
        summary: "Obscurity, trusted client input, hard-coded secrets, chatty errors: the bad code beside the good, and the good holding live.",
    },
    PageInfo {
        slug: "tools",
        title: "Security Tools",
        summary: "The catalogue's tool reference, and the tool chain this project runs.",
    },
    PageInfo {
        slug: "password-policy",
        title: "Password Policy",
        summary: "Where the catalogue's composition rules and NIST SP 800-63B disagree; try a password under both.",
    },
];

fn info(slug: &str) -> Option<&'static PageInfo> {
    PAGES.iter().find(|p| p.slug == slug)
}

fn code_refs(slug: &str) -> &'static [CodeRef] {
    patterns::ALL
        .iter()
        .find(|(s, _)| *s == slug)
        .map_or(&[], |(_, refs)| *refs)
}

/// `/patterns`: the list of pages.
#[component]
pub fn PatternsIndexPage() -> impl IntoView {
    view! {
        <Title text="Security patterns"/>
        <h1>"Security patterns"</h1>
        <p>
            "Each page takes one part of the security architecture catalogue this app is built "
            "from: what the pattern is and why it matters, where it lives in this code (file and "
            "function, kept true by a test), and live demonstrations that send real requests to "
            "this server and show the request, the response and the audit entry they produced."
        </p>
        <ul class="pattern-index" data-testid="patterns-index">
            {PAGES.iter().map(|p| view! {
                <li>
                    <A href=format!("/patterns/{}", p.slug)><strong>{p.title}</strong></A>
                    <br/>
                    <span class="hint">{p.summary}</span>
                </li>
            }).collect_view()}
        </ul>
    }
}

/// The frame of every pattern page: title, the back link, the sections
/// (children) and the "Where it lives in this code" list.
#[component]
pub fn PatternLayout(slug: &'static str, children: Children) -> impl IntoView {
    let title = info(slug).map_or("Security pattern", |p| p.title);
    view! {
        <Title text=format!("{title} · Security patterns")/>
        <nav class="breadcrumbs" aria-label="Breadcrumb">
            <A href="/patterns">"Security patterns"</A> " › " {title}
        </nav>
        <article class="pattern" data-testid=format!("pattern-{slug}")>
            <h1>{title}</h1>
            {children()}
            <CodeRefs refs=code_refs(slug)/>
        </article>
        <nav class="pattern-pages" aria-label="Other patterns">
            {PAGES.iter().filter(|p| p.slug != slug).map(|p| view! {
                <A href=format!("/patterns/{}", p.slug)>{p.title}</A>
            }).collect_view()}
        </nav>
    }
}

/// The "Where it lives in this code" list.
#[component]
fn CodeRefs(refs: &'static [CodeRef]) -> impl IntoView {
    view! {
        <section aria-labelledby="where-it-lives">
            <h2 id="where-it-lives">"Where it lives in this code"</h2>
            <dl class="details code-refs" data-testid="code-refs">
                {refs.iter().map(|r| view! {
                    <dt><code>{r.path}</code></dt>
                    <dd><code>{r.symbol}</code>" — "{r.why}</dd>
                }).collect_view()}
            </dl>
        </section>
    }
}

/// A table from static rows: a header row and the body.
#[component]
pub fn StaticTable(
    head: &'static [&'static str],
    rows: &'static [&'static [&'static str]],
) -> impl IntoView {
    view! {
        <div class="table-wrap">
            <table class="data-table">
                <thead><tr>{head.iter().map(|h| view! { <th scope="col">{*h}</th> }).collect_view()}</tr></thead>
                <tbody>
                    {rows.iter().map(|row| view! {
                        <tr>{row.iter().map(|c| view! { <td>{*c}</td> }).collect_view()}</tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_page_has_code_refs_and_a_unique_slug() {
        for (i, p) in PAGES.iter().enumerate() {
            assert!(!code_refs(p.slug).is_empty(), "{} has no code refs", p.slug);
            assert!(PAGES[i + 1..].iter().all(|q| q.slug != p.slug));
        }
        assert_eq!(PAGES.len(), patterns::ALL.len());
    }
}
