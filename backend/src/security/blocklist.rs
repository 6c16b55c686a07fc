//! The server's list of common passwords: the 100,000 most common of a public
//! breach corpus (source, licence and rebuild steps: `blocklist/README.md`),
//! stored as a sorted array of 32-bit fingerprints.
//!
//! A password is looked up in the same three forms as the browser's short list
//! ([`LookupForms`]: lower-cased; trimmed to its letters with look-alikes
//! undone; look-alikes undone then trimmed), so `P@ssw0rd2024!` is found as
//! `password`. Each lookup is a binary search over the fingerprints: about 17
//! comparisons, no allocation.
//!
//! A fingerprint is 32 bits of a 64-bit hash, so an unlisted password has the
//! fingerprint of a listed one with probability about n / 2³² ≈ 2.2·10⁻⁵ per
//! form, below 7·10⁻⁵ per password: one strong password in ~15,000 is asked to
//! be changed. That costs a user one retry and gives an attacker nothing.

use wire::password_policy::LookupForms;

/// How many lines of the ranked source list the artefact was built from.
pub const SOURCE_ENTRIES: usize = 100_000;

/// Big-endian `u32` fingerprints, sorted, without duplicates
/// (`cargo run -p backend --example build_blocklist`).
const ARTEFACT: &[u8] = include_bytes!("blocklist/common-passwords-100k.bin");

fn fingerprints() -> &'static [[u8; 4]] {
    ARTEFACT.as_chunks::<4>().0
}

/// True when the password, in any of its [`LookupForms`], is on the list.
/// This is the [`wire::password_policy::Blocklist`] the server
/// injects into its `PasswordPolicy`.
pub fn contains(raw: &str) -> bool {
    let forms = LookupForms::of(raw);
    listed(forms.lower()) || listed(forms.core()) || listed(forms.stripped())
}

fn listed(form: impl Iterator<Item = char> + Clone) -> bool {
    if form.clone().next().is_none() {
        return false;
    }
    let key = fingerprint(form);
    fingerprints()
        .binary_search_by(|f| u32::from_be_bytes(*f).cmp(&key))
        .is_ok()
}

/// 32 bits of the 64-bit FNV-1a hash of the characters' UTF-8 bytes, after
/// MurmurHash3's 64-bit finaliser (so every input bit moves the top half).
/// Fixed for good: the artefact was built with it.
pub fn fingerprint(chars: impl Iterator<Item = char>) -> u32 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut buf = [0u8; 4];
    for c in chars {
        for &byte in c.encode_utf8(&mut buf).as_bytes() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(0xff51_afd7_ed55_8ccd);
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    hash ^= hash >> 33;
    (hash >> 32) as u32
}

/// The artefact for a ranked list, one password a line, most common first:
/// the first [`SOURCE_ENTRIES`] lines, trimmed and lower-cased, fingerprinted,
/// sorted and deduplicated, as big-endian bytes. Blank lines are skipped
/// (they still count towards the first [`SOURCE_ENTRIES`]).
pub fn build<'a>(lines: impl Iterator<Item = &'a str>) -> Vec<u8> {
    let mut prints: Vec<u32> = lines
        .take(SOURCE_ENTRIES)
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| fingerprint(LookupForms::of(l).lower()))
        .collect();
    prints.sort_unstable();
    prints.dedup();
    prints.iter().flat_map(|p| p.to_be_bytes()).collect()
}

/// How many fingerprints the artefact holds.
pub fn len() -> usize {
    fingerprints().len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    /// Recorded in `blocklist/README.md`; update both when the list is rebuilt.
    const ARTEFACT_SHA256: &str =
        "94cf126fde39a43e91fc7415d22eb823b903a8e1f973df806730eb21cd51ad5b";
    const ARTEFACT_ENTRIES: usize = 96_518;

    #[test]
    fn the_artefact_is_intact() {
        assert_eq!(hex::encode(Sha256::digest(ARTEFACT)), ARTEFACT_SHA256);
        assert_eq!(ARTEFACT.len() % 4, 0);
        assert_eq!(len(), ARTEFACT_ENTRIES);
        assert!(
            fingerprints()
                .windows(2)
                .all(|w| u32::from_be_bytes(w[0]) < u32::from_be_bytes(w[1])),
            "sorted, no duplicates"
        );
        // Under 400 KB, and at least 95 % of the source once lower-cased.
        assert!(ARTEFACT.len() <= 400_000);
        assert!(len() >= SOURCE_ENTRIES * 95 / 100);
    }

    #[test]
    fn listed_passwords_are_found_at_every_rank() {
        // Ranks 1, 2, 4, 37, 1,001, 9,993, 50,001, 90,242, 90,278 and
        // 100,000 (the last) of the source list.
        for pw in [
            "123456",
            "password",
            "qwerty",
            "trustno1",
            "carrie",
            "celebrity",
            "catering",
            "zangetsu",
            "yourmother",
            "070162",
        ] {
            assert!(contains(pw), "{pw} should be listed");
        }
    }

    #[test]
    fn decorated_and_recased_forms_are_found() {
        for pw in [
            "P@ssw0rd2024!",
            "PASSWORD",
            "Zangetsu#2024!!!",
            "!!!ZANGETSU!!!",
            "z4ng3tsu",
            "Y0urM0ther-1999",
        ] {
            assert!(contains(pw), "{pw} should be listed");
        }
    }

    #[test]
    fn strong_passwords_are_not_listed() {
        for pw in [
            "Tr0ub4dor&Zebra!",
            "violet harbours",
            "quiet lanterns drift over the bay",
            "N3w-Passphrase!x",
            "",
            "!!!",
        ] {
            assert!(!contains(pw), "{pw} should not be listed");
        }
    }

    #[test]
    fn the_fingerprint_is_stable() {
        // Changing the hash would silently empty the list: pin it.
        assert_eq!(fingerprint("password".chars()), 0x6711_3fc3);
        assert_ne!(
            fingerprint("password".chars()),
            fingerprint("passwore".chars())
        );
    }

    #[test]
    fn build_trims_lower_cases_sorts_and_deduplicates() {
        let artefact = build(["b", " A ", "a", "", "\u{C4}x"].into_iter());
        let prints: Vec<u32> = artefact
            .as_chunks::<4>()
            .0
            .iter()
            .map(|c| u32::from_be_bytes(*c))
            .collect();
        let mut expected = vec![
            fingerprint("a".chars()),
            fingerprint("b".chars()),
            fingerprint("\u{E4}x".chars()),
        ];
        expected.sort_unstable();
        assert_eq!(prints, expected);
        assert_eq!(build(std::iter::repeat_n("x", SOURCE_ENTRIES + 5)).len(), 4);
    }

    #[test]
    fn both_policies_refuse_listed_passwords_through_the_injected_list() {
        use wire::password_policy::{PasswordContext, PasswordPolicy, PolicyKind};
        let ctx = PasswordContext {
            username: "alice",
            email: "alice@example.org",
        };
        for kind in [PolicyKind::Catalogue, PolicyKind::Nist] {
            let policy = PasswordPolicy::new(kind).with_blocklist(contains);
            let codes: Vec<_> = policy
                .check("Zangetsu#2024!!!", ctx)
                .into_iter()
                .map(|e| e.code)
                .collect();
            assert_eq!(codes, vec!["common"], "{kind:?}");
            assert!(
                policy.check("Tr0ub4dor&Zebra!!", ctx).is_empty(),
                "{kind:?}"
            );
        }
    }
}
