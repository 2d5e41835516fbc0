//! csv: an exporter that appends each batch as one line of a CSV file, as Glances'
//! `--export-csv-file` does.
//!
//! Settings (`[plugins.csv]`):
//! - `file` (required): the absolute path of the CSV file. glint grants this plugin write
//!   access to exactly the file's directory, which must exist; the file is created.
//! - `overwrite` (default `false`): empty the file at this instance's first export, as
//!   Glances' `--export-csv-overwrite`; otherwise lines are appended to what is there.
//!
//! Columns: `timestamp` (the batch's time, RFC 3339 in UTC), then one per number or text
//! cell, in batch order: `<plugin>.<field>` for record plugins (`mem.percent`) and
//! `<plugin>.<key>.<field>` for list plugins (`network.eth0.bytes_recv`). List values
//! (`cmdline`) are left out; an empty cell or a non-finite float is an empty field;
//! booleans are `true`/`false`. Fields are quoted as RFC 4180 says (those holding a quote,
//! a comma or a line break, with quotes doubled); lines end with `\n`.
//!
//! Header lines: one is written first in a new or empty file, and again before any line
//! whose columns differ from the last header this instance wrote — processes come and go,
//! interfaces and disks appear — so a reader takes each header line as the start of a new
//! section. A new instance (glint restarted, the plugin re-instantiated) writes a header
//! before its first line, since it cannot know which columns the file's last header has.
//!
//! Errors (`glint_sdk::export::file`): a missing directory or a refused one (not granted,
//! not writable) is permanent — the `file` setting or the grant needs fixing; any other I/O
//! error (a full disk) is retryable.

use glint_sdk::export::file::Output;
use glint_sdk::export::{Settings, fields_of, rfc3339, table_rows};
use glint_sdk::{Batch, ExportError, ExporterPlugin, PluginInfo, Schema, Value};

const NAME: &str = "csv";

#[derive(Default)]
struct Csv {
    /// The columns of the last header this instance wrote: none before its first write,
    /// and after a failed one (how much of it reached the file is unknown).
    header: Option<Vec<String>>,
    /// Whether this instance has written: `overwrite` empties the file before its first
    /// write only (a later write must not erase what this instance wrote).
    written: bool,
}

impl ExporterPlugin for Csv {
    fn info() -> PluginInfo {
        glint_sdk::exporter(
            NAME,
            "Appends each batch as a line of a CSV file (Glances' --export-csv-file)",
        )
    }

    fn export(&mut self, schema: &[Schema], batches: &[Batch]) -> Result<(), ExportError> {
        let settings = Settings::load();
        let truncate = settings.boolean("overwrite").unwrap_or(false) && !self.written;
        let mut out = Output::open(&settings, NAME, "CSV file", truncate)?;
        let empty = out.is_empty()?;
        // Taken now: if the write fails, the next call starts with a header.
        let last = self.header.take().filter(|_| !empty);
        let (text, header) = format(last, schema, batches);
        out.write(&text)?;
        self.header = header;
        self.written = true;
        Ok(())
    }
}

/// The text to append for `batches`, given the columns of the header the file ends under
/// (none: start with one), and the columns of the last header in the text.
fn format(
    mut header: Option<Vec<String>>,
    schema: &[Schema],
    batches: &[Batch],
) -> (String, Option<Vec<String>>) {
    let mut out = String::new();
    for batch in batches {
        let (columns, fields) = line(schema, batch);
        if header.as_ref() != Some(&columns) {
            push_record(&columns, &mut out);
            header = Some(columns);
        }
        push_record(&fields, &mut out);
    }
    (out, header)
}

/// One batch's column names and fields.
fn line(schema: &[Schema], batch: &Batch) -> (Vec<String>, Vec<String>) {
    let mut columns = vec!["timestamp".to_string()];
    let mut fields = vec![rfc3339(batch.unix_nanos)];
    for (plugin, table) in &batch.tables {
        // A record plugin has one row; should one hold more, the first is its stats (as
        // glint's API shows it), and the others would repeat its column names.
        let take = if table.key.is_none() { 1 } else { usize::MAX };
        for row in table_rows(plugin, table, fields_of(schema, plugin))
            .into_iter()
            .take(take)
        {
            for cell in &row.cells {
                let Some(text) = field_text(cell.value) else {
                    continue;
                };
                columns.push(match &row.key {
                    Some((_, key)) => format!("{plugin}.{key}.{}", cell.column),
                    None => format!("{plugin}.{}", cell.column),
                });
                fields.push(text);
            }
        }
    }
    (columns, fields)
}

/// A cell as a CSV field; none for lists, which a CSV column cannot hold.
fn field_text(value: &Value) -> Option<String> {
    match value {
        Value::None => Some(String::new()),
        Value::Boolean(b) => Some(b.to_string()),
        Value::Int(i) => Some(i.to_string()),
        Value::Uint(u) => Some(u.to_string()),
        // `{:?}` keeps a float a float (`1.0`) and round-trips.
        Value::Float(f) if f.is_finite() => Some(format!("{f:?}")),
        Value::Float(_) => Some(String::new()),
        Value::Text(s) => Some(s.clone()),
        Value::TextList(_) | Value::IntList(_) | Value::FloatList(_) => None,
    }
}

/// One CSV record, quoted as RFC 4180 says, ending with `\n`.
fn push_record(fields: &[String], out: &mut String) {
    for (i, field) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        if field.contains(['"', ',', '\n', '\r']) {
            out.push('"');
            out.push_str(&field.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(field);
        }
    }
    out.push('\n');
}

glint_sdk::export_exporter!(Csv);

#[cfg(test)]
mod tests {
    use super::*;
    use glint_sdk::{FieldInfoExt, Table, Unit, field};

    /// A list plugin (network, keyed by interface) with a text field that needs quoting, a
    /// rate counter and a list; a record plugin (mem) with a float, an int and a bool.
    fn batch(seq: u64, interfaces: &[&str]) -> Batch {
        let network = Table {
            key: Some("interface_name".into()),
            columns: vec![
                "interface_name".into(),
                "alias".into(),
                "bytes_recv".into(),
                "addresses".into(),
                "time_since_update".into(),
            ],
            rows: interfaces
                .iter()
                .map(|name| {
                    vec![
                        Value::Text((*name).into()),
                        Value::Text("up \"fast\", wired".into()),
                        Value::Uint(10),
                        Value::TextList(vec!["10.0.0.1".into()]),
                        Value::Float(1.0),
                    ]
                })
                .collect(),
        };
        let mem = Table {
            key: None,
            columns: vec!["percent".into(), "total".into(), "swapped".into()],
            rows: vec![vec![
                Value::Float(42.5),
                Value::Int(8000),
                Value::Boolean(false),
            ]],
        };
        Batch {
            seq,
            unix_nanos: 1_700_000_000_123_000_000 + seq * 1_000_000_000,
            hostname: "box".into(),
            tables: vec![("network".into(), network), ("mem".into(), mem)],
        }
    }

    fn schema() -> Vec<Schema> {
        vec![Schema {
            plugin: "network".into(),
            fields: vec![field("bytes_recv", Unit::Bytes, "").rate()],
        }]
    }

    #[test]
    fn a_header_then_one_line_per_batch_quoted() {
        let batches = [batch(0, &["eth0"]), batch(1, &["eth0"])];
        let (text, header) = format(None, &schema(), &batches);
        assert_eq!(
            text,
            concat!(
                "timestamp,network.eth0.alias,network.eth0.bytes_recv,mem.percent,mem.total,mem.swapped\n",
                "2023-11-14T22:13:20.123Z,\"up \"\"fast\"\", wired\",10,42.5,8000,false\n",
                "2023-11-14T22:13:21.123Z,\"up \"\"fast\"\", wired\",10,42.5,8000,false\n",
            )
        );
        assert_eq!(header.map(|h| h.len()), Some(6));
    }

    #[test]
    fn a_new_header_when_the_columns_change() {
        let (_, header) = format(None, &schema(), &[batch(0, &["eth0"])]);
        // The same columns as the file's last header: no header.
        let (text, header) = format(header, &schema(), &[batch(1, &["eth0"])]);
        assert!(text.starts_with("2023-11-14T22:13:21.123Z,"), "{text}");
        // An interface appeared: a header first, then back to lines only.
        let (text, _) = format(
            header,
            &schema(),
            &[batch(2, &["eth0", "wl,0"]), batch(3, &["eth0", "wl,0"])],
        );
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert_eq!(
            lines[0],
            "timestamp,network.eth0.alias,network.eth0.bytes_recv,\"network.wl,0.alias\",\
             \"network.wl,0.bytes_recv\",mem.percent,mem.total,mem.swapped"
        );
        assert!(lines[2].starts_with("2023-11-14T22:13:23.123Z,"));
    }

    #[test]
    fn empty_cells_and_line_breaks() {
        let table = Table {
            key: None,
            columns: vec!["hostname".into(), "load".into(), "note".into()],
            rows: vec![vec![
                Value::None,
                Value::Float(f64::NAN),
                Value::Text("two\nlines".into()),
            ]],
        };
        let batch = Batch {
            seq: 0,
            unix_nanos: 0,
            hostname: "box".into(),
            tables: vec![("system".into(), table)],
        };
        let (text, _) = format(None, &[], &[batch]);
        assert_eq!(
            text,
            "timestamp,system.hostname,system.load,system.note\n\
             1970-01-01T00:00:00.000Z,,,\"two\nlines\"\n"
        );
    }
}
