//! json: an exporter that appends each batch as one line of a JSON-lines file, as Glances'
//! `--export-json-file` does.
//!
//! Settings (`[plugins.json]`):
//! - `file` (required): the absolute path of the file. glint grants this plugin write
//!   access to exactly the file's directory, which must exist; the file is created and
//!   appended to.
//! - `tags` (default none): Glances' `k:v,k2:v2`, members of every document.
//!
//! Each line is one batch as `glint_sdk::export::document::batch_json` writes it:
//! `{"timestamp":"<rfc3339>","seq":N,"hostname":"h",<tags>,"<plugin>":<stats>,...}`, a
//! record plugin's stats as an object, a list plugin's as an array of row objects (key
//! column included), dotted columns nested, as glint's API renders them. JSON escapes line
//! breaks inside strings, so a document never spans two lines.
//!
//! Errors (`glint_sdk::export::file`): a missing directory or a refused one (not granted,
//! not writable) is permanent — the `file` setting or the grant needs fixing; any other I/O
//! error (a full disk) is retryable.

use glint_sdk::export::Settings;
use glint_sdk::export::document::batch_json;
use glint_sdk::export::file::Output;
use glint_sdk::{Batch, ExportError, ExporterPlugin, PluginInfo, Schema};

const NAME: &str = "json";

#[derive(Default)]
struct Json;

impl ExporterPlugin for Json {
    fn info() -> PluginInfo {
        glint_sdk::exporter(
            NAME,
            "Appends each batch as one JSON document per line to a file",
        )
    }

    fn export(&mut self, schema: &[Schema], batches: &[Batch]) -> Result<(), ExportError> {
        let settings = Settings::load();
        let mut out = Output::open(&settings, NAME, "JSON file", false)?;
        out.write(&format(schema, batches, &settings.tags()))
    }
}

/// The lines to append: one document per batch, oldest first.
fn format(schema: &[Schema], batches: &[Batch], tags: &[(String, String)]) -> String {
    let mut out = String::new();
    for batch in batches {
        batch_json(schema, batch, tags, &mut out);
        out.push('\n');
    }
    out
}

glint_sdk::export_exporter!(Json);

#[cfg(test)]
mod tests {
    use super::*;
    use glint_sdk::{Table, Value};

    /// A list plugin (network) with a text field needing escapes, a record plugin (mem)
    /// with a float, an int and a dotted column.
    fn batch(seq: u64) -> Batch {
        let network = Table {
            key: Some("interface_name".into()),
            columns: vec![
                "interface_name".into(),
                "alias".into(),
                "bytes_recv".into(),
                "time_since_update".into(),
            ],
            rows: vec![vec![
                Value::Text("eth0".into()),
                Value::Text("up\"link\\\n".into()),
                Value::Uint(10),
                Value::Float(1.0),
            ]],
        };
        let mem = Table {
            key: None,
            columns: vec!["percent".into(), "total".into(), "io.read".into()],
            rows: vec![vec![Value::Float(42.5), Value::Int(8000), Value::Int(-1)]],
        };
        Batch {
            seq,
            unix_nanos: 1_700_000_000_123_000_000 + seq * 1_000_000_000,
            hostname: "box".into(),
            tables: vec![("network".into(), network), ("mem".into(), mem)],
        }
    }

    #[test]
    fn one_document_per_line() {
        let tags = [("dc".to_string(), "eu".to_string())];
        let text = format(&[], &[batch(1), batch(2)], &tags);
        assert_eq!(
            text,
            concat!(
                r#"{"timestamp":"2023-11-14T22:13:21.123Z","seq":1,"hostname":"box","dc":"eu","#,
                r#""network":[{"interface_name":"eth0","alias":"up\"link\\\n","bytes_recv":10}],"#,
                r#""mem":{"percent":42.5,"total":8000,"io":{"read":-1}}}"#,
                "\n",
                r#"{"timestamp":"2023-11-14T22:13:22.123Z","seq":2,"hostname":"box","dc":"eu","#,
                r#""network":[{"interface_name":"eth0","alias":"up\"link\\\n","bytes_recv":10}],"#,
                r#""mem":{"percent":42.5,"total":8000,"io":{"read":-1}}}"#,
                "\n",
            )
        );
    }
}
