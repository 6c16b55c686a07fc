//! Per-user data keys (envelope encryption) and crypto-shredding.
//!
//! - Each user has their own random 256-bit data key (DEK). It is stored
//!   only wrapped by the field keys (`FieldKeys`, the key-encryption key):
//!   the wrapped form is an ordinary `v1:<kid>:…` field value of
//!   `user_data_keys.wrapped`, associated data
//!   `user_data_keys:wrapped:<user_id>`, so it cannot be moved to another
//!   user, and the field keys' rotation, start-up check, `keys status` and
//!   backup checks cover it like any encrypted column. (The brief's
//!   `user_data_keys:<user_id>` names the user as well; the table:column
//!   form keeps one associated-data rule for every wrapped value.)
//! - A user's fields are encrypted under their DEK, AES-256-GCM with a
//!   fresh random nonce and the same row-bound associated data as `v1`
//!   (`table:column:row_id`): `v2:<base64url(nonce ‖ ciphertext ‖ tag)>`.
//!   The value names no key: the row's user finds it.
//! - Deleting the wrapped DEK makes every `v2` value of that user
//!   undecryptable for good (crypto-shredding): no other key opens it.
//!
//! Pure: no database; the service (`services::user_keys`) stores and finds
//! the wrapped keys.

use crate::security::field_crypto::{CryptoError, FieldKeys, FieldRef};
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::{RngCore, TryRngCore};
use zeroize::Zeroizing;

/// The prefix of a value under a user's data key.
const V2: &str = "v2:";
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;

/// Where a user's wrapped data key lives: its associated data.
pub fn wrapped_field(user_id: &str) -> FieldRef<'_> {
    FieldRef {
        table: "user_data_keys",
        column: "wrapped",
        row_id: user_id,
    }
}

/// How a stored value is encrypted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format<'a> {
    /// `v1:<kid>:…`, under a field key (values written before data keys).
    FieldKey(&'a str),
    /// `v2:…`, under the row's user's data key.
    UserKey,
    Unknown,
}

/// The format of a stored value (never decrypts).
pub fn format_of(stored: &str) -> Format<'_> {
    if stored.starts_with(V2) {
        return Format::UserKey;
    }
    match FieldKeys::key_id_of(stored) {
        Some(kid) => Format::FieldKey(kid),
        None => Format::Unknown,
    }
}

/// One user's data key. The bytes are wiped when it is dropped; `Debug`
/// never shows them; there is no `Clone` (one copy, one wipe).
pub struct DataKey {
    key: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey([redacted])")
    }
}

impl DataKey {
    /// A new random key from the OS generator.
    pub fn generate() -> Self {
        let mut key = Zeroizing::new([0u8; 32]);
        rand::rngs::OsRng.unwrap_err().fill_bytes(key.as_mut());
        Self { key }
    }

    fn from_bytes(bytes: &[u8]) -> Result<Self, CryptoError> {
        let mut key = Zeroizing::new([0u8; 32]);
        if bytes.len() != key.len() {
            return Err(CryptoError::Format);
        }
        key.copy_from_slice(bytes);
        Ok(Self { key })
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(self.key.as_ref().into())
    }

    /// The key wrapped under the current field key, for `user_id` only.
    pub fn wrap(&self, kek: &FieldKeys, user_id: &str) -> Result<String, CryptoError> {
        kek.encrypt(wrapped_field(user_id), self.key.as_ref())
    }

    /// The key `wrapped` holds for `user_id`, under any loaded field key.
    /// A wrapped key copied to another user fails (associated data).
    pub fn unwrap(kek: &FieldKeys, user_id: &str, wrapped: &str) -> Result<Self, CryptoError> {
        let bytes = Zeroizing::new(kek.decrypt(wrapped_field(user_id), wrapped)?);
        Self::from_bytes(&bytes)
    }

    /// `v2:<base64url(nonce ‖ ciphertext ‖ tag)>` with a fresh nonce.
    pub fn encrypt(&self, field: FieldRef<'_>, plaintext: &[u8]) -> Result<String, CryptoError> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.unwrap_err().fill_bytes(&mut nonce);
        let sealed = self
            .cipher()
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: aad(field).as_bytes(),
                },
            )
            .map_err(|_| CryptoError::Encrypt)?;
        let mut blob = nonce.to_vec();
        blob.extend_from_slice(&sealed);
        Ok(format!("{V2}{}", URL_SAFE_NO_PAD.encode(blob)))
    }

    /// The inverse of [`DataKey::encrypt`]: any change to the value, or
    /// another row, column or user's key, fails.
    pub fn decrypt(&self, field: FieldRef<'_>, stored: &str) -> Result<Vec<u8>, CryptoError> {
        let body = stored.strip_prefix(V2).ok_or(CryptoError::Format)?;
        let blob = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| CryptoError::Format)?;
        if blob.len() < NONCE_LEN + TAG_LEN {
            return Err(CryptoError::Format);
        }
        let (nonce, sealed) = blob.split_at(NONCE_LEN);
        self.cipher()
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: aad(field).as_bytes(),
                },
            )
            .map_err(|_| CryptoError::Decrypt)
    }
}

/// The same associated data as `v1` values: `table:column:row_id`.
fn aad(field: FieldRef<'_>) -> String {
    format!("{}:{}:{}", field.table, field.column, field.row_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The field-key test key (bytes 00..1f) as `k1`.
    fn kek() -> FieldKeys {
        let hex: String = (0u8..32).map(|b| format!("{b:02x}")).collect();
        FieldKeys::parse(&format!("k1:{hex}")).unwrap()
    }

    fn other_kek(kid: &str) -> FieldKeys {
        let hex: String = (0u8..32).map(|b| format!("{:02x}", b ^ 0x5a)).collect();
        FieldKeys::parse(&format!("{kid}:{hex}")).unwrap()
    }

    /// A DEK with bytes 40..5f.
    fn dek() -> DataKey {
        DataKey::from_bytes(&(0x40u8..0x60).collect::<Vec<u8>>()).unwrap()
    }

    fn ssn(user: &str) -> FieldRef<'_> {
        FieldRef {
            table: "user_ssn",
            column: "ciphertext",
            row_id: user,
        }
    }

    /// Computed independently (Python `cryptography`'s AESGCM): the DEK
    /// 40..5f wrapped under the KEK 00..1f, nonce a0..ab, associated data
    /// `user_data_keys:wrapped:u1`: nonce ‖ ciphertext ‖ tag.
    const WRAPPED_VECTOR: [u8; 60] = [
        0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab, 0xa6, 0x59, 0x3e,
        0x6e, 0x01, 0x8e, 0x44, 0xf8, 0x2a, 0x2c, 0xcd, 0x98, 0x4b, 0x37, 0x8e, 0x91, 0x20, 0xfd,
        0x0b, 0x43, 0xc6, 0xe2, 0x14, 0x3b, 0xc4, 0x57, 0x7c, 0xdd, 0x23, 0xf6, 0x2b, 0x5e, 0xeb,
        0xe5, 0x98, 0x7b, 0x3f, 0xed, 0x81, 0x17, 0x37, 0x14, 0x94, 0xb0, 0x0b, 0x1b, 0x4b, 0x11,
    ];

    /// The same way: `123-45-6789` under the DEK 40..5f, nonce b0..bb,
    /// associated data `user_ssn:ciphertext:u1`.
    const V2_VECTOR: [u8; 39] = [
        0xb0, 0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xbb, 0x32, 0x32, 0xb3,
        0xa8, 0xf5, 0x7f, 0xc6, 0xaf, 0x0c, 0xd6, 0x1e, 0xa3, 0xdc, 0xf9, 0x86, 0x96, 0x7e, 0x46,
        0xaf, 0xc7, 0x4a, 0x26, 0x42, 0x24, 0xfa, 0x73, 0xd7,
    ];

    #[test]
    fn independent_vectors_unwrap_and_decrypt() {
        let wrapped = format!("v1:k1:{}", URL_SAFE_NO_PAD.encode(WRAPPED_VECTOR));
        let key = DataKey::unwrap(&kek(), "u1", &wrapped).unwrap();
        assert_eq!(key.key.as_ref(), dek().key.as_ref());
        let stored = format!("v2:{}", URL_SAFE_NO_PAD.encode(V2_VECTOR));
        assert_eq!(key.decrypt(ssn("u1"), &stored).unwrap(), b"123-45-6789");
        // The vectors are bound to their user and row.
        assert_eq!(
            DataKey::unwrap(&kek(), "u2", &wrapped).unwrap_err(),
            CryptoError::Decrypt
        );
        assert_eq!(
            key.decrypt(ssn("u2"), &stored).unwrap_err(),
            CryptoError::Decrypt
        );
    }

    #[test]
    fn wrap_and_encrypt_round_trip_in_their_formats() {
        let key = DataKey::generate();
        let wrapped = key.wrap(&kek(), "u1").unwrap();
        assert_eq!(format_of(&wrapped), Format::FieldKey("k1"));
        let stored = key.encrypt(ssn("u1"), b"123-45-6789").unwrap();
        assert!(stored.starts_with("v2:") && !stored.contains("6789"));
        assert_eq!(format_of(&stored), Format::UserKey);
        let again = DataKey::unwrap(&kek(), "u1", &wrapped).unwrap();
        assert_eq!(again.decrypt(ssn("u1"), &stored).unwrap(), b"123-45-6789");
        // A fresh nonce every time.
        assert_ne!(stored, key.encrypt(ssn("u1"), b"123-45-6789").unwrap());
        assert_ne!(wrapped, key.wrap(&kek(), "u1").unwrap());
    }

    #[test]
    fn two_users_keys_do_not_open_each_others_values() {
        let (a, b) = (DataKey::generate(), DataKey::generate());
        let of_a = a.encrypt(ssn("a"), b"123-45-6789").unwrap();
        // B's key, even on A's row: fails.
        assert_eq!(b.decrypt(ssn("a"), &of_a), Err(CryptoError::Decrypt));
        // A's value copied into B's row: fails under either key.
        assert_eq!(b.decrypt(ssn("b"), &of_a), Err(CryptoError::Decrypt));
        assert_eq!(a.decrypt(ssn("b"), &of_a), Err(CryptoError::Decrypt));
    }

    #[test]
    fn a_v2_value_opens_under_no_field_key() {
        let key = DataKey::generate();
        let stored = key.encrypt(ssn("u1"), b"123-45-6789").unwrap();
        assert_eq!(kek().decrypt(ssn("u1"), &stored), Err(CryptoError::Format));
        // Nor does a field key's bytes used as a data key (the KEK is not
        // the DEK).
        let as_dek = DataKey::from_bytes(&(0u8..32).collect::<Vec<u8>>()).unwrap();
        assert_eq!(
            as_dek.decrypt(ssn("u1"), &stored),
            Err(CryptoError::Decrypt)
        );
    }

    #[test]
    fn a_wrapped_key_needs_its_field_key_and_its_user() {
        let wrapped = dek().wrap(&kek(), "u1").unwrap();
        assert_eq!(
            DataKey::unwrap(&other_kek("k2"), "u1", &wrapped).unwrap_err(),
            CryptoError::UnknownKey
        );
        // The same id, other key material: the tag fails.
        assert_eq!(
            DataKey::unwrap(&other_kek("k1"), "u1", &wrapped).unwrap_err(),
            CryptoError::Decrypt
        );
        assert_eq!(
            DataKey::unwrap(&kek(), "u2", &wrapped).unwrap_err(),
            CryptoError::Decrypt
        );
        // Re-wrapped under a new field key: the same data key.
        let both = {
            let k1: String = (0u8..32).map(|b| format!("{b:02x}")).collect();
            let k2: String = (0u8..32).map(|b| format!("{:02x}", b ^ 0x5a)).collect();
            FieldKeys::parse(&format!("k2:{k2},k1:{k1}")).unwrap()
        };
        let rewrapped = DataKey::unwrap(&both, "u1", &wrapped)
            .unwrap()
            .wrap(&both, "u1")
            .unwrap();
        assert_eq!(format_of(&rewrapped), Format::FieldKey("k2"));
        let key = DataKey::unwrap(&other_kek("k2"), "u1", &rewrapped).unwrap();
        assert_eq!(key.key.as_ref(), dek().key.as_ref());
    }

    #[test]
    fn damaged_or_foreign_values_fail_cleanly() {
        let key = dek();
        let stored = key.encrypt(ssn("u1"), b"x").unwrap();
        let blob = URL_SAFE_NO_PAD.decode(&stored[3..]).unwrap();
        for i in 0..blob.len() {
            let mut bad = blob.clone();
            bad[i] ^= 0x01;
            let tampered = format!("v2:{}", URL_SAFE_NO_PAD.encode(&bad));
            assert_eq!(key.decrypt(ssn("u1"), &tampered), Err(CryptoError::Decrypt));
        }
        for junk in ["v2:", "v2:!!", "v2:AAAA", "v1:k1:AAAA", "plain"] {
            assert_eq!(
                key.decrypt(ssn("u1"), junk),
                Err(CryptoError::Format),
                "{junk}"
            );
        }
        assert_eq!(format_of("plain"), Format::Unknown);
        assert!(DataKey::from_bytes(&[0u8; 31]).is_err());
    }

    #[test]
    fn debug_never_shows_the_key() {
        let text = format!("{:?}", dek());
        assert_eq!(text, "DataKey([redacted])");
    }
}
