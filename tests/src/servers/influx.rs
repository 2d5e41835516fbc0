//! InfluxDB 1.x (`influxd`): started on free ports with its data in the test's directory,
//! stopped and restarted on the same port for outage tests, written to and queried over HTTP.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Map, Value};

use super::{
    Process, create_dir, double_quoted, free_ports, http, http_json, local_url, probe, quoted,
    spawn_until_ready, write_file,
};

const INFLUX: &str =
    "InfluxDB 1.x (`influxd`, from the Debian package influxdb: apt-get install influxdb)";

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
