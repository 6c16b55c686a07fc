//! RS256 access tokens: issuing and verifying.
//!
//! Verification (ASVS 3.5.3, 5.0 9.1/9.2) pins the algorithm to RS256, takes
//! the key only from our own [`KeySet`] by `kid` (a `jku`, `x5u` or embedded
//! `jwk` header is never consulted; an unknown `kid` fails), requires every
//! claim, and checks `iss`, `aud`, `nbf`, `exp` and `type`.

use super::signing_keys::KeySet;
use jsonwebtoken::{decode, decode_header, Algorithm, Header, Validation};
use serde::{Deserialize, Serialize};

/// Clock skew tolerated on `exp` and `nbf`: a tenth of the token lifetime,
/// at most 30 seconds (so a short test lifetime is not swamped by it).
pub fn leeway_secs(ttl_secs: i64) -> u64 {
    u64::try_from(ttl_secs / 10).unwrap_or(0).min(30)
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub jti: String,
    pub roles: Vec<String>,
    /// The server-side session this token belongs to.
    pub sid: String,
    #[serde(rename = "type")]
    pub token_type: String,
    /// Only in tokens issued to an OAuth client (RFC 9068 §2.2): the client,
    /// and the scopes the user granted it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

/// What a token issued to an OAuth client carries beyond a first-party one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientGrant {
    pub client_id: String,
    /// The granted scopes, space-separated.
    pub scope: String,
    /// The resource server the token is for (`aud`); `None`: the policy's
    /// own audience, this app's API.
    pub audience: Option<String>,
}

/// Who issues tokens, for whom, and for how long.
#[derive(Clone, Debug)]
pub struct TokenPolicy {
    pub issuer: String,
    pub audience: String,
    pub ttl_secs: i64,
}

/// Why a token was refused. Only for logs and audit details: the client
/// always gets the same generic 401.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum TokenError {
    Malformed,
    AlgorithmNotAllowed,
    MissingKeyId,
    UnknownKeyId,
    BadSignature,
    Expired,
    NotYetValid,
    WrongIssuer,
    WrongAudience,
    WrongType,
    MissingClaim,
    Signing,
}

impl TokenError {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Malformed => "malformed",
            Self::AlgorithmNotAllowed => "algorithm_not_allowed",
            Self::MissingKeyId => "missing_kid",
            Self::UnknownKeyId => "unknown_kid",
            Self::BadSignature => "bad_signature",
            Self::Expired => "expired",
            Self::NotYetValid => "not_yet_valid",
            Self::WrongIssuer => "wrong_issuer",
            Self::WrongAudience => "wrong_audience",
            Self::WrongType => "wrong_type",
            Self::MissingClaim => "missing_claim",
            Self::Signing => "signing_failed",
        }
    }
}

/// Issues an access token for `sub` in session `sid`, valid from `now` for
/// the policy's lifetime; `grant` when the session belongs to an OAuth client.
pub fn issue(
    keys: &KeySet,
    policy: &TokenPolicy,
    sub: &str,
    sid: &str,
    roles: &[String],
    grant: Option<&ClientGrant>,
    now: i64,
) -> Result<(String, AccessClaims), TokenError> {
    let mut jti = [0u8; 16];
    aws_lc_rs::rand::fill(&mut jti).map_err(|_| TokenError::Signing)?;
    let claims = AccessClaims {
        iss: policy.issuer.clone(),
        sub: sub.to_owned(),
        aud: grant
            .and_then(|g| g.audience.clone())
            .unwrap_or_else(|| policy.audience.clone()),
        iat: now,
        nbf: now,
        exp: now + policy.ttl_secs,
        jti: hex::encode(jti),
        roles: roles.to_vec(),
        sid: sid.to_owned(),
        token_type: "access".into(),
        client_id: grant.map(|g| g.client_id.clone()),
        scope: grant.map(|g| g.scope.clone()),
    };
    let key = keys.signing_key_at(now);
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(key.kid.clone());
    let token = key
        .sign(&header, &claims)
        .map_err(|_| TokenError::Signing)?;
    Ok((token, claims))
}

/// Verifies `token` at `now` (seconds since the epoch; `exp`/`nbf` are
/// checked against the system clock by the library as well) as a token for
/// this app's API: `aud` must be the policy's audience.
pub fn verify(
    keys: &KeySet,
    policy: &TokenPolicy,
    token: &str,
    now: i64,
) -> Result<AccessClaims, TokenError> {
    verify_for(keys, policy, token, now, Some(&policy.audience))
}

/// Verifies a token we issued for any audience (it still needs an `aud`):
/// for introspection, which answers for every resource server's tokens.
pub fn verify_any_audience(
    keys: &KeySet,
    policy: &TokenPolicy,
    token: &str,
    now: i64,
) -> Result<AccessClaims, TokenError> {
    verify_for(keys, policy, token, now, None)
}

fn verify_for(
    keys: &KeySet,
    policy: &TokenPolicy,
    token: &str,
    now: i64,
    audience: Option<&str>,
) -> Result<AccessClaims, TokenError> {
    if token.len() > 8 * 1024 {
        return Err(TokenError::Malformed);
    }
    let header = decode_header(token).map_err(|_| TokenError::Malformed)?;
    if header.alg != Algorithm::RS256 {
        return Err(TokenError::AlgorithmNotAllowed);
    }
    let kid = header.kid.ok_or(TokenError::MissingKeyId)?;
    let key = keys
        .verifying_key(&kid, now)
        .ok_or(TokenError::UnknownKeyId)?;

    let mut validation = Validation::new(Algorithm::RS256);
    validation.algorithms = vec![Algorithm::RS256];
    validation.set_issuer(&[&policy.issuer]);
    match audience {
        Some(aud) => validation.set_audience(&[aud]),
        None => validation.validate_aud = false,
    }
    validation.set_required_spec_claims(&["iss", "sub", "aud", "iat", "nbf", "exp"]);
    validation.validate_exp = true;
    validation.validate_nbf = true;
    validation.leeway = leeway_secs(policy.ttl_secs);

    let data = decode::<AccessClaims>(token, key.decoding(), &validation).map_err(|e| {
        use jsonwebtoken::errors::ErrorKind as K;
        match e.kind() {
            K::InvalidSignature => TokenError::BadSignature,
            K::ExpiredSignature => TokenError::Expired,
            K::ImmatureSignature => TokenError::NotYetValid,
            K::InvalidIssuer => TokenError::WrongIssuer,
            K::InvalidAudience => TokenError::WrongAudience,
            K::MissingRequiredClaim(_) => TokenError::MissingClaim,
            K::InvalidAlgorithm => TokenError::AlgorithmNotAllowed,
            K::Json(_) => TokenError::MissingClaim,
            _ => TokenError::Malformed,
        }
    })?;
    if data.claims.token_type != "access" {
        return Err(TokenError::WrongType);
    }
    Ok(data.claims)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::security::signing_keys::tests::key;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    use jsonwebtoken::encode;
    use serde_json::{json, Value};

    fn now() -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
    }

    fn policy() -> TokenPolicy {
        TokenPolicy {
            issuer: "https://issuer.test".into(),
            audience: "api.test".into(),
            ttl_secs: 900,
        }
    }

    /// Keys created long ago are all retired by the newest: use one set with
    /// a single key so it stays current.
    fn set() -> KeySet {
        KeySet::new(vec![key(2)], 900).unwrap()
    }

    fn b64(v: &Value) -> String {
        URL_SAFE_NO_PAD.encode(v.to_string())
    }

    /// A token with arbitrary claims (and, optionally, `kid`), signed by our current key.
    fn signed_with(kid: Option<&str>, claims: Value) -> String {
        let ks = set();
        let k = ks.current();
        let mut h = Header::new(Algorithm::RS256);
        h.kid = Some(kid.map_or_else(|| k.kid.clone(), str::to_owned));
        k.sign(&h, &claims).unwrap()
    }

    fn good_claims() -> Value {
        let t = now();
        json!({
            "iss": "https://issuer.test", "sub": "user-1", "aud": "api.test",
            "iat": t, "nbf": t, "exp": t + 900, "jti": "j1", "roles": ["user"],
            "sid": "s1", "type": "access"
        })
    }

    fn with(mut claims: Value, key: &str, value: Value) -> Value {
        claims[key] = value;
        claims
    }

    fn verdict(token: &str) -> Result<AccessClaims, TokenError> {
        verify(&set(), &policy(), token, now())
    }

    #[test]
    fn issued_tokens_verify_with_every_claim() {
        let (token, claims) = issue(
            &set(),
            &policy(),
            "user-1",
            "s1",
            &["user".into()],
            None,
            now(),
        )
        .unwrap();
        let back = verdict(&token).unwrap();
        assert_eq!(back, claims);
        assert_eq!(back.token_type, "access");
        assert_eq!(back.exp - back.iat, 900);
        assert_eq!(back.jti.len(), 32);
    }

    #[test]
    fn alg_none_is_refused() {
        let token = format!(
            "{}.{}.",
            b64(&json!({"alg": "none", "typ": "JWT"})),
            b64(&good_claims())
        );
        assert!(verdict(&token).is_err());
    }

    #[test]
    fn hs256_signed_with_the_public_key_is_refused() {
        // The classic RS/HS confusion: sign HS256 using the public key as the secret.
        let ks = set();
        let n = serde_json::to_string(&ks.jwks(now())).unwrap();
        let header = Header {
            alg: Algorithm::HS256,
            kid: Some(ks.current().kid.clone()),
            ..Default::default()
        };
        let token = encode(
            &header,
            &good_claims(),
            &jsonwebtoken::EncodingKey::from_secret(n.as_bytes()),
        )
        .unwrap();
        assert_eq!(verdict(&token), Err(TokenError::AlgorithmNotAllowed));
    }

    #[test]
    fn time_claims_are_enforced() {
        let t = now();
        let expired = with(
            with(good_claims(), "exp", json!(t - 120)),
            "iat",
            json!(t - 1000),
        );
        assert_eq!(
            verdict(&signed_with(None, expired)),
            Err(TokenError::Expired)
        );
        let future = with(good_claims(), "nbf", json!(t + 600));
        assert_eq!(
            verdict(&signed_with(None, future)),
            Err(TokenError::NotYetValid)
        );
        // exp of the wrong type must not count as "no expiry".
        let string_exp = with(good_claims(), "exp", json!("never"));
        assert!(verdict(&signed_with(None, string_exp)).is_err());
    }

    #[test]
    fn issuer_audience_and_type_are_checked() {
        assert_eq!(
            verdict(&signed_with(
                None,
                with(good_claims(), "iss", json!("https://evil.test"))
            )),
            Err(TokenError::WrongIssuer)
        );
        assert_eq!(
            verdict(&signed_with(
                None,
                with(good_claims(), "aud", json!("other-api"))
            )),
            Err(TokenError::WrongAudience)
        );
        assert_eq!(
            verdict(&signed_with(
                None,
                with(good_claims(), "type", json!("refresh"))
            )),
            Err(TokenError::WrongType)
        );
    }

    #[test]
    fn a_client_token_names_its_client_scope_and_resource() {
        let grant = ClientGrant {
            client_id: "c1".into(),
            scope: "account".into(),
            audience: Some("https://reports.test".into()),
        };
        let (token, claims) = issue(
            &set(),
            &policy(),
            "user-1",
            "s1",
            &["user".into()],
            Some(&grant),
            now(),
        )
        .unwrap();
        assert_eq!(claims.aud, "https://reports.test");
        assert_eq!(claims.client_id.as_deref(), Some("c1"));
        assert_eq!(claims.scope.as_deref(), Some("account"));
        // This API refuses a token meant for another resource server...
        assert_eq!(
            verify(&set(), &policy(), &token, now()),
            Err(TokenError::WrongAudience)
        );
        // ...while introspection still recognises it as ours.
        assert_eq!(
            verify_any_audience(&set(), &policy(), &token, now()).unwrap(),
            claims
        );
        // A client whose resource is this API gets a token this API accepts.
        let own = ClientGrant {
            audience: None,
            ..grant
        };
        let (token, _) = issue(&set(), &policy(), "user-1", "s1", &[], Some(&own), now()).unwrap();
        let claims = verify(&set(), &policy(), &token, now()).unwrap();
        assert_eq!(claims.aud, "api.test");
    }

    #[test]
    fn first_party_tokens_carry_no_client_claims() {
        let (token, _) = issue(&set(), &policy(), "u", "s", &[], None, now()).unwrap();
        let payload = token.split('.').nth(1).unwrap();
        let json: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
        assert!(json.get("client_id").is_none() && json.get("scope").is_none());
    }

    #[test]
    fn every_claim_is_required() {
        for claim in [
            "iss", "sub", "aud", "iat", "nbf", "exp", "jti", "roles", "sid", "type",
        ] {
            let mut c = good_claims();
            c.as_object_mut().unwrap().remove(claim);
            assert!(
                verdict(&signed_with(None, c)).is_err(),
                "token without {claim} accepted"
            );
        }
    }

    #[test]
    fn a_tampered_payload_fails_the_signature() {
        let (token, _) = issue(
            &set(),
            &policy(),
            "user-1",
            "s1",
            &["user".into()],
            None,
            now(),
        )
        .unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        let forged = with(good_claims(), "roles", json!(["admin"]));
        let tampered = format!("{}.{}.{}", parts[0], b64(&forged), parts[2]);
        assert_eq!(verdict(&tampered), Err(TokenError::BadSignature));
    }

    #[test]
    fn keys_come_only_from_our_set() {
        assert_eq!(
            verdict(&signed_with(Some("1-deadbeef"), good_claims())),
            Err(TokenError::UnknownKeyId)
        );
        for hostile in [
            "../../keys/signing/x",
            "' OR '1'='1",
            "1000-ab; DROP TABLE users",
        ] {
            assert_eq!(
                verdict(&signed_with(Some(hostile), good_claims())),
                Err(TokenError::UnknownKeyId)
            );
        }
        // jku / x5u pointing elsewhere are ignored: the key is still ours, so a
        // token signed by someone else fails even though it names their key set.
        let foreign = KeySet::new(vec![key(0)], 900).unwrap();
        let mut h = Header::new(Algorithm::RS256);
        h.kid = Some(set().current().kid.clone());
        h.jku = Some("https://evil.test/jwks.json".into());
        h.x5u = Some("https://evil.test/cert.pem".into());
        let token = foreign.current().sign(&h, &good_claims()).unwrap();
        assert_eq!(verdict(&token), Err(TokenError::BadSignature));
    }

    #[test]
    fn garbage_is_malformed() {
        for t in ["", "abc", "a.b.c", &"x".repeat(10_000)] {
            assert!(verdict(t).is_err(), "{t}");
        }
    }
}
