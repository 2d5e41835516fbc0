//! `check_table`'s column contract: every column a declared field (a rate field standing for
//! its three), every declared rate fed; a refusal names the plugin and the column.

use super::check_table;
use crate::bindings::{FieldInfo, Table, Unit, Value};
use crate::settings::config::Config;
use crate::settings::limits::Limits;

fn limits() -> Limits {
    Config::defaults()
        .expect("embedded defaults parse")
        .plugin_limits
}

fn field(name: &str) -> FieldInfo {
    FieldInfo {
        name: name.to_string(),
        description: String::new(),
        unit: Unit::Number,
        is_rate: false,
        keep_history: false,
    }
}

fn rate(name: &str) -> FieldInfo {
    FieldInfo {
        is_rate: true,
        ..field(name)
    }
}

/// A one-row table of these columns.
fn table(key: Option<&str>, columns: &[&str]) -> Table {
    Table {
        key: key.map(str::to_string),
        columns: columns.iter().map(|c| c.to_string()).collect(),
        rows: vec![columns.iter().map(|_| Value::Uint(1)).collect()],
    }
}

/// What `check_table` says of plugin `hello`'s table, as the log shows it; "" if it takes it.
fn refusal(table: Table, fields: &[FieldInfo]) -> String {
    check_table("hello", table, fields, limits())
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default()
}

#[test]
fn a_column_not_declared_is_refused_by_name() {
    let e = refusal(table(None, &["greeting", "secret"]), &[field("greeting")]);
    assert!(
        e.starts_with("hello: returned the column \"secret\""),
        "{e}"
    );
    assert!(e.contains("declare a field named \"secret\""), "{e}");
}

#[test]
fn an_undeclared_key_column_is_refused_too() {
    let e = refusal(table(Some("pid"), &["pid", "name"]), &[field("name")]);
    assert!(e.contains("the column \"pid\""), "{e}");
}

#[test]
fn declared_columns_pass_and_a_rate_field_stands_for_its_three() {
    // A row as glint-sdk's Rates writes a counter (network's), with a dotted column beside it.
    let fields = [
        field("interface_name"),
        field("time_since_update"),
        rate("bytes_recv"),
        field("memory_info.rss"),
    ];
    let t = table(
        Some("interface_name"),
        &[
            "interface_name",
            "time_since_update",
            "bytes_recv",
            "bytes_recv_gauge",
            "bytes_recv_rate_per_sec",
            "memory_info.rss",
        ],
    );
    assert_eq!(refusal(t, &fields), "");
}

#[test]
fn a_gauge_column_of_a_field_that_is_no_rate_is_refused() {
    let e = refusal(table(None, &["bytes", "bytes_gauge"]), &[field("bytes")]);
    assert!(e.contains("the column \"bytes_gauge\""), "{e}");
}

#[test]
fn a_rate_field_with_no_counter_behind_it_is_refused_by_name() {
    let fields = [field("greeting"), rate("ctx_switches")];
    // Declared .rate() but never fed to Rates::push: none of its columns.
    let e = refusal(table(None, &["greeting"]), &fields);
    assert!(
        e.starts_with("hello: declares \"ctx_switches\" a rate but returned no \"ctx_switches\""),
        "{e}"
    );
    assert!(e.contains("feed its counter"), "{e}");
    // Set by hand as a plain value: no raw counter, no rate.
    let e = refusal(table(None, &["greeting", "ctx_switches"]), &fields);
    assert!(e.contains("no \"ctx_switches_gauge\" column"), "{e}");
}

#[test]
fn an_empty_list_has_no_columns_to_check() {
    // The sdk takes a list's columns from its first row: none without rows.
    let empty = Table {
        key: Some("ssid".into()),
        columns: Vec::new(),
        rows: Vec::new(),
    };
    assert_eq!(refusal(empty, &[field("ssid"), rate("noise")]), "");
}

#[test]
fn a_column_repeated_past_what_the_fields_stand_for_is_refused_without_matching_them_all() {
    // A million copies of a declared name: refused by count, not matched one by one.
    let many = Table {
        key: None,
        columns: vec!["greeting".to_string(); 1_000_000],
        rows: Vec::new(),
    };
    let e = refusal(many, &[field("greeting")]);
    assert!(
        e.contains("returned 1000000 columns, more than the 1"),
        "{e}"
    );
}

/// A runtime whose heap does not fit the memory cap (CPython, SpiderMonkey under a low
/// memory_mb) is refused naming the setting and a value that works.
#[test]
fn a_heap_over_the_memory_cap_names_the_limit_to_raise() {
    let e = wasmtime::Error::msg("forcing trap when growing memory to 12910592 bytes");
    let mut config = Config::defaults().expect("embedded defaults parse");
    config.plugin_limits.memory = 8 << 20;
    let own = crate::plugins::sandbox::Sandbox::resolve(&config, "users", None, false);
    let why = super::instantiation_failed(&e, "users", &own);
    assert!(
        why.contains("needs 12.9 MB of memory to start, more than its memory cap of 8 MiB")
            && why.contains("memory_mb = 32 in [plugins.users.limits]"),
        "{why}"
    );
    // The handshake runs under the global cap: that is the one to raise.
    let handshake = crate::plugins::sandbox::Sandbox::handshake(&config);
    let why = super::instantiation_failed(&e, "users", &handshake);
    assert!(why.contains("plugin_memory_mb = 32 in [global]"), "{why}");
    let other = wasmtime::Error::msg("unknown import");
    assert_eq!(
        super::instantiation_failed(&other, "users", &own),
        "cannot instantiate: unknown import"
    );
}
