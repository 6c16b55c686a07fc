//! Small display helpers shared by the pages.

/// "2026-11-28T00:20:31+00:00" -> "2026-11-28 00:20 UTC" (timestamps from the
/// API are RFC 3339 in UTC).
pub fn short_time(rfc3339: &str) -> String {
    match rfc3339.get(..16) {
        Some(head) => format!("{} UTC", head.replace('T', " ")),
        None => rfc3339.to_owned(),
    }
}

/// Percent-encodes one query value or path segment: everything outside
/// `[A-Za-z0-9-_.~]`, so typed text cannot add parameters or path parts.
pub fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `?a=1&b=2` from the pairs whose value is not empty; `""` if none is left.
pub fn query_string(pairs: &[(&str, &str)]) -> String {
    let parts: Vec<String> = pairs
        .iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(k, v)| format!("{}={}", encode(k), encode(v.trim())))
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!("?{}", parts.join("&"))
    }
}

/// A time typed into a filter, as RFC 3339 in UTC: `2026-11-28` and
/// `2026-11-28T09:30` (what people type) are completed; anything else is
/// passed on as it is, for the server to accept or refuse.
pub fn to_rfc3339(typed: &str) -> String {
    let t = typed.trim();
    let digits_at = |idx: &[usize]| {
        idx.iter()
            .all(|&i| t.as_bytes().get(i).is_some_and(u8::is_ascii_digit))
    };
    let is_date = t.len() >= 10
        && digits_at(&[0, 1, 2, 3, 5, 6, 8, 9])
        && t.get(4..5) == Some("-")
        && t.get(7..8) == Some("-");
    let is_minute = t.len() == 16
        && matches!(t.get(10..11), Some("T" | " "))
        && digits_at(&[11, 12, 14, 15])
        && t.get(13..14) == Some(":");
    match (t.get(..10), t.get(11..)) {
        (Some(date), _) if is_date && t.len() == 10 => format!("{date}T00:00:00Z"),
        (Some(date), Some(time)) if is_date && is_minute => format!("{date}T{time}:00Z"),
        _ => t.to_owned(),
    }
}

/// 900 -> "15 minutes", 3600 -> "1 hour", 45 -> "45 seconds".
pub fn duration_words(secs: i64) -> String {
    let plural = |n: i64, unit: &str| {
        if n == 1 {
            format!("1 {unit}")
        } else {
            format!("{n} {unit}s")
        }
    };
    if secs >= 3600 && secs % 3600 == 0 {
        plural(secs / 3600, "hour")
    } else if secs >= 60 && secs % 60 == 0 {
        plural(secs / 60, "minute")
    } else {
        plural(secs, "second")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_shortened_for_reading() {
        assert_eq!(
            short_time("2026-11-28T00:20:31+00:00"),
            "2026-11-28 00:20 UTC"
        );
        assert_eq!(short_time("bad"), "bad");
    }

    #[test]
    fn query_values_cannot_add_parameters() {
        assert_eq!(encode("a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9");
        assert_eq!(
            query_string(&[("q", "ann lee"), ("after", ""), ("limit", " 5 ")]),
            "?q=ann%20lee&limit=5"
        );
        assert_eq!(query_string(&[("q", "  ")]), "");
    }

    #[test]
    fn typed_times_become_rfc3339() {
        assert_eq!(to_rfc3339("2026-11-28"), "2026-11-28T00:00:00Z");
        assert_eq!(to_rfc3339("2026-11-28T09:30"), "2026-11-28T09:30:00Z");
        assert_eq!(to_rfc3339("2026-11-28 09:30"), "2026-11-28T09:30:00Z");
        assert_eq!(
            to_rfc3339("2026-11-28T09:30:00+01:00"),
            "2026-11-28T09:30:00+01:00"
        );
        assert_eq!(to_rfc3339(" "), "");
        assert_eq!(to_rfc3339("yesterday"), "yesterday");
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration_words(900), "15 minutes");
        assert_eq!(duration_words(3600), "1 hour");
        assert_eq!(duration_words(60), "1 minute");
        assert_eq!(duration_words(45), "45 seconds");
    }
}
