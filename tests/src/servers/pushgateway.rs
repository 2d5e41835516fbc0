//! Prometheus Pushgateway: takes pushed text expositions, read back as text or per group.

use std::path::Path;
use std::process::Command;

use serde_json::{Map, Value};

use super::{Process, create_dir, http, http_json, local_url, probe, spawn_until_ready};
use crate::free_port;

const PUSHGATEWAY: &str = "Prometheus Pushgateway (`prometheus-pushgateway`, from the Debian \
                           package prometheus-pushgateway: apt-get install prometheus-pushgateway)";

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
