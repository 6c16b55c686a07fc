//! The US Social Security number: parsed at the edge, shown masked, never
//! printed. Shared by the server and the wasm so the form explains a wrong
//! number before it is sent.

use super::FieldError;
use serde::{Deserialize, Serialize};

/// A valid SSN, `###-##-####`. Its `Debug` is redacted and it has no
/// `Display` or `Serialize`: the full number only leaves through
/// [`Ssn::expose`], which the encryption and the audited reveal call.
#[derive(Clone, PartialEq, Eq)]
pub struct Ssn(String);

impl std::fmt::Debug for Ssn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Ssn([redacted])")
    }
}

impl Ssn {
    /// Accepts `123-45-6789` (spaces around are trimmed). Refuses the ranges
    /// the SSA never issues: area 000, 666 and 900–999, group 00, serial 0000.
    pub fn parse(text: &str) -> Result<Self, FieldError> {
        let text = text.trim();
        let err = |code| Err(FieldError::new("ssn", code));
        if text.is_empty() {
            return err("required");
        }
        let parts: Vec<&str> = text.split('-').collect();
        let [area, group, serial] = parts.as_slice() else {
            return err("format");
        };
        let digits = |s: &str, n| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
        if !(digits(area, 3) && digits(group, 2) && digits(serial, 4)) {
            return err("format");
        }
        if *area == "000" || *area == "666" || area.starts_with('9') {
            return err("area");
        }
        if *group == "00" {
            return err("group");
        }
        if *serial == "0000" {
            return err("serial");
        }
        Ok(Self(text.to_owned()))
    }

    /// The full number, for encryption and for the audited reveal only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// `***-**-1234`: the only form shown outside a reveal.
    pub fn masked(&self) -> String {
        format!("***-**-{}", &self.0[self.0.len().saturating_sub(4)..])
    }
}

/// `PUT /api/v1/me/ssn`.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SsnRequest {
    /// `###-##-####`.
    pub ssn: String,
}

impl std::fmt::Debug for SsnRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SsnRequest([redacted])")
    }
}

/// `GET /api/v1/me/ssn`: whether one is stored, masked.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SsnStatus {
    pub stored: bool,
    /// `***-**-1234`.
    pub masked: Option<String>,
    pub updated_at: Option<String>,
}

/// `POST …/ssn/reveal`: the full number, sent with `Cache-Control: no-store`.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SsnRevealed {
    pub ssn: String,
}

impl std::fmt::Debug for SsnRevealed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SsnRevealed([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(text: &str) -> String {
        Ssn::parse(text).err().map(|e| e.code).unwrap_or_default()
    }

    #[test]
    fn valid_numbers_parse_and_mask() {
        let ssn = Ssn::parse(" 123-45-6789 ").unwrap();
        assert_eq!(ssn.expose(), "123-45-6789");
        assert_eq!(ssn.masked(), "***-**-6789");
        assert_eq!(format!("{ssn:?}"), "Ssn([redacted])");
        assert!(Ssn::parse("899-99-9999").is_ok());
    }

    #[test]
    fn the_never_issued_ranges_are_refused() {
        assert_eq!(code("000-12-3456"), "area");
        assert_eq!(code("666-12-3456"), "area");
        assert_eq!(code("900-12-3456"), "area");
        assert_eq!(code("999-12-3456"), "area");
        assert_eq!(code("123-00-4567"), "group");
        assert_eq!(code("123-45-0000"), "serial");
    }

    #[test]
    fn anything_but_the_dashed_form_is_a_format_error() {
        for bad in [
            "123456789",
            "123-456-789",
            "12-345-6789",
            "abc-de-fghi",
            "123-45-67890",
            "１２３-45-6789",
        ] {
            assert_eq!(code(bad), "format", "{bad}");
        }
        assert_eq!(code(""), "required");
    }

    #[test]
    fn request_and_reveal_bodies_do_not_print_the_number() {
        let r = SsnRequest {
            ssn: "123-45-6789".into(),
        };
        assert!(!format!("{r:?}").contains("6789"));
        let r = SsnRevealed {
            ssn: "123-45-6789".into(),
        };
        assert!(!format!("{r:?}").contains("6789"));
    }
}
