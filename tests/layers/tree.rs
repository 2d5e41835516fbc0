//! Reading a source tree: its `.rs` files, and the module each file holds.

use std::fs;
use std::path::Path;

use super::{Files, Module};

/// Every `.rs` file under `root`, keyed by its `/`-separated path relative to `root`.
pub(super) fn read_sources(root: &Path) -> Files {
    let mut files = Files::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries =
            fs::read_dir(&dir).unwrap_or_else(|e| panic!("listing {}: {e}", dir.display()));
        for entry in entries {
            let path = entry
                .unwrap_or_else(|e| panic!("listing {}: {e}", dir.display()))
                .path();
            if path.is_dir() {
                pending.push(path);
                continue;
            }
            if path.extension().and_then(|x| x.to_str()) != Some("rs") {
                continue;
            }
            let relative = path.strip_prefix(root).unwrap_or_else(|e| {
                panic!("{} is outside {}: {e}", path.display(), root.display())
            });
            let key: Vec<String> = relative
                .components()
                .map(|part| part.as_os_str().to_string_lossy().into_owned())
                .collect();
            let text = fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
            files.insert(key.join("/"), text);
        }
    }
    files
}

/// The module a file holds, or `None` for files that are no node of the graph: `lib.rs` only
/// declares modules, `main.rs` and `bin/` are binaries of their own, and `tests.rs` files and
/// `tests/` folders are test code.
pub(super) fn module_of(relative: &str) -> Option<Module> {
    let stem = relative.strip_suffix(".rs")?;
    let mut segments: Module = stem.split('/').map(str::to_string).collect();
    if matches!(stem, "lib" | "main") || (segments.len() > 1 && segments[0] == "bin") {
        return None;
    }
    if segments.iter().any(|segment| segment == "tests") {
        return None;
    }
    if segments.last().is_some_and(|last| last == "mod") {
        segments.pop();
    }
    (!segments.is_empty()).then_some(segments)
}
