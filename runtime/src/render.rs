//! Renders stats tables as the JSON Glances clients expect: dotted columns nested back into
//! objects, list elements carrying `"key"`, one-record plugins as an object, scalar plugins as
//! a bare value. Knows no plugin by name.

use serde_json::{Map, Number, Value as Json};

use crate::bindings::{Decoration, Layout, Unit, Value};
use crate::config::PluginLimits;
use crate::store::{PluginStats, Snapshot, limit_for};

/// One cell as JSON. Non-finite floats become null (JSON has no NaN).
pub fn value(v: &Value) -> Json {
    match v {
        Value::None => Json::Null,
        Value::Boolean(b) => Json::Bool(*b),
        Value::Int(i) => Json::from(*i),
        Value::Uint(u) => Json::from(*u),
        Value::Float(f) => Number::from_f64(*f).map_or(Json::Null, Json::Number),
        Value::Text(s) => Json::String(s.clone()),
        Value::TextList(l) => Json::Array(l.iter().cloned().map(Json::String).collect()),
        Value::IntList(l) => Json::Array(l.iter().map(|i| Json::from(*i)).collect()),
        Value::FloatList(l) => Json::Array(
            l.iter()
                .map(|f| Number::from_f64(*f).map_or(Json::Null, Json::Number))
                .collect(),
        ),
    }
}

/// Inserts `value` at a dotted path (`memory_info.rss`), creating objects on the way.
fn insert_path(object: &mut Map<String, Json>, path: &str, value: Json) {
    match path.split_once('.') {
        None => {
            object.insert(path.to_string(), value);
        }
        Some((head, rest)) => {
            let child = object
                .entry(head.to_string())
                .or_insert_with(|| Json::Object(Map::new()));
            if !child.is_object() {
                // A column `a` and a column `a.b` both exist: keep the scalar, nest nothing.
                return;
            }
            if let Json::Object(map) = child {
                insert_path(map, rest, value);
            }
        }
    }
}

/// One row as an object (with `"key"` for list plugins, as Glances 4).
pub fn row(stats: &PluginStats, index: usize) -> Json {
    let mut object = Map::new();
    let Some(row) = stats.table.rows.get(index) else {
        return Json::Object(object);
    };
    for (column, cell) in stats.table.columns.iter().zip(row) {
        insert_path(&mut object, column, value(cell));
    }
    if let Some(key) = &stats.table.key {
        object.insert("key".into(), Json::String(key.clone()));
    }
    Json::Object(object)
}

/// A plugin's stats in Glances' raw shape: object, list of objects, or bare value.
pub fn plugin(stats: &PluginStats) -> Json {
    match stats.meta.layout {
        Layout::List => Json::Array((0..stats.table.rows.len()).map(|i| row(stats, i)).collect()),
        Layout::Record => row(stats, 0),
        Layout::Scalar => stats
            .table
            .rows
            .first()
            .and_then(|r| r.first())
            .map_or(Json::Null, value),
    }
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
pub fn decoration_name(decoration: Decoration, logged: bool) -> String {
    let name = match decoration {
        Decoration::Default => return "DEFAULT".into(),
        Decoration::Ok => "OK",
        Decoration::Careful => "CAREFUL",
        Decoration::Warning => "WARNING",
        Decoration::Critical => "CRITICAL",
    };
    if logged {
        format!("{name}_LOG")
    } else {
        name.into()
    }
}

/// The views of each row (Glances' `views`): per field, its decoration and display hints,
/// nested like the stats.
pub fn views(stats: &PluginStats, limits: Option<&PluginLimits>) -> Vec<Json> {
    (0..stats
        .table
        .rows
        .len()
        .max(usize::from(stats.meta.layout != Layout::List)))
        .map(|r| {
            let key = stats.row_key(r);
            let mut object = Map::new();
            for (c, column) in stats.table.columns.iter().enumerate() {
                let decoration = stats
                    .decorations
                    .get(r)
                    .and_then(|row| row.get(c))
                    .copied()
                    .unwrap_or(Decoration::Default);
                let logged = limit_for(limits, key.as_deref(), column).is_some_and(|l| l.log);
                let view = serde_json::json!({
                    "decoration": decoration_name(decoration, logged),
                    "optional": false,
                    "additional": false,
                    "splittable": false,
                    "hidden": false,
                });
                insert_path(&mut object, column, view);
            }
            Json::Object(object)
        })
        .collect()
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
    let mut put = |prefix: String, limit: &crate::config::Limit| {
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
pub fn fields(meta: &crate::store::PluginMeta) -> Vec<Json> {
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
    use crate::store::{PluginMeta, PluginSource};

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
}
