//! Time-based one-time passwords (RFC 6238), the catalogue's TOTP pattern.
//!
//! SHA-1, 6 digits, 30-second steps: what common authenticator apps support.
//! Secrets are 160 bits from the OS generator (ASVS 2.8.3). A code is accepted
//! for the current step ±1 (clock drift), and each step only once per user
//! (ASVS 2.8.4): [`verify`] returns the matched step so the caller can store it
//! and refuse it, or any earlier step, next time. The clock is a parameter, so
//! tests can move it.

use rand::{RngCore, TryRngCore};
use subtle::ConstantTimeEq;
use totp_rs::{Algorithm, TOTP};

pub const STEP_SECS: u64 = 30;
pub const DIGITS: usize = 6;
pub const SECRET_BYTES: usize = 20;

/// A TOTP secret. Not `Debug`: it must not reach a log.
pub struct TotpSecret(Vec<u8>);

impl TotpSecret {
    pub fn generate() -> Self {
        let mut bytes = vec![0u8; SECRET_BYTES];
        rand::rngs::OsRng.unwrap_err().fill_bytes(&mut bytes);
        Self(bytes)
    }

    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    pub fn bytes(&self) -> &[u8] {
        &self.0
    }

    /// The key as people type it into an authenticator app (RFC 4648 base32, no padding).
    pub fn base32(&self) -> String {
        data_encoding::BASE32_NOPAD.encode(&self.0)
    }
}

#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum TotpError {
    /// Not a code for any step in the window.
    Invalid,
    /// A code for a step already used.
    Replay,
}

fn totp(secret: &TotpSecret, digits: usize, issuer: &str, account: &str) -> Option<TOTP> {
    TOTP::new(
        Algorithm::SHA1,
        digits,
        0,
        STEP_SECS,
        secret.0.clone(),
        Some(issuer.to_owned()),
        account.to_owned(),
    )
    .ok()
}

/// The code for `time` (seconds since the epoch) with `digits` digits.
pub fn code_at(secret: &TotpSecret, time: u64, digits: usize) -> Option<String> {
    totp(secret, digits, "x", "x").map(|t| t.generate(time))
}

/// `otpauth://totp/<issuer>:<account>?secret=…&issuer=…` for the QR code.
pub fn provisioning_uri(secret: &TotpSecret, issuer: &str, account: &str) -> Option<String> {
    totp(secret, DIGITS, issuer, account).map(|t| t.get_url())
}

/// Checks `code` at `now` against steps now-1, now, now+1 (in that order) and
/// returns the matched step. Steps at or before `last_used_step` are refused
/// as replays.
pub fn verify(
    secret: &TotpSecret,
    code: &str,
    now: u64,
    last_used_step: Option<i64>,
) -> Result<i64, TotpError> {
    let code = code.trim();
    if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(TotpError::Invalid);
    }
    let current = i64::try_from(now / STEP_SECS).map_err(|_| TotpError::Invalid)?;
    let mut replayed = false;
    for step in [current - 1, current, current + 1] {
        let Some(time) = i64::try_from(STEP_SECS)
            .ok()
            .and_then(|secs| step.checked_mul(secs))
            .and_then(|t| u64::try_from(t).ok())
        else {
            continue;
        };
        let Some(expected) = code_at(secret, time, DIGITS) else {
            continue;
        };
        if bool::from(expected.as_bytes().ct_eq(code.as_bytes())) {
            if last_used_step.is_some_and(|last| step <= last) {
                replayed = true;
                continue;
            }
            return Ok(step);
        }
    }
    Err(if replayed {
        TotpError::Replay
    } else {
        TotpError::Invalid
    })
}

/// The QR code of `uri` as an SVG document, drawn here (no external service).
pub fn qr_svg(uri: &str) -> Option<String> {
    let code = qrcode::QrCode::new(uri.as_bytes()).ok()?;
    Some(
        code.render::<qrcode::render::svg::Color<'_>>()
            .min_dimensions(200, 200)
            .quiet_zone(true)
            .dark_color(qrcode::render::svg::Color("#000000"))
            .light_color(qrcode::render::svg::Color("#ffffff"))
            .build(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rfc_secret() -> TotpSecret {
        TotpSecret::from_bytes(b"12345678901234567890".to_vec())
    }

    #[test]
    fn rfc_6238_appendix_b_sha1_vectors() {
        for (time, expected) in [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ] {
            assert_eq!(
                code_at(&rfc_secret(), time, 8).unwrap(),
                expected,
                "T={time}"
            );
        }
    }

    #[test]
    fn asvs_2_8_3_secrets_are_160_bits_and_base32() {
        let s = TotpSecret::generate();
        assert_eq!(s.bytes().len(), 20);
        assert_eq!(s.base32().len(), 32);
        assert_eq!(rfc_secret().base32(), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
    }

    /// RFC 4648 §10 test vectors, without the padding.
    #[test]
    fn base32_is_rfc_4648_without_padding() {
        for (input, expected) in [
            ("", ""),
            ("f", "MY"),
            ("fo", "MZXQ"),
            ("foo", "MZXW6"),
            ("foob", "MZXW6YQ"),
            ("fooba", "MZXW6YTB"),
            ("foobar", "MZXW6YTBOI"),
        ] {
            let secret = TotpSecret::from_bytes(input.as_bytes().to_vec());
            assert_eq!(secret.base32(), expected, "{input:?}");
        }
    }

    #[test]
    fn asvs_2_8_1_plus_minus_one_step_is_accepted_two_is_not() {
        let s = rfc_secret();
        let now = 1_700_000_000u64;
        for skew in [-1i64, 0, 1] {
            let t = (now as i64 + skew * 30) as u64;
            let code = code_at(&s, t, 6).unwrap();
            assert!(verify(&s, &code, now, None).is_ok(), "skew {skew}");
        }
        for skew in [-2i64, 2] {
            let t = (now as i64 + skew * 30) as u64;
            let code = code_at(&s, t, 6).unwrap();
            assert_eq!(
                verify(&s, &code, now, None),
                Err(TotpError::Invalid),
                "skew {skew}"
            );
        }
    }

    #[test]
    fn asvs_2_8_4_a_used_step_is_a_replay() {
        let s = rfc_secret();
        let now = 1_700_000_000u64;
        let code = code_at(&s, now, 6).unwrap();
        let step = verify(&s, &code, now, None).unwrap();
        assert_eq!(verify(&s, &code, now, Some(step)), Err(TotpError::Replay));
        // An older step is refused too once a newer one was used.
        let older = code_at(&s, now - 30, 6).unwrap();
        assert_eq!(verify(&s, &older, now, Some(step)), Err(TotpError::Replay));
    }

    #[test]
    fn malformed_codes_are_invalid() {
        let s = rfc_secret();
        for bad in ["", "12345", "1234567", "12a456", "      "] {
            assert_eq!(
                verify(&s, bad, 1_700_000_000, None),
                Err(TotpError::Invalid),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn the_uri_and_qr_code_are_generated_locally() {
        let s = rfc_secret();
        let uri = provisioning_uri(&s, "Secure Reference", "alice").unwrap();
        assert!(
            uri.starts_with("otpauth://totp/Secure%20Reference:alice?"),
            "{uri}"
        );
        assert!(uri.contains("secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"));
        assert!(uri.contains("issuer=Secure%20Reference"));
        let svg = qr_svg(&uri).unwrap();
        assert!(svg.contains("<svg") && svg.contains("</svg>"));
        for external in ["href", "<image", "<script", "url("] {
            assert!(
                !svg.contains(external),
                "SVG refers to something: {external}"
            );
        }
    }
}
