//! The OAuth playground's browser side (wasm only): randomness,
//! `sessionStorage`, the address bar and fetch. Apart from the page
//! (`oauth.rs`) so the page reads as the flow, and this as the web APIs it
//! calls.

use super::flow::{self, Callback, Pending};
use super::model::{Exchange, Tamper, TamperReport};
use gloo_net::http::Request;
use leptos::prelude::*;
use web_sys::RequestCredentials;
use wire::ActivityEntry;

const UNREACHABLE: &str = "Could not reach the server. Check your connection and try again.";

/// On arrival: an authorization response in the address takes the
/// pending request out of storage (once: a replayed link finds none),
/// checks the state and cleans the address bar; otherwise a request
/// started in this tab is shown again.
pub fn on_load(pending: RwSignal<Option<Pending>>, callback: RwSignal<Option<Callback>>) {
    let query = location_query();
    let stored = remembered();
    match Callback::from_query(&query, stored.as_ref()) {
        Some(cb) => {
            forget();
            clean_address_bar();
            pending.set(stored);
            callback.set(Some(cb));
        }
        None => pending.set(stored),
    }
}

fn random<const N: usize>() -> Option<[u8; N]> {
    let crypto = web_sys::window()?.crypto().ok()?;
    let mut bytes = [0_u8; N];
    crypto.get_random_values_with_u8_array(&mut bytes).ok()?;
    Some(bytes)
}

/// Steps a and b: a verifier and a state from the CSPRNG, the challenge.
pub fn new_pending() -> Option<Pending> {
    let origin = web_sys::window()?.location().origin().ok()?;
    Some(Pending::new(&random::<32>()?, &random::<16>()?, &origin))
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.session_storage().ok()?
}

pub fn remember(p: &Pending) {
    if let (Some(s), Ok(json)) = (storage(), serde_json::to_string(p)) {
        let _ = s.set_item(flow::STORAGE_KEY, &json);
    }
}

fn remembered() -> Option<Pending> {
    let json = storage()?.get_item(flow::STORAGE_KEY).ok()??;
    serde_json::from_str(&json).ok()
}

fn forget() {
    if let Some(s) = storage() {
        let _ = s.remove_item(flow::STORAGE_KEY);
    }
}

fn location_query() -> String {
    web_sys::window()
        .and_then(|w| w.location().search().ok())
        .unwrap_or_default()
}

fn clean_address_bar() {
    if let Some(history) = web_sys::window().and_then(|w| w.history().ok()) {
        let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(flow::PATH));
    }
}

/// `POST /oauth/token` as a form, without cookies (a client has none):
/// the status and the body.
pub async fn post_token(body: &str) -> Result<(u16, String), String> {
    let request = Request::post("/oauth/token")
        .credentials(RequestCredentials::Omit)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(body.to_owned())
        .map_err(|_| UNREACHABLE.to_owned())?;
    let resp = request.send().await.map_err(|_| UNREACHABLE.to_owned())?;
    let text = resp.text().await.unwrap_or_default();
    Ok((resp.status(), text))
}

/// `GET /api/v1/me` with an access token and nothing else: its status.
async fn me_with(token: &str) -> Result<u16, String> {
    let resp = Request::get("/api/v1/me")
        .credentials(RequestCredentials::Omit)
        .header("Authorization", &format!("Bearer {token}"))
        .send()
        .await
        .map_err(|_| UNREACHABLE.to_owned())?;
    Ok(resp.status())
}

/// My activity (with this browser's own session, not the playground's).
async fn activity() -> Vec<ActivityEntry> {
    crate::client::get_json("/api/v1/me/activity")
        .await
        .unwrap_or_default()
}

fn answered(
    kind: Tamper,
    body: &str,
    answer: Result<(u16, String), String>,
) -> (TamperReport, bool) {
    let mut report = TamperReport {
        kind,
        request: Some(flow::http_request_text(body)),
        answer: None,
        entry: None,
        lines: Vec::new(),
    };
    match answer {
        Ok((status, text)) => {
            report.answer = Some((status, flow::response_for_display(&text)));
            (report, true)
        }
        Err(e) => {
            report.lines.push(e);
            (report, false)
        }
    }
}

/// Sends a token request that should be refused, then looks up the
/// audit entry it left.
pub async fn refused_exchange(kind: Tamper, body: String, actions: &[&str]) -> TamperReport {
    let answer = post_token(&body).await;
    let (mut report, reached) = answered(kind, &body, answer);
    if reached {
        report.entry = flow::newest_entry(&activity().await, actions).cloned();
        if kind == Tamper::Verifier || kind == Tamper::Redirect {
            report.lines.push(
                "The code was not used up: the real client can still exchange it (step 5), \
                 within its 60 seconds."
                    .into(),
            );
        }
    }
    report
}

/// Sends the first exchange's request again; checks the first access
/// token before and after.
pub async fn reuse(first: Exchange) -> TamperReport {
    let token = first.access_token.clone().unwrap_or_default();
    let before = me_with(&token).await;
    let answer = post_token(&first.body).await;
    let (mut report, reached) = answered(Tamper::Reuse, &first.body, answer);
    let after = me_with(&token).await;
    let show = |r: &Result<u16, String>| match r {
        Ok(200) => "200: it works".to_owned(),
        Ok(401) => "401: refused, the session is gone".to_owned(),
        Ok(s) => s.to_string(),
        Err(e) => e.clone(),
    };
    report.lines.push(format!(
        "GET /api/v1/me with the first access token, before: {}",
        show(&before)
    ));
    report.lines.push(format!(
        "GET /api/v1/me with the first access token, after: {}",
        show(&after)
    ));
    if reached {
        report.entry = flow::newest_entry(&activity().await, &["oauth.code_reuse"]).cloned();
    }
    report
}
