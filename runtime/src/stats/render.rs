//! Renders stats tables as the JSON Glances clients expect: dotted columns nested back into
//! objects, list elements carrying `"key"`, one-record plugins as an object, scalar plugins as
//! a bare value. Knows no plugin by name.

use serde::ser::{Error as _, Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::value::RawValue;
use serde_json::{Map, Number, Value as Json};

use crate::bindings::{Decoration, Layout, Unit, Value};
use crate::settings::config::PluginLimits;
use crate::stats::decorate::limit_for;
use crate::stats::snapshot::{PluginStats, Snapshot};

/// One cell as JSON. Non-finite floats become null (JSON has no NaN).
pub fn value(v: &Value) -> Json {
    serde_json::to_value(Cell(v)).unwrap_or(Json::Null)
}

/// A cell, serialized as its JSON value.
struct Cell<'a>(&'a Value);

impl Serialize for Cell<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let finite = |f: f64| f.is_finite().then_some(f);
        match self.0 {
            Value::None => s.serialize_unit(),
            Value::Boolean(b) => s.serialize_bool(*b),
            Value::Int(i) => s.serialize_i64(*i),
            Value::Uint(u) => s.serialize_u64(*u),
            Value::Float(f) => finite(*f).serialize(s),
            Value::Text(t) => s.serialize_str(t),
            Value::TextList(l) => l.serialize(s),
            Value::IntList(l) => l.serialize(s),
            Value::FloatList(l) => {
                let mut seq = s.serialize_seq(Some(l.len()))?;
                for f in l {
                    seq.serialize_element(&finite(*f))?;
                }
                seq.end()
            }
        }
    }
}

/// How a table's flat columns nest back into objects (`memory_info.rss` under
/// `memory_info`), in the order columns first appear. Built once per rendering.
#[derive(Debug, Default)]
struct Shape(Vec<(String, Node)>);

#[derive(Debug)]
enum Node {
    Column(usize),
    Group(Shape),
}

impl Shape {
    fn of(columns: &[String]) -> Shape {
        let mut shape = Shape::default();
        for (i, column) in columns.iter().enumerate() {
            shape.insert(column, i);
        }
        shape
    }

    fn insert(&mut self, path: &str, column: usize) {
        match path.split_once('.') {
            // A plain column wins over a group of the same name (`a` and `a.b`).
            None => match self.0.iter_mut().find(|(n, _)| n == path) {
                Some(entry) => entry.1 = Node::Column(column),
                None => self.0.push((path.to_string(), Node::Column(column))),
            },
            Some((head, rest)) => {
                let index = match self.0.iter().position(|(n, _)| n == head) {
                    Some(i) => i,
                    None => {
                        self.0
                            .push((head.to_string(), Node::Group(Shape::default())));
                        self.0.len() - 1
                    }
                };
                if let Node::Group(group) = &mut self.0[index].1 {
                    group.insert(rest, column);
                }
            }
        }
    }
}

/// The part of a row under one shape level (the whole row at the top).
struct Level<'a> {
    stats: &'a PluginStats,
    shape: &'a Shape,
    row: usize,
    /// Views instead of values.
    views: Option<&'a ViewContext<'a>>,
    /// A `"key"` entry naming the key field, last (list rows at the top, as Glances 4).
    key: Option<&'a str>,
}

impl<'a> Level<'a> {
    /// A whole row's values.
    fn row(stats: &'a PluginStats, shape: &'a Shape, row: usize) -> Level<'a> {
        Level {
            stats,
            shape,
            row,
            views: None,
            key: stats.table.key.as_deref(),
        }
    }
}

/// What decorating a row's views needs.
struct ViewContext<'a> {
    limits: Option<&'a PluginLimits>,
    key: Option<String>,
}

impl Serialize for Level<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let cells = self.stats.table.rows.get(self.row);
        let mut map =
            s.serialize_map(Some(self.shape.0.len() + usize::from(self.key.is_some())))?;
        for (name, node) in &self.shape.0 {
            match node {
                Node::Column(c) => match self.views {
                    None => {
                        let cell = cells.and_then(|r| r.get(*c)).unwrap_or(&Value::None);
                        map.serialize_entry(name, &Cell(cell))?;
                    }
                    Some(context) => {
                        map.serialize_entry(name, &self.view(context, *c))?;
                    }
                },
                Node::Group(group) => map.serialize_entry(
                    name,
                    &Level {
                        shape: group,
                        key: None,
                        ..*self
                    },
                )?,
            }
        }
        if let Some(key) = self.key {
            map.serialize_entry("key", key)?;
        }
        map.end()
    }
}

impl Level<'_> {
    fn view(&self, context: &ViewContext, column: usize) -> View {
        let decoration = self
            .stats
            .decorations
            .get(self.row)
            .and_then(|r| r.get(column))
            .copied()
            .unwrap_or(Decoration::Default);
        let name = self
            .stats
            .table
            .columns
            .get(column)
            .map_or("", String::as_str);
        let logged = limit_for(context.limits, context.key.as_deref(), name).is_some_and(|l| l.log);
        View { decoration, logged }
    }
}

/// Glances' view of one field.
struct View {
    decoration: Decoration,
    /// Its limit logs alerts: the `_LOG` variant.
    logged: bool,
}

/// Every view there is, as JSON text: `/api/3/all` has thousands of them (one per field of
/// every process), all one of nine, so they are written once and copied, not re-escaped.
fn view_json(decoration: Decoration, logged: bool) -> Option<&'static RawValue> {
    const ALL: [Decoration; 5] = [
        Decoration::Default,
        Decoration::Ok,
        Decoration::Careful,
        Decoration::Warning,
        Decoration::Critical,
    ];
    static VIEWS: std::sync::OnceLock<Vec<Box<RawValue>>> = std::sync::OnceLock::new();
    let views = VIEWS.get_or_init(|| {
        [false, true]
            .iter()
            .flat_map(|&logged| ALL.iter().map(move |&d| decoration_name(d, logged)))
            .filter_map(|name| {
                RawValue::from_string(format!(
                    r#"{{"decoration":"{name}","optional":false,"additional":false,"splittable":false,"hidden":false}}"#
                ))
                .ok()
            })
            .collect()
    });
    let index = ALL.iter().position(|&d| d == decoration)? + ALL.len() * usize::from(logged);
    views.get(index).map(|raw| &**raw)
}

impl Serialize for View {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if let Some(raw) = view_json(self.decoration, self.logged) {
            return raw.serialize(s);
        }
        let mut map = s.serialize_map(Some(5))?;
        map.serialize_entry("decoration", decoration_name(self.decoration, self.logged))?;
        for hint in ["optional", "additional", "splittable", "hidden"] {
            map.serialize_entry(hint, &false)?;
        }
        map.end()
    }
}

/// A plugin's stats in Glances' raw shape: object, list of objects, or bare value.
pub struct PluginJson<'a>(pub &'a PluginStats);

impl Serialize for PluginJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let stats = self.0;
        let shape = Shape::of(&stats.table.columns);
        let row = |row| Level::row(stats, &shape, row);
        match stats.meta.layout {
            Layout::List => s.collect_seq((0..stats.table.rows.len()).map(row)),
            Layout::Record => row(0).serialize(s),
            Layout::Scalar => match stats.table.rows.first().and_then(|r| r.first()) {
                Some(cell) => Cell(cell).serialize(s),
                None => s.serialize_unit(),
            },
        }
    }
}

/// A plugin's stats as the APIv3 envelope lists them: the rows of a list plugin, the one
/// record, or the bare value (none before the first tick).
pub struct StatsList<'a>(pub Option<&'a PluginStats>);

impl Serialize for StatsList<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            None => s.collect_seq(std::iter::empty::<()>()),
            Some(stats) if stats.meta.layout == Layout::List => PluginJson(stats).serialize(s),
            Some(stats) if stats.table.rows.is_empty() => s.collect_seq(std::iter::empty::<()>()),
            Some(stats) => [PluginJson(stats)].serialize(s),
        }
    }
}

/// Distinct rows of views kept for copying while one list is written: a list's rows fall in
/// a few patterns (most all DEFAULT); past this many, a pattern is rare and the search for
/// it would cost more than writing the row again.
const DISTINCT_VIEW_ROWS: usize = 16;

/// The views of each row, shaped like the stats: per field its decoration and display hints.
pub struct ViewsList<'a> {
    pub stats: Option<&'a PluginStats>,
    pub limits: Option<&'a PluginLimits>,
}

impl Serialize for ViewsList<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let Some(stats) = self.stats else {
            return s.collect_seq(std::iter::empty::<()>());
        };
        let shape = Shape::of(&stats.table.columns);
        let no_decorations = Vec::new();
        // Rows decorated alike (and without limits of their own) have the same views: each
        // such row is written once and copied after. processlist's views are three quarters
        // of /api/3/all, and most of its rows are all DEFAULT.
        let mut written: Vec<(&[Decoration], Option<String>, Box<RawValue>)> = Vec::new();
        let mut seq = s.serialize_seq(Some(stats.table.rows.len()))?;
        for row in 0..stats.table.rows.len() {
            let context = ViewContext {
                limits: self.limits,
                // Only a key with limits of its own decorates its row apart.
                key: self
                    .limits
                    .filter(|l| !l.keys.is_empty())
                    .and_then(|l| stats.row_key(row).filter(|k| l.keys.contains_key(k))),
            };
            let decorations = stats.decorations.get(row).unwrap_or(&no_decorations);
            let level = Level {
                stats,
                shape: &shape,
                row,
                views: Some(&context),
                key: None,
            };
            if let Some((.., raw)) = written
                .iter()
                .find(|(d, k, _)| *d == decorations.as_slice() && *k == context.key)
            {
                seq.serialize_element(raw)?;
                continue;
            }
            if written.len() == DISTINCT_VIEW_ROWS {
                seq.serialize_element(&level)?;
                continue;
            }
            let raw = serde_json::value::to_raw_value(&level).map_err(S::Error::custom)?;
            seq.serialize_element(&raw)?;
            written.push((decorations, context.key.clone(), raw));
        }
        seq.end()
    }
}

/// A plugin's views in its stats' shape: a list for list plugins, one object otherwise.
pub struct ViewsShaped<'a>(pub ViewsList<'a>);

impl Serialize for ViewsShaped<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0.stats {
            Some(stats) if stats.meta.layout != Layout::List => {
                let shape = Shape::of(&stats.table.columns);
                let context = ViewContext {
                    limits: self.0.limits,
                    key: None,
                };
                Level {
                    stats,
                    shape: &shape,
                    row: 0,
                    views: Some(&context),
                    key: None,
                }
                .serialize(s)
            }
            _ => self.0.serialize(s),
        }
    }
}

/// `{plugin: stats}` for every plugin of a snapshot, in display order.
pub struct AllJson<'a>(pub &'a Snapshot);

impl Serialize for AllJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.plugins.iter().map(|p| (&p.meta.name, PluginJson(p))))
    }
}

/// `{plugin: views}` for every plugin of a snapshot.
pub struct AllViews<'a> {
    pub snapshot: &'a Snapshot,
    pub limits: &'a std::collections::BTreeMap<String, PluginLimits>,
}

impl Serialize for AllViews<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.snapshot.plugins.iter().map(|p| {
            (
                &p.meta.name,
                ViewsShaped(ViewsList {
                    stats: Some(p),
                    limits: self.limits.get(&p.meta.name),
                }),
            )
        }))
    }
}

/// One row as an object (with `"key"` for list plugins, as Glances 4).
pub fn row(stats: &PluginStats, index: usize) -> Json {
    if index >= stats.table.rows.len() {
        return Json::Object(Map::new());
    }
    let shape = Shape::of(&stats.table.columns);
    serde_json::to_value(Level::row(stats, &shape, index)).unwrap_or(Json::Null)
}

/// A plugin's stats in Glances' raw shape: object, list of objects, or bare value.
pub fn plugin(stats: &PluginStats) -> Json {
    serde_json::to_value(PluginJson(stats)).unwrap_or(Json::Null)
}

/// `{plugin: stats}` for the given plugins (all when `names` is empty), in display order.
pub fn plugins(snapshot: &Snapshot, names: &[String]) -> Json {
    let mut out = Map::new();
    for stats in &snapshot.plugins {
        if names.is_empty() || names.contains(&stats.meta.name) {
            out.insert(stats.meta.name.clone(), plugin(stats));
        }
    }
    Json::Object(out)
}

/// One field of a plugin (`cpu.total`; a dotted path reaches nested columns). For a list
/// plugin: `{key value: field value}` over its items.
pub fn field(stats: &PluginStats, path: &str) -> Option<Json> {
    let pick = |mut v: &Json| -> Option<Json> {
        for part in path.split('.') {
            v = v.get(part)?;
        }
        Some(v.clone())
    };
    match stats.meta.layout {
        Layout::List => {
            let mut out = Map::new();
            for i in 0..stats.table.rows.len() {
                let element = row(stats, i);
                if let Some(v) = pick(&element) {
                    out.insert(stats.row_key(i).unwrap_or_else(|| i.to_string()), v);
                }
            }
            (!out.is_empty() || stats.table.rows.is_empty()).then_some(Json::Object(out))
        }
        _ => pick(&plugin(stats)),
    }
}

/// Milliseconds since the epoch as Glances' history timestamps: ISO 8601 with `+00:00`.
pub fn iso_timestamp(unix_millis: u64) -> String {
    let millis = i64::try_from(unix_millis).unwrap_or(i64::MAX);
    match jiff::Timestamp::from_millisecond(millis) {
        Ok(ts) => {
            let text = format!("{ts:.6}");
            text.strip_suffix('Z')
                .map_or(text.clone(), |t| format!("{t}+00:00"))
        }
        Err(_) => String::new(),
    }
}

/// A decoration as Glances names it, with `_LOG` when its limit logs events.
pub fn decoration_name(decoration: Decoration, logged: bool) -> &'static str {
    match (decoration, logged) {
        (Decoration::Default, _) => "DEFAULT",
        (Decoration::Ok, false) => "OK",
        (Decoration::Careful, false) => "CAREFUL",
        (Decoration::Warning, false) => "WARNING",
        (Decoration::Critical, false) => "CRITICAL",
        (Decoration::Ok, true) => "OK_LOG",
        (Decoration::Careful, true) => "CAREFUL_LOG",
        (Decoration::Warning, true) => "WARNING_LOG",
        (Decoration::Critical, true) => "CRITICAL_LOG",
    }
}

/// The views of each row (Glances' `views`): per field, its decoration and display hints,
/// nested like the stats.
pub fn views(stats: &PluginStats, limits: Option<&PluginLimits>) -> Vec<Json> {
    match serde_json::to_value(ViewsList {
        stats: Some(stats),
        limits,
    }) {
        Ok(Json::Array(views)) => views,
        _ => Vec::new(),
    }
}

/// A plugin's limits as Glances' flat dict: `history_size`, then `<plugin>_<field>_careful`
/// (and `_warning`, `_critical`, `_log`, `_per`); per-item limits as
/// `<plugin>_<key>_<field>_...`.
pub fn limits(plugin: &str, limits: Option<&PluginLimits>, history_size: usize) -> Json {
    let mut out = Map::new();
    out.insert("history_size".into(), Json::from(history_size as f64));
    let Some(limits) = limits else {
        return Json::Object(out);
    };
    let mut put = |prefix: String, limit: &crate::settings::config::Limit| {
        for (name, value) in [
            ("careful", limit.careful),
            ("warning", limit.warning),
            ("critical", limit.critical),
        ] {
            if let Some(v) = value.and_then(Number::from_f64) {
                out.insert(format!("{prefix}_{name}"), Json::Number(v));
            }
        }
        if limit.log {
            out.insert(format!("{prefix}_log"), serde_json::json!(["True"]));
        }
        if let Some(per) = &limit.per {
            out.insert(format!("{prefix}_per"), serde_json::json!([per]));
        }
    };
    for (field, limit) in &limits.fields {
        put(format!("{plugin}_{field}"), limit);
    }
    for (key, fields) in &limits.keys {
        for (field, limit) in fields {
            put(format!("{plugin}_{key}_{field}"), limit);
        }
    }
    Json::Object(out)
}

/// A unit as the API names it.
pub fn unit_name(unit: Unit) -> &'static str {
    match unit {
        Unit::None => "",
        Unit::Number => "number",
        Unit::Percent => "percent",
        Unit::Bytes => "bytes",
        Unit::Bits => "bits",
        Unit::Seconds => "seconds",
        Unit::Milliseconds => "milliseconds",
        Unit::Hertz => "hertz",
        Unit::Celsius => "celsius",
        Unit::Rpm => "rpm",
        Unit::Text => "text",
        Unit::Timestamp => "timestamp",
    }
}

/// Every column a plugin reports, with unit and description: its declared fields, and for a
/// rate field the `_gauge` and `_rate_per_sec` columns derived from it.
pub fn fields(meta: &crate::stats::snapshot::PluginMeta) -> Vec<Json> {
    let mut out = Vec::new();
    for f in &meta.fields {
        let unit = unit_name(f.unit);
        out.push(serde_json::json!({
            "name": f.name,
            "description": f.description,
            "unit": unit,
            "rate": f.is_rate,
            "history": f.keep_history,
        }));
        if f.is_rate {
            out.push(serde_json::json!({
                "name": format!("{}_gauge", f.name),
                "description": format!("{} (cumulative counter)", f.description),
                "unit": unit,
                "rate": false,
                "history": false,
            }));
            out.push(serde_json::json!({
                "name": format!("{}_rate_per_sec", f.name),
                "description": format!("{} (per second)", f.description),
                "unit": format!("{unit}/s"),
                "rate": false,
                "history": f.keep_history,
            }));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::bindings::Table;
    use crate::stats::snapshot::{PluginMeta, PluginSource};

    fn stats(layout: Layout, table: Table) -> PluginStats {
        PluginStats {
            meta: Arc::new(PluginMeta {
                name: "p".into(),
                description: String::new(),
                api_version: 1,
                layout,
                fields: Vec::new(),
                reads: Vec::new(),
                source: PluginSource::Embedded,
                history_columns: Vec::new(),
            }),
            decorations: Vec::new(),
            table,
        }
    }

    #[test]
    fn dotted_columns_nest_and_list_elements_carry_key() {
        let s = stats(
            Layout::List,
            Table {
                key: Some("pid".into()),
                columns: vec![
                    "pid".into(),
                    "memory_info.rss".into(),
                    "memory_info.vms".into(),
                    "cmdline".into(),
                    "cpu_percent".into(),
                ],
                rows: vec![vec![
                    Value::Uint(1),
                    Value::Uint(10),
                    Value::Uint(20),
                    Value::TextList(vec!["/sbin/init".into()]),
                    Value::Float(f64::NAN),
                ]],
            },
        );
        assert_eq!(
            plugin(&s),
            serde_json::json!([{
                "pid": 1, "memory_info": {"rss": 10, "vms": 20},
                "cmdline": ["/sbin/init"], "cpu_percent": null, "key": "pid"
            }])
        );
        assert_eq!(
            field(&s, "memory_info.rss"),
            Some(serde_json::json!({"1": 10}))
        );
    }

    #[test]
    fn record_and_scalar_layouts() {
        let rec = stats(
            Layout::Record,
            Table {
                key: None,
                columns: vec!["total".into()],
                rows: vec![vec![Value::Float(12.5)]],
            },
        );
        assert_eq!(plugin(&rec), serde_json::json!({"total": 12.5}));
        assert_eq!(field(&rec, "total"), Some(serde_json::json!(12.5)));
        assert_eq!(field(&rec, "nope"), None);
        let scalar = stats(
            Layout::Scalar,
            Table {
                key: None,
                columns: vec!["uptime".into()],
                rows: vec![vec![Value::Text("1 day, 2:03:04".into())]],
            },
        );
        assert_eq!(plugin(&scalar), serde_json::json!("1 day, 2:03:04"));
    }

    #[test]
    fn rows_decorated_alike_share_views_and_a_key_with_its_own_limits_does_not() {
        use crate::settings::config::{Limit, PluginLimits};
        let mut s = stats(
            Layout::List,
            Table {
                key: Some("name".into()),
                columns: vec!["name".into(), "io.rx".into()],
                rows: ["a", "b", "c", "d"]
                    .iter()
                    .map(|n| vec![Value::Text((*n).into()), Value::Uint(1)])
                    .collect(),
            },
        );
        let (d, w) = (Decoration::Default, Decoration::Warning);
        // `a` and `b` alike; `c` alike too but with a logging limit of its own; `d` apart.
        s.decorations = vec![vec![d, w], vec![d, w], vec![d, w], vec![d, d]];
        let logged = Limit {
            warning: Some(1.0),
            log: true,
            ..Limit::default()
        };
        let limits = PluginLimits {
            fields: [("io.rx".to_string(), Limit::default())].into(),
            keys: [("c".to_string(), [("io.rx".to_string(), logged)].into())].into(),
        };
        let views = serde_json::to_value(ViewsList {
            stats: Some(&s),
            limits: Some(&limits),
        })
        .expect("views");
        let view = |decoration: &str| {
            serde_json::json!({"decoration": decoration, "optional": false,
                "additional": false, "splittable": false, "hidden": false})
        };
        let row = |rx: &str| serde_json::json!({"name": view("DEFAULT"), "io": {"rx": view(rx)}});
        assert_eq!(
            views,
            serde_json::json!([
                row("WARNING"),
                row("WARNING"),
                row("WARNING_LOG"),
                row("DEFAULT")
            ])
        );
    }
}
