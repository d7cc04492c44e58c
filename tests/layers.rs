//! The library's layers point one way. Each top-level module may use only the modules
//! listed for it below, so an import cycle or an upward import fails this test:
//!
//! ```text
//! app ─→ api (HTTP: routers, extractors, the gateway, token endpoint, rate limiter,
//!  │      AppState, ApiError)
//!  │      ├─→ tasks ─→ store ─→ query ─→ domain
//!  │      ├─→ auth (keys, verification, clients, rights) ─→ store, domain
//!  │      ├─→ demo (the admin API's reset loads it) ─→ store, domain
//!  │      └─→ domain, query, store, config
//!  └─→ demo
//! admin_cli (`accessd admin`, an HTTP client of the admin API) ─→ config
//! ```
//!
//! `domain` is pure: it uses no other module of ours and none of axum, sqlx or tokio.
//! `query` is pure too: it uses only `domain`, and no database or HTTP crate.
//! `auth` holds no HTTP state: it does not use axum.
//!
//! SQL lives in `store` only: no string literal elsewhere in `src/` holds SQL text or
//! a column named through one of the store's table aliases.

// Tests, benchmarks and tools may panic (the `[lints]` table denies it for the server).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::todo)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Each top-level module and the modules it may use.
const ALLOWED: &[(&str, &[&str])] = &[
    (
        "app",
        &[
            "api", "auth", "config", "demo", "domain", "fixture", "query", "store", "tasks",
        ],
    ),
    (
        "api",
        &[
            "auth", "config", "demo", "domain", "fixture", "query", "store", "tasks",
        ],
    ),
    ("tasks", &["config", "domain", "store"]),
    ("demo", &["domain", "store"]),
    ("auth", &["domain", "store"]),
    ("store", &["domain", "fixture", "query"]),
    // The fixture document and its plan: pure, written and read by the store.
    ("fixture", &["domain"]),
    ("query", &["domain"]),
    ("config", &[]),
    ("admin_cli", &["config"]),
    ("domain", &[]),
];

/// Crates a layer must not use, with the reason.
const FORBIDDEN_CRATES: &[(&str, &str, &str)] = &[
    ("domain", "axum::", "domain rules are pure"),
    ("domain", "sqlx::", "domain rules are pure"),
    ("domain", "tokio::", "domain rules are pure"),
    ("auth", "axum::", "auth holds no HTTP state"),
    (
        "query",
        "axum::",
        "collection parameters are parsed without HTTP",
    ),
    ("query", "sqlx::", "collection parameters know no database"),
    (
        "query",
        "rusqlite::",
        "collection parameters know no database",
    ),
    ("query", "tokio::", "collection parameters are pure"),
];

/// Text that only SQL holds.
const SQL_WORDS: &[&str] = &[
    "SELECT ",
    " WHERE ",
    "ORDER BY",
    "GROUP BY",
    "INSERT INTO",
    "DELETE FROM",
    " LIKE ",
    " JOIN ",
    "NULLS LAST",
    " IS NULL",
    " IS NOT NULL",
];

/// The table aliases of the store's FROM clauses.
const ALIASES: &[&str] = &[
    "a", "ap", "ape", "aps", "e", "g", "i", "l", "ls", "m", "mg", "o", "r", "s", "sg", "t", "w",
    "x",
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file of `src/` belongs to (`None` for lib.rs and main.rs).
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).unwrap();
    let first = rel.components().next()?.as_os_str().to_str()?.to_string();
    let name = first.strip_suffix(".rs").unwrap_or(&first).to_string();
    (name != "lib" && name != "main").then_some(name)
}

/// The code of a file without `//` comments (doc comments may name any module).
fn code(text: &str) -> String {
    text.lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The top-level modules a piece of code names through `crate::`.
fn used_modules(code: &str) -> BTreeSet<String> {
    let mut used = BTreeSet::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        let names: Vec<&str> = if let Some(group) = rest.strip_prefix('{') {
            // `use crate::{a::b, c};`: the first segment of each item.
            let end = group.find('}').unwrap_or(group.len());
            group[..end]
                .split(',')
                .map(|item| item.trim().split("::").next().unwrap_or("").trim())
                .collect()
        } else {
            vec![rest
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .next()
                .unwrap_or("")]
        };
        used.extend(
            names
                .into_iter()
                .filter(|n| !n.is_empty())
                .map(str::to_string),
        );
    }
    used
}

fn imports() -> BTreeMap<String, BTreeMap<String, Vec<String>>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut graph: BTreeMap<String, BTreeMap<String, Vec<String>>> = BTreeMap::new();
    for file in files {
        let Some(from) = module_of(&src, &file) else {
            continue;
        };
        let text = code(&std::fs::read_to_string(&file).unwrap());
        for to in used_modules(&text) {
            if to != from {
                graph
                    .entry(from.clone())
                    .or_default()
                    .entry(to)
                    .or_default()
                    .push(file.strip_prefix(&src).unwrap().display().to_string());
            }
        }
    }
    graph
}

#[test]
fn every_top_level_module_uses_only_the_layers_below_it() {
    let allowed: BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
    let mut wrong = Vec::new();
    for (from, uses) in imports() {
        let Some(may) = allowed.get(from.as_str()) else {
            wrong.push(format!(
                "{from}: a new top-level module; give it a place in ALLOWED"
            ));
            continue;
        };
        for (to, files) in uses {
            if !may.contains(&to.as_str()) {
                wrong.push(format!("{from} uses {to} (in {})", files.join(", ")));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports against the layers:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_allowed_layers_have_no_cycle() {
    // Depth-first search for a back edge in ALLOWED itself.
    fn visit<'a>(
        node: &'a str,
        allowed: &BTreeMap<&'a str, &'a [&'a str]>,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) {
        if done.contains(node) {
            return;
        }
        assert!(!path.contains(&node), "cycle: {path:?} → {node}");
        path.push(node);
        for next in allowed.get(node).copied().unwrap_or(&[]) {
            visit(next, allowed, path, done);
        }
        path.pop();
        done.insert(node);
    }
    let allowed: BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
    let mut done = BTreeSet::new();
    for node in allowed.keys() {
        visit(node, &allowed, &mut Vec::new(), &mut done);
    }
}

#[test]
fn pure_layers_do_not_use_frameworks() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut wrong = Vec::new();
    for file in files {
        let Some(module) = module_of(&src, &file) else {
            continue;
        };
        let text = code(&std::fs::read_to_string(&file).unwrap());
        for (layer, needle, why) in FORBIDDEN_CRATES {
            if module == *layer && text.contains(needle) {
                wrong.push(format!("{}: uses {needle} ({why})", file.display()));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Handlers cannot widen a caller's confinement: outside the gateway, which decides it,
/// no file of `api/` names the unconfined scope.
#[test]
fn only_the_gateway_decides_that_a_caller_is_unconfined() {
    let api = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/api");
    let mut files = Vec::new();
    rust_files(&api, &mut files);
    let wrong: Vec<String> = files
        .iter()
        .filter(|f| !f.ends_with("gateway.rs"))
        .filter(|f| code(&std::fs::read_to_string(f).unwrap()).contains("Scope::All"))
        .map(|f| f.display().to_string())
        .collect();
    assert!(wrong.is_empty(), "Scope::All named in {wrong:?}");
}

/// The string literals of Rust code (outside comments), as written between the quotes.
fn string_literals(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let at = |i: usize| chars.get(i).copied();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(c) = at(i) {
        match c {
            '/' if at(i + 1) == Some('/') => {
                while at(i).is_some_and(|c| c != '\n') {
                    i += 1;
                }
            }
            '/' if at(i + 1) == Some('*') => {
                i += 2;
                while at(i).is_some() && !(at(i) == Some('*') && at(i + 1) == Some('/')) {
                    i += 1;
                }
                i += 2;
            }
            // A char literal ('"', '\'', 'x'); a lifetime has no closing quote.
            '\'' if at(i + 1) == Some('\\') => {
                // Past the escaped character, which may be the quote itself.
                i += 3;
                while at(i).is_some_and(|c| c != '\'') {
                    i += 1;
                }
                i += 1;
            }
            '\'' if at(i + 2) == Some('\'') => i += 3,
            'r' if (at(i + 1) == Some('"') || at(i + 1) == Some('#'))
                && !at(i.wrapping_sub(1)).is_some_and(|p| p.is_alphanumeric() || p == '_') =>
            {
                let mut j = i + 1;
                let mut hashes = 0;
                while at(j) == Some('#') {
                    hashes += 1;
                    j += 1;
                }
                if at(j) != Some('"') {
                    i += 1;
                    continue;
                }
                let close: Vec<char> = std::iter::once('"')
                    .chain(std::iter::repeat_n('#', hashes))
                    .collect();
                let start = j + 1;
                let mut k = start;
                while k < chars.len() && !chars[k..].starts_with(&close) {
                    k += 1;
                }
                out.push(chars[start..k.min(chars.len())].iter().collect());
                i = k + close.len();
            }
            '"' => {
                let mut lit = String::new();
                i += 1;
                while let Some(c) = at(i) {
                    match c {
                        '\\' => {
                            lit.push(c);
                            lit.extend(at(i + 1));
                            i += 2;
                        }
                        '"' => break,
                        c => {
                            lit.push(c);
                            i += 1;
                        }
                    }
                }
                out.push(lit);
                i += 1;
            }
            _ => i += 1,
        }
    }
    out
}

/// Why a string literal looks like SQL, if it does.
fn sql_in(literal: &str) -> Option<String> {
    if let Some(word) = SQL_WORDS.iter().find(|w| literal.contains(*w)) {
        return Some(format!("holds '{}'", word.trim()));
    }
    let (alias, column) = literal.split_once('.')?;
    let is_column = !column.is_empty()
        && column
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    (ALIASES.contains(&alias) && is_column).then(|| "names a column by a table alias".into())
}

/// Filters, sorters and every other query reach the store as typed values: no file
/// outside `src/store/` writes SQL.
#[test]
fn no_sql_outside_the_store() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut wrong = Vec::new();
    for file in files {
        if file.starts_with(src.join("store")) {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        for literal in string_literals(&text) {
            if let Some(why) = sql_in(&literal) {
                wrong.push(format!("{}: {literal:?} {why}", file.display()));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "SQL outside store/:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_sql_checker_sees_sql_in_every_kind_of_literal() {
    let code = r##"
        // "SELECT x FROM y" in a comment is prose
        /* "ORDER BY" too */
        let q = '"'; let p = '\''; let l: &'a str = "name";
        let a = "SELECT id FROM t WHERE id = $1";
        let b = r#"x LIKE "y""#;
        let c = "ap.source_id";
        let d = "owner.id";
        let e = "a \" quote, then ORDER BY";
    "##;
    let found: Vec<String> = string_literals(code)
        .into_iter()
        .filter(|l| sql_in(l).is_some())
        .collect();
    assert_eq!(
        found,
        [
            "SELECT id FROM t WHERE id = $1",
            "x LIKE \"y\"",
            "ap.source_id",
            "a \\\" quote, then ORDER BY"
        ]
    );
}

/// `query` parses collection parameters for any store: it names none.
#[test]
fn the_query_layer_knows_no_store() {
    let graph = imports();
    let used: Vec<&String> = graph
        .get("query")
        .map(|uses| uses.keys().collect())
        .unwrap_or_default();
    assert!(
        used.iter().all(|m| m.as_str() == "domain"),
        "query uses {used:?}"
    );
}

#[test]
fn the_checker_sees_imports() {
    let used = used_modules("use crate::{api::x, store}; let a = crate::domain::new_id();");
    assert_eq!(
        used,
        ["api", "domain", "store"]
            .into_iter()
            .map(String::from)
            .collect()
    );
}
