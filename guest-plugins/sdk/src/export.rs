//! What exporters share: their settings (read once from the config section), the rows and
//! numeric points of a batch with what each column is, tags, the names time-series
//! targets use (`prefix.host.plugin.key.field`) and how they write numbers, and the socket
//! address and socket errors of the targets reached without HTTP.

use crate::{Batch, ConfigValue, ExportError, FieldInfo, Schema, Table, Unit, Value};
pub mod document;
pub mod file;
pub mod influx;
pub mod prometheus;

/// Never exported: the seconds since a plugin's previous update say nothing about the
/// machine, and every target stamps points with their own time.
pub const TIME_SINCE_UPDATE: &str = "time_since_update";

/// The `prefix` the metric names of Graphite, StatsD and OpenTSDB start with when none is
/// set: the program they come from.
pub const DEFAULT_PREFIX: &str = "glint";

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

    /// Settings from (key, text) pairs: for tests.
    pub fn from_text(entries: &[(&str, &str)]) -> Settings {
        Settings::from_entries(
            entries
                .iter()
                .map(|(k, v)| (k.to_string(), ConfigValue::Text(v.to_string())))
                .collect(),
        )
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

    /// A text setting, or `default` when it is unset or blank (`db`, `index`).
    pub fn text_or(&self, key: &str, default: &str) -> String {
        self.text(key)
            .filter(|v| !v.trim().is_empty())
            .unwrap_or_else(|| default.to_string())
    }

    /// `prefix`, the first part of every metric name (Graphite, StatsD, OpenTSDB):
    /// [`DEFAULT_PREFIX`] when unset; an empty one is kept (the names have no prefix).
    pub fn name_prefix(&self) -> String {
        self.text("prefix")
            .unwrap_or_else(|| DEFAULT_PREFIX.to_string())
    }

    /// `user` and `password`, for HTTP basic authentication: none when `user` is unset or
    /// blank; no `password` is an empty one.
    pub fn credentials(&self) -> Option<(String, String)> {
        let user = self.text("user").filter(|u| !u.trim().is_empty())?;
        Some((user, self.text("password").unwrap_or_default()))
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

/// `value` as an integer (`1000`, and `0` for `-0`) when it is integral and at most `max` in
/// magnitude; none otherwise. Below 2^63 an integral f64 converts to i64 exactly, so `max`
/// stays under that; a target may want less (the integers it stores exactly).
pub fn integer_text(value: f64, max: f64) -> Option<String> {
    (value.fract() == 0.0 && value.abs() <= max).then(|| format!("{}", value as i64))
}

/// A number as Graphite and StatsD parse it: an integral one without a fraction or exponent
/// (`1000`, and `0` for `-0`), any other in Rust's shortest round-trip form (`0.25`), which
/// never has an exponent either.
pub fn decimal_text(value: f64) -> String {
    integer_text(value, 9.0e18).unwrap_or_else(|| format!("{value}"))
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

/// `text` as a target that allows only some chars in a name takes it: each char that is
/// neither an ASCII letter or digit nor one of `keep` (each target has its own) becomes `_`,
/// and an empty text is `_`.
pub fn sanitized(text: &str, keep: &[char]) -> String {
    let cleaned: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || keep.contains(&c) {
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

/// One part of a dotted metric name: dots, spaces and slashes would split or break it, so
/// each becomes `_` (`/var/log` → `_var_log`); an empty part is `_`.
pub fn name_part(part: &str) -> String {
    sanitized(part, &['_', '-'])
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

/// `host:port` from the `url` setting of a target reached over a plain socket (Graphite over
/// TCP, StatsD over UDP): `<scheme>://host:port` or just `host:port`, a trailing `/` ignored.
/// Anything else is a permanent error (a wrong setting does not get better by retrying)
/// that says what to write, with `hint` (`StatsD's port is 8125`).
pub fn socket_target(
    settings: &Settings,
    plugin: &str,
    scheme: &str,
    hint: &str,
) -> Result<String, ExportError> {
    let url = settings.required("url", plugin)?;
    let bad = |why: &str| {
        ExportError::Permanent(format!(
            "[plugins.{plugin}] url {url:?}: {why}; write {scheme}://host:port ({hint})"
        ))
    };
    let trimmed = url.trim();
    let rest = match trimmed.split_once("://") {
        Some((given, rest)) if given.eq_ignore_ascii_case(scheme) => rest,
        Some(_) => return Err(bad(format!("the scheme must be {scheme}").as_str())),
        None => trimmed,
    };
    let rest = rest.trim_end_matches('/');
    match rest.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0) => {
            Ok(rest.to_string())
        }
        _ => Err(bad("it needs a host and a port")),
    }
}

/// A socket operation that failed (`doing`: `connecting`, `sending`) in an export to `what`
/// at `address`: permanent when the host refused the destination (permission denied: it is
/// not granted, and retrying will not change that), retryable otherwise.
pub fn socket_error(what: &str, address: &str, doing: &str, e: std::io::Error) -> ExportError {
    let message = format!("{what} at {address}: {doing} failed: {e}");
    if e.kind() == std::io::ErrorKind::PermissionDenied {
        ExportError::Permanent(format!("{message} (not a destination granted to glint)"))
    } else {
        ExportError::Retryable(message)
    }
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

/// An object of string members, `{"k":"v",...}`, in the order given.
pub fn json_strings<K: AsRef<str>, V: AsRef<str>>(members: &[(K, V)], out: &mut String) {
    out.push('{');
    for (i, (name, value)) in members.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        json_string(name.as_ref(), out);
        out.push(':');
        json_string(value.as_ref(), out);
    }
    out.push('}');
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
    use crate::{FieldInfoExt, Layout, PluginKind, field};

    fn batch() -> (Vec<Schema>, Batch) {
        let fields = vec![
            field("bytes_recv", Unit::Bytes, "").rate(),
            field("alias", Unit::Text, ""),
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
        assert_eq!(s.text_or("port", "1"), "8086");
        assert_eq!(s.credentials(), None);
    }

    #[test]
    fn defaults_and_credentials() {
        let s = Settings::from_text(&[("db", " "), ("user", "me")]);
        assert_eq!(s.text_or("db", "glint"), "glint", "blank is unset");
        assert_eq!(s.text_or("index", "glint"), "glint");
        assert_eq!(s.name_prefix(), "glint");
        assert_eq!(Settings::from_text(&[("prefix", "")]).name_prefix(), "");
        assert_eq!(s.credentials(), Some(("me".to_string(), String::new())));
        let s = Settings::from_text(&[("user", " "), ("password", "p")]);
        assert_eq!(s.credentials(), None, "no user, no authentication");
    }

    #[test]
    fn numbers_as_integers_where_they_are_integral() {
        assert_eq!(decimal_text(1000.0), "1000");
        assert_eq!(decimal_text(-0.0), "0");
        assert_eq!(decimal_text(-5.0), "-5");
        assert_eq!(decimal_text(-2.5), "-2.5");
        assert_eq!(decimal_text(0.5), "0.5");
        assert_eq!(decimal_text(1e20), "100000000000000000000");
        assert_eq!(decimal_text(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(decimal_text(1.5e-7), "0.00000015");
        assert_eq!(
            integer_text(9e15, 9e15).as_deref(),
            Some("9000000000000000")
        );
        assert_eq!(integer_text(9e15 + 2.0, 9e15), None);
        assert_eq!(integer_text(0.5, 9e15), None);
    }

    #[test]
    fn sanitized_keeps_letters_digits_and_what_it_is_told() {
        assert_eq!(sanitized("a-Z_0./b", &['-', '_', '.', '/']), "a-Z_0./b");
        assert_eq!(sanitized("eth 0:1", &[]), "eth_0_1");
        assert_eq!(sanitized("été", &[]), "_t_");
        assert_eq!(sanitized("", &[]), "_");
        assert_eq!(name_part("/var/my.log"), "_var_my_log");
    }

    #[test]
    fn socket_targets_with_or_without_scheme() {
        let target = |url: &str, scheme: &str| {
            socket_target(
                &Settings::from_text(&[("url", url)]),
                "x",
                scheme,
                "the port",
            )
        };
        assert_eq!(
            target("tcp://127.0.0.1:2003", "tcp").ok().as_deref(),
            Some("127.0.0.1:2003")
        );
        assert_eq!(
            target(" carbon:2003/ ", "tcp").ok().as_deref(),
            Some("carbon:2003")
        );
        assert_eq!(
            target("TCP://[::1]:2003", "tcp").ok().as_deref(),
            Some("[::1]:2003")
        );
        assert_eq!(
            target("udp://127.0.0.1:8125", "udp").ok().as_deref(),
            Some("127.0.0.1:8125")
        );
        assert_eq!(
            target("statsd:8125", "udp").ok().as_deref(),
            Some("statsd:8125")
        );
        for (bad, scheme) in [
            ("udp://h:2003", "tcp"),
            ("carbon", "tcp"),
            ("carbon:0", "tcp"),
            (":2003", "tcp"),
            ("h:port", "tcp"),
            ("tcp://h:8125", "udp"),
            ("statsd", "udp"),
            ("h:99999", "udp"),
        ] {
            assert!(
                matches!(target(bad, scheme), Err(ExportError::Permanent(m))
                    if m.contains(&format!("{scheme}://host:port (the port)"))
                        && m.starts_with("[plugins.x] url ")),
                "{bad}"
            );
        }
        assert!(matches!(
            socket_target(&Settings::default(), "x", "tcp", "the port"),
            Err(ExportError::Permanent(m)) if m.contains("`url`")
        ));
    }

    #[test]
    fn a_refused_destination_is_permanent_other_socket_errors_retryable() {
        use std::io::{Error, ErrorKind};
        let refused = socket_error(
            "StatsD",
            "h:1",
            "sending",
            Error::from(ErrorKind::PermissionDenied),
        );
        assert!(
            matches!(refused, ExportError::Permanent(m) if m.starts_with("StatsD at h:1: sending failed: ")
                && m.ends_with(" (not a destination granted to glint)"))
        );
        let down = socket_error(
            "Graphite",
            "h:1",
            "connecting",
            Error::from(ErrorKind::ConnectionRefused),
        );
        assert!(
            matches!(down, ExportError::Retryable(m) if m.starts_with("Graphite at h:1: connecting failed: "))
        );
    }

    #[test]
    fn string_objects() {
        let mut out = String::new();
        json_strings(&[("a", "x\"y"), ("b\n", "")], &mut out);
        assert_eq!(out, r#"{"a":"x\"y","b\n":""}"#);
        out.clear();
        json_strings::<&str, &str>(&[], &mut out);
        assert_eq!(out, "{}");
    }
}
