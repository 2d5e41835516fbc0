//! Community plugins in a plugins directory, for the tests that drop them in while glint runs:
//! installing one as an upgrade does, its manifest, its status as the API shows it, and waiting
//! for the running glint to act on it.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::Server;

/// Rescans are every 5 s; loading a plugin on a loaded machine takes a few more.
pub const RESCAN_WAIT: Duration = Duration::from_secs(30);

/// The empty directory `test` under `base` (the test's `CARGO_TARGET_TMPDIR`), whatever an
/// earlier run left in it.
pub fn fresh_dir(base: &str, test: &str) -> PathBuf {
    let dir = PathBuf::from(base).join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    dir
}

/// The component of the test guest `name`, built in `guest_dir` (`glint::embedded::GUEST_DIR`).
pub fn guest_bytes(guest_dir: &str, name: &str) -> Vec<u8> {
    let path = crate::guest(guest_dir, name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Puts plugin `name` in `dir`: its component (written aside and renamed in, as an upgrade
/// does) and its manifest.
pub fn install(dir: &Path, name: &str, bytes: &[u8], manifest: &str) {
    let tmp = dir.join(format!(".{name}.partial"));
    std::fs::write(&tmp, bytes).unwrap_or_else(|e| panic!("{}: {e}", tmp.display()));
    std::fs::write(dir.join(format!("{name}.toml")), manifest).unwrap_or_else(|e| panic!("{e}"));
    std::fs::rename(&tmp, dir.join(format!("{name}.wasm"))).unwrap_or_else(|e| panic!("{e}"));
}

/// Installs the built component `wasm` as plugin `name` of `dir`, with `manifest`.
pub fn install_file(dir: &Path, name: &str, wasm: &Path, manifest: &str) {
    let bytes = std::fs::read(wasm).unwrap_or_else(|e| panic!("{}: {e}", wasm.display()));
    install(dir, name, &bytes, manifest);
}

/// `glint -s -t 1` on the plugins directory `tmp/plugins` with the config `config` (written to
/// `tmp/glint.toml`) and `extra` arguments.
pub fn serve_dir(bin: &str, tmp: &Path, config: &str, extra: &[&str]) -> Server {
    let path = tmp.join("glint.toml");
    std::fs::write(&path, config).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let (path, plugins) = (path.display().to_string(), tmp.join("plugins"));
    let plugins = plugins.display().to_string();
    let mut args = vec!["-t", "1", "-C", &path, "--plugins-dir", &plugins];
    args.extend_from_slice(extra);
    Server::start(bin, tmp, &args, None)
}

/// An input plugin's manifest: its version, then `extra` (capabilities...).
pub fn manifest(version: &str, extra: &str) -> String {
    format!("kind = \"input\"\nversion = \"{version}\"\n{extra}")
}

/// Polls `f` until it gives `Some`, for up to `limit`.
pub fn wait_for<T>(
    what: &str,
    limit: Duration,
    server: &Server,
    mut f: impl FnMut() -> Option<T>,
) -> T {
    let started = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        if started.elapsed() > limit {
            panic!(
                "{what}: not after {limit:?}; plugins: {}\nstderr: {}",
                server.get("/api/3/plugins").1,
                server.stderr_text()
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Plugin `name`'s status as the API shows it.
pub fn status(server: &Server, name: &str) -> Value {
    server.get(&format!("/api/3/plugins/{name}")).1
}

/// A JSON string's text; any other value as JSON.
pub fn text(v: &Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_string)
}
