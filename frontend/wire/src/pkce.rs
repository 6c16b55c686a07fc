//! PKCE (RFC 7636) as both sides compute it: the server's
//! `security::pkce` checks a verifier against the stored challenge with
//! [`s256_challenge`], and the OAuth playground derives its challenge in the
//! browser with the same function.
//!
//! `code_challenge = BASE64URL(SHA-256(ASCII(code_verifier)))`, without
//! padding (§4.2, method `S256`); a verifier is 43 to 128 characters of the
//! unreserved alphabet `A-Z a-z 0-9 - . _ ~` (§4.1).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};

/// Shortest and longest verifier RFC 7636 §4.1 allows.
pub const VERIFIER_MIN: usize = 43;
pub const VERIFIER_MAX: usize = 128;

/// One of RFC 3986's unreserved characters (the verifier's alphabet).
pub fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// `code-verifier = 43*128unreserved`.
pub fn is_valid_verifier(verifier: &str) -> bool {
    (VERIFIER_MIN..=VERIFIER_MAX).contains(&verifier.len()) && verifier.bytes().all(is_unreserved)
}

/// The SHA-256 digest of the verifier's ASCII bytes.
pub fn sha256(verifier: &str) -> [u8; 32] {
    Sha256::digest(verifier.as_bytes()).into()
}

/// `BASE64URL-ENCODE(SHA256(ASCII(code_verifier)))`: the `S256` challenge.
pub fn s256_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(sha256(verifier))
}

/// A verifier from 32 random bytes (RFC 7636 §4.1's recommendation): their
/// base64url encoding, 43 characters, all unreserved. The bytes must come
/// from a CSPRNG (the browser's `crypto.getRandomValues`).
pub fn verifier_from_random(bytes: &[u8; 32]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// An opaque random value (the `state`), base64url without padding.
pub fn random_token(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Lowercase hex, for showing a digest.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7636_appendix_b_vector() {
        assert_eq!(
            s256_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn rfc7636_appendix_b_verifier_comes_from_its_octets() {
        // The 32 octets of Appendix B encode to its verifier.
        let octets: [u8; 32] = [
            116, 24, 223, 180, 151, 153, 224, 37, 79, 250, 96, 125, 216, 173, 187, 186, 22, 212,
            37, 77, 105, 214, 191, 240, 91, 88, 5, 88, 83, 132, 141, 121,
        ];
        let verifier = verifier_from_random(&octets);
        assert_eq!(verifier, "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
        assert!(is_valid_verifier(&verifier));
    }

    #[test]
    fn verifiers_follow_the_length_and_alphabet_rules() {
        assert!(is_valid_verifier(&"a".repeat(43)));
        assert!(is_valid_verifier(&"~._-".repeat(32)));
        assert!(!is_valid_verifier(&"a".repeat(42)));
        assert!(!is_valid_verifier(&"a".repeat(129)));
        assert!(!is_valid_verifier(&format!("{}+", "a".repeat(42))));
        assert!(!is_valid_verifier(&format!("{}=", "a".repeat(42))));
    }

    #[test]
    fn digests_show_as_hex() {
        assert_eq!(hex(&[0, 15, 255]), "000fff");
        assert_eq!(
            hex(&sha256("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
