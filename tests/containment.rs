//! Containment: plugins that loop forever, panic, allocate past their cap or speak another
//! API version never stall the tick, the other plugins keep reporting, and the log says
//! which plugin failed and why. Also: the output and exporter test guests load and answer.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use glint::bindings::input::glint::plugin::types::{Batch, Request};
use glint::bindings::{Table, Value};
use glint::monitor::Monitor;
use glint::plugins::engine::GlintEngine;
use glint::plugins::error::PluginError;
use glint::plugins::host::StatsView;
use glint::plugins::load::PluginFile;
use glint::plugins::readings::TickReadings;
use glint::settings::config::Config;

use glint_tests::{glint, guest, run_with_limit};
use host_collectors::Source;

const BIN: &str = env!("CARGO_BIN_EXE_glint");

fn tmp() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
}

fn engine() -> GlintEngine {
    GlintEngine::new(Some(tmp().join("component-cache"))).expect("engine")
}

fn test_guest(name: &str) -> PluginFile {
    PluginFile::read(&guest(glint::embedded::GUEST_DIR, name), None)
        .unwrap_or_else(|e| panic!("test guest {name}: {e}"))
}

/// A small monitor: cpu and mem from the defaults plus the given test guests.
fn monitor(guests: &[&str]) -> (Monitor, Vec<glint::monitor::Refused>) {
    let mut config = Config::defaults().expect("defaults");
    config.plugin_limits.deadline = Duration::from_millis(300);
    // Restarted at once after each trap (the supervisor's backoff has its own tests).
    config.supervisor.backoff = Duration::ZERO;
    for plugin in glint::embedded::DEFAULT_PLUGINS {
        if plugin.name != "cpu" && plugin.name != "mem" {
            config
                .plugins
                .entry(plugin.name.to_string())
                .or_default()
                .enable = Some(false);
        }
    }
    let extra = guests.iter().map(|g| test_guest(g)).collect();
    Monitor::new(config, engine(), Source::live(), extra, None)
}

#[test]
fn hostile_guests_are_contained_and_the_tick_goes_on() {
    let (mut monitor, refused) = monitor(&["spin", "panic", "membomb"]);
    assert!(
        refused.is_empty(),
        "{:?}",
        refused
            .iter()
            .map(|r| r.error.to_string())
            .collect::<Vec<_>>()
    );
    let names: Vec<_> = monitor
        .actors()
        .iter()
        .map(|a| a.meta.name.clone())
        .collect();
    assert_eq!(
        names,
        ["cpu", "mem", "test-spin", "test-panic", "test-membomb"]
    );

    for round in 0..3 {
        let started = Instant::now();
        let snapshot = monitor.tick();
        let took = started.elapsed();
        // Deadline 300 ms + the join grace (100 ms), with slack for a loaded 2-core machine.
        assert!(
            took < Duration::from_millis(1500),
            "tick {round} took {took:?}"
        );
        assert!(snapshot.get("cpu").is_some() && snapshot.get("mem").is_some());
        for bad in ["test-spin", "test-panic", "test-membomb"] {
            assert!(snapshot.get(bad).is_none(), "{bad} reported stats");
        }
    }
    for actor in monitor.actors() {
        let restarts = actor
            .counters
            .restarts
            .load(std::sync::atomic::Ordering::Relaxed);
        if actor.meta.name.starts_with("test-") {
            // A trap poisons the instance; it is re-created before the next call: the plugin
            // is called (and fails) every tick.
            assert_eq!(
                restarts,
                2,
                "{} restarts: {:?}",
                actor.meta.name,
                glint::stats::status::PluginStatus::of(actor)
            );
        } else {
            assert_eq!(restarts, 0, "{} restarted", actor.meta.name);
        }
    }
}

#[test]
fn the_log_names_the_plugin_and_the_reason() {
    let mut cmd = glint(BIN, &tmp());
    cmd.args(["--once", "-t", "0.3", "--stdout-json", "cpu,mem"]);
    for g in ["spin", "panic", "membomb"] {
        cmd.arg("--plugin")
            .arg(guest(glint::embedded::GUEST_DIR, g));
    }
    let (out, _) = run_with_limit(cmd, Duration::from_secs(120));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let json: serde_json::Value = serde_json::from_str(stdout.trim()).expect("json");
    assert!(json["cpu"]["total"].is_number() && json["mem"]["percent"].is_number());

    let line_of = |plugin: &str| {
        stderr
            .lines()
            .find(|l| l.contains(&format!("plugin {plugin} failed")))
            .unwrap_or_else(|| panic!("no failure logged for {plugin}:\n{stderr}"))
            .to_string()
    };
    assert!(line_of("test-spin").contains("500 ms deadline"), "{stderr}");
    assert!(
        line_of("test-panic").contains("test-panic: deliberate panic for the containment test"),
        "{stderr}"
    );
    assert!(
        line_of("test-membomb").contains("memory cap of 64 MiB"),
        "{stderr}"
    );
}

#[test]
fn an_api_version_the_host_cannot_serve_is_refused_with_the_reason() {
    let (monitor, refused) = monitor(&["oldapi"]);
    assert_eq!(monitor.actors().len(), 2);
    assert_eq!(refused.len(), 1);
    let message = refused[0].error.to_string();
    assert!(
        matches!(refused[0].error, PluginError::ApiVersion { found: 99, .. }),
        "{message}"
    );
    assert!(
        message.contains("API version 99")
            && message.contains("[1]")
            && message.contains("rebuild"),
        "{message}"
    );

    let mut cmd = glint(BIN, &tmp());
    cmd.arg("plugins")
        .arg("--plugin")
        .arg(guest(glint::embedded::GUEST_DIR, "oldapi"));
    let (out, _) = run_with_limit(cmd, Duration::from_secs(120));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("refused: test-oldapi: built for plugin API version 99"),
        "{stdout}"
    );
}

#[test]
fn a_component_of_another_world_or_not_a_component_is_refused() {
    // An exporter given with --plugin runs as one, beside the input plugins.
    let (monitor, refused) = monitor(&["exporter"]);
    assert!(refused.is_empty());
    assert_eq!(monitor.actors().len(), 2);
    assert_eq!(monitor.exporters().len(), 1);
    assert_eq!(monitor.exporters()[0].name, "test-exporter");

    let junk = tmp().join("junk.wasm");
    std::fs::write(&junk, b"\0asm but not really").expect("write");
    let mut cmd = glint(BIN, &tmp());
    cmd.arg("plugins").arg("--plugin").arg(&junk);
    let (out, _) = run_with_limit(cmd, Duration::from_secs(120));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("junk: not a valid WebAssembly component"),
        "{stdout}"
    );
}

#[test]
fn output_and_exporter_test_guests_load_and_answer() {
    let engine = engine();
    let readings = Arc::new(TickReadings::new(
        Arc::new(Source::live()),
        Arc::from(Vec::new()),
    ));
    // The output guest runs as an actor beside the input plugins, told apart by its exports.
    let (mut monitor, refused) = monitor(&["output"]);
    assert!(refused.is_empty());
    assert_eq!(monitor.actors().len(), 2);
    let output = monitor.outputs()[0].clone();
    assert_eq!(output.meta.name, "test-output");
    monitor.tick();
    let store = monitor.store();
    let answer = output
        .render(
            Request {
                path: String::new(),
                query: Vec::new(),
            },
            StatsView {
                snapshot: store.snapshot(),
                store: store.clone(),
            },
        )
        .expect("the actor takes the request");
    let response = answer
        .blocking_recv()
        .expect("the actor answers")
        .expect("render succeeds");
    assert_eq!(response.status, 200);
    assert_eq!(String::from_utf8_lossy(&response.body), "cpu\nmem\n");

    let file = PluginFile::read(&guest(glint::embedded::GUEST_DIR, "exporter"), None)
        .expect("exporter guest");
    let config = Config::defaults().expect("defaults");
    let mut exporter = glint::plugins::load::load(&engine, &file, &config, readings)
        .expect("exporter guest loads");
    assert_eq!(exporter.meta.name, "test-exporter");
    let batch = |tables: Vec<(String, Table)>| Batch {
        seq: 1,
        unix_nanos: 0,
        hostname: "h".into(),
        tables,
    };
    let stats = StatsView {
        snapshot: store.snapshot(),
        store: store.clone(),
    };
    let result = exporter
        .export(&engine, stats.clone(), &[], &[batch(Vec::new())])
        .expect("the exporter answers");
    assert!(matches!(
        result,
        Err(glint::bindings::input::glint::plugin::types::ExportError::Retryable(_))
    ));
    let table = Table {
        key: None,
        columns: vec!["x".into()],
        rows: vec![vec![Value::Uint(1)]],
    };
    let result = exporter
        .export(&engine, stats, &[], &[batch(vec![("mem".into(), table)])])
        .expect("the exporter answers");
    assert!(result.is_ok());
}

#[test]
fn readings_are_collected_lazily_once_per_tick() {
    let readings = TickReadings::new(Arc::new(Source::live()), Arc::from(Vec::new()));
    assert!(readings.collected().is_empty());
    let first = readings.memory();
    let second = readings.memory();
    assert_eq!(first.total, second.total);
    assert_eq!(readings.collected(), vec!["memory"]);
}

#[test]
fn a_tick_collects_only_the_readings_its_plugins_ask_for() {
    // cpu asks for cpu stats, mem for memory: no process scan, no filesystem walk.
    let (mut monitor, _) = monitor(&[]);
    monitor.tick();
    assert_eq!(monitor.collected_last_tick(), vec!["cpu_stats", "memory"]);
}
