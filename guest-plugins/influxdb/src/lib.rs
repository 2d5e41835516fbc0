//! influxdb: the exporter that writes batches to InfluxDB 1.x through its HTTP API
//! (`POST /write`, line protocol, nanosecond precision), as Glances' `influxdb` export.
//!
//! Settings (`[plugins.influxdb]`):
//! - `url` (required): the server, `http://127.0.0.1:8086`; glint grants this plugin exactly
//!   this destination.
//! - `db` (default `glint`): the database. When InfluxDB answers that it does not exist,
//!   it is created (`CREATE DATABASE`) and the write tried again once, in the same call.
//! - `user`, `password` (default none): HTTP basic authentication, sent when `user` is set.
//! - `prefix` (default empty): measurements are `<prefix>.<plugin>`, or just `<plugin>`.
//! - `tags` (default none): Glances' `k:v,k2:v2`, tags of every point.
//!
//! Each export is one `POST <url>/write?db=<db>&precision=ns` of every row of every batch,
//! oldest first, as `glint_sdk::export::influx::line_protocol` writes them:
//! `network,hostname=box,interface_name=eth0 bytes_recv=1000,is_up=true,alias="wan"
//! 1700000000123456789`, every number a float. A 2xx answer (InfluxDB's 204) is a delivery;
//! a 5xx, 408, 429 or no answer is retried later; any other answer (bad credentials, a
//! point InfluxDB refuses) is final.

use glint_sdk::export::Settings;
use glint_sdk::export::influx::{self, TARGET, line_protocol};
use glint_sdk::http::{Request, Url, query_escape};
use glint_sdk::{Batch, ExportError, ExporterPlugin, PluginInfo, Schema};

const NAME: &str = "influxdb";

const DEFAULT_DB: &str = "glint";

#[derive(Default)]
struct InfluxDb;

/// Where and how to write, from the settings.
#[derive(Debug, Clone, PartialEq)]
struct Target {
    url: String,
    db: String,
    auth: Option<(String, String)>,
    prefix: String,
    tags: Vec<(String, String)>,
}

impl Target {
    fn from_settings(settings: &Settings) -> Result<Target, ExportError> {
        Ok(Target {
            url: settings.required("url", NAME)?.trim().to_string(),
            db: settings.text_or("db", DEFAULT_DB),
            auth: settings.credentials(),
            prefix: settings.text("prefix").unwrap_or_default(),
            tags: settings.tags(),
        })
    }

    /// `<url>/write?db=<db>&precision=ns`: the timestamps are the batches' nanoseconds.
    fn write_url(&self) -> String {
        Url::join(
            &self.url,
            &format!("/write?db={}&precision=ns", query_escape(&self.db)),
        )
    }

    /// `<url>/query?q=CREATE DATABASE "<db>"`, the statement in the query string.
    fn create_url(&self) -> String {
        Url::join(
            &self.url,
            &format!("/query?q={}", query_escape(&create_statement(&self.db))),
        )
    }
}

/// `CREATE DATABASE "<db>"`, the name a quoted InfluxQL identifier (`\` and `"` escaped).
fn create_statement(db: &str) -> String {
    format!(
        "CREATE DATABASE \"{}\"",
        db.replace('\\', "\\\\").replace('"', "\\\"")
    )
}

/// Whether the write was refused because the database does not exist: InfluxDB 1.x
/// answers `404 {"error":"database not found: \"glint\""}`, which `Request::deliver` makes
/// a permanent error quoting status and body.
fn is_database_not_found(error: &ExportError) -> bool {
    matches!(error, ExportError::Permanent(m)
        if m.contains(" answered 404") && m.contains("database not found"))
}

/// `error` with what was being done put first.
fn context(error: ExportError, doing: &str) -> ExportError {
    match error {
        ExportError::Retryable(m) => ExportError::Retryable(format!("{doing}: {m}")),
        ExportError::Permanent(m) => ExportError::Permanent(format!("{doing}: {m}")),
    }
}

impl ExporterPlugin for InfluxDb {
    fn info() -> PluginInfo {
        glint_sdk::exporter(
            NAME,
            "Writes batches to InfluxDB 1.x in line protocol (Glances' influxdb export)",
        )
    }

    fn export(&mut self, schema: &[Schema], batches: &[Batch]) -> Result<(), ExportError> {
        let target = Target::from_settings(&Settings::load())?;
        let body = line_protocol(schema, batches, &target.prefix, &target.tags);
        let authorized = |r: Request| r.with_credentials(target.auth.as_ref());
        let write = || influx::write(&target.write_url(), &body, authorized);
        match write() {
            Err(e) if is_database_not_found(&e) => {
                authorized(Request::new("POST", &target.create_url()))
                    .deliver(TARGET)
                    .map_err(|e| context(e, &format!("creating database {:?}", target.db)))?;
                write()
            }
            other => other,
        }
    }
}

glint_sdk::export_exporter!(InfluxDb);

#[cfg(test)]
mod tests {
    use super::*;
    use glint_sdk::{Table, Value};

    #[test]
    fn settings_and_their_defaults() {
        let t = Target::from_settings(&Settings::from_text(&[("url", "http://127.0.0.1:8086/")]))
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(t.db, "glint");
        assert_eq!(t.auth, None);
        assert_eq!(t.prefix, "");
        assert_eq!(
            t.write_url(),
            "http://127.0.0.1:8086/write?db=glint&precision=ns"
        );
        let t = Target::from_settings(&Settings::from_text(&[
            ("url", "http://h:8086"),
            ("db", "my db"),
            ("user", "me"),
            ("prefix", "glances"),
            ("tags", "dc:eu"),
        ]))
        .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(t.auth, Some(("me".to_string(), String::new())));
        assert_eq!(t.tags, [("dc".to_string(), "eu".to_string())]);
        assert_eq!(t.write_url(), "http://h:8086/write?db=my%20db&precision=ns");
        assert!(matches!(
            Target::from_settings(&Settings::from_text(&[])),
            Err(ExportError::Permanent(m)) if m.contains("`url`")
        ));
    }

    #[test]
    fn a_missing_database_is_created_with_a_quoted_name() {
        let t = Target::from_settings(&Settings::from_text(&[
            ("url", "http://h:8086"),
            ("db", "a\"b"),
        ]))
        .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(create_statement("a\"b\\"), r#"CREATE DATABASE "a\"b\\""#);
        assert_eq!(
            t.create_url(),
            "http://h:8086/query?q=CREATE%20DATABASE%20%22a%5C%22b%22"
        );
        let not_found = ExportError::Permanent(
            "InfluxDB at http://h:8086/write?db=x&precision=ns answered 404: \
             {\"error\":\"database not found: \\\"x\\\"\"}"
                .to_string(),
        );
        assert!(is_database_not_found(&not_found));
        assert!(!is_database_not_found(&ExportError::Permanent(
            "InfluxDB at http://h answered 401: {\"error\":\"authorization failed\"}".into()
        )));
        assert!(!is_database_not_found(&ExportError::Retryable(
            "InfluxDB at http://h answered 404: database not found".into()
        )));
    }

    #[test]
    fn the_body_is_line_protocol_of_every_batch() {
        let table = Table {
            key: Some("interface_name".into()),
            columns: vec!["interface_name".into(), "bytes_recv".into(), "alias".into()],
            rows: vec![vec![
                Value::Text("eth0".into()),
                Value::Int(1000),
                Value::Text("w,a n".into()),
            ]],
        };
        let batch = Batch {
            seq: 1,
            unix_nanos: 1_700_000_000_000_000_001,
            hostname: "box".into(),
            tables: vec![("network".into(), table)],
        };
        assert_eq!(
            line_protocol(&[], &[batch], "", &[("dc".to_string(), "eu".to_string())]),
            "network,dc=eu,hostname=box,interface_name=eth0 bytes_recv=1000,alias=\"w,a n\" \
             1700000000000000001\n"
        );
    }
}
