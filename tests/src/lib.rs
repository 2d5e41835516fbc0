//! Helpers for glint's end-to-end tests: running the built binary with an isolated cache and
//! checking the JSON shapes Glances clients expect.

pub mod api;
pub mod community;
pub mod http200;
pub mod raw;
pub mod servers;
pub mod tls;
pub mod toolchains;

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

/// A `glint -s` started by a test on a free loopback port, stopped (by PID) when dropped.
/// Its stdout and stderr go to files, so a chatty glint never blocks on a full pipe.
pub struct Server {
    child: std::process::Child,
    pub port: u16,
    pub stdout: PathBuf,
    pub stderr: PathBuf,
}

/// A free TCP port on 127.0.0.1 (the OS picks it; released just before glint binds it).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free port: {e}"))
}

impl Server {
    /// Starts `glint -s -p PORT ARGS...`, feeding `stdin` if given, and waits until
    /// /api/3/status answers.
    pub fn start(bin: &str, tmp: &Path, args: &[&str], stdin: Option<&str>) -> Server {
        Server::start_on(free_port(), bin, tmp, args, stdin)
    }

    /// [`Server::start`] on a given port (a server started again where a client expects it).
    pub fn start_on(
        port: u16,
        bin: &str,
        tmp: &Path,
        args: &[&str],
        stdin: Option<&str>,
    ) -> Server {
        std::fs::create_dir_all(tmp).unwrap_or_else(|e| panic!("{}: {e}", tmp.display()));
        let stdout = tmp.join(format!("glint-{port}.out"));
        let stderr = tmp.join(format!("glint-{port}.err"));
        let file =
            |p: &Path| std::fs::File::create(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        let mut cmd = glint(bin, tmp);
        cmd.args(["-s", "-p", &port.to_string()])
            .args(args)
            .stdout(file(&stdout))
            .stderr(file(&stderr))
            .stdin(if stdin.is_some() {
                std::process::Stdio::piped()
            } else {
                std::process::Stdio::null()
            });
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
        if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
            use std::io::Write;
            pipe.write_all(text.as_bytes())
                .unwrap_or_else(|e| panic!("writing glint's stdin: {e}"));
        }
        let server = Server {
            child,
            port,
            stdout,
            stderr,
        };
        // A cold start compiles every plugin: allow a minute on a loaded 2-core machine.
        let started = Instant::now();
        loop {
            if server.get("/api/3/status").0 == 200 {
                return server;
            }
            if started.elapsed() > Duration::from_secs(60) {
                panic!(
                    "glint -s did not answer within 60 s; stderr: {}",
                    server.stderr_text()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits up to `limit` for glint to exit (after a signal): its status, or `None`.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let started = Instant::now();
        while started.elapsed() < limit {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn stderr_text(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// GET with optional headers: (status, content type, body). Connection failures are
    /// status 0.
    pub fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> (u16, String, Vec<u8>) {
        self.call("GET", path, headers)
    }

    /// POST with no body: (status, body as JSON, or Null).
    pub fn post(&self, path: &str) -> (u16, Value) {
        let (status, _, body) = self.call("POST", path, &[]);
        (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
    }

    /// A request: (status, content type, body). Connection failures are status 0.
    pub fn call(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
    ) -> (u16, String, Vec<u8>) {
        let mut request = ureq::AgentBuilder::new()
            .timeout(Duration::from_secs(30))
            .build()
            .request(method, &self.url(path));
        for (name, value) in headers {
            request = request.set(name, value);
        }
        let response = match request.call() {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(_) => return (0, String::new(), Vec::new()),
        };
        let status = response.status();
        let content_type = response.content_type().to_string();
        let mut body = Vec::new();
        let _ = std::io::Read::read_to_end(&mut response.into_reader(), &mut body);
        (status, content_type, body)
    }

    /// GET: (status, body as JSON, or Null when it is not JSON).
    pub fn get(&self, path: &str) -> (u16, Value) {
        let (status, _, body) = self.get_with(path, &[]);
        (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
    }

    /// Waits until the snapshot has `plugin` with at least `ticks` ticks behind it.
    pub fn wait_ticks(&self, plugin: &str, ticks: usize) {
        let started = Instant::now();
        loop {
            let (_, history) = self.get(&format!("/api/3/{plugin}/history"));
            let points = history["stats"][0]
                .as_object()
                .and_then(|o| o.values().next())
                .and_then(|v| v.as_array())
                .map_or(0, |a| a.len());
            if points >= ticks {
                return;
            }
            if started.elapsed() > Duration::from_secs(60) {
                panic!(
                    "{plugin} has {points} points of history after 60 s; stderr: {}",
                    self.stderr_text()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
