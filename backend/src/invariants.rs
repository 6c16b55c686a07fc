//! Architecture rules from ARCHITECTURE.md, checked against the source so a
//! change that breaks one fails the build's tests.
//!
//! Longer than most modules (about 600 lines) on purpose: it is test code
//! only (`#[cfg(test)] mod invariants` in lib.rs), and its rules share one
//! small source reader (comments and literals blanked, test items cut), so
//! the rules and what they read are reviewed together.

use std::collections::{BTreeMap, BTreeSet};
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
    out.sort();
    out
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Code outside `#[cfg(test)]` items, with comments and the contents of
/// string and character literals blanked out.
fn non_test_code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    strip_test_items(&blank_comments_and_literals(&text)).0
}

/// `text` with comments and the contents of string and character literals
/// replaced by spaces (line breaks kept), so that what is left is code: a
/// path or a brace in a doc comment or a string is not an import or a block.
fn blank_comments_and_literals(text: &str) -> String {
    let c: Vec<char> = text.chars().collect();
    let mut out = c.clone();
    let blank = |out: &mut Vec<char>, from: usize, to: usize| {
        for ch in &mut out[from..to.min(c.len())] {
            if *ch != '\n' {
                *ch = ' ';
            }
        }
    };
    let ident = |i: usize| c[i].is_alphanumeric() || c[i] == '_';
    let mut i = 0;
    while i < c.len() {
        let at = |s: &str| c[i..].iter().take(s.len()).copied().eq(s.chars());
        if at("//") {
            let end = (i..c.len()).find(|&j| c[j] == '\n').unwrap_or(c.len());
            blank(&mut out, i, end);
            i = end;
        } else if at("/*") {
            let (mut depth, mut j) = (0, i);
            while j < c.len() {
                if c[j..].starts_with(&['/', '*']) {
                    depth += 1;
                    j += 2;
                } else if c[j..].starts_with(&['*', '/']) {
                    depth -= 1;
                    j += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    j += 1;
                }
            }
            blank(&mut out, i, j);
            i = j;
        } else if c[i] == 'r'
            && (i == 0 || !ident(i - 1) || (c[i - 1] == 'b' && (i < 2 || !ident(i - 2))))
            && c[i + 1..].iter().find(|&&ch| ch != '#') == Some(&'"')
        {
            // A raw string, r"…" or r#"…"#: it ends at a quote followed by
            // as many hashes as it began with.
            let hashes = c[i + 1..].iter().take_while(|&&ch| ch == '#').count();
            let start = i + 2 + hashes;
            let end = (start..c.len())
                .find(|&j| c[j] == '"' && c[j + 1..].iter().take(hashes).all(|&ch| ch == '#'))
                .unwrap_or(c.len());
            blank(&mut out, start, end);
            i = end + 1 + hashes;
        } else if c[i] == '"' {
            let mut j = i + 1;
            while j < c.len() && c[j] != '"' {
                j += if c[j] == '\\' { 2 } else { 1 };
            }
            blank(&mut out, i + 1, j);
            i = j + 1;
        } else if c[i] == '\'' && c.get(i + 1) == Some(&'\\') {
            // An escaped character literal ('\n', '\'', '\u{…}').
            let end = (i + 3..c.len()).find(|&j| c[j] == '\'').unwrap_or(c.len());
            blank(&mut out, i + 1, end);
            i = end + 1;
        } else if c[i] == '\'' && c.get(i + 2) == Some(&'\'') {
            blank(&mut out, i + 1, i + 2);
            i += 3;
        } else {
            // Anything else, a lifetime's quote included.
            i += 1;
        }
    }
    out.into_iter().collect()
}

/// `code` (already blanked) without the items marked `#[cfg(test)]`, and
/// the names of the child modules declared that way (`#[cfg(test)] mod x;`:
/// their files are test code too).
fn strip_test_items(code: &str) -> (String, Vec<String>) {
    const MARK: &str = "#[cfg(test)]";
    let mut code = code.to_owned();
    let mut test_modules = Vec::new();
    while let Some(start) = code.find(MARK) {
        let after = start + MARK.len();
        let (semi, brace) = (code[after..].find(';'), code[after..].find('{'));
        let end = match (semi, brace) {
            (Some(s), b) if b.is_none_or(|b| s < b) => {
                let item: Vec<&str> = code[after..after + s].split_whitespace().collect();
                if let [.., "mod", name] = item.as_slice() {
                    test_modules.push((*name).to_owned());
                }
                after + s + 1
            }
            (_, Some(b)) => {
                let mut depth = 0;
                let mut end = code.len();
                for (j, ch) in code[after + b..].char_indices() {
                    match ch {
                        '{' => depth += 1,
                        '}' => depth -= 1,
                        _ => {}
                    }
                    if depth == 0 {
                        end = after + b + j + 1;
                        break;
                    }
                }
                end
            }
            _ => code.len(),
        };
        let lines = code[start..end].matches('\n').count();
        code.replace_range(start..end, &"\n".repeat(lines));
    }
    (code, test_modules)
}

/// Rooms of a livable size: a file with more lines of code than this (test
/// items, comments and blank lines not counted) says at its top why it is
/// one file, in a `//!` line starting "Longer than most modules".
const LONG_FILE_LINES: usize = 500;

#[test]
fn a_long_file_says_why_at_its_top() {
    let mut unexplained = Vec::new();
    for file in rust_files(&src()) {
        let text = std::fs::read_to_string(&file).unwrap();
        let code = strip_test_items(&blank_comments_and_literals(&text)).0;
        let lines = code.lines().filter(|l| !l.trim().is_empty()).count();
        let says_why = text
            .lines()
            .take_while(|l| l.starts_with("//!"))
            .any(|l| l.contains("Longer than most modules"));
        if lines > LONG_FILE_LINES && !says_why {
            unexplained.push(format!("{} ({lines} lines of code)", file.display()));
        }
    }
    assert!(
        unexplained.is_empty(),
        "split these by job, or say at the top why not: {unexplained:#?}"
    );
}

#[test]
fn security_code_is_framework_free() {
    // Web, database, async runtime and network crates; the security module
    // is pure rules over values, testable without any of them.
    const FRAMEWORKS: [&str; 10] = [
        "actix",
        "diesel",
        "leptos",
        "tokio",
        "redis",
        "ureq",
        "cryptoki",
        "utoipa",
        "clap",
        "tracing_subscriber",
    ];
    for file in rust_files(&src().join("security")) {
        let code = non_test_code(&file);
        for root in path_roots(&code) {
            let framework = FRAMEWORKS
                .iter()
                .find(|f| root == **f || root.starts_with(&format!("{f}_")));
            assert!(framework.is_none(), "{} uses {root}", file.display());
        }
    }
}

/// The crates and modules the paths in `code` start from (`a` in `a::b`).
fn path_roots(code: &str) -> BTreeSet<String> {
    let c: Vec<char> = code.chars().collect();
    let mut roots = BTreeSet::new();
    let mut i = 0;
    while i < c.len() {
        let is_ident = |ch: char| ch.is_alphanumeric() || ch == '_';
        if is_ident(c[i]) && (i == 0 || !(is_ident(c[i - 1]) || c[i - 1] == ':')) {
            let start = i;
            while i < c.len() && is_ident(c[i]) {
                i += 1;
            }
            if c[i..].starts_with(&[':', ':']) {
                roots.insert(c[start..i].iter().collect());
            }
        } else {
            i += 1;
        }
    }
    roots
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

// ---------------------------------------------------------------------------
// Layers: imports only point down (ARCHITECTURE.md, "Layers").

/// The layers, lowest first: a module may import from its own layer and the
/// layers below it, never above (so services and audit never import http,
/// routes or startup, and db never services or audit). One line per
/// top-level module of the crate.
const LAYERS: &[(&str, u8)] = &[
    ("security", 0),        // pure rules over values: no framework, no I/O
    ("clock", 1),           // the time the code reads
    ("telemetry", 1),       // logging: set-up, line format, recent lines, request id
    ("error", 2),           // AppError and its responses
    ("metrics", 2),         // the Prometheus counters
    ("db", 3),              // the pool, the schema, the models
    ("tls", 4),             // the rustls configuration
    ("secret_provider", 4), // where secrets are read (files, Vault; its database credentials)
    ("config", 5),          // the settings
    ("key_provider", 6),    // where the signing keys and key-encrypting key are
    ("keys", 7),            // the loaded keys (Keys): signing, symmetric, key files
    ("identity", 8),        // who a verified request is (SignedIn)
    ("request_meta", 8),    // what is recorded about a request
    ("audit", 9),           // the one writer of the audit log
    ("state", 10),          // AppState and what it holds
    ("services", 11),       // the use cases
    ("http", 12),           // middleware and extractors
    ("routes", 13),         // the handlers and the route table
    ("startup", 14),        // wiring the server together
    ("dev_banner", 14),     // what `serve` prints in dev mode
    ("cli", 15),            // the commands
    ("lib", 15),            // the crate root
];

/// Edges allowed to break the rule while a move is under way: none today.
/// An entry needs a comment saying which work removes it; the check fails
/// on an entry whose edge no longer exists, so none outlives its reason.
const ALLOWED: &[(&str, &str)] = &[];

type Edges = BTreeSet<(String, String)>;

/// A module's path (`services::access`) from its file; `lib.rs` is `lib`.
fn module_of(file: &Path, src: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    if parts == ["lib"] {
        parts.clear();
    }
    parts
}

fn name(module: &[String]) -> String {
    if module.is_empty() {
        "lib".to_owned()
    } else {
        module.join("::")
    }
}

/// The crate's non-test code by module path (`main.rs` is the binary's
/// crate, not this one; files declared `#[cfg(test)] mod x;` are tests).
fn crate_modules(src: &Path) -> BTreeMap<Vec<String>, String> {
    let mut modules = BTreeMap::new();
    let mut test_modules = Vec::new();
    for file in rust_files(src) {
        if file == src.join("main.rs") {
            continue;
        }
        let module = module_of(&file, src);
        let text = std::fs::read_to_string(&file).unwrap();
        let (code, tests) = strip_test_items(&blank_comments_and_literals(&text));
        test_modules.extend(tests.into_iter().map(|t| {
            let mut m = module.clone();
            m.push(t);
            m
        }));
        modules.insert(module, code);
    }
    modules.retain(|m, _| !test_modules.iter().any(|t| m.starts_with(t)));
    modules
}

/// The paths named by the path or use tree that starts at `c[*i]`:
/// `crate::a::{self, b::{c, d as e}, f::*}` names `crate::a::self`,
/// `crate::a::b::c`, `crate::a::b::d` and `crate::a::f`.
fn use_tree(c: &[char], i: &mut usize) -> Vec<Vec<String>> {
    let is_ident = |ch: char| ch.is_alphanumeric() || ch == '_';
    let skip_space = |i: &mut usize| {
        while *i < c.len() && c[*i].is_whitespace() {
            *i += 1;
        }
    };
    let mut prefix = Vec::new();
    loop {
        skip_space(i);
        if *i < c.len() && c[*i] == '{' {
            *i += 1;
            let mut out = Vec::new();
            loop {
                skip_space(i);
                if *i >= c.len() || c[*i] == '}' {
                    *i += 1;
                    return out;
                }
                for path in use_tree(c, i) {
                    out.push([prefix.clone(), path].concat());
                }
                skip_space(i);
                if *i < c.len() && c[*i] == ',' {
                    *i += 1;
                }
            }
        }
        if *i < c.len() && c[*i] == '*' {
            *i += 1;
            return vec![prefix];
        }
        let start = *i;
        while *i < c.len() && is_ident(c[*i]) {
            *i += 1;
        }
        if *i == start {
            return vec![prefix];
        }
        prefix.push(c[start..*i].iter().collect());
        skip_space(i);
        if c[*i..].starts_with(&[':', ':']) {
            *i += 2;
            continue;
        }
        // `x as y`: the name it is known by here does not matter.
        if c[*i..].starts_with(&['a', 's']) && c.get(*i + 2).is_some_and(|ch| ch.is_whitespace()) {
            *i += 2;
            skip_space(i);
            while *i < c.len() && is_ident(c[*i]) {
                *i += 1;
            }
        }
        return vec![prefix];
    }
}

/// The modules `code` (the non-test code of `module`) imports from this
/// crate: every path that starts with `crate::` or `super::`, in a `use`
/// (grouped ones included) or inline (`pub(super)` is no path), resolved to the module file that
/// holds the item. A module's own children, named without a prefix, are not
/// counted: a module and its sub-modules are one unit.
fn imports(module: &[String], code: &str, known: &BTreeSet<Vec<String>>) -> BTreeSet<Vec<String>> {
    let c: Vec<char> = code.chars().collect();
    let is_ident = |ch: char| ch.is_alphanumeric() || ch == '_';
    let mut out = BTreeSet::new();
    let mut i = 0;
    while i < c.len() {
        let starts = ["crate", "super"].iter().find(|w| {
            c[i..].starts_with(&w.chars().collect::<Vec<_>>())
                && (i == 0 || !(is_ident(c[i - 1]) || c[i - 1] == '$' || c[i - 1] == ':'))
                && c[i + w.len()..]
                    .iter()
                    .find(|ch| !ch.is_whitespace())
                    .is_some_and(|&ch| ch == ':')
        });
        if starts.is_none() {
            i += 1;
            continue;
        }
        let from = i;
        for path in use_tree(&c, &mut i) {
            let mut full: Vec<String> = match path.first().map(String::as_str) {
                Some("crate") => Vec::new(),
                _ => module.to_vec(),
            };
            for segment in path.iter().skip_while(|s| *s == "crate") {
                match segment.as_str() {
                    "super" => {
                        full.pop();
                    }
                    "self" => {}
                    _ => full.push(segment.clone()),
                }
            }
            // The longest prefix that is a module file holds the item.
            let target = (1..=full.len())
                .rev()
                .map(|n| full[..n].to_vec())
                .find(|m| known.contains(m));
            if let Some(target) = target.filter(|t| t != module) {
                out.insert(target);
            }
        }
        i = i.max(from + 1);
    }
    out
}

/// Every `crate::`/`super::` import between modules of the crate.
fn crate_edges(src: &Path) -> Edges {
    let modules = crate_modules(src);
    let known: BTreeSet<Vec<String>> = modules.keys().cloned().collect();
    let mut edges = Edges::new();
    for (module, code) in &modules {
        for target in imports(module, code, &known) {
            edges.insert((name(module), name(&target)));
        }
    }
    edges
}

fn layer_of(module: &str) -> &str {
    module.split("::").next().unwrap_or(module)
}

fn rank(module: &str) -> Option<u8> {
    LAYERS
        .iter()
        .find(|(m, _)| *m == layer_of(module))
        .map(|(_, r)| *r)
}

/// What breaks the layering in `edges`, apart from `allowed`: modules with
/// no layer, imports of a higher layer, import cycles between files, and
/// allowed edges that no longer exist.
fn layer_violations(edges: &Edges, allowed: &[(&str, &str)]) -> Vec<String> {
    let is_allowed = |a: &str, b: &str| allowed.contains(&(a, b));
    let mut problems = Vec::new();
    let modules: BTreeSet<&str> = edges
        .iter()
        .flat_map(|(a, b)| [a.as_str(), b.as_str()])
        .collect();
    let layers: BTreeSet<&str> = modules.iter().map(|m| layer_of(m)).collect();
    for layer in layers.iter().filter(|l| rank(l).is_none()) {
        problems.push(format!("{layer} has no layer: add it to LAYERS"));
    }
    for (a, b) in edges {
        if let (Some(ra), Some(rb)) = (rank(a), rank(b)) {
            if rb > ra && !is_allowed(a, b) {
                problems.push(format!(
                    "upward: {a} -> {b} (layer {ra} imports layer {rb})"
                ));
            }
        }
    }
    // A cycle: an edge a -> b where b also reaches a.
    let mut next: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (a, b) in edges.iter().filter(|(a, b)| !is_allowed(a, b)) {
        next.entry(a.as_str()).or_default().push(b.as_str());
    }
    let reaches = |from: &str, to: &str| {
        let (mut seen, mut todo) = (BTreeSet::new(), vec![from]);
        while let Some(m) = todo.pop() {
            if m == to {
                return true;
            }
            if seen.insert(m) {
                todo.extend(next.get(m).into_iter().flatten());
            }
        }
        false
    };
    for (a, b) in edges.iter().filter(|(a, b)| !is_allowed(a, b)) {
        if reaches(b, a) {
            problems.push(format!("cycle: {a} -> {b} (and {b} leads back to {a})"));
        }
    }
    for (a, b) in allowed {
        if !edges.contains(&((*a).to_owned(), (*b).to_owned())) {
            problems.push(format!(
                "allowed edge {a} -> {b} is gone: remove it from ALLOWED"
            ));
        }
    }
    problems
}

/// The edges by layer, lowest first, each layer headed by the layers it
/// imports (`scripts/layers` prints this).
fn describe(edges: &Edges) -> String {
    let mut out = String::from("\n");
    for (layer, r) in LAYERS {
        let mine: Vec<_> = edges
            .iter()
            .filter(|(a, _)| layer_of(a) == *layer)
            .collect();
        let below: BTreeSet<&str> = mine
            .iter()
            .map(|(_, b)| layer_of(b))
            .filter(|l| l != layer)
            .collect();
        let below = match below.into_iter().collect::<Vec<_>>() {
            none if none.is_empty() => "nothing".to_owned(),
            some => some.join(", "),
        };
        out.push_str(&format!("[{r}] {layer} imports: {below}\n"));
        for (a, b) in mine {
            let mark = if ALLOWED.contains(&(a.as_str(), b.as_str())) {
                "   (allowed for now)"
            } else {
                ""
            };
            out.push_str(&format!("    {a} -> {b}{mark}\n"));
        }
    }
    out
}

#[test]
fn layers_only_point_down() {
    let edges = crate_edges(&src());
    if std::env::var_os("LAYERS_PRINT").is_some() {
        println!("{}", describe(&edges));
    }
    let problems = layer_violations(&edges, ALLOWED);
    assert!(
        problems.is_empty(),
        "imports must point down the layers (ARCHITECTURE.md, \"Layers\"; \
         scripts/layers shows them all):\n  {}",
        problems.join("\n  ")
    );
}

#[test]
fn layer_check_catches_an_upward_edge_and_a_cycle() {
    let edges: Edges = [
        ("services::accounts", "db::models::user"),
        ("services::accounts", "http::client"),
        ("services::mfa", "services::lockout"),
        ("services::lockout", "services::mfa"),
        ("security::policy", "security::jwt"),
        ("mystery", "db"),
    ]
    .iter()
    .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
    .collect();
    let problems = layer_violations(&edges, &[("security::policy", "gone")]);
    assert_eq!(
        problems,
        [
            "mystery has no layer: add it to LAYERS",
            "upward: services::accounts -> http::client (layer 11 imports layer 12)",
            "cycle: services::lockout -> services::mfa (and services::mfa leads back to services::lockout)",
            "cycle: services::mfa -> services::lockout (and services::lockout leads back to services::mfa)",
            "allowed edge security::policy -> gone is gone: remove it from ALLOWED",
        ]
    );
    // Allowed, the upward edge and the cycle are let through.
    let allowed = [
        ("services::accounts", "http::client"),
        ("services::mfa", "services::lockout"),
    ];
    let problems = layer_violations(&edges, &allowed);
    assert_eq!(problems, ["mystery has no layer: add it to LAYERS"]);
}

#[test]
fn layer_edges_are_read_from_use_trees_inline_paths_and_super() {
    let known: BTreeSet<Vec<String>> = [
        "audit",
        "db",
        "db::models::user",
        "http",
        "http::client",
        "services",
        "services::mfa",
        "services::sessions",
        "state",
    ]
    .iter()
    .map(|m| m.split("::").map(str::to_owned).collect())
    .collect();
    let text = r#"
        //! Docs name crate::state, which is no import.
        use crate::db::{self, models::{user::User as U}};
        use super::{mfa, sessions::*};
        use crate::audit;
        pub(super) fn f() -> crate::http::client::RequestMeta { let s = "crate::startup"; todo!() }
        #[cfg(test)]
        mod tests { use crate::state::AppState; }
    "#;
    let code = strip_test_items(&blank_comments_and_literals(text)).0;
    let module = vec!["services".to_owned(), "accounts".to_owned()];
    let found: Vec<String> = imports(&module, &code, &known)
        .iter()
        .map(|m| name(m))
        .collect();
    assert_eq!(
        found,
        [
            "audit",
            "db",
            "db::models::user",
            "http::client",
            "services::mfa",
            "services::sessions"
        ]
    );
}
