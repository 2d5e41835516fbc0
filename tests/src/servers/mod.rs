//! Real servers for the exporters' end-to-end tests, each started by the test on free
//! 127.0.0.1 ports with all of its data in the test's temporary directory, and stopped (by PID)
//! when dropped.
//!
//! | struct | server | provided by |
//! |---|---|---|
//! | [`Influx`] | InfluxDB 1.6 (`influxd`), HTTP API: `/write`, `/query` | Debian package `influxdb` |
//! | [`Victoria`] | VictoriaMetrics: InfluxDB v1/v2 line protocol, Graphite plaintext, OpenTSDB `/api/put` | Debian package `victoria-metrics` |
//! | [`Pushgateway`] | Prometheus Pushgateway | Debian package `prometheus-pushgateway` |
//! | [`Graphite`] | carbon-cache with whisper files | Debian package `graphite-carbon` |
//! | [`Statsd`] | Etsy's statsd over UDP, read back through its admin TCP interface | npm package `statsd` in `target/npm` |
//! | [`Couch`] | pouchdb-server, a CouchDB-compatible HTTP server | npm package `pouchdb-server` in `target/npm` |
//! | [`OpenSearch`] | osmem-server, an in-memory OpenSearch-compatible server (`_bulk`, `_search`, `_count`) | PyPI package `osmem-server` in `target/pypi` |
//!
//! `./test` installs them all, pinned: the Debian packages with apt-get, the npm ones into
//! `target/npm`, osmem-server into `target/pypi`.
//!
//! A server that does not answer within 60 s fails the test with its log. Every log is a file
//! `<dir>/<server>-<port>.log`; data lives under `<dir>/<server>-<port>/`. A start whose port was
//! taken in the meantime (the ports are picked free, then released for the server to bind) is
//! tried again on fresh ports, up to three times.
//!
//! This file owns what they share: the [`Process`] handle, free ports, waiting until a server
//! is ready, and the HTTP helpers. Each server (or family) is a file of its own, re-exported
//! here, so every one is `glint_tests::servers::NAME`.

use std::fs::{self, OpenOptions};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use crate::free_port;

mod couch;
mod graphite;
mod influx;
mod opensearch;
mod pushgateway;
mod sink;
mod statsd;
mod victoria;

pub use couch::{Couch, basic_auth};
pub use graphite::Graphite;
pub use influx::Influx;
pub use opensearch::OpenSearch;
pub use pushgateway::Pushgateway;
pub use sink::{SINK_KEEPS, http_sink};
pub use statsd::Statsd;
pub use victoria::Victoria;

/// How long a server may take to become ready.
const READY_LIMIT: Duration = Duration::from_secs(60);

/// The repository's root (the tests crate is `<repo>/tests`).
pub fn repo_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

/// Where CI installs the npm packages (`npm install --prefix target/npm ...`).
pub fn npm_modules() -> PathBuf {
    repo_root().join("target").join("npm").join("node_modules")
}

/// The file at `path` under [`npm_modules`] (`statsd/stats.js`), which `what` runs: when it
/// is missing, the test fails saying how to install it.
fn npm_file(what: &str, path: &[&str]) -> PathBuf {
    let file = path.iter().fold(npm_modules(), |dir, part| dir.join(part));
    if !file.exists() {
        panic!(
            "{what}: {} is missing; run `./test` (it installs the tests' servers) in the \
             repository",
            file.display()
        );
    }
    file
}

/// Polls `probe` every 100 ms until it returns something, failing the test with `what` after
/// `limit`. For waiting until an exporter's data shows up in a server.
pub fn wait_for<T>(what: &str, limit: Duration, mut probe: impl FnMut() -> Option<T>) -> T {
    let started = Instant::now();
    loop {
        if let Some(found) = probe() {
            return found;
        }
        if started.elapsed() > limit {
            panic!("{what}: not seen within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `n` distinct free loopback TCP ports.
fn free_ports(n: usize) -> Vec<u16> {
    let mut ports: Vec<u16> = Vec::with_capacity(n);
    while ports.len() < n {
        let port = free_port();
        if !ports.contains(&port) {
            ports.push(port);
        }
    }
    ports
}

/// Seconds since the epoch.
fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn create_dir(what: &str, dir: &Path) {
    fs::create_dir_all(dir)
        .unwrap_or_else(|e| panic!("{what}: cannot create {}: {e}", dir.display()));
}

fn write_file(what: &str, path: &Path, text: &str) {
    fs::write(path, text)
        .unwrap_or_else(|e| panic!("{what}: cannot write {}: {e}", path.display()));
}

/// A path as a quoted TOML / JavaScript / Python-config string.
fn quoted(path: &Path) -> String {
    let text = path.display().to_string();
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

/// A started server process: stdout and stderr appended to one log file, killed by PID and
/// waited for on [`Process::stop`] or drop. Every server here keeps its own as `process`.
pub struct Process {
    what: &'static str,
    child: Option<Child>,
    /// Its log file.
    pub log: PathBuf,
}

impl Process {
    fn spawn(what: &'static str, mut cmd: Command, log: &Path) -> Process {
        let out = OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .unwrap_or_else(|e| panic!("{what}: cannot open its log {}: {e}", log.display()));
        let err = out
            .try_clone()
            .unwrap_or_else(|e| panic!("{what}: cannot open its log {}: {e}", log.display()));
        cmd.stdin(Stdio::null()).stdout(out).stderr(err);
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("{what}: cannot start {cmd:?}: {e} (is it installed?)"));
        Process {
            what,
            child: Some(child),
            log: log.to_path_buf(),
        }
    }

    /// Its PID; none once stopped.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// What it has logged so far.
    pub fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until `ready` holds; an error if the process exits first or 60 s pass.
    fn wait_ready(&mut self, ready: &mut dyn FnMut() -> bool) -> Result<(), String> {
        let started = Instant::now();
        loop {
            if ready() {
                return Ok(());
            }
            if let Some(child) = self.child.as_mut() {
                match child.try_wait() {
                    Ok(Some(status)) => {
                        return Err(format!("it exited ({status}) before it was ready"));
                    }
                    Ok(None) => {}
                    Err(e) => return Err(format!("cannot wait for it: {e}")),
                }
            }
            if started.elapsed() > READY_LIMIT {
                return Err(format!(
                    "it was not ready after {} s",
                    READY_LIMIT.as_secs()
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until ready or fails the test with the log.
    fn ready_or_panic(&mut self, ready: &mut dyn FnMut() -> bool) {
        if let Err(why) = self.wait_ready(ready) {
            self.stop();
            panic!(
                "{} did not start: {why}. Its log ({}):\n{}",
                self.what,
                self.log.display(),
                self.log_text()
            );
        }
    }

    /// Kills it (SIGKILL, by PID) and waits for it to exit.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Whether a log says a port was taken.
fn port_clash(log: &str) -> bool {
    let log = log.to_ascii_lowercase();
    log.contains("address already in use") || log.contains("eaddrinuse")
}

/// Spawns with `spawn` until `ready` holds, trying again on fresh ports (`spawn` picks them)
/// when the log says a port was taken; fails the test with the log otherwise.
fn spawn_until_ready<S>(
    what: &'static str,
    mut spawn: impl FnMut() -> (Process, S),
    ready: impl Fn(&S) -> bool,
) -> (Process, S) {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let (mut process, state) = spawn();
        match process.wait_ready(&mut || ready(&state)) {
            Ok(()) => return (process, state),
            Err(why) => {
                process.stop();
                let log = process.log_text();
                if attempt < 3 && port_clash(&log) {
                    continue;
                }
                panic!(
                    "{what} did not start: {why}. Its log ({}):\n{log}",
                    process.log.display()
                );
            }
        }
    }
}

/// An HTTP client with a deadline.
fn agent(timeout: Duration) -> ureq::Agent {
    ureq::AgentBuilder::new().timeout(timeout).build()
}

/// `http://127.0.0.1:PORT` followed by `path`: where the servers here answer HTTP.
fn local_url(port: u16, path: &str) -> String {
    format!("http://127.0.0.1:{port}{path}")
}

/// The status of a GET with a short deadline, 0 when nothing answers (readiness probes).
fn probe(url: &str) -> u16 {
    match agent(Duration::from_secs(2)).get(url).call() {
        Ok(r) => r.status(),
        Err(ureq::Error::Status(status, _)) => status,
        Err(_) => 0,
    }
}

/// One request: (status, body). Fails the test when nothing answers.
fn http(
    what: &str,
    method: &str,
    url: &str,
    query: &[(&str, &str)],
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> (u16, String) {
    let mut request = agent(Duration::from_secs(30)).request(method, url);
    for (name, value) in query {
        request = request.query(name, value);
    }
    for (name, value) in headers {
        request = request.set(name, value);
    }
    let result = match body {
        Some(body) => request.send_string(body),
        None => request.call(),
    };
    let response = match result {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{what}: {method} {url}: {e}"),
    };
    let status = response.status();
    let mut bytes = Vec::new();
    response
        .into_reader()
        .read_to_end(&mut bytes)
        .unwrap_or_else(|e| panic!("{what}: {method} {url}: reading the answer: {e}"));
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

/// A request whose answer must be JSON: (status, JSON).
fn http_json(
    what: &str,
    method: &str,
    url: &str,
    query: &[(&str, &str)],
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> (u16, Value) {
    let (status, text) = http(what, method, url, query, headers, body);
    let json = serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!("{what}: {method} {url} answered {status} with no JSON ({e}): {text}")
    });
    (status, json)
}

/// A string as a double-quoted identifier (InfluxQL, PromQL label values).
fn double_quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('\\', "\\\\").replace('"', "\\\""))
}
