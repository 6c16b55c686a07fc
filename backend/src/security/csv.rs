//! CSV for exports that people open in spreadsheets (RFC 4180, CRLF rows).
//!
//! A cell a spreadsheet would read as a formula — text starting with `=`,
//! `+`, `-`, `@`, a tab or a carriage return — gets a leading `'`, so a
//! logged value such as `=HYPERLINK(…)` stays text (OWASP "CSV injection").
//! A cell with a comma, a quote or a line break is quoted, its quotes doubled.

/// One cell, defused and quoted as needed.
pub fn cell(value: &str) -> String {
    let defused = match value.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{value}"),
        _ => value.to_owned(),
    };
    if defused.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", defused.replace('"', "\"\""))
    } else {
        defused
    }
}

/// One row, ending with CRLF.
pub fn row<'a>(cells: impl IntoIterator<Item = &'a str>) -> String {
    let mut line = cells.into_iter().map(cell).collect::<Vec<_>>().join(",");
    line.push_str("\r\n");
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_cells_are_left_alone() {
        assert_eq!(cell("auth.login"), "auth.login");
        assert_eq!(cell(""), "");
        assert_eq!(cell("192.0.2.1"), "192.0.2.1");
    }

    #[test]
    fn separators_quotes_and_line_breaks_are_quoted() {
        assert_eq!(cell("a,b"), "\"a,b\"");
        assert_eq!(cell(r#"{"k":"v"}"#), r#""{""k"":""v""}""#);
        assert_eq!(cell("two\nlines"), "\"two\nlines\"");
        assert_eq!(row(["a", "b,c", ""]), "a,\"b,c\",\r\n");
    }

    #[test]
    fn formula_starts_are_defused() {
        for (raw, out) in [
            ("=1+1", "'=1+1"),
            ("+1", "'+1"),
            ("-1", "'-1"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
        ] {
            assert_eq!(cell(raw), out);
        }
        assert_eq!(
            cell("=HYPERLINK(\"http://x\",\"y\")"),
            "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\""
        );
        // Only the first character counts.
        assert_eq!(cell("a=b"), "a=b");
    }
}
