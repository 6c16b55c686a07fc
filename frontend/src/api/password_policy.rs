//! The password policy, shared by the server and the registration form.
//!
//! Default rules are the catalogue's: 12 to 128 characters, at least one upper-
//! case letter, one lower-case letter, one digit and one special character. On
//! top (ASVS 2.1.7) the password must not be a well-known weak password, even
//! decorated with digits, symbols or look-alike characters, and must not
//! contain the username or the e-mail's local part.
//!
//! Length counts Unicode code points and nothing is ever truncated (ASVS 2.1.1–2.1.3).

use super::FieldError;

const COMMON_PASSWORDS: &str = include_str!("common-passwords.txt");

/// A password that met the policy. It is deliberately not `Debug`, `Display`
/// or `Serialize`, so it cannot end up in a log line or a response by accident.
pub struct Password(String);

impl Password {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// The account details a password is checked against.
#[derive(Default, Clone, Copy)]
pub struct PasswordContext<'a> {
    pub username: &'a str,
    pub email: &'a str,
}

pub struct PasswordPolicy;

impl PasswordPolicy {
    pub const MIN_CHARS: usize = 12;
    pub const MAX_CHARS: usize = 128;

    /// Every rule the password breaks, in a stable order (empty when it passes).
    pub fn violations(raw: &str, ctx: PasswordContext<'_>) -> Vec<FieldError> {
        let mut out = Vec::new();
        let err = |code: &str| FieldError::new("password", code);
        let len = raw.chars().count();
        if len < Self::MIN_CHARS {
            out.push(err("too_short"));
        }
        if len > Self::MAX_CHARS {
            out.push(err("too_long"));
        }
        if !raw.chars().any(char::is_uppercase) {
            out.push(err("missing_upper"));
        }
        if !raw.chars().any(char::is_lowercase) {
            out.push(err("missing_lower"));
        }
        if !raw.chars().any(|c| c.is_ascii_digit()) {
            out.push(err("missing_digit"));
        }
        if !raw.chars().any(is_special) {
            out.push(err("missing_special"));
        }
        if is_common(raw) {
            out.push(err("common"));
        }
        let lower = raw.to_lowercase();
        let username = ctx.username.trim().to_lowercase();
        if username.chars().count() >= 3 && lower.contains(&username) {
            out.push(err("contains_username"));
        }
        let local = ctx
            .email
            .trim()
            .split('@')
            .next()
            .unwrap_or_default()
            .to_lowercase();
        if local.chars().count() >= 3 && lower.contains(&local) {
            out.push(err("contains_email"));
        }
        out
    }

    pub fn parse(raw: &str, ctx: PasswordContext<'_>) -> Result<Password, Vec<FieldError>> {
        let violations = Self::violations(raw, ctx);
        if violations.is_empty() {
            Ok(Password(raw.to_owned()))
        } else {
            Err(violations)
        }
    }
}

/// Anything that is not a letter, a digit or white space. This is wider than
/// the catalogue's `[!@#$%^&*(),.?":{}|<>]`, which would refuse `-` or `_`
/// and surprise people for no security gain.
fn is_special(c: char) -> bool {
    !c.is_alphanumeric() && !c.is_whitespace()
}

/// True when the password, or its core once digits and symbols around it and
/// look-alike characters (`@` for `a`, `0` for `o`, ...) are undone, is in the
/// shipped list: "P@ssw0rd2024!" is still "password".
pub fn is_common(raw: &str) -> bool {
    let lower = raw.to_lowercase();
    let core: String = lower
        .trim_matches(|c: char| !c.is_alphabetic())
        .chars()
        .map(unleet)
        .collect();
    let stripped: String = lower
        .chars()
        .map(unleet)
        .collect::<String>()
        .trim_matches(|c: char| !c.is_alphabetic())
        .to_owned();
    COMMON_PASSWORDS
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .any(|entry| entry == lower || entry == core || entry == stripped)
}

fn unleet(c: char) -> char {
    match c {
        '@' | '4' => 'a',
        '0' => 'o',
        '1' | '!' => 'i',
        '3' => 'e',
        '$' | '5' => 's',
        '7' => 't',
        _ => c,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(pw: &str, username: &str) -> Vec<String> {
        PasswordPolicy::violations(
            pw,
            PasswordContext {
                username,
                email: "someone@example.org",
            },
        )
        .into_iter()
        .map(|e| e.code)
        .collect()
    }

    #[test]
    fn a_strong_password_passes() {
        assert!(codes("Tr0ub4dor&Zebra!", "alice").is_empty());
    }

    #[test]
    fn asvs_2_1_1_minimum_twelve_code_points() {
        assert!(codes("Ab1!Ab1!Ab1", "alice").contains(&"too_short".to_owned()));
        // Twelve code points, even though more than twelve bytes.
        assert!(!codes("Äb1!Äb1!Äb1!", "alice").contains(&"too_short".to_owned()));
    }

    #[test]
    fn asvs_2_1_2_allows_up_to_128_and_never_truncates() {
        let long_ok = format!("Zq9!{}", "x".repeat(124));
        assert_eq!(long_ok.chars().count(), 128);
        assert!(codes(&long_ok, "alice").is_empty());
        let too_long = format!("{long_ok}y");
        assert_eq!(codes(&too_long, "alice"), vec!["too_long".to_owned()]);
    }

    #[test]
    fn composition_rules_each_reported() {
        assert_eq!(
            codes("zebrazebrazebra", "alice"),
            vec!["missing_upper", "missing_digit", "missing_special"]
        );
        assert_eq!(codes("ZEBRAZEBRA1!", "alice"), vec!["missing_lower"]);
    }

    #[test]
    fn asvs_2_1_7_common_passwords_rejected_even_decorated() {
        for pw in [
            "Password123!",
            "P@ssw0rd2024!",
            "Qwertyuiop1!",
            "!!Welcome2025",
        ] {
            assert!(
                codes(pw, "alice").contains(&"common".to_owned()),
                "{pw} should count as common"
            );
        }
        assert!(!is_common("Tr0ub4dor&Zebra!"));
    }

    #[test]
    fn asvs_2_1_7_password_must_not_contain_username_or_email() {
        assert!(codes("MyAlice_is#1long", "alice").contains(&"contains_username".to_owned()));
        assert!(codes("Someone!2345678", "bob").contains(&"contains_email".to_owned()));
    }
}
