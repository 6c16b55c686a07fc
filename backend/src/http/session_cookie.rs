//! The auth cookies: `__Host-` prefix, `Secure`, `HttpOnly`, `SameSite=Strict`,
//! `Path=/` (ASVS 3.4.1–3.4.4). Page scripts can read neither.

use super::{ACCESS_COOKIE, MFA_COOKIE, REFRESH_COOKIE};
use crate::services::sessions::IssuedTokens;
use actix_web::cookie::{time, Cookie, SameSite};
use actix_web::HttpResponseBuilder;
use std::time::Duration;

fn build(name: &'static str, value: &str, lifetime: Duration) -> Cookie<'static> {
    Cookie::build(name, value.to_owned())
        .path("/")
        .secure(true)
        .http_only(true)
        .same_site(SameSite::Strict)
        .max_age(time::Duration::seconds(
            i64::try_from(lifetime.as_secs()).unwrap_or(i64::MAX),
        ))
        .finish()
}

/// The two cookies for freshly issued tokens. The access cookie lives as long
/// as its token; the refresh cookie as long as the session may.
pub fn issue(tokens: &IssuedTokens, session_lifetime: Duration) -> [Cookie<'static>; 2] {
    let access_lifetime = Duration::from_secs(u64::try_from(tokens.expires_in).unwrap_or(0));
    [
        build(ACCESS_COOKIE, &tokens.access_token, access_lifetime),
        build(
            REFRESH_COOKIE,
            tokens.refresh_token.expose(),
            session_lifetime,
        ),
    ]
}

/// Cookies that make the browser forget both, and the login form's
/// pre-session token (`http::csrf::LOGIN_CSRF_COOKIE`): signing out leaves
/// no `__Host-` cookie of ours behind; the login page sets a new token.
pub fn clear() -> [Cookie<'static>; 3] {
    [
        ACCESS_COOKIE,
        REFRESH_COOKIE,
        super::csrf::LOGIN_CSRF_COOKIE,
    ]
    .map(|name| {
        let mut c = build(name, "", Duration::ZERO);
        c.make_removal();
        c
    })
}

/// The pending second login step of a no-JavaScript login (five minutes).
pub fn mfa_pending(token: &str) -> Cookie<'static> {
    build(MFA_COOKIE, token, Duration::from_secs(300))
}

pub fn clear_mfa_pending() -> Cookie<'static> {
    let mut c = build(MFA_COOKIE, "", Duration::ZERO);
    c.make_removal();
    c
}

/// Adds `cookies` to a response being built.
pub fn attach(
    builder: &mut HttpResponseBuilder,
    cookies: impl IntoIterator<Item = Cookie<'static>>,
) {
    for c in cookies {
        builder.cookie(c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asvs_3_4_cookies_have_every_protective_attribute() {
        for (name, text) in [
            (
                ACCESS_COOKIE,
                build(ACCESS_COOKIE, "tok", Duration::from_secs(60)).to_string(),
            ),
            (
                REFRESH_COOKIE,
                build(REFRESH_COOKIE, "tok", Duration::from_secs(60)).to_string(),
            ),
        ] {
            for part in [
                &format!("{name}=tok") as &str,
                "HttpOnly",
                "SameSite=Strict",
                "Secure",
                "Path=/",
                "Max-Age=60",
            ] {
                assert!(text.contains(part), "{text} lacks {part}");
            }
            assert!(!text.contains("Domain"));
        }
    }

    #[test]
    fn clearing_expires_both() {
        for c in clear() {
            assert!(c.to_string().contains("Max-Age=0"));
        }
    }
}
