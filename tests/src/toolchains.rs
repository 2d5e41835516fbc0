//! The Python and JavaScript plugin toolchains `./test` installs into target/ (componentize-py
//! from PyPI, componentize-js and jco from npm), and building components with them.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::servers::repo_root;

/// Where `./test` installs the PyPI packages (`pip install --target target/pypi ...`).
pub fn pypi_dir() -> PathBuf {
    repo_root().join("target").join("pypi")
}

/// Where `./test` installs componentize-js and jco (a tree apart from the servers' npm
/// packages, whose dependencies would shadow theirs).
pub fn npm_tools() -> PathBuf {
    repo_root()
        .join("target")
        .join("npm-plugins")
        .join("node_modules")
}

/// The folder of the repository's helper libraries and examples of `language`
/// (`python`, `javascript`).
pub fn language_dir(language: &str) -> PathBuf {
    repo_root().join("languages").join(language)
}

/// `tool`, failing the test with how to install it when it is missing.
fn tool(path: PathBuf) -> PathBuf {
    if !path.exists() {
        panic!(
            "{} is missing; run `./test` (it installs the plugin toolchains) in the repository",
            path.display()
        );
    }
    path
}

/// A shell command line run in `dir` with both toolchains on the PATH (as a plugin author's
/// shell has them after the README's install commands): what a scaffold's README says.
pub fn shell_in(dir: &Path, line: &str) -> Command {
    let pypi = pypi_dir();
    tool(pypi.join("bin").join("componentize-py"));
    tool(npm_tools().join(".bin").join("componentize-js"));
    let path = format!(
        "{}:{}:{}",
        pypi.join("bin").display(),
        npm_tools().join(".bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut cmd = Command::new("sh");
    cmd.current_dir(dir)
        .args(["-c", line])
        .env("PATH", path)
        .env("PYTHONPATH", &pypi);
    cmd
}

/// Runs `cmd`, failing the test with its output unless it succeeds.
pub fn run_ok(what: &str, mut cmd: Command) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Copies the files of `from` (not its folders) into `to`.
pub fn copy_files(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap_or_else(|e| panic!("{}: {e}", to.display()));
    for entry in std::fs::read_dir(from)
        .unwrap_or_else(|e| panic!("{}: {e}", from.display()))
        .flatten()
    {
        if entry.path().is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name()))
                .unwrap_or_else(|e| panic!("{}: {e}", entry.path().display()));
        }
    }
}

/// Builds the Python module `module` (`app` for app.py) in `dir` for `world` into `out`,
/// with glint's helper libraries and `wit` (the contract) beside it.
pub fn build_python(dir: &Path, wit: &Path, world: &str, module: &str, out: &Path) {
    copy_files(&language_dir("python"), dir);
    let line = format!(
        "componentize-py -d '{}' -w {world} componentize {module} -o '{}'",
        wit.display(),
        out.display()
    );
    run_ok(&format!("building {module}.py"), shell_in(dir, &line));
}

/// Copies the tree `from` into `to`.
pub fn copy_tree(from: &Path, to: &Path) {
    copy_files(from, to);
    for entry in std::fs::read_dir(from)
        .unwrap_or_else(|e| panic!("{}: {e}", from.display()))
        .flatten()
    {
        if entry.path().is_dir() {
            copy_tree(&entry.path(), &to.join(entry.file_name()));
        }
    }
}

/// Builds the JavaScript module `source` in `dir` for `world` into `out` (componentize-js,
/// SpiderMonkey), with glint's helper libraries beside it. The WIT is copied in as `wit`:
/// componentize-js reads only below the folder it runs in.
pub fn build_javascript(dir: &Path, wit: &Path, world: &str, source: &str, out: &Path) {
    copy_files(&language_dir("javascript"), dir);
    copy_tree(wit, &dir.join("wit"));
    let line = format!(
        "componentize-js {source} --wit wit --world-name {world} --out '{}'",
        out.display()
    );
    run_ok(&format!("building {source}"), shell_in(dir, &line));
}
