//! opentsdb: the exporter that sends every numeric stat to OpenTSDB through its HTTP API
//! (`POST /api/put`), as Glances' `opentsdb` export; VictoriaMetrics takes the same
//! requests.
//!
//! Settings (`[plugins.opentsdb]`):
//! - `url` (required): the server's base URL, `http://127.0.0.1:4242`; glint grants this
//!   plugin exactly this destination.
//! - `prefix` (default `glint`): the first part of every metric name; an empty one is left
//!   out.
//! - `tags` (default none): Glances' `k:v,k2:v2`, tags of every data point.
//!
//! Each export POSTs JSON arrays of data points, at most [`MAX_POINTS`] per request, one
//! per numeric cell of every batch (oldest first: OpenTSDB stores points at their own
//! time, so a replay fills the gap):
//! `[{"metric":"glint.network.bytes_recv","timestamp":1700000000123,"value":1000,
//! "tags":{"host":"box","interface_name":"eth0","dc":"eu"}}]` — the time in milliseconds,
//! the host always a tag (OpenTSDB needs at least one), the row's key a tag named after the
//! key column. Names, tag keys and tag values keep only what OpenTSDB allows (see
//! [`sanitize`]). Text and list cells are left out, booleans are 0 and 1.
//!
//! A stock OpenTSDB 2 refuses a body past about 8 KB ("Chunked request not supported":
//! Netty hands a larger one over in chunks) unless `tsd.http.request.enable_chunked = true`,
//! and then one past `tsd.http.request.max_chunk` (4096 bytes by default): set both in
//! opentsdb.conf, `max_chunk` to 1 MB or more (a request of [`MAX_POINTS`] points is up to
//! about 1 MB). The message of such a refusal says so.

use std::fmt::Write as _;

use glint_sdk::export::{
    Settings, integer_text, json_string, json_strings, points, sanitized, unix_millis,
};
use glint_sdk::http::{Request, Url};
use glint_sdk::{Batch, ExportError, ExporterPlugin, PluginInfo, Schema};

const NAME: &str = "opentsdb";

/// What messages call the target.
const WHAT: &str = "OpenTSDB";

/// Most data points in one request (150-200 bytes each: a request of up to about 1 MB).
/// OpenTSDB holds a whole request in memory to parse it and limits its size
/// (`tsd.http.request.max_chunk`), so a replay of many batches goes in requests of a
/// bounded size rather than in one; VictoriaMetrics takes requests of this size too.
const MAX_POINTS: usize = 5000;

/// OpenTSDB's default `tsd.storage.max_tags`: a data point with more tags is refused.
const MAX_TAGS: usize = 8;

#[derive(Default)]
struct OpenTsdb;

impl ExporterPlugin for OpenTsdb {
    fn info() -> PluginInfo {
        glint_sdk::exporter(
            NAME,
            "Sends numeric stats to OpenTSDB over its HTTP /api/put (Glances' opentsdb export)",
        )
    }

    fn export(&mut self, schema: &[Schema], batches: &[Batch]) -> Result<(), ExportError> {
        let settings = Settings::load();
        let url = Url::join(settings.required("url", NAME)?.trim(), "/api/put");
        let prefix = settings.name_prefix();
        // Any failed request fails the call, and the host sends every batch again later.
        // The requests already accepted are sent again with them: harmless for a time
        // series store, where a point written twice at the same time is stored once.
        for body in bodies(&data_points(&prefix, &settings.tags(), schema, batches)) {
            Request::post(&url, "application/json", body.into_bytes())
                .deliver(WHAT)
                .map_err(hint)?;
        }
        Ok(())
    }
}

glint_sdk::export_exporter!(OpenTsdb);

/// Adds what to change in opentsdb.conf to OpenTSDB's refusal of a large request.
fn hint(error: ExportError) -> ExportError {
    match error {
        ExportError::Permanent(m) if m.contains("Chunked request not supported") => {
            ExportError::Permanent(format!(
                "{m} (set tsd.http.request.enable_chunked = true and \
                 tsd.http.request.max_chunk = 1048576 in opentsdb.conf)"
            ))
        }
        other => other,
    }
}

/// Every numeric cell of every batch as one data point's JSON object.
fn data_points(
    prefix: &str,
    tags: &[(String, String)],
    schema: &[Schema],
    batches: &[Batch],
) -> Vec<String> {
    let mut out = Vec::new();
    for batch in batches {
        let millis = unix_millis(batch);
        let host = sanitize(&batch.hostname);
        for point in points(schema, batch) {
            let metric = if prefix.is_empty() {
                format!("{}.{}", point.plugin, point.field)
            } else {
                format!("{prefix}.{}.{}", point.plugin, point.field)
            };
            // The host, the key, then the configured tags; of two with the same key the
            // first wins (OpenTSDB refuses a JSON object with a key twice as ambiguous).
            let mut point_tags: Vec<(String, String)> = vec![("host".to_string(), host.clone())];
            let key = point.key.as_ref().map(|(k, v)| (*k, v.as_str()));
            let configured = tags.iter().map(|(k, v)| (k.as_str(), v.as_str()));
            for (k, v) in key.into_iter().chain(configured) {
                let k = sanitize(k);
                if point_tags.len() < MAX_TAGS && !point_tags.iter().any(|(t, _)| *t == k) {
                    point_tags.push((k, sanitize(v)));
                }
            }

            let mut json = String::from("{\"metric\":");
            json_string(&sanitize(&metric), &mut json);
            let _ = write!(
                json,
                ",\"timestamp\":{millis},\"value\":{},\"tags\":",
                value_text(point.value)
            );
            json_strings(&point_tags, &mut json);
            json.push('}');
            out.push(json);
        }
    }
    out
}

/// The request bodies: JSON arrays of at most [`MAX_POINTS`] data points each.
fn bodies(points: &[String]) -> Vec<String> {
    points
        .chunks(MAX_POINTS)
        .map(|chunk| format!("[{}]", chunk.join(",")))
        .collect()
}

/// A metric name, tag key or tag value as OpenTSDB allows it: letters, digits and `-_./`
/// are kept, any other char (a space, `:`, a non-ASCII letter) becomes `_`, and an empty
/// text is `_` (OpenTSDB refuses an empty tag value).
fn sanitize(text: &str) -> String {
    sanitized(text, &['-', '_', '.', '/'])
}

/// A value as a JSON number: an integral one without a fraction (`1000`; OpenTSDB stores
/// it as an integer), any other in Rust's shortest round-trip form, with an exponent where
/// that is shorter (`0.25`, `1e-7`), which JSON allows.
fn value_text(value: f64) -> String {
    // Up to 2^53 every integer is exact in an f64, and in OpenTSDB's 64-bit integers.
    integer_text(value, 9_007_199_254_740_992.0).unwrap_or_else(|| format!("{value:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use glint_sdk::{Table, Value};

    fn batch() -> Batch {
        let fs = Table {
            key: Some("mnt_point".into()),
            columns: vec![
                "mnt_point".into(),
                "device_name".into(),
                "used".into(),
                "percent".into(),
                "time_since_update".into(),
            ],
            rows: vec![vec![
                Value::Text("/var/my log".into()),
                Value::Text("/dev/sda1".into()),
                Value::Uint(1000),
                Value::Float(12.5),
                Value::Float(2.0),
            ]],
        };
        let load = Table {
            key: None,
            columns: vec!["min1".into(), "cpucore".into(), "is_up".into()],
            rows: vec![vec![
                Value::Float(1e-7),
                Value::Int(-8),
                Value::Boolean(true),
            ]],
        };
        Batch {
            seq: 1,
            unix_nanos: 1_700_000_000_123_456_789,
            hostname: "my box".into(),
            tables: vec![("fs".into(), fs), ("load".into(), load)],
        }
    }

    #[test]
    fn data_points_with_host_key_and_configured_tags() {
        let tags = vec![
            ("dc".to_string(), "eu west".to_string()),
            ("host".to_string(), "spoofed".to_string()),
        ];
        let points = data_points("glint", &tags, &[], &[batch()]);
        assert_eq!(
            points,
            [
                r#"{"metric":"glint.fs.used","timestamp":1700000000123,"value":1000,"tags":{"host":"my_box","mnt_point":"/var/my_log","dc":"eu_west"}}"#,
                r#"{"metric":"glint.fs.percent","timestamp":1700000000123,"value":12.5,"tags":{"host":"my_box","mnt_point":"/var/my_log","dc":"eu_west"}}"#,
                r#"{"metric":"glint.load.min1","timestamp":1700000000123,"value":1e-7,"tags":{"host":"my_box","dc":"eu_west"}}"#,
                r#"{"metric":"glint.load.cpucore","timestamp":1700000000123,"value":-8,"tags":{"host":"my_box","dc":"eu_west"}}"#,
                r#"{"metric":"glint.load.is_up","timestamp":1700000000123,"value":1,"tags":{"host":"my_box","dc":"eu_west"}}"#,
            ]
        );
        let points = data_points("", &[], &[], &[batch()]);
        assert!(
            points[2].starts_with(r#"{"metric":"load.min1","#),
            "{}",
            points[2]
        );
    }

    #[test]
    fn tags_past_opentsdbs_limit_are_left_out() {
        let tags: Vec<(String, String)> = (0..10)
            .map(|i| (format!("t{i}"), "v".to_string()))
            .collect();
        let points = data_points("glint", &tags, &[], &[batch()]);
        // host, mnt_point, t0..t5.
        assert!(
            points[0].ends_with(r#""t4":"v","t5":"v"}}"#),
            "{}",
            points[0]
        );
        assert_eq!(points[0].matches("\":\"v\"").count(), 6);
    }

    #[test]
    fn requests_carry_at_most_max_points() {
        let points: Vec<String> = (0..MAX_POINTS * 2 + 1).map(|i| i.to_string()).collect();
        let requests = bodies(&points);
        assert_eq!(requests.len(), 3);
        assert!(requests[0].starts_with("[0,1,") && requests[0].ends_with(",4999]"));
        assert_eq!(requests[2], "[10000]");
        assert!(bodies(&[]).is_empty());
    }

    #[test]
    fn sanitize_keeps_what_opentsdb_allows() {
        assert_eq!(sanitize("a-Z_0./b"), "a-Z_0./b");
        assert_eq!(sanitize("eth 0:1"), "eth_0_1");
        assert_eq!(sanitize("été"), "_t_");
        assert_eq!(sanitize(""), "_");
        assert_eq!(value_text(-0.0), "0");
        assert_eq!(value_text(1e20), "1e20");
        assert_eq!(value_text(0.1), "0.1");
    }

    #[test]
    fn a_refused_large_request_says_what_to_configure() {
        let refused = ExportError::Permanent(
            "OpenTSDB at http://h:4242/api/put answered 400: Chunked request not supported.".into(),
        );
        assert!(matches!(hint(refused), ExportError::Permanent(m) if m.contains("enable_chunked")));
        assert!(matches!(
            hint(ExportError::Retryable("x".into())),
            ExportError::Retryable(m) if m == "x"
        ));
    }
}
