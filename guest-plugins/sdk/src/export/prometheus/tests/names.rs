//! The naming and value helpers of the exposition, one by one: metric and label names,
//! sample values and escaping.

use super::super::{Kind, escape_help, escape_label_value, label_name, metric_name, sample_value};
use super::text;
use crate::{Unit, Value};

/// (plugin, field, unit, kind, the metric name it gets).
const METRIC_NAMES: &[(&str, &str, Unit, Kind, &str)] = &[
    (
        "cpu",
        "ctx_switches",
        Unit::Number,
        Kind::Counter,
        "glint_cpu_ctx_switches_total",
    ),
    (
        "mem",
        "percent",
        Unit::Percent,
        Kind::Gauge,
        "glint_mem_ratio",
    ),
    (
        "fs",
        "used_percent",
        Unit::Percent,
        Kind::Gauge,
        "glint_fs_used_ratio",
    ),
    (
        "x",
        "elapsed_total",
        Unit::Seconds,
        Kind::Counter,
        "glint_x_elapsed_seconds_total",
    ),
    (
        "x",
        "requests_total",
        Unit::Number,
        Kind::Counter,
        "glint_x_requests_total",
    ),
    (
        "x",
        "uptime_sec",
        Unit::Seconds,
        Kind::Gauge,
        "glint_x_uptime_seconds",
    ),
    ("x", "uptime_s", Unit::None, Kind::Gauge, "glint_x_uptimes"),
    (
        "x",
        "latency_ms",
        Unit::Milliseconds,
        Kind::Gauge,
        "glint_x_latency_seconds",
    ),
    (
        "x",
        "rx_bits",
        Unit::Bits,
        Kind::Counter,
        "glint_x_rx_bytes_total",
    ),
    (
        "x",
        "freq_hz",
        Unit::Hertz,
        Kind::Gauge,
        "glint_x_freq_hertz",
    ),
    (
        "x",
        "cpuTimes.userMode",
        Unit::Seconds,
        Kind::Gauge,
        "glint_x_cpu_times_user_mode_seconds",
    ),
    (
        "test-output",
        "a__x..c_",
        Unit::None,
        Kind::Gauge,
        "glint_test_output_a_x_c",
    ),
    (
        "counter",
        "hits",
        Unit::None,
        Kind::Gauge,
        "glintcounter_hits",
    ),
    (
        "x",
        "my_counter",
        Unit::None,
        Kind::Counter,
        "glint_x_mycounter_total",
    ),
    (
        "x",
        "hits_count",
        Unit::None,
        Kind::Gauge,
        "glint_x_hits_count_value",
    ),
    (
        "x",
        "kilo_byte_s",
        Unit::None,
        Kind::Gauge,
        "glint_x_kilo_bytes",
    ),
    ("x", "", Unit::Bytes, Kind::Gauge, "glint_x_bytes"),
];

#[test]
fn metric_names() {
    for &(plugin, field, unit, kind, expected) in METRIC_NAMES {
        assert_eq!(
            metric_name(plugin, field, unit, kind),
            expected,
            "{plugin}.{field} ({unit:?}, {kind:?})"
        );
    }
}

#[test]
fn label_names() {
    for (column, expected) in [
        ("interface_name", "interface_name"),
        ("mnt_point", "mnt_point"),
        ("fsType", "fs_type"),
        ("cpu_times.user", "cpu_times_user"),
        ("le", "le_label"),
        ("quantile", "quantile_label"),
        ("9lives", "label_9lives"),
        ("__", "label"),
    ] {
        assert_eq!(label_name(column), expected, "{column}");
    }
}

#[test]
fn sample_values() {
    assert_eq!(
        sample_value(&Value::Boolean(true), None).as_deref(),
        Some("1")
    );
    assert_eq!(
        sample_value(&Value::Boolean(false), None).as_deref(),
        Some("0")
    );
    assert_eq!(
        sample_value(&Value::Int(i64::MIN), None).as_deref(),
        Some("-9223372036854775808")
    );
    assert_eq!(
        sample_value(&Value::Uint(u64::MAX), None).as_deref(),
        Some("18446744073709551615")
    );
    assert_eq!(
        sample_value(&Value::Float(0.1), None).as_deref(),
        Some("0.1")
    );
    assert_eq!(
        sample_value(&Value::Float(1e21), None).as_deref(),
        Some("1000000000000000000000")
    );
    assert_eq!(
        sample_value(&Value::Uint(12), Some(8)).as_deref(),
        Some("1.5")
    );
    assert_eq!(sample_value(&Value::Float(f64::NAN), None), None);
    assert_eq!(
        sample_value(&Value::Float(f64::NEG_INFINITY), Some(100)),
        None
    );
    assert_eq!(sample_value(&Value::None, None), None);
    assert_eq!(sample_value(&text("1"), None), None);
    assert_eq!(sample_value(&Value::IntList(vec![1]), None), None);
}

#[test]
fn escaping() {
    assert_eq!(escape_help("a\\b\nc\"d"), "a\\\\b\\nc\"d");
    assert_eq!(escape_label_value("a\\b\nc\"d"), "a\\\\b\\nc\\\"d");
}
