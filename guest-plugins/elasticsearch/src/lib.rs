//! elasticsearch: an exporter that stores every row of every batch as a document in an
//! Elasticsearch or OpenSearch index, through the bulk API.
//!
//! Settings (`[plugins.elasticsearch]`):
//! - `url` (required): the server's base URL (`http://127.0.0.1:9200`); glint grants this
//!   plugin exactly this destination.
//! - `index` (default `glint`): the index the documents go to.
//! - `user`, `password` (default none): HTTP basic authentication, sent when `user` is set.
//! - `tags` (default none): Glances' `k:v,k2:v2`, fields of every document.
//! - `prefix` is not used: a document names its plugin in its `plugin` field.
//!
//! Each export is one `POST <url>/_bulk` (`content-type: application/x-ndjson`): for each
//! row, an action line and the document, each line ending with `\n` (the bulk API refuses
//! a body whose last line does not):
//!
//! ```text
//! {"index":{"_index":"glint"}}
//! {"@timestamp":"2023-11-14T22:13:20.123Z","hostname":"box","plugin":"network","dc":"eu","interface_name":"eth0","bytes_recv":10}
//! ```
//!
//! The document is the row as glint's API renders it (key column included, dotted columns
//! nested) after `@timestamp`, `hostname`, `plugin` and the tags. Where the row has a field
//! of one of those names (the `system` plugin's `hostname`), the row's own is kept; a tag
//! whose name starts with `_` is left out (Elasticsearch keeps those names for itself).
//! Document ids are left to Elasticsearch.
//!
//! The bulk API answers 200 even when it refused documents: its `"errors":true` is a
//! refusal — final, with the first refused document's reason, unless every refused one got
//! 429 (too many requests), which is retried.

use glint_sdk::export::document::tag_members;
use glint_sdk::export::{Row, Settings, fields_of, json_row, json_string, rfc3339, table_rows};
use glint_sdk::http::{Request, Url, excerpt};
use glint_sdk::{Batch, ExportError, ExporterPlugin, PluginInfo, Schema};

const NAME: &str = "elasticsearch";

/// The index when none is set.
const DEFAULT_INDEX: &str = "glint";

/// The members every document has before its row's.
const OWN_MEMBERS: [&str; 3] = ["@timestamp", "hostname", "plugin"];

#[derive(Default)]
struct Elasticsearch;

impl ExporterPlugin for Elasticsearch {
    fn info() -> PluginInfo {
        glint_sdk::exporter(
            NAME,
            "Stores every row as a document in Elasticsearch or OpenSearch (bulk API)",
        )
    }

    fn export(&mut self, schema: &[Schema], batches: &[Batch]) -> Result<(), ExportError> {
        let settings = Settings::load();
        let base = settings.required("url", NAME)?.trim().to_string();
        let index = settings.text_or("index", DEFAULT_INDEX);
        let body = format(&index, schema, batches, &settings.tags());
        // An empty bulk request is an error to Elasticsearch; nothing to send is a success.
        if body.is_empty() {
            return Ok(());
        }
        let url = Url::join(&base, "_bulk");
        let response = Request::post(&url, "application/x-ndjson", body.into_bytes())
            .with_credentials(settings.credentials().as_ref())
            .deliver("Elasticsearch")?;
        bulk_outcome(&url, &response.text())
    }
}

/// The bulk body: an action line and a document line per row of every table of every
/// batch, oldest first; empty when the batches hold no row.
fn format(index: &str, schema: &[Schema], batches: &[Batch], tags: &[(String, String)]) -> String {
    let mut action = String::from("{\"index\":{\"_index\":");
    json_string(index, &mut action);
    action.push_str("}}\n");
    let mut out = String::new();
    for batch in batches {
        let mut timestamp = String::new();
        json_string(&rfc3339(batch.unix_nanos), &mut timestamp);
        let mut hostname = String::new();
        json_string(&batch.hostname, &mut hostname);
        for (plugin, table) in &batch.tables {
            let mut plugin_json = String::new();
            json_string(plugin, &mut plugin_json);
            for row in table_rows(plugin, table, fields_of(schema, plugin)) {
                let names = top_names(&row);
                let own = [&timestamp, &hostname, &plugin_json];
                let mut extra: Vec<(&str, String)> = OWN_MEMBERS
                    .iter()
                    .zip(own)
                    .filter(|(name, _)| !names.contains(*name))
                    .map(|(name, json)| (*name, json.clone()))
                    .collect();
                extra.extend(tag_members(tags, |name| {
                    name.starts_with('_') || OWN_MEMBERS.contains(&name) || names.contains(&name)
                }));
                out.push_str(&action);
                json_row(&row, &extra, &mut out);
                out.push('\n');
            }
        }
    }
    out
}

/// The member names of a row's JSON object: its key column and the first part of each
/// column (`memory_info.rss` is a member `memory_info`).
fn top_names<'a>(row: &Row<'a>) -> Vec<&'a str> {
    row.key
        .iter()
        .map(|(name, _)| *name)
        .chain(
            row.cells
                .iter()
                .map(|c| c.column.split('.').next().unwrap_or(c.column)),
        )
        .collect()
}

/// Judges a 2xx bulk answer: delivered unless it says `"errors":true`. Read by a scan, not
/// a parser: the answer has an item per document and may be cut short at the sdk's body
/// cap when a replay sent many, and the scan still finds what it needs at its start.
fn bulk_outcome(url: &str, answer: &str) -> Result<(), ExportError> {
    let Some(at) = member(answer, 0, "errors") else {
        return Ok(());
    };
    if !answer[at..].starts_with("true") {
        return Ok(());
    }
    let items = member(answer, at, "items").unwrap_or(at);
    let (mut total, mut refused, mut all_429, mut first_status) = (0, 0, true, None);
    let mut from = items;
    while let Some(value) = member(answer, from, "status") {
        let digits: String = answer[value..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        if let Ok(status) = digits.parse::<u16>() {
            total += 1;
            if !(200..300).contains(&status) {
                refused += 1;
                all_429 &= status == 429;
                first_status = first_status.or(Some(status));
            }
        }
        from = value;
    }
    let status = first_status.map_or(String::new(), |s| format!(" (status {s})"));
    let message = format!(
        "Elasticsearch at {url} refused {refused} of {total} documents{status}: {}",
        first_error(answer, items)
    );
    if refused > 0 && all_429 {
        Err(ExportError::Retryable(message))
    } else {
        Err(ExportError::Permanent(message))
    }
}

/// The first item error's `type: reason` (or its text when it is a string).
fn first_error(json: &str, from: usize) -> String {
    let Some(at) = member(json, from, "error") else {
        return "no reason given".to_string();
    };
    if let Some(text) = string_at(json, at) {
        return excerpt(&text);
    }
    let field = |name| member(json, at, name).and_then(|i| string_at(json, i));
    match (field("type"), field("reason")) {
        (Some(kind), Some(reason)) => excerpt(&format!("{kind}: {reason}")),
        (None, Some(text)) | (Some(text), None) => excerpt(&text),
        (None, None) => excerpt(&json[at..]),
    }
}

/// Where the value of the first member `name` at or after byte `from` starts: `"name"`,
/// then `:`, with any whitespace around it. A quote inside a string is escaped (`\"`), so
/// a member name cannot be matched inside a string value.
fn member(json: &str, from: usize, name: &str) -> Option<usize> {
    let pattern = format!("\"{name}\"");
    let mut at = from;
    loop {
        let found = at + json.get(at..)?.find(&pattern)?;
        at = found + pattern.len();
        if let Some(value) = json[at..].trim_start().strip_prefix(':') {
            return Some(json.len() - value.trim_start().len());
        }
    }
}

/// The JSON string starting at byte `at`, unescaped; none if there is none, or it is cut.
fn string_at(json: &str, at: usize) -> Option<String> {
    let mut chars = json.get(at..)?.strip_prefix('"')?.chars();
    let mut out = String::new();
    loop {
        match chars.next()? {
            '"' => return Some(out),
            '\\' => match chars.next()? {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                'r' => out.push('\r'),
                'b' => out.push('\u{8}'),
                'f' => out.push('\u{c}'),
                'u' => {
                    let hex: String = chars.by_ref().take(4).collect();
                    let code = u32::from_str_radix(&hex, 16).ok()?;
                    // A surrogate half is not a char on its own: a reason stays readable.
                    out.push(char::from_u32(code).unwrap_or('\u{fffd}'));
                }
                // `\"`, `\\` and `\/` stand for themselves.
                c => out.push(c),
            },
            c => out.push(c),
        }
    }
}

glint_sdk::export_exporter!(Elasticsearch);

#[cfg(test)]
mod tests {
    use super::*;
    use glint_sdk::{Table, Value};

    /// A list plugin (network) with a text field needing escapes and a dotted column; a
    /// record plugin (system) whose `hostname` field shadows the document's.
    fn batch() -> Batch {
        let network = Table {
            key: Some("interface_name".into()),
            columns: vec![
                "interface_name".into(),
                "alias".into(),
                "bytes_recv".into(),
                "time_since_update".into(),
                "io.rate".into(),
            ],
            rows: vec![
                vec![
                    Value::Text("eth0".into()),
                    Value::Text("up\"link".into()),
                    Value::Uint(10),
                    Value::Float(1.0),
                    Value::Float(2.5),
                ],
                vec![
                    Value::Text("lo".into()),
                    Value::None,
                    Value::Uint(0),
                    Value::Float(1.0),
                    Value::Float(f64::INFINITY),
                ],
            ],
        };
        let system = Table {
            key: None,
            columns: vec!["hostname".into(), "cores".into()],
            rows: vec![vec![Value::Text("box.lan".into()), Value::Int(8)]],
        };
        Batch {
            seq: 1,
            unix_nanos: 1_700_000_000_123_000_000,
            hostname: "box".into(),
            tables: vec![("network".into(), network), ("system".into(), system)],
        }
    }

    #[test]
    fn an_action_and_a_document_per_row() {
        let tags = [
            ("dc".to_string(), "eu".to_string()),
            ("_id".to_string(), "x".to_string()),
            ("cores".to_string(), "y".to_string()),
        ];
        let body = format("glint-\"x\"", &[], &[batch()], &tags);
        assert_eq!(
            body,
            concat!(
                r#"{"index":{"_index":"glint-\"x\""}}"#,
                "\n",
                r#"{"@timestamp":"2023-11-14T22:13:20.123Z","hostname":"box","plugin":"network","#,
                r#""dc":"eu","cores":"y","#,
                r#""interface_name":"eth0","alias":"up\"link","bytes_recv":10,"io":{"rate":2.5}}"#,
                "\n",
                r#"{"index":{"_index":"glint-\"x\""}}"#,
                "\n",
                r#"{"@timestamp":"2023-11-14T22:13:20.123Z","hostname":"box","plugin":"network","#,
                r#""dc":"eu","cores":"y","#,
                r#""interface_name":"lo","alias":null,"bytes_recv":0,"io":{"rate":null}}"#,
                "\n",
                r#"{"index":{"_index":"glint-\"x\""}}"#,
                "\n",
                r#"{"@timestamp":"2023-11-14T22:13:20.123Z","plugin":"system","dc":"eu","#,
                r#""hostname":"box.lan","cores":8}"#,
                "\n",
            )
        );
        assert_eq!(format("glint", &[], &[], &tags), "");
    }

    #[test]
    fn bulk_answers() {
        let url = "http://es:9200/_bulk";
        assert!(bulk_outcome(url, "").is_ok(), "no JSON: the 2xx stands");
        assert!(bulk_outcome(url, r#"{"took":3,"errors":false,"items":[]}"#).is_ok());
        let refused = r#"{"took":3, "errors": true, "items":[
            {"index":{"_index":"glint","_id":"a","status":201,"result":"created"}},
            {"index":{"_index":"glint","_id":"b","status":400,"error":{"type":"document_parsing_exception",
              "reason":"failed to parse field [cores] of type [long]: \"y\"","caused_by":{"type":"x","reason":"z"}}}},
            {"index":{"_index":"glint","_id":"c","status":429,"error":{"type":"es_rejected_execution_exception","reason":"queue full"}}}]}"#;
        match bulk_outcome(url, refused) {
            Err(ExportError::Permanent(m)) => assert_eq!(
                m,
                "Elasticsearch at http://es:9200/_bulk refused 2 of 3 documents (status 400): \
                 document_parsing_exception: failed to parse field [cores] of type [long]: \"y\""
            ),
            other => panic!("{other:?}"),
        }
        let busy = r#"{"errors":true,"items":[{"index":{"status":201}},
            {"index":{"status":429,"error":{"type":"es_rejected_execution_exception","reason":"queue full"}}}]}"#;
        assert!(
            matches!(bulk_outcome(url, busy), Err(ExportError::Retryable(m)) if m.contains("queue full")),
            "only 429s: worth a retry"
        );
        // Cut short at the body cap: what was read still decides.
        let cut = r#"{"errors":true,"items":[{"index":{"status":400,"error":{"type":"t","reason":"bad \u00e9"#;
        assert!(
            matches!(bulk_outcome(url, cut), Err(ExportError::Permanent(m)) if m.contains("status 400")),
            "an answer cut short is still judged"
        );
    }
}
