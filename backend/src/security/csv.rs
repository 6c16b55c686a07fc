//! CSV for exports that people open in spreadsheets (RFC 4180, CRLF rows).
//!
//! A cell a spreadsheet would read as a formula — text starting with `=`,
//! `+`, `-`, `@`, a tab or a carriage return — gets a leading `'`, so a
//! logged value such as `=HYPERLINK(…)` stays text (OWASP "CSV injection").
//! A cell with a comma, a quote or a line break is quoted, its quotes doubled.

use std::borrow::Cow;

/// The formula defusing: a leading `'` before a formula start. The `csv`
/// crate only quotes; a quoted `"=1+1"` is still a formula to a spreadsheet.
fn defused(value: &str) -> Cow<'_, str> {
    match value.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => Cow::Owned(format!("'{value}")),
        _ => Cow::Borrowed(value),
    }
}

/// One record, defused, quoted by the `csv` crate as RFC 4180 has it (a field
/// is quoted only when it holds a comma, a quote, CR or LF; its quotes are
/// doubled) and ended with CRLF.
fn record<'a>(cells: impl IntoIterator<Item = &'a str>) -> String {
    let mut writer = csv::WriterBuilder::new()
        .delimiter(b',')
        .quote(b'"')
        .double_quote(true)
        .quote_style(csv::QuoteStyle::Necessary)
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    let cells: Vec<Cow<'_, str>> = cells.into_iter().map(defused).collect();
    // Writing into a Vec cannot fail, and UTF-8 in is UTF-8 out (only ASCII
    // quotes are added). Were it ever to fail, the output is empty, never an
    // unquoted or undefused value.
    let bytes = writer
        .write_record(cells.iter().map(|c| c.as_bytes()))
        .ok()
        .and_then(|()| writer.into_inner().ok())
        .unwrap_or_default();
    let line = String::from_utf8(bytes).unwrap_or_default();
    // The crate writes a record with nothing in it (no cell, or one empty
    // one) as `""`; this export has always written it as an empty line.
    // (Any other record that starts with a quote has more after it: a
    // quoted cell holds at least one character.)
    if line == "\"\"\r\n" {
        return "\r\n".to_owned();
    }
    line
}

/// One cell, defused and quoted as needed.
pub fn cell(value: &str) -> String {
    let mut line = record([value]);
    line.truncate(line.len().saturating_sub("\r\n".len()));
    line
}

/// One row, ending with CRLF.
pub fn row<'a>(cells: impl IntoIterator<Item = &'a str>) -> String {
    record(cells)
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

    /// The hand-written cell this module had before the `csv` crate.
    fn cell_before_csv_crate(value: &str) -> String {
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

    fn row_before_csv_crate(cells: &[&str]) -> String {
        let mut line = cells
            .iter()
            .map(|c| cell_before_csv_crate(c))
            .collect::<Vec<_>>()
            .join(",");
        line.push_str("\r\n");
        line
    }

    #[test]
    fn the_csv_crate_writes_what_the_hand_written_code_did() {
        let values = [
            "",
            " ",
            "a",
            "auth.login",
            "a,b",
            ",",
            "\"",
            "\"\"",
            "a\"b",
            "\n",
            "\r",
            "\r\n",
            "a\nb",
            "a\rb",
            "\t",
            "\tx",
            "x\t",
            "=",
            "=1+1",
            "+",
            "-1",
            "@",
            "@SUM(A1)",
            "'=x",
            "#x",
            " =x",
            "a=b",
            "é,ü",
            "🦀\"",
            "\u{0}",
            "\u{85}",
            ";",
            "|",
            "\\",
            "=HYPERLINK(\"http://x\",\"y\")",
            "\r=x",
            "\"=x",
            "x,\"y\"\r\n",
        ];
        for v in values {
            assert_eq!(cell(v), cell_before_csv_crate(v), "{v:?}");
        }
        let rows: Vec<Vec<&str>> = vec![
            vec![],
            vec![""],
            vec!["", ""],
            vec!["a"],
            vec!["=a", "b,c", "", "\"q\"", "\n"],
        ];
        for r in rows.iter().chain([values.to_vec()].iter()) {
            assert_eq!(row(r.iter().copied()), row_before_csv_crate(r), "{r:?}");
        }
        for a in values {
            for b in values {
                assert_eq!(row([a, b]), row_before_csv_crate(&[a, b]), "{a:?} {b:?}");
            }
        }
    }
}
