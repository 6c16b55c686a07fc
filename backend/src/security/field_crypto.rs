//! Field-level encryption at rest: AES-256-GCM (ASVS 6.1.1, 6.2.6).
//!
//! - A fresh random 96-bit nonce from the OS generator for every encryption.
//! - Associated data binds each ciphertext to its table, column and row id,
//!   so a value copied to another row or column fails to decrypt.
//! - A versioned text format carries the key id: `v1:<kid>:<base64url(nonce ‖ ciphertext ‖ tag)>`,
//!   so several keys can be loaded (the current one and older ones) and
//!   values can be re-encrypted under a new key later.
//!
//! Keys come from the secret provider, never from the database.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::{RngCore, TryRngCore};
use std::collections::HashMap;

const VERSION: &str = "v1";

/// Where a value lives: the associated data of its ciphertext.
#[derive(Clone, Copy, Debug)]
pub struct FieldRef<'a> {
    pub table: &'a str,
    pub column: &'a str,
    pub row_id: &'a str,
}

impl FieldRef<'_> {
    fn aad(&self) -> String {
        format!("{}:{}:{}", self.table, self.column, self.row_id)
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    // Entries are named by position (1 = the first) and, once it is known
    // to be one, by key id: never by what was written, which may be key
    // material put in the wrong place.
    #[error("entry {0} has no key id (each entry is `kid:64-hex-chars`)")]
    MissingKeyId(usize),
    #[error("entry {0}: the key id is empty")]
    EmptyKeyId(usize),
    #[error("entry {0}: the key id must be 1-32 letters, digits, '-' or '_'")]
    BadKeyId(usize),
    #[error("entry {0} (`{1}`): the key is not 64 hex characters (32 bytes)")]
    BadKey(usize, String),
    /// Two keys under one id: a value names its key by id only, so one of
    /// the two could never be used, and the data under it would be lost
    /// when the other is removed.
    #[error("key id `{0}` appears twice: every key needs its own id (give a new key a new id)")]
    DuplicateKeyId(String),
    #[error("no field encryption key is configured")]
    NoKey,
    #[error("the value is not in a known encrypted format")]
    Format,
    #[error("the value was encrypted with an unknown key")]
    UnknownKey,
    #[error("the value could not be decrypted")]
    Decrypt,
    #[error("encryption failed")]
    Encrypt,
}

/// The loaded keys: the current one encrypts; any of them decrypts.
pub struct FieldKeys {
    current: String,
    /// The key ids in the order given, the current one first.
    order: Vec<String>,
    keys: HashMap<String, Aes256Gcm>,
}

/// Shows the key ids, never the keys.
impl std::fmt::Debug for FieldKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FieldKeys")
            .field("current", &self.current)
            .field("kids", &self.order)
            .field("keys", &format_args!("[redacted]"))
            .finish()
    }
}

impl FieldKeys {
    /// Parses `kid:hex,kid:hex,…` — the first entry is the current key.
    /// Refuses a malformed entry and a key id given twice.
    pub fn parse(spec: &str) -> Result<Self, CryptoError> {
        let mut keys = HashMap::new();
        let mut order: Vec<String> = Vec::new();
        for (position, kid, bytes) in parse_key_set(spec)? {
            let cipher = Aes256Gcm::new_from_slice(&bytes)
                .map_err(|_| CryptoError::BadKey(position, kid.clone()))?;
            keys.insert(kid.clone(), cipher);
            order.push(kid);
        }
        let current = order.first().cloned().ok_or(CryptoError::NoKey)?;
        Ok(Self {
            current,
            order,
            keys,
        })
    }

    /// Keys given as (id, 32 bytes), the current one first: the data keys
    /// an HSM unwrapped (`KEY_PROVIDER=pkcs11`). The same refusals as `parse`.
    pub fn from_keys(entries: Vec<(String, Vec<u8>)>) -> Result<Self, CryptoError> {
        let mut keys = HashMap::new();
        let mut order: Vec<String> = Vec::new();
        for (index, (kid, bytes)) in entries.into_iter().enumerate() {
            if keys.contains_key(&kid) {
                return Err(CryptoError::DuplicateKeyId(kid));
            }
            let cipher = Aes256Gcm::new_from_slice(&bytes)
                .map_err(|_| CryptoError::BadKey(index + 1, kid.clone()))?;
            keys.insert(kid.clone(), cipher);
            order.push(kid);
        }
        let current = order.first().cloned().ok_or(CryptoError::NoKey)?;
        Ok(Self {
            current,
            order,
            keys,
        })
    }

    /// The key ids, the current one first (ids only, never keys).
    pub fn key_ids(&self) -> &[String] {
        &self.order
    }

    /// Whether a key with this id is loaded.
    pub fn holds(&self, kid: &str) -> bool {
        self.keys.contains_key(kid)
    }

    /// A new random key, as one `kid:hex` entry.
    pub fn generate_entry(kid: &str) -> String {
        let mut key = [0u8; 32];
        rand::rngs::OsRng.unwrap_err().fill_bytes(&mut key);
        format!("{kid}:{}", hex::encode(key))
    }

    pub fn current_kid(&self) -> &str {
        &self.current
    }

    pub fn encrypt(&self, field: FieldRef<'_>, plaintext: &[u8]) -> Result<String, CryptoError> {
        let cipher = self.keys.get(&self.current).ok_or(CryptoError::NoKey)?;
        let mut nonce = [0u8; 12];
        rand::rngs::OsRng.unwrap_err().fill_bytes(&mut nonce);
        let sealed = seal(cipher, &nonce, field.aad().as_bytes(), plaintext)?;
        let mut blob = nonce.to_vec();
        blob.extend_from_slice(&sealed);
        Ok(format!(
            "{VERSION}:{}:{}",
            self.current,
            URL_SAFE_NO_PAD.encode(blob)
        ))
    }

    pub fn decrypt(&self, field: FieldRef<'_>, stored: &str) -> Result<Vec<u8>, CryptoError> {
        let mut parts = stored.splitn(3, ':');
        let (Some(VERSION), Some(kid), Some(body)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(CryptoError::Format);
        };
        let cipher = self.keys.get(kid).ok_or(CryptoError::UnknownKey)?;
        let blob = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| CryptoError::Format)?;
        if blob.len() < 12 + 16 {
            return Err(CryptoError::Format);
        }
        let (nonce, sealed) = blob.split_at(12);
        open(cipher, nonce, field.aad().as_bytes(), sealed)
    }

    /// The key id a stored value was encrypted with (for re-encryption).
    pub fn key_id_of(stored: &str) -> Option<&str> {
        let mut parts = stored.splitn(3, ':');
        match (parts.next(), parts.next()) {
            (Some(VERSION), Some(kid)) => Some(kid),
            _ => None,
        }
    }
}

/// Parses a versioned key set, `kid:hex,kid:hex,…` (the first entry is
/// the current key): each entry's position (1 = the first), id and 32-byte
/// key. Shared by `FIELD_KEYS` and `SESSION_KEY` (`session_keys`), so both
/// refuse the same mistakes: a malformed entry (named by position, never by
/// what was written) and a key id given twice. An empty set is `Ok(vec![])`.
pub fn parse_key_set(spec: &str) -> Result<Vec<(usize, String, Vec<u8>)>, CryptoError> {
    let mut entries: Vec<(usize, String, Vec<u8>)> = Vec::new();
    let all = spec.split(',').map(str::trim).enumerate();
    for (index, entry) in all.filter(|(_, e)| !e.is_empty()) {
        let position = index + 1;
        let (kid, hex_key) = entry
            .split_once(':')
            .ok_or(CryptoError::MissingKeyId(position))?;
        if kid.is_empty() {
            return Err(CryptoError::EmptyKeyId(position));
        }
        let kid_ok = kid.len() <= 32
            && kid
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !kid_ok {
            return Err(CryptoError::BadKeyId(position));
        }
        let bytes = hex::decode(hex_key.trim())
            .ok()
            .filter(|b| b.len() == 32)
            .ok_or_else(|| CryptoError::BadKey(position, kid.to_owned()))?;
        if entries.iter().any(|(_, k, _)| k == kid) {
            return Err(CryptoError::DuplicateKeyId(kid.to_owned()));
        }
        entries.push((position, kid.to_owned(), bytes));
    }
    Ok(entries)
}

/// AES-256-GCM with a 96-bit nonce: ciphertext ‖ 128-bit tag.
fn seal(cipher: &Aes256Gcm, nonce: &[u8], aad: &[u8], msg: &[u8]) -> Result<Vec<u8>, CryptoError> {
    if nonce.len() != 12 {
        return Err(CryptoError::Encrypt);
    }
    cipher
        .encrypt(Nonce::from_slice(nonce), Payload { msg, aad })
        .map_err(|_| CryptoError::Encrypt)
}

/// The inverse of [`seal`]; any change to nonce, data or tag fails.
fn open(
    cipher: &Aes256Gcm,
    nonce: &[u8],
    aad: &[u8],
    sealed: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    if nonce.len() != 12 {
        return Err(CryptoError::Format);
    }
    cipher
        .decrypt(Nonce::from_slice(nonce), Payload { msg: sealed, aad })
        .map_err(|_| CryptoError::Decrypt)
}

#[cfg(test)]
mod tests {
    use super::*;

    const K1: &str = "k1:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    const K2: &str = "k2:1f1e1d1c1b1a191817161514131211100f0e0d0c0b0a09080706050403020100";

    fn field(row: &str) -> FieldRef<'_> {
        FieldRef {
            table: "user_mfa",
            column: "secret",
            row_id: row,
        }
    }

    #[test]
    fn round_trips_with_a_versioned_format() {
        let keys = FieldKeys::parse(K1).unwrap();
        let stored = keys.encrypt(field("u1"), b"JBSWY3DPEHPK3PXP").unwrap();
        assert!(stored.starts_with("v1:k1:"));
        assert!(!stored.contains("JBSWY3DPEHPK3PXP"));
        assert_eq!(
            keys.decrypt(field("u1"), &stored).unwrap(),
            b"JBSWY3DPEHPK3PXP"
        );
        assert_eq!(FieldKeys::key_id_of(&stored), Some("k1"));
    }

    #[test]
    fn keys_given_as_bytes_work_like_a_parsed_set() {
        let parsed = FieldKeys::parse(&format!("{K2},{K1}")).unwrap();
        let bytes = |spec: &str| hex::decode(spec.split_once(':').unwrap().1).unwrap();
        let given =
            FieldKeys::from_keys(vec![("k2".into(), bytes(K2)), ("k1".into(), bytes(K1))]).unwrap();
        assert_eq!(given.key_ids(), parsed.key_ids());
        let stored = parsed.encrypt(field("u1"), b"secret").unwrap();
        assert_eq!(given.decrypt(field("u1"), &stored).unwrap(), b"secret");
        let twice = vec![("k1".into(), bytes(K1)), ("k1".into(), bytes(K2))];
        assert!(matches!(
            FieldKeys::from_keys(twice),
            Err(CryptoError::DuplicateKeyId(_))
        ));
        assert!(matches!(
            FieldKeys::from_keys(vec![("k1".into(), vec![0; 16])]),
            Err(CryptoError::BadKey(1, _))
        ));
        assert!(matches!(
            FieldKeys::from_keys(vec![]),
            Err(CryptoError::NoKey)
        ));
    }

    #[test]
    fn asvs_6_2_6_every_encryption_uses_a_fresh_nonce() {
        let keys = FieldKeys::parse(K1).unwrap();
        let a = keys.encrypt(field("u1"), b"same").unwrap();
        let b = keys.encrypt(field("u1"), b"same").unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn a_ciphertext_moved_to_another_row_or_column_does_not_decrypt() {
        let keys = FieldKeys::parse(K1).unwrap();
        let stored = keys.encrypt(field("u1"), b"secret").unwrap();
        assert_eq!(
            keys.decrypt(field("u2"), &stored),
            Err(CryptoError::Decrypt)
        );
        let other_column = FieldRef {
            table: "user_mfa",
            column: "other",
            row_id: "u1",
        };
        assert_eq!(
            keys.decrypt(other_column, &stored),
            Err(CryptoError::Decrypt)
        );
    }

    #[test]
    fn tampering_and_unknown_keys_are_detected() {
        let keys = FieldKeys::parse(K1).unwrap();
        let stored = keys.encrypt(field("u1"), b"secret").unwrap();
        let mut tampered = stored.clone().into_bytes();
        let last = tampered.len() - 1;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        assert!(keys
            .decrypt(field("u1"), &String::from_utf8(tampered).unwrap())
            .is_err());
        assert_eq!(
            keys.decrypt(field("u1"), "plain text"),
            Err(CryptoError::Format)
        );
        let k2_only = FieldKeys::parse(K2).unwrap();
        assert_eq!(
            k2_only.decrypt(field("u1"), &stored),
            Err(CryptoError::UnknownKey)
        );
    }

    #[test]
    fn old_keys_still_decrypt_after_a_new_current_key() {
        let old = FieldKeys::parse(K1).unwrap();
        let stored = old.encrypt(field("u1"), b"secret").unwrap();
        let both = FieldKeys::parse(&format!("{K2},{K1}")).unwrap();
        assert_eq!(both.current_kid(), "k2");
        assert_eq!(both.decrypt(field("u1"), &stored).unwrap(), b"secret");
        assert!(both
            .encrypt(field("u1"), b"x")
            .unwrap()
            .starts_with("v1:k2:"));
    }

    #[test]
    fn bad_key_specs_are_refused_without_echoing_key_material() {
        let err = FieldKeys::parse("k1:zz").err().unwrap().to_string();
        assert!(err.contains("k1") && !err.contains("zz"));
        assert!(FieldKeys::parse("").is_err());
        assert!(FieldKeys::parse("bad kid:00").is_err());
        assert!(FieldKeys::generate_entry("k9").starts_with("k9:"));
        assert!(FieldKeys::parse(&FieldKeys::generate_entry("k9")).is_ok());
    }

    /// The review's case: the new key given the old key's id. Loading it
    /// must fail, not silently keep one of the two.
    #[test]
    fn one_key_id_twice_is_refused_naming_the_id() {
        let k1_new = "k1:a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf";
        let err = FieldKeys::parse(&format!("{k1_new},{K1}")).err().unwrap();
        assert_eq!(err, CryptoError::DuplicateKeyId("k1".into()));
        let text = err.to_string();
        assert!(text.contains("`k1`") && text.contains("twice"), "{text}");
        assert!(
            !text.contains("a0a1a2") && !text.contains("000102"),
            "{text}"
        );
    }

    #[test]
    fn every_malformed_entry_is_refused_by_position_without_key_material() {
        let hex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
        let cases = [
            (hex.to_owned(), "entry 1 has no key id"),
            (format!(":{hex}"), "entry 1: the key id is empty"),
            (format!("k 1:{hex}"), "entry 1: the key id must be"),
            (format!("{hex}:k1"), "entry 1: the key id must be"),
            (
                format!("{K2},k3:zz{}", &hex[2..]),
                "entry 2 (`k3`): the key is not 64 hex",
            ),
            (
                format!("{K2},k3:{}", &hex[..62]),
                "entry 2 (`k3`): the key is not 64 hex",
            ),
            (
                format!("k3:{hex}00"),
                "entry 1 (`k3`): the key is not 64 hex",
            ),
            ("k3:".to_owned(), "entry 1 (`k3`): the key is not 64 hex"),
            (",".to_owned(), "no field encryption key"),
        ];
        for (spec, expected) in cases {
            let err = FieldKeys::parse(&spec).err().unwrap().to_string();
            assert!(err.contains(expected), "{spec:?}: {err}");
            assert!(
                !err.contains("0102030405") && !err.contains("1d1e1f"),
                "{err}"
            );
        }
    }

    #[test]
    fn key_ids_are_listed_in_order_current_first() {
        let keys = FieldKeys::parse(&format!("{K2},{K1}")).unwrap();
        assert_eq!(keys.key_ids(), ["k2", "k1"]);
        assert!(keys.holds("k1") && !keys.holds("k9"));
    }

    /// The AES-256 test cases with 96-bit IVs of the GCM specification
    /// (McGrew and Viega, "The Galois/Counter Mode of Operation", test
    /// cases 13 to 16), as referenced by NIST SP 800-38D: through the same
    /// seal/open the column encryption uses.
    #[test]
    fn nist_sp_800_38d_aes_256_gcm_test_vectors() {
        let h = |s: &str| hex::decode(s.replace(' ', "")).unwrap();
        let zero_key = h(&"00".repeat(32));
        let key = h("feffe9928665731c6d6a8f9467308308 feffe9928665731c6d6a8f9467308308");
        let iv = h("cafebabefacedbaddecaf888");
        let p15 = h(
            "d9313225f88406e5a55909c5aff5269a 86a7a9531534f7da2e4c303d8a318a72 \
                     1c3c0c95956809532fcf0e2449a6b525 b16aedf5aa0de657ba637b391aafd255",
        );
        let c15 = h(
            "522dc1f099567d07f47f37a32a84427d 643a8cdcbfe5c0c97598a2bd2555d1aa \
                     8cb08e48590dbb3da7b08b1056828838 c5f61e6393ba7a0abcc9f662898015ad",
        );
        let aad16 = h("feedfacedeadbeeffeedfacedeadbeef abaddad2");
        // (name, key, iv, plaintext, aad, ciphertext, tag)
        type Case<'a> = (
            &'a str,
            &'a [u8],
            Vec<u8>,
            &'a [u8],
            &'a [u8],
            &'a [u8],
            Vec<u8>,
        );
        let cases: [Case<'_>; 4] = [
            (
                "13",
                &zero_key,
                h(&"00".repeat(12)),
                &[],
                &[],
                &[],
                h("530f8afbc74536b9a963b4f1c4cb738b"),
            ),
            (
                "14",
                &zero_key,
                h(&"00".repeat(12)),
                &[0u8; 16],
                &[],
                &h("cea7403d4d606b6e074ec5d3baf39d18"),
                h("d0d1c8a799996bf0265b98b5d48ab919"),
            ),
            (
                "15",
                &key,
                iv.clone(),
                &p15,
                &[],
                &c15,
                h("b094dac5d93471bdec1a502270e3cc6c"),
            ),
            (
                "16",
                &key,
                iv,
                &p15[..60],
                &aad16,
                &c15[..60],
                h("76fc6ece0f4e1768cddf8853bb2d551b"),
            ),
        ];
        for (name, key, iv, plaintext, aad, ciphertext, tag) in cases {
            let cipher = Aes256Gcm::new_from_slice(key).unwrap();
            let sealed = seal(&cipher, &iv, aad, plaintext).unwrap();
            let (c, t) = sealed.split_at(sealed.len() - 16);
            assert_eq!(c, ciphertext, "test case {name}: ciphertext");
            assert_eq!(t, &tag[..], "test case {name}: tag");
            assert_eq!(
                open(&cipher, &iv, aad, &sealed).unwrap(),
                plaintext,
                "test case {name}"
            );
            // Every single-bit change to the ciphertext or the tag fails.
            for i in 0..sealed.len() {
                let mut bad = sealed.clone();
                bad[i] ^= 0x01;
                assert_eq!(
                    open(&cipher, &iv, aad, &bad),
                    Err(CryptoError::Decrypt),
                    "test case {name}, byte {i}"
                );
            }
            let mut bad_aad = aad.to_vec();
            bad_aad.push(0);
            assert_eq!(
                open(&cipher, &iv, &bad_aad, &sealed),
                Err(CryptoError::Decrypt)
            );
        }
    }

    #[test]
    fn ciphertexts_swapped_between_two_users_fail() {
        let keys = FieldKeys::parse(K1).unwrap();
        let ssn = |user| FieldRef {
            table: "user_ssn",
            column: "ciphertext",
            row_id: user,
        };
        let alice = keys.encrypt(ssn("alice"), b"123-45-6789").unwrap();
        let bob = keys.encrypt(ssn("bob"), b"987-65-4321").unwrap();
        assert_eq!(keys.decrypt(ssn("alice"), &bob), Err(CryptoError::Decrypt));
        assert_eq!(keys.decrypt(ssn("bob"), &alice), Err(CryptoError::Decrypt));
        assert_eq!(keys.decrypt(ssn("alice"), &alice).unwrap(), b"123-45-6789");
    }

    #[test]
    fn every_tampered_byte_of_a_stored_value_fails() {
        let keys = FieldKeys::parse(K1).unwrap();
        let stored = keys.encrypt(field("u1"), b"JBSWY3DPEHPK3PXP").unwrap();
        let body = stored.strip_prefix("v1:k1:").unwrap();
        let blob = URL_SAFE_NO_PAD.decode(body).unwrap();
        for i in 0..blob.len() {
            let mut bad = blob.clone();
            bad[i] ^= 0x80;
            let tampered = format!("v1:k1:{}", URL_SAFE_NO_PAD.encode(&bad));
            assert_eq!(
                keys.decrypt(field("u1"), &tampered),
                Err(CryptoError::Decrypt),
                "byte {i}"
            );
        }
        let truncated = format!("v1:k1:{}", URL_SAFE_NO_PAD.encode(&blob[..20]));
        assert_eq!(
            keys.decrypt(field("u1"), &truncated),
            Err(CryptoError::Format)
        );
        assert_eq!(
            keys.decrypt(field("u1"), "v2:k1:AAAA"),
            Err(CryptoError::Format)
        );
    }

    #[test]
    fn a_wrong_key_id_fails_clearly() {
        let both = FieldKeys::parse(&format!("{K2},{K1}")).unwrap();
        let under_k1 = FieldKeys::parse(K1)
            .unwrap()
            .encrypt(field("u1"), b"secret")
            .unwrap();
        // Relabelled with another loaded key: the tag does not verify.
        let relabelled = under_k1.replacen("v1:k1:", "v1:k2:", 1);
        assert_eq!(
            both.decrypt(field("u1"), &relabelled),
            Err(CryptoError::Decrypt)
        );
        // A key id that is not loaded: said so, before any decryption.
        let unknown = under_k1.replacen("v1:k1:", "v1:k9:", 1);
        let err = both.decrypt(field("u1"), &unknown).unwrap_err();
        assert_eq!(err, CryptoError::UnknownKey);
        assert_eq!(
            err.to_string(),
            "the value was encrypted with an unknown key"
        );
        assert_eq!(FieldKeys::key_id_of(&unknown), Some("k9"));
    }

    #[test]
    fn debug_never_shows_key_material() {
        let keys = FieldKeys::parse(&format!("{K2},{K1}")).unwrap();
        let debug = format!("{keys:?}");
        assert!(debug.contains("k1") && debug.contains("k2") && debug.contains("[redacted]"));
        assert!(
            !debug.contains("000102030405") && !debug.contains("1f1e1d1c"),
            "{debug}"
        );
    }
}
