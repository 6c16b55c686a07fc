//! OAuth 2.0 building blocks that need no framework: PKCE (RFC 7636, `S256`
//! only) and redirect-URI rules (RFC 6749 §3.1.2, RFC 8252 §7.3).
//!
//! PKCE: the client keeps a random `code_verifier` and sends only its SHA-256
//! (`code_challenge`, base64url without padding) with the authorization
//! request; the token request must present the verifier. `plain` is refused,
//! as is a missing challenge, so an intercepted code is useless on its own.
//!
//! Redirect URIs: a requested URI must equal a registered one, byte for byte
//! (no prefix, no wildcard, no normalisation), with one exception for native
//! apps: a loopback IP literal over `http` (`127.0.0.1` or `[::1]`) matches a
//! registered loopback URI with the same host and path whatever the port,
//! because the app picks a free port at run time.

use subtle::ConstantTimeEq;

/// Why a PKCE parameter was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PkceError {
    /// No `code_challenge` was sent.
    MissingChallenge,
    /// `code_challenge_method` other than `S256` (including `plain` and none).
    UnsupportedMethod,
    /// The challenge is not 43 base64url characters (a SHA-256 digest).
    MalformedChallenge,
    /// The verifier breaks RFC 7636 §4.1 (length 43–128, unreserved characters).
    MalformedVerifier,
    /// The verifier does not hash to the challenge.
    Mismatch,
}

impl PkceError {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MissingChallenge => "missing_code_challenge",
            Self::UnsupportedMethod => "unsupported_code_challenge_method",
            Self::MalformedChallenge => "malformed_code_challenge",
            Self::MalformedVerifier => "malformed_code_verifier",
            Self::Mismatch => "code_verifier_mismatch",
        }
    }
}

/// RFC 7636 §4.1: `code-verifier = 43*128unreserved`.
pub fn validate_verifier(verifier: &str) -> Result<(), PkceError> {
    if wire::pkce::is_valid_verifier(verifier) {
        Ok(())
    } else {
        Err(PkceError::MalformedVerifier)
    }
}

/// `BASE64URL-ENCODE(SHA256(ASCII(code_verifier)))` (RFC 7636 §4.2, `S256`).
/// One implementation for both sides: the OAuth playground derives its
/// challenge in the browser with the same function (`wire::pkce`).
pub fn s256_challenge(verifier: &str) -> String {
    wire::pkce::s256_challenge(verifier)
}

/// Checks the challenge parameters of an authorization request and returns
/// the challenge to store. Only `S256` is accepted; a missing method is
/// refused too (RFC 7636 would default it to `plain`).
pub fn parse_challenge(challenge: Option<&str>, method: Option<&str>) -> Result<String, PkceError> {
    let challenge = match challenge {
        Some(c) if !c.is_empty() => c,
        _ => return Err(PkceError::MissingChallenge),
    };
    if method != Some("S256") {
        return Err(PkceError::UnsupportedMethod);
    }
    let ok = challenge.len() == 43
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(challenge.to_owned())
    } else {
        Err(PkceError::MalformedChallenge)
    }
}

/// Does `verifier` hash to the stored `challenge`? The comparison takes the
/// same time wherever the first difference is.
pub fn verify(verifier: &str, challenge: &str) -> Result<(), PkceError> {
    validate_verifier(verifier)?;
    let computed = s256_challenge(verifier);
    let same = computed.len() == challenge.len()
        && bool::from(computed.as_bytes().ct_eq(challenge.as_bytes()));
    if same {
        Ok(())
    } else {
        Err(PkceError::Mismatch)
    }
}

/// Constant-time string equality (for client secrets' digests and the like).
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// A loopback redirect URI split into the parts that must match: the host
/// literal and everything after the port (path, query).
#[derive(Debug, PartialEq, Eq)]
struct Loopback<'a> {
    host: &'a str,
    rest: &'a str,
}

/// `http://127.0.0.1[:port]/…` or `http://[::1][:port]/…`, nothing else (no
/// `localhost`, no user info, a numeric port in 1..=65535 if present).
fn loopback(uri: &str) -> Option<Loopback<'_>> {
    let after = uri.strip_prefix("http://")?;
    let (host, after_host) = if let Some(r) = after.strip_prefix("[::1]") {
        ("[::1]", r)
    } else if let Some(r) = after.strip_prefix("127.0.0.1") {
        ("127.0.0.1", r)
    } else {
        return None;
    };
    let rest = match after_host.strip_prefix(':') {
        Some(p) => {
            let end = p.find('/')?;
            let (port, rest) = p.split_at_checked(end)?;
            let valid = !port.is_empty()
                && port.len() <= 5
                && port.bytes().all(|b| b.is_ascii_digit())
                && port.parse::<u32>().is_ok_and(|n| (1..=65_535).contains(&n));
            if !valid {
                return None;
            }
            rest
        }
        None => after_host,
    };
    rest.starts_with('/').then_some(Loopback { host, rest })
}

/// Does the requested redirect URI match one of the client's registered URIs?
pub fn redirect_uri_matches(registered: &[String], requested: &str) -> bool {
    if registered.iter().any(|r| r == requested) {
        return true;
    }
    let Some(req) = loopback(requested) else {
        return false;
    };
    registered
        .iter()
        .filter_map(|r| loopback(r))
        .any(|reg| reg == req)
}

/// May this URI be registered? An absolute URI without a fragment (RFC 6749
/// §3.1.2), no whitespace or control characters, at most 2000 bytes;
/// `https`, `http` only for a loopback IP literal, or a private-use scheme
/// (`com.example.app:/cb`, RFC 8252 §7.1) with a dot in it.
pub fn redirect_uri_registrable(uri: &str) -> bool {
    if uri.is_empty()
        || uri.len() > 2000
        || uri.contains('#')
        || uri.bytes().any(|b| b <= b' ' || b == 0x7f)
    {
        return false;
    }
    let Some((scheme, rest)) = uri.split_once(':') else {
        return false;
    };
    let scheme_ok = scheme
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic())
        && scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    if !scheme_ok || rest.is_empty() {
        return false;
    }
    match scheme {
        "https" => rest
            .strip_prefix("//")
            .is_some_and(|host| !host.is_empty() && !host.starts_with('/')),
        "http" => loopback(uri).is_some(),
        other => other.contains('.'),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RFC_VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    // RFC 7636 Appendix B. (Issue 8 quotes the tail as `…uGLSUW7sfM`, which
    // is not what SHA-256 gives; `openssl dgst -sha256 -binary | base64`
    // agrees with the RFC's `…uGJSstw-cM`.)
    const RFC_CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn rfc7636_appendix_b_vector() {
        assert_eq!(s256_challenge(RFC_VERIFIER), RFC_CHALLENGE);
        assert_eq!(verify(RFC_VERIFIER, RFC_CHALLENGE), Ok(()));
    }

    #[test]
    fn wrong_verifier_is_a_mismatch() {
        let other = format!("{}A", &RFC_VERIFIER[..RFC_VERIFIER.len() - 1]);
        assert_eq!(verify(&other, RFC_CHALLENGE), Err(PkceError::Mismatch));
        assert_eq!(verify(RFC_VERIFIER, "short"), Err(PkceError::Mismatch));
    }

    #[test]
    fn verifier_length_and_alphabet_follow_rfc7636() {
        assert!(validate_verifier(&"a".repeat(43)).is_ok());
        assert!(validate_verifier(&"a".repeat(128)).is_ok());
        assert!(validate_verifier("aA0-._~aA0-._~aA0-._~aA0-._~aA0-._~aA0-._~a").is_ok());
        for bad in [
            String::new(),
            "a".repeat(42),
            "a".repeat(129),
            format!("{}+", "a".repeat(42)),
            format!("{}/", "a".repeat(42)),
            format!("{}=", "a".repeat(42)),
            format!("{} ", "a".repeat(42)),
            "é".repeat(22),
        ] {
            assert_eq!(
                validate_verifier(&bad),
                Err(PkceError::MalformedVerifier),
                "{bad:?}"
            );
            assert_eq!(
                verify(&bad, RFC_CHALLENGE),
                Err(PkceError::MalformedVerifier)
            );
        }
    }

    #[test]
    fn only_s256_challenges_are_accepted() {
        assert_eq!(
            parse_challenge(Some(RFC_CHALLENGE), Some("S256")),
            Ok(RFC_CHALLENGE.to_owned())
        );
        assert_eq!(
            parse_challenge(Some(RFC_CHALLENGE), Some("plain")),
            Err(PkceError::UnsupportedMethod)
        );
        assert_eq!(
            parse_challenge(Some(RFC_CHALLENGE), None),
            Err(PkceError::UnsupportedMethod)
        );
        assert_eq!(
            parse_challenge(Some(RFC_CHALLENGE), Some("s256")),
            Err(PkceError::UnsupportedMethod)
        );
        assert_eq!(
            parse_challenge(None, Some("S256")),
            Err(PkceError::MissingChallenge)
        );
        assert_eq!(
            parse_challenge(Some(""), Some("S256")),
            Err(PkceError::MissingChallenge)
        );
        assert!(
            parse_challenge(Some(RFC_VERIFIER), Some("S256")).is_ok(),
            "43 base64url characters have the shape of a digest"
        );
        for bad in [
            "abc",
            &"a".repeat(44),
            &format!("{}=", "a".repeat(42)),
            &format!("{}+", "a".repeat(42)),
        ] {
            assert_eq!(
                parse_challenge(Some(bad), Some("S256")),
                Err(PkceError::MalformedChallenge),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn constant_time_eq_compares_whole_strings() {
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "abcd"));
        assert!(constant_time_eq("", ""));
    }

    fn regs(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn redirect_uris_match_exactly() {
        let r = regs(&["https://app.example/cb", "com.example.app:/oauth"]);
        assert!(redirect_uri_matches(&r, "https://app.example/cb"));
        assert!(redirect_uri_matches(&r, "com.example.app:/oauth"));
        for bad in [
            "https://app.example/cb/",
            "https://app.example/cb/evil",
            "https://app.example/cb?x=1",
            "https://app.example/cb#f",
            "https://app.example/c",
            "https://APP.example/cb",
            "http://app.example/cb",
            "https://app.example.evil/cb",
            "https://app.example:443/cb",
            "",
        ] {
            assert!(!redirect_uri_matches(&r, bad), "{bad:?}");
        }
    }

    #[test]
    fn loopback_redirects_match_any_port() {
        let r = regs(&["http://127.0.0.1/callback", "http://[::1]:8080/cb"]);
        assert!(redirect_uri_matches(&r, "http://127.0.0.1/callback"));
        assert!(redirect_uri_matches(&r, "http://127.0.0.1:51234/callback"));
        assert!(redirect_uri_matches(&r, "http://127.0.0.1:1/callback"));
        assert!(redirect_uri_matches(&r, "http://[::1]:9999/cb"));
        assert!(redirect_uri_matches(&r, "http://[::1]/cb"));
        for bad in [
            "http://127.0.0.1:51234/callback/x",
            "http://127.0.0.1:51234/callbac",
            "http://127.0.0.1:51234/callback?x",
            "http://127.0.0.1:0/callback",
            "http://127.0.0.1:65536/callback",
            "http://127.0.0.1:+80/callback",
            "http://127.0.0.1:/callback",
            "http://127.0.0.1@evil.example/callback",
            "http://127.0.0.1.evil.example/callback",
            "http://localhost:51234/callback",
            "https://127.0.0.1:51234/callback",
            "http://[::1]:9999/callback",
            "http://127.0.0.1:9999/cb",
        ] {
            assert!(!redirect_uri_matches(&r, bad), "{bad:?}");
        }
        // A non-loopback registration never matches another port.
        let r = regs(&["https://app.example:8443/cb"]);
        assert!(!redirect_uri_matches(&r, "https://app.example:9443/cb"));
    }

    #[test]
    fn registrable_redirect_uris() {
        for ok in [
            "https://app.example/cb",
            "http://127.0.0.1/cb",
            "http://[::1]:8080/cb",
            "com.example.app:/oauth",
        ] {
            assert!(redirect_uri_registrable(ok), "{ok:?}");
        }
        for bad in [
            "",
            "/relative",
            "https://app.example/cb#frag",
            "http://app.example/cb",
            "http://localhost/cb",
            "https:///cb",
            "https://app.example/c b",
            "javascript:alert(1)",
            "data:text/html,x",
            "1https://x",
        ] {
            assert!(!redirect_uri_registrable(bad), "{bad:?}");
        }
    }
}
