//! osmem-server (PyPI), an in-memory OpenSearch-compatible server: bulk writes, read back
//! through `_cat/indices`, `_count` and `_search`.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use super::{Process, create_dir, http, http_json, local_url, probe, repo_root, spawn_until_ready};
use crate::free_port;

const OPENSEARCH: &str = "osmem-server (the PyPI package osmem-server: python3 -m pip install \
                          --target target/pypi osmem-server; or set OSMEM_SERVER_BIN)";

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
