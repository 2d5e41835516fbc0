//! The checks of one crate against its layers: every module in one layer, no use of a higher
//! layer, no cycle of files or of sibling folders.

use std::collections::{BTreeMap, BTreeSet};

use super::cycles::cycles;
use super::graph::Graph;
use super::{Files, Layer, Module};

/// Every failure of one crate's source tree against its layers, as messages naming files.
pub(super) fn check(dir: &str, files: &Files, layers: &[Layer]) -> Vec<String> {
    let graph = Graph::build(dir, files);
    let mut failures = layer_names(&graph, layers);
    failures.extend(layer_order(&graph, layers));
    failures.extend(file_cycles(&graph));
    failures.extend(folder_cycles(&graph));
    failures
}

/// Each module's layer, by the first line naming it.
fn levels(layers: &[Layer]) -> BTreeMap<&str, u32> {
    let mut levels = BTreeMap::new();
    for layer in layers {
        for name in &layer.modules {
            levels.entry(name.as_str()).or_insert(layer.number);
        }
    }
    levels
}

/// Layers and modules must match one to one: a module in no layer escapes the rule, and a
/// layer naming no module is a stale document.
fn layer_names(graph: &Graph, layers: &[Layer]) -> Vec<String> {
    let (dir, tops, levels) = (&graph.dir, graph.top_level(), levels(layers));
    let mut failures = Vec::new();
    for layer in layers {
        for name in &layer.modules {
            let first = levels.get(name.as_str()).copied().unwrap_or(layer.number);
            if first != layer.number || layer.modules.iter().filter(|n| *n == name).count() > 1 {
                failures.push(format!(
                    "ARCHITECTURE.md: `{name}` is named twice in the layers of {dir} (layers {first} and {})",
                    layer.number
                ));
            }
            if !tops.contains_key(name.as_str()) {
                failures.push(format!(
                    "ARCHITECTURE.md: layer {} of {dir} names `{name}`, which is no module of {dir}",
                    layer.number
                ));
            }
        }
    }
    for (name, file) in &tops {
        if !levels.contains_key(name) {
            failures.push(format!(
                "{file}: module `{name}` is in no layer of ARCHITECTURE.md"
            ));
        }
    }
    failures
}

/// A module may use its own layer and those below, never one above.
fn layer_order(graph: &Graph, layers: &[Layer]) -> Vec<String> {
    let levels = levels(layers);
    let mut failures = Vec::new();
    for ((from, to), text) in &graph.edges {
        let (user, used) = (from[0].as_str(), to[0].as_str());
        let (Some(&below), Some(&above)) = (levels.get(user), levels.get(used)) else {
            continue; // reported by `layer_names`
        };
        if user != used && above > below {
            failures.push(format!(
                "{} uses {text} ({}): `{user}` (layer {below}) may not use `{used}` (layer {above})",
                graph.file(from),
                graph.file(to)
            ));
        }
    }
    failures
}

/// Files that use each other, however indirectly.
fn file_cycles(graph: &Graph) -> Vec<String> {
    let arrows: BTreeSet<(Module, Module)> = graph.edges.keys().cloned().collect();
    let mut failures = Vec::new();
    for cycle in cycles(&arrows) {
        let mut message = format!("cycle: {}", graph.file(&cycle.path[0]));
        for pair in cycle.path.windows(2) {
            let text = graph
                .edges
                .get(&(pair[0].clone(), pair[1].clone()))
                .map_or("?", String::as_str);
            message.push_str(&format!(" -({text})-> {}", graph.file(&pair[1])));
        }
        if cycle.members.len() + 1 > cycle.path.len() {
            let all: Vec<&str> = cycle.members.iter().map(|m| graph.file(m)).collect();
            message.push_str(&format!(
                "; these files all reach each other: {}",
                all.join(", ")
            ));
        }
        failures.push(message);
    }
    failures
}

/// Sibling modules that use each other: within each folder, every file under a sub-folder
/// counts as that sub-folder, so `stats/store.rs -> plugins/host.rs -> stats/render.rs` is a
/// circle between `stats` and `plugins` even though no two files close it.
fn folder_cycles(graph: &Graph) -> Vec<String> {
    let mut arrows: BTreeMap<(Module, Module), (&Module, &Module)> = BTreeMap::new();
    for (from, to) in graph.edges.keys() {
        let shared = from.iter().zip(to).take_while(|(a, b)| a == b).count();
        // A use of an ancestor's own file (`tui/app.rs -> tui.rs`) is no sibling arrow.
        if from.len() > shared && to.len() > shared {
            let siblings = (from[..=shared].to_vec(), to[..=shared].to_vec());
            arrows.entry(siblings).or_insert((from, to));
        }
    }
    let keys: BTreeSet<(Module, Module)> = arrows.keys().cloned().collect();
    let mut failures = Vec::new();
    // A circle of lone files is already a file cycle: report only those a folder takes part in.
    for cycle in cycles(&keys)
        .into_iter()
        .filter(|c| c.members.iter().any(|m| graph.is_folder(m)))
    {
        let parent = &cycle.path[0][..cycle.path[0].len() - 1];
        let folder = [graph.dir.as_str()]
            .into_iter()
            .chain(parent.iter().map(String::as_str));
        let names: Vec<String> = cycle
            .path
            .iter()
            .map(|m| format!("`{}`", m.join("::")))
            .collect();
        let uses: Vec<String> = cycle
            .path
            .windows(2)
            .filter_map(|pair| arrows.get(&(pair[0].clone(), pair[1].clone())))
            .map(|(from, to)| {
                let text = graph
                    .edges
                    .get(&(from.to_vec(), to.to_vec()))
                    .map_or("?", String::as_str);
                format!("{} uses {text} ({})", graph.file(from), graph.file(to))
            })
            .collect();
        failures.push(format!(
            "module cycle in {}: {} ({})",
            folder.collect::<Vec<_>>().join("/"),
            names.join(" -> "),
            uses.join("; ")
        ));
    }
    failures
}
