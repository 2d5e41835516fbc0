//! pushgateway: the exporter that pushes the newest stats to a Prometheus Pushgateway, as the
//! very page the `/metrics` output plugin serves (`glint_sdk::export::prometheus`), so a
//! machine Prometheus cannot scrape shows up with the same series as one it can.
//!
//! Settings (`[plugins.pushgateway]`):
//! - `url` (required): the Pushgateway's base URL, `http://127.0.0.1:9091`; the path below is
//!   appended to it.
//! - `job` (default `glint`): the group's `job` label.
//! - `user`, `password` (default none): HTTP basic auth, sent when `user` is set (the
//!   Pushgateway's `--web.config.file`); no `password` is an empty one.
//! - `tags` (default none): Glances' `k:v,k2:v2`, as more labels of the grouping key, which
//!   the Pushgateway puts on every metric of the group. A tag name must be a label name
//!   (`[a-zA-Z_][a-zA-Z0-9_]*`, not `job`, `instance` or `__...`), and not one the page
//!   uses (`interface_name`): the Pushgateway would overwrite it on every row, and refuse
//!   the rows that then look alike.
//! - no `prefix`: names are the `/metrics` page's (`glint_<plugin>_<field>`), so one
//!   dashboard reads both.
//!
//! Each export is one request:
//!
//! ```text
//! PUT http://127.0.0.1:9091/metrics/job/glint/instance/web-01
//! content-type: text/plain; version=0.0.4; charset=utf-8
//!
//! # HELP glint_mem_total_bytes Total memory.
//! # TYPE glint_mem_total_bytes gauge
//! glint_mem_total_bytes 8000
//! ...
//! ```
//!
//! PUT replaces the whole group (job, instance and tags), so a series that is gone from the
//! newest batch (a process that ended, an unmounted file system) is gone from the
//! Pushgateway too, as it would be from a scrape. A `job`, hostname or tag value that is
//! empty, `.`, `..` or holds anything but `[A-Za-z0-9._~-]` goes in the Pushgateway's
//! documented base64 form, `/instance@base64/<RFC 4648 URL-safe base64>` (`/` cannot be
//! sent otherwise, not even as `%2F`).

use glint_sdk::export::prometheus::{CONTENT_TYPE, exposition};
use glint_sdk::export::{Settings, fields_of};
use glint_sdk::http::{Request, Url};
use glint_sdk::{Batch, ExportError, ExporterPlugin, FieldInfo, PluginInfo, Schema, Table};

/// The handshake name, which names the config section in messages.
const NAME: &str = "pushgateway";

/// The `job` label when none is set: the program the series come from.
const DEFAULT_JOB: &str = "glint";

/// What names the target in messages.
const TARGET: &str = "Pushgateway";

#[derive(Default)]
struct Pushgateway;

impl ExporterPlugin for Pushgateway {
    fn info() -> PluginInfo {
        glint_sdk::exporter(
            NAME,
            "Pushes the newest stats to a Prometheus Pushgateway, as the /metrics page",
        )
    }

    fn export(&mut self, schema: &[Schema], batches: &[Batch]) -> Result<(), ExportError> {
        let target = Target::from_settings(&Settings::load())?;
        match push_request(&target, schema, batches) {
            Some(request) => request.deliver(TARGET).map(|_| ()),
            None => Ok(()),
        }
    }
}

glint_sdk::export_exporter!(Pushgateway);

/// The settings of one push.
#[derive(Debug, Clone, PartialEq)]
struct Target {
    url: String,
    job: String,
    /// User and password, for HTTP basic authentication.
    auth: Option<(String, String)>,
    tags: Vec<(String, String)>,
}

impl Target {
    fn from_settings(settings: &Settings) -> Result<Target, ExportError> {
        let url = settings.required("url", NAME)?.trim().to_string();
        let job = settings
            .text("job")
            .map_or_else(|| DEFAULT_JOB.to_string(), |j| j.trim().to_string());
        // The Pushgateway refuses an empty job: there would be no group to put the push in.
        if job.is_empty() {
            return Err(ExportError::Permanent(format!(
                "`job` in [plugins.{NAME}] is empty: give the group a job name \
                 (or leave `job` out for {DEFAULT_JOB:?})"
            )));
        }
        let tags = settings.tags();
        if let Some((name, _)) = tags.iter().find(|(name, _)| !grouping_label_name(name)) {
            return Err(ExportError::Permanent(format!(
                "tag {name:?} in [plugins.{NAME}]: a tag is a label of the Pushgateway's \
                 grouping key, so its name must be [a-zA-Z_][a-zA-Z0-9_]* and not job, \
                 instance or start with __"
            )));
        }
        Ok(Target {
            url,
            job,
            auth: settings.credentials(),
            tags,
        })
    }
}

/// Whether `name` may be a label of the grouping key: a Prometheus label name, and not one
/// the path already sets (`job`, `instance`) or that Prometheus keeps for itself (`__`).
fn grouping_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with("__")
        && name != "job"
        && name != "instance"
}

/// The PUT of the newest batch. A Pushgateway keeps only the last push of each group:
/// replaying the older batches the host kept while it was down would only have each one
/// overwritten by the next, so the newest alone is sent, and Ok says all were dealt with
/// (the older ones are superseded, not lost: Prometheus stamps samples with its own scrape
/// time, so it could not have placed them in the past anyway). None when there is nothing
/// to send, or the newest batch has no tables (glint had no stats yet): an empty PUT would
/// delete the group's last good push.
fn push_request(target: &Target, schema: &[Schema], batches: &[Batch]) -> Option<Request> {
    let batch = batches.last().filter(|b| !b.tables.is_empty())?;
    let url = push_url(&target.url, &target.job, &batch.hostname, &target.tags);
    Some(
        Request::new("PUT", &url)
            .header("content-type", CONTENT_TYPE)
            .body(page(schema, batch).into_bytes())
            .with_credentials(target.auth.as_ref()),
    )
}

/// `<base>/metrics/job/<job>/instance/<hostname>[/<tag>/<value>...]`.
fn push_url(base: &str, job: &str, hostname: &str, tags: &[(String, String)]) -> String {
    let mut path = String::from("/metrics");
    path.push_str(&segment("job", job));
    path.push_str(&segment("instance", hostname));
    for (name, value) in tags {
        path.push_str(&segment(name, value));
    }
    Url::join(base, &path)
}

/// One `/<label>/<value>` pair of the grouping key. The Pushgateway splits its path at every
/// `/` (a `%2F` included), its router drops empty segments and resolves `.` and `..`: such a
/// value, or one with any char outside `[A-Za-z0-9._~-]`, goes in the form its README gives
/// for them, `/<label>@base64/<URL-safe base64>`; plain otherwise, so URLs stay readable.
fn segment(label: &str, value: &str) -> String {
    let plain = !value.is_empty()
        && value != "."
        && value != ".."
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'~' | b'-'));
    if plain {
        format!("/{label}/{value}")
    } else {
        format!("/{label}@base64/{}", base64_url(value))
    }
}

/// RFC 4648 §5 base64 (URL and filename safe alphabet) without padding, which the
/// Pushgateway makes optional, but `=` for an empty value, which it requires (`//` would be
/// dropped from the path).
fn base64_url(value: &str) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    if value.is_empty() {
        return "=".to_string();
    }
    let mut out = String::with_capacity(value.len().div_ceil(3) * 4);
    for chunk in value.as_bytes().chunks(3) {
        let byte = |i: usize| u32::from(chunk.get(i).copied().unwrap_or(0));
        let bits = (byte(0) << 16) | (byte(1) << 8) | byte(2);
        // n bytes carry 8n bits: n + 1 six-bit digits.
        for digit in 0..=chunk.len() {
            let index = (bits >> (18 - 6 * digit)) & 0x3f;
            out.push(char::from(ALPHABET[index as usize]));
        }
    }
    out
}

/// The exposition of one batch: each of its tables with its plugin's fields.
fn page(schema: &[Schema], batch: &Batch) -> String {
    let plugins: Vec<(String, Table, Vec<FieldInfo>)> = batch
        .tables
        .iter()
        .map(|(plugin, table)| {
            (
                plugin.clone(),
                table.clone(),
                fields_of(schema, plugin).to_vec(),
            )
        })
        .collect();
    exposition(&plugins)
}

#[cfg(test)]
mod tests {
    use super::*;
    use glint_sdk::{ConfigValue, Unit, Value, field};

    fn settings(entries: &[(&str, ConfigValue)]) -> Settings {
        Settings::from_entries(
            entries
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        )
    }

    fn text(s: &str) -> Value {
        Value::Text(s.to_string())
    }

    fn target() -> Target {
        Target::from_settings(&settings(&[(
            "url",
            ConfigValue::Text("http://127.0.0.1:9091".into()),
        )]))
        .unwrap_or_else(|e| panic!("{e:?}"))
    }

    fn schema() -> Vec<Schema> {
        vec![
            Schema {
                plugin: "network".into(),
                fields: vec![
                    field("interface_name", Unit::Text, "Interface name."),
                    field("alias", Unit::Text, "Interface alias."),
                    FieldInfo {
                        is_rate: true,
                        ..field("bytes_recv", Unit::Bytes, "Bytes received\non the wire.")
                    },
                ],
            },
            Schema {
                plugin: "mem".into(),
                fields: vec![
                    field("total", Unit::Bytes, "Total memory."),
                    field("percent", Unit::Percent, "Used memory."),
                    field("used", Unit::Bytes, "Memory used."),
                ],
            },
        ]
    }

    /// A list plugin (key, text, is-rate columns, escaping) and a record plugin (int,
    /// float, percent), `total` bytes of memory as given.
    fn tables(total: u64) -> Vec<(String, Table)> {
        let network = Table {
            key: Some("interface_name".into()),
            columns: [
                "interface_name",
                "alias",
                "bytes_recv",
                "bytes_recv_gauge",
                "bytes_recv_rate_per_sec",
                "time_since_update",
            ]
            .map(String::from)
            .to_vec(),
            rows: vec![
                vec![
                    text("eth0"),
                    text("up \"link\" \\ 1"),
                    Value::Uint(10),
                    Value::Uint(1000),
                    Value::Float(10.0),
                    Value::Float(1.0),
                ],
                vec![
                    text("lo"),
                    text("loopback"),
                    Value::Uint(0),
                    Value::Uint(5),
                    Value::Float(0.0),
                    Value::Float(1.0),
                ],
            ],
        };
        let mem = Table {
            key: None,
            columns: ["total", "percent", "used"].map(String::from).to_vec(),
            rows: vec![vec![
                Value::Uint(total),
                Value::Float(12.5),
                Value::Int(3000),
            ]],
        };
        vec![("network".into(), network), ("mem".into(), mem)]
    }

    fn batch(seq: u64, tables: Vec<(String, Table)>) -> Batch {
        Batch {
            seq,
            unix_nanos: 1_700_000_000_000_000_000 + seq * 1_000_000_000,
            hostname: "web-01".into(),
            tables,
        }
    }

    #[test]
    fn urls_follow_the_pushgateway_path_and_base64_what_a_path_cannot_carry() {
        let none: &[(String, String)] = &[];
        assert_eq!(
            push_url("http://127.0.0.1:9091", "glint", "web-01", none),
            "http://127.0.0.1:9091/metrics/job/glint/instance/web-01"
        );
        // A trailing `/` on the base, a `/` in the job, an empty and an odd hostname, tags.
        assert_eq!(
            push_url("http://pg:9091/", "batch/nightly", "", none),
            "http://pg:9091/metrics/job@base64/YmF0Y2gvbmlnaHRseQ/instance@base64/="
        );
        assert_eq!(
            push_url(
                "http://pg:9091",
                "glint",
                "my host",
                &[
                    ("dc".into(), "eu-1".into()),
                    ("path".into(), "/var/tmp".into())
                ]
            ),
            "http://pg:9091/metrics/job/glint/instance@base64/bXkgaG9zdA/dc/eu-1/path@base64/L3Zhci90bXA"
        );
        assert_eq!(segment("instance", ".."), "/instance@base64/Li4");
        assert_eq!(segment("instance", "a.b_c~d-e"), "/instance/a.b_c~d-e");
        // The Pushgateway README's own examples, and every padding length.
        assert_eq!(base64_url("Προμηθεύς"), "zqDPgc6_zrzOt864zrXPjc-C");
        assert_eq!(
            ["a", "ab", "abc"].map(base64_url),
            ["YQ", "YWI", "YWJj"].map(String::from)
        );
    }

    #[test]
    fn the_body_is_the_exposition_of_the_newest_batch_only() {
        let mut older = tables(7000);
        older.push((
            "gone".into(),
            Table {
                key: None,
                columns: vec!["value".into()],
                rows: vec![vec![Value::Int(1)]],
            },
        ));
        let batches = [batch(1, older), batch(2, tables(8000))];
        let request = push_request(&target(), &schema(), &batches)
            .unwrap_or_else(|| panic!("no request for two batches"));
        assert_eq!(request.method, "PUT");
        assert_eq!(
            request.url,
            "http://127.0.0.1:9091/metrics/job/glint/instance/web-01"
        );
        assert_eq!(
            request.headers,
            [("content-type".to_string(), CONTENT_TYPE.to_string())]
        );
        let newest: Vec<(String, Table, Vec<FieldInfo>)> = tables(8000)
            .into_iter()
            .map(|(plugin, table)| {
                let fields = fields_of(&schema(), &plugin).to_vec();
                (plugin, table, fields)
            })
            .collect();
        assert_eq!(request.body, exposition(&newest).into_bytes());
        let body = String::from_utf8(request.body).unwrap_or_else(|e| panic!("{e}"));
        let expected = [
            "# HELP glint_network_info Text fields of the network plugin, as labels; the value is always 1.",
            "# TYPE glint_network_info gauge",
            r#"glint_network_info{interface_name="eth0",alias="up \"link\" \\ 1"} 1"#,
            r#"glint_network_info{interface_name="lo",alias="loopback"} 1"#,
            r"# HELP glint_network_bytes_recv_total Bytes received\non the wire.",
            "# TYPE glint_network_bytes_recv_total counter",
            r#"glint_network_bytes_recv_total{interface_name="eth0"} 1000"#,
            r#"glint_network_bytes_recv_total{interface_name="lo"} 5"#,
            "# HELP glint_mem_total_bytes Total memory.",
            "# TYPE glint_mem_total_bytes gauge",
            "glint_mem_total_bytes 8000",
            "# HELP glint_mem_ratio Used memory. Exported as a ratio (1 = 100%).",
            "# TYPE glint_mem_ratio gauge",
            "glint_mem_ratio 0.125",
            "# HELP glint_mem_used_bytes Memory used.",
            "# TYPE glint_mem_used_bytes gauge",
            "glint_mem_used_bytes 3000",
        ]
        .join("\n")
            + "\n";
        assert_eq!(body, expected);
        // The Pushgateway overwrites (and then finds duplicates of) labels its grouping key
        // sets: the page has none.
        assert!(
            !body.contains("job=") && !body.contains("instance="),
            "{body}"
        );
        assert!(push_request(&target(), &schema(), &[]).is_none());
        let empty_newest = [batch(1, tables(1)), batch(2, Vec::new())];
        assert!(push_request(&target(), &schema(), &empty_newest).is_none());
    }

    #[test]
    fn settings_defaults_credentials_and_refusals() {
        assert_eq!(
            target(),
            Target {
                url: "http://127.0.0.1:9091".into(),
                job: "glint".into(),
                auth: None,
                tags: Vec::new(),
            }
        );
        let url = ("url", ConfigValue::Text(" http://pg:9091 ".into()));
        let t = Target::from_settings(&settings(&[
            url.clone(),
            ("job", ConfigValue::Text("hosts".into())),
            ("user", ConfigValue::Text("u".into())),
            ("password", ConfigValue::Text("p".into())),
            ("tags", ConfigValue::Text("dc:eu".into())),
        ]))
        .unwrap_or_else(|e| panic!("{e:?}"));
        let request = push_request(&t, &schema(), &[batch(1, tables(1))])
            .unwrap_or_else(|| panic!("no request"));
        assert_eq!(
            request.url,
            "http://pg:9091/metrics/job/hosts/instance/web-01/dc/eu"
        );
        assert!(
            request
                .headers
                .contains(&("authorization".to_string(), "Basic dTpw".to_string())),
            "{:?}",
            request.headers
        );
        let refused = |entries: &[(&str, ConfigValue)], needle: &str| match Target::from_settings(
            &settings(entries),
        ) {
            Err(ExportError::Permanent(m)) => assert!(m.contains(needle), "{m}"),
            other => panic!("{other:?}"),
        };
        refused(&[], "`url`");
        refused(
            &[url.clone(), ("job", ConfigValue::Text(" ".into()))],
            "`job`",
        );
        for tag in ["instance:x", "job:x", "__name__:x", "a-b:x", "1a:x"] {
            refused(
                &[url.clone(), ("tags", ConfigValue::Text(tag.into()))],
                "tag",
            );
        }
    }
}
