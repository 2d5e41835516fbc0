//! Renders stats tables as the JSON Glances clients expect: dotted columns nested back into
//! objects, list elements carrying `"key"`, one-record plugins as an object, scalar plugins as
//! a bare value. Knows no plugin by name.

use serde_json::{Map, Number, Value as Json};

use crate::bindings::{Layout, Value};
use crate::store::{PluginStats, Snapshot};

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
