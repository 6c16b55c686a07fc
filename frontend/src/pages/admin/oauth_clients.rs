//! OAuth clients: the applications that may ask users for access through
//! `/oauth/authorize`. The list renders without JavaScript; registering,
//! editing, rotating a secret and deleting call the JSON API once the page
//! is hydrated, and the server first asks for a fresh second factor. A new
//! secret is shown once, here, and never again.

use super::{loading, AdminNav, LoadFailed};
use crate::components::action::{ActionFeedback, ActionState, ApiCall, NeedsScript};
use crate::format::{encode, short_time};
use crate::page_data::api_resource;
use leptos::prelude::*;
use leptos_meta::Title;
use wire::oauth_clients::redirect_uri_lines;
use wire::{
    ClientName, NewOAuthClientRequest, OAuthClientCreated, OAuthClientInfo, OAuthClientList,
    OAuthClientSecret, OAuthScopeInfo, UpdateOAuthClientRequest,
};

const LIST_URL: &str = "/api/v1/admin/oauth/clients";

fn client_url(id: &str) -> String {
    format!("{LIST_URL}/{}", encode(id))
}

/// A secret the server just returned: shown until dismissed, never again.
#[derive(Clone, PartialEq)]
struct ShownSecret {
    client_id: String,
    name: String,
    secret: String,
}

/// What the page keeps across reloads of the list.
#[derive(Clone, Copy)]
struct PageState {
    actions: ActionState,
    /// The one-time secret on display.
    secret: RwSignal<Option<ShownSecret>>,
    /// The client whose edit form is open.
    editing: RwSignal<Option<String>>,
    /// Gets the answer of a registration or a rotation.
    on_secret: Callback<serde_json::Value>,
}

#[component]
pub fn OAuthClientsPage() -> impl IntoView {
    let list = api_resource::<OAuthClientList>(|| LIST_URL.to_owned());
    let secret = RwSignal::new(None::<ShownSecret>);
    let editing = RwSignal::new(None::<String>);
    // After every accepted change: the server's list, and no open edit form.
    let actions = ActionState::new(move || {
        editing.set(None);
        list.refetch();
    });
    let on_secret = Callback::new(move |json: serde_json::Value| {
        let shown = if let Ok(created) = serde_json::from_value::<OAuthClientCreated>(json.clone())
        {
            created.client_secret.map(|s| ShownSecret {
                client_id: created.client.id,
                name: created.client.name,
                secret: s,
            })
        } else if let Ok(rotated) = serde_json::from_value::<OAuthClientSecret>(json) {
            Some(ShownSecret {
                name: String::new(),
                client_id: rotated.client_id,
                secret: rotated.client_secret,
            })
        } else {
            None
        };
        secret.set(shown);
    });
    let page = PageState {
        actions,
        secret,
        editing,
        on_secret,
    };
    view! {
        <Title text="OAuth clients · Admin"/>
        <Transition fallback=loading>
            {move || Suspend::new(async move {
                match list.await {
                    Ok(l) => view! { <ClientsView list=l page=page/> }.into_any(),
                    Err(e) => view! { <LoadFailed error=e/> }.into_any(),
                }
            })}
        </Transition>
        <ActionFeedback state=actions/>
    }
}

#[component]
fn ClientsView(list: OAuthClientList, page: PageState) -> impl IntoView {
    let empty = list.clients.is_empty();
    let scopes = list.scopes;
    let clients = StoredValue::new(list.clients.clone());
    let edit_scopes = scopes.clone();
    view! {
        <AdminNav/>
        <h1>"OAuth clients"</h1>
        <p>
            "Applications that may ask users for access (authorization code flow with PKCE). "
            "A public client has no secret; a confidential one authenticates with its secret, "
            "which is shown once and stored only as an HMAC. Tokens a client obtains can use only "
            "its scopes, and never more than the user's own roles allow."
        </p>
        <NeedsScript/>
        <SecretNotice secret=page.secret/>
        {empty.then(|| view! { <p data-testid="no-clients">"No client is registered yet."</p> })}
        <div class="table-wrap">
            <table class="data-table">
                <thead>
                    <tr>
                        <th scope="col">"Name"</th>
                        <th scope="col">"Client id"</th>
                        <th scope="col">"Type"</th>
                        <th scope="col">"Scopes"</th>
                        <th scope="col">"Redirect URIs"</th>
                        <th scope="col">"Audience"</th>
                        <th scope="col">"Created"</th>
                        <th scope="col">"Updated"</th>
                        <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                    </tr>
                </thead>
                <tbody>
                    {list.clients.into_iter().map(|c| view! { <ClientRow client=c page=page/> }).collect_view()}
                </tbody>
            </table>
        </div>
        {move || {
            let id = page.editing.get()?;
            let client = clients.with_value(|all| all.iter().find(|c| c.id == id).cloned())?;
            Some(view! { <ClientForm scopes=edit_scopes.clone() existing=Some(client) page=page/> })
        }}
        <ClientForm scopes=scopes existing=None page=page/>
    }
}

/// The secret the server just returned, with the warning that it is shown once.
#[component]
fn SecretNotice(secret: RwSignal<Option<ShownSecret>>) -> impl IntoView {
    move || {
        secret.get().map(|s| {
            let whose = if s.name.is_empty() {
                format!("The new secret of client {}", s.client_id)
            } else {
                format!("The secret of {} ({})", s.name, s.client_id)
            };
            view! {
                <section class="one-time-secret" aria-labelledby="secret-title" data-testid="client-secret-box">
                    <h2 id="secret-title">"Client secret"</h2>
                    <p>{whose} ":"</p>
                    <p><code class="secret" data-testid="client-secret">{s.secret}</code></p>
                    <p role="alert"><strong>"Copy it now; it is not shown again."</strong>
                        " Only its HMAC is stored: if it is lost, rotate it."</p>
                    <button type="button" class="secondary-button" data-testid="client-secret-done"
                        on:click=move |_| secret.set(None)>
                        "I have stored it"
                    </button>
                </section>
            }
        })
    }
}

#[component]
fn ClientRow(client: OAuthClientInfo, page: PageState) -> impl IntoView {
    let actions = page.actions;
    let url = StoredValue::new(client_url(&client.id));
    // Which change waits for a second click: "delete" or "rotate".
    let confirming = RwSignal::new(None::<&'static str>);
    let name = StoredValue::new(client.name.clone());
    let id = StoredValue::new(client.id.clone());
    let public = client.public;
    let pending = move || actions.pending.get();
    let confirm_text = move || match confirming.get() {
        Some("delete") => format!(
            "Delete {}? Its users' sessions through it end at once; this cannot be undone.",
            name.get_value()
        ),
        Some(_) => format!(
            "Give {} a new secret? The current one stops working at once.",
            name.get_value()
        ),
        None => String::new(),
    };
    let confirmed = move |_| match confirming.get_untracked() {
        Some("delete") => {
            confirming.set(None);
            if page.editing.get_untracked() == Some(id.get_value()) {
                page.editing.set(None);
            }
            actions.run(ApiCall::delete(
                url.get_value(),
                format!("Deleted {}; its sessions ended.", name.get_value()),
            ));
        }
        Some(_) => {
            confirming.set(None);
            actions.run(
                ApiCall::post(
                    format!("{}/secret", url.get_value()),
                    format!("{} has a new secret.", name.get_value()),
                )
                .with_answer(page.on_secret),
            );
        }
        None => {}
    };
    view! {
        <tr data-testid="client-row" data-client-id=client.id.clone()>
            <td data-testid="client-name">{client.name.clone()}</td>
            <td><code>{client.id.clone()}</code></td>
            <td data-testid="client-type">
                {if public {
                    view! { <span class="badge">"Public"</span> }.into_any()
                } else {
                    view! { <span class="badge warn">"Confidential"</span> }.into_any()
                }}
            </td>
            <td data-testid="client-scopes">
                {if client.scopes.is_empty() {
                    view! { <span class="hint">"none"</span> }.into_any()
                } else {
                    view! {
                        <ul class="chips">
                            {client.scopes.iter().map(|s| view! { <li class="chip">{s.clone()}</li> }).collect_view()}
                        </ul>
                    }.into_any()
                }}
            </td>
            <td>
                <ul class="uri-list">
                    {client.redirect_uris.iter().map(|u| view! { <li><code>{u.clone()}</code></li> }).collect_view()}
                </ul>
            </td>
            <td>{client.audience.clone().unwrap_or_else(|| "this API".into())}</td>
            <td>{short_time(&client.created_at)}</td>
            <td>{client.updated_at.as_deref().map(short_time).unwrap_or_else(|| "—".into())}</td>
            <td>
                <div class="actions">
                    <button type="button" class="small" data-testid="client-edit"
                        aria-label=format!("Edit {}", client.name) disabled=pending
                        on:click=move |_| page.editing.set(Some(id.get_value()))>"Edit"</button>
                    {(!public).then(|| view! {
                        <button type="button" class="small secondary-button" data-testid="client-rotate"
                            aria-label=format!("New secret for {}", client.name) disabled=pending
                            on:click=move |_| confirming.set(Some("rotate"))>"New secret"</button>
                    })}
                    <button type="button" class="small secondary-button" data-testid="client-delete"
                        aria-label=format!("Delete {}", client.name) disabled=pending
                        on:click=move |_| confirming.set(Some("delete"))>"Delete"</button>
                </div>
                <Show when=move || confirming.get().is_some()>
                    <div class="confirm" role="alertdialog" aria-label="Confirm">
                        <p>{confirm_text}</p>
                        <div class="actions">
                            <button type="button" class="small" data-testid="client-confirm"
                                disabled=pending on:click=confirmed>"Yes"</button>
                            <button type="button" class="small secondary-button" data-testid="client-cancel"
                                on:click=move |_| confirming.set(None)>"Cancel"</button>
                        </div>
                    </div>
                </Show>
            </td>
        </tr>
    }
}

/// Registers a client (`existing` = None) or edits one. Nothing is bound:
/// the fields are read when the form is sent.
#[component]
fn ClientForm(
    scopes: Vec<OAuthScopeInfo>,
    existing: Option<OAuthClientInfo>,
    page: PageState,
) -> impl IntoView {
    let actions = page.actions;
    let editing = existing.is_some();
    let prefix = if editing { "edit" } else { "new" };
    let id = |field: &str| format!("{prefix}-client-{field}");
    let name_input = NodeRef::<leptos::html::Input>::new();
    let uris_input = NodeRef::<leptos::html::Textarea>::new();
    let public_input = NodeRef::<leptos::html::Input>::new();
    let audience_input = NodeRef::<leptos::html::Input>::new();
    let scope_inputs: Vec<(String, NodeRef<leptos::html::Input>)> = scopes
        .iter()
        .map(|s| (s.name.clone(), NodeRef::new()))
        .collect();
    let scope_inputs = StoredValue::new(scope_inputs);
    let target = StoredValue::new(existing.as_ref().map(|c| (c.id.clone(), c.name.clone())));

    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let typed_name = name_input
            .get_untracked()
            .map(|el| el.value())
            .unwrap_or_default();
        let name = match ClientName::parse(&typed_name) {
            Ok(n) => n.into_inner(),
            Err(rule) => {
                actions.refuse(format!("Check the name: {rule}."));
                return;
            }
        };
        let redirect_uris = redirect_uri_lines(
            &uris_input
                .get_untracked()
                .map(|el| el.value())
                .unwrap_or_default(),
        );
        if redirect_uris.is_empty() {
            actions.refuse("Give at least one redirect URI, one per line.");
            return;
        }
        let scopes: Vec<String> = scope_inputs.with_value(|all| {
            all.iter()
                .filter(|(_, input)| input.get_untracked().is_some_and(|el| el.checked()))
                .map(|(name, _)| name.clone())
                .collect()
        });
        let audience = audience_input
            .get_untracked()
            .map(|el| el.value().trim().to_owned())
            .filter(|a| !a.is_empty());
        match target.get_value() {
            Some((client_id, _)) => {
                let body = UpdateOAuthClientRequest {
                    name,
                    redirect_uris,
                    scopes,
                    audience,
                };
                // Accepted, the form closes (refused, it stays as typed).
                actions.run(ApiCall::put(client_url(&client_id), &body, "Client saved."));
            }
            None => {
                let public = public_input.get_untracked().is_some_and(|el| el.checked());
                let done = if public {
                    "Public client registered: it has no secret."
                } else {
                    "Confidential client registered."
                };
                let body = NewOAuthClientRequest {
                    name,
                    redirect_uris,
                    public,
                    scopes,
                    audience,
                };
                // Accepted, the list reloads and brings an empty form.
                actions.run(
                    ApiCall::post_with(LIST_URL.to_owned(), &body, done)
                        .with_answer(page.on_secret),
                );
            }
        }
    };

    let (title, heading_id) = match &existing {
        Some(c) => (format!("Edit {}", c.name), "edit-client-title"),
        None => ("Register a client".to_owned(), "new-client-title"),
    };
    let initial = existing.clone();
    let granted = move |scope: &str| {
        initial
            .as_ref()
            .is_some_and(|c| c.scopes.iter().any(|s| s == scope))
    };
    let scope_boxes = scope_inputs.with_value(|all| {
        all.iter()
            .zip(scopes.iter())
            .map(|((name, node), info)| {
                let box_id = format!("{prefix}-client-scope-{}", encode(name));
                view! {
                    <div class="checkbox-field">
                        <input type="checkbox" id=box_id.clone() name="scopes" value=name.clone()
                            checked=granted(name) node_ref=*node
                            data-testid=format!("{prefix}-client-scope-{name}")/>
                        <label for=box_id>
                            <code>{name.clone()}</code>
                            " " <span class="hint">"(" {info.permission.clone()} ")"</span>
                        </label>
                    </div>
                }
            })
            .collect_view()
    });
    let (name0, uris0, audience0) = match &existing {
        Some(c) => (
            c.name.clone(),
            c.redirect_uris.join("\n"),
            c.audience.clone().unwrap_or_default(),
        ),
        None => Default::default(),
    };
    // The edit form only opens in the browser; the server-rendered
    // registration form has an empty text area (no text node to hydrate).
    let uris_field = if editing {
        view! {
            <textarea id=id("redirect-uris") name="redirect_uris" rows="3" required
                spellcheck="false" node_ref=uris_input data-testid=id("redirect-uris")
                aria-describedby=id("redirect-hint")>{uris0}</textarea>
        }
        .into_any()
    } else {
        view! {
            <textarea id=id("redirect-uris") name="redirect_uris" rows="3" required
                spellcheck="false" node_ref=uris_input data-testid=id("redirect-uris")
                aria-describedby=id("redirect-hint")></textarea>
        }
        .into_any()
    };
    view! {
        <section aria-labelledby=heading_id data-testid=format!("{prefix}-client-form")>
            <h2 id=heading_id>{title}</h2>
            <form class="card-form client-form" on:submit=on_submit novalidate>
                <div class="field">
                    <label for=id("name")>"Name"</label>
                    <input id=id("name") name="name" type="text" maxlength="100" required
                        value=name0 node_ref=name_input data-testid=id("name")/>
                    <p class="hint">"Shown to users when the client asks for access."</p>
                </div>
                <div class="field">
                    <label for=id("redirect-uris")>"Redirect URIs, one per line"</label>
                    {uris_field}
                    <p class="hint" id=id("redirect-hint")>
                        "https, http only on 127.0.0.1 or [::1] (any port), or an app's private-use scheme "
                        "such as com.example.app:/cb; no fragment. Matched exactly."
                    </p>
                </div>
                {(!editing).then(|| view! {
                    <div class="checkbox-field">
                        <input type="checkbox" id="new-client-public" name="public"
                            node_ref=public_input data-testid="new-client-public"/>
                        <label for="new-client-public">"Public client (no secret: a browser or mobile app)"</label>
                    </div>
                })}
                <fieldset class="scopes">
                    <legend>"Scopes it may ask for"</legend>
                    {scope_boxes}
                </fieldset>
                <div class="field">
                    <label for=id("audience")>"Audience (optional)"</label>
                    <input id=id("audience") name="audience" type="text" maxlength="200"
                        value=audience0 node_ref=audience_input data-testid=id("audience")
                        aria-describedby=id("audience-hint")/>
                    <p class="hint" id=id("audience-hint")>
                        "The resource server its tokens are for, like https://reports.example. "
                        "Empty: this app's API."
                    </p>
                </div>
                <div class="actions">
                    <button type="submit" data-testid=id("submit") disabled=move || actions.pending.get()>
                        {if editing { "Save" } else { "Register" }}
                    </button>
                    {editing.then(|| view! {
                        <button type="button" class="secondary-button" data-testid="edit-client-cancel"
                            on:click=move |_| page.editing.set(None)>"Cancel"</button>
                    })}
                </div>
                <p class="hint">"Changes need a recent second factor and a registered device; each is recorded in the audit log."</p>
            </form>
        </section>
    }
}
