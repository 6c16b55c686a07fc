//! Policies: the route table the server enforces and what each role grants,
//! read-only (they are code and configuration, not data).

use super::{loading, AdminNav, LoadFailed};
use crate::format::duration_words;
use crate::page_data::api_resource;
use leptos::prelude::*;
use leptos_meta::Title;
use wire::{PoliciesResponse, PolicyInfo, RolePermissions};

#[component]
pub fn PoliciesPage() -> impl IntoView {
    let policies = api_resource::<PoliciesResponse>(|| "/api/v1/admin/policies".to_owned());
    view! {
        <Title text="Policies · Admin"/>
        <Suspense fallback=loading>
            {move || Suspend::new(async move {
                match policies.await {
                    Ok(p) => view! { <PoliciesView policies=p/> }.into_any(),
                    Err(e) => view! { <LoadFailed error=e/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn PoliciesView(policies: PoliciesResponse) -> impl IntoView {
    view! {
        <AdminNav/>
        <h1>"Policies"</h1>
        <p>"The access policy every request passes through. It is part of the server's code and configuration, so it is shown here, not edited."</p>
        <dl class="details">
            <dt>"Admin changes"</dt>
            <dd data-testid="elevation-window">
                "active for " {duration_words(policies.elevation_secs)}
                " after a second factor (sign-in or verification), then read-only"
            </dd>
            <dt>"Most sensitive changes"</dt>
            <dd data-testid="step-up-window">
                "need a second factor within the last " {duration_words(policies.step_up_secs)}
            </dd>
            <dt>"Account security changes"</dt>
            <dd data-testid="reauth-window">
                "need the password (or a second factor) entered within the last "
                {duration_words(policies.reauth_secs)}
            </dd>
        </dl>
        <section aria-labelledby="role-table">
            <h2 id="role-table">"Roles"</h2>
            <div class="table-wrap">
                <table class="data-table">
                    <thead>
                        <tr>
                            <th scope="col">"Role"</th>
                            <th scope="col">"Permissions"</th>
                            <th scope="col">"Networks"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {policies.roles.into_iter().map(|r| view! { <RoleRow role=r/> }).collect_view()}
                    </tbody>
                </table>
            </div>
        </section>
        <section aria-labelledby="route-table">
            <h2 id="route-table">"Routes"</h2>
            <div class="table-wrap">
                <table class="data-table route-policies">
                    <thead>
                        <tr>
                            <th scope="col">"Method"</th>
                            <th scope="col">"Path"</th>
                            <th scope="col">"Requires"</th>
                            <th scope="col">"Registered device"</th>
                            <th scope="col">"Recent second factor"</th>
                            <th scope="col" title="An OAuth client's token is refused, whatever its scopes">"Own session only"</th>
                            <th scope="col">"Recent sign-in"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {policies.routes.into_iter().map(|r| view! { <RouteRow route=r/> }).collect_view()}
                    </tbody>
                </table>
            </div>
        </section>
    }
}

#[component]
fn RoleRow(role: RolePermissions) -> impl IntoView {
    let networks = if role.networks.is_empty() {
        "anywhere".to_owned()
    } else {
        role.networks.join(", ")
    };
    view! {
        <tr data-testid="policy-role-row">
            <th scope="row">{role.role}</th>
            <td>
                <ul class="chips">
                    {role.permissions.into_iter().map(|p| view! { <li class="chip"><code>{p}</code></li> }).collect_view()}
                </ul>
            </td>
            <td>{networks}</td>
        </tr>
    }
}

#[component]
fn RouteRow(route: PolicyInfo) -> impl IntoView {
    let yes_no = |b: bool| if b { "yes" } else { "—" };
    view! {
        <tr data-testid="policy-route-row">
            <td><code>{route.method}</code></td>
            <td><code>{route.path}</code></td>
            <td>
                {if route.requires == "public" {
                    view! { <span class="hint">"public"</span> }.into_any()
                } else {
                    view! { <code>{route.requires}</code> }.into_any()
                }}
            </td>
            <td>{yes_no(route.managed_device)}</td>
            <td>{yes_no(route.fresh_mfa)}</td>
            <td>{yes_no(route.first_party)}</td>
            <td>{yes_no(route.recent_auth)}</td>
        </tr>
    }
}
