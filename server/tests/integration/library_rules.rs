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

/// The server's top-level modules import one way: the root composes `net`, which uses
/// `driver`, which uses `room`, `recording` and the settings in `config`. The imports that
/// still go the wrong way (issue 25: settings that build rooms, recordings that host them)
/// are listed; without them the graph must have no cycle, so a new wrong-way import fails
/// here and the list only shrinks. `driver` must never import `net` again: a transport is
/// handed to the driver through `driver::admission` and `driver::link`.
#[test]
fn server_modules_import_one_way_but_for_the_known_wrong_way_imports() {
    const WRONG_WAY: [(&str, &str); 4] = [
        // `Config` holds `GameMaker`s (room kinds as code, not data).
        ("config", "driver"),
        // `Config` holds the ticket key and the TLS file names, `net`'s types.
        ("config", "net"),
        // Recordings re-simulate through `GameMaker`, with a `Config` of their own.
        ("recording", "driver"),
        ("recording", "config"),
    ];
    let src = root().join("server/src");
    let mut edges = std::collections::BTreeSet::new();
    for file in rust_files(&src) {
        let rel = file.strip_prefix(&src).expect("under src");
        let from = top_module(rel);
        if from == "main" || rel.file_name().is_some_and(|n| n == "tests.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&file).expect("readable");
        // Unit tests at the end of a file may reach anywhere.
        let code = text
            .split("#[cfg(test)]\nmod tests")
            .next()
            .unwrap_or_default();
        for line in code.lines().filter(|l| !l.trim_start().starts_with("//")) {
            for (at, _) in line.match_indices("crate::") {
                let rest = &line[at + "crate::".len()..];
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                let to = match name.as_str() {
                    // The root's re-exports, named for their homes.
                    "Config" | "ConfigError" | "Scene" => "config".to_owned(),
                    "ServerStats" => "stats".to_owned(),
                    _ if src.join(format!("{name}.rs")).exists() || src.join(&name).is_dir() => {
                        name
                    }
                    _ => "lib".to_owned(), // an item of the crate root itself
                };
                if to != from {
                    edges.insert((from.clone(), to));
                }
            }
        }
    }
    assert!(
        !edges.contains(&("driver".to_owned(), "net".to_owned())),
        "driver imports net: {edges:?}"
    );
    let known = |a: &str, b: &str| WRONG_WAY.contains(&(a, b));
    for (a, b) in &WRONG_WAY {
        assert!(
            edges.contains(&((*a).to_owned(), (*b).to_owned())),
            "{a} no longer imports {b}: take it off the list"
        );
    }
    edges.retain(|(a, b)| !known(a, b));
    let cyclic: Vec<_> = edges
        .iter()
        .filter(|(a, b)| reaches(&edges, b, a))
        .collect();
    assert!(
        cyclic.is_empty(),
        "imports in a cycle: {cyclic:?}\nall (the known wrong-way ones taken out): {edges:?}"
    );
}

/// `net` for `net/outbox.rs`, `config` for `config.rs`, `lib` for `lib.rs`.
fn top_module(rel: &Path) -> String {
    let first = rel
        .components()
        .next()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .unwrap_or_default();
    first.trim_end_matches(".rs").to_owned()
}

/// Whether `from` reaches `to` along `edges`.
fn reaches(edges: &std::collections::BTreeSet<(String, String)>, from: &str, to: &str) -> bool {
    let mut seen = std::collections::BTreeSet::new();
    let mut stack = vec![from.to_owned()];
    while let Some(m) = stack.pop() {
        if m == to {
            return true;
        }
        if seen.insert(m.clone()) {
            stack.extend(
                edges
                    .iter()
                    .filter(|(a, _)| *a == m)
                    .map(|(_, b)| b.clone()),
            );
        }
    }
    false
}
