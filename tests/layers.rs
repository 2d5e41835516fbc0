//! Owns the layering rule of ARCHITECTURE.md: every top-level module of a crate sits in one of
//! the numbered layers its `<!-- layers: DIR -->` block lists, uses only its own layer and
//! those below, and neither files nor sibling modules use each other in a circle.
//!
//! The check reads source text, not compiler output, so it needs no crate beyond std: comments,
//! literals and `#[cfg(test)]` items are blanked first (test code may reach anywhere), then every
//! path starting at `crate`, `super`, `self` or a child module is resolved to the file that
//! defines it. The checker works on in-memory files, so the tests in `layers/checker.rs` can
//! prove it fails when it should.
//!
//! Its parts, in the order the check runs them: `architecture` reads the layers blocks,
//! `tree` the source files, `blank` blanks what is not code, `paths` finds the paths,
//! `graph` turns them into arrows between files, `checks` judges the arrows (with `cycles`).

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

// A crate root's `mod x;` is looked for beside it (`tests/x.rs`), whatever the root's name:
// the parts live in `tests/layers/`, so each is named by its path.
#[path = "layers/architecture.rs"]
mod architecture;
#[path = "layers/blank.rs"]
mod blank;
#[path = "layers/checker.rs"]
mod checker;
#[path = "layers/checks.rs"]
mod checks;
#[path = "layers/cycles.rs"]
mod cycles;
#[path = "layers/graph.rs"]
mod graph;
#[path = "layers/paths.rs"]
mod paths;
#[path = "layers/tree.rs"]
mod tree;

use architecture::parse_architecture;
use checks::check;
use tree::read_sources;

/// The repository root: this file is a `[[test]]` of the `runtime` package.
const REPO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

/// The source folders ARCHITECTURE.md must give layers for: deleting a block must fail, not
/// quietly switch its crate's check off.
const LAYERED: [&str; 2] = ["runtime/src", "host-collectors/src"];

/// A module's path below its crate root (`["plugins", "engine"]`); never empty.
type Module = Vec<String>;

/// Source files by path relative to their `src` folder, `/`-separated (`plugins/engine.rs`).
type Files = BTreeMap<String, String>;

/// Every module that has a file of its own, with the file to name in messages.
type Nodes = BTreeMap<Module, String>;

/// One numbered line of a layers block: its number and the top-level modules in it.
#[derive(Debug, PartialEq)]
struct Layer {
    number: u32,
    modules: Vec<String>,
}

/// One `<!-- layers: DIR -->` ... `<!-- /layers -->` block of ARCHITECTURE.md.
#[derive(Debug)]
struct Block {
    dir: String,
    layers: Vec<Layer>,
}

#[test]
fn modules_follow_the_layers_of_architecture_md() {
    let repo = Path::new(REPO);
    let path = repo.join("ARCHITECTURE.md");
    let text =
        fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let blocks = parse_architecture(&text).unwrap_or_else(|e| panic!("{e}"));
    let mut failures: Vec<String> = LAYERED
        .iter()
        .filter(|dir| !blocks.iter().any(|block| block.dir == **dir))
        .map(|dir| format!("ARCHITECTURE.md: no `<!-- layers: {dir} -->` block"))
        .collect();
    for block in &blocks {
        let files = read_sources(&repo.join(&block.dir));
        if files.is_empty() {
            failures.push(format!("ARCHITECTURE.md: {} holds no .rs files", block.dir));
        }
        failures.extend(check(&block.dir, &files, &block.layers));
    }
    assert!(
        failures.is_empty(),
        "{} problem(s) with the module layers of ARCHITECTURE.md:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
