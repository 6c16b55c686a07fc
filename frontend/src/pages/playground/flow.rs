//! The OAuth playground's client logic, free of the browser: the pending
//! authorization request, the authorize URL, the callback's state check, the
//! token request's body, decoding a JWT for display, and what the page shows
//! of a token response. The page calls these; the tests check them.
// Much of this runs only in the browser: the server renders the steps'
// explanations, not the flow.
#![cfg_attr(not(feature = "hydrate"), allow(dead_code))]

use crate::format::encode;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use wire::pkce;
use wire::ActivityEntry;

/// The built-in demo client (registered by the server at start-up).
pub const CLIENT_ID: &str = "oauth-playground";
/// The one scope it asks for: your own account.
pub const SCOPE: &str = "account";
/// This page, which is also the redirect URI's path.
pub const PATH: &str = "/playground/oauth";
/// Where the pending request waits in `sessionStorage` during the round trip.
pub const STORAGE_KEY: &str = "oauth-playground.pending";

/// An authorization request the client has started and not finished: what
/// it must remember across the trip to the authorization server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    /// The PKCE secret: stays in this browser until the token request.
    pub verifier: String,
    /// Ties the answer to this request (against CSRF).
    pub state: String,
    /// `BASE64URL(SHA-256(verifier))`: what the authorization server gets.
    pub challenge: String,
    /// This page's address at this origin.
    pub redirect_uri: String,
}

impl Pending {
    /// A new request from fresh random bytes (the browser's CSPRNG).
    pub fn new(verifier_bytes: &[u8; 32], state_bytes: &[u8; 16], origin: &str) -> Self {
        let verifier = pkce::verifier_from_random(verifier_bytes);
        Self {
            challenge: pkce::s256_challenge(&verifier),
            state: pkce::random_token(state_bytes),
            redirect_uri: format!("{}{PATH}", origin.trim_end_matches('/')),
            verifier,
        }
    }

    /// SHA-256 of the verifier in hex (the step between verifier and challenge).
    pub fn digest_hex(&self) -> String {
        pkce::hex(&pkce::sha256(&self.verifier))
    }

    /// The authorization request's parameters, in the order shown.
    pub fn authorize_params(&self) -> Vec<(&'static str, String)> {
        vec![
            ("response_type", "code".to_owned()),
            ("client_id", CLIENT_ID.to_owned()),
            ("redirect_uri", self.redirect_uri.clone()),
            ("scope", SCOPE.to_owned()),
            ("state", self.state.clone()),
            ("code_challenge", self.challenge.clone()),
            ("code_challenge_method", "S256".to_owned()),
        ]
    }

    /// `/oauth/authorize?…` (same origin), every value percent-encoded.
    pub fn authorize_url(&self) -> String {
        let params = self.authorize_params();
        let pairs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
        format!("/oauth/authorize?{}", form_body(&pairs))
    }
}

/// `k=v&k=v`, keys and values percent-encoded (a form body, a query).
pub fn form_body(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The body of the authorization-code token request: what the client sends,
/// the verifier included, to `POST /oauth/token`.
pub fn token_request_body(code: &str, redirect_uri: &str, verifier: &str) -> String {
    form_body(&[
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect_uri),
        ("client_id", CLIENT_ID),
        ("code_verifier", verifier),
    ])
}

/// The request as it goes over the wire, for display.
pub fn http_request_text(body: &str) -> String {
    format!("POST /oauth/token\nContent-Type: application/x-www-form-urlencoded\n\n{body}")
}

/// Decodes one percent-encoded query component (`+` is a space).
pub fn decode_component(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b'%' if i + 2 < b.len()
                && b[i + 1].is_ascii_hexdigit()
                && b[i + 2].is_ascii_hexdigit() =>
            {
                let hi = char::from(b[i + 1]).to_digit(16).unwrap_or(0);
                let lo = char::from(b[i + 2]).to_digit(16).unwrap_or(0);
                out.push(u8::try_from(hi * 16 + lo).unwrap_or(b'?'));
                i += 3;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The value of `name` in a query string (`?a=1&b=2` or `a=1&b=2`).
pub fn query_value(query: &str, name: &str) -> Option<String> {
    query
        .trim_start_matches('?')
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| decode_component(k) == name)
        .map(|(_, v)| decode_component(v))
}

/// How the returned `state` compares with the one the client stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StateCheck {
    /// Same value: this answer belongs to our request.
    Match,
    /// Another value: not our request (CSRF, or a mixed-up tab). Stop.
    Mismatch { expected: String },
    /// No request of ours is pending in this tab: we never asked. Stop.
    NoPending,
    /// The answer carries no state at all. Stop.
    Missing,
}

impl StateCheck {
    pub fn check(pending: Option<&Pending>, returned: Option<&str>) -> Self {
        match (pending, returned) {
            (None, _) => Self::NoPending,
            (Some(_), None) => Self::Missing,
            (Some(p), Some(r)) if p.state == r => Self::Match,
            (Some(p), Some(_)) => Self::Mismatch {
                expected: p.state.clone(),
            },
        }
    }

    pub fn ok(&self) -> bool {
        *self == Self::Match
    }
}

/// What came back on `/playground/oauth?code=…&state=…` (or `?error=…`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Callback {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    pub check: StateCheck,
}

impl Callback {
    /// `None` when the query is not an authorization response at all.
    pub fn from_query(query: &str, pending: Option<&Pending>) -> Option<Self> {
        let code = query_value(query, "code").filter(|c| !c.is_empty());
        let state = query_value(query, "state");
        let error = query_value(query, "error").filter(|e| !e.is_empty());
        if code.is_none() && error.is_none() && state.is_none() {
            return None;
        }
        Some(Self {
            check: StateCheck::check(pending, state.as_deref()),
            code,
            state,
            error,
        })
    }

    /// A code we may exchange: present, and the state is ours.
    pub fn exchangeable_code(&self) -> Option<&str> {
        self.code.as_deref().filter(|_| self.check.ok())
    }
}

/// `abcdef…wxyz`: enough to recognise a secret, not to use it.
pub fn mask(secret: &str) -> String {
    let n = secret.chars().count();
    if n <= 12 {
        return "…".to_owned();
    }
    let head: String = secret.chars().take(6).collect();
    let tail: String = secret.chars().skip(n - 4).collect();
    format!("{head}…{tail}")
}

/// A token endpoint answer as shown: pretty JSON with the refresh token
/// masked (the access token stays whole: the next step decodes it). Not
/// JSON: the text as it came.
pub fn response_for_display(body: &str) -> String {
    match serde_json::from_str::<Value>(body) {
        Ok(mut v) => {
            if let Some(rt) = v.get_mut("refresh_token") {
                if let Some(s) = rt.as_str() {
                    *rt = Value::String(format!(
                        "{} (masked: a refresh token is a long-lived secret)",
                        mask(s)
                    ));
                }
            }
            serde_json::to_string_pretty(&v).unwrap_or_else(|_| body.to_owned())
        }
        Err(_) => body.to_owned(),
    }
}

/// A JWT's three parts, decoded (not verified).
#[derive(Clone, Debug, PartialEq)]
pub struct DecodedJwt {
    pub header: Value,
    pub claims: Value,
    /// Bytes of the signature.
    pub signature_len: usize,
}

impl DecodedJwt {
    pub fn header_pretty(&self) -> String {
        serde_json::to_string_pretty(&self.header).unwrap_or_default()
    }

    pub fn claims_pretty(&self) -> String {
        serde_json::to_string_pretty(&self.claims).unwrap_or_default()
    }
}

/// Splits `header.claims.signature` and base64url-decodes each part. This
/// only reads the token; whether it is genuine is for the server to check
/// (signature against the JWKS, issuer, audience, expiry, live session).
pub fn decode_jwt(token: &str) -> Result<DecodedJwt, String> {
    let parts: Vec<&str> = token.split('.').collect();
    let [header, claims, signature] = parts.as_slice() else {
        return Err(format!(
            "a JWT has 3 parts separated by dots; this has {}",
            parts.len()
        ));
    };
    let json = |name: &str, part: &str| -> Result<Value, String> {
        let bytes = URL_SAFE_NO_PAD
            .decode(part)
            .map_err(|_| format!("the {name} is not base64url"))?;
        serde_json::from_slice(&bytes).map_err(|_| format!("the {name} is not JSON"))
    };
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| "the signature is not base64url".to_owned())?;
    Ok(DecodedJwt {
        header: json("header", header)?,
        claims: json("claims", claims)?,
        signature_len: signature.len(),
    })
}

/// Unix seconds as `2026-11-28 00:20:31 UTC`.
pub fn unix_time(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rest = secs.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (proleptic Gregorian calendar).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// What a claim of our access tokens means, in a sentence.
pub fn claim_meaning(name: &str) -> &'static str {
    match name {
        "iss" => "Issuer: the server that made the token. A resource server accepts only the issuer it expects.",
        "sub" => "Subject: the user the token speaks for (your user id), not the client.",
        "aud" => "Audience: who the token is for. These are for this app's API; /api/v1 refuses a token meant for another audience.",
        "iat" => "Issued at.",
        "nbf" => "Not before: the token is not valid before this time.",
        "exp" => "Expires: access tokens are short-lived; the refresh token gets a new one.",
        "jti" => "Token id: unique to this token.",
        "roles" => "Your roles when it was issued, for information: the server reads roles from its database on every request, never from the token.",
        "sid" => "The server-side session behind the token: ending it (log out, revocation, a reused code) stops the token at once, before exp.",
        "type" => "Token type: an access token (refresh tokens are opaque random strings, not JWTs).",
        "client_id" => "The OAuth client the token was issued to.",
        "scope" => "What the client may do with it: \"account\" is your own account only, and the server also applies your roles.",
        _ => "Not one of this server's claims.",
    }
}

/// One line per claim: name, value as shown (times also as dates), meaning.
pub fn explain_claims(claims: &Value) -> Vec<(String, String, &'static str)> {
    let Some(map) = claims.as_object() else {
        return Vec::new();
    };
    map.iter()
        .map(|(k, v)| {
            let shown = match (k.as_str(), v.as_i64()) {
                ("iat" | "nbf" | "exp", Some(t)) => format!("{t} ({})", unix_time(t)),
                _ => match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                },
            };
            (k.clone(), shown, claim_meaning(k))
        })
        .collect()
}

/// Another verifier, one character changed: still well-formed, so the
/// server refuses it for not matching the challenge, not for its shape.
pub fn tampered(value: &str) -> String {
    let mut chars: Vec<char> = value.chars().collect();
    if let Some(last) = chars.last_mut() {
        *last = if *last == 'A' { 'B' } else { 'A' };
    }
    chars.into_iter().collect()
}

/// The newest of my activity entries for this client among `actions`.
pub fn newest_entry<'a>(
    entries: &'a [ActivityEntry],
    actions: &[&str],
) -> Option<&'a ActivityEntry> {
    entries.iter().find(|e| {
        actions.contains(&e.action.as_str()) && e.detail_str("client_id") == Some(CLIENT_ID)
    })
}

/// An activity entry as pretty JSON.
pub fn entry_for_display(entry: &ActivityEntry) -> String {
    serde_json::to_string_pretty(entry).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const RFC_VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const RFC_CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    fn pending() -> Pending {
        Pending {
            verifier: RFC_VERIFIER.to_owned(),
            state: "st-1".to_owned(),
            challenge: RFC_CHALLENGE.to_owned(),
            redirect_uri: "http://127.0.0.1:3000/playground/oauth".to_owned(),
        }
    }

    #[test]
    fn the_challenge_is_the_rfc7636_s256_of_the_verifier() {
        // RFC 7636 Appendix B.
        assert_eq!(pkce::s256_challenge(RFC_VERIFIER), RFC_CHALLENGE);
        let p = Pending::new(&[7; 32], &[9; 16], "http://127.0.0.1:3000/");
        assert!(pkce::is_valid_verifier(&p.verifier));
        assert_eq!(p.verifier.len(), 43);
        assert_eq!(p.challenge, pkce::s256_challenge(&p.verifier));
        assert_eq!(p.state.len(), 22);
        assert_eq!(p.redirect_uri, "http://127.0.0.1:3000/playground/oauth");
        assert_eq!(p.digest_hex().len(), 64);
    }

    #[test]
    fn the_authorize_url_carries_every_parameter_encoded() {
        assert_eq!(
            pending().authorize_url(),
            "/oauth/authorize?response_type=code&client_id=oauth-playground\
             &redirect_uri=http%3A%2F%2F127.0.0.1%3A3000%2Fplayground%2Foauth&scope=account\
             &state=st-1&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM\
             &code_challenge_method=S256"
        );
    }

    #[test]
    fn the_token_request_is_a_form_body_with_the_verifier() {
        let body = token_request_body(
            "c&de",
            "http://127.0.0.1:3000/playground/oauth",
            RFC_VERIFIER,
        );
        assert_eq!(
            body,
            "grant_type=authorization_code&code=c%26de\
             &redirect_uri=http%3A%2F%2F127.0.0.1%3A3000%2Fplayground%2Foauth\
             &client_id=oauth-playground&code_verifier=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
        );
        assert!(http_request_text(&body).starts_with("POST /oauth/token\n"));
    }

    #[test]
    fn the_callback_is_read_and_its_state_compared() {
        let p = pending();
        let cb = Callback::from_query("?code=abc%2Bd&state=st-1", Some(&p)).unwrap();
        assert_eq!(cb.code.as_deref(), Some("abc+d"));
        assert_eq!(cb.check, StateCheck::Match);
        assert_eq!(cb.exchangeable_code(), Some("abc+d"));

        let cb = Callback::from_query("?code=abc&state=st-2", Some(&p)).unwrap();
        assert_eq!(
            cb.check,
            StateCheck::Mismatch {
                expected: "st-1".into()
            }
        );
        assert_eq!(cb.exchangeable_code(), None, "a mismatch stops the client");
        let cb = Callback::from_query("?code=abc&state=st-1", None).unwrap();
        assert_eq!(cb.check, StateCheck::NoPending);
        assert_eq!(cb.exchangeable_code(), None);
        let cb = Callback::from_query("?code=abc", Some(&p)).unwrap();
        assert_eq!(cb.check, StateCheck::Missing);
        let cb = Callback::from_query("?error=access_denied&state=st-1", Some(&p)).unwrap();
        assert_eq!(cb.error.as_deref(), Some("access_denied"));
        assert_eq!(cb.exchangeable_code(), None);
        assert_eq!(Callback::from_query("", Some(&p)), None);
        assert_eq!(Callback::from_query("?other=1", Some(&p)), None);
    }

    #[test]
    fn query_components_are_decoded() {
        assert_eq!(decode_component("a%20b+c%2F%C3%A9"), "a b c/é");
        assert_eq!(decode_component("100%"), "100%");
        assert_eq!(decode_component("%zz"), "%zz");
        assert_eq!(decode_component("%+1"), "% 1");
        assert_eq!(query_value("?a=1&b=x%3Dy", "b").as_deref(), Some("x=y"));
        assert_eq!(query_value("a=1", "b"), None);
    }

    fn b64(s: &str) -> String {
        URL_SAFE_NO_PAD.encode(s.as_bytes())
    }

    #[test]
    fn a_jwt_decodes_to_header_and_claims() {
        let token = format!(
            "{}.{}.{}",
            b64(r#"{"alg":"RS256","typ":"JWT","kid":"k1"}"#),
            b64(
                r#"{"sub":"u1","client_id":"oauth-playground","exp":1700000000,"aud":"secure-reference-api"}"#
            ),
            URL_SAFE_NO_PAD.encode([1_u8, 2, 3])
        );
        let jwt = decode_jwt(&token).unwrap();
        assert_eq!(jwt.header["alg"], "RS256");
        assert_eq!(jwt.signature_len, 3);
        assert!(jwt
            .claims_pretty()
            .contains(r#""client_id": "oauth-playground""#));
        let lines = explain_claims(&jwt.claims);
        let exp = lines.iter().find(|(k, _, _)| k == "exp").unwrap();
        assert_eq!(exp.1, "1700000000 (2023-11-14 22:13:20 UTC)");
        assert!(exp.2.starts_with("Expires"));
        let sub = lines.iter().find(|(k, _, _)| k == "sub").unwrap();
        assert_eq!(sub.1, "u1");
    }

    #[test]
    fn malformed_jwts_are_explained() {
        assert!(decode_jwt("abc").unwrap_err().contains("3 parts"));
        assert!(decode_jwt("a.b.c.d").unwrap_err().contains("3 parts"));
        assert!(decode_jwt("!!.e30.AA").unwrap_err().contains("header"));
        assert!(decode_jwt(&format!("{}.{}.AA", b64("{}"), b64("nope")))
            .unwrap_err()
            .contains("claims"));
    }

    #[test]
    fn unix_times_read_as_dates() {
        assert_eq!(unix_time(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(unix_time(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(unix_time(1_700_000_000), "2023-11-14 22:13:20 UTC");
        assert_eq!(unix_time(-1), "1969-12-31 23:59:59 UTC");
    }

    #[test]
    fn refresh_tokens_are_masked_access_tokens_shown() {
        let body = r#"{"access_token":"aaa.bbb.ccc","refresh_token":"0123456789abcdefghij","token_type":"Bearer"}"#;
        let shown = response_for_display(body);
        assert!(shown.contains("aaa.bbb.ccc"));
        assert!(!shown.contains("0123456789abcdefghij"));
        assert!(shown.contains("012345…ghij"));
        assert_eq!(mask("short"), "…");
        assert_eq!(response_for_display("not json"), "not json");
    }

    #[test]
    fn a_tampered_value_differs_in_one_character() {
        let t = tampered(RFC_VERIFIER);
        assert_ne!(t, RFC_VERIFIER);
        assert_eq!(t.len(), RFC_VERIFIER.len());
        assert!(pkce::is_valid_verifier(&t));
        assert_eq!(tampered("xA"), "xB");
    }

    #[test]
    fn the_newest_entry_of_this_client_is_found() {
        let entry = |id, action: &str, client: &str| ActivityEntry {
            id,
            time: String::new(),
            action: action.into(),
            outcome: "denied".into(),
            detail: serde_json::json!({ "client_id": client, "reason": "code_verifier_mismatch" }),
        };
        let list = vec![
            entry(9, "auth.login", CLIENT_ID),
            entry(8, "oauth.token", "other"),
            entry(7, "oauth.token", CLIENT_ID),
            entry(6, "oauth.token", CLIENT_ID),
        ];
        assert_eq!(newest_entry(&list, &["oauth.token"]).map(|e| e.id), Some(7));
        assert_eq!(newest_entry(&list, &["oauth.code_reuse"]), None);
        assert!(entry_for_display(&list[2]).contains("code_verifier_mismatch"));
    }
}
