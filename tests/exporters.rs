//! End-to-end tests of the exporters: one glint exporting to every target at once, each a
//! real server started here on 127.0.0.1 (see `glint_tests::servers`) and read back from;
//! an outage of InfluxDB during which nothing is lost; a second glint refused the spill
//! directory the first one holds; and HTTPS to a target of a private CA (`ca_file`), and to
//! one whose certificate names another host.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use glint_tests::Server;
use glint_tests::community;
use glint_tests::servers::{
    Couch, Graphite, Influx, OpenSearch, Pushgateway, Statsd, Victoria, http_sink, wait_for,
};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_glint");

/// How long a target may take to show what glint sent: a batch a second, plus the servers'
/// own delays (VictoriaMetrics makes samples searchable within ~1 s, carbon writes whisper
/// files every few seconds) on a loaded 2-core machine.
const READ_BACK: Duration = Duration::from_secs(60);

fn tmp(test: &str) -> PathBuf {
    glint_tests::community::fresh_dir(env!("CARGO_TARGET_TMPDIR"), test)
}

fn write_config(dir: &Path, text: &str) -> String {
    let path = dir.join("glint.toml");
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("{e}"));
    path.display().to_string()
}

#[test]
fn every_exporter_delivers_to_its_real_server() {
    let dir = tmp("every-exporter");
    let targets = Targets::start(&dir);
    let csv = dir.join("files").join("glint.csv");
    let json = dir.join("files").join("glint.json");
    let config = write_config(&dir, &targets.config());
    let exporters = "influxdb,influxdb2,opentsdb,graphite,statsd,pushgateway,elasticsearch,couchdb,restful,csv,json";
    let server = Server::start(
        BIN,
        &dir,
        &[
            "-C",
            &config,
            "-t",
            "1",
            "--export",
            exporters,
            "--export-csv-file",
            &csv.display().to_string(),
            "--export-json-file",
            &json.display().to_string(),
        ],
        None,
    );
    let total = wait_for("glint's first tick", READ_BACK, || {
        server.get("/api/3/mem").1["stats"][0]["total"].as_f64()
    });
    let host = glint::export::hostname();
    let dotted_host = glint_sdk_name_part(&host);

    influxdb_holds_a_measurement_per_plugin(&targets.influx, total, &host);
    victoria_metrics_holds_the_v2_and_opentsdb_series(&targets.victoria, total, &host);
    carbon_holds_the_graphite_plugins(&targets.graphite, total, &dotted_host);
    statsd_holds_the_gauges(&targets.statsd, total, &dotted_host);
    the_pushgateway_holds_the_exposition(&targets.pushgateway, total, &host);
    opensearch_and_couchdb_hold_documents(&targets.opensearch, &targets.couch, total);

    // RESTful: JSON arrays of batch documents.
    let body = wait_for("the RESTful target to get a batch", READ_BACK, || {
        targets
            .rest_bodies
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .first()
            .cloned()
    });
    let batches: Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
    assert_eq!(batches[0]["mem"]["total"].as_f64(), Some(total), "{body}");
    assert_eq!(batches[0]["hostname"], host.as_str());

    // CSV and JSON lines, in the granted files.
    the_files_hold_lines(&csv, &json, total);

    // Every exporter reports its deliveries, and none failed.
    // (The API's statuses are as of the last tick: wait for one after the first delivery.)
    for name in exporters.split(',') {
        let status = wait_for(&format!("{name} to report a delivery"), READ_BACK, || {
            let s = community::status(&server, name);
            (s["export"]["sent"].as_u64().unwrap_or(0) >= 1).then_some(s)
        });
        assert_eq!(status["kind"], "exporter", "{name}: {status}");
        assert_eq!(status["status"], "running", "{name}: {status}");
        assert!(
            status["export"]["sent"].as_u64().unwrap_or(0) >= 1,
            "{name}: {status}"
        );
        assert_eq!(status["export"]["rejected"], 0, "{name}: {status}");
        assert_eq!(status["export"]["dropped"], 0, "{name}: {status}");
    }
    // An embedded exporter may reach its own target and nothing else.
    let status = community::status(&server, "influxdb");
    assert_eq!(
        status["capabilities"],
        serde_json::json!([format!("network http://127.0.0.1:{}", targets.influx.port)]),
        "{status}"
    );
}

/// A real server for every exporter, started in `dir`, and a RESTful sink.
struct Targets {
    influx: Influx,
    victoria: Victoria,
    pushgateway: Pushgateway,
    graphite: Graphite,
    statsd: Statsd,
    couch: Couch,
    opensearch: OpenSearch,
    rest_port: u16,
    rest_bodies: Arc<Mutex<Vec<String>>>,
}

impl Targets {
    fn start(dir: &Path) -> Targets {
        let influx = Influx::start(dir);
        let victoria = Victoria::start(dir);
        let pushgateway = Pushgateway::start(dir);
        let graphite = Graphite::start(dir);
        let statsd = Statsd::start(dir);
        let couch = Couch::start(dir);
        let opensearch = OpenSearch::start(dir);
        let (rest_port, rest_bodies) = http_sink();
        Targets {
            influx,
            victoria,
            pushgateway,
            graphite,
            statsd,
            couch,
            opensearch,
            rest_port,
            rest_bodies,
        }
    }

    /// The config sending to each of them.
    fn config(&self) -> String {
        format!(
            r#"
[plugins.influxdb]
url = "http://127.0.0.1:{influx}"
db = "glint"
tags = "dc:test"

[plugins.influxdb2]
url = "http://127.0.0.1:{vm}"
org = "glint-org"
bucket = "glint-bucket"
token = "secret-token"

[plugins.opentsdb]
url = "http://127.0.0.1:{tsdb}"

[plugins.graphite]
url = "tcp://127.0.0.1:{carbon}"
plugins = ["mem", "load"]

[plugins.statsd]
url = "udp://127.0.0.1:{statsd}"

[plugins.pushgateway]
url = "http://127.0.0.1:{push}"

[plugins.elasticsearch]
url = "http://127.0.0.1:{es}"
index = "glint"

[plugins.couchdb]
url = "http://127.0.0.1:{couch}"
db = "glint"

[plugins.restful]
url = "http://127.0.0.1:{rest}/stats"
"#,
            influx = self.influx.port,
            vm = self.victoria.http_port,
            tsdb = self.victoria.opentsdb_port,
            carbon = self.graphite.line_port,
            statsd = self.statsd.port,
            push = self.pushgateway.port,
            es = self.opensearch.port,
            couch = self.couch.port,
            rest = self.rest_port,
        )
    }
}

/// InfluxDB 1.x: a measurement per plugin, key fields and the host name as tags.
fn influxdb_holds_a_measurement_per_plugin(influx: &Influx, total: f64, host: &str) {
    let points = wait_for("InfluxDB to hold mem", READ_BACK, || {
        let p = influx.points("glint", "mem");
        (!p.is_empty()).then_some(p)
    });
    assert_eq!(points[0]["total"].as_f64(), Some(total), "{points:?}");
    assert_eq!(points[0]["hostname"], host, "{points:?}");
    assert_eq!(points[0]["dc"], "test", "{points:?}");
    let network = wait_for("InfluxDB to hold network", READ_BACK, || {
        let p = influx.points("glint", "network");
        (!p.is_empty()).then_some(p)
    });
    // The key column is a tag (the network plugin hides `lo` by default).
    assert!(
        network
            .iter()
            .all(|p| p["interface_name"].as_str().is_some_and(|i| !i.is_empty())),
        "{network:?}"
    );
}

/// InfluxDB v2 write API and OpenTSDB /api/put, both into VictoriaMetrics.
fn victoria_metrics_holds_the_v2_and_opentsdb_series(victoria: &Victoria, total: f64, host: &str) {
    // InfluxDB v2 write API, into VictoriaMetrics: `measurement_field`.
    let series = wait_for("VictoriaMetrics to hold mem_total", READ_BACK, || {
        victoria.flush();
        let s = victoria.export("{__name__=\"mem_total\"}");
        (!s.is_empty()).then_some(s)
    });
    assert_eq!(series[0]["values"][0].as_f64(), Some(total), "{series:?}");
    assert_eq!(series[0]["metric"]["hostname"], host, "{series:?}");

    // OpenTSDB /api/put, into VictoriaMetrics: `prefix.plugin.field` with a host tag.
    let series = wait_for("VictoriaMetrics to hold glint.mem.total", READ_BACK, || {
        victoria.flush();
        let s = victoria.export("{__name__=\"glint.mem.total\"}");
        (!s.is_empty()).then_some(s)
    });
    assert_eq!(series[0]["values"][0].as_f64(), Some(total), "{series:?}");
    assert_eq!(series[0]["metric"]["host"], host, "{series:?}");
}

/// Graphite plaintext, into carbon's whisper files: `prefix.host.plugin.field`, for the
/// exporter's `plugins` only.
fn carbon_holds_the_graphite_plugins(graphite: &Graphite, total: f64, dotted_host: &str) {
    let metric = format!("glint.{dotted_host}.mem.total");
    let stored = wait_for("carbon to store mem.total", READ_BACK, || {
        let p = graphite.points(&metric);
        (!p.is_empty()).then_some(p)
    });
    assert!(
        stored.iter().any(|(_, v)| *v == total),
        "{metric}: {stored:?}"
    );
    assert!(
        !graphite.metrics().iter().any(|m| m.contains(".cpu.")),
        "graphite exports only its `plugins`"
    );
}

/// StatsD gauges: `prefix.host.plugin.key.field`.
fn statsd_holds_the_gauges(statsd: &Statsd, total: f64, dotted_host: &str) {
    let gauges = wait_for("statsd to hold the gauges", READ_BACK, || {
        let g = statsd.gauges();
        g.contains_key(&format!("glint.{dotted_host}.mem.total"))
            .then_some(g)
    });
    assert_eq!(
        gauges[&format!("glint.{dotted_host}.mem.total")].as_f64(),
        Some(total)
    );
    // A list plugin's key is a part of the name.
    let prefix = format!("glint.{dotted_host}.network.");
    assert!(
        gauges.keys().any(|k| k.starts_with(&prefix)
            && k.ends_with(".bytes_recv_gauge")
            && k.matches('.').count() == 4),
        "{:?}",
        gauges
            .keys()
            .filter(|k| k.contains("network"))
            .collect::<Vec<_>>()
    );
}

/// Pushgateway: the /metrics exposition, grouped by job and instance.
fn the_pushgateway_holds_the_exposition(pushgateway: &Pushgateway, total: f64, host: &str) {
    let values = wait_for(
        "the Pushgateway to hold glint_mem_total_bytes",
        READ_BACK,
        || {
            let v = pushgateway.values("glint_mem_total_bytes");
            (!v.is_empty()).then_some(v)
        },
    );
    assert_eq!(values[0].1, total, "{values:?}");
    assert_eq!(values[0].0["instance"], host, "{values:?}");
    assert_eq!(values[0].0["job"], "glint", "{values:?}");
}

/// Elasticsearch bulk API: a document per row; CouchDB: a document per plugin per batch.
fn opensearch_and_couchdb_hold_documents(opensearch: &OpenSearch, couch: &Couch, total: f64) {
    // Elasticsearch bulk API: a document per row.
    let docs = wait_for("OpenSearch to hold mem documents", READ_BACK, || {
        opensearch.refresh();
        let d: Vec<Value> = opensearch
            .docs("glint")
            .into_iter()
            .filter(|d| d["plugin"] == "mem")
            .collect();
        (!d.is_empty()).then_some(d)
    });
    assert_eq!(docs[0]["total"].as_f64(), Some(total), "{:?}", docs[0]);
    assert!(docs[0]["@timestamp"].is_string(), "{:?}", docs[0]);

    // CouchDB: a document per plugin per batch.
    let docs = wait_for("CouchDB to hold mem documents", READ_BACK, || {
        let d: Vec<Value> = couch
            .docs("glint")
            .into_iter()
            .filter(|d| d["type"] == "mem")
            .collect();
        (!d.is_empty()).then_some(d)
    });
    assert_eq!(
        docs[0]["stats"]["total"].as_f64(),
        Some(total),
        "{:?}",
        docs[0]
    );
}

/// CSV and JSON lines, in the granted files.
fn the_files_hold_lines(csv: &Path, json: &Path, total: f64) {
    let csv_text = wait_for("the CSV file to have two lines", READ_BACK, || {
        let t = std::fs::read_to_string(csv).ok()?;
        (t.lines().count() >= 2).then_some(t)
    });
    let header: Vec<&str> = csv_text
        .lines()
        .next()
        .unwrap_or_default()
        .split(',')
        .collect();
    let row: Vec<&str> = csv_text
        .lines()
        .nth(1)
        .unwrap_or_default()
        .split(',')
        .collect();
    let column = header
        .iter()
        .position(|c| *c == "mem.total")
        .unwrap_or_else(|| panic!("no mem.total in {header:?}"));
    assert_eq!(header[0], "timestamp");
    assert_eq!(row[column].parse::<f64>().ok(), Some(total), "{csv_text}");
    let json_text = wait_for("the JSON file to have a line", READ_BACK, || {
        std::fs::read_to_string(json)
            .ok()
            .filter(|t| t.contains('\n'))
    });
    let first: Value = serde_json::from_str(json_text.lines().next().unwrap_or_default())
        .unwrap_or_else(|e| panic!("{e}: {json_text}"));
    assert_eq!(first["mem"]["total"].as_f64(), Some(total));
    assert!(first["network"].is_array(), "{first}");
}

/// The host part of a dotted name, cleaned as the SDK's `name_part` does.
fn glint_sdk_name_part(part: &str) -> String {
    part.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[test]
fn an_influxdb_outage_loses_nothing() {
    let dir = tmp("influx-outage");
    let spill = dir.join("spill");
    let mut influx = Influx::start(&dir);
    let config = write_config(
        &dir,
        &format!(
            "[plugins.influxdb]\nurl = \"http://127.0.0.1:{}\"\ndb = \"glint\"\nplugins = [\"load\"]\nretry_ms = 500\nmax_retry_ms = 2000\n\
             # Room in memory for a few batches: the rest of the outage goes to disk.\n\
             buffer_mb = 0.001\nspill_dir = \"{}\"\n",
            influx.port,
            spill.display()
        ),
    );
    let server = Server::start(
        BIN,
        &dir,
        &["-C", &config, "-t", "1", "--export", "influxdb"],
        None,
    );
    wait_for("InfluxDB to get the first batches", READ_BACK, || {
        (influx.points("glint", "load").len() >= 3).then_some(())
    });

    // 30 s down while glint exports every second.
    influx.stop();
    let down = Instant::now();
    let kept = wait_for(
        "glint to keep batches while InfluxDB is down",
        READ_BACK,
        || {
            let s = community::status(&server, "influxdb");
            (s["export"]["buffered"].as_u64().unwrap_or(0) >= 5).then_some(s)
        },
    );
    assert!(kept["export"]["last_error"].is_string(), "{kept}");
    std::thread::sleep(Duration::from_secs(30).saturating_sub(down.elapsed()));
    let during = community::status(&server, "influxdb");
    assert!(
        during["export"]["buffered"].as_u64().unwrap_or(0) >= 25,
        "{during}"
    );
    // Most of them on disk, in the exporter's own directory.
    let spilled = during["export"]["spilled"].as_u64().unwrap_or(0);
    assert!(spilled >= 15, "{during}");
    let files = std::fs::read_dir(spill.join("influxdb")).map_or(0, |d| d.count()) as u64;
    assert!(
        files >= 15,
        "{files} files in the spill directory: {during}"
    );
    influx.restart();

    // Back: the backlog is replayed, in order, and the buffer empties (the API's status is
    // taken as the tick hands over its batch: one is waiting then).
    let status = wait_for("glint to replay its backlog", READ_BACK, || {
        let s = community::status(&server, "influxdb");
        (s["export"]["buffered"].as_u64().unwrap_or(u64::MAX) <= 1
            && s["export"]["last_error"].is_null())
        .then_some(s)
    });
    assert_eq!(status["export"]["dropped"], 0, "{status}");
    assert_eq!(status["export"]["rejected"], 0, "{status}");
    let left = std::fs::read_dir(spill.join("influxdb")).map_or(0, |d| d.count());
    assert!(left <= 1, "{left} spilled files left after the replay");
    assert!(
        status["export"]["largest_call"].as_u64().unwrap_or(0) > 1,
        "the backlog went in batches of several: {status}"
    );
    let sent = status["export"]["sent"].as_u64().unwrap_or(0);
    every_batch_arrived_once_without_a_gap(&influx, sent);
}

/// What InfluxDB holds after the replay: every batch `sent` once, in order, with no gap in the
/// outage.
fn every_batch_arrived_once_without_a_gap(influx: &Influx, sent: u64) {
    let points = influx.points("glint", "load");
    // Once each: as many points as batches delivered (a duplicate would add none, since
    // InfluxDB keeps one point per series and time; a lost batch would leave one out).
    let times: Vec<i64> = points.iter().filter_map(|p| p["time"].as_i64()).collect();
    assert!(
        times.len() as u64 >= sent,
        "{} points for {sent} batches sent",
        times.len()
    );
    let mut sorted = times.clone();
    sorted.dedup();
    assert_eq!(
        sorted.len(),
        times.len(),
        "a point arrived twice: {times:?}"
    );
    // Every second of the outage is there: no gap between points over 1.9 s (a tick
    // every second, give or take a slow tick).
    let gaps: Vec<i64> = times.windows(2).map(|w| w[1] - w[0]).collect();
    let longest = gaps.iter().copied().max().unwrap_or(0);
    assert!(
        longest < 1_900,
        "a gap of {longest} ms between points: {times:?}"
    );
    let span = times.last().copied().unwrap_or(0) - times.first().copied().unwrap_or(0);
    assert!(
        span >= 30_000,
        "the points span {span} ms, less than the outage"
    );
}

#[test]
fn a_stopped_glint_keeps_its_batches_for_the_next_run() {
    let dir = tmp("stop-and-replay");
    let spill = dir.join("spill");
    let mut influx = Influx::start(&dir);
    // The target is down from the start: every batch stays in memory.
    influx.stop();
    let config = write_config(
        &dir,
        &format!(
            "[plugins.influxdb]\nurl = \"http://127.0.0.1:{}\"\ndb = \"glint\"\nplugins = [\"load\"]\nretry_ms = 500\nmax_retry_ms = 1000\nspill_dir = \"{}\"\n",
            influx.port,
            spill.display()
        ),
    );
    let args = ["-C", config.as_str(), "-t", "1", "--export", "influxdb"];
    let mut first = Server::start(BIN, &dir, &args, None);
    let kept = wait_for("glint to keep 5 batches", READ_BACK, || {
        let s = community::status(&first, "influxdb");
        let buffered = s["export"]["buffered"].as_u64().unwrap_or(0);
        (buffered >= 5).then_some(buffered)
    });
    assert_eq!(
        community::status(&first, "influxdb")["export"]["spilled"],
        0,
        "all in memory while the buffer has room"
    );

    // SIGTERM, as a service manager stops it: the exporter spills what it holds, and glint
    // exits cleanly.
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &first.pid().to_string()])
        .status()
        .unwrap_or_else(|e| panic!("kill: {e}"));
    assert!(killed.success());
    let status = first
        .wait_exit(Duration::from_secs(30))
        .unwrap_or_else(|| panic!("glint did not exit after SIGTERM: {}", first.stderr_text()));
    assert!(status.success(), "{status:?}: {}", first.stderr_text());
    let files = std::fs::read_dir(spill.join("influxdb")).map_or(0, |d| d.count()) as u64;
    assert!(
        files >= kept,
        "{files} spilled files for {kept} batches kept"
    );
    drop(first);

    // The next run sends them first, once the target is up.
    influx.restart();
    let second = Server::start(BIN, &dir, &args, None);
    let points = wait_for("the earlier run's batches to arrive", READ_BACK, || {
        let p = influx.points("glint", "load");
        (p.len() as u64 > files).then_some(p)
    });
    let left = wait_for("the spill directory to empty", READ_BACK, || {
        let n = std::fs::read_dir(spill.join("influxdb")).map_or(0, |d| d.count());
        (n == 0).then_some(n)
    });
    assert_eq!(left, 0);
    // (The API's status is as of the last tick.)
    wait_for(
        "the second run to count what it replayed",
        READ_BACK,
        || {
            let s = community::status(&second, "influxdb");
            (s["export"]["sent"].as_u64().unwrap_or(0) >= files).then_some(())
        },
    );
    let times: Vec<i64> = points.iter().filter_map(|p| p["time"].as_i64()).collect();
    let mut unique = times.clone();
    unique.dedup();
    assert_eq!(
        unique.len(),
        times.len(),
        "a point arrived twice: {times:?}"
    );
}

#[test]
fn a_stuck_target_delays_neither_the_tick_nor_the_other_exporters() {
    let dir = tmp("stuck-target");
    // Accepts connections and never answers: every request of its exporter hangs until the
    // SDK's timeout.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let port = listener.local_addr().map(|a| a.port()).unwrap_or_default();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    let json = dir.join("files").join("glint.json");
    let config = write_config(
        &dir,
        &format!("[plugins.restful]\nurl = \"http://127.0.0.1:{port}/stuck\"\n"),
    );
    let server = Server::start(
        BIN,
        &dir,
        &[
            "-C",
            &config,
            "-t",
            "1",
            "--export",
            "restful,json",
            "--export-json-file",
            &json.display().to_string(),
        ],
        None,
    );
    // Long enough for the stuck exporter to time out once (5 s) and retry.
    std::thread::sleep(Duration::from_secs(9));
    let text = std::fs::read_to_string(&json).unwrap_or_default();
    let times: Vec<i64> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|v| v["seq"].as_i64())
        .collect();
    // The JSON exporter got a batch every tick, in order, with none missing.
    assert!(times.len() >= 7, "{} batches in 9 s: {text}", times.len());
    assert!(
        times.windows(2).all(|w| w[1] == w[0] + 1),
        "ticks missing or out of order: {times:?}"
    );
    let stuck = wait_for("the stuck exporter to time out", READ_BACK, || {
        let s = community::status(&server, "restful");
        s["export"]["last_error"].is_string().then_some(s)
    });
    assert_eq!(stuck["export"]["sent"], 0, "{stuck}");
    assert!(
        stuck["export"]["buffered"].as_u64().unwrap_or(0) >= 5,
        "its batches are kept: {stuck}"
    );
}

#[test]
fn a_second_glint_on_the_same_spill_dir_is_refused_and_the_first_goes_on() {
    let dir = tmp("shared-spill");
    let spill = dir.join("spill");
    let config = write_config(
        &dir,
        &format!(
            "[plugins.json]\nplugins = [\"load\"]\nspill_dir = \"{}\"\n",
            spill.display()
        ),
    );
    let file = |name: &str| dir.join("files").join(name).display().to_string();
    let (first_file, second_file) = (file("first.json"), file("second.json"));
    let common = ["-C", config.as_str(), "-t", "0.5", "--export", "json"];
    let mut first_args = common.to_vec();
    first_args.extend(["--export-json-file", first_file.as_str()]);
    let first = Server::start(BIN, &dir, &first_args, None);
    let sent = wait_for("the first glint to export", READ_BACK, || {
        let s = community::status(&first, "json");
        s["export"]["sent"].as_u64().filter(|n| *n > 0)
    });

    // The same config, so the same spill directory: refused at start, naming the directory,
    // the holder and what to do.
    let mut second = glint_tests::glint(BIN, &dir);
    second.args(common).args([
        "--export-json-file",
        second_file.as_str(),
        "--stdout-json",
        "load",
        "--once",
    ]);
    let (out, _) = glint_tests::run_with_limit(second, Duration::from_secs(120));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the second glint ran: {stderr}");
    // The lock names the directory by its real path (`export/lock.rs`; its parent's while the
    // directory itself is not made yet: nothing has spilled).
    let shared = std::fs::canonicalize(&spill)
        .unwrap_or_else(|e| panic!("the spill directory {}: {e}", spill.display()))
        .join("json")
        .display()
        .to_string();
    let holder = format!("(pid {})", first.pid());
    assert!(
        stderr.contains(&shared)
            && stderr.contains(&holder)
            && stderr.contains("its own spill_dir"),
        "{stderr}"
    );
    assert!(
        std::fs::read_to_string(&second_file).is_err(),
        "the second glint exported"
    );

    // The first goes on, its lock held.
    wait_for("the first glint to go on exporting", READ_BACK, || {
        let s = community::status(&first, "json");
        (s["status"] == "running" && s["export"]["sent"].as_u64() > Some(sent)).then_some(())
    });
}

/// A TLS target on 127.0.0.1 whose certificate, for `cert_host`, a test CA signed, and a
/// glint exporting to it as `https://localhost:PORT/stats` through `restful`, trusting the CA
/// through its `ca_file`.
fn https_export(test: &str, cert_host: &str) -> (glint_tests::tls::HttpsSink, Server) {
    let dir = tmp(test);
    let ca = glint_tests::tls::TestCa::new(&dir.join("tls"), "ca");
    let target = glint_tests::tls::https_sink("127.0.0.1:0", &ca.leaf(cert_host), "");
    let config = write_config(
        &dir,
        &format!(
            "[plugins.restful]\nurl = \"https://localhost:{}/stats\"\nca_file = \"{}\"\n",
            target.port,
            ca.cert.display()
        ),
    );
    let server = Server::start(
        BIN,
        &dir,
        &["-C", &config, "-t", "1", "--export", "restful"],
        None,
    );
    (target, server)
}

/// HTTPS to a target whose certificate a private CA signed, trusted through the exporter's
/// `ca_file`: the batches arrive, sent to the address glint checked for the name.
#[test]
fn an_https_export_to_a_target_of_a_private_ca_arrives() {
    let (target, server) = https_export("https-private-ca", "localhost");
    let request = wait_for("the HTTPS target to get a batch", READ_BACK, || {
        target
            .requests()
            .into_iter()
            .find(|r| r.starts_with("POST /stats HTTP/1.1 "))
    });
    assert!(request.contains("\"mem\""), "{request}");
    let s = wait_for("the exporter to count it sent", READ_BACK, || {
        let s = community::status(&server, "restful");
        (s["export"]["sent"].as_u64() > Some(0)).then_some(s)
    });
    assert!(
        !s["notes"].to_string().contains("ca_file"),
        "the ca_file was not taken: {s}"
    );
}

/// HTTPS to a target whose certificate names another host: glint does not send, the batch is
/// dropped for good (a retry meets the same certificate), and both the exporter's error and
/// the refusal name the host and say why.
#[test]
fn an_https_target_whose_certificate_names_another_host_is_refused_for_good() {
    let (target, server) = https_export("https-wrong-name", "other.example");
    let s = wait_for("the exporter to give the batches up", READ_BACK, || {
        let s = community::status(&server, "restful");
        (s["export"]["rejected"].as_u64() > Some(0)).then_some(s)
    });
    let host = format!("localhost:{}", target.port);
    let error = s["export"]["last_error"].as_str().unwrap_or_default();
    assert!(
        error.contains(&host) && error.contains("TLS certificate"),
        "{s}"
    );
    let refusal = s["last_refusal"].as_str().unwrap_or_default();
    assert!(
        refusal.contains(&format!("HTTPS to {host} (")) && refusal.contains("other.example"),
        "{s}"
    );
    assert_eq!(s["export"]["sent"], 0, "{s}");
    assert!(target.requests().is_empty(), "{:?}", target.requests());
}
