//! The audit export's CSV cells (`security::csv`): a standard reader gets
//! back exactly one field per cell, equal to the value or, for a value a
//! spreadsheet would run as a formula, the value behind a `'`.
#![no_main]

use backend::security::csv::{cell, row};
use libfuzzer_sys::fuzz_target;

fn read_back(line: &str) -> Vec<String> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(line.as_bytes());
    let mut record = csv::StringRecord::new();
    assert!(reader.read_record(&mut record).expect("a valid CSV row"));
    record.iter().map(str::to_owned).collect()
}

fuzz_target!(|data: &[u8]| {
    let Ok(value) = std::str::from_utf8(data) else {
        return;
    };
    let out = cell(value);
    let expected = match value.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{value}"),
        _ => value.to_owned(),
    };
    // An empty value reads as no record at all; a lone cell is checked
    // between two fixed neighbours so it always makes a record.
    let line = row(["a", value, "z"]);
    assert_eq!(read_back(&line), vec!["a".to_owned(), expected.clone(), "z".to_owned()]);
    assert!(!matches!(out.chars().next(), Some('=' | '+' | '-' | '@' | '\t' | '\r')));
});
