//! Native tests of the exposition: hand-built tables shaped like the real plugins', exact
//! output lines, and a `promtool check metrics` run over all of them.

use super::*;

use crate::field;

/// The naming and value helpers, one by one.
mod names;

fn rate(name: &str, unit: Unit, description: &str) -> FieldInfo {
    FieldInfo {
        is_rate: true,
        ..field(name, unit, description)
    }
}

fn table(key: Option<&str>, columns: &[&str], rows: Vec<Vec<Value>>) -> Table {
    Table {
        key: key.map(str::to_string),
        columns: columns.iter().map(|c| c.to_string()).collect(),
        rows,
    }
}

fn text(s: &str) -> Value {
    Value::Text(s.to_string())
}

fn lines(s: &str) -> Vec<&str> {
    s.lines().collect()
}

/// `mem`: a record plugin with bytes and percentages.
fn mem() -> (String, Table, Vec<FieldInfo>) {
    let fields = vec![
        field("total", Unit::Bytes, "Total physical memory."),
        field(
            "percent",
            Unit::Percent,
            "Used memory: (total - available) / total.",
        ),
        field(
            "percent_min",
            Unit::Percent,
            "Lowest `percent` since glint started.",
        ),
        field("used", Unit::Bytes, "Memory used."),
    ];
    let t = table(
        None,
        &["total", "percent", "percent_min", "used"],
        vec![vec![
            Value::Uint(8_000_000_000),
            Value::Float(45.5),
            Value::Float(12.5),
            Value::Uint(3_640_000_000),
        ]],
    );
    ("mem".to_string(), t, fields)
}

/// `network`: a list plugin keyed by `interface_name`, with is-rate fields (delta, raw
/// counter, rate), `time_since_update`, a bits field, a text field and a repeated key.
fn network() -> (String, Table, Vec<FieldInfo>) {
    let fields = vec![
        field("interface_name", Unit::Text, "Interface name."),
        field("alias", Unit::Text, "Interface alias name (optional)."),
        field("is_up", Unit::None, "Is the interface up?"),
        field(
            "speed",
            Unit::Bits,
            "Maximum interface speed in bit per second (0 when unknown).",
        ),
        field(
            "time_since_update",
            Unit::Seconds,
            "Seconds since the previous update.",
        ),
        rate("bytes_recv", Unit::Bytes, "Bytes received."),
        rate("packets_recv", Unit::Number, "Packets received."),
    ];
    let t = table(
        Some("interface_name"),
        &[
            "interface_name",
            "alias",
            "is_up",
            "speed",
            "time_since_update",
            "bytes_recv",
            "bytes_recv_gauge",
            "bytes_recv_rate_per_sec",
            "packets_recv",
            "packets_recv_gauge",
            "packets_recv_rate_per_sec",
        ],
        vec![
            vec![
                text("eth0"),
                Value::None,
                Value::Boolean(true),
                Value::Uint(1_048_576_000),
                Value::Float(2.0),
                Value::Uint(600),
                Value::Uint(123_456_789),
                Value::Float(300.0),
                Value::Uint(10),
                Value::Uint(1_000),
                Value::Float(5.0),
            ],
            vec![
                text("lo"),
                text("loopback"),
                Value::Boolean(false),
                Value::Uint(0),
                Value::Float(2.0),
                // An item's first tick: no delta or rate yet, the raw counter is there.
                Value::None,
                Value::Uint(5_000),
                Value::None,
                Value::None,
                Value::Uint(50),
                Value::None,
            ],
            // The same key again: the first row wins.
            vec![
                text("eth0"),
                text("duplicate"),
                Value::Boolean(false),
                Value::Uint(8),
                Value::Float(2.0),
                Value::Uint(1),
                Value::Uint(1),
                Value::Float(1.0),
                Value::Uint(1),
                Value::Uint(1),
                Value::Float(1.0),
            ],
        ],
    );
    ("network".to_string(), t, fields)
}

/// `diskio`: a counter in milliseconds.
fn diskio() -> (String, Table, Vec<FieldInfo>) {
    let fields = vec![
        field("disk_name", Unit::Text, "Disk name."),
        rate("read_count", Unit::Number, "Reads completed."),
        rate("read_time", Unit::Milliseconds, "Time spent reading."),
    ];
    let t = table(
        Some("disk_name"),
        &[
            "disk_name",
            "time_since_update",
            "read_count",
            "read_count_gauge",
            "read_count_rate_per_sec",
            "read_time",
            "read_time_gauge",
            "read_time_rate_per_sec",
        ],
        vec![vec![
            text("sda"),
            Value::Float(2.0),
            Value::Uint(4),
            Value::Uint(9_000),
            Value::Float(2.0),
            Value::Uint(30),
            Value::Uint(1_234),
            Value::Float(15.0),
        ]],
    );
    ("diskio".to_string(), t, fields)
}

/// `processlist`: keyed by a numeric pid, dotted columns, a text list, a NaN, a label value
/// that needs escaping and one too long to be a label.
fn processlist() -> (String, Table, Vec<FieldInfo>) {
    let fields = vec![
        field("pid", Unit::Number, "Process ID."),
        field("name", Unit::Text, "Process name."),
        field(
            "cmdline",
            Unit::Text,
            "Command line, one argument per element.",
        ),
        field("username", Unit::Text, "Owner of the process."),
        field("memory_info.rss", Unit::Bytes, "Resident set size."),
        field("cpu_percent", Unit::Percent, "CPU usage."),
        field(
            "cpu_times.user",
            Unit::Seconds,
            "CPU time in user space since the process started.",
        ),
        field("create_time", Unit::Timestamp, "When the process started."),
    ];
    let t = table(
        Some("pid"),
        &[
            "pid",
            "name",
            "cmdline",
            "username",
            "memory_info.rss",
            "cpu_percent",
            "cpu_times.user",
            "create_time",
        ],
        vec![
            vec![
                Value::Int(1),
                text("systemd"),
                Value::TextList(vec!["/sbin/init".to_string(), "splash".to_string()]),
                text("root"),
                Value::Uint(12_288_000),
                Value::Float(0.5),
                Value::Float(3.25),
                Value::Float(1_700_000_000.5),
            ],
            vec![
                Value::Int(4242),
                text("we\"ird\\na\nme"),
                Value::TextList(Vec::new()),
                text(&"x".repeat(MAX_LABEL_CHARS + 1)),
                Value::Uint(4_096),
                Value::Float(f64::NAN),
                Value::Float(0.0),
                Value::Uint(1_700_000_100),
            ],
            // No key: cannot be told apart from other rows, so it is left out.
            vec![
                Value::None,
                text("ghost"),
                Value::None,
                text("nobody"),
                Value::Uint(1),
                Value::Float(1.0),
                Value::Float(1.0),
                Value::Uint(1),
            ],
        ],
    );
    ("processlist".to_string(), t, fields)
}

/// A plugin whose names break every promlint rule before renaming.
fn awkward() -> (String, Table, Vec<FieldInfo>) {
    let fields = vec![
        field("count", Unit::Number, "How many."),
        field("total", Unit::None, "All of them."),
        field("sum", Unit::Number, "Summed."),
        field("load_bucket", Unit::Number, "A bucket."),
        field("speed_bits", Unit::Bits, "Link speed in bits."),
        field(
            "uptime_ms",
            Unit::Milliseconds,
            "Up for this long.\nIn ms \\ o/",
        ),
        field("cpu_temp", Unit::Celsius, "CPU temperature."),
        field("cpu_freq", Unit::Hertz, "CPU frequency."),
        field("fan", Unit::Rpm, "Fan speed."),
        field("begin", Unit::Timestamp, "When it began."),
        field("size_mb", Unit::None, "Size, undeclared unit."),
        field("le", Unit::Text, "Reserved for histograms."),
        field("quantile", Unit::Text, "Reserved for summaries."),
    ];
    let t = table(
        None,
        &[
            "count",
            "total",
            "sum",
            "load_bucket",
            "queue_gauge",
            "speed_bits",
            "uptime_ms",
            "cpu_temp",
            "cpu_freq",
            "fan",
            "begin",
            "size_mb",
            "cacheMinutes",
            "sizeKilobytes",
            "info",
            "le",
            "quantile",
            "2nd",
            "a.b",
            "a_b",
            "inf",
            "nothing",
            "samples",
        ],
        vec![vec![
            Value::Uint(3),
            Value::Int(-7),
            Value::Float(1.5),
            Value::Uint(2),
            Value::Uint(9),
            Value::Uint(100),
            Value::Uint(1_500),
            Value::Float(41.5),
            Value::Float(2_400_000_000.0),
            Value::Uint(1_200),
            Value::Uint(1_700_000_000),
            Value::Uint(12),
            Value::Uint(5),
            Value::Uint(6),
            Value::Uint(1),
            text("0.5"),
            text("0.99"),
            text("second"),
            Value::Uint(1),
            Value::Uint(2),
            Value::Float(f64::INFINITY),
            Value::None,
            Value::FloatList(vec![1.0, 2.0]),
        ]],
    );
    ("awkward".to_string(), t, fields)
}

fn all_plugins() -> Vec<(String, Table, Vec<FieldInfo>)> {
    vec![mem(), network(), diskio(), processlist(), awkward()]
}

#[test]
fn record_plugin_exports_base_units_without_labels() {
    let out = exposition(&[mem()]);
    assert_eq!(
        lines(&out),
        [
            "# HELP glint_mem_total_bytes Total physical memory.",
            "# TYPE glint_mem_total_bytes gauge",
            "glint_mem_total_bytes 8000000000",
            "# HELP glint_mem_ratio Used memory: (total - available) / total. Exported as a ratio (1 = 100%).",
            "# TYPE glint_mem_ratio gauge",
            "glint_mem_ratio 0.455",
            "# HELP glint_mem_ratio_min Lowest `percent` since glint started. Exported as a ratio (1 = 100%).",
            "# TYPE glint_mem_ratio_min gauge",
            "glint_mem_ratio_min 0.125",
            "# HELP glint_mem_used_bytes Memory used.",
            "# TYPE glint_mem_used_bytes gauge",
            "glint_mem_used_bytes 3640000000",
        ]
    );
    assert!(out.ends_with('\n'), "every line ends with a line feed");
}

#[test]
fn list_plugin_labels_rows_and_exports_only_raw_counters() {
    let out = exposition(&[network()]);
    assert_eq!(
        lines(&out),
        [
            "# HELP glint_network_info Text fields of the network plugin, as labels; the value is always 1.",
            "# TYPE glint_network_info gauge",
            // eth0 has no alias (none): no info sample for it.
            "glint_network_info{interface_name=\"lo\",alias=\"loopback\"} 1",
            "# HELP glint_network_is_up Is the interface up?",
            "# TYPE glint_network_is_up gauge",
            "glint_network_is_up{interface_name=\"eth0\"} 1",
            "glint_network_is_up{interface_name=\"lo\"} 0",
            "# HELP glint_network_speed_bytes Maximum interface speed in bit per second (0 when unknown). Exported in bytes.",
            "# TYPE glint_network_speed_bytes gauge",
            "glint_network_speed_bytes{interface_name=\"eth0\"} 131072000",
            "glint_network_speed_bytes{interface_name=\"lo\"} 0",
            "# HELP glint_network_bytes_recv_total Bytes received.",
            "# TYPE glint_network_bytes_recv_total counter",
            "glint_network_bytes_recv_total{interface_name=\"eth0\"} 123456789",
            "glint_network_bytes_recv_total{interface_name=\"lo\"} 5000",
            "# HELP glint_network_packets_recv_total Packets received.",
            "# TYPE glint_network_packets_recv_total counter",
            "glint_network_packets_recv_total{interface_name=\"eth0\"} 1000",
            "glint_network_packets_recv_total{interface_name=\"lo\"} 50",
        ]
    );
    for skipped in ["time_since_update", "rate_per_sec", "duplicate", "_gauge"] {
        assert!(!out.contains(skipped), "{skipped} must not be exported");
    }
}

#[test]
fn millisecond_counter_is_in_seconds() {
    let out = exposition(&[diskio()]);
    assert_eq!(
        lines(&out),
        [
            "# HELP glint_diskio_read_count_total Reads completed.",
            "# TYPE glint_diskio_read_count_total counter",
            "glint_diskio_read_count_total{disk_name=\"sda\"} 9000",
            "# HELP glint_diskio_read_time_seconds_total Time spent reading. Exported in seconds.",
            "# TYPE glint_diskio_read_time_seconds_total counter",
            "glint_diskio_read_time_seconds_total{disk_name=\"sda\"} 1.234",
        ]
    );
}

#[test]
fn numeric_keys_dotted_columns_escaping_and_nan() {
    let out = exposition(&[processlist()]);
    assert_eq!(
        lines(&out),
        [
            "# HELP glint_processlist_info Text fields of the processlist plugin, as labels; the value is always 1.",
            "# TYPE glint_processlist_info gauge",
            // The text list (cmdline) is no label; the over-long username is left out.
            "glint_processlist_info{pid=\"1\",name=\"systemd\",username=\"root\"} 1",
            "glint_processlist_info{pid=\"4242\",name=\"we\\\"ird\\\\na\\nme\"} 1",
            "# HELP glint_processlist_memory_info_rss_bytes Resident set size.",
            "# TYPE glint_processlist_memory_info_rss_bytes gauge",
            "glint_processlist_memory_info_rss_bytes{pid=\"1\"} 12288000",
            "glint_processlist_memory_info_rss_bytes{pid=\"4242\"} 4096",
            "# HELP glint_processlist_cpu_ratio CPU usage. Exported as a ratio (1 = 100%).",
            "# TYPE glint_processlist_cpu_ratio gauge",
            // pid 4242's NaN has no sample.
            "glint_processlist_cpu_ratio{pid=\"1\"} 0.005",
            "# HELP glint_processlist_cpu_times_user_seconds CPU time in user space since the process started.",
            "# TYPE glint_processlist_cpu_times_user_seconds gauge",
            "glint_processlist_cpu_times_user_seconds{pid=\"1\"} 3.25",
            "glint_processlist_cpu_times_user_seconds{pid=\"4242\"} 0",
            "# HELP glint_processlist_create_time_seconds When the process started.",
            "# TYPE glint_processlist_create_time_seconds gauge",
            "glint_processlist_create_time_seconds{pid=\"1\"} 1700000000.5",
            "glint_processlist_create_time_seconds{pid=\"4242\"} 1700000100",
        ]
    );
    assert!(!out.contains("ghost"), "a row without a key is left out");
}

#[test]
fn names_that_break_promlint_rules_are_renamed() {
    let out = exposition(&[awkward()]);
    assert_eq!(
        lines(&out),
        [
            "# HELP glint_awkward_info Text fields of the awkward plugin, as labels; the value is always 1.",
            "# TYPE glint_awkward_info gauge",
            "glint_awkward_info{le_label=\"0.5\",quantile_label=\"0.99\",label_2nd=\"second\"} 1",
            "# HELP glint_awkward_count_value How many.",
            "# TYPE glint_awkward_count_value gauge",
            "glint_awkward_count_value 3",
            "# HELP glint_awkward_total_value All of them.",
            "# TYPE glint_awkward_total_value gauge",
            "glint_awkward_total_value -7",
            "# HELP glint_awkward_sum_value Summed.",
            "# TYPE glint_awkward_sum_value gauge",
            "glint_awkward_sum_value 1.5",
            "# HELP glint_awkward_load_bucket_value A bucket.",
            "# TYPE glint_awkward_load_bucket_value gauge",
            "glint_awkward_load_bucket_value 2",
            // No field info and not the raw counter of a rate: a gauge, `gauge` joined.
            "# HELP glint_awkward_queuegauge awkward queue_gauge",
            "# TYPE glint_awkward_queuegauge gauge",
            "glint_awkward_queuegauge 9",
            "# HELP glint_awkward_speed_bytes Link speed in bits. Exported in bytes.",
            "# TYPE glint_awkward_speed_bytes gauge",
            "glint_awkward_speed_bytes 12.5",
            "# HELP glint_awkward_uptime_seconds Up for this long.\\nIn ms \\\\ o/ Exported in seconds.",
            "# TYPE glint_awkward_uptime_seconds gauge",
            "glint_awkward_uptime_seconds 1.5",
            "# HELP glint_awkward_cpu_temp_celsius CPU temperature.",
            "# TYPE glint_awkward_cpu_temp_celsius gauge",
            "glint_awkward_cpu_temp_celsius 41.5",
            "# HELP glint_awkward_cpu_freq_hertz CPU frequency.",
            "# TYPE glint_awkward_cpu_freq_hertz gauge",
            "glint_awkward_cpu_freq_hertz 2400000000",
            "# HELP glint_awkward_fan Fan speed.",
            "# TYPE glint_awkward_fan gauge",
            "glint_awkward_fan 1200",
            "# HELP glint_awkward_begin_seconds When it began.",
            "# TYPE glint_awkward_begin_seconds gauge",
            "glint_awkward_begin_seconds 1700000000",
            // An undeclared unit cannot be converted: the abbreviation is joined instead.
            "# HELP glint_awkward_sizemb Size, undeclared unit.",
            "# TYPE glint_awkward_sizemb gauge",
            "glint_awkward_sizemb 12",
            "# HELP glint_awkward_cacheminutes awkward cacheMinutes",
            "# TYPE glint_awkward_cacheminutes gauge",
            "glint_awkward_cacheminutes 5",
            "# HELP glint_awkward_sizekilobytes awkward sizeKilobytes",
            "# TYPE glint_awkward_sizekilobytes gauge",
            "glint_awkward_sizekilobytes 6",
            // `info` lost its name to the info family; `a_b` to `a.b`; `inf`, `nothing`
            // and `samples` have no finite scalar value.
            // `b` (an abbreviation of bytes to promlint) is joined: `a.b` and `a_b` are
            // both `ab`.
            "# HELP glint_awkward_ab awkward a.b",
            "# TYPE glint_awkward_ab gauge",
            "glint_awkward_ab 1",
        ]
    );
}

#[test]
fn a_name_taken_by_an_earlier_plugin_stays_with_it() {
    let first = (
        "mem".to_string(),
        table(None, &["swap_used"], vec![vec![Value::Uint(1)]]),
        Vec::new(),
    );
    let second = (
        "mem_swap".to_string(),
        table(
            None,
            &["used", "free"],
            vec![vec![Value::Uint(2), Value::Uint(3)]],
        ),
        Vec::new(),
    );
    assert_eq!(
        lines(&exposition(&[first, second])),
        [
            "# HELP glint_mem_swap_used mem swap_used",
            "# TYPE glint_mem_swap_used gauge",
            "glint_mem_swap_used 1",
            "# HELP glint_mem_swap_free mem_swap free",
            "# TYPE glint_mem_swap_free gauge",
            "glint_mem_swap_free 3",
        ]
    );
}

#[test]
fn a_key_naming_no_column_leaves_the_plugin_out() {
    let broken = (
        "broken".to_string(),
        table(Some("id"), &["value"], vec![vec![Value::Uint(1)]]),
        Vec::new(),
    );
    assert_eq!(exposition(&[broken]), "");
    assert_eq!(exposition(&[]), "");
}

#[test]
fn record_plugin_exports_its_first_row_only() {
    let two_rows = (
        "rec".to_string(),
        table(
            None,
            &["v"],
            vec![vec![Value::Uint(1)], vec![Value::Uint(2)]],
        ),
        Vec::new(),
    );
    assert_eq!(
        lines(&exposition(&[two_rows])),
        [
            "# HELP glint_rec_v rec v",
            "# TYPE glint_rec_v gauge",
            "glint_rec_v 1"
        ]
    );
}

/// Runs `promtool check metrics` on a page (through a temp file on stdin): its exit status
/// and its output, stdout and stderr together.
fn promtool_check(page: &str) -> (std::process::ExitStatus, String) {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let path = std::env::temp_dir().join(format!(
        "glint-prometheus-{}-{nanos}.prom",
        std::process::id()
    ));
    std::fs::write(&path, page).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    let stdin = std::fs::File::open(&path)
        .unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()));
    let output = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(stdin)
        .output();
    let _ = std::fs::remove_file(&path);
    let output = output.unwrap_or_else(|e| {
        panic!("cannot run promtool ({e}): install it (Debian package `prometheus`)")
    });
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status, text)
}

/// promtool parses the page and lints it (promlint): exit status 0 and no output means
/// no problem at all.
#[test]
fn promtool_check_metrics_finds_nothing() {
    // First, that this promtool does lint: a gauge named like a histogram's count.
    let (status, text) = promtool_check("# HELP x_count x\n# TYPE x_count gauge\nx_count 1\n");
    assert!(
        !status.success() && text.contains("_count"),
        "promtool did not flag a bad page ({status}): {text}"
    );

    let page = exposition(&all_plugins());
    let (status, text) = promtool_check(&page);
    assert!(
        status.success() && text.trim().is_empty(),
        "promtool check metrics: {status}\n{text}\npage:\n{page}"
    );
}

#[test]
fn clock_text_is_not_a_label_but_other_text_is() {
    let now = (
        "now".to_string(),
        table(
            None,
            &["iso"],
            vec![vec![text("2026-11-22T07:50:00+00:00")]],
        ),
        vec![field("iso", Unit::Text, "Local date and time.")],
    );
    let uptime = (
        "uptime".to_string(),
        table(None, &["uptime"], vec![vec![text("3:00:56")]]),
        vec![field("uptime", Unit::Text, "Time since boot.")],
    );
    // A new series on every scrape would grow Prometheus' index without end.
    assert_eq!(exposition(&[now, uptime]), "");
    let system = (
        "system".to_string(),
        table(None, &["hostname"], vec![vec![text("vm")]]),
        vec![field("hostname", Unit::Text, "Host name.")],
    );
    assert!(exposition(&[system]).contains("glint_system_info{hostname=\"vm\"} 1"));
}
