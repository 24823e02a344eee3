//! Rules the library crates keep, read from their source: no error is a bare `String`
//! (`Result<_, String>`): a caller can match a typed error, and its words live in one place.
//! Binaries (`main.rs`, `src/bin/`), tests and benches may use `anyhow` or strings.

use std::path::{Path, PathBuf};

use crate::support::root;

/// The library crates' sources.
const LIBRARIES: [&str; 7] = [
    "server/src",
    "shared/src",
    "bots/src",
    "netsim/src",
    "derive/src",
    "client-wasm/src",
    "examples/coins/src",
];

#[test]
fn no_library_error_is_a_bare_string() {
    let mut found = Vec::new();
    for dir in LIBRARIES {
        for file in rust_files(&root().join(dir)) {
            let text = std::fs::read_to_string(&file).expect("readable");
            let name = file
                .strip_prefix(root())
                .unwrap_or(&file)
                .display()
                .to_string();
            if name.ends_with("main.rs") || name.contains("/bin/") || name.ends_with("tests.rs") {
                continue;
            }
            for (n, line) in text.lines().enumerate() {
                let associated = ["type Err = String;", "type Error = String;"]
                    .iter()
                    .any(|t| line.trim() == *t);
                if associated || error_type_of(line).is_some_and(|e| e == "String") {
                    found.push(format!("{name}:{}: {}", n + 1, line.trim()));
                }
            }
        }
    }
    assert!(found.is_empty(), "errors as strings:\n{}", found.join("\n"));
}

#[test]
fn the_error_type_is_read_at_the_top_level_of_the_result() {
    assert_eq!(
        error_type_of("fn f() -> Result<(), String> {").as_deref(),
        Some("String")
    );
    assert_eq!(
        error_type_of("-> Result<HashMap<u32, String>, Error>").as_deref(),
        Some("Error")
    );
    assert_eq!(error_type_of("let x: Vec<String> = v;"), None);
}

/// The second type argument of the first `Result<..>` on the line, if it has one.
fn error_type_of(line: &str) -> Option<String> {
    let start = line.find("Result<")? + "Result<".len();
    let mut depth = 0;
    let mut second: Option<String> = None;
    for c in line[start..].chars() {
        match c {
            '<' | '(' => depth += 1,
            '>' | ')' if depth == 0 => return second.map(|s| s.trim().to_owned()),
            '>' | ')' => depth -= 1,
            ',' if depth == 0 => {
                second = Some(String::new());
                continue;
            }
            _ => {}
        }
        if let Some(s) = &mut second {
            s.push(c);
        }
    }
    None
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out
}
