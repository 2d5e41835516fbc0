//! VictoriaMetrics: one server for the InfluxDB line protocol (v1 and v2 write APIs), Graphite
//! plaintext and OpenTSDB `/api/put`, read back through its export and query APIs.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use super::{
    Process, create_dir, double_quoted, free_ports, http, http_json, local_url, probe,
    spawn_until_ready,
};

const VICTORIA: &str = "VictoriaMetrics (`victoria-metrics`, from the Debian package \
                        victoria-metrics: apt-get install victoria-metrics)";

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
/// [`wait_for`](super::wait_for) on [`Victoria::export`] or [`Victoria::series`] (a new name
/// shows in [`Victoria::names`] before its samples do, and an instant [`Victoria::query`] can
/// lag more).
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
