//! The dashboard's first page: counts, the last 24 hours of activity, why
//! requests were denied, and what the signed-in admin may do right now.

use super::{loading, AdminNav, LoadFailed};
use crate::components::charts::{ActivityChart, MfaDonut};
use crate::components::form::StepUpCheck;
use crate::format::short_time;
use crate::page_data::{api_resource, use_current_user};
use leptos::prelude::*;
use leptos_meta::Title;
use wire::{LabelCount, MyAccess, Overview};

#[component]
pub fn OverviewPage() -> impl IntoView {
    let overview = api_resource::<Overview>(|| "/api/v1/admin/overview".to_owned());
    view! {
        <Title text="Overview · Admin"/>
        <Suspense fallback=loading>
            {move || Suspend::new(async move {
                match overview.await {
                    Ok(o) => view! { <OverviewView overview=o/> }.into_any(),
                    Err(e) => view! { <LoadFailed error=e/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn OverviewView(overview: Overview) -> impl IntoView {
    let o = overview;
    view! {
        <AdminNav/>
        <h1>"Overview"</h1>
        <YourAccess access=o.me/>
        <ul class="tiles" aria-label="Counts">
            <Tile label="Users" value=o.users testid="tile-users"/>
            <Tile label="Active sessions" value=o.active_sessions testid="tile-sessions"/>
            <Tile label="Devices" value=o.devices testid="tile-devices"/>
            <Tile label="Non-compliant devices" value=o.non_compliant_devices testid="tile-non-compliant"
                warn={o.non_compliant_devices > 0}/>
            <Tile label="Allowed requests, 24 h" value=o.allowed_last_24h testid="tile-allowed"/>
        </ul>
        <section aria-labelledby="activity">
            <h2 id="activity">"Activity, last 24 hours"</h2>
            <ActivityChart hours=o.hours/>
        </section>
        <div class="overview-columns">
            <section aria-labelledby="mfa-adoption">
                <h2 id="mfa-adoption">"Two-factor adoption"</h2>
                <MfaDonut with_mfa=o.mfa_users users=o.users/>
            </section>
            <section aria-labelledby="deny-reasons">
                <h2 id="deny-reasons">"Why requests were denied"</h2>
                <DenyReasons reasons=o.deny_reasons/>
                <p><a href="/admin/decisions?outcome=deny">"See the denied requests"</a></p>
            </section>
        </div>
        <section aria-labelledby="limits">
            <h2 id="limits">"Limits, last 24 hours"</h2>
            <table class="data-table" data-testid="limits">
                <thead><tr><th>"Limit"</th><th>"Setting"</th><th>"Times it stopped something"</th></tr></thead>
                <tbody>
                    {o.limits.into_iter().map(|l| view! {
                        <tr data-testid="limit-row">
                            <td>{l.name}</td>
                            <td><code>{l.setting}</code></td>
                            <td class:warn={l.hits_24h > 0}>{l.hits_24h}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </section>
    }
}

#[component]
fn Tile(
    label: &'static str,
    value: i64,
    testid: &'static str,
    #[prop(optional)] warn: bool,
) -> impl IntoView {
    view! {
        <li class="tile" class:warn=warn data-testid=testid>
            <span class="tile-value">{value}</span>
            <span class="tile-label">{label}</span>
        </li>
    }
}

/// Reasons with their counts, largest first, each with a bar of its share.
#[component]
fn DenyReasons(reasons: Vec<LabelCount>) -> impl IntoView {
    if reasons.is_empty() {
        return view! { <p data-testid="deny-reasons">"No request was denied."</p> }.into_any();
    }
    let mut reasons = reasons;
    reasons.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.label.cmp(&b.label)));
    let max = reasons.iter().map(|r| r.count).max().unwrap_or(1).max(1);
    view! {
        <ul class="reason-list" data-testid="deny-reasons">
            {reasons.into_iter().map(|r| {
                // Bar length as an SVG rect: the CSP forbids a style width.
                let width = format!("{:.1}", r.count.max(0) as f64 * 100.0 / max as f64);
                let href = format!("/admin/decisions?outcome=deny&reason={}", crate::format::encode(&r.label));
                view! {
                    <li>
                        <a href=href><code>{r.label.clone()}</code></a>
                        <strong class="reason-count">{r.count}</strong>
                        <svg class="reason-bar" viewBox="0 0 100 4" preserveAspectRatio="none" aria-hidden="true">
                            <rect class="series-denied" x="0" y="0" width=width height="4"/>
                        </svg>
                    </li>
                }
            }).collect_view()}
        </ul>
    }
    .into_any()
}

/// My permissions now, and the way back to write access when it has lapsed.
#[component]
fn YourAccess(access: MyAccess) -> impl IntoView {
    let verifying = RwSignal::new(false);
    // A full reload: the dashboard, the buttons and the nav all follow the
    // new elevation.
    let reload = Callback::new(|()| {
        #[cfg(feature = "hydrate")]
        crate::client::reload();
    });
    let user = use_current_user();
    view! {
        <section class="access-box" aria-labelledby="your-access" data-testid="your-access">
            <h2 id="your-access">"Your access"</h2>
            <ul class="chips">
                {access.permissions.iter().map(|p| view! { <li class="chip"><code>{p.clone()}</code></li> }).collect_view()}
            </ul>
            {if access.elevated {
                view! {
                    <p data-testid="elevated">
                        "Admin changes are active"
                        {access.elevated_until.as_deref().map(|t| format!(" until {}", short_time(t)))}
                        "."
                    </p>
                }.into_any()
            } else {
                view! {
                    <Suspense fallback=|| ()>
                        {move || Suspend::new(async move {
                            // Only an admin gains anything by verifying.
                            let admin = user.await.is_some_and(|me| me.roles.iter().any(|r| r == "admin"));
                            if admin {
                                view! {
                                    <p data-testid="read-only">"Read-only until you verify again."</p>
                                    <Show when=move || !verifying.get()>
                                        <button type="button" data-testid="verify-again"
                                            on:click=move |_| verifying.set(true)>"Verify with a code"</button>
                                    </Show>
                                    <StepUpCheck open=verifying on_confirmed=reload/>
                                    <noscript><p class="hint">"Verifying needs JavaScript in your browser."</p></noscript>
                                }.into_any()
                            } else {
                                view! {
                                    <p data-testid="read-only">"Read-only: your roles let you view, not change."</p>
                                }.into_any()
                            }
                        })}
                    </Suspense>
                }.into_any()
            }}
        </section>
    }
}
