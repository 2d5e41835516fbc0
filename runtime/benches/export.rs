//! Each exporter against its real server on this machine (started here, as the tests do):
//! the cost of one batch of all default stats (µs per call, host + guest, with the send),
//! and sustained points per second when it sends back to back in calls of several batches
//! (a replay). The baseline, measured in the same run, is the test exporter, which accepts a
//! batch without sending it: what the host and the component boundary cost alone.
//!
//! Run: `cargo bench -p glint --bench export` (needs the servers `.ci/run` installs).

use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Duration, Instant};

use glint::bindings::ConfigValue;
use glint::bindings::input::glint::plugin::types::{Batch, Schema};
use glint::export::{ExportSettings, batch_of, hostname};
use glint::monitor::Monitor;
use glint::plugins::engine::GlintEngine;
use glint::plugins::host::StatsView;
use glint::plugins::load::LoadedPlugin;
use glint::plugins::load::PluginFile;
use glint::plugins::readings::TickReadings;
use glint::settings::config::Config;
use glint::stats::snapshot::PluginSource;
use glint_tests::servers::{
    Couch, Graphite, Influx, OpenSearch, Pushgateway, Statsd, Victoria, http_sink,
};
use host_collectors::Source;

/// Calls timed for the per-batch cost: enough for a stable median on a noisy machine.
const CALLS: usize = 40;
/// How long each exporter sends back to back for the sustained rate.
const SUSTAINED: Duration = Duration::from_secs(4);
/// Batches per call in the sustained run: a replay's calls carry several.
const BATCHES_PER_CALL: usize = 10;
/// Exporters that send only the newest batch of a call (their targets keep only the latest
/// value): their sustained run sends one batch per call, so the rate counts what is sent.
const NEWEST_ONLY: &[&str] = &["statsd", "pushgateway"];

fn numeric_points(batch: &Batch) -> usize {
    use glint::bindings::Value as V;
    batch
        .tables
        .iter()
        .map(|(_, t)| {
            t.rows
                .iter()
                .map(|r| {
                    r.iter()
                        .filter(|v| {
                            matches!(v, V::Int(_) | V::Uint(_) | V::Float(_) | V::Boolean(_))
                        })
                        .count()
                })
                .sum::<usize>()
        })
        .sum()
}

fn load(engine: &GlintEngine, config: &Config, name: &str) -> LoadedPlugin {
    let file = if let Some(p) = glint::embedded::DEFAULT_PLUGINS
        .iter()
        .find(|p| p.name == name)
    {
        PluginFile {
            label: name.to_string(),
            bytes: Cow::Borrowed(p.bytes),
            sha256: p.sha256,
            source: PluginSource::Embedded,
            manifest: None,
        }
    } else {
        let path = glint_tests::guest(glint::embedded::GUEST_DIR, name);
        PluginFile::read(&path, None).unwrap_or_else(|e| panic!("{name}: {e}"))
    };
    let readings = Arc::new(TickReadings::new(
        Arc::new(Source::live()),
        Arc::from(Vec::new()),
    ));
    glint::plugins::load::load(engine, &file, config, readings)
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

struct Figures {
    median_micros: f64,
    points_per_sec: f64,
}

fn measure(
    engine: &GlintEngine,
    plugin: &mut LoadedPlugin,
    stats: &StatsView,
    schema: &[Schema],
    batch: &Batch,
    points: usize,
) -> Figures {
    let name = plugin.meta.name.clone();
    let mut call = |batches: &[Batch]| match plugin.export(engine, stats.clone(), schema, batches) {
        Ok(Ok(())) => {}
        Ok(Err(e)) => panic!("{name}: {e:?}"),
        Err(e) => panic!("{name}: {e}"),
    };
    // The first call opens connections and creates databases: not what a tick costs.
    call(std::slice::from_ref(batch));
    let mut times: Vec<f64> = (0..CALLS)
        .map(|_| {
            let started = Instant::now();
            call(std::slice::from_ref(batch));
            started.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    times.sort_by(f64::total_cmp);
    let per_call = if NEWEST_ONLY.contains(&name.as_str()) {
        1
    } else {
        BATCHES_PER_CALL
    };
    let batches: Vec<Batch> = (0..per_call)
        .map(|i| {
            let mut b = batch.clone();
            // Distinct times, as a replay's batches have: a target that keeps one point per
            // series and time must store every one.
            b.unix_nanos += (i as u64 + 1) * 1_000_000_000;
            b
        })
        .collect();
    let started = Instant::now();
    let mut sent = 0usize;
    while started.elapsed() < SUSTAINED {
        call(&batches);
        sent += per_call;
    }
    Figures {
        median_micros: times[times.len() / 2],
        points_per_sec: (sent * points) as f64 / started.elapsed().as_secs_f64(),
    }
}

fn set(config: &mut Config, plugin: &str, pairs: &[(&str, String)]) {
    let section = config.plugins.entry(plugin.to_string()).or_default();
    for (k, v) in pairs {
        section
            .settings
            .insert((*k).to_string(), ConfigValue::Text(v.clone()));
    }
}

// Long as a script is: the bench's phases in the order they run (servers up, one batch,
// every exporter against the same baseline, the table), each a few lines.
fn main() {
    let dir = std::env::temp_dir().join(format!("glint-export-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let engine =
        GlintEngine::new(GlintEngine::default_cache_dir()).unwrap_or_else(|e| panic!("{e}"));

    // One batch of all default stats, as an exporter with default settings takes it (two
    // ticks, so the rates are there).
    let (mut monitor, _) = Monitor::new(
        Config::defaults().unwrap_or_else(|e| panic!("{e}")),
        GlintEngine::new(GlintEngine::default_cache_dir()).unwrap_or_else(|e| panic!("{e}")),
        Source::live(),
        Vec::new(),
        None,
    );
    monitor.tick();
    std::thread::sleep(Duration::from_millis(500));
    let snapshot = monitor.tick();
    let settings = ExportSettings::from_section("bench", None, Duration::from_secs(2))
        .unwrap_or_else(|e| panic!("{e}"));
    let (batch, schema) = batch_of(&snapshot, &settings, &hostname());
    let points = numeric_points(&batch);
    let store = monitor.store();
    let stats = StatsView {
        snapshot: store.snapshot(),
        store: store.clone(),
    };

    let influx = Influx::start(&dir);
    let victoria = Victoria::start(&dir);
    let pushgateway = Pushgateway::start(&dir);
    let graphite = Graphite::start(&dir);
    let statsd = Statsd::start(&dir);
    let couch = Couch::start(&dir);
    let opensearch = OpenSearch::start(&dir);
    let files = dir.join("files");
    let mut config = Config::defaults().unwrap_or_else(|e| panic!("{e}"));
    let local = |port: u16| format!("http://127.0.0.1:{port}");
    set(&mut config, "influxdb", &[("url", local(influx.port))]);
    set(
        &mut config,
        "influxdb2",
        &[
            ("url", local(victoria.http_port)),
            ("org", "glint".into()),
            ("bucket", "glint".into()),
            ("token", "t".into()),
        ],
    );
    set(
        &mut config,
        "opentsdb",
        &[("url", local(victoria.opentsdb_port))],
    );
    set(
        &mut config,
        "graphite",
        &[("url", format!("tcp://127.0.0.1:{}", graphite.line_port))],
    );
    set(
        &mut config,
        "statsd",
        &[("url", format!("udp://127.0.0.1:{}", statsd.port))],
    );
    set(
        &mut config,
        "pushgateway",
        &[("url", local(pushgateway.port))],
    );
    set(
        &mut config,
        "elasticsearch",
        &[("url", local(opensearch.port))],
    );
    set(&mut config, "couchdb", &[("url", local(couch.port))]);
    let (sink, _bodies) = http_sink();
    set(
        &mut config,
        "restful",
        &[("url", format!("{}/stats", local(sink)))],
    );
    set(
        &mut config,
        "csv",
        &[("file", files.join("b.csv").display().to_string())],
    );
    set(
        &mut config,
        "json",
        &[("file", files.join("b.json").display().to_string())],
    );

    println!(
        "one batch of all default stats: {} plugins, {points} numeric points ({} tables' rows)",
        batch.tables.len(),
        batch
            .tables
            .iter()
            .map(|(_, t)| t.rows.len())
            .sum::<usize>()
    );
    println!(
        "{:<14} {:>12} {:>10} {:>16}",
        "exporter", "µs/batch", "× base", "points/s"
    );
    let mut baseline = None;
    for name in [
        "exporter",
        "csv",
        "json",
        "influxdb",
        "influxdb2",
        "opentsdb",
        "graphite",
        "statsd",
        "pushgateway",
        "elasticsearch",
        "couchdb",
        "restful",
    ] {
        let mut plugin = load(&engine, &config, name);
        let f = measure(&engine, &mut plugin, &stats, &schema, &batch, points);
        let base = *baseline.get_or_insert(f.median_micros);
        let label = if name == "exporter" {
            "(baseline)"
        } else {
            name
        };
        println!(
            "{label:<14} {:>12.0} {:>10.1} {:>16.0}",
            f.median_micros,
            f.median_micros / base,
            f.points_per_sec
        );
    }
    println!(
        "(restful posts to a sink in this process that only reads the request; statsd and \
         pushgateway send the newest batch of a call only.)"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
