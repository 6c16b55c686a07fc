//! An example OAuth 2.0 client of this app, written with the `oauth2` crate:
//! the authorization code flow with PKCE (`S256`) and a loopback redirect
//! (RFC 8252 §7.3), then `GET /api/v1/me` with the access token.
//!
//! [`run`] does the whole sign-in:
//!
//! 1. reads the server's metadata (RFC 8414) at
//!    `<issuer>/.well-known/oauth-authorization-server` and checks that it
//!    names the same issuer and supports `S256`;
//! 2. listens on `127.0.0.1`, on a port the system picks; the redirect URI is
//!    `http://127.0.0.1:<port>/callback` (the client is registered with
//!    `http://127.0.0.1/callback`: the server accepts any port on loopback);
//! 3. builds the authorization URL with a fresh PKCE verifier and CSRF
//!    `state`, and hands it to the caller's `open_browser` hook;
//! 4. waits (at most [`Config::wait`]) for the one request to `/callback`,
//!    checks its `state` before anything else — a mismatch ends the flow
//!    without using the code — and answers the browser with a short page;
//! 5. exchanges the code (with the verifier, and the client secret for a
//!    confidential client) at the token endpoint;
//! 6. calls `GET <issuer>/api/v1/me` with the bearer token.
//!
//! Tokens never leave this module whole: [`SignedIn`] carries only the first
//! characters of the access token. The server's URLs must be `https`, or
//! `http` on a loopback address.

use oauth2::basic::{BasicClient, BasicErrorResponse};
use oauth2::url::{form_urlencoded, Host, Url};
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, HttpRequest, HttpResponse,
    PkceCodeChallenge, RedirectUrl, RequestTokenError, Scope, TokenResponse, TokenUrl,
};
use serde::Deserialize;
use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The path of the loopback redirect URI.
pub const CALLBACK_PATH: &str = "/callback";
/// How long one HTTP request to the server may take.
const HTTP_TIMEOUT: Duration = Duration::from_secs(30);
/// The largest response body read from the server.
const MAX_BODY: u64 = 1024 * 1024;
/// The largest request head accepted on the loopback listener.
const MAX_CALLBACK_HEAD: usize = 16 * 1024;
/// How much of a server- or redirect-supplied text goes into an error.
const MAX_ECHO: usize = 200;

/// What to sign in to, and as which client.
#[derive(Clone)]
pub struct Config {
    /// The server's base URL, like `http://127.0.0.1:3000`.
    pub issuer: String,
    pub client_id: String,
    /// For a confidential client; sent with HTTP Basic authentication.
    pub client_secret: Option<String>,
    /// The scopes to ask for (none: the client's registered scopes).
    pub scopes: Vec<String>,
    /// How long to wait for the browser to come back to the loopback URI.
    pub wait: Duration,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "[redacted]"),
            )
            .field("scopes", &self.scopes)
            .field("wait", &self.wait)
            .finish()
    }
}

/// The outcome of a sign-in.
#[derive(Clone, Debug)]
pub struct SignedIn {
    /// The first 8 characters of the access token and `…`.
    pub token_preview: String,
    /// The granted scopes, as the token response lists them.
    pub scopes: Vec<String>,
    pub expires_in: Option<Duration>,
    /// The body of `GET /api/v1/me`.
    pub me: serde_json::Value,
}

/// Why a sign-in failed. No variant carries a token, a code or a secret.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{what} is not a valid URL: {reason}")]
    BadUrl { what: &'static str, reason: String },
    #[error("{0} must use https, or http on a loopback address")]
    Insecure(String),
    #[error("reading the server metadata at {url} failed: {reason}")]
    Discovery { url: String, reason: String },
    #[error("the server metadata names the issuer {found}, not {expected}")]
    IssuerMismatch { expected: String, found: String },
    #[error("the server does not offer PKCE with S256")]
    NoS256,
    #[error("cannot listen on 127.0.0.1: {0}")]
    Listen(std::io::Error),
    #[error("no sign-in came back within {0} s")]
    Timeout(u64),
    #[error("the redirect's state does not match this sign-in (a forged or stale redirect); its code was not used")]
    StateMismatch,
    #[error("the redirect is malformed: {0}")]
    Callback(String),
    #[error("the authorization was refused: {error}{}", description_suffix(.description))]
    Authorization {
        error: String,
        description: Option<String>,
    },
    #[error("the token endpoint refused the code: {error}{}", description_suffix(.description))]
    TokenRefused {
        error: String,
        description: Option<String>,
    },
    #[error("the token request failed: {0}")]
    TokenRequest(String),
    #[error("GET /api/v1/me answered {status}: {body}")]
    Me { status: u16, body: String },
    #[error("GET /api/v1/me failed: {0}")]
    MeRequest(String),
}

fn description_suffix(d: &Option<String>) -> String {
    d.as_ref().map_or_else(String::new, |d| format!(" ({d})"))
}

/// `s` safe to print on a terminal: control characters (escape sequences)
/// other than newlines replaced, and cut to `max` characters.
pub fn printable(s: &str, max: usize) -> String {
    let mut out: String = s
        .chars()
        .take(max)
        .map(|c| if c.is_control() && c != '\n' { '?' } else { c })
        .collect();
    if s.chars().count() > max {
        out.push('…');
    }
    out
}

/// The first 8 characters of a token, then `…`: enough to tell tokens apart,
/// useless to anyone reading over your shoulder.
pub fn preview(token: &str) -> String {
    let head: String = token.chars().take(8).collect();
    format!("{head}…")
}

/// `https`, or `http` to a loopback host.
fn secure(url: &Url) -> bool {
    match url.scheme() {
        "https" => true,
        "http" => match url.host() {
            Some(Host::Ipv4(ip)) => ip.is_loopback(),
            Some(Host::Ipv6(ip)) => ip.is_loopback(),
            Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
            None => false,
        },
        _ => false,
    }
}

fn parse_url(what: &'static str, s: &str) -> Result<Url, Error> {
    let url = Url::parse(s).map_err(|e| Error::BadUrl {
        what,
        reason: e.to_string(),
    })?;
    if secure(&url) {
        Ok(url)
    } else {
        Err(Error::Insecure(format!(
            "{what} {}",
            printable(s, MAX_ECHO)
        )))
    }
}

// ------------------------------------------------------------------- HTTP

/// The HTTP client for `oauth2` and our own calls: ureq over rustls, no
/// redirects followed (the token endpoint must answer itself), error
/// statuses returned as responses (so `oauth2` can read the error body).
pub struct Http(ureq::Agent);

impl Http {
    pub fn new() -> Self {
        use ureq::tls::{TlsConfig, TlsProvider};
        let tls = TlsConfig::builder()
            .provider(TlsProvider::Rustls)
            .unversioned_rustls_crypto_provider(Arc::new(
                rustls::crypto::aws_lc_rs::default_provider(),
            ))
            .build();
        let config = ureq::Agent::config_builder()
            .tls_config(tls)
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(HTTP_TIMEOUT))
            .build();
        Self(ureq::Agent::new_with_config(config))
    }

    /// `GET url` with optional bearer token: the status and the body.
    fn get(&self, url: &str, bearer: Option<&str>) -> Result<(u16, Vec<u8>), ureq::Error> {
        let mut req = self.0.get(url).header("Accept", "application/json");
        if let Some(token) = bearer {
            req = req.header("Authorization", &format!("Bearer {token}"));
        }
        let mut response = req.call()?;
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_BODY)
            .read_to_vec()?;
        Ok((status, body))
    }
}

impl Default for Http {
    fn default() -> Self {
        Self::new()
    }
}

/// A failed HTTP exchange, as `oauth2` sees it.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct TransportError(String);

impl oauth2::SyncHttpClient for Http {
    type Error = TransportError;

    fn call(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let mut response = self
            .0
            .run(request)
            .map_err(|e| TransportError(e.to_string()))?;
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_BODY)
            .read_to_vec()
            .map_err(|e| TransportError(e.to_string()))?;
        let mut out = HttpResponse::new(body);
        *out.status_mut() = response.status();
        *out.headers_mut() = response.headers().clone();
        Ok(out)
    }
}

// ------------------------------------------------------------- discovery

/// The parts of the RFC 8414 metadata this client uses.
#[derive(Debug, Deserialize)]
struct Metadata {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    #[serde(default)]
    code_challenge_methods_supported: Vec<String>,
}

/// The endpoints, read from the metadata and checked.
#[derive(Debug)]
pub struct Endpoints {
    pub issuer: Url,
    pub authorization: Url,
    pub token: Url,
}

/// Reads and checks `<issuer>/.well-known/oauth-authorization-server`.
pub fn discover(http: &Http, issuer: &str) -> Result<Endpoints, Error> {
    let issuer = issuer.trim_end_matches('/');
    let issuer_url = parse_url("the issuer", issuer)?;
    let url = format!("{issuer}/.well-known/oauth-authorization-server");
    let failed = |reason: String| Error::Discovery {
        url: url.clone(),
        reason,
    };
    let (status, body) = http.get(&url, None).map_err(|e| failed(e.to_string()))?;
    if status != 200 {
        return Err(failed(format!("status {status}")));
    }
    let meta: Metadata =
        serde_json::from_slice(&body).map_err(|e| failed(format!("unreadable JSON: {e}")))?;
    // RFC 8414 §3.3: the metadata must be about the issuer we asked.
    if meta.issuer.trim_end_matches('/') != issuer {
        return Err(Error::IssuerMismatch {
            expected: issuer.to_owned(),
            found: printable(&meta.issuer, MAX_ECHO),
        });
    }
    if !meta
        .code_challenge_methods_supported
        .iter()
        .any(|m| m == "S256")
    {
        return Err(Error::NoS256);
    }
    Ok(Endpoints {
        issuer: issuer_url,
        authorization: parse_url("the authorization endpoint", &meta.authorization_endpoint)?,
        token: parse_url("the token endpoint", &meta.token_endpoint)?,
    })
}

// ------------------------------------------------------ loopback redirect

/// The listener the browser comes back to, on `127.0.0.1` and a free port.
pub struct Loopback {
    listener: TcpListener,
    redirect_uri: String,
}

impl Loopback {
    pub fn bind() -> Result<Self, Error> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).map_err(Error::Listen)?;
        listener.set_nonblocking(true).map_err(Error::Listen)?;
        let port = listener.local_addr().map_err(Error::Listen)?.port();
        Ok(Self {
            listener,
            redirect_uri: format!("http://127.0.0.1:{port}{CALLBACK_PATH}"),
        })
    }

    /// `http://127.0.0.1:<port>/callback`.
    pub fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }

    /// Waits for `GET /callback?…` until `deadline`; other requests (a
    /// browser's `/favicon.ico`) get a 404 and the wait goes on. Returns the
    /// connection, to answer once the query is judged, and the query.
    fn accept_callback(
        &self,
        deadline: Instant,
        wait: Duration,
    ) -> Result<(TcpStream, String), Error> {
        loop {
            match self.listener.accept() {
                Ok((mut stream, _)) => match read_target(&mut stream) {
                    Some(target) => {
                        let (path, query) = target.split_once('?').unwrap_or((&target, ""));
                        if path == CALLBACK_PATH {
                            return Ok((stream, query.to_owned()));
                        }
                        respond(&mut stream, "404 Not Found", "Not found.");
                    }
                    None => respond(&mut stream, "400 Bad Request", "Bad request."),
                },
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    if Instant::now() >= deadline {
                        return Err(Error::Timeout(wait.as_secs()));
                    }
                    std::thread::sleep(Duration::from_millis(25));
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::Listen(e)),
            }
        }
    }
}

/// The target of a `GET` request, from its head (at most 16 KiB, 5 s).
fn read_target(stream: &mut TcpStream) -> Option<String> {
    stream.set_nonblocking(false).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    stream
        .set_write_timeout(Some(Duration::from_secs(5)))
        .ok()?;
    let mut head = Vec::new();
    let mut buf = [0u8; 2048];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).ok()?;
        if n == 0 || head.len() + n > MAX_CALLBACK_HEAD {
            return None;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let head = std::str::from_utf8(&head).ok()?;
    let mut parts = head.lines().next()?.split(' ');
    match (parts.next(), parts.next(), parts.next()) {
        (Some("GET"), Some(target), Some(v)) if v.starts_with("HTTP/1.") => Some(target.to_owned()),
        _ => None,
    }
}

/// A small HTML answer; the connection closes after it. The page does not
/// pass the URL (which holds the code) on as a referrer.
fn respond(stream: &mut TcpStream, status: &str, message: &str) {
    let body = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>oauth-cli</title></head><body><p>{message}</p></body></html>"
    );
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\n\
         Content-Length: {}\r\nCache-Control: no-store\r\nReferrer-Policy: no-referrer\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
    // The browser may be gone already; the sign-in goes on regardless.
    let _ = stream.write_all(response.as_bytes());
    let _ = stream.flush();
}

/// The callback's query as a map; a repeated parameter is refused
/// (RFC 6749 §3.1).
fn callback_params(query: &str) -> Result<HashMap<String, String>, Error> {
    let mut params = HashMap::new();
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        if params.insert(k.to_string(), v.to_string()).is_some() {
            return Err(Error::Callback(format!(
                "parameter {} repeated",
                printable(&k, 40)
            )));
        }
    }
    Ok(params)
}

/// Judges the redirect: the `state` first (a mismatch is never acted on),
/// then an error, then the code.
fn judge_callback(query: &str, expected_state: &CsrfToken) -> Result<AuthorizationCode, Error> {
    let params = callback_params(query)?;
    if params.get("state").map(String::as_str) != Some(expected_state.secret().as_str()) {
        return Err(Error::StateMismatch);
    }
    if let Some(error) = params.get("error") {
        return Err(Error::Authorization {
            error: printable(error, MAX_ECHO),
            description: params
                .get("error_description")
                .map(|d| printable(d, MAX_ECHO)),
        });
    }
    match params.get("code") {
        Some(code) if !code.is_empty() => Ok(AuthorizationCode::new(code.clone())),
        _ => Err(Error::Callback("no code".into())),
    }
}

// ------------------------------------------------------------------ flow

/// Signs in through the browser and reads `/api/v1/me`. `open_browser`
/// receives the authorization URL: print it, open it, or (in tests) follow
/// it. It is called once, after the loopback listener is ready.
pub fn run(config: &Config, open_browser: impl FnOnce(&str)) -> Result<SignedIn, Error> {
    let http = Http::new();
    let endpoints = discover(&http, &config.issuer)?;
    let loopback = Loopback::bind()?;
    let redirect =
        RedirectUrl::new(loopback.redirect_uri().to_owned()).map_err(|e| Error::BadUrl {
            what: "the redirect URI",
            reason: e.to_string(),
        })?;
    let client = BasicClient::new(ClientId::new(config.client_id.clone()))
        .set_auth_uri(AuthUrl::from_url(endpoints.authorization.clone()))
        .set_token_uri(TokenUrl::from_url(endpoints.token.clone()))
        .set_redirect_uri(redirect);
    let client = match &config.client_secret {
        Some(secret) => client.set_client_secret(ClientSecret::new(secret.clone())),
        None => client,
    };

    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (authorize_url, state) = client
        .authorize_url(CsrfToken::new_random)
        .add_scopes(config.scopes.iter().cloned().map(Scope::new))
        .set_pkce_challenge(challenge)
        .url();

    let deadline = Instant::now() + config.wait;
    open_browser(authorize_url.as_str());
    let (mut stream, query) = loopback.accept_callback(deadline, config.wait)?;
    drop(loopback);
    let code = match judge_callback(&query, &state) {
        Ok(code) => {
            respond(
                &mut stream,
                "200 OK",
                "Signed in. You can close this window and return to the terminal.",
            );
            code
        }
        Err(e) => {
            respond(
                &mut stream,
                "400 Bad Request",
                "Sign-in failed. The terminal says why.",
            );
            return Err(e);
        }
    };
    drop(stream);

    let token = client
        .exchange_code(code)
        .set_pkce_verifier(verifier)
        .request(&http)
        .map_err(token_error)?;
    let access = token.access_token().secret();
    let me_url = format!(
        "{}/api/v1/me",
        endpoints.issuer.as_str().trim_end_matches('/')
    );
    let (status, body) = http
        .get(&me_url, Some(access))
        .map_err(|e| Error::MeRequest(e.to_string()))?;
    if status != 200 {
        return Err(Error::Me {
            status,
            body: printable(&String::from_utf8_lossy(&body), MAX_ECHO),
        });
    }
    let me = serde_json::from_slice(&body)
        .map_err(|e| Error::MeRequest(format!("unreadable JSON: {e}")))?;
    Ok(SignedIn {
        token_preview: preview(access),
        scopes: token
            .scopes()
            .map(|s| s.iter().map(|s| s.to_string()).collect())
            .unwrap_or_default(),
        expires_in: token.expires_in(),
        me,
    })
}

fn token_error(e: RequestTokenError<TransportError, BasicErrorResponse>) -> Error {
    match e {
        RequestTokenError::ServerResponse(r) => Error::TokenRefused {
            error: printable(r.error().as_ref(), MAX_ECHO),
            description: r.error_description().map(|d| printable(d, MAX_ECHO)),
        },
        RequestTokenError::Request(e) => Error::TokenRequest(e.to_string()),
        RequestTokenError::Parse(e, _) => {
            Error::TokenRequest(format!("unreadable token response: {e}"))
        }
        RequestTokenError::Other(s) => Error::TokenRequest(printable(&s, MAX_ECHO)),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn only_https_or_loopback_http_is_accepted() {
        for ok in [
            "https://auth.example",
            "http://127.0.0.1:3000",
            "http://[::1]:3000",
            "http://localhost:3000",
        ] {
            assert!(secure(&Url::parse(ok).unwrap()), "{ok}");
        }
        for bad in [
            "http://auth.example",
            "http://10.0.0.1",
            "ftp://127.0.0.1",
            "http://localhost.example",
        ] {
            assert!(!secure(&Url::parse(bad).unwrap()), "{bad}");
        }
        assert!(matches!(
            parse_url("the issuer", "http://auth.example"),
            Err(Error::Insecure(_))
        ));
    }

    #[test]
    fn the_state_is_checked_before_anything_else() {
        let state = CsrfToken::new("s1".into());
        assert!(matches!(
            judge_callback("code=abc&state=s2", &state),
            Err(Error::StateMismatch)
        ));
        assert!(matches!(
            judge_callback("code=abc", &state),
            Err(Error::StateMismatch)
        ));
        // An error without our state is not believed either.
        assert!(matches!(
            judge_callback("error=access_denied&state=s2", &state),
            Err(Error::StateMismatch)
        ));
        match judge_callback(
            "error=access_denied&error_description=no%1B[2J&state=s1",
            &state,
        ) {
            Err(Error::Authorization { error, description }) => {
                assert_eq!(error, "access_denied");
                assert_eq!(description.as_deref(), Some("no?[2J"), "escape defused");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            judge_callback("state=s1", &state),
            Err(Error::Callback(_))
        ));
        assert!(matches!(
            judge_callback("code=a&code=b&state=s1", &state),
            Err(Error::Callback(_))
        ));
        let code = judge_callback("code=a%2Bb&state=s1", &state).unwrap();
        assert_eq!(code.secret(), "a+b");
    }

    #[test]
    fn tokens_are_previewed_not_shown() {
        assert_eq!(preview("eyJhbGciOiJSUzI1NiJ9.payload"), "eyJhbGci…");
        assert_eq!(printable("a\u{1b}b\nc\u{9b}", 10), "a?b\nc?");
        assert_eq!(printable("abcdef", 3), "abc…");
        let c = Config {
            issuer: "http://127.0.0.1:3000".into(),
            client_id: "id".into(),
            client_secret: Some("very-secret".into()),
            scopes: vec![],
            wait: Duration::from_secs(1),
        };
        assert!(!format!("{c:?}").contains("very-secret"));
    }

    #[test]
    fn the_listener_serves_one_callback_and_ignores_other_paths() {
        let loopback = Loopback::bind().unwrap();
        let uri = loopback.redirect_uri().to_owned();
        assert!(uri.starts_with("http://127.0.0.1:") && uri.ends_with("/callback"));
        let addr = uri
            .trim_start_matches("http://")
            .trim_end_matches("/callback")
            .to_owned();
        let browser = std::thread::spawn(move || {
            let get = |target: &str| {
                let mut s = TcpStream::connect(&addr).unwrap();
                write!(s, "GET {target} HTTP/1.1\r\nHost: {addr}\r\n\r\n").unwrap();
                let mut answer = String::new();
                s.read_to_string(&mut answer).unwrap();
                answer
            };
            (get("/favicon.ico"), get("/callback?code=c&state=s"))
        });
        let wait = Duration::from_secs(10);
        let (mut stream, query) = loopback
            .accept_callback(Instant::now() + wait, wait)
            .unwrap();
        assert_eq!(query, "code=c&state=s");
        respond(&mut stream, "200 OK", "done");
        drop(stream);
        let (favicon, callback) = browser.join().unwrap();
        assert!(favicon.starts_with("HTTP/1.1 404"), "{favicon}");
        assert!(callback.starts_with("HTTP/1.1 200"), "{callback}");
        assert!(callback.contains("Referrer-Policy: no-referrer"));
    }

    #[test]
    fn waiting_ends_at_the_deadline() {
        let loopback = Loopback::bind().unwrap();
        let wait = Duration::from_millis(100);
        assert!(matches!(
            loopback.accept_callback(Instant::now() + wait, wait),
            Err(Error::Timeout(0))
        ));
    }
}
