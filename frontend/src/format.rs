//! Small display helpers shared by the pages.

/// "2026-11-28T00:20:31+00:00" -> "2026-11-28 00:20 UTC" (timestamps from the
/// API are RFC 3339 in UTC).
pub fn short_time(rfc3339: &str) -> String {
    match rfc3339.get(..16) {
        Some(head) => format!("{} UTC", head.replace('T', " ")),
        None => rfc3339.to_owned(),
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
}
