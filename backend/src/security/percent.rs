//! RFC 3986 percent-encoding, through the `percent-encoding` crate (the one
//! `url` and `form_urlencoded` use) rather than hand-written loops.
//!
//! Encoding keeps only the unreserved characters, so an encoded value cannot
//! add parameters, path segments or userinfo to the URL it is put in.
//! Decoding turns `%` followed by two hex digits into that byte and leaves any
//! other `%` as it is; bytes that are not UTF-8 become U+FFFD.

use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Everything but RFC 3986 §2.3's unreserved characters
/// (`ALPHA / DIGIT / "-" / "." / "_" / "~"`); bytes outside ASCII are always
/// encoded by the crate.
pub const NOT_UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes every byte of `s` but the unreserved characters
/// (upper-case hex: `%2F`).
pub fn encode(s: &str) -> String {
    utf8_percent_encode(s, NOT_UNRESERVED).to_string()
}

/// Percent-decodes `s`; `+` stays a plus (URL userinfo, paths).
pub fn decode(s: &str) -> String {
    percent_decode_str(s).decode_utf8_lossy().into_owned()
}

/// Percent-decodes a query string component as browsers send it
/// (`application/x-www-form-urlencoded`): `+` is a space, `%2B` a plus.
pub fn decode_query(s: &str) -> String {
    decode(&s.replace('+', " "))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hand-written encoder this module replaced (oauth.rs, vault).
    fn old_encode(s: &str) -> String {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
                    char::from(b).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect()
    }

    /// The hand-written decoders this module replaced: backup.rs's
    /// (`plus_is_space` false) and workshop.rs's (true).
    fn old_decode(s: &str, plus_is_space: bool) -> String {
        let b = s.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while let Some(&byte) = b.get(i) {
            let escaped = (byte == b'%')
                .then(|| b.get(i + 1..i + 3))
                .flatten()
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            match (byte, escaped) {
                (_, Some(v)) => {
                    out.push(v);
                    i += 2;
                }
                (b'+', None) if plus_is_space => out.push(b' '),
                (other, None) => out.push(other),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }

    #[test]
    fn encoding_keeps_only_unreserved() {
        assert_eq!(encode("aZ09-._~"), "aZ09-._~");
        assert_eq!(encode("a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9");
        assert_eq!(
            encode("+%?#@:[]!$'()*,;"),
            "%2B%25%3F%23%40%3A%5B%5D%21%24%27%28%29%2A%2C%3B"
        );
        let all: String = (0u8..=0x7f)
            .map(char::from)
            .chain(['é', '€', '🦀'])
            .collect();
        assert_eq!(encode(&all), old_encode(&all));
        for c in all.chars() {
            assert_eq!(encode(&c.to_string()), old_encode(&c.to_string()), "{c:?}");
        }
    }

    #[test]
    fn decoding_pins_invalid_input() {
        assert_eq!(decode("a%2"), "a%2");
        assert_eq!(decode("%zz%4"), "%zz%4");
        assert_eq!(decode("s%40cret:x"), "s@cret:x");
        assert_eq!(decode("a+b%2B"), "a+b+");
        assert_eq!(decode("%C3%A9%c3"), "é\u{fffd}");
        assert_eq!(decode_query("a+b%2B%20"), "a b+ ");
        assert_eq!(decode_query("%27+or+%271%27%3D%271"), "' or '1'='1");
        assert_eq!(decode_query("%2"), "%2");
    }

    /// Every string of up to four characters from an alphabet of escapes,
    /// hex digits, non-hex letters and non-ASCII: the crate decodes as the
    /// old code did, except `%+h` (the old code's `from_str_radix` took `+h`
    /// for a signed hex number; RFC 3986 and the crate, as libpq and actix's
    /// query parser, require two hex digits, so it stays literal).
    #[test]
    fn decoding_matches_the_old_code() {
        let alphabet = ['%', '+', '2', 'b', 'c', '3', 'F', 'z', 'é'];
        let mut level = vec![String::new()];
        let mut strings = level.clone();
        for _ in 0..4 {
            level = level
                .iter()
                .flat_map(|s| alphabet.iter().map(move |c| format!("{s}{c}")))
                .collect();
            strings.extend(level.iter().cloned());
        }
        assert_eq!(strings.len(), 1 + 9 + 81 + 729 + 6561);
        let signed_hex = |s: &str| {
            s.as_bytes()
                .windows(3)
                .any(|w| w[0] == b'%' && w[1] == b'+' && w[2].is_ascii_hexdigit())
        };
        for s in &strings {
            if signed_hex(s) {
                continue;
            }
            assert_eq!(decode(s), old_decode(s, false), "{s:?}");
            assert_eq!(decode_query(s), old_decode(s, true), "{s:?}");
        }
        assert_eq!(old_decode("%+F", false), "\u{f}");
        assert_eq!(decode("%+F"), "%+F");
        assert_eq!(decode_query("%+F"), "% F");
    }
}
