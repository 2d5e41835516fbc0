//! One batch as an exporter gets it: the fields it exports of each plugin's table, with their
//! schema, and the name of the machine they come from.
use std::sync::Arc;

use crate::bindings::Table;
use crate::bindings::input::glint::plugin::types::{Batch, Schema};
use crate::export::settings::ExportSettings;
use crate::stats::snapshot::{PluginStats, Snapshot};

/// This machine's name, as batches carry it.
pub fn hostname() -> String {
    rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .into_owned()
}

/// The batch exporter settings `settings` would take of `snapshot` (benchmarks and tools).
pub fn batch_of(
    snapshot: &Snapshot,
    settings: &ExportSettings,
    hostname: &str,
) -> (Batch, Vec<Schema>) {
    let tables: Vec<Arc<PluginStats>> = snapshot
        .plugins
        .iter()
        .filter(|p| settings.exports(&p.meta.name))
        .cloned()
        .collect();
    build_batch(
        snapshot.seq,
        snapshot.unix_millis * 1_000_000,
        hostname,
        &tables,
        settings,
    )
}

/// One batch as the exporter gets it: the selected fields of each table (with the key
/// column), and the schema of those plugins.
pub(super) fn build_batch(
    seq: u64,
    unix_nanos: u64,
    hostname: &str,
    tables: &[Arc<PluginStats>],
    settings: &ExportSettings,
) -> (Batch, Vec<Schema>) {
    let mut schema = Vec::with_capacity(tables.len());
    let mut out = Vec::with_capacity(tables.len());
    for stats in tables {
        let name = &stats.meta.name;
        let table = match settings.fields.get(name) {
            None => stats.table.clone(),
            Some(fields) => select_columns(&stats.table, fields),
        };
        schema.push(Schema {
            plugin: name.clone(),
            fields: stats.meta.fields.clone(),
        });
        out.push((name.clone(), table));
    }
    (
        Batch {
            seq,
            unix_nanos,
            hostname: hostname.to_string(),
            tables: out,
        },
        schema,
    )
}

/// The key column and these fields (with an is-rate field's `_gauge` and `_rate_per_sec`).
fn select_columns(table: &Table, fields: &[String]) -> Table {
    let keep: Vec<usize> = table
        .columns
        .iter()
        .enumerate()
        .filter(|(_, c)| {
            Some(c.as_str()) == table.key.as_deref()
                || fields.iter().any(|f| {
                    *c == f
                        || c.strip_prefix(f.as_str())
                            .is_some_and(|rest| rest == "_gauge" || rest == "_rate_per_sec")
                })
        })
        .map(|(i, _)| i)
        .collect();
    Table {
        key: table.key.clone(),
        columns: keep.iter().map(|&i| table.columns[i].clone()).collect(),
        rows: table
            .rows
            .iter()
            .map(|r| keep.iter().filter_map(|&i| r.get(i).cloned()).collect())
            .collect(),
    }
}

// --- The spill directory: one JSON file per batch, named by its id so names sort by age. ---

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bindings::Value;

    #[test]
    fn selected_columns_keep_the_key_and_rate_columns() {
        let table = Table {
            key: Some("interface_name".into()),
            columns: vec![
                "interface_name".into(),
                "bytes_recv".into(),
                "bytes_recv_gauge".into(),
                "bytes_recv_rate_per_sec".into(),
                "bytes_sent".into(),
            ],
            rows: vec![vec![
                Value::Text("lo".into()),
                Value::Uint(1),
                Value::Uint(2),
                Value::Float(3.0),
                Value::Uint(4),
            ]],
        };
        let t = select_columns(&table, &["bytes_recv".to_string()]);
        assert_eq!(
            t.columns,
            [
                "interface_name",
                "bytes_recv",
                "bytes_recv_gauge",
                "bytes_recv_rate_per_sec"
            ]
        );
        assert_eq!(t.rows[0].len(), 4);
    }
}
