//! The snapshot each tick publishes: every plugin's table with its metadata, immutable once
//! published, and the small helpers that read its cells.

use std::path::PathBuf;
use std::sync::Arc;

use crate::bindings::{Decoration, FieldInfo, Layout, Table, Value};

/// Where a plugin came from.
#[derive(Debug, Clone, PartialEq)]
pub enum PluginSource {
    Embedded,
    /// Given with `--plugin FILE`.
    File(PathBuf),
    /// Found in the plugins directory (rescanned: it may be replaced or removed).
    Directory(PathBuf),
}

impl std::fmt::Display for PluginSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PluginSource::Embedded => write!(f, "embedded"),
            PluginSource::File(p) | PluginSource::Directory(p) => write!(f, "{}", p.display()),
        }
    }
}

/// What the host knows of a plugin from its handshake.
#[derive(Debug, Clone)]
pub struct PluginMeta {
    pub name: String,
    pub description: String,
    pub api_version: u32,
    pub layout: Layout,
    pub fields: Vec<FieldInfo>,
    pub reads: Vec<String>,
    pub source: PluginSource,
    /// The columns whose history is kept: `f` for a history field, `f_rate_per_sec` for a
    /// history field that is a rate (the rate is what is worth plotting).
    pub history_columns: Vec<String>,
}

impl PluginMeta {
    pub fn new(info: crate::bindings::PluginInfo, source: PluginSource) -> PluginMeta {
        let history_columns = info
            .fields
            .iter()
            .filter(|f| f.keep_history)
            .map(|f| {
                if f.is_rate {
                    format!("{}_rate_per_sec", f.name)
                } else {
                    f.name.clone()
                }
            })
            .collect();
        PluginMeta {
            name: info.name,
            description: info.description,
            api_version: info.api_version,
            layout: info.layout,
            fields: info.fields,
            reads: info.reads,
            source,
            history_columns,
        }
    }
}

/// One plugin's stats in a snapshot.
#[derive(Debug)]
pub struct PluginStats {
    pub meta: Arc<PluginMeta>,
    pub table: Table,
    /// One list per row, one decoration per column.
    pub decorations: Vec<Vec<Decoration>>,
}

impl PluginStats {
    /// The index of a column.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.table.columns.iter().position(|c| c == name)
    }

    /// The key of each row as text (list plugins); none for one-record plugins.
    pub fn row_key(&self, row: usize) -> Option<String> {
        let col = self.column(self.table.key.as_deref()?)?;
        self.table.rows.get(row)?.get(col).map(key_text)
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

/// A cell as a number, for limits and history.
pub fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Int(i) => Some(*i as f64),
        Value::Uint(u) => Some(*u as f64),
        Value::Float(f) if f.is_finite() => Some(*f),
        Value::Boolean(b) => Some(if *b { 1.0 } else { 0.0 }),
        _ => None,
    }
}

/// Every plugin's stats as of one tick. Immutable once published.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub seq: u64,
    pub unix_millis: u64,
    /// In display order.
    pub plugins: Vec<Arc<PluginStats>>,
}

impl Snapshot {
    pub fn get(&self, plugin: &str) -> Option<&Arc<PluginStats>> {
        self.plugins.iter().find(|p| p.meta.name == plugin)
    }
}
