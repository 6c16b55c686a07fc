//! A live demonstration against the running server, for the Patterns area:
//! one button that sends a real request, then shows the request, the
//! response (status, the headers that matter, the body) and the audit entry
//! it produced (the newest matching one in `GET /api/v1/me/activity`).
//!
//! Needs the wasm; without it the panel shows its explanation and a hint.
//! Demos that act as the signed-in user say "sign in to try this" to a
//! reader who is not.

use crate::page_data::use_current_user;
use leptos::prelude::*;
use leptos_router::components::A;
use wire::ActivityEntry;

/// The demonstrations there are. Each knows what it sends and which audit
/// actions it may leave behind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Demo {
    /// `GET /api/v1/me/token`: my own access token, decoded by the server.
    Token,
    /// A managed-device route asked with an unregistered `X-Device-ID`.
    ManagedDevice,
    /// Six calls to a route limited to five per minute.
    RateLimit,
    /// A page's response headers (the CSP among them).
    Headers,
    /// The demo search with the reader's text (an injection string by default).
    Search,
    /// A request that fails inside the server.
    Fail,
    /// An admin API call with a forged `X-Is-Admin: true` header.
    ForgedHeader,
    /// Both password policies' verdicts on the reader's candidate.
    PolicyCheck,
    /// My SSN as the API shows it: decrypted only to be masked.
    SsnMasked,
}

impl Demo {
    /// Names the panel in `data-testid`s: `demo-<slug>-…`.
    pub fn slug(self) -> &'static str {
        match self {
            Self::Token => "token",
            Self::ManagedDevice => "device",
            Self::RateLimit => "rate-limit",
            Self::Headers => "headers",
            Self::Search => "search",
            Self::Fail => "fail",
            Self::ForgedHeader => "forged-header",
            Self::PolicyCheck => "password",
            Self::SsnMasked => "ssn",
        }
    }

    fn button(self) -> &'static str {
        match self {
            Self::Token => "Decode my access token",
            Self::ManagedDevice => "Send from an unregistered device",
            Self::RateLimit => "Call six times",
            Self::Headers => "Fetch a page and show its headers",
            Self::Search => "Search",
            Self::Fail => "Make the server fail",
            Self::ForgedHeader => "Send X-Is-Admin: true",
            Self::PolicyCheck => "Check under both policies",
            Self::SsnMasked => "Read my SSN field",
        }
    }

    /// Whether the demo acts as the signed-in user.
    pub fn needs_identity(self) -> bool {
        !matches!(self, Self::Headers | Self::PolicyCheck)
    }

    /// A text field the reader fills in: its label, its first value and
    /// whether it is a password field.
    fn input(self) -> Option<(&'static str, &'static str, bool)> {
        match self {
            Self::Search => Some(("Search text", "' OR '1'='1", false)),
            Self::PolicyCheck => Some(("Candidate password", "", true)),
            _ => None,
        }
    }

    /// The audit actions this demo may leave in my activity.
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    fn audit_actions(self) -> &'static [&'static str] {
        match self {
            Self::ManagedDevice => &["access.denied"],
            Self::ForgedHeader => &["access.forged_header"],
            _ => &[],
        }
    }

    /// Why there is no audit entry to show, for the demos that leave none.
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    fn no_audit_reason(self) -> &'static str {
        match self {
            Self::Token | Self::Search | Self::Headers | Self::SsnMasked => {
                "Allowed reads are counted per route and minute in the decisions feed, \
                 not written to the audit log one by one."
            }
            Self::RateLimit => {
                "Rate-limit hits are counted and written once a minute as one \
                 rate_limit.exceeded event per limit, so a flood does not flood the log."
            }
            Self::Fail => {
                "The failure is in the server log under the request id; the allowed \
                 request is in the decisions feed."
            }
            Self::PolicyCheck => {
                "Nothing is recorded: the candidate password is neither stored, logged nor audited."
            }
            Self::ManagedDevice | Self::ForgedHeader => "No matching entry in your activity.",
        }
    }
}

/// What a demonstration sent and got back.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DemoReport {
    /// The request as text: request line, the headers that matter, the body.
    pub request: String,
    /// The status, or `None` when the server could not be reached.
    pub status: Option<u16>,
    /// The response as text: status line, the headers that matter, the body.
    pub response: String,
    /// The audit entry it produced, if it produced one.
    pub audit: Option<ActivityEntry>,
    /// Why there is no audit entry, when there is none.
    pub no_audit: String,
    /// Further findings, one sentence each.
    pub notes: Vec<String>,
    /// Whether the response shows the security headers too.
    pub security_headers: bool,
}

/// The response headers worth showing, in this order, when present.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
pub const SHOWN_HEADERS: &[&str] = &[
    "content-type",
    "cache-control",
    "x-request-id",
    "retry-after",
    "x-ratelimit-limit",
    "x-ratelimit-remaining",
    "x-ratelimit-after",
];

/// The security headers every response carries: shown by the headers demo
/// (the others would repeat them each time).
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
pub const SECURITY_HEADERS: &[&str] = &[
    "content-security-policy",
    "x-frame-options",
    "x-content-type-options",
    "referrer-policy",
    "permissions-policy",
    "strict-transport-security",
    "cross-origin-opener-policy",
];

/// A body as shown: JSON pretty-printed, anything else cut short.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
pub fn body_for_display(text: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(json) => serde_json::to_string_pretty(&json).unwrap_or_default(),
        Err(_) if text.chars().count() > 200 => format!(
            "{}… ({} bytes in all)",
            text.chars().take(200).collect::<String>(),
            text.len()
        ),
        Err(_) => text.to_owned(),
    }
}

/// The newest entry of `entries` (newest first) with one of `actions` and an
/// id above `after`.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
pub fn newest_new_entry<'a>(
    entries: &'a [ActivityEntry],
    actions: &[&str],
    after: i64,
) -> Option<&'a ActivityEntry> {
    entries
        .iter()
        .find(|e| e.id > after && actions.contains(&e.action.as_str()))
}

#[component]
pub fn DemoPanel(demo: Demo, #[prop(into)] title: String, children: Children) -> impl IntoView {
    let user = use_current_user();
    let report = RwSignal::new(None::<DemoReport>);
    let pending = RwSignal::new(false);
    let input = RwSignal::new(demo.input().map(|i| i.1.to_owned()).unwrap_or_default());
    let slug = demo.slug();
    let run = move |_| {
        #[cfg(feature = "hydrate")]
        if !pending.get_untracked() {
            pending.set(true);
            let text = input.get_untracked();
            leptos::task::spawn_local(async move {
                let r = browser::run(demo, text).await;
                report.set(Some(r));
                pending.set(false);
            });
        }
    };
    let controls = move |signed_in: bool| {
        if demo.needs_identity() && !signed_in {
            return view! {
                <p class="hint" data-testid=format!("demo-{slug}-sign-in")>
                    <A href="/login">"Sign in"</A> " to try this: it acts as your own account."
                </p>
            }
            .into_any();
        }
        view! {
            {demo.input().map(|(label, _, secret)| view! {
                <label class="demo-input">
                    {label}
                    <input type=if secret { "password" } else { "text" }
                        autocomplete="off" maxlength="128"
                        data-testid=format!("demo-{slug}-input")
                        prop:value=move || input.get()
                        on:input=move |ev| input.set(event_target_value(&ev))/>
                </label>
            })}
            <div class="actions">
                <button type="button" data-testid=format!("demo-{slug}-run")
                    disabled=move || pending.get()
                    on:click=run>{demo.button()}</button>
            </div>
        }
        .into_any()
    };
    view! {
        <section class="demo-panel" data-testid=format!("demo-{slug}")>
            <h3>{title}</h3>
            {children()}
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    let signed_in = user.await.is_some();
                    controls(signed_in)
                })}
            </Suspense>
            <noscript><p class="hint">"This demonstration needs JavaScript."</p></noscript>
            {move || pending.get().then(|| view! { <p class="hint" role="status">"Sending…"</p> })}
            {move || report.get().map(|r| view! {
                <div class="demo-result" data-testid=format!("demo-{slug}-result")>
                    <h4>"Request"</h4>
                    <pre class="pg-json" data-testid=format!("demo-{slug}-request")>{r.request}</pre>
                    <h4>"Response"</h4>
                    <p>"Status " <strong data-testid=format!("demo-{slug}-status")>
                        {r.status.map(|s| s.to_string()).unwrap_or_else(|| "none".into())}
                    </strong></p>
                    <pre class="pg-json" data-testid=format!("demo-{slug}-response")>{r.response}</pre>
                    {(!r.notes.is_empty()).then(|| view! {
                        <ul class="pg-findings">
                            {r.notes.into_iter().map(|l| view! { <li>{l}</li> }).collect_view()}
                        </ul>
                    })}
                    <h4>"Audit entry"</h4>
                    {match r.audit {
                        Some(entry) => view! {
                            <pre class="pg-json" data-testid=format!("demo-{slug}-audit")>
                                {serde_json::to_string_pretty(&entry).unwrap_or_default()}
                            </pre>
                        }.into_any(),
                        None => view! {
                            <p class="hint" data-testid=format!("demo-{slug}-audit")>{r.no_audit}</p>
                        }.into_any(),
                    }}
                </div>
            })}
        </section>
    }
}

/// The browser side: the real requests.
#[cfg(feature = "hydrate")]
mod browser {
    use super::{
        body_for_display, newest_new_entry, Demo, DemoReport, SECURITY_HEADERS, SHOWN_HEADERS,
    };
    use gloo_net::http::{Request, Response};
    use wire::{fields, ActivityEntry};

    const UNREACHABLE: &str = "Could not reach the server.";
    /// The device id no one registered.
    const UNREGISTERED_DEVICE: &str = "demo-unregistered-device";
    const COOKIE_LINE: &str =
        "Cookie: __Host-access=… (HttpOnly: sent by the browser, never readable by this page)";

    async fn activity() -> Vec<ActivityEntry> {
        crate::client::get_json("/api/v1/me/activity")
            .await
            .unwrap_or_default()
    }

    fn response_text(resp: &Response, body: &str, security_headers: bool) -> String {
        let mut out = format!("HTTP/1.1 {} {}\n", resp.status(), resp.status_text());
        let headers = resp.headers();
        let extra: &[&str] = if security_headers {
            SECURITY_HEADERS
        } else {
            &[]
        };
        for name in SHOWN_HEADERS.iter().chain(extra) {
            if let Some(v) = headers.get(name) {
                out.push_str(&format!("{name}: {v}\n"));
            }
        }
        out.push('\n');
        out.push_str(&body_for_display(body));
        out
    }

    async fn answered(
        report: &mut DemoReport,
        sent: Result<Response, gloo_net::Error>,
    ) -> Option<(u16, String)> {
        match sent {
            Ok(resp) => {
                let body = resp.text().await.unwrap_or_default();
                report.status = Some(resp.status());
                report.response = response_text(&resp, &body, report.security_headers);
                Some((resp.status(), body))
            }
            Err(_) => {
                report.response = UNREACHABLE.into();
                None
            }
        }
    }

    pub async fn run(demo: Demo, input: String) -> DemoReport {
        let actions = demo.audit_actions();
        let before = if actions.is_empty() {
            0
        } else {
            activity().await.first().map_or(0, |e| e.id)
        };
        let mut report = DemoReport::default();
        match demo {
            Demo::Token => {
                report.request = format!("GET /api/v1/me/token\n{COOKIE_LINE}");
                let sent = Request::get("/api/v1/me/token").send().await;
                if answered(&mut report, sent).await.is_some() {
                    report.notes.push(
                        "The answer holds the decoded header and the verified claims; the \
                         token itself is never sent back."
                            .into(),
                    );
                }
            }
            Demo::ManagedDevice => {
                report.request = format!(
                    "GET /api/v1/demo/managed-device\n{COOKIE_LINE}\nX-Device-ID: {UNREGISTERED_DEVICE}"
                );
                let sent = Request::get("/api/v1/demo/managed-device")
                    .header("X-Device-ID", UNREGISTERED_DEVICE)
                    .send()
                    .await;
                answered(&mut report, sent).await;
            }
            Demo::RateLimit => {
                report.request =
                    format!("GET /api/v1/demo/limited   (six times in a row)\n{COOKIE_LINE}");
                let mut statuses = Vec::new();
                for _ in 0..6 {
                    let sent = Request::get("/api/v1/demo/limited").send().await;
                    match answered(&mut report, sent).await {
                        Some((s, _)) => statuses.push(s.to_string()),
                        None => break,
                    }
                }
                report
                    .notes
                    .push(format!("Statuses, in order: {}.", statuses.join(", ")));
                report.notes.push(
                    "The response shown is the last one. Retry-After and X-RateLimit-After come \
                     from the demo's limiter; X-RateLimit-Limit and -Remaining are the outer API \
                     limiters' figures, which every /api response carries. The demo bucket is yours \
                     alone: other users, and the rest of the API, are not affected."
                        .into(),
                );
            }
            Demo::SsnMasked => {
                report.request = format!("GET /api/v1/me/ssn\n{COOKIE_LINE}");
                let sent = Request::get("/api/v1/me/ssn").send().await;
                if let Some((_, body)) = answered(&mut report, sent).await {
                    if let Ok(s) = serde_json::from_str::<wire::SsnStatus>(&body) {
                        report.notes.push(if s.stored {
                            "The database holds only AES-256-GCM ciphertext; the server decrypted \
                             it to mask it. The full number needs a fresh second factor (Account)."
                                .into()
                        } else {
                            "No SSN stored yet: add one on your Account page, then read it again."
                                .into()
                        });
                    }
                }
            }
            Demo::Headers => {
                report.security_headers = true;
                report.request = "GET /patterns".into();
                let sent = Request::get("/patterns").send().await;
                answered(&mut report, sent).await;
            }
            Demo::Search => {
                report.request = format!("GET /api/v1/demo/search?q={input}\n{COOKIE_LINE}");
                let sent = Request::get("/api/v1/demo/search")
                    .query([("q", input.as_str())])
                    .send()
                    .await;
                if let Some((_, body)) = answered(&mut report, sent).await {
                    if let Ok(r) = serde_json::from_str::<wire::demo::DemoSearchResult>(&body) {
                        report.notes.push(format!(
                            "{} matching action(s). The text was bound as the single value \
                             {:?} of a LIKE comparison: it could not change the query.",
                            r.matches.len(),
                            r.bound_pattern
                        ));
                    }
                }
            }
            Demo::Fail => {
                report.request = format!("POST /api/v1/demo/fail\n{COOKIE_LINE}");
                let sent = Request::post("/api/v1/demo/fail").send().await;
                if let Some((_, body)) = answered(&mut report, sent).await {
                    if let Ok(e) = serde_json::from_str::<wire::ErrorBody>(&body) {
                        report.notes.push(format!(
                            "Only a generic message and the request id {}: operators find the \
                             cause in the server log under that id (admins and auditors: \
                             Admin → Server log, /admin/logs?request_id={}).",
                            e.request_id, e.request_id
                        ));
                    }
                }
            }
            Demo::ForgedHeader => {
                report.request =
                    format!("GET /api/v1/admin/users\n{COOKIE_LINE}\nX-Is-Admin: true");
                let sent = Request::get("/api/v1/admin/users")
                    .header("X-Is-Admin", "true")
                    .send()
                    .await;
                answered(&mut report, sent).await;
            }
            Demo::PolicyCheck => {
                let n = input.chars().count();
                report.request = format!(
                    "POST /api/v1/demo/password-check\nContent-Type: application/json\n\n\
                     {{\"password\": \"… ({n} characters, not shown here)\"}}"
                );
                let body = wire::demo::PasswordCheckRequest { password: input };
                let sent = match Request::post("/api/v1/demo/password-check").json(&body) {
                    Ok(r) => r.send().await,
                    Err(e) => Err(e),
                };
                if let Some((_, body)) = answered(&mut report, sent).await {
                    if let Ok(r) = serde_json::from_str::<wire::demo::PasswordCheckResponse>(&body)
                    {
                        for v in [r.catalogue, r.nist] {
                            let why: Vec<&str> = v
                                .problems
                                .iter()
                                .map(|p| fields::describe("password", p).unwrap_or(p.as_str()))
                                .collect();
                            report.notes.push(if v.accepted {
                                format!("{}: accepted.", v.policy)
                            } else {
                                format!("{}: refused. {}", v.policy, why.join(" "))
                            });
                        }
                    }
                }
            }
        }
        if !actions.is_empty() {
            report.audit = newest_new_entry(&activity().await, actions, before).cloned();
        }
        if report.audit.is_none() {
            report.no_audit = demo.no_audit_reason().into();
        }
        report
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_bodies_are_pretty_and_others_cut_short() {
        assert!(body_for_display("{\"a\":1}").contains("\"a\": 1"));
        let long = "x".repeat(500);
        let shown = body_for_display(&long);
        assert!(shown.len() < 300 && shown.contains("500 bytes"));
    }

    #[test]
    fn only_new_entries_of_the_right_action_are_found() {
        let entry = |id, action: &str| ActivityEntry {
            id,
            time: String::new(),
            action: action.into(),
            outcome: "denied".into(),
            detail: serde_json::json!({}),
        };
        let list = vec![
            entry(9, "access.denied"),
            entry(8, "access.forged_header"),
            entry(5, "access.forged_header"),
        ];
        assert_eq!(
            newest_new_entry(&list, &["access.forged_header"], 5).map(|e| e.id),
            Some(8)
        );
        assert!(newest_new_entry(&list, &["access.forged_header"], 8).is_none());
    }

    #[test]
    fn every_demo_has_a_distinct_slug() {
        let all = [
            Demo::Token,
            Demo::ManagedDevice,
            Demo::RateLimit,
            Demo::Headers,
            Demo::Search,
            Demo::Fail,
            Demo::ForgedHeader,
            Demo::PolicyCheck,
            Demo::SsnMasked,
        ];
        for (i, a) in all.iter().enumerate() {
            for b in &all[i + 1..] {
                assert_ne!(a.slug(), b.slug());
            }
        }
    }
}
