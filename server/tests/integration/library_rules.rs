//! Rules the library crates keep, read from their source: no error is a bare `String`
//! (`Result<_, String>`): a caller can match a typed error, and its words live in one place.
//! Binaries (`main.rs`, `src/bin/`), tests and benches may use `anyhow` or strings. And their
//! modules import one way: no circles, and the server's layers as ARCHITECTURE.md draws them.

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

/// Every library crate's modules import one way: no two modules (files) reach each other
/// through imports, a parent and its own children aside (a parent declares and re-exports
/// them; that family is one unit). So `app`, `games` and `render` cannot import each other
/// in a circle again, nor `config` and `driver`. `crate::`, `super::` and `self::` paths
/// are read, braces included; a trailing `#[cfg(test)] mod tests` may reach anywhere.
#[test]
fn no_library_modules_import_each_other_in_a_circle() {
    let mut cycles = Vec::new();
    for dir in LIBRARIES {
        let edges = module_imports(&root().join(dir));
        for (a, b) in &edges {
            if reaches(&edges, b, a) {
                cycles.push(format!("{dir}: {a} -> {b}"));
            }
        }
    }
    assert!(
        cycles.is_empty(),
        "imports in a circle (each edge lies on one):\n{}",
        cycles.join("\n")
    );
}

/// The server's layers, as issue 25 drew them: a transport is handed to the driver through
/// `driver::admission` and `driver::link`; settings are data; recordings read and write files
/// and host no room.
#[test]
fn the_servers_layers_import_what_they_may() {
    let edges = module_imports(&root().join("server/src"));
    let imports = |from: &str, to: &str| {
        edges.iter().any(|(a, b)| {
            let inside = |m: &str, top: &str| m == top || m.starts_with(&format!("{top}::"));
            inside(a, from) && (inside(b, to) || (to == "crate root" && b.is_empty()))
        })
    };
    let forbidden = [
        ("driver", "net"),
        ("config", "driver"),
        ("config", "net"),
        ("recording", "driver"),
        ("recording", "config"),
        ("recording", "crate root"),
        ("room", "driver"),
        ("room", "net"),
    ];
    let broken: Vec<_> = forbidden
        .iter()
        .filter(|(a, b)| imports(a, b))
        .map(|(a, b)| format!("{a} imports {b}"))
        .collect();
    assert!(broken.is_empty(), "{broken:?}\nall: {edges:?}");
    // The check sees imports at all: the composition root does import the driver.
    assert!(imports("net", "driver"));
}

/// Module paths (`driver::room_driver`; the crate root is ``) of a crate's sources, and which
/// import which, edges between a module and its own ancestors left out.
fn module_imports(src: &Path) -> std::collections::BTreeSet<(String, String)> {
    let mut modules = std::collections::BTreeMap::new();
    for file in rust_files(src) {
        let rel = file.strip_prefix(src).expect("under src");
        let mut parts: Vec<String> = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        let last = parts.pop().unwrap_or_default();
        if parts.first().is_some_and(|p| p == "bin") || last == "main.rs" || last == "tests.rs" {
            continue;
        }
        if !matches!(last.as_str(), "mod.rs" | "lib.rs") {
            parts.push(last.trim_end_matches(".rs").to_owned());
        }
        modules.insert(parts.join("::"), file);
    }
    let known: std::collections::BTreeSet<String> = modules.keys().cloned().collect();
    let mut edges = std::collections::BTreeSet::new();
    for (module, file) in &modules {
        let text = std::fs::read_to_string(file).expect("readable");
        let code = text
            .split("#[cfg(test)]\nmod tests")
            .next()
            .unwrap_or_default();
        let here: Vec<&str> = module.split("::").filter(|s| !s.is_empty()).collect();
        let is_dir_module = file
            .file_name()
            .is_some_and(|n| n == "mod.rs" || n == "lib.rs");
        for line in code.lines().filter(|l| !l.trim_start().starts_with("//")) {
            for path in paths_in(line) {
                let (base, rest): (Vec<&str>, &[String]) = match path.first().map(String::as_str) {
                    Some("crate") => (Vec::new(), &path[1..]),
                    Some("self") => (
                        if is_dir_module {
                            here.clone()
                        } else {
                            here[..here.len().saturating_sub(1)].to_vec()
                        },
                        &path[1..],
                    ),
                    Some("super") => {
                        let supers = path.iter().take_while(|s| *s == "super").count();
                        // A file module's `super` is its directory's module; a `mod.rs`'s is one up.
                        let up = supers + usize::from(!is_dir_module);
                        (
                            here[..here.len().saturating_sub(up)].to_vec(),
                            &path[supers..],
                        )
                    }
                    _ => continue,
                };
                let mut target: Vec<String> = base.iter().map(|s| (*s).to_owned()).collect();
                for seg in rest {
                    let mut longer = target.clone();
                    longer.push(seg.clone());
                    if known.contains(&longer.join("::")) {
                        target = longer;
                    } else {
                        break;
                    }
                }
                let to = target.join("::");
                let related =
                    |a: &str, b: &str| a == b || b.is_empty() || a.starts_with(&format!("{b}::"));
                if !related(module, &to) && !related(&to, module) {
                    edges.insert((module.clone(), to));
                }
            }
        }
    }
    edges
}

/// The paths a line names from `crate`, `super` or `self`, with `{a, b::c}` groups spread
/// (`crate::{a, b::c}` gives `crate::a` and `crate::b::c`).
fn paths_in(line: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let bytes = line.as_bytes();
    for start in ["crate::", "super::", "self::"] {
        for (at, _) in line.match_indices(start) {
            let before = at.checked_sub(1).map(|i| bytes[i] as char);
            if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':') {
                continue;
            }
            expand(&line[at..], Vec::new(), &mut out);
        }
    }
    out
}

/// Reads `a::b::{c, d::e}` at the start of `text` onto `prefix`.
fn expand(text: &str, prefix: Vec<String>, out: &mut Vec<Vec<String>>) {
    let mut path = prefix;
    let mut rest = text;
    loop {
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        rest = &rest[name.len()..];
        if !name.is_empty() {
            path.push(name);
        }
        if let Some(after) = rest.strip_prefix("::") {
            rest = after;
            if let Some(group) = rest.strip_prefix('{') {
                let mut depth = 0;
                let mut item = String::new();
                for c in group.chars() {
                    match c {
                        '{' => depth += 1,
                        '}' if depth == 0 => break,
                        '}' => depth -= 1,
                        ',' if depth == 0 => {
                            expand(item.trim(), path.clone(), out);
                            item.clear();
                            continue;
                        }
                        _ => {}
                    }
                    item.push(c);
                }
                expand(item.trim(), path.clone(), out);
                return;
            }
        } else {
            out.push(path);
            return;
        }
    }
}

#[test]
fn import_paths_are_read_through_groups() {
    let strings = |v: Vec<Vec<String>>| v.into_iter().map(|p| p.join("::")).collect::<Vec<_>>();
    assert_eq!(
        strings(paths_in("use crate::{room::{Room, arena::Scene}, stats};")),
        [
            "crate::room::Room",
            "crate::room::arena::Scene",
            "crate::stats"
        ]
    );
    assert_eq!(
        strings(paths_in("let x = super::super::a::b(1);")),
        ["super::super::a::b"]
    );
    assert_eq!(strings(paths_in("snapwire_crate::x")), Vec::<String>::new());
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
