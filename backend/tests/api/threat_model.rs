//! `docs/threat-model.md` names, for each threat, the test that proves it
//! refused. This keeps the names true: every `module::test` (and
//! `attacks::chapter::test`, `::test` continuing the previous module) is a
//! test function in that file, every `faults:module::test` one in the fault
//! tests (`backend/tests/faults`), every `lib:module::test` a unit test in
//! `backend/src/<module>.rs` (or `<module>/mod.rs`), every `fuzz:<target>` a cargo fuzz target and
//! every `security-check:<part>` a part of the script.

use std::path::Path;

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn every_test_the_threat_model_names_exists() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let doc = read(&root.join("docs/threat-model.md"));
    let tests = root.join("backend/tests/api");
    let mut checked = 0;
    for line in doc.lines().filter(|l| l.starts_with('|')) {
        // The last column names the tests (the others name code).
        let cells: Vec<&str> = line.trim_end().trim_end_matches('|').split('|').collect();
        let Some(test_cell) = cells.last() else {
            continue;
        };
        let mut module: Option<String> = None;
        for (i, code) in test_cell.split('`').enumerate() {
            if i % 2 == 0 {
                continue;
            }
            if let Some(target) = code.strip_prefix("fuzz:") {
                let file = root.join(format!("backend/fuzz/fuzz_targets/{target}.rs"));
                assert!(file.exists(), "no fuzz target {target}");
                checked += 1;
            } else if let Some(part) = code.strip_prefix("security-check:") {
                let script = read(&root.join("scripts/security-check"));
                assert!(
                    script.contains(&format!("\n{part}() {{")),
                    "no security-check part {part}"
                );
                checked += 1;
            } else if let Some(path) = code.strip_prefix("faults:") {
                // The fault tests' own target (`backend/tests/faults`).
                let (m, function) = path.rsplit_once("::").expect("faults:module::test");
                check(&root.join("backend/tests/faults"), m, function);
                checked += 1;
            } else if let Some(path) = code.strip_prefix("lib:") {
                // A unit test beside the code: `lib:module::path::test`.
                let (m, function) = path.rsplit_once("::").expect("lib:module::test");
                check_lib(&root.join("backend/src"), m, function);
                checked += 1;
            } else if let Some(function) = code.strip_prefix("::") {
                let m = module.clone().expect("a `::test` follows a `module::test`");
                check(&tests, &m, function);
                checked += 1;
            } else if code.contains("::")
                && code
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == ':')
            {
                let (m, function) = code.rsplit_once("::").expect("module::test");
                check(&tests, m, function);
                module = Some(m.to_owned());
                checked += 1;
            }
        }
    }
    assert!(
        checked > 50,
        "only {checked} references found: is the table format unchanged?"
    );
}

fn check(tests: &Path, module: &str, function: &str) {
    let file = tests.join(format!("{}.rs", module.replace("::", "/")));
    let text = read(&file);
    assert!(
        text.contains(&format!("async fn {function}("))
            || text.contains(&format!("fn {function}(")),
        "{module}::{function} is not a test in {}",
        file.display()
    );
}

/// `module` (`a::b`) is `backend/src/a/b.rs` or `backend/src/a/b/mod.rs`;
/// `function` must be a test there (`#[test]` or `#[tokio::test]` on the
/// line before, attributes aside).
fn check_lib(src: &Path, module: &str, function: &str) {
    let base = src.join(module.replace("::", "/"));
    let file = [base.with_extension("rs"), base.join("mod.rs")]
        .into_iter()
        .find(|f| f.exists())
        .unwrap_or_else(|| panic!("lib:{module}: no such module under backend/src"));
    let text = read(&file);
    let lines: Vec<&str> = text.lines().collect();
    let at = lines
        .iter()
        .position(|l| {
            let l = l.trim_start();
            l.starts_with(&format!("fn {function}("))
                || l.starts_with(&format!("async fn {function}("))
        })
        .unwrap_or_else(|| {
            panic!(
                "lib:{module}::{function} is not a function in {}",
                file.display()
            )
        });
    let is_test = lines[..at]
        .iter()
        .rev()
        .take_while(|l| l.trim_start().starts_with("#["))
        .any(|l| l.contains("test]") || l.contains("test("));
    assert!(is_test, "lib:{module}::{function} is not marked as a test");
}
