//! restful: an exporter that POSTs batches as JSON to an HTTP endpoint, as Glances' RESTful
//! export does.
//!
//! Settings (`[plugins.restful]`):
//! - `url` (required): where to POST (`http://host:6789/glances`); glint grants this plugin
//!   exactly this destination.
//! - `user`, `password` (default none): HTTP basic authentication, sent when `user` is set.
//! - `tags` (default none): Glances' `k:v,k2:v2`, members of every document.
//! - `prefix` is not used: the documents name their plugins as members.
//!
//! Each export is one `POST <url>` with `content-type: application/json` and a JSON array
//! of the batch documents, oldest first — one batch, or several when glint replays what it
//! kept while the target was down. A document is what
//! `glint_sdk::export::document::batch_json` writes:
//! `[{"timestamp":"<rfc3339>","seq":N,"hostname":"h",<tags>,"<plugin>":<stats>,...}]`, a
//! record plugin's stats as an object, a list plugin's as an array of row objects (key
//! column included), as glint's API renders them. Any 2xx answer is a delivery; a 5xx, 408,
//! 429 or no answer is retried; any other answer is final.

use glint_sdk::export::Settings;
use glint_sdk::export::document::batch_json;
use glint_sdk::http::Request;
use glint_sdk::{Batch, ExportError, ExporterPlugin, PluginInfo, Schema};

const NAME: &str = "restful";

#[derive(Default)]
struct Restful;

impl ExporterPlugin for Restful {
    fn info() -> PluginInfo {
        glint_sdk::exporter(
            NAME,
            "POSTs batches as a JSON array to an HTTP endpoint (Glances' RESTful export)",
        )
    }

    fn export(&mut self, schema: &[Schema], batches: &[Batch]) -> Result<(), ExportError> {
        if batches.is_empty() {
            return Ok(());
        }
        let settings = Settings::load();
        let url = settings.required("url", NAME)?.trim().to_string();
        let body = format(schema, batches, &settings.tags());
        Request::post(&url, "application/json", body.into_bytes())
            .with_credentials(settings.credentials().as_ref())
            .deliver("RESTful target")
            .map(|_| ())
    }
}

/// The body: a JSON array of one document per batch, oldest first.
fn format(schema: &[Schema], batches: &[Batch], tags: &[(String, String)]) -> String {
    let mut out = String::from("[");
    for (i, batch) in batches.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        batch_json(schema, batch, tags, &mut out);
    }
    out.push(']');
    out
}

glint_sdk::export_exporter!(Restful);

#[cfg(test)]
mod tests {
    use super::*;
    use glint_sdk::{Table, Value};

    /// A list plugin (fs, keyed by mount point) with a text field needing escapes; a record
    /// plugin (load) with a float and an int.
    fn batch(seq: u64) -> Batch {
        let fs = Table {
            key: Some("mnt_point".into()),
            columns: vec![
                "mnt_point".into(),
                "device_name".into(),
                "used".into(),
                "percent".into(),
            ],
            rows: vec![vec![
                Value::Text("/mnt/\"usb\"".into()),
                Value::Text("sdb1\t".into()),
                Value::Uint(1024),
                Value::Float(0.5),
            ]],
        };
        let load = Table {
            key: None,
            columns: vec!["min1".into(), "cpucore".into()],
            rows: vec![vec![Value::Float(0.25), Value::Int(4)]],
        };
        Batch {
            seq,
            unix_nanos: 1_700_000_000_000_000_000 + seq * 1_000_000_000,
            hostname: "box".into(),
            tables: vec![("fs".into(), fs), ("load".into(), load)],
        }
    }

    #[test]
    fn an_array_of_batch_documents_oldest_first() {
        let tags = [("rack".to_string(), "4".to_string())];
        let body = format(&[], &[batch(1), batch(2)], &tags);
        assert_eq!(
            body,
            concat!(
                r#"[{"timestamp":"2023-11-14T22:13:21.000Z","seq":1,"hostname":"box","rack":"4","#,
                r#""fs":[{"mnt_point":"/mnt/\"usb\"","device_name":"sdb1\t","used":1024,"percent":0.5}],"#,
                r#""load":{"min1":0.25,"cpucore":4}},"#,
                r#"{"timestamp":"2023-11-14T22:13:22.000Z","seq":2,"hostname":"box","rack":"4","#,
                r#""fs":[{"mnt_point":"/mnt/\"usb\"","device_name":"sdb1\t","used":1024,"percent":0.5}],"#,
                r#""load":{"min1":0.25,"cpucore":4}}]"#,
            )
        );
    }
}
