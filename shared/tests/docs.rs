//! The docs cannot drift silently (`make check` runs this):
//!
//! - every setting the configuration reads (`app.rs`, the secrets, the
//!   recorder) has a row in the README's settings table, and every setting
//!   the table names is still read somewhere (code, scripts, the template);
//! - every relative link in the README, the changelog and `docs/` leads to a file;
//! - every `make` target has its `##` help line.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

/// `NAME`s in backticks in the first cell of each row of the README's
/// settings table (its `## Settings` section, up to the next heading).
fn documented_settings() -> BTreeSet<String> {
    let readme = read(&root().join("README.md"));
    let section = readme
        .split_once("\n## Settings\n")
        .expect("README has a Settings section")
        .1;
    let end = section.find("\n#").unwrap_or(section.len());
    section[..end]
        .lines()
        .filter(|line| line.starts_with("| `"))
        .filter_map(|line| line.split('|').nth(1))
        .flat_map(|cell| {
            cell.split('`')
                .skip(1)
                .step_by(2)
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .filter(|name| is_setting_name(name))
        .collect()
}

fn is_setting_name(name: &str) -> bool {
    name.len() > 2
        && name.starts_with(|c: char| c.is_ascii_uppercase())
        && name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// The quoted names after each of `prefixes` in `source`.
fn quoted_after(source: &str, prefixes: &[&str]) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for prefix in prefixes {
        for (at, _) in source.match_indices(prefix) {
            let rest = &source[at + prefix.len()..];
            if let Some(end) = rest.find('"') {
                let name = &rest[..end];
                if is_setting_name(name) {
                    found.insert(name.to_owned());
                }
            }
        }
    }
    found
}

/// What the configuration reads: `Config::from_lookup`'s names, the
/// whole-number settings, the secrets and the recorder's setting.
fn read_settings() -> BTreeSet<String> {
    let app = read(&root().join("shared/src/app.rs"));
    let mut names = quoted_after(
        &app,
        &[
            "lookup(\"",
            "required(\"",
            "optional(\"",
            "bounded(&lookup, \"",
            "name: \"",
        ],
    );
    names.extend(shared::adapters::secrets::SECRETS.iter().map(|s| (*s).to_owned()));
    names.insert(shared::adapters::calls::SETTING.to_owned());
    names
}

#[test]
fn every_setting_read_is_documented_and_every_one_documented_is_read() {
    let documented = documented_settings();
    let configured = read_settings();
    let undocumented: Vec<_> = configured.difference(&documented).collect();
    assert!(
        undocumented.is_empty(),
        "read by the configuration, missing from README's settings table: {undocumented:?}"
    );
    // Everything the table names must be read somewhere: the code, the
    // tools, the scripts, the Makefile or the template (local.env only
    // sets values, and the docs only describe them).
    let mut sources = String::new();
    let mut stack = vec![
        root().join("shared/src"),
        root().join("tools"),
        root().join("scripts"),
        root().join("tests/src"),
        root().join("functions"),
    ];
    while let Some(path) = stack.pop() {
        for entry in std::fs::read_dir(&path).expect("a folder").flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path
                .extension()
                .is_some_and(|e| e == "rs" || e == "sh" || e == "py")
            {
                sources.push_str(&read(&path));
            }
        }
    }
    sources.push_str(&read(&root().join("Makefile")));
    sources.push_str(&read(&root().join("template.yaml")));
    let stale: Vec<_> = documented
        .iter()
        .filter(|name| !sources.contains(name.as_str()))
        .collect();
    assert!(stale.is_empty(), "documented but read nowhere: {stale:?}");
}

/// The Markdown files of the README and `docs/`.
fn markdown_files() -> Vec<PathBuf> {
    let mut files = vec![root().join("README.md"), root().join("CHANGELOG.md")];
    let mut stack = vec![root().join("docs")];
    while let Some(path) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&path) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "md") {
                files.push(path);
            }
        }
    }
    files
}

#[test]
fn relative_links_lead_to_files() {
    let mut broken = Vec::new();
    for file in markdown_files() {
        let text = read(&file);
        for (at, _) in text.match_indices("](") {
            let rest = &text[at + 2..];
            let Some(end) = rest.find(')') else { continue };
            let target = &rest[..end];
            if target.is_empty()
                || target.starts_with('#')
                || target.contains("://")
                || target.starts_with("mailto:")
            {
                continue;
            }
            let path = target.split('#').next().unwrap_or_default();
            let resolved = file.parent().expect("a folder").join(path);
            if !resolved.exists() {
                broken.push(format!("{}: {target}", file.display()));
            }
        }
    }
    assert!(broken.is_empty(), "broken links: {broken:?}");
}

#[test]
fn every_make_target_has_its_help() {
    let makefile = read(&root().join("Makefile"));
    let targets: Vec<&str> = makefile
        .lines()
        .filter(|line| {
            line.split_once(':').is_some_and(|(name, _)| {
                !name.is_empty()
                    && name
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c == '-' || c.is_ascii_digit())
            })
        })
        .collect();
    assert!(targets.len() >= 10, "{targets:?}");
    let bare: Vec<_> = targets.iter().filter(|line| !line.contains(" ## ")).collect();
    assert!(bare.is_empty(), "targets without a `## help` text: {bare:?}");
}
