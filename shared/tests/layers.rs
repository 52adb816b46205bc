//! The domain crate's layers hold: every `crate::…` path in `src/` names a
//! module of its own layer or of one below it, the modules inside a layer
//! name each other without a circle, and the model stays pure (no AWS SDK,
//! no Lambda runtime, no HTTP client).
//!
//! Layers, bottom to top: foundation, model, adapters, app, usecases, entry.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const LAYERS: [&str; 6] = ["foundation", "model", "adapters", "app", "usecases", "entry"];

/// Crates the model may not use: it decides, it does not talk to anything.
const NOT_IN_MODEL: [&str; 5] = [
    "aws_sdk",
    "aws_config",
    "lambda_http",
    "lambda_runtime",
    "reqwest",
];

fn rank(layer: &str) -> Option<usize> {
    LAYERS.iter().position(|l| *l == layer)
}

/// `src/model/orders.rs` → `["model", "orders"]`; `mod.rs` names its folder.
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let relative = file.strip_prefix(src).expect("under src");
    let mut parts: Vec<String> = relative
        .iter()
        .map(|part| part.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().expect("a file name");
    match last.as_str() {
        "mod.rs" | "lib.rs" => {}
        name => parts.push(name.trim_end_matches(".rs").to_owned()),
    }
    parts
}

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

/// The module paths named by `crate::a::b…` in `text` (first two segments).
fn named_paths(text: &str) -> Vec<(String, Option<String>)> {
    let mut named = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("crate::") {
        let preceded_by_ident = rest[..at]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$');
        rest = &rest[at + "crate::".len()..];
        if preceded_by_ident {
            continue;
        }
        let segment = |s: &str| -> String {
            s.chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect()
        };
        let first = segment(rest);
        assert!(
            !rest.starts_with('{'),
            "`use crate::{{…}}` hides which layers a module names; name each path"
        );
        let after = &rest[first.len()..];
        let second = after.strip_prefix("::").map(segment).filter(|s| !s.is_empty());
        named.push((first, second));
    }
    named
}

#[test]
fn layers_name_only_themselves_and_below_without_circles() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();

    let mut violations = Vec::new();
    // Within each layer: module → the sibling modules it names.
    let mut inside: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    let mut between: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let module = module_of(&src, file);
        let Some(layer) = module.first() else {
            continue; // lib.rs: the crate root declares the layers
        };
        let text = std::fs::read_to_string(file).expect("read");
        let from = rank(layer).unwrap_or_else(|| panic!("{}: `{layer}` is not a layer", file.display()));
        if layer == "model" {
            for forbidden in NOT_IN_MODEL {
                assert!(
                    !text.contains(forbidden),
                    "{}: the model uses `{forbidden}`; it must stay free of I/O",
                    file.display()
                );
            }
        }
        for (target, sub) in named_paths(&text) {
            let Some(to) = rank(&target) else {
                // Re-exports of the crate root (`crate::App`) hide the layer.
                violations.push(format!(
                    "{}: names `crate::{target}`, not a layer",
                    file.display()
                ));
                continue;
            };
            if to > from {
                violations.push(format!(
                    "{}: {layer} names {target}, a layer above it",
                    file.display()
                ));
            }
            if to != from {
                between.entry(layer.clone()).or_default().insert(target);
            } else if let (Some(own), Some(sub)) = (module.get(1), sub)
                && *own != sub
            {
                inside
                    .entry(layer.clone())
                    .or_default()
                    .entry(own.clone())
                    .or_default()
                    .insert(sub);
            }
        }
    }
    for (layer, graph) in &inside {
        if let Some(circle) = find_circle(graph) {
            violations.push(format!("{layer}: a circle: {}", circle.join(" → ")));
        }
    }
    let described: Vec<String> = between
        .iter()
        .map(|(layer, below)| {
            format!(
                "{layer} → {}",
                below.iter().cloned().collect::<Vec<_>>().join(", ")
            )
        })
        .chain(inside.iter().flat_map(|(layer, graph)| {
            graph.iter().map(move |(module, named)| {
                format!(
                    "{layer}::{module} → {}",
                    named.iter().cloned().collect::<Vec<_>>().join(", ")
                )
            })
        }))
        .collect();
    assert!(
        violations.is_empty(),
        "layering broken:\n  {}\n\nthe graph:\n  {}",
        violations.join("\n  "),
        described.join("\n  ")
    );
}

/// A circle in `graph`, if there is one, as the path that closes it.
fn find_circle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut circle = path[at..].to_vec();
            circle.push(node.to_owned());
            return Some(circle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(circle) = visit(next, graph, path, done) {
                return Some(circle);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut Vec::new(), &mut done))
}

#[test]
fn the_circle_finder_finds_circles() {
    let graph = |edges: &[(&str, &str)]| {
        let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (a, b) in edges {
            graph.entry((*a).into()).or_default().insert((*b).into());
        }
        graph
    };
    assert_eq!(find_circle(&graph(&[("a", "b"), ("b", "c"), ("a", "c")])), None);
    assert_eq!(
        find_circle(&graph(&[("a", "b"), ("b", "c"), ("c", "a")])),
        Some(vec!["a".into(), "b".into(), "c".into(), "a".into()])
    );
    assert_eq!(
        named_paths("use crate::model::orders::Order; x = $crate::y; crate::app::App"),
        [
            ("model".into(), Some("orders".into())),
            ("app".into(), Some("App".into()))
        ]
    );
}

/// Every DynamoDB expression is built by the store's expression builder
/// (`adapters/store/expr.rs`), which allocates and binds its placeholders:
/// no other store module, and nothing above the adapters, writes expression
/// text or binds a placeholder by hand.
#[test]
fn expressions_are_built_only_by_the_builder() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let builder = src.join("adapters/store/expr.rs");
    let by_hand = [
        "_expression(",
        "expression_attribute_names",
        "expression_attribute_values",
    ];
    let mut checked = 0;
    for file in files.iter().filter(|file| **file != builder) {
        let module = module_of(&src, file);
        let in_store = module.get(1).is_some_and(|m| m == "store");
        let above_adapters = module.first().and_then(|m| rank(m)) > rank("adapters");
        if !(in_store || above_adapters) {
            continue;
        }
        checked += 1;
        let text = std::fs::read_to_string(file).expect("read");
        for pattern in by_hand {
            assert!(
                !text.contains(pattern),
                "{}: `{pattern}` writes an expression by hand; use store::expr",
                file.display()
            );
        }
    }
    assert!(checked > 10, "only {checked} files checked");
}
