//! The password policy, shared by the server and the forms.
//!
//! Two rule sets, chosen by the server's `PASSWORD_POLICY` setting:
//!
//! - [`PolicyKind::Catalogue`] (the default): 12 to 128 characters, at least
//!   one upper-case letter, one lower-case letter, one digit and one special
//!   character.
//! - [`PolicyKind::Nist`] (NIST SP 800-63B, single-factor): at least 15 and at
//!   most 128 characters, and no composition rules at all.
//!
//! On top of either (ASVS 2.1.7) the password must not be a well-known weak
//! password, even decorated with digits, symbols or look-alike characters, and
//! must not contain the username or the e-mail's local part. The browser knows
//! a short list ([`is_common`]); the server adds its list of the 100,000 most
//! common passwords through [`PasswordPolicy::with_blocklist`], compared in
//! the same [`LookupForms`].
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

/// Which rule set applies (the server's `PASSWORD_POLICY`). On the wire it is
/// spelled as the setting is: `"catalogue"` or `"nist"`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum PolicyKind {
    /// 12–128 characters with upper, lower, digit and special.
    #[default]
    Catalogue,
    /// 15–128 characters, no composition rules (NIST SP 800-63B).
    Nist,
}

impl PolicyKind {
    /// `catalogue` or `nist`, as the setting spells them.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw.trim() {
            "catalogue" => Some(Self::Catalogue),
            "nist" => Some(Self::Nist),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Catalogue => "catalogue",
            Self::Nist => "nist",
        }
    }

    /// The fewest code points a password may have.
    pub fn min_chars(self) -> usize {
        match self {
            Self::Catalogue => PasswordPolicy::MIN_CHARS,
            Self::Nist => PasswordPolicy::NIST_MIN_CHARS,
        }
    }

    /// The most code points a password may have (the same under both).
    pub fn max_chars(self) -> usize {
        PasswordPolicy::MAX_CHARS
    }

    /// Whether upper, lower, digit and special characters are required.
    pub fn composition(self) -> bool {
        self == Self::Catalogue
    }

    /// What the password fields say under this policy: the only place the
    /// forms take their hint from, so it cannot disagree with [`PasswordPolicy::check`]
    /// (a test holds the figures to [`PolicyKind::min_chars`] and [`PolicyKind::max_chars`]).
    pub fn hint(self) -> &'static str {
        match self {
            Self::Catalogue => {
                "12 to 128 characters with upper- and lower-case letters, a digit and a \
                 special character; not a common password and not containing your username."
            }
            Self::Nist => {
                "15 to 128 characters of any kind, spaces included: a few unrelated words \
                 make a good passphrase; not a common password and not containing your username."
            }
        }
    }
}

/// An extra list of weak passwords: true when `raw` is on it. The server's
/// big list is one (`backend::security::blocklist::contains`); it should look
/// the password up in its [`LookupForms`], as the short list does.
pub type Blocklist = fn(&str) -> bool;

/// The rules in force. The server builds one from its settings and its big
/// list; [`PasswordPolicy::violations`] is what the browser checks before it
/// sends anything.
#[derive(Clone, Copy, Debug, Default)]
pub struct PasswordPolicy {
    kind: PolicyKind,
    blocklist: Option<Blocklist>,
}

impl PasswordPolicy {
    /// The catalogue's minimum, and the least that any policy asks for.
    pub const MIN_CHARS: usize = 12;
    /// NIST SP 800-63B's minimum for a password that is the only factor.
    pub const NIST_MIN_CHARS: usize = 15;
    pub const MAX_CHARS: usize = 128;

    /// `kind`'s rules with the short shipped list of common passwords.
    pub const fn new(kind: PolicyKind) -> Self {
        Self {
            kind,
            blocklist: None,
        }
    }

    /// The same rules, also refusing what `listed` finds (the short list
    /// still applies).
    pub const fn with_blocklist(self, listed: Blocklist) -> Self {
        Self {
            blocklist: Some(listed),
            ..self
        }
    }

    pub fn kind(&self) -> PolicyKind {
        self.kind
    }

    /// Every rule the password breaks under this policy, in a stable order
    /// (empty when it passes).
    pub fn check(&self, raw: &str, ctx: PasswordContext<'_>) -> Vec<FieldError> {
        let mut out = Vec::new();
        let err = |code: &str| FieldError::new("password", code);
        let len = raw.chars().count();
        match self.kind {
            PolicyKind::Catalogue => {
                if len < Self::MIN_CHARS {
                    out.push(err("too_short"));
                }
            }
            PolicyKind::Nist => {
                if len < Self::NIST_MIN_CHARS {
                    out.push(err("passphrase_too_short"));
                }
            }
        }
        if len > Self::MAX_CHARS {
            out.push(err("too_long"));
        }
        if self.kind == PolicyKind::Catalogue {
            out.extend(composition(raw).map(err));
        }
        if is_common(raw) || self.blocklist.is_some_and(|listed| listed(raw)) {
            out.push(err("common"));
        }
        out.extend(context(raw, ctx).map(err));
        out
    }

    /// The password, if it meets this policy.
    pub fn parse(&self, raw: &str, ctx: PasswordContext<'_>) -> Result<Password, Vec<FieldError>> {
        let violations = self.check(raw, ctx);
        if violations.is_empty() {
            Ok(Password(raw.to_owned()))
        } else {
            Err(violations)
        }
    }

    /// The rules that hold under every policy (at least 12 and at most 128
    /// characters, not on the short list, no username or e-mail name). The
    /// forms, which know the server's policy, check with [`PasswordPolicy::check`]
    /// instead; this is for a caller that does not know which policy applies.
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
        if is_common(raw) {
            out.push(err("common"));
        }
        out.extend(context(raw, ctx).map(err));
        out
    }
}

/// The catalogue's composition rules that `raw` breaks.
fn composition(raw: &str) -> impl Iterator<Item = &'static str> {
    let missing = |present: bool, code| (!present).then_some(code);
    [
        missing(raw.chars().any(char::is_uppercase), "missing_upper"),
        missing(raw.chars().any(char::is_lowercase), "missing_lower"),
        missing(raw.chars().any(|c| c.is_ascii_digit()), "missing_digit"),
        missing(raw.chars().any(is_special), "missing_special"),
    ]
    .into_iter()
    .flatten()
}

/// `contains_username` / `contains_email` when the password contains the
/// username or the e-mail's local part (of three characters or more).
fn context(raw: &str, ctx: PasswordContext<'_>) -> impl Iterator<Item = &'static str> {
    let lower = raw.to_lowercase();
    let contains = |part: &str| {
        let part = part.trim().to_lowercase();
        part.chars().count() >= 3 && lower.contains(&part)
    };
    let local = ctx.email.trim().split('@').next().unwrap_or_default();
    [
        contains(ctx.username).then_some("contains_username"),
        contains(local).then_some("contains_email"),
    ]
    .into_iter()
    .flatten()
}

/// Anything that is not a letter, a digit or white space. This is wider than
/// the catalogue's `[!@#$%^&*(),.?":{}|<>]`, which would refuse `-` or `_`
/// and surprise people for no security gain.
fn is_special(c: char) -> bool {
    !c.is_alphanumeric() && !c.is_whitespace()
}

/// True when the password, or its core once digits and symbols around it and
/// look-alike characters (`@` for `a`, `0` for `o`, ...) are undone, is in the
/// shipped short list: "P@ssw0rd2024!" is still "password".
pub fn is_common(raw: &str) -> bool {
    let forms = LookupForms::of(raw);
    COMMON_PASSWORDS
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .any(|entry| {
            entry.chars().eq(forms.lower())
                || entry.chars().eq(forms.core())
                || entry.chars().eq(forms.stripped())
        })
}

/// The three forms in which a password is looked up in a list of weak
/// passwords, whose entries are compared lower-cased
/// (`LookupForms::of(entry).lower()`). Each is a lazy sequence of characters,
/// so a lookup allocates nothing.
#[derive(Clone, Copy)]
pub struct LookupForms<'a>(&'a str);

impl<'a> LookupForms<'a> {
    pub fn of(raw: &'a str) -> Self {
        Self(raw)
    }

    /// Lower-cased, as typed: `P@ssw0rd2024!` → `p@ssw0rd2024!`.
    pub fn lower(self) -> impl Iterator<Item = char> + Clone + 'a {
        self.0.chars().flat_map(char::to_lowercase)
    }

    /// Lower-cased, everything but letters cut off both ends, then look-alikes
    /// undone: `P@ssw0rd2024!` → `password`.
    pub fn core(self) -> impl Iterator<Item = char> + Clone + 'a {
        trim_to_letters(self.lower()).map(unleet)
    }

    /// Lower-cased, look-alikes undone, then everything but letters cut off
    /// both ends: `$ecret#` → `secret` (where `core` gives `ecret`).
    pub fn stripped(self) -> impl Iterator<Item = char> + Clone + 'a {
        trim_to_letters(self.lower().map(unleet))
    }
}

/// `chars` from its first to its last letter (nothing if it has none).
fn trim_to_letters<I>(chars: I) -> impl Iterator<Item = char> + Clone
where
    I: Iterator<Item = char> + Clone,
{
    let letters = chars
        .clone()
        .enumerate()
        .filter(|(_, c)| c.is_alphabetic())
        .map(|(i, _)| i);
    let first = letters.clone().next().unwrap_or(0);
    let count = letters.last().map_or(0, |last| last + 1 - first);
    chars.skip(first).take(count)
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

    const CTX: PasswordContext<'static> = PasswordContext {
        username: "alice",
        email: "someone@example.org",
    };

    fn codes_under(policy: PasswordPolicy, pw: &str, username: &str) -> Vec<String> {
        policy
            .check(pw, PasswordContext { username, ..CTX })
            .into_iter()
            .map(|e| e.code)
            .collect()
    }

    fn codes(pw: &str, username: &str) -> Vec<String> {
        codes_under(PasswordPolicy::new(PolicyKind::Catalogue), pw, username)
    }

    fn nist(pw: &str) -> Vec<String> {
        codes_under(PasswordPolicy::new(PolicyKind::Nist), pw, "alice")
    }

    fn form(chars: impl Iterator<Item = char>) -> String {
        chars.collect()
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
        assert!(nist(&long_ok).is_empty());
        let too_long = format!("{long_ok}y");
        assert_eq!(codes(&too_long, "alice"), vec!["too_long".to_owned()]);
        assert_eq!(nist(&too_long), vec!["too_long".to_owned()]);
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
    fn the_default_policy_is_the_catalogue() {
        assert_eq!(PolicyKind::default(), PolicyKind::Catalogue);
        assert_eq!(PasswordPolicy::default().kind(), PolicyKind::Catalogue);
        for kind in [PolicyKind::Catalogue, PolicyKind::Nist] {
            assert_eq!(PolicyKind::parse(kind.as_str()), Some(kind));
        }
        for bad in ["", "NIST-ish", "strong", "Catalog"] {
            assert_eq!(PolicyKind::parse(bad), None, "{bad}");
        }
        assert_eq!(PolicyKind::Catalogue.min_chars(), 12);
        assert_eq!(PolicyKind::Nist.min_chars(), 15);
    }

    #[test]
    fn nist_wants_fifteen_characters_and_no_composition() {
        // Lower-case letters and spaces only: fine under NIST, not under the catalogue.
        assert!(nist("violet harbours").is_empty());
        assert_eq!(nist("violet harbour"), vec!["passphrase_too_short"]);
        assert_eq!(
            codes("violet harbours", "alice"),
            vec!["missing_upper", "missing_digit", "missing_special"]
        );
        // Twelve characters meet the catalogue but not NIST.
        assert!(codes("Zq9!Zq9!Zq9!", "alice").is_empty());
        assert_eq!(nist("Zq9!Zq9!Zq9!"), vec!["passphrase_too_short"]);
        // Fifteen code points, more bytes.
        assert!(nist("äöü äöü äöü äöü").is_empty());
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
    fn common_passwords_rejected_under_both_policies() {
        for pw in ["P@ssw0rd2024!!!!!", "!!!Welcome2025!!!", "qwertyuiop"] {
            assert!(nist(pw).contains(&"common".to_owned()), "{pw}");
            assert!(codes(pw, "alice").contains(&"common".to_owned()), "{pw}");
        }
    }

    #[test]
    fn an_injected_blocklist_is_consulted_on_top_of_the_short_list() {
        fn listed(raw: &str) -> bool {
            LookupForms::of(raw).core().eq("zangetsu".chars())
        }
        for kind in [PolicyKind::Catalogue, PolicyKind::Nist] {
            let with = PasswordPolicy::new(kind).with_blocklist(listed);
            assert_eq!(with.kind(), kind);
            assert!(codes_under(with, "Zangetsu#2024!!!", "alice").contains(&"common".to_owned()));
            assert!(
                !codes_under(PasswordPolicy::new(kind), "Zangetsu#2024!!!", "alice")
                    .contains(&"common".to_owned())
            );
            // The short list still applies.
            assert!(codes_under(with, "P@ssw0rd2024!!!!!", "alice").contains(&"common".to_owned()));
        }
    }

    #[test]
    fn asvs_2_1_7_password_must_not_contain_username_or_email() {
        assert!(codes("MyAlice_is#1long", "alice").contains(&"contains_username".to_owned()));
        assert!(codes("Someone!2345678", "bob").contains(&"contains_email".to_owned()));
        assert!(nist("my alice is a long story").contains(&"contains_username".to_owned()));
        assert!(nist("someone walks a long way").contains(&"contains_email".to_owned()));
        // Too short to mean anything: a two-letter username is not looked for.
        assert!(codes_under(PasswordPolicy::default(), "Al-is-here-2024!", "al").is_empty());
    }

    #[test]
    fn the_browser_checks_only_what_every_policy_shares() {
        let codes = |pw: &str| -> Vec<String> {
            PasswordPolicy::violations(pw, CTX)
                .into_iter()
                .map(|e| e.code)
                .collect()
        };
        // Passes in the browser; the server decides on composition or 15 characters.
        assert!(codes("violet harbours").is_empty());
        assert!(codes("Zq9!Zq9!Zq9!").is_empty());
        assert_eq!(codes("short"), vec!["too_short"]);
        assert_eq!(codes(&"x".repeat(129)), vec!["too_long"]);
        assert_eq!(codes("P@ssw0rd2024!"), vec!["common"]);
        assert_eq!(codes("alice in chains 99"), vec!["contains_username"]);
        assert_eq!(codes("someone else's pass"), vec!["contains_email"]);
        // Whatever the browser refuses, both server policies refuse too.
        for pw in ["short", "P@ssw0rd2024!", "alice in chains 99"] {
            for kind in [PolicyKind::Catalogue, PolicyKind::Nist] {
                assert!(!PasswordPolicy::new(kind).check(pw, CTX).is_empty(), "{pw}");
            }
        }
    }

    #[test]
    fn each_policy_has_a_hint_that_matches_its_rules() {
        for kind in [PolicyKind::Catalogue, PolicyKind::Nist] {
            let hint = kind.hint();
            let figures = format!("{} to {} characters", kind.min_chars(), kind.max_chars());
            assert!(hint.starts_with(&figures), "{kind:?}: {hint}");
            assert!(hint.contains("common password"), "{kind:?}");
            assert!(hint.contains("username"), "{kind:?}");
            assert_eq!(hint.contains("upper-"), kind.composition(), "{kind:?}");
            assert_eq!(
                hint.contains("special character"),
                kind.composition(),
                "{kind:?}"
            );
        }
        assert!(PolicyKind::Nist.hint().starts_with("15 to 128"));
        assert!(PolicyKind::Catalogue.hint().starts_with("12 to 128"));
        assert_ne!(PolicyKind::Catalogue.hint(), PolicyKind::Nist.hint());
        assert!(PolicyKind::Catalogue.composition());
        assert!(!PolicyKind::Nist.composition());
    }

    #[test]
    fn the_policy_kind_is_spelled_on_the_wire_as_in_the_setting() {
        for kind in [PolicyKind::Catalogue, PolicyKind::Nist] {
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
            assert_eq!(serde_json::from_str::<PolicyKind>(&json).unwrap(), kind);
        }
        assert!(serde_json::from_str::<PolicyKind>("\"NIST\"").is_err());
    }

    #[test]
    fn every_code_has_a_message() {
        for pw in ["", "zebrazebrazebra", "P@ssw0rd2024!", "alice someone"] {
            for kind in [PolicyKind::Catalogue, PolicyKind::Nist] {
                for e in PasswordPolicy::new(kind).check(pw, CTX) {
                    assert!(
                        crate::fields::describe("password", &e.code).is_some(),
                        "{} has no message",
                        e.code
                    );
                    assert!(crate::fields::describe("new_password", &e.code).is_some());
                }
            }
        }
    }

    #[test]
    fn lookup_forms_undo_decoration() {
        let f = LookupForms::of("P@ssw0rd2024!");
        assert_eq!(form(f.lower()), "p@ssw0rd2024!");
        assert_eq!(form(f.core()), "password");
        // Undone before trimming, the digits count as letters.
        assert_eq!(form(f.stripped()), "password2o2ai");
        let f = LookupForms::of("$ecret#");
        assert_eq!(form(f.core()), "ecret");
        assert_eq!(form(f.stripped()), "secret");
        let f = LookupForms::of("!!Welcome2025");
        assert_eq!(form(f.core()), "welcome");
        // No letters: nothing left once trimmed.
        assert_eq!(form(LookupForms::of("123456").core()), "");
        assert_eq!(form(LookupForms::of("").stripped()), "");
        // The same as the String-based formulation the forms replace.
        for raw in ["P@ssw0rd2024!", "  Zq9! x ", "ÄÖÜ-3x-!", "7r33h0us3", "!!!"] {
            let lower = raw.to_lowercase();
            let core: String = lower
                .trim_matches(|c: char| !c.is_alphabetic())
                .chars()
                .map(unleet)
                .collect();
            let stripped: String = lower.chars().map(unleet).collect();
            let stripped = stripped.trim_matches(|c: char| !c.is_alphabetic());
            let f = LookupForms::of(raw);
            assert_eq!(form(f.lower()), lower, "{raw}");
            assert_eq!(form(f.core()), core, "{raw}");
            assert_eq!(form(f.stripped()), stripped, "{raw}");
        }
    }
}
