//! The graph of one crate's modules: which file uses which, each arrow with the first path
//! that made it.

use std::collections::{BTreeMap, BTreeSet};

use super::blank::code_of;
use super::paths::scan;
use super::tree::module_of;
use super::{Files, Module, Nodes};

/// The modules of one crate and which uses which, each arrow with the first path that made it.
pub(super) struct Graph {
    /// The source folder, as ARCHITECTURE.md names it (`runtime/src`).
    pub(super) dir: String,
    pub(super) nodes: Nodes,
    pub(super) edges: BTreeMap<(Module, Module), String>,
}

impl Graph {
    pub(super) fn build(dir: &str, files: &Files) -> Graph {
        let code: BTreeMap<&str, String> = files
            .iter()
            .map(|(relative, source)| (relative.as_str(), code_of(source)))
            .collect();
        let mut nodes = Nodes::new();
        for relative in files.keys() {
            if let Some(module) = module_of(relative) {
                nodes
                    .entry(module)
                    .or_insert_with(|| format!("{dir}/{relative}"));
            }
        }
        // A top-level module written inline in lib.rs (`pub mod embedded { ... }`) is a node
        // too, so layers can name it and arrows into it are checked.
        let root = code.get("lib.rs").map(String::as_str).unwrap_or_default();
        for module in scan(root, &[], &nodes)
            .inline
            .into_iter()
            .filter(|m| m.len() == 1)
        {
            let file = format!("{dir}/lib.rs (inline `mod {}`)", module[0]);
            nodes.entry(module).or_insert(file);
        }
        let aliases = root_aliases(root, &nodes);
        let mut edges = BTreeMap::new();
        for (relative, code) in &code {
            let Some(from) = module_of(relative) else {
                continue;
            };
            for found in scan(code, &from, &nodes).references {
                let Some(to) = resolve(&found.absolute, &nodes, &aliases) else {
                    continue;
                };
                if to != from {
                    edges.entry((from.clone(), to)).or_insert(found.text);
                }
            }
        }
        Graph {
            dir: dir.to_string(),
            nodes,
            edges,
        }
    }

    pub(super) fn file(&self, module: &[String]) -> &str {
        self.nodes.get(module).map_or("?", String::as_str)
    }

    /// Each top-level module with the file to name for it: its own (`a.rs`, `a/mod.rs`) if it
    /// has one, else its first.
    pub(super) fn top_level(&self) -> BTreeMap<&str, &str> {
        let mut tops = BTreeMap::new();
        for (module, file) in &self.nodes {
            tops.entry(module[0].as_str()).or_insert(file.as_str());
        }
        tops
    }

    /// Whether other modules' files sit below this one's (it is a folder, not a lone file).
    pub(super) fn is_folder(&self, module: &[String]) -> bool {
        self.nodes
            .keys()
            .any(|other| other.len() > module.len() && other.starts_with(module))
    }
}

/// The names the crate root re-exports (`pub use error::CollectError;`), so that
/// `crate::CollectError` resolves to the file defining it rather than to nothing.
fn root_aliases(root: &str, nodes: &Nodes) -> BTreeMap<String, Vec<String>> {
    let tops: BTreeSet<&String> = nodes.keys().map(|module| &module[0]).collect();
    scan(root, &[], nodes)
        .references
        .into_iter()
        .filter(|found| found.in_use && found.absolute.first().is_some_and(|f| tops.contains(f)))
        .filter_map(|found| Some((found.name?, found.absolute)))
        .collect()
}

/// The node defining an absolute path: its longest prefix that has a file. A head that is no
/// module but a root re-export is replaced by what it re-exports first.
fn resolve(
    absolute: &[String],
    nodes: &Nodes,
    aliases: &BTreeMap<String, Vec<String>>,
) -> Option<Module> {
    let (first, rest) = absolute.split_first()?;
    let is_module = nodes.keys().any(|module| &module[0] == first);
    let path: Vec<String> = match aliases.get(first) {
        Some(target) if !is_module => target.iter().chain(rest).cloned().collect(),
        _ => absolute.to_vec(),
    };
    (1..=path.len())
        .rev()
        .map(|k| &path[..k])
        .find(|prefix| nodes.contains_key(*prefix))
        .map(<[String]>::to_vec)
}
