//! influxdb2: the exporter that writes batches to InfluxDB 2.x through its write API
//! (`POST /api/v2/write`, line protocol, nanosecond precision), as Glances' `influxdb2`
//! export; VictoriaMetrics takes the same requests.
//!
//! Settings (`[plugins.influxdb2]`):
//! - `url` (required): the server, `http://127.0.0.1:8086`; glint grants this plugin exactly
//!   this destination.
//! - `org` (required): the organization, by name or ID.
//! - `bucket` (required): the bucket, by name or ID. InfluxDB 2 creates buckets only with an
//!   org ID and a retention policy, so glint does not create it: a missing bucket is a
//!   final error naming it.
//! - `token` (required): an API token with write access to the bucket, sent as
//!   `Authorization: Token <token>`.
//! - `prefix` (default empty): measurements are `<prefix>.<plugin>`, or just `<plugin>`.
//! - `tags` (default none): Glances' `k:v,k2:v2`, tags of every point.
//!
//! Each export is one `POST <url>/api/v2/write?org=<org>&bucket=<bucket>&precision=ns` of
//! every row of every batch, oldest first, as `glint_sdk::export::influx::line_protocol`
//! writes them: `network,hostname=box,interface_name=eth0 bytes_recv=1000,is_up=true
//! 1700000000123456789`, every number a float. A 2xx answer (204) is a delivery; a 5xx, 408,
//! 429 or no answer is retried later; any other answer (a bad token, a missing bucket) is
//! final.

use glint_sdk::export::Settings;
use glint_sdk::export::influx::{self, line_protocol};
use glint_sdk::http::{Request, Url, query_escape};
use glint_sdk::{Batch, ExportError, ExporterPlugin, PluginInfo, Schema};

const NAME: &str = "influxdb2";

#[derive(Default)]
struct InfluxDb2;

/// Where and how to write, from the settings.
#[derive(Debug, Clone, PartialEq)]
struct Target {
    url: String,
    org: String,
    bucket: String,
    token: String,
    prefix: String,
    tags: Vec<(String, String)>,
}

impl Target {
    fn from_settings(settings: &Settings) -> Result<Target, ExportError> {
        Ok(Target {
            url: settings.required("url", NAME)?.trim().to_string(),
            org: settings.required("org", NAME)?,
            bucket: settings.required("bucket", NAME)?,
            token: settings.required("token", NAME)?.trim().to_string(),
            prefix: settings.text("prefix").unwrap_or_default(),
            tags: settings.tags(),
        })
    }

    /// `<url>/api/v2/write?org=<org>&bucket=<bucket>&precision=ns`: the timestamps are the
    /// batches' nanoseconds.
    fn write_url(&self) -> String {
        Url::join(
            &self.url,
            &format!(
                "/api/v2/write?org={}&bucket={}&precision=ns",
                query_escape(&self.org),
                query_escape(&self.bucket)
            ),
        )
    }

    /// The token, as InfluxDB 2 takes it.
    fn authorized(&self, request: Request) -> Request {
        request.header("authorization", &format!("Token {}", self.token))
    }
}

impl ExporterPlugin for InfluxDb2 {
    fn info() -> PluginInfo {
        glint_sdk::exporter(
            NAME,
            "Writes batches to InfluxDB 2.x in line protocol (Glances' influxdb2 export)",
        )
    }

    fn export(&mut self, schema: &[Schema], batches: &[Batch]) -> Result<(), ExportError> {
        let target = Target::from_settings(&Settings::load())?;
        let body = line_protocol(schema, batches, &target.prefix, &target.tags);
        influx::write(&target.write_url(), &body, |r| target.authorized(r))
    }
}

glint_sdk::export_exporter!(InfluxDb2);

#[cfg(test)]
mod tests {
    use super::*;
    use glint_sdk::export::influx::CONTENT_TYPE;
    use glint_sdk::{Table, Value};

    #[test]
    fn the_request_names_org_bucket_and_token() {
        let t = Target::from_settings(&Settings::from_text(&[
            ("url", "http://127.0.0.1:8428/"),
            ("org", "my org"),
            ("bucket", "glint&co"),
            ("token", "s3cr3t=="),
        ]))
        .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(
            t.write_url(),
            "http://127.0.0.1:8428/api/v2/write?org=my%20org&bucket=glint%26co&precision=ns"
        );
        let request = t.authorized(influx::request(&t.write_url(), "x v=1 1\n"));
        assert_eq!(request.method, "POST");
        assert!(
            request
                .headers
                .contains(&("authorization".to_string(), "Token s3cr3t==".to_string())),
            "{:?}",
            request.headers
        );
        assert!(
            request
                .headers
                .contains(&("content-type".to_string(), CONTENT_TYPE.to_string()))
        );
        assert_eq!(t.prefix, "");
    }

    #[test]
    fn every_required_setting_is_named_when_missing() {
        for missing in ["url", "org", "bucket", "token"] {
            let all = [
                ("url", "http://h:8086"),
                ("org", "o"),
                ("bucket", "b"),
                ("token", "t"),
            ];
            let entries: Vec<(&str, &str)> =
                all.into_iter().filter(|(k, _)| *k != missing).collect();
            assert!(
                matches!(
                    Target::from_settings(&Settings::from_text(&entries)),
                    Err(ExportError::Permanent(m)) if m.contains(&format!("`{missing}`"))
                ),
                "{missing}"
            );
        }
    }

    #[test]
    fn the_body_is_line_protocol_with_the_prefix() {
        let table = Table {
            key: None,
            columns: vec!["total".into(), "user".into(), "cpucore".into()],
            rows: vec![vec![Value::Float(12.5), Value::Uint(3), Value::Int(8)]],
        };
        let batch = Batch {
            seq: 1,
            unix_nanos: 1_700_000_000_000_000_000,
            hostname: "box".into(),
            tables: vec![("cpu".into(), table)],
        };
        assert_eq!(
            line_protocol(&[], &[batch], "glances", &[]),
            "glances.cpu,hostname=box total=12.5,user=3,cpucore=8 1700000000000000000\n"
        );
    }
}
