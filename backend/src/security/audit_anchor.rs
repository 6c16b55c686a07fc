//! An outside anchor for the audit log's hash chain.
//!
//! The chain shows a changed or deleted entry in the middle, but not a cut
//! tail, nor an older copy of the whole database put back: both are intact
//! chains, only shorter (`audit_chain`'s module note). An anchor is the
//! chain's head — the newest entry's id (ids are consecutive, so it is also
//! the number of entries) and hash — signed with the JWT signing key
//! (RS256, a compact JWS) and kept outside the table. A chain is then held
//! against the newest anchor: it must reach the anchored id with the
//! anchored hash ([`standing`]).
//!
//! The signature proves the anchor was written by a holder of the signing
//! key, so someone who can edit the anchor file but not read the keys cannot
//! move the anchor back to match a cut log.

use crate::security::signing_keys::KeySet;
use jsonwebtoken::{decode, decode_header, Algorithm, Header, Validation};
use serde::{Deserialize, Serialize};

/// The `typ` claim: an anchor is never mistaken for an access token (which
/// has no `typ` claim and needs `aud`, `exp`…), nor the other way round.
pub const TYP: &str = "audit-anchor";

/// What an anchor says, all of it signed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnchorClaims {
    pub typ: String,
    /// The newest chained entry's id.
    pub head_id: i64,
    /// Its hash.
    pub head_hash: String,
    /// Seconds since the epoch.
    pub anchored_at: i64,
    /// Why it was written: `periodic`, `command` or `restore`.
    pub reason: String,
    /// For a restore: the entries after the restored head that the newest
    /// anchor before it covered, and that the restore dropped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dropped: Option<i64>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AnchorError {
    #[error("the anchor could not be signed")]
    Signing,
    #[error("the anchor is not a well-formed RS256 JWS with a key id")]
    Malformed,
    #[error("the anchor was signed by key `{0}`, which SIGNING_KEYS_DIR does not hold")]
    UnknownKey(String),
    #[error("the anchor's signature does not verify (it was changed, or not written by us)")]
    BadSignature,
}

/// Signs `claims` with the current signing key.
pub fn sign(keys: &KeySet, claims: &AnchorClaims) -> Result<String, AnchorError> {
    let key = keys.current();
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(key.kid.clone());
    key.sign(&header, claims).map_err(|_| AnchorError::Signing)
}

/// Verifies an anchor against every key in `SIGNING_KEYS_DIR` — not only
/// the JWKS's: an anchor must stay checkable long after its key stopped
/// signing tokens. The key id names one of our keys; the anchor cannot
/// bring its own.
pub fn verify(keys: &KeySet, jws: &str) -> Result<AnchorClaims, AnchorError> {
    if jws.len() > 8 * 1024 {
        return Err(AnchorError::Malformed);
    }
    let header = decode_header(jws).map_err(|_| AnchorError::Malformed)?;
    if header.alg != Algorithm::RS256 {
        return Err(AnchorError::Malformed);
    }
    let kid = header.kid.ok_or(AnchorError::Malformed)?;
    let key = keys
        .held(&kid)
        .ok_or_else(|| AnchorError::UnknownKey(kid.chars().take(64).collect()))?;
    let mut validation = Validation::new(Algorithm::RS256);
    validation.algorithms = vec![Algorithm::RS256];
    validation.set_required_spec_claims::<&str>(&[]);
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    let claims = decode::<AnchorClaims>(jws, key.decoding(), &validation)
        .map_err(|_| AnchorError::BadSignature)?
        .claims;
    if claims.typ != TYP {
        return Err(AnchorError::Malformed);
    }
    Ok(claims)
}

/// Where a chain stands against an anchor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Standing {
    /// The chain reaches the anchored entry, with the anchored hash.
    Covers,
    /// The chain ends before the anchored entry: `missing` entries the
    /// anchor saw are gone (a cut tail, or an older database restored).
    Behind { head_id: i64, missing: i64 },
    /// The chain has the anchored id with another hash: a different history.
    Diverged,
}

/// `head`: the verified chain's newest (id, hash); `hash_at_anchor`: the
/// stored hash of the entry with the anchor's id, if the chain has it.
pub fn standing(
    head: Option<(i64, &str)>,
    hash_at_anchor: Option<&str>,
    anchor: &AnchorClaims,
) -> Standing {
    let head_id = head.map_or(0, |(id, _)| id);
    if head_id < anchor.head_id {
        return Standing::Behind {
            head_id,
            missing: anchor.head_id - head_id,
        };
    }
    match hash_at_anchor {
        Some(h) if h == anchor.head_hash => Standing::Covers,
        _ => Standing::Diverged,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::security::signing_keys::{generate, SigningKey};

    fn keyset(n: usize) -> KeySet {
        let keys = (0..n)
            .map(|i| {
                let (kid, pem) = generate(1_000 + i as i64).unwrap();
                SigningKey::from_pem(&kid, pem.as_bytes()).unwrap()
            })
            .collect();
        KeySet::new(keys, 900).unwrap()
    }

    fn claims(id: i64) -> AnchorClaims {
        AnchorClaims {
            typ: TYP.into(),
            head_id: id,
            head_hash: "ab".repeat(32),
            anchored_at: 1_700_000_000,
            reason: "command".into(),
            dropped: None,
        }
    }

    #[test]
    fn an_anchor_verifies_and_any_change_or_foreign_key_is_refused() {
        let keys = keyset(1);
        let jws = sign(&keys, &claims(7)).unwrap();
        assert_eq!(verify(&keys, &jws).unwrap(), claims(7));

        // A claim moved back (to match a cut log): the signature breaks.
        let mut parts: Vec<&str> = jws.split('.').collect();
        let forged = base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            serde_json::to_vec(&claims(3)).unwrap(),
        );
        parts[1] = &forged;
        assert_eq!(
            verify(&keys, &parts.join(".")),
            Err(AnchorError::BadSignature)
        );

        // Signed by someone else's key.
        let other = keyset(1);
        assert!(matches!(
            verify(&other, &jws),
            Err(AnchorError::UnknownKey(_))
        ));
        assert_eq!(verify(&keys, "not a jws"), Err(AnchorError::Malformed));
    }

    #[test]
    fn an_anchor_signed_by_an_older_key_still_verifies_after_rotation() {
        let (old_kid, old_pem) = generate(1_000).unwrap();
        let (new_kid, new_pem) = generate(10_000_000).unwrap();
        let load = |kid: &str, pem: &str| SigningKey::from_pem(kid, pem.as_bytes()).unwrap();
        let before = KeySet::new(vec![load(&old_kid, &old_pem)], 900).unwrap();
        let jws = sign(&before, &claims(7)).unwrap();
        let after = KeySet::new(
            vec![load(&old_kid, &old_pem), load(&new_kid, &new_pem)],
            900,
        )
        .unwrap();
        // Long retired for tokens (it left the JWKS), still ours for anchors.
        assert!(after.verifying_key(&old_kid, 20_000_000).is_none());
        assert_eq!(verify(&after, &jws).unwrap().head_id, 7);
    }

    #[test]
    fn standing_tells_covered_behind_and_diverged() {
        let a = claims(10);
        let h = "ab".repeat(32);
        assert_eq!(standing(Some((12, "x")), Some(&h), &a), Standing::Covers);
        assert_eq!(standing(Some((10, &h)), Some(&h), &a), Standing::Covers);
        assert_eq!(
            standing(Some((7, "x")), None, &a),
            Standing::Behind {
                head_id: 7,
                missing: 3
            }
        );
        assert_eq!(
            standing(None, None, &a),
            Standing::Behind {
                head_id: 0,
                missing: 10
            }
        );
        assert_eq!(
            standing(Some((12, "x")), Some("cd"), &a),
            Standing::Diverged
        );
    }
}
