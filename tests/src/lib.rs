//! Helpers for glint's end-to-end tests: running the built binary with an isolated cache and
//! checking the JSON shapes Glances clients expect.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::Value;

/// A `glint` command with a compiled-plugin cache shared by the test run (so each test does
/// not recompile every plugin) and logs at `warn`.
pub fn glint(bin: &str, tmp: &Path) -> Command {
    let mut cmd = Command::new(bin);
    cmd.env("GLINT_CACHE_DIR", tmp.join("component-cache"))
        .env("GLINT_LOG", "warn")
        // No user config from the machine running the tests.
        .env("XDG_CONFIG_HOME", tmp.join("no-config"))
        .env_remove("HOME");
    cmd
}

/// Runs a command, failing the test if it takes longer than `limit` (a hung glint must not
/// hang the test suite). Both pipes are drained while it runs: an output larger than the pipe
/// buffer (the whole process list on a busy machine) would otherwise block glint on write.
pub fn run_with_limit(mut cmd: Command, limit: Duration) -> (Output, Duration) {
    let started = Instant::now();
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() > limit => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "{cmd:?} still running after {limit:?}; stderr: {}",
                    String::from_utf8_lossy(&stderr.join().unwrap_or_default())
                );
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => panic!("waiting for {cmd:?}: {e}"),
        }
    };
    let elapsed = started.elapsed();
    let output = Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    };
    (output, elapsed)
}

/// Reads a child's pipe to its end on a thread of its own.
fn drain(pipe: Option<impl std::io::Read + Send + 'static>) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut bytes);
        }
        bytes
    })
}

/// The JSON type of a field, as the checks name it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    /// A number.
    Num,
    /// A number or null (a rate on its first tick, an unknown frequency).
    NumOrNull,
    Str,
    StrOrNull,
    Bool,
    /// A list (cmdline, top, io_counters, percpu in quicklook).
    List,
    /// A nested object (`memory_info`, `cpu_times`).
    Obj,
    Null,
}

impl Kind {
    pub fn matches(self, v: &Value) -> bool {
        match self {
            Kind::Num => v.is_number(),
            Kind::NumOrNull => v.is_number() || v.is_null(),
            Kind::Str => v.is_string(),
            Kind::StrOrNull => v.is_string() || v.is_null(),
            Kind::Bool => v.is_boolean(),
            Kind::List => v.is_array(),
            Kind::Obj => v.is_object(),
            Kind::Null => v.is_null(),
        }
    }
}

/// Checks that `object` has every `(field, kind)`; returns the problems found.
pub fn check_fields(plugin: &str, object: &Value, fields: &[(&str, Kind)]) -> Vec<String> {
    let mut problems = Vec::new();
    for (field, kind) in fields {
        let mut v = Some(object);
        for part in field.split('.') {
            v = v.and_then(|v| v.get(part));
        }
        match v {
            None => problems.push(format!("{plugin}: missing field {field} in {object}")),
            Some(v) if !kind.matches(v) => {
                problems.push(format!("{plugin}.{field}: expected {kind:?}, got {v}"))
            }
            Some(_) => {}
        }
    }
    problems
}

/// Where the built test guests are.
pub fn guest(dir: &str, name: &str) -> PathBuf {
    Path::new(dir).join(format!("glint_test_{name}.wasm"))
}
