//! Building the session cookie: `__Host-` prefix, `Secure`, `HttpOnly`,
//! `SameSite=Strict`, `Path=/` (ASVS 3.4.1–3.4.4).

use crate::http::SESSION_COOKIE;
use actix_web::cookie::{time, Cookie, SameSite};
use std::time::Duration;

pub fn issue(token: &str, lifetime: Duration) -> Cookie<'static> {
    Cookie::build(SESSION_COOKIE, token.to_owned())
        .path("/")
        .secure(true)
        .http_only(true)
        .same_site(SameSite::Strict)
        .max_age(time::Duration::seconds(
            i64::try_from(lifetime.as_secs()).unwrap_or(i64::MAX),
        ))
        .finish()
}

/// A cookie that makes the browser forget the session cookie.
pub fn clear() -> Cookie<'static> {
    let mut c = issue("", Duration::ZERO);
    c.make_removal();
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asvs_3_4_cookie_has_every_protective_attribute() {
        let text = issue("tok", Duration::from_secs(60)).to_string();
        for part in [
            "__Host-session=tok",
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
