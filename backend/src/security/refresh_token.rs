//! Opaque refresh tokens: 256 random bits from the OS generator, handed out
//! once and stored only as HMAC-SHA-256 under the session key, so neither a
//! database dump nor a log line can be replayed.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

/// What the browser holds. Not `Debug`, so it cannot be logged by accident.
pub struct RefreshToken(String);

impl RefreshToken {
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Self(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// Accepts a presented token only if it has the exact shape we issue
    /// (43 URL-safe base64 characters), before any database work is done.
    pub fn parse(raw: &str) -> Option<Self> {
        let ok = raw.len() == 43
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        ok.then(|| Self(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The value stored in the database, hex-encoded.
    pub fn digest(&self, key: &[u8]) -> String {
        // HMAC accepts keys of any length, so new_from_slice cannot fail.
        match Hmac::<Sha256>::new_from_slice(key) {
            Ok(mut mac) => {
                mac.update(self.0.as_bytes());
                hex::encode(mac.finalize().into_bytes())
            }
            Err(_) => String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_unique_and_well_formed() {
        let a = RefreshToken::generate();
        let b = RefreshToken::generate();
        assert_ne!(a.expose(), b.expose());
        assert!(RefreshToken::parse(a.expose()).is_some());
    }

    #[test]
    fn malformed_tokens_are_refused() {
        for bad in [
            "",
            "short",
            &"a".repeat(44),
            &format!("{}=", "a".repeat(42)),
            &"é".repeat(43),
        ] {
            assert!(RefreshToken::parse(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn digest_depends_on_key_and_token() {
        let t = RefreshToken::generate();
        let d1 = t.digest(&[1; 32]);
        assert_eq!(d1.len(), 64);
        assert_eq!(d1, t.digest(&[1; 32]));
        assert_ne!(d1, t.digest(&[2; 32]));
        assert_ne!(d1, RefreshToken::generate().digest(&[1; 32]));
    }
}
