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
//! `.ci/run` installs them all: the Debian packages with apt-get, the npm ones with
//! `npm install --prefix target/npm statsd pouchdb-server`, osmem-server with
//! `python3 -m pip install --target target/pypi osmem-server`.
//!
//! A server that does not answer within 60 s fails the test with its log. Every log is a file
//! `<dir>/<server>-<port>.log`; data lives under `<dir>/<server>-<port>/`. A start whose port was
//! taken in the meantime (the ports are picked free, then released for the server to bind) is
//! tried again on fresh ports, up to three times.

use std::fs::{self, OpenOptions};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};

use crate::free_port;

/// How long a server may take to become ready.
const READY_LIMIT: Duration = Duration::from_secs(60);

const INFLUX: &str =
    "InfluxDB 1.x (`influxd`, from the Debian package influxdb: apt-get install influxdb)";
const VICTORIA: &str = "VictoriaMetrics (`victoria-metrics`, from the Debian package \
                        victoria-metrics: apt-get install victoria-metrics)";
const PUSHGATEWAY: &str = "Prometheus Pushgateway (`prometheus-pushgateway`, from the Debian \
                           package prometheus-pushgateway: apt-get install prometheus-pushgateway)";
const GRAPHITE: &str = "Graphite carbon-cache (`carbon-cache`, from the Debian package \
                        graphite-carbon: apt-get install graphite-carbon)";
const STATSD: &str = "statsd (the npm package statsd, run with `node`: npm install --prefix \
                      target/npm statsd pouchdb-server)";
const COUCH: &str = "pouchdb-server (the npm package pouchdb-server, run with `node`: npm \
                     install --prefix target/npm statsd pouchdb-server)";
const OPENSEARCH: &str = "osmem-server (the PyPI package osmem-server: python3 -m pip install \
                          --target target/pypi osmem-server; or set OSMEM_SERVER_BIN)";

// ---------------------------------------------------------------------------------------------
// Shared machinery
// ---------------------------------------------------------------------------------------------

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
            "{what}: {} is missing; run `npm install --prefix target/npm statsd \
             pouchdb-server` in the repository",
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
/// waited for on [`Process::stop`] or drop. Every server below keeps its own as `process`.
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

// ---------------------------------------------------------------------------------------------
// InfluxDB 1.x
// ---------------------------------------------------------------------------------------------

/// InfluxDB 1.6 (`influxd run -config`), HTTP API on `port`, its backup/RPC bind address on
/// `rpc_port`, both on 127.0.0.1; meta, data and WAL under `<dir>/influxdb-<port>/`. No
/// auth unless started with [`Influx::start_with_auth`]; usage reporting off. Writes are
/// readable by the next query. [`Influx::stop`] and [`Influx::restart`] take it down and bring
/// it back on the same port with the same data (an outage test).
pub struct Influx {
    pub process: Process,
    pub port: u16,
    pub rpc_port: u16,
    /// Its data directory.
    pub dir: PathBuf,
    config: PathBuf,
    auth: Option<(String, String)>,
}

fn influx_config(home: &Path, port: u16, rpc_port: u16, auth: bool) -> String {
    format!(
        "# Written by glint's tests: everything in this directory, on 127.0.0.1.
# Debian's build spells it reporting-enabled (upstream: reporting-disabled = true).
reporting-enabled = false
bind-address = \"127.0.0.1:{rpc_port}\"

[meta]
  dir = {meta}

[data]
  dir = {data}
  wal-dir = {wal}
  query-log-enabled = false

[monitor]
  store-enabled = false

[http]
  enabled = true
  bind-address = \"127.0.0.1:{port}\"
  auth-enabled = {auth}
  log-enabled = false
  pprof-enabled = false

[ifql]
  enabled = false

[logging]
  level = \"warn\"
",
        meta = quoted(&home.join("meta")),
        data = quoted(&home.join("data")),
        wal = quoted(&home.join("wal")),
    )
}

impl Influx {
    /// Starts InfluxDB with no authentication.
    pub fn start(dir: &Path) -> Influx {
        Influx::launch(dir, None)
    }

    /// Starts InfluxDB with `auth-enabled = true` and one admin user (created through the
    /// API, which InfluxDB allows while no user exists). The helpers below then send the
    /// credentials as `u`/`p`; InfluxDB 1.6 also takes HTTP basic auth (not `Token`).
    pub fn start_with_auth(dir: &Path, user: &str, password: &str) -> Influx {
        Influx::launch(dir, Some((user.to_string(), password.to_string())))
    }

    fn launch(dir: &Path, auth: Option<(String, String)>) -> Influx {
        create_dir(INFLUX, dir);
        let (process, (port, rpc_port, home, config)) = spawn_until_ready(
            INFLUX,
            || {
                let ports = free_ports(2);
                let (port, rpc_port) = (ports[0], ports[1]);
                let home = dir.join(format!("influxdb-{port}"));
                create_dir(INFLUX, &home);
                let config = home.join("influxdb.conf");
                write_file(
                    INFLUX,
                    &config,
                    &influx_config(&home, port, rpc_port, auth.is_some()),
                );
                let log = dir.join(format!("influxdb-{port}.log"));
                let process = Process::spawn(INFLUX, influx_command(&config), &log);
                (process, (port, rpc_port, home, config))
            },
            |s: &(u16, u16, PathBuf, PathBuf)| probe(&local_url(s.0, "/ping")) == 204,
        );
        let influx = Influx {
            process,
            port,
            rpc_port,
            dir: home,
            config,
            auth,
        };
        if let Some((user, password)) = &influx.auth {
            let q = format!(
                "CREATE USER {} WITH PASSWORD '{}' WITH ALL PRIVILEGES",
                double_quoted(user),
                password.replace('\\', "\\\\").replace('\'', "\\'")
            );
            let (status, answer) = http_json(
                INFLUX,
                "POST",
                &influx.url("/query"),
                &[("q", q.as_str())],
                &[],
                None,
            );
            if status != 200 || answer["results"][0].get("error").is_some() {
                panic!("{INFLUX}: creating user {user}: {status} {answer}");
            }
        }
        influx
    }

    /// `http://127.0.0.1:PORT` followed by `path`.
    pub fn url(&self, path: &str) -> String {
        local_url(self.port, path)
    }

    /// Kills it (SIGKILL, by PID) and waits; its port and data stay for [`Influx::restart`].
    pub fn stop(&mut self) {
        self.process.stop();
    }

    /// Starts it again on the same port with the same data and waits until it answers
    /// (fails the test if the port was taken meanwhile: see the log).
    pub fn restart(&mut self) {
        self.process.stop();
        self.process = Process::spawn(INFLUX, influx_command(&self.config), &self.process.log);
        let url = self.url("/ping");
        self.process.ready_or_panic(&mut || probe(&url) == 204);
    }

    fn credentials(&self) -> Vec<(&str, &str)> {
        match &self.auth {
            Some((user, password)) => vec![("u", user.as_str()), ("p", password.as_str())],
            None => Vec::new(),
        }
    }

    /// `CREATE DATABASE "db"` (a no-op if it exists).
    pub fn create_database(&self, db: &str) {
        let q = format!("CREATE DATABASE {}", double_quoted(db));
        let mut query = self.credentials();
        query.push(("q", q.as_str()));
        let (status, answer) = http_json(INFLUX, "POST", &self.url("/query"), &query, &[], None);
        if status != 200 || answer["results"][0].get("error").is_some() {
            panic!("{INFLUX}: {q}: {status} {answer}");
        }
    }

    /// Writes line protocol to `db` (for a test's own seeding; fails the test unless 204).
    pub fn write(&self, db: &str, lines: &str) {
        let mut query = self.credentials();
        query.push(("db", db));
        let (status, text) = http(
            INFLUX,
            "POST",
            &self.url("/write"),
            &query,
            &[],
            Some(lines),
        );
        if status != 204 {
            panic!("{INFLUX}: writing to {db}: {status} {text}");
        }
    }

    /// An InfluxQL query against `db`, timestamps as epoch milliseconds: the raw answer,
    /// `{"results":[{"statement_id":0,"series":[{"name","columns","values"}]}]}` (or an
    /// `"error"` in the result, e.g. `database not found`).
    pub fn query(&self, db: &str, q: &str) -> Value {
        let mut query = self.credentials();
        query.extend([("db", db), ("q", q), ("epoch", "ms")]);
        let (status, answer) = http_json(INFLUX, "GET", &self.url("/query"), &query, &[], None);
        if status != 200 {
            panic!("{INFLUX}: {q}: {status} {answer}");
        }
        answer
    }

    /// The measurements in `db` (none if `db` does not exist).
    pub fn measurements(&self, db: &str) -> Vec<String> {
        let answer = self.query(db, "SHOW MEASUREMENTS");
        let mut names = Vec::new();
        for series in answer["results"][0]["series"]
            .as_array()
            .into_iter()
            .flatten()
        {
            for row in series["values"].as_array().into_iter().flatten() {
                if let Some(name) = row[0].as_str() {
                    names.push(name.to_string());
                }
            }
        }
        names
    }

    /// Every point of `measurement` in `db` as `{column: value}` (tags, fields and `time` in
    /// epoch ms); none if the database or measurement does not exist.
    pub fn points(&self, db: &str, measurement: &str) -> Vec<Map<String, Value>> {
        let answer = self.query(db, &format!("SELECT * FROM {}", double_quoted(measurement)));
        let mut points = Vec::new();
        for series in answer["results"][0]["series"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let columns: Vec<&str> = series["columns"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|c| c.as_str().unwrap_or_default())
                .collect();
            for row in series["values"].as_array().into_iter().flatten() {
                let values = row.as_array().map(Vec::as_slice).unwrap_or_default();
                let point: Map<String, Value> = columns
                    .iter()
                    .zip(values)
                    .map(|(c, v)| (c.to_string(), v.clone()))
                    .collect();
                points.push(point);
            }
        }
        points
    }
}

fn influx_command(config: &Path) -> Command {
    let mut cmd = Command::new("influxd");
    cmd.arg("run").arg("-config").arg(config);
    // No INFLUXDB_* setting from the machine overrides the file.
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("INFLUXDB_") {
            cmd.env_remove(name);
        }
    }
    cmd
}

// ---------------------------------------------------------------------------------------------
// VictoriaMetrics
// ---------------------------------------------------------------------------------------------

/// VictoriaMetrics (single node) on 127.0.0.1: HTTP on `http_port` (InfluxDB line protocol at
/// `/write` and `/api/v2/write?org=&bucket=`, any `Authorization: Token ...` accepted and
/// ignored; Prometheus import; queries), Graphite plaintext on `graphite_port` (TCP and UDP),
/// OpenTSDB HTTP `/api/put` on `opentsdb_port` (not on the main port). Data under
/// `<dir>/victoria-metrics-<port>/`, retention 100 years (old timestamps are kept).
///
/// Naming: InfluxDB line `cpu,host=h total=1,user=2` → series `cpu_total{host="h"}` and
/// `cpu_user{host="h"}` (`/write?db=X` adds the label `db="X"`; `/api/v2/write` adds nothing
/// for org or bucket). Graphite `a.b.c 1 TS` → `a.b.c` (dots kept; `a.b;tag=v` → label).
/// OpenTSDB `{"metric":"a.b","tags":{"host":"h"}}` → `a.b{host="h"}`.
///
/// New data becomes visible to queries after a flush: the helpers call
/// `/internal/force_flush` first, and even then it can take about a second, so wait with
/// [`wait_for`] on [`Victoria::export`] or [`Victoria::series`] (a new name shows in
/// [`Victoria::names`] before its samples do, and an instant [`Victoria::query`] can lag more).
pub struct Victoria {
    pub process: Process,
    pub http_port: u16,
    pub graphite_port: u16,
    pub opentsdb_port: u16,
    pub dir: PathBuf,
}

impl Victoria {
    pub fn start(dir: &Path) -> Victoria {
        create_dir(VICTORIA, dir);
        let (process, (http_port, graphite_port, opentsdb_port, home)) = spawn_until_ready(
            VICTORIA,
            || {
                let ports = free_ports(3);
                let (http_port, graphite_port, opentsdb_port) = (ports[0], ports[1], ports[2]);
                let home = dir.join(format!("victoria-metrics-{http_port}"));
                let log = dir.join(format!("victoria-metrics-{http_port}.log"));
                let mut cmd = Command::new("victoria-metrics");
                cmd.arg(format!("-storageDataPath={}", home.display()))
                    .arg(format!("-httpListenAddr=127.0.0.1:{http_port}"))
                    .arg(format!("-graphiteListenAddr=127.0.0.1:{graphite_port}"))
                    .arg(format!("-opentsdbHTTPListenAddr=127.0.0.1:{opentsdb_port}"))
                    .arg("-retentionPeriod=100y")
                    .arg("-search.disableCache")
                    .arg("-search.latencyOffset=0s");
                let process = Process::spawn(VICTORIA, cmd, &log);
                (process, (http_port, graphite_port, opentsdb_port, home))
            },
            |s: &(u16, u16, u16, PathBuf)| probe(&local_url(s.0, "/health")) == 200,
        );
        Victoria {
            process,
            http_port,
            graphite_port,
            opentsdb_port,
            dir: home,
        }
    }

    /// `http://127.0.0.1:HTTP_PORT` followed by `path`.
    pub fn url(&self, path: &str) -> String {
        local_url(self.http_port, path)
    }

    /// Makes what was ingested so far searchable (`/internal/force_flush`).
    pub fn flush(&self) {
        let (status, text) = http(
            VICTORIA,
            "GET",
            &self.url("/internal/force_flush"),
            &[],
            &[],
            None,
        );
        if status != 200 {
            panic!("{VICTORIA}: force_flush: {status} {text}");
        }
    }

    /// `/api/v1/export` of a series selector (e.g. `{__name__=~"cpu_.*"}`), after a flush:
    /// one `{"metric":{"__name__",labels...},"values":[..],"timestamps":[ms..]}` per series.
    pub fn export(&self, selector: &str) -> Vec<Value> {
        self.flush();
        let (status, text) = http(
            VICTORIA,
            "GET",
            &self.url("/api/v1/export"),
            &[("match[]", selector)],
            &[],
            None,
        );
        if status != 200 {
            panic!("{VICTORIA}: export {selector}: {status} {text}");
        }
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                serde_json::from_str(l)
                    .unwrap_or_else(|e| panic!("{VICTORIA}: export {selector}: {e}: {l}"))
            })
            .collect()
    }

    /// The exported series named exactly `name` (dots allowed: Graphite and OpenTSDB names).
    pub fn series(&self, name: &str) -> Vec<Value> {
        self.export(&format!("{{__name__={}}}", double_quoted(name)))
    }

    /// Every metric name stored, after a flush (`/api/v1/label/__name__/values`).
    pub fn names(&self) -> Vec<String> {
        self.flush();
        let (status, answer) = http_json(
            VICTORIA,
            "GET",
            &self.url("/api/v1/label/__name__/values"),
            &[],
            &[],
            None,
        );
        if status != 200 {
            panic!("{VICTORIA}: metric names: {status} {answer}");
        }
        answer["data"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|n| n.as_str().map(str::to_string))
            .collect()
    }

    /// An instant PromQL/MetricsQL query (`/api/v1/query`), after a flush: the raw answer.
    pub fn query(&self, promql: &str) -> Value {
        self.flush();
        let (status, answer) = http_json(
            VICTORIA,
            "GET",
            &self.url("/api/v1/query"),
            &[("query", promql)],
            &[],
            None,
        );
        if status != 200 {
            panic!("{VICTORIA}: query {promql}: {status} {answer}");
        }
        answer
    }
}

// ---------------------------------------------------------------------------------------------
// Prometheus Pushgateway
// ---------------------------------------------------------------------------------------------

/// Prometheus Pushgateway on 127.0.0.1:`port`, no persistence (Debian's default file under
/// /var/lib is switched off). Takes `PUT`/`POST /metrics/job/<job>[/instance/<i>]` with the text
/// exposition format (every line ending in `\n`, samples without timestamps: it answers 400
/// otherwise). Pushed series get the grouping labels `job` and `instance`.
pub struct Pushgateway {
    pub process: Process,
    pub port: u16,
}

impl Pushgateway {
    pub fn start(dir: &Path) -> Pushgateway {
        create_dir(PUSHGATEWAY, dir);
        let (process, port) = spawn_until_ready(
            PUSHGATEWAY,
            || {
                let port = free_port();
                let log = dir.join(format!("pushgateway-{port}.log"));
                let mut cmd = Command::new("prometheus-pushgateway");
                cmd.arg(format!("--web.listen-address=127.0.0.1:{port}"))
                    .arg("--persistence.file=")
                    .arg("--web.enable-admin-api");
                (Process::spawn(PUSHGATEWAY, cmd, &log), port)
            },
            |port: &u16| probe(&local_url(*port, "/-/ready")) == 200,
        );
        Pushgateway { process, port }
    }

    /// `http://127.0.0.1:PORT` followed by `path`.
    pub fn url(&self, path: &str) -> String {
        local_url(self.port, path)
    }

    /// `GET /metrics`: the text exposition of everything pushed (plus the gateway's own
    /// `go_*`, `process_*`, `pushgateway_*` series and `push_time_seconds` per group).
    pub fn text(&self) -> String {
        let (status, text) = http(PUSHGATEWAY, "GET", &self.url("/metrics"), &[], &[], None);
        if status != 200 {
            panic!("{PUSHGATEWAY}: /metrics: {status} {text}");
        }
        text
    }

    /// `GET /api/v1/metrics`: one object per pushed group, `{"labels":{job,instance},
    /// "<metric>":{"type","metrics":[{"labels","value":"12.5"}]}, "push_time_seconds":..}`.
    pub fn groups(&self) -> Vec<Value> {
        let (status, answer) = http_json(
            PUSHGATEWAY,
            "GET",
            &self.url("/api/v1/metrics"),
            &[],
            &[],
            None,
        );
        if status != 200 {
            panic!("{PUSHGATEWAY}: /api/v1/metrics: {status} {answer}");
        }
        answer["data"].as_array().cloned().unwrap_or_default()
    }

    /// Every pushed sample of `metric` (gauges, counters, untyped): (labels, value), the labels
    /// including `job` and `instance`.
    pub fn values(&self, metric: &str) -> Vec<(Map<String, Value>, f64)> {
        let mut values = Vec::new();
        for group in self.groups() {
            for sample in group[metric]["metrics"].as_array().into_iter().flatten() {
                let labels = sample["labels"].as_object().cloned().unwrap_or_default();
                if let Some(value) = sample["value"].as_str().and_then(|v| v.parse::<f64>().ok()) {
                    values.push((labels, value));
                }
            }
        }
        values
    }
}

// ---------------------------------------------------------------------------------------------
// Graphite (carbon-cache + whisper)
// ---------------------------------------------------------------------------------------------

/// Graphite's carbon-cache in the foreground (`--nodaemon`), plaintext line receiver on
/// 127.0.0.1:`line_port` (TCP; `name value timestamp\n`), its pickle receiver and cache-query
/// port also on loopback, tags off (with tags on it posts every new series to a graphite-web at
/// 127.0.0.1:80), no self-metrics. Whisper files under `<dir>/graphite-<port>/whisper/`, one
/// per metric, dots as directories, at 1 s resolution kept for one hour (points older than an
/// hour are dropped; two points in one second keep the last). A new metric's file appears
/// about 0.3 s after it arrives: wait with [`wait_for`].
pub struct Graphite {
    pub process: Process,
    pub line_port: u16,
    pub pickle_port: u16,
    pub query_port: u16,
    /// The whisper tree.
    pub whisper: PathBuf,
}

fn carbon_config(home: &Path, line_port: u16, pickle_port: u16, query_port: u16) -> String {
    let slash = |p: PathBuf| {
        let mut text = p.display().to_string();
        text.push('/');
        text
    };
    format!(
        "# Written by glint's tests: everything in this directory, on 127.0.0.1.
[cache]
STORAGE_DIR = {storage}
LOCAL_DATA_DIR = {whisper}
WHITELISTS_DIR = {lists}
CONF_DIR = {conf}
LOG_DIR = {logs}
PID_DIR = {conf}
DATABASE = whisper
USER =
ENABLE_TAGS = False
CARBON_METRIC_INTERVAL = 0
MAX_CACHE_SIZE = inf
MAX_UPDATES_PER_SECOND = inf
MAX_CREATES_PER_MINUTE = inf
LINE_RECEIVER_INTERFACE = 127.0.0.1
LINE_RECEIVER_PORT = {line_port}
ENABLE_UDP_LISTENER = False
UDP_RECEIVER_INTERFACE = 127.0.0.1
UDP_RECEIVER_PORT = {line_port}
PICKLE_RECEIVER_INTERFACE = 127.0.0.1
PICKLE_RECEIVER_PORT = {pickle_port}
CACHE_QUERY_INTERFACE = 127.0.0.1
CACHE_QUERY_PORT = {query_port}
ENABLE_MANHOLE = False
ENABLE_AMQP = False
LOG_UPDATES = False
LOG_CREATES = True
WHISPER_AUTOFLUSH = True
WHISPER_FALLOCATE_CREATE = False
",
        storage = slash(home.join("storage")),
        whisper = slash(home.join("whisper")),
        lists = slash(home.join("lists")),
        conf = slash(home.to_path_buf()),
        logs = slash(home.join("log")),
    )
}

impl Graphite {
    pub fn start(dir: &Path) -> Graphite {
        create_dir(GRAPHITE, dir);
        let (process, (line_port, pickle_port, query_port, home)) = spawn_until_ready(
            GRAPHITE,
            || {
                let ports = free_ports(3);
                let (line_port, pickle_port, query_port) = (ports[0], ports[1], ports[2]);
                let home = dir.join(format!("graphite-{line_port}"));
                create_dir(GRAPHITE, &home);
                let config = home.join("carbon.conf");
                write_file(
                    GRAPHITE,
                    &config,
                    &carbon_config(&home, line_port, pickle_port, query_port),
                );
                write_file(
                    GRAPHITE,
                    &home.join("storage-schemas.conf"),
                    "[default]\npattern = .*\nretentions = 1s:1h\n",
                );
                write_file(
                    GRAPHITE,
                    &home.join("storage-aggregation.conf"),
                    "[default]\npattern = .*\nxFilesFactor = 0\naggregationMethod = average\n",
                );
                let pidfile = home.join("carbon-cache.pid");
                // A stale pidfile whose PID is alive again would stop it from starting.
                let _ = fs::remove_file(&pidfile);
                let log = dir.join(format!("graphite-{line_port}.log"));
                let mut cmd = Command::new("carbon-cache");
                cmd.arg(format!("--config={}", config.display()))
                    .arg(format!("--pidfile={}", pidfile.display()))
                    .arg("--nodaemon")
                    .arg("start")
                    .env("PYTHONWARNINGS", "ignore");
                let process = Process::spawn(GRAPHITE, cmd, &log);
                (process, (line_port, pickle_port, query_port, home))
            },
            |s: &(u16, u16, u16, PathBuf)| TcpStream::connect(("127.0.0.1", s.0)).is_ok(),
        );
        Graphite {
            process,
            line_port,
            pickle_port,
            query_port,
            whisper: home.join("whisper"),
        }
    }

    /// Every metric stored so far (dotted names, from the whisper files), sorted.
    pub fn metrics(&self) -> Vec<String> {
        fn walk(dir: &Path, prefix: &str, out: &mut Vec<String>) {
            let Ok(entries) = fs::read_dir(dir) else {
                return;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                let name = entry.file_name().to_string_lossy().into_owned();
                if path.is_dir() {
                    walk(&path, &format!("{prefix}{name}."), out);
                } else if let Some(stem) = name.strip_suffix(".wsp") {
                    out.push(format!("{prefix}{stem}"));
                }
            }
        }
        let mut names = Vec::new();
        walk(&self.whisper, "", &mut names);
        names.sort();
        names
    }

    /// The points of `metric` (dotted name) as (unix seconds, value), oldest first; none if
    /// it has no file yet. Read from its whisper file (`whisper-fetch` from the Debian package
    /// python3-whisper prints the same by hand).
    pub fn points(&self, metric: &str) -> Vec<(u64, f64)> {
        let mut path = self.whisper.clone();
        for part in metric.split('.') {
            path.push(part);
        }
        path.set_extension("wsp");
        let Ok(bytes) = fs::read(&path) else {
            return Vec::new();
        };
        let mut points = whisper_points(&bytes);
        // Slots left from over an hour ago (none in a test's life) are not data.
        let oldest = now_secs().saturating_sub(3600);
        points.retain(|(ts, _)| *ts >= oldest);
        points
    }
}

/// The points of a whisper file's first (finest) archive. Big-endian: header
/// `aggregation u32, max_retention u32, xff f32, archive_count u32`, then per archive
/// `offset u32, seconds_per_point u32, points u32`, then points `timestamp u32, value f64`.
fn whisper_points(bytes: &[u8]) -> Vec<(u64, f64)> {
    let u32_at = |at: usize| -> Option<u32> {
        let b = bytes.get(at..at + 4)?;
        Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    };
    let f64_at = |at: usize| -> Option<f64> {
        let b = bytes.get(at..at + 8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Some(f64::from_be_bytes(a))
    };
    let (Some(offset), Some(count)) = (u32_at(16), u32_at(24)) else {
        return Vec::new();
    };
    let mut points = Vec::new();
    for i in 0..count as usize {
        let at = offset as usize + 12 * i;
        if let (Some(ts), Some(value)) = (u32_at(at), f64_at(at + 4))
            && ts != 0
        {
            points.push((u64::from(ts), value));
        }
    }
    points.sort_by_key(|(ts, _)| *ts);
    points
}

// ---------------------------------------------------------------------------------------------
// statsd (npm)
// ---------------------------------------------------------------------------------------------

/// Etsy's statsd (npm `statsd`, `node stats.js CONFIG`) listening for UDP on
/// 127.0.0.1:`port`, its admin TCP interface on 127.0.0.1:`mgmt_port`, the console backend
/// only, flushing once an hour (so counters are not reset under the test), every received line
/// logged (`dumpMessages`). Read back with [`Statsd::gauges`], [`Statsd::counters`],
/// [`Statsd::timers`] (the admin commands) or [`Statsd::messages`] (the raw lines).
///
/// Naming: the bucket name as sent, sanitized (`keyNameSanitize`): spaces → `_`, `/` → `-`,
/// other characters outside `[A-Za-z0-9_.\-;=]` dropped. Gauges `name:v|g` keep the last value
/// (`+v`/`-v` add); counters `name:v|c` add up; statsd adds its own `statsd.*` counters.
pub struct Statsd {
    pub process: Process,
    /// UDP.
    pub port: u16,
    /// TCP admin interface.
    pub mgmt_port: u16,
}

impl Statsd {
    pub fn start(dir: &Path) -> Statsd {
        create_dir(STATSD, dir);
        let script = npm_file(STATSD, &["statsd", "stats.js"]);
        let (process, (port, mgmt_port)) = spawn_until_ready(
            STATSD,
            || {
                let ports = free_ports(2);
                let (port, mgmt_port) = (ports[0], ports[1]);
                let config = dir.join(format!("statsd-{port}.js"));
                write_file(
                    STATSD,
                    &config,
                    &format!(
                        "{{\n  address: \"127.0.0.1\",\n  port: {port},\n  \
                         mgmt_address: \"127.0.0.1\",\n  mgmt_port: {mgmt_port},\n  \
                         backends: [\"./backends/console\"],\n  \
                         console: {{ prettyprint: false }},\n  flushInterval: 3600000,\n  \
                         dumpMessages: true,\n  automaticConfigReload: false,\n  title: false\n}}\n"
                    ),
                );
                let log = dir.join(format!("statsd-{port}.log"));
                let mut cmd = Command::new("node");
                cmd.arg(&script).arg(&config).current_dir(dir);
                (Process::spawn(STATSD, cmd, &log), (port, mgmt_port))
            },
            |s: &(u16, u16)| {
                statsd_admin(s.1, "health", Duration::from_secs(2))
                    .is_ok_and(|a| a.contains("health: up"))
            },
        );
        Statsd {
            process,
            port,
            mgmt_port,
        }
    }

    /// One admin command (`health`, `stats`, `counters`, `gauges`, `timers`, ...): its answer
    /// as text, without the closing `END`.
    pub fn admin(&self, command: &str) -> String {
        statsd_admin(self.mgmt_port, command, Duration::from_secs(10))
            .unwrap_or_else(|e| panic!("{STATSD}: admin `{command}`: {e}"))
    }

    /// The current gauges, `{"name": value}`.
    pub fn gauges(&self) -> Map<String, Value> {
        self.inspected("gauges")
    }

    /// The counters since start (`statsd.*` ones included), `{"name": value}`.
    pub fn counters(&self) -> Map<String, Value> {
        self.inspected("counters")
    }

    /// The timers, `{"name": [values...]}`.
    pub fn timers(&self) -> Map<String, Value> {
        self.inspected("timers")
    }

    fn inspected(&self, command: &str) -> Map<String, Value> {
        let text = self.admin(command);
        match parse_inspect(&text) {
            Ok(Value::Object(map)) => map,
            Ok(other) => panic!("{STATSD}: admin `{command}` gave no object: {other}"),
            Err(e) => panic!("{STATSD}: admin `{command}`: cannot read {text:?}: {e}"),
        }
    }

    /// Every metric line received so far, as sent (`name:value|type[|@rate]`), in order (bad
    /// lines included; statsd counts them in `statsd.bad_lines_seen`).
    pub fn messages(&self) -> Vec<String> {
        self.process
            .log_text()
            .lines()
            .filter_map(|l| l.split_once(" - DEBUG: ").map(|(_, m)| m))
            .filter(|m| !m.starts_with("Bad line: "))
            .map(str::to_string)
            .collect()
    }
}

/// Sends one admin command to statsd and reads the answer: up to `END` for the listing
/// commands, one line for the others.
fn statsd_admin(port: u16, command: &str, timeout: Duration) -> Result<String, String> {
    let mut stream = TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), timeout)
        .map_err(|e| format!("connect to 127.0.0.1:{port}: {e}"))?;
    stream
        .set_read_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    stream
        .write_all(format!("{command}\n").as_bytes())
        .map_err(|e| format!("send: {e}"))?;
    let listing = matches!(
        command.split_whitespace().next(),
        Some("stats" | "counters" | "gauges" | "timers")
    );
    let mut answer = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        let n = stream
            .read(&mut buf)
            .map_err(|e| format!("read (so far {:?}): {e}", String::from_utf8_lossy(&answer)))?;
        if n == 0 {
            break;
        }
        answer.extend_from_slice(buf.get(..n).unwrap_or_default());
        let text = String::from_utf8_lossy(&answer);
        if listing {
            if text.ends_with("END\n\n") {
                break;
            }
        } else if text.ends_with('\n') {
            break;
        }
    }
    let _ = stream.write_all(b"quit\n");
    let text = String::from_utf8_lossy(&answer).into_owned();
    let text = text
        .strip_suffix("END\n\n")
        .unwrap_or(&text)
        .trim_end()
        .to_string();
    Ok(text)
}

/// Reads what Node's `util.inspect` prints for plain objects, arrays, strings and numbers
/// (statsd's admin answers: `{ 'a.b': 12.5, c: 3, t: [ 1, 2 ] }`, over several lines when
/// long, `... N more items` in long arrays) into JSON. `NaN`/`Infinity` become null.
fn parse_inspect(text: &str) -> Result<Value, String> {
    let mut parser = Inspect {
        chars: text.chars().collect(),
        at: 0,
    };
    let value = parser.value()?;
    if parser.peek().is_some() {
        return Err(parser.error("the end"));
    }
    Ok(value)
}

struct Inspect {
    chars: Vec<char>,
    at: usize,
}

impl Inspect {
    fn peek(&mut self) -> Option<char> {
        while self.chars.get(self.at).is_some_and(|c| c.is_whitespace()) {
            self.at += 1;
        }
        self.chars.get(self.at).copied()
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn error(&self, expected: &str) -> String {
        let rest: String = self.chars.iter().skip(self.at).take(40).collect();
        format!("expected {expected} at character {}: {rest:?}", self.at)
    }

    /// A bare word: a key, a number, `true`, `undefined`, ...
    fn word(&mut self) -> String {
        let _ = self.peek();
        let mut word = String::new();
        while let Some(&c) = self.chars.get(self.at) {
            if c.is_whitespace() || ",:{}[]".contains(c) {
                break;
            }
            word.push(c);
            self.at += 1;
        }
        word
    }

    fn string(&mut self) -> Result<String, String> {
        let Some(quote) = self.peek() else {
            return Err(self.error("a string"));
        };
        self.at += 1;
        let mut text = String::new();
        loop {
            let Some(&c) = self.chars.get(self.at) else {
                return Err(self.error("the end of a string"));
            };
            self.at += 1;
            if c == quote {
                return Ok(text);
            }
            if c == '\\' {
                let Some(&escaped) = self.chars.get(self.at) else {
                    return Err(self.error("an escaped character"));
                };
                self.at += 1;
                text.push(match escaped {
                    'n' => '\n',
                    't' => '\t',
                    'r' => '\r',
                    other => other,
                });
            } else {
                text.push(c);
            }
        }
    }

    fn key(&mut self) -> Result<String, String> {
        match self.peek() {
            Some('\'' | '"' | '`') => self.string(),
            Some(_) => {
                let word = self.word();
                if word.is_empty() {
                    Err(self.error("a key"))
                } else {
                    Ok(word)
                }
            }
            None => Err(self.error("a key")),
        }
    }

    fn value(&mut self) -> Result<Value, String> {
        match self.peek() {
            Some('{') => {
                self.at += 1;
                let mut map = Map::new();
                if self.eat('}') {
                    return Ok(Value::Object(map));
                }
                loop {
                    let key = self.key()?;
                    if !self.eat(':') {
                        return Err(self.error("':'"));
                    }
                    let value = self.value()?;
                    map.insert(key, value);
                    if self.eat(',') {
                        continue;
                    }
                    if self.eat('}') {
                        return Ok(Value::Object(map));
                    }
                    return Err(self.error("',' or '}'"));
                }
            }
            Some('[') => {
                self.at += 1;
                let mut list = Vec::new();
                if self.eat(']') {
                    return Ok(Value::Array(list));
                }
                loop {
                    if self.peek() == Some('.') {
                        // "... 12 more items": skip to the next ',' or ']'.
                        while let Some(&c) = self.chars.get(self.at) {
                            if c == ',' || c == ']' {
                                break;
                            }
                            self.at += 1;
                        }
                    } else {
                        list.push(self.value()?);
                    }
                    if self.eat(',') {
                        continue;
                    }
                    if self.eat(']') {
                        return Ok(Value::Array(list));
                    }
                    return Err(self.error("',' or ']'"));
                }
            }
            Some('\'' | '"' | '`') => self.string().map(Value::String),
            Some(_) => {
                let word = self.word();
                match word.as_str() {
                    "" => Err(self.error("a value")),
                    "true" => Ok(Value::Bool(true)),
                    "false" => Ok(Value::Bool(false)),
                    "null" | "undefined" | "NaN" | "Infinity" | "-Infinity" => Ok(Value::Null),
                    _ => {
                        if let Ok(n) = word.parse::<i64>() {
                            Ok(Value::from(n))
                        } else if let Ok(x) = word.parse::<f64>() {
                            Ok(serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number))
                        } else {
                            Err(format!("not a number: {word:?}"))
                        }
                    }
                }
            }
            None => Err(self.error("a value")),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// pouchdb-server (npm), CouchDB-compatible
// ---------------------------------------------------------------------------------------------

/// pouchdb-server 4.2 (npm `pouchdb-server`, run with `node`), a CouchDB-compatible HTTP
/// server on 127.0.0.1:`port`, databases in memory (`--in-memory`), its config.json and
/// log.txt under `<dir>/couch-<port>/`. `PUT /db` creates a database (412 `file_exists` if it
/// is there), `POST /db/_bulk_docs {"docs":[..]}` stores documents (201), `POST /db {doc}` one.
///
/// With [`Couch::start_with_admin`], wrong credentials get 401 `unauthorized`, but beware:
/// pouchdb-server 4.2 then CRASHES (TypeError in express-pouchdb) on a `PUT /db` that carries
/// no credentials at all; requests to an existing database still work without them.
pub struct Couch {
    pub process: Process,
    pub port: u16,
    pub dir: PathBuf,
    admin: Option<(String, String)>,
}

impl Couch {
    /// Starts pouchdb-server in "admin party" mode (no users: anyone may do anything).
    pub fn start(dir: &Path) -> Couch {
        Couch::launch(dir, None)
    }

    /// Starts pouchdb-server with one server admin (from its config.json); the helpers below
    /// send those credentials.
    pub fn start_with_admin(dir: &Path, user: &str, password: &str) -> Couch {
        Couch::launch(dir, Some((user.to_string(), password.to_string())))
    }

    fn launch(dir: &Path, admin: Option<(String, String)>) -> Couch {
        create_dir(COUCH, dir);
        let bin = npm_file(COUCH, &["pouchdb-server", "bin", "pouchdb-server"]);
        let (process, (port, home)) = spawn_until_ready(
            COUCH,
            || {
                let port = free_port();
                let home = dir.join(format!("couch-{port}"));
                create_dir(COUCH, &home);
                let config = home.join("config.json");
                let mut settings = serde_json::json!({});
                if let Some((user, password)) = &admin {
                    // pouchdb-server hashes it in place on start, as CouchDB does.
                    settings["admins"] = serde_json::json!({ user.as_str(): password.as_str() });
                }
                write_file(COUCH, &config, &settings.to_string());
                let log = dir.join(format!("couch-{port}.log"));
                let mut cmd = Command::new("node");
                cmd.arg(&bin)
                    .arg("--host")
                    .arg("127.0.0.1")
                    .arg("--port")
                    .arg(port.to_string())
                    .arg("--in-memory")
                    .arg("--dir")
                    .arg(home.join("db"))
                    .arg("--config")
                    .arg(&config)
                    .arg("--no-color")
                    // log.txt goes to the working directory.
                    .current_dir(&home);
                (Process::spawn(COUCH, cmd, &log), (port, home))
            },
            |s: &(u16, PathBuf)| probe(&local_url(s.0, "/")) == 200,
        );
        Couch {
            process,
            port,
            dir: home,
            admin,
        }
    }

    /// `http://127.0.0.1:PORT` followed by `path` (no credentials in it).
    pub fn url(&self, path: &str) -> String {
        local_url(self.port, path)
    }

    /// The `Authorization` header the helpers send: the admin's, when there is one.
    fn auth(&self) -> Vec<(&'static str, String)> {
        match &self.admin {
            Some((user, password)) => vec![("Authorization", basic_auth(user, password))],
            None => Vec::new(),
        }
    }

    /// A GET with the admin's credentials: (status, JSON).
    fn get_json(&self, path: &str, query: &[(&str, &str)]) -> (u16, Value) {
        let auth = self.auth();
        let headers: Vec<(&str, &str)> = auth.iter().map(|(k, v)| (*k, v.as_str())).collect();
        http_json(COUCH, "GET", &self.url(path), query, &headers, None)
    }

    /// `GET /_all_dbs`.
    pub fn databases(&self) -> Vec<String> {
        let (status, answer) = self.get_json("/_all_dbs", &[]);
        if status != 200 {
            panic!("{COUCH}: /_all_dbs: {status} {answer}");
        }
        answer
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|n| n.as_str().map(str::to_string))
            .collect()
    }

    /// `GET /db`: `{"doc_count",..}`, or None if there is no such database.
    pub fn info(&self, db: &str) -> Option<Value> {
        let (status, answer) = self.get_json(&format!("/{}", percent_encode(db)), &[]);
        match status {
            200 => Some(answer),
            404 => None,
            _ => panic!("{COUCH}: GET /{db}: {status} {answer}"),
        }
    }

    /// Every document of `db` (`_all_docs?include_docs=true`), design documents left out;
    /// none if there is no such database.
    pub fn docs(&self, db: &str) -> Vec<Value> {
        let (status, answer) = self.get_json(
            &format!("/{}/_all_docs", percent_encode(db)),
            &[("include_docs", "true")],
        );
        match status {
            200 => {}
            404 => return Vec::new(),
            _ => panic!("{COUCH}: /{db}/_all_docs: {status} {answer}"),
        }
        answer["rows"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|row| {
                !row["id"]
                    .as_str()
                    .unwrap_or_default()
                    .starts_with("_design/")
            })
            .map(|row| row["doc"].clone())
            .collect()
    }
}

/// An HTTP basic `Authorization` value.
pub fn basic_auth(user: &str, password: &str) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let input = format!("{user}:{password}").into_bytes();
    let mut out = String::from("Basic ");
    for chunk in input.chunks(3) {
        let b = [
            chunk.first().copied().unwrap_or(0),
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Percent-encodes all but unreserved characters (a URL path segment).
fn percent_encode(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// osmem-server (PyPI): OpenSearch/Elasticsearch-compatible
// ---------------------------------------------------------------------------------------------

/// osmem-server 0.1.6 (PyPI `osmem-server`, a Go binary in the wheel), an in-memory server of
/// the OpenSearch REST API (it reports OpenSearch 3.8.0) on 127.0.0.1:`port`: `POST /_bulk`
/// and `/<index>/_bulk` (NDJSON, must end in `\n`, else 400), index auto-creation with dynamic
/// mapping, `_refresh`, `_count`, `_search`, `_cat/indices`. It exits with the test process
/// (`-parent-pid`). The binary is `<repo>/target/pypi/osmem_server/bin/osmem-server`, or
/// `$OSMEM_SERVER_BIN`.
pub struct OpenSearch {
    pub process: Process,
    pub port: u16,
}

impl OpenSearch {
    pub fn start(dir: &Path) -> OpenSearch {
        create_dir(OPENSEARCH, dir);
        let bin = std::env::var_os("OSMEM_SERVER_BIN").map_or_else(
            || {
                repo_root()
                    .join("target")
                    .join("pypi")
                    .join("osmem_server")
                    .join("bin")
                    .join("osmem-server")
            },
            PathBuf::from,
        );
        if !bin.exists() {
            panic!(
                "{OPENSEARCH}: {} is missing; run `python3 -m pip install --target target/pypi \
                 osmem-server==0.1.6` in the repository",
                bin.display()
            );
        }
        let (process, port) = spawn_until_ready(
            OPENSEARCH,
            || {
                let port = free_port();
                let log = dir.join(format!("opensearch-{port}.log"));
                let mut cmd = Command::new(&bin);
                cmd.arg("-addr")
                    .arg(format!("127.0.0.1:{port}"))
                    .arg("-no-stdin-watch")
                    .arg("-no-ja")
                    .arg("-parent-pid")
                    .arg(std::process::id().to_string())
                    .current_dir(dir);
                (Process::spawn(OPENSEARCH, cmd, &log), port)
            },
            |port: &u16| probe(&local_url(*port, "/")) == 200,
        );
        OpenSearch { process, port }
    }

    /// `http://127.0.0.1:PORT` followed by `path`.
    pub fn url(&self, path: &str) -> String {
        local_url(self.port, path)
    }

    /// `POST /_refresh` (the helpers below do it first).
    pub fn refresh(&self) {
        let (status, text) = http(OPENSEARCH, "POST", &self.url("/_refresh"), &[], &[], None);
        if status != 200 {
            panic!("{OPENSEARCH}: _refresh: {status} {text}");
        }
    }

    /// The index names (`_cat/indices?format=json`).
    pub fn indices(&self) -> Vec<String> {
        self.refresh();
        let (status, answer) = http_json(
            OPENSEARCH,
            "GET",
            &self.url("/_cat/indices"),
            &[("format", "json")],
            &[],
            None,
        );
        if status != 200 {
            panic!("{OPENSEARCH}: _cat/indices: {status} {answer}");
        }
        let mut names: Vec<String> = answer
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|i| i["index"].as_str().map(str::to_string))
            .collect();
        names.sort();
        names
    }

    /// `GET /<index>/_count` (index may be a pattern like `glint-*`); 0 if no such index.
    pub fn count(&self, index: &str) -> u64 {
        self.refresh();
        let (status, answer) = http_json(
            OPENSEARCH,
            "GET",
            &self.url(&format!("/{index}/_count")),
            &[],
            &[],
            None,
        );
        match status {
            200 => answer["count"].as_u64().unwrap_or(0),
            404 => 0,
            _ => panic!("{OPENSEARCH}: {index}/_count: {status} {answer}"),
        }
    }

    /// `POST /<index>/_search` with a query body: the raw answer (`hits.hits[]._source`);
    /// None if no such index.
    pub fn search(&self, index: &str, body: &Value) -> Option<Value> {
        self.refresh();
        let (status, answer) = http_json(
            OPENSEARCH,
            "POST",
            &self.url(&format!("/{index}/_search")),
            &[],
            &[("Content-Type", "application/json")],
            Some(&body.to_string()),
        );
        match status {
            200 => Some(answer),
            404 => None,
            _ => panic!("{OPENSEARCH}: {index}/_search: {status} {answer}"),
        }
    }

    /// The `_source` of up to 10 000 documents of `index`; none if no such index.
    pub fn docs(&self, index: &str) -> Vec<Value> {
        let body = serde_json::json!({ "size": 10000, "query": { "match_all": {} } });
        self.search(index, &body)
            .map(|answer| {
                answer["hits"]["hits"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|hit| hit["_source"].clone())
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Bodies an [`http_sink`] keeps: a test reads the first few; a benchmark posting thousands
/// must not fill memory with them.
pub const SINK_KEEPS: usize = 16;

/// A RESTful target on 127.0.0.1 (the port it answers on): answers 200 to every POST and
/// keeps the first [`SINK_KEEPS`] bodies.
pub fn http_sink() -> (u16, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use std::io::{BufRead, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let port = listener.local_addr().map(|a| a.port()).unwrap_or_default();
    let bodies = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let kept = bodies.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = std::io::BufReader::new(stream);
            let mut length = 0usize;
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap_or(0) > 0 {
                if line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
                line.clear();
            }
            let mut body = vec![0; length];
            if reader.read_exact(&mut body).is_ok() {
                let mut kept = kept.lock().unwrap_or_else(|e| e.into_inner());
                if kept.len() < SINK_KEEPS {
                    kept.push(String::from_utf8_lossy(&body).into_owned());
                }
            }
            let _ = reader
                .get_mut()
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
        }
    });
    (port, bodies)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_util_inspect() {
        let text = "{\n  'statsd.bad_lines_seen': 1,\n  'glint.cpu.total': 12.5,\n  plain: -3,\n  \
                    'it\\'s': NaN\n}";
        let v = parse_inspect(text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(v["statsd.bad_lines_seen"], 1);
        assert_eq!(v["glint.cpu.total"], 12.5);
        assert_eq!(v["plain"], -3);
        assert_eq!(v["it's"], Value::Null);
        let timers = parse_inspect("{ 'glint.t': [ 12, 13.5, ... 98 more items ] }")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(timers["glint.t"], serde_json::json!([12, 13.5]));
        assert_eq!(
            parse_inspect("{}").unwrap_or_else(|e| panic!("{e}")),
            serde_json::json!({})
        );
    }

    #[test]
    fn reads_whisper_points() {
        // One archive of 3 points at 1 s, two of them written.
        let mut file = Vec::new();
        for word in [1u32, 3, 0, 1] {
            file.extend_from_slice(&word.to_be_bytes());
        }
        for word in [28u32, 1, 3] {
            file.extend_from_slice(&word.to_be_bytes());
        }
        for (ts, v) in [(101u32, 2.5f64), (0, 0.0), (100, 1.0)] {
            file.extend_from_slice(&ts.to_be_bytes());
            file.extend_from_slice(&v.to_be_bytes());
        }
        assert_eq!(whisper_points(&file), vec![(100, 1.0), (101, 2.5)]);
        assert!(whisper_points(&file[..10]).is_empty());
    }

    #[test]
    fn encodes_basic_auth() {
        assert_eq!(basic_auth("admin", "secret"), "Basic YWRtaW46c2VjcmV0");
        assert_eq!(basic_auth("a", "b"), "Basic YTpi");
        assert_eq!(basic_auth("ab", "c"), "Basic YWI6Yw==");
    }
}
