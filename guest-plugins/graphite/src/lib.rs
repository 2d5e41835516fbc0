//! graphite: the exporter that sends every numeric stat to Graphite (Carbon) in its
//! plaintext protocol over TCP, as Glances' `graphite` export.
//!
//! Settings (`[plugins.graphite]`):
//! - `url` (required): `tcp://host:port` or just `host:port` (Carbon's plaintext port is
//!   2003); glint grants this plugin exactly this destination.
//! - `prefix` (default `glint`): the first part of every name (it may hold dots:
//!   `servers.web`); an empty one is left out.
//! - `tags` (default none): Glances' `k:v,k2:v2`, sent as Graphite 1.1 tags
//!   (`name;k=v;k2=v2`). A Carbon without a tag database (before 1.1, or with tags off)
//!   takes them as part of the name, so leave them unset there.
//!
//! Each export opens one connection, writes one line per numeric cell of every batch
//! (oldest first: Graphite stores points at their own time, so a replay fills the gap) and
//! closes its sending half: `<prefix>.<host>.<plugin>[.<key>].<field> <value> <unix
//! seconds>\n`, e.g. `glint.box.network.eth0.bytes_recv 1000 1700000000`. Text and list
//! cells are left out (Graphite stores numbers only), booleans are 0 and 1. Carbon answers
//! nothing: a connection or write that fails is retried later, a written batch is
//! delivered.

use std::fmt::Write as _;
use std::io::{ErrorKind, Write as _};
use std::net::{Shutdown, SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

use glint_sdk::export::{
    Settings, decimal_text, dotted_name, points, sanitized, socket_error, socket_target,
    unix_seconds,
};
use glint_sdk::{Batch, ExportError, ExporterPlugin, PluginInfo, Schema};

const NAME: &str = "graphite";

/// What messages call the target.
const WHAT: &str = "Graphite";

/// Longest wait to connect, and for each write: an export must end well within the host's
/// deadline for the call (which kills it), so a silent Carbon is a retry, not a trap.
const TIMEOUT: Duration = Duration::from_secs(5);

/// Graphite reserves the tag `name` for the series' name itself.
const RESERVED_TAG: &str = "name";

#[derive(Default)]
struct Graphite;

impl ExporterPlugin for Graphite {
    fn info() -> PluginInfo {
        glint_sdk::exporter(
            NAME,
            "Sends numeric stats to Graphite in its plaintext protocol over TCP (Glances' graphite export)",
        )
    }

    fn export(&mut self, schema: &[Schema], batches: &[Batch]) -> Result<(), ExportError> {
        let settings = Settings::load();
        let address = socket_target(&settings, NAME, "tcp", "Carbon's plaintext port is 2003")?;
        let prefix = settings.name_prefix();
        let text = format(&prefix, &settings.tags(), schema, batches);
        if text.is_empty() {
            return Ok(());
        }
        send(&address, text.as_bytes())
    }
}

glint_sdk::export_exporter!(Graphite);

/// Every numeric cell of every batch as a plaintext line,
/// `<prefix>.<host>.<plugin>[.<key>].<field>[;tag=value...] <value> <unix seconds>\n`.
fn format(prefix: &str, tags: &[(String, String)], schema: &[Schema], batches: &[Batch]) -> String {
    let suffix: String = tags
        .iter()
        .map(|(k, v)| (tag_part(k), tag_part(v)))
        .filter(|(k, _)| k != RESERVED_TAG)
        .map(|(k, v)| format!(";{k}={v}"))
        .collect();
    let mut out = String::new();
    for batch in batches {
        let seconds = unix_seconds(batch);
        for point in points(schema, batch) {
            let _ = writeln!(
                out,
                "{}{suffix} {} {seconds}",
                dotted_name(prefix, &batch.hostname, &point),
                decimal_text(point.value)
            );
        }
    }
    out
}

/// A tag name or value as Graphite takes it in a plaintext line: no `;`, `=`, `!`, `^` or
/// `~` (its tag syntax), no space (the line's separator), nothing outside ASCII (Graphite
/// warns it is untested): letters, digits, `_`, `-` and `.` are kept, any other char is
/// `_`, and an empty text is `_`.
fn tag_part(text: &str) -> String {
    sanitized(text, &['_', '-', '.'])
}

/// Writes `text` over one connection and closes its sending half, so Carbon reads to the
/// end and nothing is left unsent in a buffer.
fn send(address: &str, text: &[u8]) -> Result<(), ExportError> {
    let failed = |doing: &str, e| socket_error(WHAT, address, doing, e);
    let mut stream = connect(address).map_err(|e| failed("connecting", e))?;
    // Best effort: without one a write blocks until the host's deadline ends the call.
    let _ = stream.set_write_timeout(Some(TIMEOUT));
    stream
        .write_all(text)
        .and_then(|()| stream.flush())
        .map_err(|e| failed("writing", e))?;
    stream
        .shutdown(Shutdown::Write)
        .map_err(|e| failed("closing", e))
}

/// A connection to the first address of `address` that answers.
fn connect(address: &str) -> std::io::Result<TcpStream> {
    let mut last = None;
    for addr in address.to_socket_addrs()? {
        match connect_one(&addr) {
            Ok(stream) => return Ok(stream),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| {
        std::io::Error::new(ErrorKind::NotFound, "the name resolves to no address")
    }))
}

/// `connect_timeout` where the platform has it, `connect` where it does not. On wasip2 a
/// `connect_timeout` may report success for a connection the host refused: only a
/// connected socket has a peer address, so that is checked.
fn connect_one(addr: &SocketAddr) -> std::io::Result<TcpStream> {
    let stream = match TcpStream::connect_timeout(addr, TIMEOUT) {
        Err(e) if e.kind() == ErrorKind::Unsupported => TcpStream::connect(addr)?,
        other => other?,
    };
    stream.peer_addr()?;
    Ok(stream)
}

#[cfg(test)]
mod tests {
    use super::*;
    use glint_sdk::{Table, Unit, Value, field};

    fn batches() -> (Vec<Schema>, Vec<Batch>) {
        let network = Table {
            key: Some("interface_name".into()),
            columns: vec![
                "interface_name".into(),
                "alias".into(),
                "bytes_recv".into(),
                "is_up".into(),
                "time_since_update".into(),
            ],
            rows: vec![vec![
                Value::Text("wlan 0".into()),
                Value::Text("home".into()),
                Value::Uint(1000),
                Value::Boolean(true),
                Value::Float(2.0),
            ]],
        };
        let load = Table {
            key: None,
            columns: vec!["min1".into(), "cpucore".into(), "delta".into()],
            rows: vec![vec![Value::Float(0.25), Value::Int(8), Value::Int(-2)]],
        };
        let schema = vec![Schema {
            plugin: "network".into(),
            fields: vec![field("bytes_recv", Unit::Bytes, "")],
        }];
        let first = Batch {
            seq: 1,
            unix_nanos: 1_700_000_000_900_000_000,
            hostname: "my.box".into(),
            tables: vec![("network".into(), network), ("load".into(), load.clone())],
        };
        let second = Batch {
            seq: 2,
            unix_nanos: 1_700_000_002_000_000_000,
            hostname: "my.box".into(),
            tables: vec![("load".into(), load)],
        };
        (schema, vec![first, second])
    }

    #[test]
    fn lines_of_every_batch_with_its_own_seconds() {
        let (schema, batches) = batches();
        assert_eq!(
            format("glint", &[], &schema, &batches),
            "glint.my_box.network.wlan_0.bytes_recv 1000 1700000000\n\
             glint.my_box.network.wlan_0.is_up 1 1700000000\n\
             glint.my_box.load.min1 0.25 1700000000\n\
             glint.my_box.load.cpucore 8 1700000000\n\
             glint.my_box.load.delta -2 1700000000\n\
             glint.my_box.load.min1 0.25 1700000002\n\
             glint.my_box.load.cpucore 8 1700000002\n\
             glint.my_box.load.delta -2 1700000002\n"
        );
    }

    #[test]
    fn tags_are_appended_sanitized() {
        let (schema, batches) = batches();
        let tags = vec![
            ("dc".to_string(), "eu west;1".to_string()),
            ("name".to_string(), "x".to_string()),
            ("rack=".to_string(), "r~4".to_string()),
        ];
        let text = format("servers.web", &tags, &schema, &batches[1..]);
        assert_eq!(
            text.lines().next(),
            Some("servers.web.my_box.load.min1;dc=eu_west_1;rack_=r_4 0.25 1700000002")
        );
    }
}
