//! The `--stdout`, `--stdout-json` and `--stdout-csv` modes: picks plugins or fields out of
//! each snapshot and prints them, Glances' way.

use serde_json::{Map, Value as Json};

use crate::stats::render;
use crate::stats::snapshot::Snapshot;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Format {
    /// `cpu.total: 12.3` lines.
    Text,
    /// One JSON object per refresh.
    Json,
    /// A header line, then one row per refresh.
    Csv,
}

#[derive(Debug, thiserror::Error)]
pub enum StdoutError {
    #[error("unknown plugin {name:?} in the stats list; running plugins: {running}")]
    UnknownPlugin { name: String, running: String },
    #[error("plugin {plugin} has no field {field:?}; its fields: {fields}")]
    UnknownField {
        plugin: String,
        field: String,
        fields: String,
    },
}

/// Prints the chosen items of each snapshot.
pub struct Printer {
    format: Format,
    items: Vec<String>,
    csv_header: Option<Vec<String>>,
}

impl Printer {
    pub fn new(format: Format, items: &[String]) -> Printer {
        Printer {
            format,
            items: items.to_vec(),
            csv_header: None,
        }
    }

    /// The item's value: a whole plugin, or one field of it.
    fn item(snapshot: &Snapshot, item: &str) -> Result<Json, StdoutError> {
        let (plugin, field) = match item.split_once('.') {
            Some((p, f)) => (p, Some(f)),
            None => (item, None),
        };
        let stats = snapshot
            .get(plugin)
            .ok_or_else(|| StdoutError::UnknownPlugin {
                name: plugin.to_string(),
                running: snapshot
                    .plugins
                    .iter()
                    .map(|p| p.meta.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })?;
        match field {
            None => Ok(render::plugin(stats)),
            Some(field) => render::field(stats, field).ok_or_else(|| StdoutError::UnknownField {
                plugin: plugin.to_string(),
                field: field.to_string(),
                fields: stats.table.columns.join(", "),
            }),
        }
    }

    /// The text to print for one snapshot.
    pub fn print(&mut self, snapshot: &Snapshot) -> Result<String, StdoutError> {
        let mut values = Vec::with_capacity(self.items.len());
        for item in &self.items {
            values.push((item.clone(), Self::item(snapshot, item)?));
        }
        Ok(match self.format {
            Format::Text => values
                .iter()
                .map(|(item, v)| format!("{item}: {}\n", text(v)))
                .collect(),
            Format::Json => {
                let object: Map<String, Json> = values.into_iter().collect();
                format!("{}\n", Json::Object(object))
            }
            Format::Csv => {
                let mut cells: Vec<(String, Json)> = Vec::new();
                for (item, v) in values {
                    flatten(&item, &v, &mut cells);
                }
                let mut out = String::new();
                let header = self.csv_header.get_or_insert_with(|| {
                    let names: Vec<String> = cells.iter().map(|(n, _)| n.clone()).collect();
                    out.push_str(&csv_line(names.iter().map(|n| csv_cell(n))));
                    names
                });
                // Later rows follow the first header; items that appeared since are left
                // out, items that went away are empty.
                out.push_str(&csv_line(header.iter().map(|name| {
                    cells
                        .iter()
                        .find(|(n, _)| n == name)
                        .map_or(String::new(), |(_, v)| csv_cell(&text(v)))
                })));
                out
            }
        })
    }
}

/// A value as plain text: strings unquoted, the rest as JSON.
fn text(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        Json::Null => String::new(),
        other => other.to_string(),
    }
}

/// Flattens objects and lists into `prefix.name` cells (lists of objects by their `key`
/// field's value, else by index).
fn flatten(prefix: &str, v: &Json, out: &mut Vec<(String, Json)>) {
    match v {
        Json::Object(map) => {
            for (k, child) in map {
                if k == "key" {
                    continue;
                }
                flatten(&format!("{prefix}.{k}"), child, out);
            }
        }
        Json::Array(items) if items.iter().all(Json::is_object) && !items.is_empty() => {
            for (i, item) in items.iter().enumerate() {
                let name = item
                    .get("key")
                    .and_then(Json::as_str)
                    .and_then(|k| item.get(k))
                    .map_or_else(|| i.to_string(), text);
                flatten(&format!("{prefix}.{name}"), item, out);
            }
        }
        other => out.push((prefix.to_string(), other.clone())),
    }
}

fn csv_cell(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn csv_line(cells: impl Iterator<Item = String>) -> String {
    let mut line = cells.collect::<Vec<_>>().join(",");
    line.push('\n');
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flatten_lists_by_key() {
        let v = serde_json::json!([
            {"interface_name": "eth0", "rx": 1, "key": "interface_name"},
            {"interface_name": "wlan0", "rx": 2, "key": "interface_name"}
        ]);
        let mut out = Vec::new();
        flatten("network", &v, &mut out);
        let names: Vec<_> = out.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            vec![
                "network.eth0.interface_name",
                "network.eth0.rx",
                "network.wlan0.interface_name",
                "network.wlan0.rx"
            ]
        );
    }

    #[test]
    fn csv_quotes_when_needed() {
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("plain"), "plain");
    }
}
