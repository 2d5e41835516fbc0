//! influx: InfluxDB's line protocol, for the InfluxDB v1 and v2 exporters (and any target
//! that speaks it: VictoriaMetrics, Telegraf's listeners).
//!
//! One line per row: `<prefix>.<plugin>,<tags> <fields> <unix nanos>`. The measurement is
//! the plugin (Glances' convention); the tags are the host, the row's key
//! (`interface_name=eth0`) and the configured ones, sorted by key as InfluxDB recommends
//! (it sorts them itself otherwise, on every write). Every number is a float, as Glances
//! writes them: a column that was an integer in one write and a float in the next (a
//! counter that is a float only once it is a rate, an `int` that a plugin turns into a
//! `float`) would be refused by InfluxDB as a field type conflict.
//!
//! With the `http` feature, the write itself: one POST of the lines, judged as an export.

use std::fmt::Write as _;

use super::{Row, number, rows};
#[cfg(feature = "http")]
use crate::ExportError;
#[cfg(feature = "http")]
use crate::http::Request;
use crate::{Batch, Schema, Value};

/// The line protocol's content type.
pub const CONTENT_TYPE: &str = "text/plain; charset=utf-8";

/// What messages call a line-protocol target.
pub const TARGET: &str = "InfluxDB";

/// InfluxDB refuses a point with a field or tag named `time` (it is the timestamp's column
/// in queries): such a column is left out rather than having the whole write refused.
const RESERVED_KEY: &str = "time";

/// The longest string field value the line protocol documents (64 KiB; InfluxDB 1.8 and
/// later refuse one past 1 MiB, and the write with it). A longer text (a command line, a
/// message) is left out of its line rather than risk the whole write.
const MAX_STRING_FIELD: usize = 64 * 1024;

/// What a backslash escapes in a measurement...
const MEASUREMENT_SPECIAL: &[char] = &[',', ' '];
/// ...and in tag keys, tag values and field keys.
const KEY_SPECIAL: &[char] = &[',', '=', ' '];

/// Every row of every batch (oldest first) as line protocol, one `\n`-ended line each.
///
/// `measurement_prefix` is put before each plugin's name with a dot (none when empty);
/// `tags` are added to every line after the host and the key, which win over a configured
/// tag of the same name (they identify the series, as in Glances). Numbers are written as
/// floats, booleans as `true`/`false`, text as quoted strings; lists and `none` cells are
/// left out, and so is a row left with no field. An empty tag value is left out: InfluxDB
/// refuses it. A field named like one of its line's tags is left out too: InfluxQL could
/// only select it as `name::field`, and the tag carries the same thing (`system`'s
/// `hostname`).
pub fn line_protocol(
    schema: &[Schema],
    batches: &[Batch],
    measurement_prefix: &str,
    tags: &[(String, String)],
) -> String {
    let mut out = String::new();
    for batch in batches {
        for row in rows(schema, batch) {
            write_line(&row, batch, measurement_prefix, tags, &mut out);
        }
    }
    out
}

/// The POST of `lines` to `url` (a write endpoint: InfluxDB 1's `/write`, 2's
/// `/api/v2/write`), with the line protocol's content type.
#[cfg(feature = "http")]
pub fn request(url: &str, lines: &str) -> Request {
    Request::post(url, CONTENT_TYPE, lines.as_bytes().to_vec())
}

/// Writes `lines` to `url` in one [`request`], with what `authorize` adds to it (the
/// credentials), and judges the answer as [`Request::deliver`] does: InfluxDB answers 204
/// to a write it took. Nothing is sent when there is no line.
#[cfg(feature = "http")]
pub fn write(
    url: &str,
    lines: &str,
    authorize: impl Fn(Request) -> Request,
) -> Result<(), ExportError> {
    if lines.is_empty() {
        return Ok(());
    }
    authorize(request(url, lines)).deliver(TARGET).map(|_| ())
}

/// One row's line, or nothing when the row has no field to write.
fn write_line(
    row: &Row<'_>,
    batch: &Batch,
    prefix: &str,
    tags: &[(String, String)],
    out: &mut String,
) {
    let own = std::iter::once(("hostname", batch.hostname.as_str()))
        .chain(row.key.as_ref().map(|(name, key)| (*name, key.as_str())));
    let configured = tags.iter().map(|(k, v)| (k.as_str(), v.as_str()));
    let mut tag_set: Vec<(&str, &str)> = Vec::new();
    for (key, value) in own.chain(configured) {
        if key.is_empty()
            || value.is_empty()
            || key == RESERVED_KEY
            || tag_set.iter().any(|(k, _)| *k == key)
        {
            continue;
        }
        tag_set.push((key, value));
    }
    // Stable: the order InfluxDB keeps a series' tags in (byte order of the key).
    tag_set.sort_by(|a, b| a.0.cmp(b.0));

    let mut fields = String::new();
    for cell in &row.cells {
        if cell.column == RESERVED_KEY || tag_set.iter().any(|(k, _)| *k == cell.column) {
            continue;
        }
        let Some(value) = field_value(cell.value) else {
            continue;
        };
        if !fields.is_empty() {
            fields.push(',');
        }
        escape(cell.column, KEY_SPECIAL, &mut fields);
        fields.push('=');
        fields.push_str(&value);
    }
    if fields.is_empty() {
        return;
    }

    if !prefix.is_empty() {
        escape(prefix, MEASUREMENT_SPECIAL, out);
        out.push('.');
    }
    escape(row.plugin, MEASUREMENT_SPECIAL, out);
    for (key, value) in &tag_set {
        out.push(',');
        escape(key, KEY_SPECIAL, out);
        out.push('=');
        escape(value, KEY_SPECIAL, out);
    }
    out.push(' ');
    out.push_str(&fields);
    let _ = writeln!(out, " {}", batch.unix_nanos);
}

/// A cell as a field value: numbers as floats (Rust's shortest round-trip form, which
/// InfluxDB reads as a float when it has no `i` suffix: `10`, `1.5`), booleans as
/// `true`/`false`, text quoted; none for lists, `none`, non-finite floats (the protocol has
/// no NaN) and text past [`MAX_STRING_FIELD`].
fn field_value(value: &Value) -> Option<String> {
    match value {
        Value::Boolean(b) => Some(if *b { "true" } else { "false" }.to_string()),
        Value::Int(_) | Value::Uint(_) | Value::Float(_) => number(value).map(|f| f.to_string()),
        Value::Text(s) if s.len() <= MAX_STRING_FIELD => Some(quoted(s)),
        Value::Text(_)
        | Value::None
        | Value::TextList(_)
        | Value::IntList(_)
        | Value::FloatList(_) => None,
    }
}

/// A string field value: in double quotes, with `"` and `\` escaped. A newline would end
/// the line for parsers that split lines before reading quotes (VictoriaMetrics does), so
/// line breaks become spaces.
fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A measurement, tag key, tag value or field key with each of `special` escaped by a
/// backslash, as the line-protocol spec says.
///
/// Two things the spec leaves to the writer: a control char (a newline above all) would
/// end or break the line, so it becomes an (escaped) space; and a backslash needs no
/// escape, but InfluxDB's parser takes the char after any backslash as escaped, so one
/// that ends the text (`C:\` before the next `,`) or stands before a special char would
/// swallow a delimiter: such a backslash becomes `_`.
fn escape(text: &str, special: &[char], out: &mut String) {
    let mut chars = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .peekable();
    while let Some(c) = chars.next() {
        if c == '\\' && chars.peek().is_none_or(|next| special.contains(next)) {
            out.push('_');
            continue;
        }
        if special.contains(&c) {
            out.push('\\');
        }
        out.push(c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Table, Unit, field};

    /// A list plugin (network, keyed by interface_name) with a text, an int, a uint, a
    /// float, a boolean, a list, a `none` and time_since_update; a record plugin (cpu).
    fn batch() -> (Vec<Schema>, Batch) {
        let network = Table {
            key: Some("interface_name".into()),
            columns: vec![
                "interface_name".into(),
                "alias".into(),
                "bytes_recv".into(),
                "is_up".into(),
                "rx.rate".into(),
                "delta".into(),
                "time_since_update".into(),
                "addresses".into(),
                "speed".into(),
            ],
            rows: vec![
                vec![
                    Value::Text("eth 0".into()),
                    Value::Text("up\"link\\".into()),
                    Value::Uint(10),
                    Value::Boolean(true),
                    Value::Float(1.5),
                    Value::Int(-3),
                    Value::Float(2.0),
                    Value::TextList(vec!["10.0.0.1".into()]),
                    Value::None,
                ],
                // Nothing but a list and a none: no field, no line.
                vec![
                    Value::Text("lo".into()),
                    Value::Float(f64::NAN),
                    Value::None,
                    Value::None,
                    Value::None,
                    Value::None,
                    Value::Float(2.0),
                    Value::TextList(vec![]),
                    Value::None,
                ],
            ],
        };
        let cpu = Table {
            key: None,
            columns: vec!["total".into(), "ctx_switches".into()],
            rows: vec![vec![Value::Float(12.25), Value::Int(100)]],
        };
        let schema = vec![
            Schema {
                plugin: "network".into(),
                fields: vec![
                    field("alias", Unit::Text, ""),
                    field("bytes_recv", Unit::Bytes, ""),
                ],
            },
            Schema {
                plugin: "cpu".into(),
                fields: vec![field("total", Unit::Percent, "")],
            },
        ];
        let batch = Batch {
            seq: 7,
            unix_nanos: 1_700_000_000_123_456_789,
            hostname: "my host".into(),
            tables: vec![("network".into(), network), ("cpu".into(), cpu)],
        };
        (schema, batch)
    }

    #[test]
    fn rows_become_sorted_escaped_lines_of_floats() {
        let (schema, batch) = batch();
        let tags = vec![
            ("rack".to_string(), "r,1".to_string()),
            ("dc".to_string(), "eu west".to_string()),
        ];
        let text = line_protocol(&schema, &[batch], "glint", &tags);
        assert_eq!(
            text,
            concat!(
                r#"glint.network,dc=eu\ west,hostname=my\ host,interface_name=eth\ 0,rack=r\,1 "#,
                r#"alias="up\"link\\",bytes_recv=10,is_up=true,rx.rate=1.5,delta=-3 "#,
                "1700000000123456789\n",
                r#"glint.cpu,dc=eu\ west,hostname=my\ host,rack=r\,1 "#,
                "total=12.25,ctx_switches=100 1700000000123456789\n",
            )
        );
    }

    #[test]
    fn every_batch_is_written_with_its_own_time_and_no_prefix_means_the_plugin() {
        let (schema, first) = batch();
        let mut second = first.clone();
        second.unix_nanos += 2_000_000_000;
        second.tables.retain(|(plugin, _)| plugin == "cpu");
        let text = line_protocol(&schema, &[first, second], "", &[]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(
            lines[2],
            r#"cpu,hostname=my\ host total=12.25,ctx_switches=100 1700000002123456789"#
        );
        assert!(lines[0].starts_with("network,hostname="), "{}", lines[0]);
    }

    #[test]
    fn tags_the_target_would_refuse_are_left_out() {
        let table = Table {
            key: Some("label".into()),
            columns: vec![
                "label".into(),
                "hostname".into(),
                "time".into(),
                "a b=c,d".into(),
            ],
            rows: vec![vec![
                Value::Text(String::new()),
                Value::Text("other".into()),
                Value::Int(1),
                Value::Uint(5),
            ]],
        };
        let batch = Batch {
            seq: 1,
            unix_nanos: 5,
            hostname: "box".into(),
            tables: vec![("sensors".into(), table)],
        };
        let tags = vec![
            ("hostname".to_string(), "spoofed".to_string()),
            ("zone".to_string(), String::new()),
            ("time".to_string(), "x".to_string()),
            ("path".to_string(), "C:\\".to_string()),
        ];
        // The empty key and the empty configured tag are left out, the configured
        // `hostname` loses to the batch's, `time` is neither tag nor field, the `hostname`
        // field goes with the tag of that name, the trailing backslash cannot escape `,`.
        assert_eq!(
            line_protocol(&[], &[batch], "my pre,fix", &tags),
            "my\\ pre\\,fix.sensors,hostname=box,path=C:_ a\\ b\\=c\\,d=5 5\n"
        );
    }

    #[cfg(feature = "http")]
    #[test]
    fn a_write_is_a_post_of_line_protocol() {
        let r = request("http://h:8086/write?db=x", "cpu total=1 5\n");
        assert_eq!(r.method, "POST");
        assert_eq!(r.url, "http://h:8086/write?db=x");
        assert_eq!(
            r.headers,
            [("content-type".to_string(), CONTENT_TYPE.to_string())]
        );
        assert_eq!(r.body, b"cpu total=1 5\n");
        assert!(write("http://h:8086/write", "", |_| panic!("a request was made")).is_ok());
    }

    #[test]
    fn escaping() {
        let esc = |s: &str, special: &[char]| {
            let mut out = String::new();
            escape(s, special, &mut out);
            out
        };
        assert_eq!(esc("a,b c=d", KEY_SPECIAL), r"a\,b\ c\=d");
        assert_eq!(esc("a,b c=d", MEASUREMENT_SPECIAL), r"a\,b\ c=d");
        assert_eq!(esc("two\nlines", KEY_SPECIAL), r"two\ lines");
        assert_eq!(esc(r"a\b", KEY_SPECIAL), r"a\b");
        assert_eq!(esc(r"a\,b", KEY_SPECIAL), r"a_\,b");
        assert_eq!(esc(r"end\", KEY_SPECIAL), "end_");
        assert_eq!(quoted("say \"hi\"\\\n"), r#""say \"hi\"\\ ""#);
        assert_eq!(
            field_value(&Value::Uint(u64::MAX)).as_deref(),
            Some("18446744073709552000")
        );
        assert_eq!(field_value(&Value::Float(f64::INFINITY)), None);
        assert_eq!(
            field_value(&Value::Boolean(false)).as_deref(),
            Some("false")
        );
    }
}
