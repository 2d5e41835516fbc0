//! `glint plugin wit DIR`: the contract this glint serves, written out so that any toolchain
//! can bind to it: the `glint:plugin` WIT package and, under `deps/`, the WASI packages its
//! worlds use (wasi:http for `exporter-http`, and what that names).

use std::path::{Path, PathBuf};

/// Every file of the repository's `wit/`, as this glint was built with it (paths relative to
/// it). A test checks that none is missing.
pub const FILES: &[(&str, &str)] = &[
    ("readings.wit", include_str!("../../../wit/readings.wit")),
    ("types.wit", include_str!("../../../wit/types.wit")),
    ("worlds.wit", include_str!("../../../wit/worlds.wit")),
    (
        "deps/cli/cli.wit",
        include_str!("../../../wit/deps/cli/cli.wit"),
    ),
    (
        "deps/clocks/clocks.wit",
        include_str!("../../../wit/deps/clocks/clocks.wit"),
    ),
    (
        "deps/filesystem/filesystem.wit",
        include_str!("../../../wit/deps/filesystem/filesystem.wit"),
    ),
    (
        "deps/http/http.wit",
        include_str!("../../../wit/deps/http/http.wit"),
    ),
    (
        "deps/io/io.wit",
        include_str!("../../../wit/deps/io/io.wit"),
    ),
    (
        "deps/random/random.wit",
        include_str!("../../../wit/deps/random/random.wit"),
    ),
    (
        "deps/sockets/sockets.wit",
        include_str!("../../../wit/deps/sockets/sockets.wit"),
    ),
];

/// The world a plugin of `kind` is built for by a toolchain that binds only what its world
/// imports (componentize-py, componentize-js): exporters get the one that names wasi:http.
pub fn world_for_bindings(kind: crate::bindings::PluginKind) -> &'static str {
    use crate::bindings::PluginKind;
    match kind {
        PluginKind::Input => "input",
        PluginKind::Output => "output",
        PluginKind::Exporter => "exporter-http",
    }
}

/// A file that could not be written.
#[derive(Debug, thiserror::Error)]
#[error("cannot write {path}: {error}")]
pub struct WriteError {
    pub path: PathBuf,
    pub error: std::io::Error,
}

/// Writes the contract into `dir` (made if missing; files of the same names are replaced, so
/// a project takes a newer glint's contract by running it again). Returns the files.
pub fn write(dir: &Path) -> Result<Vec<PathBuf>, WriteError> {
    write_files(
        dir,
        FILES
            .iter()
            .map(|(path, text)| (PathBuf::from(path), text.to_string())),
    )
}

/// Writes each (relative path, text) under `root`, making the folders: the files written.
pub fn write_files(
    root: &Path,
    files: impl IntoIterator<Item = (PathBuf, String)>,
) -> Result<Vec<PathBuf>, WriteError> {
    let mut written = Vec::new();
    for (path, text) in files {
        let full = root.join(&path);
        let write = |p: &Path| -> std::io::Result<()> {
            if let Some(parent) = p.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(p, &text)
        };
        write(&full).map_err(|error| WriteError {
            path: full.clone(),
            error,
        })?;
        written.push(full);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_of_the_contract_is_written() {
        fn walk(dir: &Path, base: &Path, out: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, base, out);
                } else if let Ok(rel) = path.strip_prefix(base) {
                    out.push(rel.display().to_string());
                }
            }
        }
        let wit = Path::new(env!("CARGO_MANIFEST_DIR")).join("../wit");
        let mut found = Vec::new();
        walk(&wit, &wit, &mut found);
        assert!(found.len() >= 10, "{found:?}");
        for file in &found {
            assert!(
                FILES.iter().any(|(path, _)| path == file),
                "wit/{file} is not in tools::wit::FILES: `glint plugin wit` would leave it out"
            );
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let written = write(dir.path()).expect("written");
        assert_eq!(written.len(), FILES.len());
        assert!(dir.path().join("deps/http/http.wit").is_file());
        // Again over the same files: a project takes a newer contract this way.
        write(dir.path()).expect("written again");
    }
}
