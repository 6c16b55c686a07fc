//! CSRF protection for cookie-authenticated requests (ASVS 4.2.2, 13.2.3).
//!
//! The session cookie is `SameSite=Strict`, so browsers do not send it on
//! cross-site requests at all. As a second layer, every state-changing request
//! must come from our own origin: its `Origin` (or, failing that, `Referer`)
//! must name this host or a configured trusted origin. A request with neither
//! header is accepted only when it carries no session cookie (an API client,
//! which authenticates some other way). `Origin: null` is not "no Origin":
//! it is an opaque origin (a sandboxed frame, a `data:` or `file:` page, a
//! cross-site redirect chain), never this site (our pages' Referrer-Policy
//! keeps a real Origin on our own posts), so it is refused whatever the
//! cookies — otherwise a login form post from such a page signs the
//! victim's browser into the attacker's account (login CSRF; OWASP CSRF
//! cheat sheet: `null` is untrusted).

use super::has_auth_cookie;
use crate::audit::{self, AuditEvent, Outcome};
use crate::error::AppError;
use crate::http::client::RequestMeta;
use crate::security::origin::origin_of;
use crate::state::AppState;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method};
use actix_web::middleware::Next;
use actix_web::{web, Error};

/// The verdict for one request. Pure, so it is tested on its own.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Allow,
    Deny(&'static str),
}

pub fn check(
    method: &Method,
    origin: Option<&str>,
    referer: Option<&str>,
    host: Option<&str>,
    has_session_cookie: bool,
    trusted: &[String],
) -> Verdict {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return Verdict::Allow;
    }
    if origin.is_some_and(|o| o.trim().eq_ignore_ascii_case("null")) {
        return Verdict::Deny("opaque origin");
    }
    let claimed = origin
        .map(str::to_owned)
        .or_else(|| referer.and_then(origin_of));
    match claimed {
        Some(claimed) => {
            let claimed = claimed.trim_end_matches('/');
            let same_host = host
                .zip(claimed.split_once("://").map(|(_, rest)| rest))
                .is_some_and(|(h, rest)| h.eq_ignore_ascii_case(rest));
            if same_host || trusted.iter().any(|t| t.eq_ignore_ascii_case(claimed)) {
                Verdict::Allow
            } else {
                Verdict::Deny("cross-origin request")
            }
        }
        None if has_session_cookie => Verdict::Deny("missing Origin header"),
        None => Verdict::Allow,
    }
}

/// The pre-session cookie of the no-JavaScript login form (login CSRF,
/// OWASP CSRF cheat sheet): set with the login page, random, `__Host-`
/// (no subdomain can plant one); the form carries an HMAC of it under the
/// session key (a signed double submit), so a page elsewhere can neither
/// read the pair nor make one the server accepts with the victim's cookie.
pub const LOGIN_CSRF_COOKIE: &str = "__Host-login-csrf";

/// A fresh value for [`LOGIN_CSRF_COOKIE`] (256 bits from the OS).
pub fn new_login_csrf_value() -> String {
    crate::security::refresh_token::RefreshToken::generate()
        .expose()
        .to_owned()
}

/// The login form's token for the cookie value `raw`.
pub fn login_form_token(key: &[u8], raw: &str) -> String {
    use hmac::{Hmac, Mac};
    match Hmac::<sha2::Sha256>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(b"login-form-csrf\0");
            mac.update(raw.as_bytes());
            hex::encode(mac.finalize().into_bytes())
        }
        // HMAC accepts keys of any length; never reached.
        Err(_) => String::new(),
    }
}

/// Whether a login form post carries the token of its own cookie.
pub fn login_form_token_ok(key: &[u8], cookie: Option<&str>, presented: Option<&str>) -> bool {
    match (cookie.filter(|c| !c.is_empty()), presented) {
        (Some(raw), Some(token)) => {
            crate::security::pkce::constant_time_eq(&login_form_token(key, raw), token)
        }
        _ => false,
    }
}

/// The cookie that carries [`LOGIN_CSRF_COOKIE`]: HttpOnly, Strict, two hours.
pub fn login_csrf_cookie(value: &str) -> actix_web::cookie::Cookie<'static> {
    actix_web::cookie::Cookie::build(LOGIN_CSRF_COOKIE, value.to_owned())
        .path("/")
        .secure(true)
        .http_only(true)
        .same_site(actix_web::cookie::SameSite::Strict)
        .max_age(actix_web::cookie::time::Duration::hours(2))
        .finish()
}

pub async fn csrf(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    let headers = req.headers();
    let text = |name| {
        headers
            .get(name)
            .and_then(|v: &header::HeaderValue| v.to_str().ok())
    };
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let trusted = state
        .as_ref()
        .map(|s| s.settings.trusted_origins.clone())
        .unwrap_or_default();
    let verdict = check(
        req.method(),
        text(header::ORIGIN),
        text(header::REFERER),
        text(header::HOST),
        has_auth_cookie(req.request()),
        &trusted,
    );
    match verdict {
        Verdict::Allow => Ok(next.call(req).await?.map_into_left_body()),
        Verdict::Deny(reason) => {
            let anonymous = !has_auth_cookie(req.request())
                && !req.headers().contains_key(header::AUTHORIZATION);
            if let (Some(state), true) = (&state, anonymous) {
                // No credential: counted, not recorded one by one
                // (`services::access`); a refusal that carries one (a
                // victim's browser, most likely) keeps its full record.
                state
                    .decision_stats
                    .denied_anonymously("csrf.rejected", reason, None);
            } else if let Some(state) = state {
                let meta = RequestMeta::of(req.request());
                let event = AuditEvent::new("csrf.rejected", Outcome::Denied)
                    .detail(serde_json::json!({ "reason": reason, "path": req.path() }));
                audit::record(&state.pool, Some(&meta), event).await?;
            }
            let err = AppError::Forbidden("request refused: it did not come from this site".into());
            Ok(req.error_response(err).map_into_right_body())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOST: Option<&str> = Some("app.example.org");

    #[test]
    fn safe_methods_pass() {
        assert_eq!(
            check(
                &Method::GET,
                Some("https://evil.test"),
                None,
                HOST,
                true,
                &[]
            ),
            Verdict::Allow
        );
    }

    #[test]
    fn asvs_4_2_2_cross_origin_posts_are_refused() {
        assert_eq!(
            check(
                &Method::POST,
                Some("https://evil.test"),
                None,
                HOST,
                true,
                &[]
            ),
            Verdict::Deny("cross-origin request")
        );
        assert_eq!(
            check(
                &Method::POST,
                None,
                Some("https://evil.test/page"),
                HOST,
                false,
                &[]
            ),
            Verdict::Deny("cross-origin request")
        );
        // A look-alike host is not the same host.
        assert!(matches!(
            check(
                &Method::POST,
                Some("https://app.example.org.evil.test"),
                None,
                HOST,
                true,
                &[]
            ),
            Verdict::Deny(_)
        ));
        assert!(matches!(
            check(&Method::POST, Some("null"), None, HOST, true, &[]),
            Verdict::Deny(_)
        ));
    }

    #[test]
    fn same_origin_and_trusted_origins_pass() {
        assert_eq!(
            check(
                &Method::POST,
                Some("https://app.example.org"),
                None,
                HOST,
                true,
                &[]
            ),
            Verdict::Allow
        );
        assert_eq!(
            check(
                &Method::DELETE,
                None,
                Some("https://app.example.org/account?x=1"),
                HOST,
                true,
                &[]
            ),
            Verdict::Allow
        );
        let trusted = vec!["https://login.example.org".to_owned()];
        assert_eq!(
            check(
                &Method::POST,
                Some("https://login.example.org"),
                None,
                HOST,
                true,
                &trusted
            ),
            Verdict::Allow
        );
    }

    #[test]
    fn cookie_requests_without_origin_are_refused_but_api_clients_pass() {
        assert_eq!(
            check(&Method::POST, None, None, HOST, true, &[]),
            Verdict::Deny("missing Origin header")
        );
        assert_eq!(
            check(&Method::POST, None, None, HOST, false, &[]),
            Verdict::Allow
        );
    }

    #[test]
    fn the_login_form_token_is_bound_to_its_cookie_and_key() {
        let (a, b) = (new_login_csrf_value(), new_login_csrf_value());
        let t = login_form_token(&[1; 32], &a);
        assert!(login_form_token_ok(&[1; 32], Some(&a), Some(&t)));
        assert!(!login_form_token_ok(&[1; 32], Some(&b), Some(&t)));
        assert!(!login_form_token_ok(&[2; 32], Some(&a), Some(&t)));
        assert!(!login_form_token_ok(&[1; 32], None, Some(&t)));
        assert!(!login_form_token_ok(&[1; 32], Some(&a), None));
        assert!(!login_form_token_ok(
            &[1; 32],
            Some(""),
            Some(&login_form_token(&[1; 32], ""))
        ));
    }

    #[test]
    fn an_opaque_origin_is_refused_with_or_without_cookies() {
        for (origin, cookie) in [("null", false), ("null", true), (" NULL ", false)] {
            assert_eq!(
                check(
                    &Method::POST,
                    Some(origin),
                    Some("https://app.example.org/login"),
                    HOST,
                    cookie,
                    &[]
                ),
                Verdict::Deny("opaque origin"),
                "{origin:?} cookie {cookie}"
            );
        }
    }
}
