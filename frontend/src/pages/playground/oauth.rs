//! `/playground/oauth`: the OAuth 2.0 authorization code flow with PKCE,
//! one step at a time, with the built-in public client `oauth-playground`
//! and the real authorization server: generate the verifier and state,
//! derive the challenge, go to `/oauth/authorize`, come back with a code,
//! exchange it at `/oauth/token`, decode the access token. Then tamper with
//! a step and watch the server refuse it, with the audit entry it wrote
//! (from `GET /api/v1/me/activity`).
//!
//! The page is this client: everything runs in the browser (wasm). The
//! server renders the explanations, so they read without JavaScript.

#[cfg(feature = "hydrate")]
use super::browser;
use super::flow::{self, Callback, Pending, StateCheck};
use super::model::{Exchange, Tamper, TamperReport};
use crate::page_data::{set_page_status, use_current_user};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

/// Where an attacker would like the code to go (the "changed redirect URI").
const OTHER_REDIRECT_URI: &str = "https://attacker.example/callback";

#[component]
pub fn OAuthPlaygroundPage() -> impl IntoView {
    let user = use_current_user();
    view! {
        <Title text="OAuth playground"/>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match user.await {
                    Some(_) => view! { <Playground/> }.into_any(),
                    None => {
                        set_page_status(401);
                        view! {
                            <h1>"OAuth playground"</h1>
                            <p data-testid="pg-signed-out">
                                "You are not signed in. " <A href="/login">"Log in"</A>
                                " to walk through the OAuth flow with your own account."
                            </p>
                        }
                        .into_any()
                    }
                }
            })}
        </Suspense>
    }
}

#[component]
fn Playground() -> impl IntoView {
    let pending = RwSignal::new(None::<Pending>);
    let callback = RwSignal::new(None::<Callback>);
    let exchange = RwSignal::new(None::<Exchange>);
    let report = RwSignal::new(None::<TamperReport>);
    let busy = RwSignal::new(false);
    let problem = RwSignal::new(None::<String>);
    // Token requests this page has sent (the altered state sends none).
    let sent = RwSignal::new(0_u32);

    // Back from the authorization server, or a fresh visit (browser only).
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| browser::on_load(pending, callback));

    let exchanged = move || exchange.with(|e| e.as_ref().is_some_and(Exchange::succeeded));
    // A code that may be sent: ours (state matched) and not used up yet.
    let fresh_code = move || {
        if exchanged() {
            return None;
        }
        callback.with(|c| {
            c.as_ref()
                .and_then(|c| c.exchangeable_code().map(str::to_owned))
        })
    };
    let token_body = move || {
        let code = fresh_code().or_else(|| {
            callback.with(|c| {
                c.as_ref()
                    .and_then(|c| c.exchangeable_code().map(str::to_owned))
            })
        })?;
        pending.with(|p| {
            p.as_ref()
                .map(|p| flow::token_request_body(&code, &p.redirect_uri, &p.verifier))
        })
    };

    let reset = move || {
        callback.set(None);
        exchange.set(None);
        report.set(None);
        problem.set(None);
    };
    let generate = move || {
        reset();
        #[cfg(feature = "hydrate")]
        match browser::new_pending() {
            Some(p) => {
                browser::remember(&p);
                pending.set(Some(p));
            }
            None => problem.set(Some(
                "This browser has no crypto.getRandomValues: a verifier cannot be made safely here."
                    .into(),
            )),
        }
    };
    // "Start again": steps a–c at once, straight to the authorization server.
    let restart = move || {
        generate();
        #[cfg(feature = "hydrate")]
        if let Some(p) = pending.get_untracked() {
            crate::client::go_to(&p.authorize_url());
        }
    };

    let send_exchange = move || {
        let Some(body) = fresh_code().and(token_body()) else {
            return;
        };
        report.set(None);
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            busy.set(true);
            sent.update(|n| *n += 1);
            let answer = browser::post_token(&body).await;
            busy.set(false);
            match answer {
                Ok((status, text)) => exchange.set(Some(Exchange {
                    access_token: serde_json::from_str::<serde_json::Value>(&text)
                        .ok()
                        .and_then(|v| v.get("access_token")?.as_str().map(str::to_owned)),
                    shown: flow::response_for_display(&text),
                    body,
                    status,
                })),
                Err(e) => problem.set(Some(e)),
            }
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = (body, sent, busy, problem);
    };

    let tamper = move |kind: Tamper| {
        report.set(None);
        problem.set(None);
        let (Some(p), Some(cb)) = (pending.get_untracked(), callback.get_untracked()) else {
            return;
        };
        match kind {
            Tamper::State => {
                // The client's own check, on an answer whose state was changed.
                let altered = flow::tampered(cb.state.as_deref().unwrap_or(p.state.as_str()));
                let check = StateCheck::check(Some(&p), Some(&altered));
                let verdict = match check {
                    StateCheck::Match => "match (unexpected)".to_owned(),
                    _ => "mismatch: the client stops here and does not use the code".to_owned(),
                };
                report.set(Some(TamperReport {
                    kind,
                    request: None,
                    answer: None,
                    entry: None,
                    lines: vec![
                        format!("Returned state: {altered}"),
                        format!("Stored state: {}", p.state),
                        format!("Comparison: {verdict}."),
                        format!(
                            "Token requests sent by this step: 0 (this page has sent {} in all, unchanged). \
                             Nothing reached the server, so there is no audit entry either.",
                            sent.get_untracked()
                        ),
                    ],
                }));
            }
            Tamper::Verifier | Tamper::Redirect => {
                let Some(code) = fresh_code() else { return };
                let body = if kind == Tamper::Verifier {
                    flow::token_request_body(&code, &p.redirect_uri, &flow::tampered(&p.verifier))
                } else {
                    flow::token_request_body(&code, OTHER_REDIRECT_URI, &p.verifier)
                };
                #[cfg(feature = "hydrate")]
                leptos::task::spawn_local(async move {
                    busy.set(true);
                    sent.update(|n| *n += 1);
                    let found = browser::refused_exchange(kind, body, &["oauth.token"]).await;
                    busy.set(false);
                    report.set(Some(found));
                });
                #[cfg(not(feature = "hydrate"))]
                let _ = body;
            }
            Tamper::Reuse => {
                let Some(first) = exchange.get_untracked().filter(Exchange::succeeded) else {
                    return;
                };
                #[cfg(feature = "hydrate")]
                leptos::task::spawn_local(async move {
                    busy.set(true);
                    sent.update(|n| *n += 1);
                    let found = browser::reuse(first).await;
                    busy.set(false);
                    report.set(Some(found));
                });
                #[cfg(not(feature = "hydrate"))]
                let _ = first;
            }
        }
    };

    let decoded = move || {
        exchange.with(|e| {
            e.as_ref()
                .and_then(|e| e.access_token.as_deref())
                .map(flow::decode_jwt)
        })
    };
    let value = move |v: Option<String>| v.unwrap_or_else(|| "—".to_owned());

    view! {
        <div class="playground">
        <h1>"OAuth playground"</h1>
        <p class="lead">
            "The authorization code flow with PKCE, one step at a time. This page is the client: "
            "a public client called " <code>{flow::CLIENT_ID}</code> " that runs in your browser "
            "and has no secret. The authorization server is this app, and the account is yours."
        </p>
        <noscript>
            <p class="hint">"The steps need JavaScript: this page is the OAuth client, and it runs in your browser."</p>
        </noscript>
        <div class="form-alert" role="alert">
            {move || problem.get().map(|m| view! { <p data-testid="pg-problem">{m}</p> })}
        </div>

        <section class="pg-step" aria-labelledby="pg-a">
            <h2 id="pg-a">"1. Generate the code verifier and the state"</h2>
            <p>
                "The client makes a fresh secret, the " <em>"code verifier"</em> ": 32 random bytes "
                "from the browser's cryptographic generator (" <code>"crypto.getRandomValues"</code>
                "), written as 43 characters of the RFC 7636 alphabet. It stays in this browser until "
                "the token request, so a stolen code alone is useless. The " <em>"state"</em>
                " is a second random value that ties the answer to this request."
            </p>
            <button type="button" data-testid="pg-generate" on:click=move |_| generate()>
                "Generate"
            </button>
            <dl class="details pg-values">
                <dt>"code_verifier"</dt>
                <dd><code data-testid="pg-verifier">{move || value(pending.with(|p| p.as_ref().map(|p| p.verifier.clone())))}</code></dd>
                <dt>"state"</dt>
                <dd><code data-testid="pg-state">{move || value(pending.with(|p| p.as_ref().map(|p| p.state.clone())))}</code></dd>
            </dl>
        </section>

        <section class="pg-step" aria-labelledby="pg-b">
            <h2 id="pg-b">"2. Derive the challenge"</h2>
            <p>
                <code>"code_challenge = BASE64URL(SHA-256(code_verifier))"</code>
                ", without padding (method " <code>"S256"</code> "). Only this goes to the "
                "authorization server, which stores it with the code. SHA-256 cannot be reversed, "
                "so whoever sees the challenge (or the code) still cannot produce the verifier."
            </p>
            <dl class="details pg-values">
                <dt>"SHA-256 (hex)"</dt>
                <dd><code>{move || value(pending.with(|p| p.as_ref().map(Pending::digest_hex)))}</code></dd>
                <dt>"code_challenge"</dt>
                <dd><code data-testid="pg-challenge">{move || value(pending.with(|p| p.as_ref().map(|p| p.challenge.clone())))}</code></dd>
            </dl>
        </section>

        <section class="pg-step" aria-labelledby="pg-c">
            <h2 id="pg-c">"3. Send the browser to the authorization server"</h2>
            <p>
                "The client sends you to " <code>"/oauth/authorize"</code> " with its id, where to come "
                "back (this page: the loopback address 127.0.0.1 on any port, or an origin in "
                <code>"APP_TRUSTED_ORIGINS"</code> "), the scope, the state and the challenge. "
                "Before leaving, it keeps the verifier and the state in " <code>"sessionStorage"</code>
                " (this tab only, gone when it closes), as a single-page app does: the page is "
                "about to be replaced, and it needs both when you come back."
            </p>
            {move || pending.get().map(|p| {
                let url = p.authorize_url();
                view! {
                    <dl class="details pg-values">
                        {p.authorize_params().into_iter().map(|(k, v)| view! {
                            <dt>{k}</dt><dd><code>{v}</code></dd>
                        }).collect_view()}
                    </dl>
                    <pre class="pg-json" data-testid="pg-authorize-url">{url.clone()}</pre>
                    <p><a class="button" href=url rel="external" data-testid="pg-authorize">
                        "Go to the authorization server"
                    </a></p>
                }
            })}
        </section>

        <section class="pg-step" aria-labelledby="pg-d">
            <h2 id="pg-d">"4. Back with a code"</h2>
            <p>
                "After you allow it, the server sends the browser back to this page with "
                <code>"code"</code> " and " <code>"state"</code> " in the address. The client first "
                "compares the state with the one it stored: a mismatch means the answer is not for "
                "its request (cross-site request forgery), and it must stop there. Then it removes "
                "the code from the address bar (" <code>"history.replaceState"</code> "), so it is not "
                "left in the history or shared by copying the link. The code works once, for 60 seconds."
            </p>
            {move || callback.get().map(|cb| {
                let (label, ok) = match &cb.check {
                    StateCheck::Match => ("match: this answer is for our request".to_owned(), true),
                    StateCheck::Mismatch { .. } => ("mismatch: not our request (CSRF?): stop".to_owned(), false),
                    StateCheck::NoPending => ("no request of ours is pending in this tab: stop".to_owned(), false),
                    StateCheck::Missing => ("the answer has no state: stop".to_owned(), false),
                };
                let stored = pending.with_untracked(|p| p.as_ref().map(|p| p.state.clone()));
                view! {
                    {cb.error.clone().map(|e| view! {
                        <p class="pg-bad" data-testid="pg-callback-error">
                            "The authorization server answered " <code>{format!("error={e}")}</code>
                            {(e == "access_denied").then_some(": you chose Deny.")}
                        </p>
                    })}
                    <dl class="details pg-values">
                        <dt>"code"</dt><dd><code data-testid="pg-code">{value(cb.code.clone())}</code></dd>
                        <dt>"state (returned)"</dt><dd><code>{value(cb.state.clone())}</code></dd>
                        <dt>"state (stored)"</dt><dd><code>{value(stored)}</code></dd>
                        <dt>"comparison"</dt>
                        <dd data-testid="pg-state-check" class={if ok { "pg-ok" } else { "pg-bad" }}>{label}</dd>
                    </dl>
                }
            })}
        </section>

        <section class="pg-step" aria-labelledby="pg-e">
            <h2 id="pg-e">"5. Exchange the code for tokens"</h2>
            <p>
                "Now, and only now, the verifier leaves the browser: the client posts the code, the "
                "same redirect URI and the verifier to " <code>"/oauth/token"</code> " as a form. "
                "There is no client secret (a browser cannot keep one) and no cookie: the verifier "
                "is the proof that whoever redeems the code started the request."
            </p>
            {move || token_body().map(|body| view! {
                <pre class="pg-json" data-testid="pg-token-request">{flow::http_request_text(&body)}</pre>
            })}
            <button type="button" data-testid="pg-exchange"
                disabled=move || busy.get() || fresh_code().is_none()
                on:click=move |_| send_exchange()>
                "Send the token request"
            </button>
            {move || exchange.get().map(|e| view! {
                <p>"Status " <strong data-testid="pg-token-status">{e.status}</strong></p>
                <pre class="pg-json" data-testid="pg-token-response">{e.shown}</pre>
                <p class="hint">
                    "The access token is shown whole: the next step decodes it. The refresh token, "
                    "a long-lived secret, is masked."
                </p>
            })}
        </section>

        <section class="pg-step" aria-labelledby="pg-f">
            <h2 id="pg-f">"6. Decode the access token"</h2>
            <p>
                "The access token is a JWT: three base64url parts, header, claims and signature. "
                "Decoding needs no key, so this page only reads it: nothing here is verified. The "
                "server checks the RS256 signature against its public keys ("
                <a href="/.well-known/jwks.json" rel="external">"/.well-known/jwks.json"</a>
                "), the issuer, the audience, the expiry and that the session is still live."
            </p>
            {move || decoded().map(|d| match d {
                Ok(jwt) => view! {
                    <h3>"Header"</h3>
                    <pre class="pg-json" data-testid="pg-jwt-header">{jwt.header_pretty()}</pre>
                    <h3>"Claims"</h3>
                    <pre class="pg-json" data-testid="pg-jwt-claims">{jwt.claims_pretty()}</pre>
                    <dl class="details pg-claims">
                        {flow::explain_claims(&jwt.claims).into_iter().map(|(k, v, meaning)| view! {
                            <dt><code>{k}</code></dt>
                            <dd><code>{v}</code><br/>{meaning}</dd>
                        }).collect_view()}
                    </dl>
                    <p class="hint">{format!("Signature: {} bytes (RSA-2048 with SHA-256).", jwt.signature_len)}</p>
                }.into_any(),
                Err(e) => view! { <p class="pg-bad">{e}</p> }.into_any(),
            })}
        </section>

        <section class="pg-step" aria-labelledby="pg-g">
            <h2 id="pg-g">"7. Tamper with a step"</h2>
            <p>
                "Each button does the real request with one thing changed, then shows the server's "
                "answer and the entry it wrote in the audit log (the newest matching one from your "
                "own activity, " <code>"GET /api/v1/me/activity"</code> "). A wrong verifier and a "
                "changed redirect URI need a fresh code; reusing needs a code already exchanged "
                "(step 5). " <em>"Start again"</em> " makes a new verifier and state and goes to the "
                "authorization server."
            </p>
            <div class="actions pg-tampers">
                <button type="button" data-testid="pg-tamper-verifier"
                    disabled=move || busy.get() || fresh_code().is_none()
                    on:click=move |_| tamper(Tamper::Verifier)>"Wrong verifier"</button>
                <button type="button" data-testid="pg-tamper-reuse"
                    disabled=move || busy.get() || !exchanged()
                    on:click=move |_| tamper(Tamper::Reuse)>"Reuse the code"</button>
                <button type="button" data-testid="pg-tamper-redirect"
                    disabled=move || busy.get() || fresh_code().is_none()
                    on:click=move |_| tamper(Tamper::Redirect)>"Change the redirect URI"</button>
                <button type="button" data-testid="pg-tamper-state"
                    disabled=move || busy.get() || callback.with(|c| c.as_ref().is_none_or(|c| c.code.is_none()))
                    on:click=move |_| tamper(Tamper::State)>"Alter the state"</button>
                <button type="button" class="secondary" data-testid="pg-restart"
                    disabled=move || busy.get()
                    on:click=move |_| restart()>"Start again"</button>
            </div>
            {move || busy.get().then(|| view! { <p class="hint" role="status">"Sending…"</p> })}
            {move || report.get().map(|r| view! {
                <div class="pg-result" data-testid="pg-tamper-result" data-kind=format!("{:?}", r.kind)>
                    <h3>{r.kind.title()}</h3>
                    <p>{r.kind.expectation()}</p>
                    {r.request.map(|req| view! {
                        <h4>"Request"</h4>
                        <pre class="pg-json">{req}</pre>
                    })}
                    {r.answer.map(|(status, text)| view! {
                        <h4>"The server's answer"</h4>
                        <p>"Status " <strong data-testid="pg-tamper-status">{status}</strong></p>
                        <pre class="pg-json" data-testid="pg-tamper-answer">{text}</pre>
                    })}
                    <ul class="pg-findings">
                        {r.lines.into_iter().map(|l| view! { <li>{l}</li> }).collect_view()}
                    </ul>
                    {(r.kind != Tamper::State).then(|| match r.entry {
                        Some(entry) => view! {
                            <h4>"The audit entry"</h4>
                            <pre class="pg-json" data-testid="pg-tamper-audit">{flow::entry_for_display(&entry)}</pre>
                        }.into_any(),
                        None => view! {
                            <p class="hint" data-testid="pg-tamper-audit">"No matching entry in your activity."</p>
                        }.into_any(),
                    })}
                </div>
            })}
        </section>
        </div>
    }
}
