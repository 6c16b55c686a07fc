//! Architecture rules from ARCHITECTURE.md, checked against the source so a
//! change that breaks one fails the build's tests.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "rs") {
                out.push(p);
            }
        }
    }
    out
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Code outside `#[cfg(test)]` modules (a rough but sufficient cut: test
/// modules sit at the end of each file here).
fn non_test_code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    match text.find("#[cfg(test)]") {
        Some(i) => text[..i].to_owned(),
        None => text,
    }
}

#[test]
fn security_code_is_framework_free() {
    for file in rust_files(&src().join("security")) {
        let code = non_test_code(&file);
        for framework in ["actix_web", "actix_http", "diesel::", "leptos"] {
            assert!(
                !code.contains(framework),
                "{} uses {framework}",
                file.display()
            );
        }
    }
}

#[test]
fn only_audit_rs_writes_the_audit_log() {
    for file in rust_files(&src()) {
        if file.ends_with("audit.rs") || file.ends_with("invariants.rs") {
            continue;
        }
        let code = non_test_code(&file);
        assert!(
            !code.contains("insert_into(audit_log"),
            "{} writes audit_log directly; use audit::record",
            file.display()
        );
        assert!(
            !(code.contains("update(audit_log") || code.contains("delete(audit_log")),
            "{} changes audit rows",
            file.display()
        );
    }
}

#[test]
fn asvs_5_3_4_no_sql_is_built_from_strings() {
    for file in rust_files(&src()) {
        if file.ends_with("invariants.rs") {
            continue;
        }
        let code = non_test_code(&file);
        for pattern in [
            "sql_query(format!",
            "sql_query(&format!",
            "batch_execute(&format!",
            "sql::<",
        ] {
            assert!(!code.contains(pattern), "{} uses {pattern}", file.display());
        }
    }
}
