//! The origin (`scheme://authority`) of a URL: what the CSRF check compares
//! (`http::csrf`), what `APP_PUBLIC_URL` must be (`config`), where an OAuth
//! redirect goes (`routes::oauth`). Pure string logic.
//!
//! Layer: security (pure): imports nothing of the crate.

/// `scheme://host[:port]` of a URL, or `None` if it is not an http(s) URL.
pub fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    if scheme != "http" && scheme != "https" {
        return None;
    }
    let authority = rest.split(['/', '?', '#']).next()?;
    (!authority.is_empty()).then(|| format!("{scheme}://{authority}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_origin_is_scheme_and_authority_of_http_urls_only() {
        for (url, origin) in [
            ("https://app.example.org", "https://app.example.org"),
            ("https://app.example.org/a/b?c#d", "https://app.example.org"),
            ("http://127.0.0.1:3000?x", "http://127.0.0.1:3000"),
            ("https://h:8443#f", "https://h:8443"),
        ] {
            assert_eq!(origin_of(url).as_deref(), Some(origin), "{url}");
        }
        for url in [
            "ftp://h/x",
            "https://",
            "https:///path",
            "null",
            "/relative",
        ] {
            assert_eq!(origin_of(url), None, "{url}");
        }
    }
}
