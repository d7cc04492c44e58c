//! The library's layers point one way. Each top-level module may use only the modules
//! listed for it below, so an import cycle or an upward import fails this test:
//!
//! ```text
//! app ─→ api (HTTP: routers, extractors, the gateway, token endpoint, rate limiter,
//!  │      AppState, ApiError)
//!  │      ├─→ tasks ─→ store ─→ query ─→ domain
//!  │      ├─→ auth (keys, verification, clients, rights) ─→ store, domain
//!  │      └─→ domain, query, store, config
//!  └─→ demo ─→ store, domain
//! ```
//!
//! `domain` is pure: it uses no other module of ours and none of axum, sqlx or tokio.
//! `auth` holds no HTTP state: it does not use axum.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Each top-level module and the modules it may use.
const ALLOWED: &[(&str, &[&str])] = &[
    (
        "app",
        &[
            "api", "auth", "config", "demo", "domain", "query", "store", "tasks",
        ],
    ),
    (
        "api",
        &["auth", "config", "domain", "query", "store", "tasks"],
    ),
    ("tasks", &["config", "domain", "store"]),
    ("demo", &["domain", "store"]),
    ("auth", &["domain", "store"]),
    ("store", &["domain", "query"]),
    ("query", &["domain"]),
    ("config", &[]),
    ("domain", &[]),
];

/// Crates a layer must not use, with the reason.
const FORBIDDEN_CRATES: &[(&str, &str, &str)] = &[
    ("domain", "axum::", "domain rules are pure"),
    ("domain", "sqlx::", "domain rules are pure"),
    ("domain", "tokio::", "domain rules are pure"),
    ("auth", "axum::", "auth holds no HTTP state"),
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
