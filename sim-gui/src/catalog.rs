//! The scenario catalog: every `.toml` under a directory with its name and description, or the
//! error that stops it from loading.

use std::path::{Path, PathBuf};

/// One scenario file in the catalog.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The file.
    pub path: PathBuf,
    /// The scenario's name (`cap/raft-partition`), or the file name if it does not load.
    pub name: String,
    /// Its description (first sentence), empty if none.
    pub summary: String,
    /// The whole description.
    pub description: String,
    /// Why it does not load (located, with line and column), if it does not.
    pub error: Option<String>,
}

/// Lists the scenarios under `dir` (recursively, sorted by path).
pub fn scan(dir: &Path) -> Vec<Entry> {
    let mut files = Vec::new();
    collect(dir, &mut files);
    files
        .into_iter()
        .map(|path| match sim_models::Scenario::load(&path) {
            Ok(s) => Entry {
                name: s.name().to_owned(),
                summary: first_sentence(&s.spec.description),
                description: s.spec.description.trim().to_owned(),
                error: None,
                path,
            },
            Err(e) => Entry {
                name: path
                    .file_stem()
                    .map_or_else(String::new, |s| s.to_string_lossy().into_owned()),
                summary: String::new(),
                description: String::new(),
                error: Some(e.to_string()),
                path,
            },
        })
        .collect()
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for p in paths {
        if p.is_dir() {
            collect(&p, out);
        } else if p.extension().is_some_and(|e| e == "toml") {
            out.push(p);
        }
    }
}

/// The description's first sentence, on one line.
fn first_sentence(description: &str) -> String {
    let flat = description.split_whitespace().collect::<Vec<_>>().join(" ");
    match flat.find(". ") {
        Some(i) => flat[..=i].to_owned(),
        None => flat,
    }
}

/// The catalog directory: `scenarios/` under the working directory, or beside the workspace
/// this program was built from.
pub fn default_dir() -> PathBuf {
    let here = PathBuf::from("scenarios");
    if here.is_dir() {
        return here;
    }
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("scenarios")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_catalog_loads_with_descriptions() {
        let entries = scan(&default_dir());
        let raft = entries
            .iter()
            .find(|e| e.name == "cap/raft-partition")
            .expect("cap/raft-partition is in the catalog");
        assert!(raft.error.is_none());
        assert!(raft.summary.starts_with("Raft chooses consistency"));
        assert!(entries.len() >= 10);
    }
}
