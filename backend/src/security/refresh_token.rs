//! Opaque refresh tokens: 256 random bits from the OS generator, handed out
//! once and stored only as HMAC-SHA-256 under the session key, so neither a
//! database dump nor a log line can be replayed.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::{RngCore, TryRngCore};
use sha2::Sha256;

/// What the browser holds. Not `Debug`, so it cannot be logged by accident.
pub struct RefreshToken(String);

impl RefreshToken {
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.unwrap_err().fill_bytes(&mut bytes);
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

    /// The token that succeeds this one when it is rotated: HMAC-SHA-256
    /// under the session key of a domain label and this token, so the same
    /// token always rotates to the same successor. A replay inside the grace
    /// window is then answered with the successor already handed out rather
    /// than a second, independent token (one live branch per session), and
    /// the database still holds only digests. Without the key the successor
    /// cannot be computed from the token.
    pub fn successor(&self, key: &[u8]) -> RefreshToken {
        match Hmac::<Sha256>::new_from_slice(key) {
            Ok(mut mac) => {
                mac.update(b"refresh-token-successor\0");
                mac.update(self.0.as_bytes());
                Self(URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
            }
            // HMAC accepts keys of any length; never reached.
            Err(_) => Self::generate(),
        }
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
    fn the_successor_is_deterministic_keyed_and_well_formed() {
        let t = RefreshToken::generate();
        let s = t.successor(&[1; 32]);
        assert!(RefreshToken::parse(s.expose()).is_some());
        assert_eq!(s.expose(), t.successor(&[1; 32]).expose());
        assert_ne!(s.expose(), t.successor(&[2; 32]).expose());
        assert_ne!(s.expose(), t.expose());
        assert_ne!(s.digest(&[1; 32]), t.digest(&[1; 32]));
        assert_ne!(
            s.expose(),
            RefreshToken::generate().successor(&[1; 32]).expose()
        );
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
