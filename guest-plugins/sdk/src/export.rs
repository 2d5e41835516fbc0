//! What exporters share: their settings (read once from the config section), the rows and
//! numeric points of a batch with what each column is, tags, and the names time-series
//! targets use (`prefix.host.plugin.key.field`).

use crate::{Batch, ConfigValue, ExportError, FieldInfo, Schema, Table, Unit, Value};
pub mod document;
pub mod influx;
pub mod prometheus;

/// Never exported: the seconds since a plugin's previous update say nothing about the
/// machine, and every target stamps points with their own time.
pub const TIME_SINCE_UPDATE: &str = "time_since_update";

/// An exporter's config section (`[plugins.NAME]`), with the manifest's defaults under it.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    entries: Vec<(String, ConfigValue)>,
}

impl Settings {
    /// This plugin's section, as the host hands it over.
    pub fn load() -> Settings {
        Settings {
            entries: crate::config(),
        }
    }

    /// Settings from (key, value) pairs: for tests.
    pub fn from_entries(entries: Vec<(String, ConfigValue)>) -> Settings {
        Settings { entries }
    }

    pub fn get(&self, key: &str) -> Option<&ConfigValue> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// A text setting (a number is taken as its text: `port = 8086`).
    pub fn text(&self, key: &str) -> Option<String> {
        match self.get(key)? {
            ConfigValue::Text(s) => Some(s.clone()),
            ConfigValue::Int(i) => Some(i.to_string()),
            ConfigValue::Float(f) => Some(f.to_string()),
            ConfigValue::Boolean(b) => Some(b.to_string()),
            ConfigValue::TextList(l) => Some(l.join(",")),
        }
    }

    /// A text setting that must be there: its absence is a permanent error naming the key.
    pub fn required(&self, key: &str, plugin: &str) -> Result<String, ExportError> {
        match self.text(key) {
            Some(s) if !s.trim().is_empty() => Ok(s),
            _ => Err(ExportError::Permanent(format!(
                "no `{key}` in [plugins.{plugin}]: set it in glint's config"
            ))),
        }
    }

    pub fn int(&self, key: &str) -> Option<i64> {
        match self.get(key)? {
            ConfigValue::Int(i) => Some(*i),
            ConfigValue::Text(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    pub fn boolean(&self, key: &str) -> Option<bool> {
        match self.get(key)? {
            ConfigValue::Boolean(b) => Some(*b),
            ConfigValue::Text(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    /// `tags`, Glances' way: `"k1:v1,k2:v2"`, or a list of `"k:v"`. A tag without `:` is
    /// left out (a target needs both halves).
    pub fn tags(&self) -> Vec<(String, String)> {
        let items: Vec<String> = match self.get("tags") {
            Some(ConfigValue::TextList(l)) => l.clone(),
            Some(ConfigValue::Text(s)) => s.split(',').map(str::to_string).collect(),
            _ => Vec::new(),
        };
        items
            .iter()
            .filter_map(|t| {
                let (k, v) = t.split_once(':')?;
                let (k, v) = (k.trim(), v.trim());
                (!k.is_empty() && !v.is_empty()).then(|| (k.to_string(), v.to_string()))
            })
            .collect()
    }
}

/// One row of a plugin's table in a batch: its key (list plugins) and its cells with what
/// each column is.
#[derive(Debug, Clone)]
pub struct Row<'a> {
    pub plugin: &'a str,
    /// The key column's name and this row's key as text (`interface_name`, `eth0`).
    pub key: Option<(&'a str, String)>,
    /// Every column but the key and `time_since_update`, in table order.
    pub cells: Vec<Cell<'a>>,
}

/// One cell, with its column's field description when the handshake has one.
#[derive(Debug, Clone, Copy)]
pub struct Cell<'a> {
    pub column: &'a str,
    pub value: &'a Value,
    pub field: Option<&'a FieldInfo>,
}

impl Cell<'_> {
    /// The cell as a number (booleans as 0/1); none for text, lists and non-finite floats.
    pub fn number(&self) -> Option<f64> {
        number(self.value)
    }

    /// The column's unit (`none` when it is not described).
    pub fn unit(&self) -> Unit {
        self.field.map_or(Unit::None, |f| f.unit)
    }
}

/// A cell as a number: what time-series targets store.
pub fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Int(i) => Some(*i as f64),
        Value::Uint(u) => Some(*u as f64),
        Value::Float(f) if f.is_finite() => Some(*f),
        Value::Boolean(b) => Some(if *b { 1.0 } else { 0.0 }),
        _ => None,
    }
}

/// A key cell as text: `eth0`, `/`, `1234`.
pub fn key_text(value: &Value) -> String {
    match value {
        Value::Text(s) => s.clone(),
        Value::Int(i) => i.to_string(),
        Value::Uint(u) => u.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Boolean(b) => b.to_string(),
        _ => String::new(),
    }
}

/// The field description of `column`: its own, or for the `_gauge` and `_rate_per_sec`
/// columns of an is-rate field, that field's.
pub fn field_of<'a>(fields: &'a [FieldInfo], column: &str) -> Option<&'a FieldInfo> {
    fields.iter().find(|f| f.name == column).or_else(|| {
        let base = column
            .strip_suffix("_gauge")
            .or_else(|| column.strip_suffix("_rate_per_sec"))?;
        fields.iter().find(|f| f.name == base && f.is_rate)
    })
}

/// The fields `schema` gives for `plugin` (none when it has no entry).
pub fn fields_of<'a>(schema: &'a [Schema], plugin: &str) -> &'a [FieldInfo] {
    schema
        .iter()
        .find(|s| s.plugin == plugin)
        .map_or(&[], |s| s.fields.as_slice())
}

/// The rows of one plugin's table.
pub fn table_rows<'a>(plugin: &'a str, table: &'a Table, fields: &'a [FieldInfo]) -> Vec<Row<'a>> {
    let key_col = table
        .key
        .as_deref()
        .and_then(|k| table.columns.iter().position(|c| c == k));
    table
        .rows
        .iter()
        .map(|row| Row {
            plugin,
            key: key_col.and_then(|i| {
                let name = table.columns[i].as_str();
                row.get(i).map(|v| (name, key_text(v)))
            }),
            cells: table
                .columns
                .iter()
                .zip(row)
                .enumerate()
                .filter(|(i, (c, _))| Some(*i) != key_col && *c != TIME_SINCE_UPDATE)
                .map(|(_, (column, value))| Cell {
                    column,
                    value,
                    field: field_of(fields, column),
                })
                .collect(),
        })
        .collect()
}

/// Every row of every table in `batch`, plugin by plugin.
pub fn rows<'a>(schema: &'a [Schema], batch: &'a Batch) -> Vec<Row<'a>> {
    batch
        .tables
        .iter()
        .flat_map(|(plugin, table)| table_rows(plugin, table, fields_of(schema, plugin)))
        .collect()
}

/// One numeric value of a batch: what Graphite, StatsD and OpenTSDB store.
#[derive(Debug, Clone)]
pub struct Point<'a> {
    pub plugin: &'a str,
    pub key: Option<(&'a str, String)>,
    pub field: &'a str,
    pub value: f64,
    pub unit: Unit,
}

/// Every numeric cell of `batch`, row by row; text and lists are left out.
pub fn points<'a>(schema: &'a [Schema], batch: &'a Batch) -> Vec<Point<'a>> {
    rows(schema, batch)
        .into_iter()
        .flat_map(|row| {
            let Row { plugin, key, cells } = row;
            cells.into_iter().filter_map(move |cell| {
                Some(Point {
                    plugin,
                    key: key.clone(),
                    field: cell.column,
                    value: cell.number()?,
                    unit: cell.unit(),
                })
            })
        })
        .collect()
}

/// One part of a dotted metric name: dots, spaces and slashes would split or break it, so
/// each becomes `_` (`/var/log` → `_var_log`); an empty part is `_`.
pub fn name_part(part: &str) -> String {
    let cleaned: String = part
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if cleaned.is_empty() {
        "_".to_string()
    } else {
        cleaned
    }
}

/// `prefix.host.plugin[.key].field`, each part cleaned by [`name_part`] (the prefix may
/// hold dots of its own: `servers.web`); an empty prefix is left out.
pub fn dotted_name(prefix: &str, host: &str, point: &Point<'_>) -> String {
    let mut parts: Vec<String> = prefix
        .split('.')
        .filter(|p| !p.is_empty())
        .map(name_part)
        .collect();
    parts.push(name_part(host));
    parts.push(name_part(point.plugin));
    if let Some((_, key)) = &point.key {
        parts.push(name_part(key));
    }
    parts.push(name_part(point.field));
    parts.join(".")
}

/// A batch's time in whole seconds / milliseconds since the Unix epoch.
pub fn unix_seconds(batch: &Batch) -> u64 {
    batch.unix_nanos / 1_000_000_000
}

pub fn unix_millis(batch: &Batch) -> u64 {
    batch.unix_nanos / 1_000_000
}

/// A time as RFC 3339 in UTC with milliseconds (`2026-12-02T01:44:50.123Z`): what JSON
/// documents and CSV files carry.
pub fn rfc3339(unix_nanos: u64) -> String {
    let secs = unix_nanos / 1_000_000_000;
    let millis = (unix_nanos / 1_000_000) % 1000;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Howard Hinnant's days-to-civil: the proleptic Gregorian date of a day number.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// A value as JSON (for the JSON, RESTful, Elasticsearch and CouchDB exporters); non-finite
/// floats, which JSON cannot hold, are `null`.
pub fn json_value(value: &Value, out: &mut String) {
    use std::fmt::Write as _;
    match value {
        Value::None => out.push_str("null"),
        Value::Boolean(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Uint(u) => {
            let _ = write!(out, "{u}");
        }
        Value::Float(f) => json_float(*f, out),
        Value::Text(s) => json_string(s, out),
        Value::TextList(l) => json_list(l, out, |s, out| json_string(s, out)),
        Value::IntList(l) => json_list(l, out, |i, out| {
            let _ = write!(out, "{i}");
        }),
        Value::FloatList(l) => json_list(l, out, |f, out| json_float(*f, out)),
    }
}

fn json_float(f: f64, out: &mut String) {
    use std::fmt::Write as _;
    if f.is_finite() {
        // `{:?}` keeps a float a float (`1.0`, not `1`) and round-trips.
        let _ = write!(out, "{f:?}");
    } else {
        out.push_str("null");
    }
}

fn json_list<T>(items: &[T], out: &mut String, each: impl Fn(&T, &mut String)) {
    out.push('[');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        each(item, out);
    }
    out.push(']');
}

/// A JSON string literal.
pub fn json_string(s: &str, out: &mut String) {
    use std::fmt::Write as _;
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// One row as a JSON object: the key column first, then every cell, dotted columns nested
/// back into objects as glint's API renders them (`memory_info.rss` → `{"memory_info":
/// {"rss": ...}}`); `extra` (name, JSON text) pairs come first.
pub fn json_row(row: &Row<'_>, extra: &[(&str, String)], out: &mut String) {
    out.push('{');
    // Whether the object being written has no member yet (no comma before the next).
    let mut first = true;
    let sep = |first: &mut bool, out: &mut String| {
        if !*first {
            out.push(',');
        }
        *first = false;
    };
    for (name, json) in extra {
        sep(&mut first, out);
        json_string(name, out);
        out.push(':');
        out.push_str(json);
    }
    if let Some((name, key)) = &row.key {
        sep(&mut first, out);
        json_string(name, out);
        out.push(':');
        json_string(key, out);
    }
    // Columns sharing a dotted prefix are adjacent in glint's tables; an object is opened
    // for each run of them.
    let mut open: Vec<&str> = Vec::new();
    for cell in &row.cells {
        let mut path: Vec<&str> = cell.column.split('.').collect();
        let leaf = path.pop().unwrap_or(cell.column);
        let common = open.iter().zip(&path).take_while(|(a, b)| a == b).count();
        while open.len() > common {
            open.pop();
            out.push('}');
        }
        for part in &path[common..] {
            sep(&mut first, out);
            json_string(part, out);
            out.push_str(":{");
            open.push(part);
            first = true;
        }
        sep(&mut first, out);
        json_string(leaf, out);
        out.push(':');
        json_value(cell.value, out);
    }
    for _ in open {
        out.push('}');
    }
    out.push('}');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Layout, PluginKind};

    fn batch() -> (Vec<Schema>, Batch) {
        let fields = vec![
            FieldInfo {
                name: "bytes_recv".into(),
                description: String::new(),
                unit: Unit::Bytes,
                is_rate: true,
                keep_history: false,
            },
            FieldInfo {
                name: "alias".into(),
                description: String::new(),
                unit: Unit::Text,
                is_rate: false,
                keep_history: false,
            },
        ];
        let _ = (Layout::List, PluginKind::Exporter);
        let table = Table {
            key: Some("interface_name".into()),
            columns: vec![
                "interface_name".into(),
                "alias".into(),
                "bytes_recv".into(),
                "bytes_recv_gauge".into(),
                "time_since_update".into(),
                "io.read".into(),
                "io.write".into(),
            ],
            rows: vec![vec![
                Value::Text("eth0".into()),
                Value::Text("up\"link".into()),
                Value::Uint(10),
                Value::Uint(1000),
                Value::Float(1.0),
                Value::Int(1),
                Value::Float(f64::NAN),
            ]],
        };
        (
            vec![Schema {
                plugin: "network".into(),
                fields,
            }],
            Batch {
                seq: 3,
                unix_nanos: 1_700_000_000_123_000_000,
                hostname: "box".into(),
                tables: vec![("network".into(), table)],
            },
        )
    }

    #[test]
    fn points_skip_key_text_and_time_since_update() {
        let (schema, batch) = batch();
        let points = points(&schema, &batch);
        let names: Vec<&str> = points.iter().map(|p| p.field).collect();
        assert_eq!(names, ["bytes_recv", "bytes_recv_gauge", "io.read"]);
        assert_eq!(
            points[1].unit,
            Unit::Bytes,
            "the _gauge column has its field's unit"
        );
        assert_eq!(points[0].key, Some(("interface_name", "eth0".to_string())));
        assert_eq!(
            dotted_name("glint.dc1", "my.box", &points[2]),
            "glint.dc1.my_box.network.eth0.io_read"
        );
        assert_eq!(unix_seconds(&batch), 1_700_000_000);
        assert_eq!(rfc3339(batch.unix_nanos), "2023-11-14T22:13:20.123Z");
        assert_eq!(rfc3339(951_782_400_000_000_000), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn rows_render_as_nested_json() {
        let (schema, batch) = batch();
        let rows = rows(&schema, &batch);
        let mut out = String::new();
        json_row(&rows[0], &[("plugin", "\"network\"".into())], &mut out);
        assert_eq!(
            out,
            r#"{"plugin":"network","interface_name":"eth0","alias":"up\"link","bytes_recv":10,"bytes_recv_gauge":1000,"io":{"read":1,"write":null}}"#
        );
    }

    #[test]
    fn tags_and_settings() {
        let s = Settings::from_entries(vec![
            (
                "tags".into(),
                ConfigValue::Text("dc:eu, rack : 4,bad".into()),
            ),
            ("port".into(), ConfigValue::Int(8086)),
        ]);
        assert_eq!(
            s.tags(),
            [
                ("dc".to_string(), "eu".to_string()),
                ("rack".into(), "4".into())
            ]
        );
        assert_eq!(s.text("port").as_deref(), Some("8086"));
        assert!(
            matches!(s.required("url", "x"), Err(ExportError::Permanent(m)) if m.contains("`url`"))
        );
    }
}
