//! Calls from the browser to the JSON API (hydrate builds only). The session
//! cookie is HttpOnly: this code never sees it, the browser attaches it.

use gloo_net::http::{Request, Response};
use wire::ErrorBody;

/// GETs `url` and parses the JSON answer; `None` on any failure (a 401 included).
pub async fn get_json<T: serde::de::DeserializeOwned>(url: &str) -> Option<T> {
    let resp = Request::get(url).send().await.ok()?;
    if resp.ok() {
        resp.json().await.ok()
    } else {
        None
    }
}

/// POSTs `body` as JSON; the error body the API returned, or a stand-in.
pub async fn post_json<T: serde::Serialize>(url: &str, body: &T) -> Result<(), ErrorBody> {
    send(url, body).await.map(|_| ())
}

/// POSTs `body` as JSON and parses the JSON answer.
pub async fn post_json_for<T: serde::Serialize, R: serde::de::DeserializeOwned>(
    url: &str,
    body: &T,
) -> Result<R, ErrorBody> {
    let resp = send(url, body).await?;
    resp.json().await.map_err(|_| network_error())
}

/// PUTs `body` as JSON; the error body the API returned, or a stand-in.
pub async fn put_json<T: serde::Serialize>(url: &str, body: &T) -> Result<(), ErrorBody> {
    let request = Request::put(url).json(body).map_err(|_| network_error())?;
    checked(request.send().await).await.map(|_| ())
}

/// DELETEs `url`; the error body the API returned, or a stand-in.
pub async fn delete(url: &str) -> Result<(), ErrorBody> {
    checked(Request::delete(url).send().await).await.map(|_| ())
}

async fn send<T: serde::Serialize>(url: &str, body: &T) -> Result<Response, ErrorBody> {
    let request = Request::post(url).json(body).map_err(|_| network_error())?;
    checked(request.send().await).await
}

/// A successful answer, or the error body of an unsuccessful one.
async fn checked(sent: Result<Response, gloo_net::Error>) -> Result<Response, ErrorBody> {
    let resp = sent.map_err(|_| network_error())?;
    if resp.ok() {
        Ok(resp)
    } else {
        Err(error_body(resp).await)
    }
}

async fn error_body(resp: Response) -> ErrorBody {
    resp.json::<ErrorBody>()
        .await
        .unwrap_or_else(|_| ErrorBody {
            error: format!("The server answered {}.", resp.status()),
            request_id: String::new(),
            fields: Vec::new(),
        })
}

fn network_error() -> ErrorBody {
    ErrorBody {
        error: "Could not reach the server. Check your connection and try again.".into(),
        request_id: String::new(),
        fields: Vec::new(),
    }
}

/// A full page load, so the server renders the next page with the new session.
pub fn go_to(path: &str) {
    if let Some(window) = web_sys::window() {
        let _ = window.location().assign(path);
    }
}

/// Loads the current page again from the server (after a step-up, so every
/// part of it reflects the new elevation).
pub fn reload() {
    if let Some(window) = web_sys::window() {
        let _ = window.location().reload();
    }
}
