//! prometheus: the Prometheus text exposition format (0.0.4) of stats tables, named and
//! typed node_exporter's way so that `promtool check metrics` has nothing to lint. One page
//! for every target that speaks it: the `/metrics` output plugin (guest-plugins/prometheus)
//! serves it, the pushgateway exporter pushes it.
//!
//! Naming, in short (see `metric_name`): `glint_<plugin>_<field>`, snake_case, values in
//! base units with the unit as the last word (`_bytes`, `_seconds`, `_ratio`, `_celsius`,
//! `_hertz`), counters ending in `_total`. Text columns become the labels of one
//! `glint_<plugin>_info` gauge per row, as node_exporter's `node_uname_info`; the key column
//! of a list plugin is a label on every sample of its row.

use std::collections::HashSet;

use crate::{FieldInfo, Table, Unit, Value};

/// The text format's content type: Prometheus picks its parser from it.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The first word of every metric name, as node_exporter's `node`.
const NAMESPACE: &str = "glint";

/// Longest text exported as a label value, in chars. A label value is stored with every
/// series it is on and matched on every query: past a couple of hundred chars a text is
/// prose (a message, a command line), not something to select by, while host names,
/// versions, device names and mount points fit well within it.
const MAX_LABEL_CHARS: usize = 256;

/// Plugins whose text is the clock itself (the date, the time since boot): as labels every
/// scrape would start a new series and Prometheus' index would grow without end. Prometheus
/// has its own clock, and boot time is in `glint_system`/`node_boot_time_seconds` territory.
const CLOCK_PLUGINS: &[&str] = &["now", "uptime"];

/// Never exported: Prometheus stamps each scrape itself, so the interval since a plugin's
/// previous update tells a query nothing.
const TIME_SINCE_UPDATE: &str = "time_since_update";

/// The suffixes of the two extra columns of an is-rate field (the third, the delta, is the
/// field's own name). Prometheus computes deltas and rates from the raw counter itself.
const RAW_COUNTER_SUFFIX: &str = "_gauge";
const RATE_SUFFIX: &str = "_rate_per_sec";

/// Appended to a gauge whose last word promlint reserves (`_total` for counters; `_count`,
/// `_sum`, `_bucket` for histograms and summaries): `processcount.total` is
/// `glint_processcount_total_value`. Renamed rather than dropped so the stat is still there,
/// and with a word that keeps the original one readable.
const RESERVED_SUFFIX_RENAME: &str = "value";
const GAUGE_RESERVED_LAST_WORDS: &[&str] = &["total", "count", "sum", "bucket"];

/// Words promlint rejects as a `_`-separated token of a name (promlint of
/// prometheus/client_golang, as vendored by Prometheus 2.42): abbreviated units...
const ABBREVIATED_UNITS: &[&str] = &[
    "s", "ms", "us", "ns", "sec", "b", "kb", "mb", "gb", "tb", "pb", "m", "h", "d",
];
/// ...metric type names...
const TYPE_NAMES: &[&str] = &["counter", "gauge", "histogram", "summary"];
/// ...units that are not base units (each with its base), and any unit with one of
/// `UNIT_PREFIXES` (`kilobytes`, `milliseconds`).
const UNITS: &[(&str, &str)] = &[
    ("amperes", "amperes"),
    ("bytes", "bytes"),
    ("celsius", "celsius"),
    ("grams", "grams"),
    ("joules", "joules"),
    ("kelvin", "kelvin"),
    ("meters", "meters"),
    ("metres", "metres"),
    ("seconds", "seconds"),
    ("volts", "volts"),
    ("minutes", "seconds"),
    ("hours", "seconds"),
    ("days", "seconds"),
    ("weeks", "seconds"),
    ("kelvins", "kelvin"),
    ("fahrenheit", "celsius"),
    ("rankine", "celsius"),
    ("inches", "meters"),
    ("yards", "meters"),
    ("miles", "meters"),
    ("bits", "bytes"),
    ("calories", "joules"),
    ("pounds", "grams"),
    ("ounces", "grams"),
];
const UNIT_PREFIXES: &[&str] = &[
    "pico", "nano", "micro", "milli", "centi", "deci", "deca", "hecto", "kilo", "kibi", "mega",
    "mibi", "giga", "gibi", "tera", "tebi", "peta", "pebi",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Gauge,
    Counter,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Gauge => "gauge",
            Kind::Counter => "counter",
        }
    }
}

/// How a glint unit is exported.
struct Conversion {
    /// The base-unit word the name ends with (unless it already holds it).
    word: Option<&'static str>,
    /// What a value is divided by to be in that base unit.
    divisor: Option<u32>,
    /// Words of a field name that mean the field's own unit: they become `word` in place,
    /// so `read_time_ms` in milliseconds is `read_time_seconds`, not `read_timems_seconds`.
    aliases: &'static [&'static str],
    /// Said in the HELP text when the value was converted.
    note: Option<&'static str>,
}

fn conversion(unit: Unit) -> Conversion {
    let plain = |word, aliases| Conversion {
        word: Some(word),
        divisor: None,
        aliases,
        note: None,
    };
    const SECONDS: &[&str] = &["second", "sec", "secs", "s"];
    match unit {
        Unit::Bytes => plain("bytes", &["byte", "b"]),
        Unit::Seconds | Unit::Timestamp => plain("seconds", SECONDS),
        Unit::Celsius => plain("celsius", &[]),
        Unit::Hertz => plain("hertz", &["hz"]),
        Unit::Bits => Conversion {
            word: Some("bytes"),
            divisor: Some(8),
            aliases: &["bits", "bit"],
            note: Some("Exported in bytes."),
        },
        Unit::Milliseconds => Conversion {
            word: Some("seconds"),
            divisor: Some(1_000),
            aliases: &[
                "milliseconds",
                "millisecond",
                "ms",
                "msec",
                "msecs",
                "millis",
            ],
            note: Some("Exported in seconds."),
        },
        // Prometheus' convention for fractions is a 0-1 ratio; "percent" would make every
        // query divide by 100 again.
        Unit::Percent => Conversion {
            word: Some("ratio"),
            divisor: Some(100),
            aliases: &["percent", "percentage", "pct"],
            note: Some("Exported as a ratio (1 = 100%)."),
        },
        Unit::Rpm | Unit::Number | Unit::None | Unit::Text => Conversion {
            word: None,
            divisor: None,
            aliases: &[],
            note: None,
        },
    }
}

/// One metric family: its samples (rendered labels, rendered value), in row order.
struct Family {
    name: String,
    help: String,
    kind: Kind,
    samples: Vec<(String, String)>,
}

/// The families of the whole page, in the order they are first named.
#[derive(Default)]
struct Families {
    list: Vec<Family>,
    names: HashSet<String>,
}

impl Families {
    /// Adds a family; none when the name is taken (the first to claim a name keeps it, so
    /// the page never has two HELP/TYPE lines for one name, which Prometheus rejects).
    fn add(&mut self, name: String, help: String, kind: Kind) -> Option<usize> {
        if !self.names.insert(name.clone()) {
            return None;
        }
        self.list.push(Family {
            name,
            help,
            kind,
            samples: Vec::new(),
        });
        Some(self.list.len() - 1)
    }
}

/// The exposition of every (plugin, latest table, field infos), in this order.
pub fn exposition(plugins: &[(String, Table, Vec<FieldInfo>)]) -> String {
    let mut families = Families::default();
    for (plugin, table, fields) in plugins {
        add_plugin(&mut families, plugin, table, fields);
    }
    let mut out = String::new();
    // A family left without samples (every value NaN or none) is left out: HELP and TYPE
    // alone would only announce a metric that is not there.
    for family in families.list.iter().filter(|f| !f.samples.is_empty()) {
        out.push_str(&format!(
            "# HELP {} {}\n# TYPE {} {}\n",
            family.name,
            escape_help(&family.help),
            family.name,
            family.kind.as_str()
        ));
        for (labels, value) in &family.samples {
            if labels.is_empty() {
                out.push_str(&format!("{} {value}\n", family.name));
            } else {
                out.push_str(&format!("{}{{{labels}}} {value}\n", family.name));
            }
        }
    }
    out
}

/// A numeric column to export.
struct Planned {
    column: usize,
    name: String,
    help: String,
    kind: Kind,
    divisor: Option<u32>,
}

/// Adds one plugin's families and samples.
fn add_plugin(families: &mut Families, plugin: &str, table: &Table, fields: &[FieldInfo]) {
    let key = match &table.key {
        None => None,
        Some(key) => match table.columns.iter().position(|c| c == key) {
            Some(index) => Some((index, label_name(key))),
            // Rows without their key cannot be told apart: every series would be a
            // duplicate of the first.
            None => return,
        },
    };
    let (labels, planned) = plan_columns(plugin, table, fields, key.as_ref());

    // The info family claims its name before the columns do, so a numeric column that
    // happens to be called `info` cannot take the labels' place.
    let info_family = if labels.is_empty() {
        None
    } else {
        families.add(
            metric_name(plugin, "info", Unit::None, Kind::Gauge),
            format!("Text fields of the {plugin} plugin, as labels; the value is always 1."),
            Kind::Gauge,
        )
    };
    // Two columns that map to one metric name (`a.b` and `a_b`): the first keeps it, the
    // other is skipped, since one name cannot carry two families.
    let metrics: Vec<(usize, usize, Option<u32>)> = planned
        .into_iter()
        .filter_map(|p| {
            families
                .add(p.name, p.help, p.kind)
                .map(|family| (p.column, family, p.divisor))
        })
        .collect();
    add_rows(
        families,
        table,
        key.as_ref(),
        &labels,
        info_family,
        &metrics,
    );
}

/// What to export of a plugin's table, but for its `key` column (index, label name): the text
/// columns as labels of its info family (index, label name), the numeric ones as families.
fn plan_columns(
    plugin: &str,
    table: &Table,
    fields: &[FieldInfo],
    key: Option<&(usize, String)>,
) -> (Vec<(usize, String)>, Vec<Planned>) {
    let info = |column: &str| fields.iter().find(|f| f.name == column);
    let is_rate = |column: &str| info(column).is_some_and(|f| f.is_rate);
    let key_label = key.map(|(_, name)| name.as_str());

    let mut labels: Vec<(usize, String)> = Vec::new();
    let mut planned: Vec<Planned> = Vec::new();
    for (index, column) in table.columns.iter().enumerate() {
        if key.is_some_and(|(k, _)| *k == index) || column == TIME_SINCE_UPDATE {
            continue;
        }
        // The delta and the rate of a counter: Prometheus derives both from the raw
        // counter (`rate()`, `increase()`), which is exported below.
        if is_rate(column) || column.strip_suffix(RATE_SUFFIX).is_some_and(&is_rate) {
            continue;
        }
        if let Some((stem, field)) = column
            .strip_suffix(RAW_COUNTER_SUFFIX)
            .and_then(|stem| info(stem).filter(|f| f.is_rate).map(|f| (stem, f)))
        {
            let conversion = conversion(field.unit);
            planned.push(Planned {
                column: index,
                name: metric_name(plugin, stem, field.unit, Kind::Counter),
                help: help(plugin, column, Some(field), conversion.note),
                kind: Kind::Counter,
                divisor: conversion.divisor,
            });
            continue;
        }
        let field = info(column);
        let unit = field.map_or(Unit::None, |f| f.unit);
        let has_text = table
            .rows
            .iter()
            .any(|row| matches!(row.get(index), Some(Value::Text(_))));
        if unit == Unit::Text || has_text {
            let name = label_name(column);
            // Two columns with one label name (or the key's): the first one keeps it, a
            // sample cannot have a label twice.
            if key_label != Some(name.as_str())
                && !labels.iter().any(|(_, n)| *n == name)
                && !CLOCK_PLUGINS.contains(&plugin)
            {
                labels.push((index, name));
            }
            continue;
        }
        let conversion = conversion(unit);
        planned.push(Planned {
            column: index,
            name: metric_name(plugin, column, unit, Kind::Gauge),
            help: help(plugin, column, field, conversion.note),
            kind: Kind::Gauge,
            divisor: conversion.divisor,
        });
    }

    (labels, planned)
}

/// The samples of a plugin's rows: one for each of `metrics` (column, family, divisor), and
/// one of `info_family` with the row's text `labels`; each labelled with the row's `key`.
fn add_rows(
    families: &mut Families,
    table: &Table,
    key: Option<&(usize, String)>,
    labels: &[(usize, String)],
    info_family: Option<usize>,
    metrics: &[(usize, usize, Option<u32>)],
) {
    // A record plugin has one row; should a table without a key have more, they could not
    // be told apart, so only the first is exported.
    let row_count = if key.is_some() { table.rows.len() } else { 1 };
    let mut seen_keys = HashSet::new();
    for row in table.rows.iter().take(row_count) {
        let key_labels = match key {
            None => String::new(),
            Some((index, name)) => {
                // A row without a key value cannot be told apart from the others.
                let Some(value) = row.get(*index).and_then(label_value) else {
                    continue;
                };
                // Two rows with one key would be duplicate series: keep the first.
                if !seen_keys.insert(value.clone()) {
                    continue;
                }
                format!("{name}=\"{}\"", escape_label_value(&value))
            }
        };
        if let Some(family) = info_family
            && let Some(all) = info_labels(row, &key_labels, labels)
        {
            families.list[family].samples.push((all, "1".to_string()));
        }
        for &(index, family, divisor) in metrics {
            if let Some(value) = row.get(index).and_then(|v| sample_value(v, divisor)) {
                families.list[family]
                    .samples
                    .push((key_labels.clone(), value));
            }
        }
    }
}

/// The labels of a row's info sample: its `key_labels`, then each text column of `labels`
/// whose value is short enough to be one; none if no text column has such a value.
fn info_labels(row: &[Value], key_labels: &str, labels: &[(usize, String)]) -> Option<String> {
    let mut all = key_labels.to_string();
    let mut any = false;
    for (index, name) in labels {
        let Some(value) = row
            .get(*index)
            .and_then(label_value)
            .filter(|v| v.chars().count() <= MAX_LABEL_CHARS)
        else {
            continue;
        };
        if !all.is_empty() {
            all.push(',');
        }
        all.push_str(&format!("{name}=\"{}\"", escape_label_value(&value)));
        any = true;
    }
    any.then_some(all)
}

/// A column's HELP: its description (and how its value was converted), or a generated one
/// for a column the plugin did not describe (promlint wants HELP on every family).
fn help(plugin: &str, column: &str, field: Option<&FieldInfo>, note: Option<&str>) -> String {
    let description = match field {
        Some(f) if !f.description.trim().is_empty() => f.description.trim().to_string(),
        _ => format!("{plugin} {column}"),
    };
    match note {
        Some(note) => format!("{description} {note}"),
        None => description,
    }
}

/// The metric name of a plugin's field:
/// 1. `glint`, the plugin and the field split into lowercase words at every char outside
///    `[a-zA-Z0-9]` and at camelCase humps (`memory_info.rss` → `memory`, `info`, `rss`).
/// 2. Words of the field that name its own unit become the base unit's word
///    (`ms` → `seconds`, `percent` → `ratio`, `bits` → `bytes`); the base unit's word is
///    appended unless the field already has it.
/// 3. Any other word promlint rejects (an abbreviated unit such as `s` or `mb`, a
///    non-base unit such as `minutes` or `kilobytes`, a type name such as `gauge`) is joined
///    to the word before it: glint cannot know what scale an undeclared unit has, so it
///    cannot convert, and joining keeps every letter so distinct columns stay distinct.
/// 4. Counters end in `total` (after the unit); a gauge ending in a word promlint reserves for counters,
///    histograms or summaries gets `value` appended.
fn metric_name(plugin: &str, field: &str, unit: Unit, kind: Kind) -> String {
    let conversion = conversion(unit);
    let mut field_words = words(field);
    // `requests_total` is already a counter's name: its `total` goes back at the end,
    // after the unit (`elapsed_total` in seconds is `elapsed_seconds_total`).
    if kind == Kind::Counter && field_words.last().is_some_and(|w| w == "total") {
        field_words.pop();
    }
    if let Some(word) = conversion.word {
        for w in &mut field_words {
            if conversion.aliases.contains(&w.as_str()) {
                *w = word.to_string();
            }
        }
        if !field_words.iter().any(|w| w == word) {
            field_words.push(word.to_string());
        }
    }
    let mut all = vec![NAMESPACE.to_string()];
    all.extend(words(plugin));
    all.extend(field_words);
    join_rejected_words(&mut all);
    let last = all.last().map(String::as_str);
    match kind {
        Kind::Counter if last != Some("total") => all.push("total".to_string()),
        Kind::Gauge if last.is_some_and(|l| GAUGE_RESERVED_LAST_WORDS.contains(&l)) => {
            all.push(RESERVED_SUFFIX_RENAME.to_string())
        }
        _ => {}
    }
    all.join("_")
}

/// Joins each word promlint rejects to the word before it (the first word, `glint`, is
/// never rejected, so every rejected word has one), again if the joined word is rejected.
fn join_rejected_words(words: &mut Vec<String>) {
    let mut i = 1;
    while i < words.len() {
        if rejected_by_promlint(&words[i]) {
            let word = words.remove(i);
            words[i - 1].push_str(&word);
            i = i.saturating_sub(1).max(1);
        } else {
            i += 1;
        }
    }
}

/// Whether promlint rejects a `_`-separated word of a metric name.
fn rejected_by_promlint(word: &str) -> bool {
    ABBREVIATED_UNITS.contains(&word)
        || TYPE_NAMES.contains(&word)
        || UNITS.iter().any(|&(unit, base)| {
            (word == unit && unit != base)
                || UNIT_PREFIXES
                    .iter()
                    .any(|p| word.strip_prefix(p) == Some(unit))
        })
}

/// Lowercase words of a name: split at every char outside `[a-zA-Z0-9]` and where a
/// lowercase letter is followed by an uppercase one (promlint's camelCase test); empty
/// words dropped, so no name has `__` or starts or ends with `_`.
fn words(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut after_lowercase = false;
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            if after_lowercase && c.is_ascii_uppercase() && !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
            word.push(c.to_ascii_lowercase());
            after_lowercase = c.is_ascii_lowercase();
        } else {
            if !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
            after_lowercase = false;
        }
    }
    if !word.is_empty() {
        out.push(word);
    }
    out
}

/// A label name for a column: its words joined by `_`. A name must not start with a digit
/// and cannot be empty, and promlint reserves `le` for histograms and `quantile` for
/// summaries, so those get a `label` word.
fn label_name(column: &str) -> String {
    let name = words(column).join("_");
    match name.as_str() {
        "" => "label".to_string(),
        "le" | "quantile" => format!("{name}_label"),
        _ if name.starts_with(|c: char| c.is_ascii_digit()) => format!("label_{name}"),
        _ => name,
    }
}

/// A cell as a label value: scalars as text, none and lists as nothing.
fn label_value(value: &Value) -> Option<String> {
    match value {
        Value::Text(s) => Some(s.clone()),
        Value::Boolean(b) => Some(b.to_string()),
        Value::Int(i) => Some(i.to_string()),
        Value::Uint(u) => Some(u.to_string()),
        Value::Float(f) if f.is_finite() => Some(format!("{f}")),
        _ => None,
    }
}

/// A cell as a sample value in the base unit: integers stay integers unless converted,
/// floats print Rust's shortest round-trip form (Go's ParseFloat reads it back exactly),
/// booleans are 1 or 0. None, text, lists and non-finite floats have no sample.
fn sample_value(value: &Value, divisor: Option<u32>) -> Option<String> {
    let number = match (value, divisor) {
        (Value::Boolean(b), None) => return Some(u8::from(*b).to_string()),
        (Value::Int(i), None) => return Some(i.to_string()),
        (Value::Uint(u), None) => return Some(u.to_string()),
        (Value::Boolean(b), Some(_)) => f64::from(u8::from(*b)),
        (Value::Int(i), Some(_)) => *i as f64,
        (Value::Uint(u), Some(_)) => *u as f64,
        (Value::Float(f), _) => *f,
        _ => return None,
    };
    let number = match divisor {
        Some(d) => number / f64::from(d),
        None => number,
    };
    number.is_finite().then(|| format!("{number}"))
}

/// HELP text escaped as the format wants: backslash and line feed.
fn escape_help(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// A label value escaped as the format wants: backslash, double quote and line feed.
fn escape_label_value(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests;
