//! `SESSION_KEY` as a versioned key set: the HMAC keys under which refresh
//! tokens, MFA challenge tokens, recovery codes, OAuth codes, consent
//! requests and client secrets are stored (never the values themselves).
//!
//! - The format is `FIELD_KEYS`'s, `kid:hex,kid:hex,…`, the first key current,
//!   parsed by the same function (`field_crypto::parse_key_set`), so it
//!   refuses the same mistakes. Today's single key (64 hex characters, no id)
//!   is still accepted: it is the key with the id [`LEGACY_KID`].
//! - A digest is stored as `kid:hex`, so each row names its key; a row
//!   without a prefix (written before key sets) is [`LEGACY_KID`]'s.
//! - A presented value is looked up by every form it could be stored in
//!   under the keys held ([`SessionKeys::lookups`]): one per key, plus the
//!   bare legacy form — bounded by the number of keys, one indexed `IN`.
//!   A row under a key no longer held matches nothing: it is refused like an
//!   unknown value.

use crate::security::field_crypto::{parse_key_set, CryptoError};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretSlice};
use sha2::Sha256;

/// The id of a key given in today's single-key form, and of every row
/// stored without a key id. To add a key to such a deployment, keep the old
/// one under this id: `SESSION_KEY=s2:<new>,legacy:<old>`.
pub const LEGACY_KID: &str = "legacy";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SessionKeyError {
    #[error("{0}")]
    Set(CryptoError),
    #[error("no session key is configured")]
    NoKey,
    /// Named without echoing what was written (it may be a key).
    #[error(
        "must be 64 hex characters (one key, id `legacy`) or `kid:64-hex-chars,…` (the first current)"
    )]
    BadSingleKey,
}

/// The loaded keys, the current one first: it makes every new digest; all
/// of them verify.
pub struct SessionKeys {
    keys: Vec<(String, SecretSlice<u8>)>,
}

/// Shows the key ids, never the keys.
impl std::fmt::Debug for SessionKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionKeys")
            .field("kids", &self.key_ids())
            .field("keys", &format_args!("[redacted]"))
            .finish()
    }
}

impl SessionKeys {
    /// `kid:hex,…` (the first current), or one bare 64-hex key (id [`LEGACY_KID`]).
    pub fn parse(spec: &str) -> Result<Self, SessionKeyError> {
        let spec = spec.trim();
        if !spec.contains(':') && !spec.contains(',') {
            let bytes = hex::decode(spec)
                .ok()
                .filter(|b| b.len() == 32)
                .ok_or(SessionKeyError::BadSingleKey)?;
            return Ok(Self {
                keys: vec![(LEGACY_KID.to_owned(), SecretSlice::from(bytes))],
            });
        }
        let keys: Vec<(String, SecretSlice<u8>)> = parse_key_set(spec)
            .map_err(SessionKeyError::Set)?
            .into_iter()
            .map(|(_, kid, bytes)| (kid, SecretSlice::from(bytes)))
            .collect();
        if keys.is_empty() {
            return Err(SessionKeyError::NoKey);
        }
        Ok(Self { keys })
    }

    /// The key ids, the current one first (ids only, never keys).
    pub fn key_ids(&self) -> Vec<&str> {
        self.keys.iter().map(|(kid, _)| kid.as_str()).collect()
    }

    pub fn current_kid(&self) -> &str {
        self.keys
            .first()
            .map_or(LEGACY_KID, |(kid, _)| kid.as_str())
    }

    /// The current key, for a value derived from it rather than stored
    /// (a refresh token's successor).
    pub fn current_key(&self) -> &[u8] {
        self.keys.first().map_or(&[], |(_, k)| k.expose_secret())
    }

    /// Every key held, the current first, for a value checked but not
    /// stored (the login form's CSRF token: one rendered by an instance
    /// not yet restarted with a new current key still verifies).
    pub fn held_keys(&self) -> impl Iterator<Item = &[u8]> {
        self.keys.iter().map(|(_, k)| k.expose_secret())
    }

    pub fn holds(&self, kid: &str) -> bool {
        self.keys.iter().any(|(k, _)| k == kid)
    }

    /// The stored form of a new value: `kid:` and `mac` under the current key.
    pub fn digest(&self, mac: impl Fn(&[u8]) -> String) -> String {
        format!("{}:{}", self.current_kid(), mac(self.current_key()))
    }

    /// Every stored form a presented value may have under the keys held,
    /// the current key's first: `kid:mac` per key, and the bare form of
    /// rows written before key sets when [`LEGACY_KID`] is held.
    pub fn lookups(&self, mac: impl Fn(&[u8]) -> String) -> Vec<String> {
        let mut forms = Vec::with_capacity(self.keys.len() + 1);
        for (kid, key) in &self.keys {
            let digest = mac(key.expose_secret());
            forms.push(format!("{kid}:{digest}"));
            if kid == LEGACY_KID {
                forms.push(digest);
            }
        }
        forms
    }

    /// The key id a stored digest names ([`LEGACY_KID`] when none).
    pub fn key_id_of(stored: &str) -> &str {
        stored.split_once(':').map_or(LEGACY_KID, |(kid, _)| kid)
    }

    /// The set in `SESSION_KEY`'s form, `kid:hex,…`, the current first:
    /// key material, for `backend rotate-session-key` to hand to the
    /// operator and for nothing else.
    pub fn expose_spec(&self) -> String {
        self.keys
            .iter()
            .map(|(kid, key)| format!("{kid}:{}", hex::encode(key.expose_secret())))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// This set with a new random key under `kid` after every other (held
    /// for verifying; not current).
    pub fn with_new_key(&self, kid: &str) -> Result<Self, SessionKeyError> {
        if self.holds(kid) {
            return Err(SessionKeyError::Set(CryptoError::DuplicateKeyId(
                kid.to_owned(),
            )));
        }
        let mut key = vec![0u8; 32];
        rand::RngCore::fill_bytes(
            &mut rand::TryRngCore::unwrap_err(rand::rngs::OsRng),
            &mut key,
        );
        let spec = format!("{},{kid}:{}", self.expose_spec(), hex::encode(&key));
        // Through the parser, so the new set obeys every rule a configured one does.
        Self::parse(&spec)
    }

    /// This set with `kid` moved first (current), the others in their order.
    pub fn with_current(&self, kid: &str) -> Option<Self> {
        let at = self.keys.iter().position(|(k, _)| k == kid)?;
        let mut keys = self.clone_keys();
        let first = keys.remove(at);
        keys.insert(0, first);
        Some(Self { keys })
    }

    /// This set without `kid`; `None` when it is not held or is the
    /// current key (a set always has a current key).
    pub fn without(&self, kid: &str) -> Option<Self> {
        if self.current_kid() == kid || !self.holds(kid) {
            return None;
        }
        let keys = self
            .clone_keys()
            .into_iter()
            .filter(|(k, _)| k != kid)
            .collect();
        Some(Self { keys })
    }

    fn clone_keys(&self) -> Vec<(String, SecretSlice<u8>)> {
        self.keys
            .iter()
            .map(|(kid, key)| (kid.clone(), SecretSlice::from(key.expose_secret().to_vec())))
            .collect()
    }

    /// A fingerprint of each key, to notice a key id later given to other
    /// key material: HMAC of a fixed label, which reveals nothing of the
    /// key (HMAC is a PRF) and differs for every key.
    pub fn fingerprints(&self) -> Vec<(&str, String)> {
        self.keys
            .iter()
            .map(|(kid, key)| (kid.as_str(), fingerprint(key.expose_secret())))
            .collect()
    }
}

fn fingerprint(key: &[u8]) -> String {
    match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(b"session-key-fingerprint\0");
            hex::encode(mac.finalize().into_bytes())
        }
        // HMAC accepts keys of any length; never reached.
        Err(_) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const K1: &str = "1111111111111111111111111111111111111111111111111111111111111111";
    const K2: &str = "2222222222222222222222222222222222222222222222222222222222222222";

    fn mac(key: &[u8]) -> String {
        crate::security::recovery_codes::digest(key, "abcdefghjk")
    }

    #[test]
    fn the_single_key_form_is_the_legacy_key() {
        let keys = SessionKeys::parse(&format!(" {K1}\n")).unwrap();
        assert_eq!(keys.key_ids(), [LEGACY_KID]);
        assert_eq!(keys.current_key(), hex::decode(K1).unwrap());
        assert!(keys.digest(mac).starts_with("legacy:"));
        // Rows written before key sets (no prefix) are found under it.
        let legacy = SessionKeys::parse(K1).unwrap();
        let bare = mac(legacy.current_key());
        assert!(legacy.lookups(mac).contains(&bare));
        assert_eq!(SessionKeys::key_id_of(&bare), LEGACY_KID);
    }

    #[test]
    fn a_set_stores_under_the_first_and_finds_under_all() {
        let old = SessionKeys::parse(&format!("k1:{K1}")).unwrap();
        let stored = old.digest(mac);
        assert_eq!(SessionKeys::key_id_of(&stored), "k1");
        let both = SessionKeys::parse(&format!("k2:{K2},k1:{K1}")).unwrap();
        assert_eq!(both.current_kid(), "k2");
        assert!(both.digest(mac).starts_with("k2:"));
        let lookups = both.lookups(mac);
        assert_eq!(lookups.len(), 2, "one form per key: {lookups:?}");
        assert!(lookups.contains(&stored));
        // Without k1, nothing it stored is found.
        let new_only = SessionKeys::parse(&format!("k2:{K2}")).unwrap();
        assert!(!new_only.lookups(mac).contains(&stored));
        // The same material under another id is another stored form.
        let renamed = SessionKeys::parse(&format!("k9:{K1}")).unwrap();
        assert!(!renamed.lookups(mac).contains(&stored));
    }

    #[test]
    fn the_field_keys_refusals_apply_without_echoing_key_material() {
        let twice = SessionKeys::parse(&format!("k1:{K1},k1:{K2}")).unwrap_err();
        assert!(twice.to_string().contains("key id `k1` appears twice"));
        for (spec, says) in [
            (format!("k1:{K1},{K2}"), "entry 2 has no key id"),
            (format!("k1:{K1},:{K2}"), "entry 2: the key id is empty"),
            (format!("k 1:{K1}"), "entry 1: the key id must be"),
            (
                "k1:abcd".to_owned(),
                "entry 1 (`k1`): the key is not 64 hex",
            ),
            ("zz-not-hex".to_owned(), "must be 64 hex characters"),
            (K1[..40].to_owned(), "must be 64 hex characters"),
            (",".to_owned(), "no session key is configured"),
        ] {
            let err = SessionKeys::parse(&spec).unwrap_err().to_string();
            assert!(err.contains(says), "{spec}: {err}");
            for secret in [K1, K2, &K1[..40], "abcd", "zz-not-hex"] {
                assert!(!err.contains(secret), "{err} echoes input");
            }
        }
    }

    #[test]
    fn debug_shows_ids_only_and_fingerprints_tell_keys_apart() {
        let keys = SessionKeys::parse(&format!("k2:{K2},k1:{K1}")).unwrap();
        let shown = format!("{keys:?}");
        assert!(shown.contains("k2") && shown.contains("[redacted]"));
        assert!(!shown.contains(K1) && !shown.contains(K2));
        let prints = keys.fingerprints();
        assert_ne!(prints[0].1, prints[1].1);
        assert!(!prints[0].1.contains(K2));
        let again = SessionKeys::parse(&format!("k1:{K1}")).unwrap();
        assert_eq!(again.fingerprints()[0], prints[1]);
    }

    #[test]
    fn a_rotation_adds_after_promotes_and_retires_keeping_the_key_material() {
        let single = SessionKeys::parse(K1).unwrap();
        assert_eq!(single.expose_spec(), format!("legacy:{K1}"));
        let added = single.with_new_key("s2").unwrap();
        assert_eq!(added.key_ids(), ["legacy", "s2"]);
        assert_eq!(
            added.current_kid(),
            "legacy",
            "a new key is not current yet"
        );
        assert_eq!(added.current_key(), single.current_key());
        assert_ne!(added.keys[1].1.expose_secret(), single.current_key());
        assert_eq!(added.keys[1].1.expose_secret().len(), 32);
        // Round-trips through the configured form.
        let reparsed = SessionKeys::parse(&added.expose_spec()).unwrap();
        assert_eq!(reparsed.fingerprints(), added.fingerprints());
        assert!(matches!(
            added.with_new_key("s2"),
            Err(SessionKeyError::Set(CryptoError::DuplicateKeyId(_)))
        ));
        assert!(added.with_new_key("bad id").is_err());

        let promoted = added.with_current("s2").unwrap();
        assert_eq!(promoted.key_ids(), ["s2", "legacy"]);
        assert_eq!(promoted.fingerprints()[1], single.fingerprints()[0]);
        assert!(added.with_current("s9").is_none());

        assert!(promoted.without("s2").is_none(), "never the current key");
        assert!(promoted.without("s9").is_none());
        let retired = promoted.without("legacy").unwrap();
        assert_eq!(retired.key_ids(), ["s2"]);
        assert_eq!(retired.fingerprints()[0], promoted.fingerprints()[0]);
    }
}
