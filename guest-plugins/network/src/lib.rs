//! network: per-interface state, link speed and traffic counters reported as deltas, raw
//! counters and rates (Glances 4's `network` plugin).

use glint_sdk::counter;
use glint_sdk::prelude::*;

#[derive(Default)]
struct Network {
    rates: Rates,
}

/// Link speeds are read in Mbit/s. Glances multiplies by 2^20 (psutil's "MB"), and clients
/// compare against its numbers, so glint does the same.
const BITS_PER_MBIT: u64 = 1_048_576;

/// Link speed in bit/s; 0 when unknown (the reading is 0 then too).
fn speed_bps(speed_mbps: u64) -> u64 {
    speed_mbps.saturating_mul(BITS_PER_MBIT)
}

impl InputPlugin for Network {
    fn info() -> PluginInfo {
        let bytes = |name: &str, desc: &str| field(name, Unit::Bytes, desc).rate();
        let count = |name: &str, desc: &str| field(name, Unit::Number, desc).rate();
        plugin("network", "Network interfaces traffic", Layout::List)
            .field(field("interface_name", Unit::Text, "Interface name."))
            .field(field(
                "alias",
                Unit::Text,
                "Interface alias name (optional).",
            ))
            .field(field("is_up", Unit::None, "Is the interface up?"))
            .field(field(
                "speed",
                Unit::Bits,
                "Maximum interface speed in bit per second (0 when unknown).",
            ))
            .field(field(
                "time_since_update",
                Unit::Seconds,
                "Seconds since the previous update.",
            ))
            .field(bytes("bytes_recv", "Bytes received.").history())
            .field(bytes("bytes_sent", "Bytes sent.").history())
            .field(bytes("bytes_all", "Bytes received and sent."))
            .field(count("packets_recv", "Packets received."))
            .field(count("packets_sent", "Packets sent."))
            .field(count("errin", "Errors while receiving."))
            .field(count("errout", "Errors while sending."))
            .field(count("dropin", "Incoming packets dropped."))
            .field(count("dropout", "Outgoing packets dropped."))
    }

    fn update(&mut self, tick: &Tick) -> Result<Table, String> {
        let interfaces = readings::get_network();
        let mut rows = Rows::new(Some("interface_name"));
        for i in &interfaces {
            let mut row = Row::new()
                .set("interface_name", i.name.as_str())
                .set("alias", Value::None)
                .set("is_up", i.is_up)
                .set("speed", speed_bps(i.speed_mbps));
            self.rates.push(
                &mut row,
                &i.name,
                tick,
                &[
                    counter!("bytes_recv", i.bytes_recv),
                    counter!("bytes_sent", i.bytes_sent),
                    counter!("bytes_all", i.bytes_recv.saturating_add(i.bytes_sent)),
                    counter!("packets_recv", i.packets_recv),
                    counter!("packets_sent", i.packets_sent),
                    counter!("errin", i.errors_in),
                    counter!("errout", i.errors_out),
                    counter!("dropin", i.drops_in),
                    counter!("dropout", i.drops_out),
                ],
            );
            rows.push(row);
        }
        Ok(rows.into_table())
    }
}

glint_sdk::export_input!(Network);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speed_is_in_bits_per_second() {
        assert_eq!(speed_bps(0), 0);
        assert_eq!(speed_bps(1_000), 1_048_576_000);
        assert_eq!(speed_bps(u64::MAX), u64::MAX);
    }

    fn tick(seq: u64, secs: u64) -> Tick {
        Tick {
            seq,
            unix_nanos: 0,
            monotonic_nanos: secs * 1_000_000_000,
        }
    }

    #[test]
    fn bytes_all_is_a_rate_of_received_plus_sent() {
        let mut rates = Rates::new();
        let push = |rates: &mut Rates, t: &Tick, recv: u64, sent: u64| {
            let mut row = Row::new();
            rates.push(
                &mut row,
                "eth0",
                t,
                &[counter!("bytes_all", recv.saturating_add(sent))],
            );
            row
        };
        push(&mut rates, &tick(1, 10), 1_000, 500);
        let row = push(&mut rates, &tick(2, 12), 1_400, 700);
        assert_eq!(row.get("bytes_all").and_then(Value::as_f64), Some(600.0));
        assert_eq!(
            row.get("bytes_all_gauge").and_then(Value::as_f64),
            Some(2_100.0)
        );
        assert_eq!(
            row.get("bytes_all_rate_per_sec").and_then(Value::as_f64),
            Some(300.0)
        );
    }
}
