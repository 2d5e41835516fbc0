//! End-to-end: the built `glint` binary on this machine — every default plugin's fields and
//! types through `--once --stdout-json`, the other stdout formats, config handling and the
//! plugin listing.

use std::path::PathBuf;
use std::time::Duration;

use glint_tests::{Kind, Kind::*, check_fields, glint, run_with_limit};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_glint");

fn tmp() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
}

/// Runs glint with `args` and fails the test unless it succeeds; returns stdout and stderr.
/// Cold compile of every plugin in a debug build takes a few seconds: the limit leaves room.
fn run_ok(args: &[&str]) -> (String, String) {
    let mut cmd = glint(BIN, &tmp());
    cmd.args(args);
    let (out, _) = run_with_limit(cmd, Duration::from_secs(120));
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "glint {args:?} failed: {stderr}");
    (String::from_utf8_lossy(&out.stdout).to_string(), stderr)
}

/// `--once` waits one refresh; 0.5 s keeps the tests quick.
fn once_json(extra: &[&str]) -> (Value, String) {
    let args: Vec<&str> = ["--once", "-t", "0.5"]
        .iter()
        .chain(extra)
        .copied()
        .collect();
    let (stdout, stderr) = run_ok(&args);
    let line = stdout.lines().next().unwrap_or_default();
    let json = serde_json::from_str(line)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}\nstderr: {stderr}"));
    (json, stderr)
}

const ALL: &str = "system,uptime,now,ip,quicklook,core,cpu,percpu,mem,memswap,load,network,wifi,\
diskio,fs,folders,raid,sensors,irq,processcount,processlist,alert";

/// Rate counters: the delta, the raw counter, the rate (numbers after two ticks).
fn rate(name: &'static str) -> Vec<(String, Kind)> {
    vec![
        (name.to_string(), NumOrNull),
        (format!("{name}_gauge"), Num),
        (format!("{name}_rate_per_sec"), NumOrNull),
    ]
}

fn check(plugin: &str, v: &Value, fields: &[(&str, Kind)], rates: &[&'static str]) -> Vec<String> {
    let mut all: Vec<(String, Kind)> = fields.iter().map(|(f, k)| (f.to_string(), *k)).collect();
    for r in rates {
        all.extend(rate(r));
    }
    let borrowed: Vec<(&str, Kind)> = all.iter().map(|(f, k)| (f.as_str(), *k)).collect();
    check_fields(plugin, v, &borrowed)
}

// Long for its data: one block per default plugin listing Glances' fields and their types,
// all checked against one glint run (a run per plugin would start glint 25 times).
#[test]
fn every_default_plugin_reports_glances_fields_with_their_types() {
    let (all, stderr) = once_json(&["--stdout-json", ALL]);
    let mut problems = Vec::new();
    let obj = |name: &str| all.get(name).cloned().unwrap_or(Value::Null);
    let list = |name: &str| -> Vec<Value> {
        obj(name).as_array().cloned().unwrap_or_else(|| {
            panic!("{name} is not a list: {}", obj(name));
        })
    };

    problems.extend(check(
        "system",
        &obj("system"),
        &[
            ("os_name", Str),
            ("hostname", Str),
            ("platform", Str),
            ("os_version", Str),
            ("linux_distro", Str),
            ("hr_name", Str),
        ],
        &[],
    ));
    assert_eq!(obj("system")["os_name"], "Linux");
    let uptime = obj("uptime");
    let uptime = uptime.as_str().expect("uptime is a string");
    assert!(
        uptime.matches(':').count() == 2,
        "uptime {uptime:?} is not [D day(s), ]H:MM:SS"
    );
    problems.extend(check(
        "now",
        &obj("now"),
        &[("iso", Str), ("custom", Str)],
        &[],
    ));
    problems.extend(check(
        "ip",
        &obj("ip"),
        &[
            ("address", StrOrNull),
            ("mask", StrOrNull),
            ("mask_cidr", NumOrNull),
        ],
        &[],
    ));
    problems.extend(check(
        "quicklook",
        &obj("quicklook"),
        &[
            ("cpu_name", Str),
            ("cpu", Num),
            ("percpu", List),
            ("mem", Num),
            ("swap", Num),
            ("load", Num),
            ("cpu_log_core", Num),
            ("cpu_phys_core", Num),
        ],
        &[],
    ));
    problems.extend(check(
        "core",
        &obj("core"),
        &[("phys", Num), ("log", Num)],
        &[],
    ));
    let cpu_pct = [
        "total", "user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal", "guest",
    ];
    let mut cpu_fields: Vec<(&str, Kind)> = cpu_pct.iter().map(|f| (*f, Num)).collect();
    cpu_fields.extend([("cpucore", Num), ("time_since_update", Num)]);
    problems.extend(check(
        "cpu",
        &obj("cpu"),
        &cpu_fields,
        &["ctx_switches", "interrupts", "soft_interrupts", "syscalls"],
    ));
    // After two ticks rates are numbers, not null.
    assert!(
        obj("cpu")["ctx_switches_rate_per_sec"].is_number(),
        "{}",
        obj("cpu")
    );
    let total = obj("cpu")["total"].as_f64().expect("cpu.total");
    assert!((0.0..=100.0).contains(&total), "cpu.total {total}");

    let percpu = list("percpu");
    assert!(!percpu.is_empty(), "percpu is empty");
    for p in &percpu {
        problems.extend(check(
            "percpu",
            p,
            &[
                ("cpu_number", Num),
                ("total", Num),
                ("user", Num),
                ("system", Num),
                ("idle", Num),
                ("iowait", Num),
                ("key", Str),
            ],
            &[],
        ));
    }
    assert_eq!(percpu[0]["key"], "cpu_number");

    problems.extend(check(
        "mem",
        &obj("mem"),
        &[
            ("total", Num),
            ("available", Num),
            ("percent", Num),
            ("used", Num),
            ("free", Num),
            ("active", Num),
            ("inactive", Num),
            ("buffers", Num),
            ("cached", Num),
            ("shared", Num),
        ],
        &[],
    ));
    assert!(obj("mem")["total"].as_u64().unwrap_or(0) > 0);
    problems.extend(check(
        "memswap",
        &obj("memswap"),
        &[
            ("total", Num),
            ("used", Num),
            ("free", Num),
            ("percent", Num),
            ("sin", Num),
            ("sout", Num),
        ],
        &[],
    ));
    problems.extend(check(
        "load",
        &obj("load"),
        &[
            ("min1", Num),
            ("min5", Num),
            ("min15", Num),
            ("cpucore", Num),
        ],
        &[],
    ));

    let network = list("network");
    assert!(
        network.iter().all(|n| n["interface_name"] != "lo"),
        "lo is hidden by the default config: {network:?}"
    );
    for n in &network {
        problems.extend(check(
            "network",
            n,
            &[
                ("interface_name", Str),
                ("speed", Num),
                ("is_up", Bool),
                ("time_since_update", Num),
                ("key", Str),
            ],
            &["bytes_recv", "bytes_sent", "bytes_all"],
        ));
    }
    for d in &list("diskio") {
        problems.extend(check(
            "diskio",
            d,
            &[("disk_name", Str), ("time_since_update", Num), ("key", Str)],
            &[
                "read_count",
                "write_count",
                "read_bytes",
                "write_bytes",
                "read_time",
                "write_time",
            ],
        ));
        let name = d["disk_name"].as_str().unwrap_or_default();
        assert!(!name.starts_with("loop"), "loop devices are hidden: {name}");
    }
    let fs = list("fs");
    assert!(!fs.is_empty(), "no filesystem at all");
    for f in &fs {
        problems.extend(check(
            "fs",
            f,
            &[
                ("device_name", Str),
                ("fs_type", Str),
                ("mnt_point", Str),
                ("options", Str),
                ("size", Num),
                ("used", Num),
                ("free", Num),
                ("percent", Num),
                ("key", Str),
            ],
            &[],
        ));
    }
    // Lists that may be empty on a VM still have the right shape.
    for name in ["wifi", "folders", "raid", "sensors", "alert"] {
        assert!(obj(name).is_array(), "{name} is not a list: {}", obj(name));
    }
    for i in &list("irq") {
        problems.extend(check(
            "irq",
            i,
            &[("irq_line", Str), ("irq_rate", NumOrNull)],
            &[],
        ));
    }
    problems.extend(check(
        "processcount",
        &obj("processcount"),
        &[
            ("total", Num),
            ("running", Num),
            ("sleeping", Num),
            ("thread", Num),
            ("pid_max", Num),
        ],
        &[],
    ));
    let procs = list("processlist");
    assert!(procs.len() > 1, "processlist has {} entries", procs.len());
    for p in &procs {
        problems.extend(check(
            "processlist",
            p,
            &[
                ("pid", Num),
                ("name", Str),
                ("cmdline", List),
                ("username", Str),
                ("status", Str),
                ("nice", Num),
                ("num_threads", Num),
                ("cpu_percent", Num),
                ("memory_percent", Num),
                ("cpu_times.user", Num),
                ("cpu_times.system", Num),
                ("memory_info.rss", Num),
                ("memory_info.vms", Num),
                ("io_counters", List),
                ("key", Str),
            ],
            &[],
        ));
    }
    // This test's own process tree is in the list.
    let me = std::process::id();
    assert!(
        procs.iter().any(|p| p["pid"] == me) || procs.len() > 5,
        "processlist misses running processes"
    );
    assert!(
        problems.is_empty(),
        "{}\nstderr: {stderr}",
        problems.join("\n")
    );
}

#[test]
fn stdout_text_prints_fields_and_whole_plugins() {
    let (text, _) = run_ok(&[
        "--once",
        "-t",
        "0.3",
        "--stdout",
        "cpu.total,mem.percent,load",
    ]);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(lines[0].starts_with("cpu.total: "), "{text}");
    lines[0]["cpu.total: ".len()..]
        .parse::<f64>()
        .unwrap_or_else(|e| panic!("cpu.total is not a number ({e}): {text}"));
    assert!(lines[1].starts_with("mem.percent: "), "{text}");
    let load: Value = serde_json::from_str(&lines[2]["load: ".len()..]).expect("load is JSON");
    assert!(load["min1"].is_number(), "{text}");
}

#[test]
fn stdout_csv_prints_a_header_then_rows() {
    let (text, _) = run_ok(&[
        "--once",
        "-t",
        "0.3",
        "--stdout-csv",
        "cpu.total,mem.percent,load",
    ]);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0], "cpu.total,mem.percent,load.min1,load.min5,load.min15,load.cpucore",
        "{text}"
    );
    let cells: Vec<&str> = lines[1].split(',').collect();
    assert_eq!(cells.len(), 6, "{text}");
    for c in cells {
        c.parse::<f64>()
            .unwrap_or_else(|e| panic!("{c:?} is not a number ({e}): {text}"));
    }
}

#[test]
fn disable_plugin_leaves_it_out_and_unknown_names_are_errors() {
    let (json, _) = once_json(&[
        "--disable-plugin",
        "processlist,alert",
        "--stdout-json",
        "cpu",
    ]);
    assert!(json.get("cpu").is_some());

    let mut cmd = glint(BIN, &tmp());
    cmd.args([
        "--once",
        "-t",
        "0.3",
        "--disable-plugin",
        "all",
        "--enable-plugin",
        "mem",
        "--stdout-json",
        "cpu",
    ]);
    let (out, _) = run_with_limit(cmd, Duration::from_secs(120));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("unknown plugin \"cpu\"") && stderr.contains("mem"),
        "{stderr}"
    );

    let mut cmd = glint(BIN, &tmp());
    cmd.args(["--once", "--disable-plugin", "cpuu"]);
    let (out, _) = run_with_limit(cmd, Duration::from_secs(60));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("\"cpuu\"") && stderr.contains("processlist"),
        "{stderr}"
    );
}

#[test]
fn print_config_is_the_documented_default_and_parses() {
    let (text, _) = run_ok(&["--print-config"]);
    assert!(text.contains("refresh = 2.0"), "{text}");
    let file = tmp().join("printed.toml");
    std::fs::write(&file, text.as_bytes()).expect("write");
    let file = file.display().to_string();
    run_ok(&[
        "--config",
        &file,
        "--once",
        "-t",
        "0.3",
        "--stdout",
        "mem.percent",
    ]);
}

#[test]
fn a_bad_config_names_file_line_key_and_what_is_expected() {
    let file = tmp().join("bad.toml");
    std::fs::write(
        &file,
        "[global]\nrefresh = 2\n\n[plugins.network]\nhide = \"lo\"\n",
    )
    .expect("write");
    let mut cmd = glint(BIN, &tmp());
    cmd.args(["--config"]).arg(&file).arg("--once");
    let (out, _) = run_with_limit(cmd, Duration::from_secs(30));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("{}:5: `plugins.network.hide`", file.display())),
        "{stderr}"
    );
    assert!(
        stderr.contains("expected a list of regular expressions"),
        "{stderr}"
    );
}

#[test]
fn plugins_lists_every_default_plugin_with_its_handshake() {
    let (text, _) = run_ok(&["plugins"]);
    for name in ALL.split(',') {
        let line = text
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("{name} not listed:\n{text}"));
        assert!(
            line.contains("input") && line.contains("embedded"),
            "{line}"
        );
    }
    let prometheus = text
        .lines()
        .find(|l| l.starts_with("prometheus "))
        .unwrap_or_else(|| panic!("the prometheus output plugin is not listed:\n{text}"));
    assert!(prometheus.contains("output"), "{prometheus}");
}

#[test]
fn a_crossed_logged_limit_becomes_an_alert_event_with_top_processes() {
    // Memory use is always above 0.001 %: a CRITICAL, logged event on the first tick.
    let file = tmp().join("alert.toml");
    std::fs::write(
        &file,
        "[limits.mem]\npercent = { careful = 0.0, warning = 0.0, critical = 0.001, log = true }\n",
    )
    .expect("write");
    let (json, stderr) = once_json(&[
        "--config",
        &file.display().to_string(),
        "--stdout-json",
        "alert,mem",
    ]);
    let events = json["alert"].as_array().expect("alert is a list");
    let event = events
        .iter()
        .find(|e| e["type"] == "MEM_PERCENT")
        .unwrap_or_else(|| panic!("no MEM_PERCENT event: {json}\n{stderr}"));
    assert_eq!(event["state"], "CRITICAL", "{event}");
    assert_eq!(event["end"], -1, "ongoing: {event}");
    assert!(
        event["begin"].as_i64().unwrap_or(0) > 1_600_000_000,
        "{event}"
    );
    assert!(
        event["count"].as_u64().unwrap_or(0) >= 2,
        "seen on both ticks: {event}"
    );
    let mem = json["mem"]["percent"].as_f64().expect("mem.percent");
    let max = event["max"].as_f64().expect("max");
    assert!(
        max > 0.0 && (max - mem).abs() < 50.0,
        "{event} vs mem {mem}"
    );
    let top = event["top"].as_array().expect("top is a list");
    assert!(
        !top.is_empty() && top.iter().all(|t| t.is_string()),
        "{event}"
    );
}

#[test]
fn a_plugins_config_section_reaches_the_plugin() {
    let file = tmp().join("max.toml");
    std::fs::write(&file, "[plugins.processlist]\nmax = 3\n").expect("write");
    let (json, stderr) = once_json(&[
        "--config",
        &file.display().to_string(),
        "--stdout-json",
        "processlist,processcount",
    ]);
    let procs = json["processlist"].as_array().expect("list");
    assert_eq!(procs.len(), 3, "{stderr}");
    assert!(json["processcount"]["total"].as_u64().unwrap_or(0) > 3);
}
