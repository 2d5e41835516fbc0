//! pouchdb-server (npm), a CouchDB-compatible HTTP server, with or without a server admin; and
//! the HTTP basic `Authorization` value its helpers send.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use super::{
    Process, create_dir, http_json, local_url, npm_file, probe, spawn_until_ready, write_file,
};
use crate::free_port;

const COUCH: &str = "pouchdb-server (the npm package pouchdb-server, run with `node`: npm \
                     install --prefix target/npm statsd pouchdb-server)";

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_basic_auth() {
        assert_eq!(basic_auth("admin", "secret"), "Basic YWRtaW46c2VjcmV0");
        assert_eq!(basic_auth("a", "b"), "Basic YTpi");
        assert_eq!(basic_auth("ab", "c"), "Basic YWI6Yw==");
    }
}
