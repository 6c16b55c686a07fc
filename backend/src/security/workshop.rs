//! Workshop mode (`APP_WORKSHOP=1`): the challenge catalogue and the pure
//! rule that says which challenge an observed security event solves, and
//! for whom.
//!
//! A challenge is solved only by what the server itself observed: an audit
//! event (`audit::record` asks [`solved_by`] for each one while workshop mode
//! is on), a response the server sent (a 429), a query string it received,
//! or an answer it can check against its own records. Nothing a client says
//! about itself ("I solved it", a `sub` claim in a token it made up) counts.
//!
//! Who gets the credit ([`Context::participant`]): the identity this very
//! request proved — the event's actor (a verified token), else the user of
//! a valid session that came with the request (the participant's own cookie
//! sent alongside a forged `Authorization` header). For three challenges the
//! attempt proves possession of a credential bound to one account (a
//! refresh token, an OAuth code, a password plus a TOTP code), so the
//! account the event names as its target is credited when the request
//! carried no session.

/// One challenge of the scoreboard.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Challenge {
    /// Stable id (stored in `workshop_solves`).
    pub id: &'static str,
    pub title: &'static str,
    pub category: &'static str,
    /// 1 (a few minutes) to 5 (needs tooling and care).
    pub difficulty: u8,
    /// Shown behind a "hint" disclosure on the scoreboard.
    pub hint: &'static str,
    /// The matching pattern page.
    pub pattern: &'static str,
    /// `true` when it is solved by answering (`POST /api/v1/workshop/answer`).
    pub answered: bool,
}

pub const JWT_ALG_NONE: &str = "jwt-alg-none";
pub const JWT_KEY_CONFUSION: &str = "jwt-key-confusion";
pub const TOTP_REPLAY: &str = "totp-replay";
pub const REFRESH_REUSE: &str = "refresh-reuse";
pub const RATE_LIMIT: &str = "rate-limit";
pub const FORGED_ADMIN_HEADER: &str = "forged-admin-header";
pub const OTHER_USERS_ID: &str = "other-users-id";
pub const PKCE_TAMPER: &str = "pkce-tamper";
pub const OAUTH_CODE_REUSE: &str = "oauth-code-reuse";
pub const INJECTION: &str = "injection";
pub const ERROR_REQUEST_ID: &str = "error-request-id";

const fn c(
    id: &'static str,
    title: &'static str,
    category: &'static str,
    difficulty: u8,
    pattern: &'static str,
    hint: &'static str,
) -> Challenge {
    Challenge {
        id,
        title,
        category,
        difficulty,
        hint,
        pattern,
        answered: false,
    }
}

/// Every challenge, in the order the scoreboard lists them.
pub const CHALLENGES: &[Challenge] = &[
    c(
        FORGED_ADMIN_HEADER,
        "Claim to be an administrator",
        "Zero trust",
        1,
        "/patterns/zero-trust",
        "Some apps believe a request header that says who you are. Send one that says you are an admin (while signed in) and see whether you get in.",
    ),
    c(
        RATE_LIMIT,
        "Trip the rate limit",
        "API security",
        1,
        "/patterns/api-security",
        "Every API has a budget of requests per minute. Spend yours quickly with a loop, signed in, until the server answers 429.",
    ),
    c(
        OTHER_USERS_ID,
        "Use another user's resource id",
        "API security",
        2,
        "/patterns/api-security",
        "Account → Sessions lists your session ids. A partner's session id is just a string too: try to end their session with yours.",
    ),
    c(
        INJECTION,
        "Submit an injection string",
        "Anti-patterns",
        1,
        "/patterns/anti-patterns",
        "Search boxes are where SQL used to be glued together from text. Search for something a naive query would execute (quotes, OR 1=1, UNION SELECT…) and compare what comes back.",
    ),
    c(
        JWT_ALG_NONE,
        "Forge a token that needs no signature",
        "Authentication",
        2,
        "/patterns/authentication",
        "A JWT is header.payload.signature, each base64url. What if the header's alg said nobody signed it? Send your token as Authorization: Bearer from a page where you are signed in (the browser console's fetch sends your cookie too).",
    ),
    c(
        JWT_KEY_CONFUSION,
        "Sign a token with the public key",
        "Authentication",
        4,
        "/patterns/authentication",
        "The server publishes its RSA public key at /.well-known/jwks.json. A library that lets the token pick its algorithm would accept an HS256 token whose HMAC key is that public key. Try it.",
    ),
    c(
        TOTP_REPLAY,
        "Replay a one-time code",
        "Authentication",
        3,
        "/patterns/authentication",
        "Turn on two-factor authentication. A code stays valid for about 30 seconds: use the same code twice in that time, for example to sign in and then to verify again.",
    ),
    c(
        REFRESH_REUSE,
        "Reuse a refresh token",
        "Authentication",
        3,
        "/patterns/authentication",
        "POST /api/v1/auth/token gives an API client a refresh token. Use it at /api/v1/auth/refresh, then use the old one again a little later (after the short grace period for two tabs).",
    ),
    c(
        PKCE_TAMPER,
        "Tamper with the PKCE verifier",
        "Authentication",
        3,
        "/patterns/authentication",
        "The OAuth playground walks through the authorization code flow. Change one character of the code verifier before exchanging the code.",
    ),
    c(
        OAUTH_CODE_REUSE,
        "Use an authorization code twice",
        "Authentication",
        3,
        "/patterns/authentication",
        "An authorization code is single-use. After the playground exchanged one, send the same token request again.",
    ),
    Challenge {
        answered: true,
        ..c(
            ERROR_REQUEST_ID,
            "Find the request id of an error",
            "Defense in depth",
            2,
            "/patterns/defense-in-depth",
            "Make the server fail (the Patterns area has a button that does). A 500 tells you nothing about the cause, but it names the request: submit that id here.",
        )
    },
];

pub fn find(id: &str) -> Option<&'static Challenge> {
    CHALLENGES.iter().find(|c| c.id == id)
}

/// What workshop mode knows about the request an event belongs to (set only
/// when workshop mode is on).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Context {
    /// The user whose valid session came with the request (see the module
    /// documentation).
    pub participant: Option<String>,
    /// The `alg` the header of the presented access token claims, read
    /// without trusting it (only to tell forgeries apart).
    pub token_alg: Option<String>,
    /// Whether the presented token is really HMAC-signed with our public
    /// key's bytes (see [`hmac_signed_with_any`]): the key-confusion attack
    /// done, not just an `alg: HS256` header over any signature.
    pub hmac_with_public_key: bool,
}

/// An audit event, as far as the matching needs it.
#[derive(Clone, Copy, Debug)]
pub struct Observed<'a> {
    pub action: &'a str,
    /// `success`, `failure` or `denied`.
    pub outcome: &'a str,
    pub actor: Option<&'a str>,
    pub target: Option<&'a str>,
    pub detail: &'a serde_json::Value,
}

/// Why a token was refused, as `access.denied` records it, for reasons that
/// a forged token produces.
const FORGED_TOKEN_REASONS: [&str; 5] = [
    "malformed",
    "algorithm_not_allowed",
    "missing_kid",
    "unknown_kid",
    "bad_signature",
];

/// The challenge `event` solves, if any (before deciding who solved it).
pub fn challenge_of(event: &Observed<'_>, ctx: &Context) -> Option<&'static str> {
    let reason = event.detail.get("reason").and_then(|r| r.as_str());
    match (event.action, event.outcome) {
        ("access.forged_header", "denied") => Some(FORGED_ADMIN_HEADER),
        ("access.denied", "denied")
            if reason.is_some_and(|r| FORGED_TOKEN_REASONS.contains(&r)) =>
        {
            let alg = ctx.token_alg.as_deref()?.to_ascii_lowercase();
            if alg == "none" {
                Some(JWT_ALG_NONE)
            } else if alg.starts_with("hs") && ctx.hmac_with_public_key {
                Some(JWT_KEY_CONFUSION)
            } else {
                None
            }
        }
        ("mfa.replay", "denied") => Some(TOTP_REPLAY),
        ("auth.refresh_reuse", "denied") => Some(REFRESH_REUSE),
        ("session.revoke", "denied") if reason == Some("not_owner") => Some(OTHER_USERS_ID),
        ("oauth.token", "denied")
            if matches!(
                reason,
                Some("code_verifier_mismatch") | Some("malformed_code_verifier")
            ) =>
        {
            Some(PKCE_TAMPER)
        }
        ("oauth.code_reuse", "denied") => Some(OAUTH_CODE_REUSE),
        _ => None,
    }
}

/// Whether the account an event targets may be credited when the request
/// carried no session: the attempt itself proved a credential of that
/// account (a refresh token, an OAuth code, a password and TOTP code).
fn credits_target(challenge: &str) -> bool {
    matches!(
        challenge,
        TOTP_REPLAY | REFRESH_REUSE | PKCE_TAMPER | OAUTH_CODE_REUSE
    )
}

/// The challenge `event` solves and the participant to credit.
pub fn solved_by(event: &Observed<'_>, ctx: &Context) -> Option<(&'static str, String)> {
    let challenge = challenge_of(event, ctx)?;
    let who = event
        .actor
        .or(ctx.participant.as_deref())
        .or_else(|| event.target.filter(|_| credits_target(challenge)))?;
    Some((challenge, who.to_owned()))
}

/// The `alg` a compact JWS claims in its header, or `None` when the header
/// is not base64url JSON. Read only to classify a refused token.
pub fn claimed_alg(token: &str) -> Option<String> {
    use base64::Engine;
    let header = token.split('.').next()?;
    if header.is_empty() || header.len() > 1024 {
        return None;
    }
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header.trim_end_matches('='))
        .ok()?;
    let json: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    json.get("alg")?
        .as_str()
        .map(|a| a.chars().take(16).collect())
}

/// The PEM (SubjectPublicKeyInfo, "PUBLIC KEY") of the RSA public key with
/// modulus `n` and exponent `e` (big-endian, as a JWK's `n` and `e` decode):
/// what a naive JWT library is handed as the "key" of an RS256 token, and
/// would use as the HMAC secret of an HS256 one (key confusion).
pub fn rsa_public_pem(n: &[u8], e: &[u8]) -> String {
    use base64::Engine;
    fn len(n: usize) -> Vec<u8> {
        match u8::try_from(n) {
            Ok(short) if short < 0x80 => return vec![short],
            _ => {}
        }
        let bytes: Vec<u8> = n
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        // At most 8 length bytes (a usize): the count fits in 7 bits.
        let count = u8::try_from(bytes.len()).unwrap_or(0x7f);
        let mut out = vec![0x80 | count];
        out.extend(bytes);
        out
    }
    fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        out.extend(len(content.len()));
        out.extend_from_slice(content);
        out
    }
    fn integer(bytes: &[u8]) -> Vec<u8> {
        let trimmed: Vec<u8> = bytes.iter().copied().skip_while(|b| *b == 0).collect();
        let mut content = Vec::with_capacity(trimmed.len() + 1);
        if trimmed.first().is_none_or(|b| *b >= 0x80) {
            content.push(0);
        }
        content.extend(trimmed);
        tlv(0x02, &content)
    }
    let pkcs1 = tlv(0x30, &[integer(n), integer(e)].concat());
    // rsaEncryption (1.2.840.113549.1.1.1), NULL parameters.
    let algorithm = tlv(
        0x30,
        &[
            &[
                0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01,
            ][..],
            &[0x05, 0x00],
        ]
        .concat(),
    );
    let spki = tlv(
        0x30,
        &[algorithm, tlv(0x03, &[&[0u8][..], &pkcs1].concat())].concat(),
    );
    let body = base64::engine::general_purpose::STANDARD.encode(spki);
    let mut pem = String::from("-----BEGIN PUBLIC KEY-----\n");
    for line in body.as_bytes().chunks(64) {
        pem.push_str(&String::from_utf8_lossy(line));
        pem.push('\n');
    }
    pem.push_str("-----END PUBLIC KEY-----\n");
    pem
}

/// Whether `token` is a compact JWS whose header claims an HMAC algorithm
/// (HS256/384/512) and whose signature is that HMAC of its signing input
/// under one of `keys`. Compared in constant time.
pub fn hmac_signed_with_any(token: &str, keys: &[Vec<u8>]) -> bool {
    use base64::Engine;
    use hmac::{Hmac, Mac};
    let Some((input, signature)) = token.rsplit_once('.') else {
        return false;
    };
    let Ok(signature) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(signature) else {
        return false;
    };
    let alg = claimed_alg(token).unwrap_or_default().to_ascii_uppercase();
    fn verify<M: Mac + hmac::digest::KeyInit>(key: &[u8], input: &[u8], sig: &[u8]) -> bool {
        <M as Mac>::new_from_slice(key)
            .map(|mut mac| {
                mac.update(input);
                mac.verify_slice(sig).is_ok()
            })
            .unwrap_or(false)
    }
    keys.iter().any(|key| {
        let (key, input) = (key.as_slice(), input.as_bytes());
        match alg.as_str() {
            "HS256" => verify::<Hmac<sha2::Sha256>>(key, input, &signature),
            "HS384" => verify::<Hmac<sha2::Sha384>>(key, input, &signature),
            "HS512" => verify::<Hmac<sha2::Sha512>>(key, input, &signature),
            _ => false,
        }
    })
}

/// Fragments a naive SQL or HTML template would execute, lower-case.
const INJECTION_MARKERS: [&str; 12] = [
    "' or ",
    "\" or ",
    "'--",
    "' --",
    "';",
    "or 1=1",
    "or '1'='1",
    "union select",
    "drop table",
    "sleep(",
    "<script",
    "javascript:",
];

/// Whether a request's query string carries an injection attempt (after
/// percent-decoding, `+` as a space).
pub fn looks_like_injection(query: &str) -> bool {
    if query.is_empty() || query.len() > 8 * 1024 {
        return false;
    }
    let text = super::percent::decode_query(query).to_ascii_lowercase();
    INJECTION_MARKERS.iter().any(|m| text.contains(m))
}

/// Whether `answer` has the shape of one of our request ids (32 lower-case
/// hex digits), checked before any lookup.
pub fn is_request_id(answer: &str) -> bool {
    answer.len() == 32
        && answer
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ev<'a>(
        action: &'a str,
        outcome: &'a str,
        actor: Option<&'a str>,
        target: Option<&'a str>,
        detail: &'a serde_json::Value,
    ) -> Observed<'a> {
        Observed {
            action,
            outcome,
            actor,
            target,
            detail,
        }
    }

    fn ctx(participant: Option<&str>, alg: Option<&str>) -> Context {
        Context {
            participant: participant.map(str::to_owned),
            token_alg: alg.map(str::to_owned),
            hmac_with_public_key: true,
        }
    }

    #[test]
    fn the_catalogue_is_well_formed() {
        let patterns = [
            "/patterns/zero-trust",
            "/patterns/defense-in-depth",
            "/patterns/authentication",
            "/patterns/api-security",
            "/patterns/data-protection",
            "/patterns/anti-patterns",
            "/patterns/tools",
            "/patterns/password-policy",
        ];
        for (i, a) in CHALLENGES.iter().enumerate() {
            assert!((1..=5).contains(&a.difficulty), "{}", a.id);
            assert!(patterns.contains(&a.pattern), "{}", a.id);
            assert!(!a.hint.is_empty() && !a.title.is_empty(), "{}", a.id);
            assert!(CHALLENGES[i + 1..].iter().all(|b| b.id != a.id), "{}", a.id);
            assert_eq!(find(a.id), Some(a));
        }
        assert_eq!(
            CHALLENGES.iter().filter(|c| c.answered).count(),
            1,
            "only the request-id challenge is answered"
        );
    }

    #[test]
    fn forged_tokens_are_told_apart_by_the_claimed_algorithm() {
        let d = json!({ "reason": "malformed" });
        let e = ev("access.denied", "denied", None, None, &d);
        assert_eq!(
            solved_by(&e, &ctx(Some("u1"), Some("none"))),
            Some((JWT_ALG_NONE, "u1".into()))
        );
        assert_eq!(
            challenge_of(&e, &ctx(Some("u1"), Some("NONE"))),
            Some(JWT_ALG_NONE)
        );
        let d = json!({ "reason": "algorithm_not_allowed" });
        let e = ev("access.denied", "denied", None, None, &d);
        assert_eq!(
            solved_by(&e, &ctx(Some("u2"), Some("HS256"))),
            Some((JWT_KEY_CONFUSION, "u2".into()))
        );
        // An HS256 header over a signature not made with our public key
        // solves nothing.
        let garbage = Context {
            hmac_with_public_key: false,
            ..ctx(Some("u2"), Some("HS256"))
        };
        assert_eq!(challenge_of(&e, &garbage), None);
        // A real token that expired, or no token at all, solves nothing.
        assert_eq!(challenge_of(&e, &ctx(Some("u2"), Some("RS256"))), None);
        assert_eq!(challenge_of(&e, &ctx(Some("u2"), None)), None);
        let d = json!({ "reason": "expired" });
        let e = ev("access.denied", "denied", None, None, &d);
        assert_eq!(challenge_of(&e, &ctx(Some("u2"), Some("none"))), None);
    }

    #[test]
    fn a_forged_token_without_a_session_credits_nobody() {
        // The token's own `sub` is never looked at: with no valid session
        // in the request there is no one to credit.
        let d = json!({ "reason": "malformed" });
        let e = ev("access.denied", "denied", None, Some("victim"), &d);
        assert_eq!(solved_by(&e, &ctx(None, Some("none"))), None);
        let d = json!({ "header": "x-is-admin" });
        let e = ev("access.forged_header", "denied", None, Some("victim"), &d);
        assert_eq!(solved_by(&e, &ctx(None, None)), None);
        assert_eq!(
            solved_by(&e, &ctx(Some("me"), None)),
            Some((FORGED_ADMIN_HEADER, "me".into()))
        );
    }

    #[test]
    fn the_actor_is_preferred_to_the_participant() {
        let d = json!({ "header": "x-is-admin" });
        let e = ev("access.forged_header", "denied", Some("actor"), None, &d);
        assert_eq!(
            solved_by(&e, &ctx(Some("cookie"), None)),
            Some((FORGED_ADMIN_HEADER, "actor".into()))
        );
    }

    #[test]
    fn credential_bound_attempts_credit_their_target() {
        let d = json!({ "purpose": "login" });
        let e = ev("mfa.replay", "denied", None, Some("u3"), &d);
        assert_eq!(
            solved_by(&e, &ctx(None, None)),
            Some((TOTP_REPLAY, "u3".into()))
        );
        let d = json!({ "session_id": "s" });
        let e = ev("auth.refresh_reuse", "denied", None, Some("u4"), &d);
        assert_eq!(
            solved_by(&e, &ctx(None, None)),
            Some((REFRESH_REUSE, "u4".into()))
        );
        let d = json!({ "reason": "code_verifier_mismatch" });
        let e = ev("oauth.token", "denied", None, Some("u5"), &d);
        assert_eq!(
            solved_by(&e, &ctx(None, None)),
            Some((PKCE_TAMPER, "u5".into()))
        );
        let d = json!({ "reason": "redirect_uri_mismatch" });
        let e = ev("oauth.token", "denied", None, Some("u5"), &d);
        assert_eq!(solved_by(&e, &ctx(None, None)), None);
        let d = json!({});
        let e = ev("oauth.code_reuse", "denied", None, Some("u6"), &d);
        assert_eq!(
            solved_by(&e, &ctx(None, None)),
            Some((OAUTH_CODE_REUSE, "u6".into()))
        );
    }

    #[test]
    fn another_users_id_needs_the_not_owner_refusal() {
        let d = json!({ "reason": "not_owner" });
        let e = ev("session.revoke", "denied", Some("u7"), Some("s9"), &d);
        assert_eq!(
            solved_by(&e, &ctx(Some("u7"), None)),
            Some((OTHER_USERS_ID, "u7".into()))
        );
        let d = json!({ "reason": "revoked_by_user" });
        let e = ev("session.revoke", "success", Some("u7"), Some("s9"), &d);
        assert_eq!(solved_by(&e, &ctx(Some("u7"), None)), None);
    }

    #[test]
    fn ordinary_events_solve_nothing() {
        let d = json!({});
        for (action, outcome) in [
            ("auth.login", "success"),
            ("auth.login", "failure"),
            ("mfa.verify", "failure"),
            ("workshop.solved", "success"),
            ("workshop.server_error", "failure"),
        ] {
            let e = ev(action, outcome, Some("u"), None, &d);
            assert_eq!(solved_by(&e, &ctx(Some("u"), Some("none"))), None);
        }
    }

    #[test]
    fn the_public_pem_is_what_the_key_itself_encodes() {
        use aws_lc_rs::encoding::{AsDer, PublicKeyX509Der};
        use aws_lc_rs::signature::KeyPair;
        use base64::Engine;
        let (_, private) = &crate::security::signing_keys::tests::test_pems()[0];
        let der = base64::engine::general_purpose::STANDARD
            .decode(
                private
                    .lines()
                    .filter(|l| !l.starts_with("-----"))
                    .collect::<String>(),
            )
            .unwrap();
        let pair = aws_lc_rs::rsa::KeyPair::from_pkcs8(&der).unwrap();
        let public = pair.public_key();
        let expected: PublicKeyX509Der<'static> = public.as_der().unwrap();
        let pem = rsa_public_pem(
            public.modulus().big_endian_without_leading_zero(),
            public.exponent().big_endian_without_leading_zero(),
        );
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        assert_eq!(
            base64::engine::general_purpose::STANDARD
                .decode(body)
                .unwrap(),
            expected.as_ref()
        );
        assert!(pem.lines().all(|l| l.len() <= 64));
        assert!(pem.ends_with("-----END PUBLIC KEY-----\n"));
    }

    #[test]
    fn only_a_real_hmac_under_a_given_key_counts() {
        use base64::Engine;
        use hmac::{Hmac, Mac};
        let enc = |v: &serde_json::Value| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
        };
        let sign = |alg: &str, key: &[u8]| {
            let input = format!("{}.e30", enc(&json!({ "alg": alg })));
            let sig = match alg {
                "HS384" => {
                    let mut m = Hmac::<sha2::Sha384>::new_from_slice(key).unwrap();
                    m.update(input.as_bytes());
                    m.finalize().into_bytes().to_vec()
                }
                _ => {
                    let mut m = Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
                    m.update(input.as_bytes());
                    m.finalize().into_bytes().to_vec()
                }
            };
            format!(
                "{input}.{}",
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sig)
            )
        };
        let keys = vec![b"public pem".to_vec(), b"other".to_vec()];
        assert!(hmac_signed_with_any(&sign("HS256", b"public pem"), &keys));
        assert!(hmac_signed_with_any(&sign("HS384", b"other"), &keys));
        assert!(!hmac_signed_with_any(&sign("HS256", b"a guess"), &keys));
        assert!(!hmac_signed_with_any(&sign("RS256", b"public pem"), &keys));
        let garbage = format!("{}.e30.bm90IGEgbWFj", enc(&json!({ "alg": "HS256" })));
        assert!(!hmac_signed_with_any(&garbage, &keys));
        assert!(!hmac_signed_with_any("no dots", &keys));
        assert!(!hmac_signed_with_any(&sign("HS256", b"public pem"), &[]));
    }

    #[test]
    fn claimed_algorithms_are_read_from_the_header_only() {
        use base64::Engine;
        let enc = |v: &serde_json::Value| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
        };
        let none = format!("{}.{}.", enc(&json!({"alg": "none"})), enc(&json!({})));
        assert_eq!(claimed_alg(&none).as_deref(), Some("none"));
        let hs = format!("{}.e30.sig", enc(&json!({"alg": "HS256", "kid": "k"})));
        assert_eq!(claimed_alg(&hs).as_deref(), Some("HS256"));
        assert_eq!(claimed_alg("garbage"), None);
        assert_eq!(claimed_alg(""), None);
        assert_eq!(claimed_alg(&format!("{}.x.y", enc(&json!([1])))), None);
    }

    #[test]
    fn injection_strings_are_recognised_in_query_strings() {
        for q in [
            "q=%27%20OR%20%271%27%3D%271",
            "q=' or '1'='1",
            "q=x'--",
            "q=1+UNION+SELECT+password+FROM+users",
            "q=%3Cscript%3Ealert(1)%3C%2Fscript%3E",
            "q=a';DROP TABLE users",
        ] {
            assert!(looks_like_injection(q), "{q}");
        }
        for q in [
            "",
            "q=alice",
            "q=o%27brien",
            "q=100%25",
            "q=%",
            "q=%2",
            "q=%zz",
        ] {
            assert!(!looks_like_injection(q), "{q}");
        }
    }

    #[test]
    fn request_ids_have_one_shape() {
        let id = "0123456789abcdef".repeat(2);
        assert!(is_request_id(&id));
        assert!(!is_request_id(&id.to_ascii_uppercase()));
        assert!(!is_request_id(&id[1..]));
        assert!(!is_request_id("' or 1=1 --"));
        assert!(!is_request_id(""));
    }
}
