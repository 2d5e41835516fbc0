//! couchdb: an exporter that stores one CouchDB document per plugin per batch, as Glances'
//! couchdb export does, through `_bulk_docs`.
//!
//! Settings (`[plugins.couchdb]`):
//! - `url` (required): the server's base URL (`http://127.0.0.1:5984`); glint grants this
//!   plugin exactly this destination.
//! - `db` (default `glint`): the database; created on first use.
//! - `user`, `password` (default none): HTTP basic authentication, sent when `user` is set.
//! - `tags` (default none): Glances' `k:v,k2:v2`, members of every document.
//! - `prefix` is not used: a document names its plugin in its `type` member.
//!
//! A document: `{"type":"<plugin>","time":"<rfc3339>","hostname":"h",<tags>,"stats":<stats>}`,
//! the stats as glint's API renders them — a record plugin's as an object, a list plugin's
//! as an array of row objects (key column included). A tag named like one of those members,
//! or starting with `_` (CouchDB keeps those names for itself), is left out. Ids are left to
//! the server.
//!
//! Each export: the first time (per instance and database), `PUT <url>/<db>` — 201/202
//! (created) and 412 (it exists) are fine, 401/403 final; then one
//! `POST <url>/<db>/_bulk_docs` with `{"docs":[...]}` holding the documents of every batch,
//! oldest first. That answers 201 with an entry per document; one with an `error` makes the
//! export final, with its reason. A 404 there (the database was deleted since) is retried,
//! after creating it again.

use glint_sdk::export::document::{push_members, table_json, tag_members};
use glint_sdk::export::{Settings, fields_of, json_string, rfc3339};
use glint_sdk::http::{self, HttpError, Request, Response, Url, excerpt, query_escape};
use glint_sdk::{Batch, ExportError, ExporterPlugin, PluginInfo, Schema};

const NAME: &str = "couchdb";

/// The database when none is set.
const DEFAULT_DB: &str = "glint";

/// What messages call the target.
const WHAT: &str = "CouchDB";

#[derive(Default)]
struct CouchDb {
    /// The URL of the database this instance has made sure exists (settings may change
    /// between calls: another database is checked again).
    ready: Option<String>,
}

impl ExporterPlugin for CouchDb {
    fn info() -> PluginInfo {
        glint_sdk::exporter(
            NAME,
            "Stores one document per plugin per batch in a CouchDB database (_bulk_docs)",
        )
    }

    fn export(&mut self, schema: &[Schema], batches: &[Batch]) -> Result<(), ExportError> {
        let settings = Settings::load();
        let base = settings.required("url", NAME)?.trim().to_string();
        let db = settings.text_or("db", DEFAULT_DB);
        let (body, docs) = format(schema, batches, &settings.tags());
        if docs == 0 {
            return Ok(());
        }
        let credentials = settings.credentials();
        // A database name may hold `/`, which CouchDB takes escaped in a path.
        let db_url = Url::join(&base, &query_escape(&db));
        let just_checked = self.ready.as_deref() != Some(db_url.as_str());
        if just_checked {
            let answer = Request::new("PUT", &db_url)
                .with_credentials(credentials.as_ref())
                .send();
            judge(&db_url, answer, |s| matches!(s, 201 | 202 | 412))?;
            self.ready = Some(db_url.clone());
        }
        let bulk_url = Url::join(&db_url, "_bulk_docs");
        let answer = Request::post(&bulk_url, "application/json", body.into_bytes())
            .with_credentials(credentials.as_ref())
            .send();
        match answer {
            // The database is gone (deleted since this instance made sure of it): made again
            // before the retry. Right after making it, a 404 is the URL's fault: final.
            Ok(r) if r.status == 404 && !just_checked => {
                self.ready = None;
                Err(ExportError::Retryable(format!(
                    "{WHAT} at {bulk_url} answered 404 (the database is gone?): {}; glint \
                     creates it again before the next try",
                    excerpt(&r.text())
                )))
            }
            answer => {
                let response = judge(&bulk_url, answer, |s| (200..300).contains(&s))?;
                bulk_outcome(&bulk_url, &response.text())
            }
        }
    }
}

/// An answer judged as an export by `glint_sdk::http::judge` (`ok` statuses are fine; no
/// answer, a 5xx, 408 or 429 is worth a retry; anything else is final), with what to check
/// added to a refused login (401, 403).
fn judge(
    url: &str,
    answer: Result<Response, HttpError>,
    ok: impl Fn(u16) -> bool,
) -> Result<Response, ExportError> {
    let status = answer.as_ref().map_or(0, |r| r.status);
    http::judge(WHAT, url, answer, ok).map_err(|e| match e {
        ExportError::Permanent(m) if matches!(status, 401 | 403) => ExportError::Permanent(
            format!("{m}; check `user` and `password` in [plugins.{NAME}]"),
        ),
        other => other,
    })
}

/// The `_bulk_docs` body and how many documents it holds: one per plugin of every batch.
fn format(schema: &[Schema], batches: &[Batch], tags: &[(String, String)]) -> (String, usize) {
    let tags = tag_members(tags, |name| {
        name.starts_with('_') || matches!(name, "type" | "time" | "hostname" | "stats")
    });
    let mut out = String::from("{\"docs\":[");
    let mut docs = 0;
    for batch in batches {
        let time = rfc3339(batch.unix_nanos);
        for (plugin, table) in &batch.tables {
            if docs > 0 {
                out.push(',');
            }
            docs += 1;
            out.push_str("{\"type\":");
            json_string(plugin, &mut out);
            out.push_str(",\"time\":");
            json_string(&time, &mut out);
            out.push_str(",\"hostname\":");
            json_string(&batch.hostname, &mut out);
            push_members(&tags, &mut out);
            out.push_str(",\"stats\":");
            table_json(plugin, table, fields_of(schema, plugin), &mut out);
            out.push('}');
        }
    }
    out.push_str("]}");
    (out, docs)
}

/// Judges a 2xx `_bulk_docs` answer: an array with an entry per document, those refused
/// holding `error` (CouchDB: its name and a `reason`; PouchDB: `true`, a `name` and a
/// `message`). An answer that is not such an array says nothing against the 2xx.
fn bulk_outcome(url: &str, answer: &str) -> Result<(), ExportError> {
    use serde_json::Value;
    let Ok(Value::Array(entries)) = serde_json::from_str::<Value>(answer) else {
        return Ok(());
    };
    let refused: Vec<&Value> = entries
        .iter()
        .filter(|e| {
            !matches!(
                e.get("error"),
                None | Some(Value::Null | Value::Bool(false))
            )
        })
        .collect();
    let Some(first) = refused.first() else {
        return Ok(());
    };
    let text = |key: &str| first.get(key).and_then(Value::as_str);
    let error = text("error").or_else(|| text("name")).unwrap_or("error");
    let reason = text("reason")
        .or_else(|| text("message"))
        .unwrap_or("no reason given");
    Err(ExportError::Permanent(format!(
        "{WHAT} at {url} refused {} of {} documents: {error}: {}",
        refused.len(),
        entries.len(),
        excerpt(reason)
    )))
}

glint_sdk::export_exporter!(CouchDb);

#[cfg(test)]
mod tests {
    use super::*;
    use glint_sdk::{Table, Value};

    /// A list plugin (sensors, keyed by label) with a text field needing escapes; a record
    /// plugin (cpu) with a float and an int.
    fn batch(seq: u64) -> Batch {
        let sensors = Table {
            key: Some("label".into()),
            columns: vec![
                "label".into(),
                "value".into(),
                "unit".into(),
                "time_since_update".into(),
            ],
            rows: vec![
                vec![
                    Value::Text("Core \"0\"".into()),
                    Value::Float(45.0),
                    Value::Text("C\\".into()),
                    Value::Float(1.0),
                ],
                vec![
                    Value::Text("fan1".into()),
                    Value::Int(1200),
                    Value::Text("R".into()),
                    Value::Float(1.0),
                ],
            ],
        };
        let cpu = Table {
            key: None,
            columns: vec!["total".into(), "cpucore".into()],
            rows: vec![vec![Value::Float(12.5), Value::Int(8)]],
        };
        Batch {
            seq,
            unix_nanos: 1_700_000_000_123_000_000 + seq * 1_000_000_000,
            hostname: "box".into(),
            tables: vec![("sensors".into(), sensors), ("cpu".into(), cpu)],
        }
    }

    #[test]
    fn a_document_per_plugin_per_batch() {
        let tags = [
            ("dc".to_string(), "eu".to_string()),
            ("_id".to_string(), "x".to_string()),
            ("stats".to_string(), "y".to_string()),
        ];
        let (body, docs) = format(&[], &[batch(0), batch(1)], &tags);
        assert_eq!(docs, 4);
        assert_eq!(
            body,
            concat!(
                r#"{"docs":["#,
                r#"{"type":"sensors","time":"2023-11-14T22:13:20.123Z","hostname":"box","dc":"eu","stats":["#,
                r#"{"label":"Core \"0\"","value":45.0,"unit":"C\\"},{"label":"fan1","value":1200,"unit":"R"}]},"#,
                r#"{"type":"cpu","time":"2023-11-14T22:13:20.123Z","hostname":"box","dc":"eu","#,
                r#""stats":{"total":12.5,"cpucore":8}},"#,
                r#"{"type":"sensors","time":"2023-11-14T22:13:21.123Z","hostname":"box","dc":"eu","stats":["#,
                r#"{"label":"Core \"0\"","value":45.0,"unit":"C\\"},{"label":"fan1","value":1200,"unit":"R"}]},"#,
                r#"{"type":"cpu","time":"2023-11-14T22:13:21.123Z","hostname":"box","dc":"eu","#,
                r#""stats":{"total":12.5,"cpucore":8}}"#,
                r#"]}"#,
            )
        );
        assert_eq!(format(&[], &[], &tags), (r#"{"docs":[]}"#.to_string(), 0));
    }

    #[test]
    fn bulk_answers() {
        let url = "http://couch:5984/glint/_bulk_docs";
        assert!(bulk_outcome(url, r#"[{"ok":true,"id":"a","rev":"1-x"}]"#).is_ok());
        assert!(bulk_outcome(url, "").is_ok(), "no JSON: the 2xx stands");
        let couch = r#"[{"ok":true,"id":"a","rev":"1-x"},
            {"id":"b","error":"forbidden","reason":"only \"admins\" may write"}]"#;
        match bulk_outcome(url, couch) {
            Err(ExportError::Permanent(m)) => assert_eq!(
                m,
                "CouchDB at http://couch:5984/glint/_bulk_docs refused 1 of 2 documents: \
                 forbidden: only \"admins\" may write"
            ),
            other => panic!("{other:?}"),
        }
        let pouch = r#"[{"error":true,"status":400,"name":"bad_request","message":"Document must be a JSON object"}]"#;
        assert!(matches!(
            bulk_outcome(url, pouch),
            Err(ExportError::Permanent(m)) if m.contains("bad_request: Document must be a JSON object")
        ));
    }

    #[test]
    fn answers_judged() {
        let answer = |status: u16| -> Result<Response, HttpError> {
            Ok(Response {
                status,
                headers: Vec::new(),
                body: b"{\"error\":\"unauthorized\"}".to_vec(),
            })
        };
        let url = "http://couch:5984/glint";
        let created = |s: u16| matches!(s, 201 | 202 | 412);
        assert!(judge(url, answer(412), created).is_ok());
        assert!(matches!(
            judge(url, answer(401), created),
            Err(ExportError::Permanent(m)) if m.contains("check `user` and `password`")
        ));
        assert!(matches!(
            judge(url, answer(503), created),
            Err(ExportError::Retryable(_))
        ));
        assert!(matches!(
            judge(url, Err(HttpError::Transport("connection refused".into())), created),
            Err(ExportError::Retryable(m)) if m.contains("unreachable: connection refused")
        ));
    }
}
