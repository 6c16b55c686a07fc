//! Typed request fields. A value of one of these types has passed validation;
//! the only way to get one is `parse`.

use serde::{Deserialize, Serialize};
use std::fmt;

/// One validation failure, tied to the form field it concerns.
///
/// `code` is stable and machine-readable (it is also how a form without
/// JavaScript gets its errors back after a redirect); `message` is for people.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub field: String,
    pub code: String,
    pub message: String,
}

impl FieldError {
    /// The error for `field` with `code`; its message comes from [`describe`],
    /// the one table of validation messages.
    pub fn new(field: &str, code: &str) -> Self {
        Self {
            field: field.to_owned(),
            code: code.to_owned(),
            message: describe(field, code)
                .unwrap_or("This value is not valid.")
                .to_owned(),
        }
    }

    /// Rebuilds an error from its `field.code` key (how the no-JavaScript forms
    /// get their errors back through a redirect). Unknown keys give `None`, so a
    /// crafted link cannot put arbitrary text on the page.
    pub fn from_key(key: &str) -> Option<Self> {
        let (field, code) = key.split_once('.')?;
        describe(field, code).map(|_| Self::new(field, code))
    }

    /// `field.code`, the inverse of [`FieldError::from_key`].
    pub fn key(&self) -> String {
        format!("{}.{}", self.field, self.code)
    }
}

/// Every validation message the app shows, by field and code.
pub fn describe(field: &str, code: &str) -> Option<&'static str> {
    Some(match (field, code) {
        ("username", "too_short") => "Username must be at least 3 characters.",
        ("username", "too_long") => "Username must be at most 50 characters.",
        ("username", "invalid_chars") => {
            "Username may contain only letters, digits and underscores."
        }
        ("email", "required") => "E-mail is required.",
        ("email", "too_long") => "E-mail must be at most 255 characters.",
        ("email", "invalid") => "Enter a valid e-mail address, like name@example.com.",
        ("login", "required") => "Enter your username or e-mail.",
        ("login", "invalid") => "That is neither a valid username nor a valid e-mail address.",
        ("password", "required") => "Enter your password.",
        ("current_password", "required") => "Enter your current password.",
        ("code", "required") => "Enter the code from your authenticator app.",
        ("ssn", "required") => "Enter the number as ###-##-####.",
        ("ssn", "format") => {
            "Enter the number as three digits, two digits and four digits: ###-##-####."
        }
        ("ssn", "area") => "No SSN starts with 000, 666 or 9: check the first three digits.",
        ("ssn", "group") => "The middle two digits of an SSN are never 00.",
        ("ssn", "serial") => "The last four digits of an SSN are never 0000.",
        ("label", "device_label") => "Name the device in 1 to 60 characters.",
        ("role", "invalid") => "Choose admin, auditor or user.",
        ("expires_in_minutes", "invalid") => "Choose between 1 minute and 30 days.",
        ("code", "invalid") => {
            "That code is not valid. Check the time on your device and try the current code."
        }
        ("current_password", "wrong") => "Your current password is not correct.",
        ("new_password", code) => return describe("password", code),
        ("password", "too_short") => "Password must be at least 12 characters.",
        ("password", "passphrase_too_short") => {
            "Password must be at least 15 characters: a few unrelated words make a good passphrase."
        }
        ("password", "too_long") => "Password must be at most 128 characters.",
        ("password", "missing_upper") => "Add an upper-case letter.",
        ("password", "missing_lower") => "Add a lower-case letter.",
        ("password", "missing_digit") => "Add a digit.",
        ("password", "missing_special") => "Add a special character, such as ! ? # or %.",
        ("password", "common") => {
            "This password is too common: attackers try it first. Choose another."
        }
        ("password", "contains_username") => "Password must not contain your username.",
        ("password", "contains_email") => "Password must not contain your e-mail name.",
        _ => return None,
    })
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// `^[a-zA-Z0-9_]{3,50}$`, as the catalogue's input-validation pattern asks.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Username(String);

impl Username {
    pub const MIN: usize = 3;
    pub const MAX: usize = 50;

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let len = raw.chars().count();
        if len < Self::MIN {
            return Err(FieldError::new("username", "too_short"));
        }
        if len > Self::MAX {
            return Err(FieldError::new("username", "too_long"));
        }
        if !raw.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(FieldError::new("username", "invalid_chars"));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An e-mail address in lower case, checked against the catalogue's pattern
/// `^[a-zA-Z0-9._%+-]+@[a-zA-Z0-9.-]+\.[a-zA-Z]{2,}$` and at most 255 characters.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    pub const MAX: usize = 255;

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let invalid = || FieldError::new("email", "invalid");
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(FieldError::new("email", "required"));
        }
        if trimmed.chars().count() > Self::MAX {
            return Err(FieldError::new("email", "too_long"));
        }
        let (local, domain) = trimmed.split_once('@').ok_or_else(invalid)?;
        let local_ok = !local.is_empty()
            && local
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._%+-".contains(c));
        let (host, tld) = domain.rsplit_once('.').ok_or_else(invalid)?;
        let host_ok = !host.is_empty()
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
        let tld_ok = tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_alphabetic());
        if local_ok && host_ok && tld_ok {
            Ok(Self(trimmed.to_ascii_lowercase()))
        } else {
            Err(invalid())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a user types to log in: a username or an e-mail address. Only its
/// shape is checked here; whether it names an account is the server's business.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LoginName {
    Username(Username),
    Email(Email),
}

impl LoginName {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(FieldError::new("login", "required"));
        }
        let shape = || FieldError::new("login", "invalid");
        if raw.contains('@') {
            Email::parse(raw).map(Self::Email).map_err(|_| shape())
        } else {
            Username::parse(raw)
                .map(Self::Username)
                .map_err(|_| shape())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn username_accepts_the_allowed_alphabet() {
        assert!(Username::parse("alice_01").is_ok());
        assert!(Username::parse(&"a".repeat(50)).is_ok());
    }

    #[test]
    fn username_rejects_bad_length_and_characters() {
        assert_eq!(Username::parse("ab").unwrap_err().code, "too_short");
        assert_eq!(
            Username::parse(&"a".repeat(51)).unwrap_err().code,
            "too_long"
        );
        for bad in ["al ice", "alice!", "ali-ce", "ålice", "alice'--"] {
            assert_eq!(Username::parse(bad).unwrap_err().code, "invalid_chars");
        }
    }

    #[test]
    fn email_is_lower_cased_and_checked() {
        assert_eq!(
            Email::parse(" Alice.B+tag@Example.ORG ").unwrap().as_str(),
            "alice.b+tag@example.org"
        );
        for bad in [
            "",
            "alice",
            "alice@",
            "@example.org",
            "alice@example",
            "alice@example.c",
            "alice@exa mple.org",
            "al<ice@example.org",
            "alice@example.o1",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be rejected");
        }
        let long = format!("{}@example.org", "a".repeat(250));
        assert_eq!(Email::parse(&long).unwrap_err().code, "too_long");
    }

    #[test]
    fn login_name_takes_either_shape() {
        assert!(matches!(
            LoginName::parse("alice"),
            Ok(LoginName::Username(_))
        ));
        assert!(matches!(
            LoginName::parse("Alice@Example.org"),
            Ok(LoginName::Email(e)) if e.as_str() == "alice@example.org"
        ));
        assert!(LoginName::parse("").is_err());
        assert!(LoginName::parse("a b").is_err());
    }

    #[test]
    fn field_error_keys_round_trip_and_unknown_keys_are_refused() {
        let e = FieldError::from_key("password.missing_digit").unwrap();
        assert_eq!(e.message, "Add a digit.");
        assert_eq!(e.key(), "password.missing_digit");
        assert!(FieldError::from_key("password.<script>").is_none());
        assert!(FieldError::from_key("nodot").is_none());
    }
}
