//! document: a batch as one JSON document — `{"timestamp", "seq", "hostname", tags, then
//! each plugin's stats}` — the shape Glances' JSON export writes and glint's API renders,
//! for the JSON-lines, RESTful and CouchDB exporters; and the tags as members of any
//! document (Elasticsearch's too).

use super::{fields_of, json_row, json_string, rfc3339, table_rows};
use crate::{Batch, FieldInfo, Schema, Table};

/// `batch` as one JSON object:
/// `{"timestamp":"<rfc3339>","seq":N,"hostname":"h",<tags>,"<plugin>":<stats>,...}`, the
/// plugins in batch order, each as [`table_json`] writes it. A tag named like another
/// member (`seq`, a plugin) is left out, as is a second tag of the same name: parsers
/// disagree on which of two equal keys wins.
pub fn batch_json(schema: &[Schema], batch: &Batch, tags: &[(String, String)], out: &mut String) {
    use std::fmt::Write as _;
    out.push_str("{\"timestamp\":");
    json_string(&rfc3339(batch.unix_nanos), out);
    let _ = write!(out, ",\"seq\":{}", batch.seq);
    out.push_str(",\"hostname\":");
    json_string(&batch.hostname, out);
    let taken = |name: &str| {
        matches!(name, "timestamp" | "seq" | "hostname")
            || batch.tables.iter().any(|(plugin, _)| plugin == name)
    };
    push_members(&tag_members(tags, taken), out);
    for (plugin, table) in &batch.tables {
        out.push(',');
        json_string(plugin, out);
        out.push(':');
        table_json(plugin, table, fields_of(schema, plugin), out);
    }
    out.push('}');
}

/// One plugin's stats as glint's API renders them: a record plugin (no key column) as the
/// object of its first row (`{}` when it has none), a list plugin as an array of row
/// objects. Rows are [`json_row`]s: the key column included, `time_since_update` left out.
pub fn table_json(plugin: &str, table: &Table, fields: &[FieldInfo], out: &mut String) {
    let rows = table_rows(plugin, table, fields);
    if table.key.is_none() {
        match rows.first() {
            Some(row) => json_row(row, &[], out),
            None => out.push_str("{}"),
        }
    } else {
        out.push('[');
        for (i, row) in rows.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            json_row(row, &[], out);
        }
        out.push(']');
    }
}

/// The tags as (name, JSON text) members, in the form [`json_row`] takes as `extra`: those
/// whose name `taken` says the document already has, and repeats of a name, are left out.
pub fn tag_members<'a>(
    tags: &'a [(String, String)],
    taken: impl Fn(&str) -> bool,
) -> Vec<(&'a str, String)> {
    let mut members: Vec<(&'a str, String)> = Vec::new();
    for (name, value) in tags {
        if taken(name) || members.iter().any(|(n, _)| n == name) {
            continue;
        }
        let mut json = String::new();
        json_string(value, &mut json);
        members.push((name.as_str(), json));
    }
    members
}

/// Writes each (name, JSON text) member after a comma: the members that follow the first of
/// a document being written (its tags, from [`tag_members`]).
pub fn push_members(members: &[(&str, String)], out: &mut String) {
    for (name, json) in members {
        out.push(',');
        json_string(name, out);
        out.push(':');
        out.push_str(json);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{FieldInfoExt, Unit, Value, field};

    fn batch() -> (Vec<Schema>, Batch) {
        let network = Table {
            key: Some("interface_name".into()),
            columns: vec![
                "interface_name".into(),
                "alias".into(),
                "bytes_recv".into(),
                "time_since_update".into(),
            ],
            rows: vec![
                vec![
                    Value::Text("eth0".into()),
                    Value::Text("up\"link\n".into()),
                    Value::Uint(10),
                    Value::Float(1.0),
                ],
                vec![
                    Value::Text("lo".into()),
                    Value::None,
                    Value::Uint(0),
                    Value::Float(1.0),
                ],
            ],
        };
        let mem = Table {
            key: None,
            columns: vec!["percent".into(), "total".into()],
            rows: vec![vec![Value::Float(42.5), Value::Int(8000)]],
        };
        let schema = vec![Schema {
            plugin: "network".into(),
            fields: vec![field("bytes_recv", Unit::Bytes, "").rate()],
        }];
        let batch = Batch {
            seq: 7,
            unix_nanos: 1_700_000_000_123_000_000,
            hostname: "box".into(),
            tables: vec![("network".into(), network), ("mem".into(), mem)],
        };
        (schema, batch)
    }

    #[test]
    fn a_batch_is_one_document_with_record_objects_and_list_arrays() {
        let (schema, batch) = batch();
        let tags = [
            ("dc".to_string(), "e\"u".to_string()),
            ("seq".to_string(), "x".to_string()),
            ("mem".to_string(), "y".to_string()),
            ("dc".to_string(), "us".to_string()),
        ];
        let mut out = String::new();
        batch_json(&schema, &batch, &tags, &mut out);
        assert_eq!(
            out,
            concat!(
                r#"{"timestamp":"2023-11-14T22:13:20.123Z","seq":7,"hostname":"box","dc":"e\"u","#,
                r#""network":[{"interface_name":"eth0","alias":"up\"link\n","bytes_recv":10},"#,
                r#"{"interface_name":"lo","alias":null,"bytes_recv":0}],"#,
                r#""mem":{"percent":42.5,"total":8000}}"#
            )
        );
    }

    #[test]
    fn an_empty_record_table_is_an_empty_object() {
        let table = Table {
            key: None,
            columns: vec!["percent".into()],
            rows: Vec::new(),
        };
        let mut out = String::new();
        table_json("mem", &table, &[], &mut out);
        assert_eq!(out, "{}");
        let list = Table {
            key: Some("pid".into()),
            ..table
        };
        out.clear();
        table_json("processlist", &list, &[], &mut out);
        assert_eq!(out, "[]");
    }
}
