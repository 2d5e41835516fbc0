//! statsd: the exporter that sends every numeric stat of the newest batch to StatsD as
//! gauges over UDP, as Glances' `statsd` export.
//!
//! Settings (`[plugins.statsd]`):
//! - `url` (required): `udp://host:port` or just `host:port` (StatsD's port is 8125); glint
//!   grants this plugin exactly this destination.
//! - `prefix` (default `glint`): the first part of every name (it may hold dots); an empty
//!   one is left out.
//! - `tags`: not sent. StatsD's protocol has no tags (DogStatsD's `|#k:v` is an extension
//!   the etsy daemon counts as a bad line), so configured tags are ignored, with a warning.
//!
//! Each numeric cell is one gauge line, `<prefix>.<host>.<plugin>[.<key>].<field>:<value>|g`
//! (the names Graphite gets: `glint.box.network.eth0.bytes_recv:1000|g`), the lines joined
//! with `\n` into datagrams of at most [`MAX_DATAGRAM`] bytes. Text and list cells are left
//! out, booleans are 0 and 1. UDP has no answer: a send that fails is retried later, a sent
//! batch is delivered.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs, UdpSocket};
use std::time::Duration;

use glint_sdk::export::{Settings, decimal_text, dotted_name, points, socket_error, socket_target};
use glint_sdk::input::glint::plugin::log::Level;
use glint_sdk::{Batch, ExportError, ExporterPlugin, PluginInfo, Schema};

const NAME: &str = "statsd";

/// What messages call the target.
const WHAT: &str = "StatsD";

/// Largest datagram sent, in bytes: a 1500-byte Ethernet MTU less the largest IPv4 header
/// (60, options included; IPv6's is 40) and the UDP header (8), StatsD's own recommendation
/// for a LAN. A datagram past the path's MTU is fragmented, and losing any fragment loses
/// every gauge in it.
const MAX_DATAGRAM: usize = 1432;

/// Longest wait for one send: an export must end well within the host's deadline for the
/// call (which kills it). A UDP send seldom blocks at all.
const TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Default)]
struct Statsd {
    /// Whether the warning that tags are not sent was logged (once is enough).
    warned_tags: bool,
}

impl ExporterPlugin for Statsd {
    fn info() -> PluginInfo {
        glint_sdk::exporter(
            NAME,
            "Sends numeric stats to StatsD as gauges over UDP (Glances' statsd export)",
        )
    }

    fn export(&mut self, schema: &[Schema], batches: &[Batch]) -> Result<(), ExportError> {
        let settings = Settings::load();
        let address = socket_target(&settings, NAME, "udp", "StatsD's port is 8125")?;
        let prefix = settings.name_prefix();
        if !self.warned_tags && !settings.tags().is_empty() {
            self.warned_tags = true;
            glint_sdk::log(
                Level::Warn,
                "`tags` are not sent: StatsD's protocol has none (they are ignored)",
            );
        }
        // StatsD has no timestamps: every value is taken as of now, and a gauge keeps only
        // its last one. Of a replay (several batches, kept while StatsD was unreachable),
        // the older values would only be overwritten by the newest before StatsD flushes
        // them, so only the newest batch is sent.
        let Some(newest) = batches.last() else {
            return Ok(());
        };
        let grams = datagrams(&prefix, schema, newest);
        if grams.is_empty() {
            return Ok(());
        }
        send(&address, &grams)
    }
}

glint_sdk::export_exporter!(Statsd);

/// The gauges of `batch`, one line each, packed into datagrams of at most
/// [`MAX_DATAGRAM`] bytes; a line is never split, and one longer than that goes alone.
///
/// A leading sign makes a gauge line a change (`-5` subtracts 5), so a negative value is
/// set as StatsD's docs say: to 0, then changed by the value (`name:0|g\nname:-5|g`). The
/// two lines stay in one datagram: apart, the second could arrive first.
fn datagrams(prefix: &str, schema: &[Schema], batch: &Batch) -> Vec<String> {
    let mut grams = Vec::new();
    let mut current = String::new();
    for point in points(schema, batch) {
        let name = dotted_name(prefix, &batch.hostname, &point);
        // `-0.0 < 0.0` is false: a negative zero is written as `0`.
        let lines = if point.value < 0.0 {
            format!("{name}:0|g\n{name}:{}|g", decimal_text(point.value))
        } else {
            format!("{name}:{}|g", decimal_text(point.value))
        };
        if !current.is_empty() && current.len() + 1 + lines.len() > MAX_DATAGRAM {
            grams.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push('\n');
        }
        current.push_str(&lines);
    }
    if !current.is_empty() {
        grams.push(current);
    }
    grams
}

/// Sends each datagram to `address` from an ephemeral port. Gauges keep only their last
/// value, so a retry after a send that failed halfway resends the first datagrams harmlessly.
fn send(address: &str, grams: &[String]) -> Result<(), ExportError> {
    let failed = |doing: &str, e| socket_error(WHAT, address, doing, e);
    let target: SocketAddr = address
        .to_socket_addrs()
        .map_err(|e| failed("resolving", e))?
        .next()
        .ok_or_else(|| {
            ExportError::Retryable(format!(
                "{WHAT} at {address}: the name resolves to no address"
            ))
        })?;
    let any = match target {
        SocketAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        SocketAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    };
    let socket = UdpSocket::bind(SocketAddr::new(any, 0)).map_err(|e| failed("binding", e))?;
    // Best effort: a send does not block in practice, so a socket without one still sends.
    let _ = socket.set_write_timeout(Some(TIMEOUT));
    for gram in grams {
        socket
            .send_to(gram.as_bytes(), target)
            .map_err(|e| failed("sending", e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use glint_sdk::{Table, Value};

    fn batch(rows: Vec<Vec<Value>>) -> Batch {
        let network = Table {
            key: Some("interface_name".into()),
            columns: vec![
                "interface_name".into(),
                "alias".into(),
                "bytes_recv".into(),
                "is_up".into(),
                "time_since_update".into(),
            ],
            rows,
        };
        let sensors = Table {
            key: None,
            columns: vec!["value".into(), "offset".into(), "zero".into()],
            rows: vec![vec![Value::Float(41.5), Value::Int(-5), Value::Float(-0.0)]],
        };
        Batch {
            seq: 1,
            unix_nanos: 1_700_000_000_000_000_000,
            hostname: "my.box".into(),
            tables: vec![("network".into(), network), ("sensors".into(), sensors)],
        }
    }

    fn row(name: &str) -> Vec<Value> {
        vec![
            Value::Text(name.into()),
            Value::Text("home".into()),
            Value::Uint(1000),
            Value::Boolean(false),
            Value::Float(2.0),
        ]
    }

    #[test]
    fn gauges_with_negative_values_set_in_two_lines() {
        let grams = datagrams("glint", &[], &batch(vec![row("eth 0")]));
        assert_eq!(
            grams,
            ["glint.my_box.network.eth_0.bytes_recv:1000|g\n\
              glint.my_box.network.eth_0.is_up:0|g\n\
              glint.my_box.sensors.value:41.5|g\n\
              glint.my_box.sensors.offset:0|g\n\
              glint.my_box.sensors.offset:-5|g\n\
              glint.my_box.sensors.zero:0|g"]
        );
    }

    #[test]
    fn datagrams_stay_under_the_limit_without_splitting_a_line() {
        let rows: Vec<Vec<Value>> = (0..100).map(|i| row(&format!("if{i}"))).collect();
        let grams = datagrams("", &[], &batch(rows));
        assert!(grams.len() > 1, "{} datagram(s)", grams.len());
        let mut lines = 0;
        for gram in &grams {
            assert!(gram.len() <= MAX_DATAGRAM, "{} bytes", gram.len());
            for line in gram.lines() {
                lines += 1;
                assert!(
                    line.starts_with("my_box.") && line.ends_with("|g"),
                    "{line}"
                );
            }
        }
        // 100 interfaces × 2 gauges, then 3 sensors values of which one is set in two lines.
        assert_eq!(lines, 204);
        // A negative value's two lines are in the same datagram.
        assert!(
            grams
                .iter()
                .any(|g| g.contains("offset:0|g\nmy_box.sensors.offset:-5|g")),
            "{grams:?}"
        );
    }

    #[test]
    fn a_line_longer_than_a_datagram_goes_alone() {
        let long = "x".repeat(MAX_DATAGRAM);
        let grams = datagrams("glint", &[], &batch(vec![row(&long)]));
        assert_eq!(grams.len(), 3, "{grams:?}");
        assert!(grams[0].ends_with(".bytes_recv:1000|g") && !grams[0].contains('\n'));
        assert!(grams[1].ends_with(".is_up:0|g") && !grams[1].contains('\n'));
    }
}
