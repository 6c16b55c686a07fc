//! Recovery codes: ten single-use codes shown once at MFA enrollment, for a
//! lost authenticator. Each has 50 random bits (`xxxxx-xxxxx`, base32) and is
//! stored only as an HMAC under the server key, so the table alone is useless.

use hmac::{Hmac, Mac};
use rand::{RngCore, TryRngCore};
use sha2::Sha256;

pub const COUNT: usize = 10;
const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// Ten fresh codes, formatted for people.
pub fn generate() -> Vec<String> {
    (0..COUNT)
        .map(|_| {
            let mut bytes = [0u8; 10];
            rand::rngs::OsRng.unwrap_err().fill_bytes(&mut bytes);
            // Each index is masked to 0..=31; the table has 32 entries.
            #[allow(clippy::indexing_slicing)]
            let chars: String = bytes
                .iter()
                .map(|b| char::from(ALPHABET[usize::from(b & 31)]))
                .collect();
            // Ten ASCII characters: split after the fifth.
            let (head, tail) = chars.split_at(5);
            format!("{head}-{tail}")
        })
        .collect()
}

/// The canonical form of what someone typed: lower case, no spaces or dashes.
/// `None` if it cannot be a recovery code.
pub fn normalize(input: &str) -> Option<String> {
    let s: String = input
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    (s.len() == 10 && s.bytes().all(|b| ALPHABET.contains(&b))).then_some(s)
}

/// The stored form of a (normalized) code.
pub fn digest(key: &[u8], normalized: &str) -> String {
    match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(b"recovery-code:");
            mac.update(normalized.as_bytes());
            hex::encode(mac.finalize().into_bytes())
        }
        Err(_) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_distinct_well_formed_codes() {
        let codes = generate();
        assert_eq!(codes.len(), 10);
        let mut unique = codes.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 10);
        for c in &codes {
            assert_eq!(c.len(), 11);
            assert!(normalize(c).is_some(), "{c}");
        }
    }

    #[test]
    fn typing_variations_normalize_to_one_digest() {
        let key = [7u8; 32];
        let a = digest(&key, &normalize("abcde-fghij").unwrap());
        let b = digest(&key, &normalize(" ABCDE FGHIJ ").unwrap());
        assert_eq!(a, b);
        assert_ne!(a, digest(&[8u8; 32], &normalize("abcde-fghij").unwrap()));
        assert!(normalize("123456").is_none());
        assert!(normalize("abcde-fghi1").is_none());
    }
}
