//! The stats the UI shows: one `/api/3/all` body (plugin → stats, plugin → views) behind
//! tolerant accessors, since in client mode it comes from a remote server and may have any
//! shape: a missing or mistyped field reads as `None` (shown as `-`), never as a panic.

use serde_json::{Map, Value};

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("the stats body is {0}, not a JSON object; expected the body of GET /api/3/all")]
    NotAnObject(&'static str),
    #[error(
        "the stats body has no \"stats\" object or list of objects; expected the body of \
         GET /api/3/all"
    )]
    NoStats,
}

/// One snapshot of every plugin's stats and views, plus the plugins' own health.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stats {
    stats: Map<String, Value>,
    views: Map<String, Value>,
    /// The WASM plugins' status, for the `P` panel (filled in by the feed, not by the body).
    pub plugins: Vec<PluginStatus>,
}

pub use crate::stats::status::PluginStatus;

/// How Glances decorates a value, worst last (so `max` picks the worst of several).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Decoration {
    #[default]
    Default,
    Ok,
    Careful,
    Warning,
    Critical,
}

/// A field's decoration and whether its limit logs alerts (the `_LOG` variants).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Decor {
    pub decoration: Decoration,
    pub logged: bool,
}

impl Decor {
    pub const fn new(decoration: Decoration) -> Decor {
        Decor {
            decoration,
            logged: false,
        }
    }

    /// `OK`, `CAREFUL_LOG`, ...; anything else (`DEFAULT`, unknown names) is `Default`.
    pub fn parse(name: &str) -> Decor {
        let (level, logged) = match name.strip_suffix("_LOG") {
            Some(level) => (level, true),
            None => (name, false),
        };
        let decoration = match level {
            "OK" => Decoration::Ok,
            "CAREFUL" => Decoration::Careful,
            "WARNING" => Decoration::Warning,
            "CRITICAL" => Decoration::Critical,
            _ => return Decor::default(),
        };
        Decor { decoration, logged }
    }
}

impl Stats {
    /// Reads the body of `GET /api/3/all`: `{"stats": [{plugin: stats, ...}], "views": [...]}`
    /// (an object instead of the one-element list is accepted too; views may be missing).
    pub fn from_envelope(all: &Value) -> Result<Stats, ModelError> {
        let Value::Object(envelope) = all else {
            return Err(ModelError::NotAnObject(kind(all)));
        };
        let stats = merged(envelope.get("stats")).ok_or(ModelError::NoStats)?;
        let views = merged(envelope.get("views")).unwrap_or_default();
        Ok(Stats::from_parts(stats, views))
    }

    /// From `{plugin: stats}` and `{plugin: views}` maps already apart (this process's own
    /// snapshot: nothing to unwrap or copy).
    pub fn from_parts(stats: Map<String, Value>, views: Map<String, Value>) -> Stats {
        Stats {
            stats,
            views,
            plugins: Vec::new(),
        }
    }

    /// A plugin's stats as they came (`uptime` is a bare string).
    pub fn value(&self, plugin: &str) -> Option<&Value> {
        self.stats.get(plugin)
    }

    /// A record plugin's stats (cpu, mem, ...).
    pub fn record(&self, plugin: &str) -> Option<&Map<String, Value>> {
        self.stats.get(plugin)?.as_object()
    }

    /// A list plugin's rows (network, processlist, ...); none when it is not a list.
    pub fn rows(&self, plugin: &str) -> &[Value] {
        match self.stats.get(plugin) {
            Some(Value::Array(rows)) => rows,
            _ => &[],
        }
    }

    /// A number of a record plugin: `num("cpu", "total")`.
    pub fn num(&self, plugin: &str, path: &str) -> Option<f64> {
        num(self.stats.get(plugin)?, path)
    }

    /// A text of a record plugin: `text("system", "hostname")`.
    pub fn text(&self, plugin: &str, path: &str) -> Option<&str> {
        text(self.stats.get(plugin)?, path)
    }

    /// The decoration of a field of a record plugin (`row` None) or of one row of a list plugin
    /// (`row` is its index in `rows`); dotted paths reach nested fields (`memory_info.rss`).
    pub fn decoration(&self, plugin: &str, row: Option<usize>, path: &str) -> Decor {
        let Some(views) = self.views.get(plugin) else {
            return Decor::default();
        };
        let views = match row {
            Some(index) => views.get(index),
            None => Some(views),
        };
        views
            .and_then(|views| lookup(views, path))
            .and_then(|leaf| leaf.get("decoration"))
            .and_then(Value::as_str)
            .map(Decor::parse)
            .unwrap_or_default()
    }
}

/// The stats (or views) part of the envelope: an object of plugins, or a list of such objects
/// merged (APIv3 wraps it in a one-element list).
fn merged(part: Option<&Value>) -> Option<Map<String, Value>> {
    match part? {
        Value::Object(plugins) => Some(plugins.clone()),
        Value::Array(items) => {
            let mut plugins = Map::new();
            for item in items {
                if let Value::Object(more) = item {
                    plugins.extend(more.iter().map(|(k, v)| (k.clone(), v.clone())));
                }
            }
            Some(plugins)
        }
        _ => None,
    }
}

/// What a JSON value is, for error messages.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// A field of an object by dotted path (`cpu_times.user`); a key that itself has dots wins.
pub fn lookup<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    if let Some(found) = value.get(path) {
        return Some(found);
    }
    path.split('.').try_fold(value, |value, key| value.get(key))
}

/// A number field (integers too).
pub fn num(value: &Value, path: &str) -> Option<f64> {
    lookup(value, path)?.as_f64()
}

/// A whole-number field; a float is cut to its integer part (a pid sent as `812.0`).
pub fn int(value: &Value, path: &str) -> Option<i64> {
    let field = lookup(value, path)?;
    field.as_i64().or_else(|| field.as_f64().map(|f| f as i64))
}

/// A text field.
pub fn text<'a>(value: &'a Value, path: &str) -> Option<&'a str> {
    lookup(value, path)?.as_str()
}

/// A process's command line, its arguments joined by spaces (empty for kernel threads).
pub fn command_line(process: &Value) -> String {
    match process.get("cmdline") {
        Some(Value::Array(args)) => args
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" "),
        Some(Value::String(line)) => line.clone(),
        _ => String::new(),
    }
}

/// A process's disk I/O in bytes per second, (read, write), from Glances' `io_counters`
/// `[read, write, read_before, write_before, valid]`; `None` when the counters are not
/// readable (`valid` is 0) or missing.
pub fn io_rates(process: &Value) -> Option<(f64, f64)> {
    let io = process.get("io_counters")?.as_array()?;
    let at = |i: usize| io.get(i).and_then(Value::as_f64);
    if at(4)? < 0.5 {
        return None;
    }
    let elapsed = num(process, "time_since_update")?;
    if elapsed <= 0.0 {
        return None;
    }
    let read = (at(0)? - at(2)?) / elapsed;
    let write = (at(1)? - at(3)?) / elapsed;
    Some((read.max(0.0), write.max(0.0)))
}

/// A process's user + system CPU seconds.
pub fn cpu_seconds(process: &Value) -> Option<f64> {
    Some(num(process, "cpu_times.user")? + num(process, "cpu_times.system")?)
}

/// Whether an alert is still going on (Glances' `end` is -1 until it finishes).
pub fn alert_ongoing(alert: &Value) -> bool {
    num(alert, "end").is_some_and(|end| end < 0.0)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn fixture() -> Stats {
        crate::tui::tests::fixture_stats()
    }

    #[test]
    fn the_envelope_must_be_an_object_with_stats() {
        assert!(matches!(
            Stats::from_envelope(&json!([1, 2])),
            Err(ModelError::NotAnObject("a list"))
        ));
        assert!(matches!(
            Stats::from_envelope(&json!({"views": []})),
            Err(ModelError::NoStats)
        ));
        assert!(matches!(
            Stats::from_envelope(&json!({"stats": 3})),
            Err(ModelError::NoStats)
        ));
        // Both shapes of the stats part, views optional.
        let listed = Stats::from_envelope(&json!({"stats": [{"cpu": {"total": 5.0}}]}));
        let plain = Stats::from_envelope(&json!({"stats": {"cpu": {"total": 5.0}}}));
        assert_eq!(listed.expect("list form").num("cpu", "total"), Some(5.0));
        assert_eq!(plain.expect("object form").num("cpu", "total"), Some(5.0));
    }

    #[test]
    fn accessors_read_the_fixture() {
        let stats = fixture();
        assert_eq!(stats.text("system", "hostname"), Some("vm"));
        assert_eq!(stats.num("mem", "percent"), Some(72.4));
        assert_eq!(stats.rows("processlist").len(), 12);
        assert_eq!(stats.rows("network").len(), 2);
        assert!(stats.record("cpu").is_some());
        // A record is no list and a list no record.
        assert!(stats.rows("cpu").is_empty());
        assert!(stats.record("network").is_none());
        assert!(stats.rows("no-such-plugin").is_empty());
        assert_eq!(
            stats.value("uptime").and_then(Value::as_str),
            Some("12 days, 3:04:05")
        );
        assert!(stats.plugins.is_empty());
    }

    #[test]
    fn decorations_of_records_rows_and_nested_fields() {
        let stats = fixture();
        assert_eq!(
            stats.decoration("cpu", None, "total"),
            Decor::new(Decoration::Careful)
        );
        assert_eq!(
            stats.decoration("mem", None, "percent"),
            Decor::new(Decoration::Warning)
        );
        assert_eq!(
            stats.decoration("processlist", Some(0), "cpu_percent"),
            Decor {
                decoration: Decoration::Critical,
                logged: true
            }
        );
        assert_eq!(
            stats.decoration("processlist", Some(0), "memory_info.rss"),
            Decor::default()
        );
        assert_eq!(
            stats.decoration("fs", Some(1), "percent"),
            Decor::new(Decoration::Critical)
        );
        // Out of range, unknown plugin, unknown field, a nested object: all Default.
        assert_eq!(stats.decoration("fs", Some(9), "percent"), Decor::default());
        assert_eq!(stats.decoration("nope", None, "x"), Decor::default());
        assert_eq!(stats.decoration("cpu", None, "nope"), Decor::default());
        assert_eq!(
            stats.decoration("processlist", Some(0), "cpu_times"),
            Decor::default()
        );
    }

    #[test]
    fn decoration_names() {
        assert_eq!(Decor::parse("OK"), Decor::new(Decoration::Ok));
        assert_eq!(
            Decor::parse("WARNING_LOG"),
            Decor {
                decoration: Decoration::Warning,
                logged: true
            }
        );
        assert_eq!(Decor::parse("DEFAULT"), Decor::default());
        assert_eq!(Decor::parse("MAX"), Decor::default());
        assert_eq!(Decor::parse("DEFAULT_LOG"), Decor::default());
        assert!(Decor::new(Decoration::Critical) > Decor::new(Decoration::Warning));
    }

    #[test]
    fn process_helpers_tolerate_any_shape() {
        let stats = fixture();
        let glint = &stats.rows("processlist")[0];
        assert_eq!(
            command_line(glint),
            "./target/release/glint -s -p 61208 -t 2"
        );
        // (52428800 - 41943040) / 2 s and (10485760 - 9437184) / 2 s.
        assert_eq!(io_rates(glint), Some((5_242_880.0, 524_288.0)));
        assert_eq!(cpu_seconds(glint), Some(3725.4 + 120.2));
        assert_eq!(int(glint, "pid"), Some(18364));
        let odd = json!({"cmdline": "a b", "io_counters": [1, 2, 3], "pid": 7.9});
        assert_eq!(command_line(&odd), "a b");
        assert_eq!(io_rates(&odd), None);
        assert_eq!(int(&odd, "pid"), Some(7));
        assert_eq!(command_line(&json!(5)), "");
        assert_eq!(cpu_seconds(&json!({"cpu_times": [1, 2]})), None);
        // Not readable: the fifth counter is 0.
        let hidden = json!({"io_counters": [9, 9, 0, 0, 0], "time_since_update": 1.0});
        assert_eq!(io_rates(&hidden), None);
    }

    #[test]
    fn plugin_statuses_round_trip_and_tolerate_missing_fields() {
        let status = PluginStatus {
            name: "cpu".into(),
            kind: "input".into(),
            status: "running".into(),
            calls: 3,
            errors: 1,
            restarts: 0,
            last_call_micros: 850,
            memory_bytes: Some(1 << 20),
            ..PluginStatus::default()
        };
        let text = serde_json::to_string(&status).expect("serializes");
        let back: PluginStatus = serde_json::from_str(&text).expect("deserializes");
        assert_eq!(back, status);
        let partial: PluginStatus =
            serde_json::from_value(json!({"name": "mem"})).expect("defaults fill the rest");
        assert_eq!(partial.name, "mem");
        assert_eq!(partial.memory_bytes, None);
    }

    #[test]
    fn ongoing_alerts_have_a_negative_end() {
        assert!(alert_ongoing(&json!({"end": -1})));
        assert!(!alert_ongoing(&json!({"end": 1_796_155_425})));
        assert!(!alert_ongoing(&json!({"end": "soon"})));
    }
}
