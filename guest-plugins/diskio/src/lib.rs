//! diskio: per-disk I/O counters reported as deltas, raw counters and rates, plus the mean
//! read and write latency over the last interval (Glances 4's `diskio` plugin).

use glint_sdk::counter;
use glint_sdk::prelude::*;

#[derive(Default)]
struct DiskIo {
    rates: Rates,
}

/// Milliseconds per operation over an interval: the time spent divided by the operations
/// done; 0 when there were none or when there is no previous reading (first tick, reset).
fn latency(delta_ms: Option<f64>, delta_ops: Option<f64>) -> f64 {
    match (delta_ms, delta_ops) {
        (Some(ms), Some(ops)) if ops > 0.0 => ms / ops,
        _ => 0.0,
    }
}

/// The latency from a row whose delta columns `time` and `count` `Rates::push` has set.
fn row_latency(row: &Row, time: &str, count: &str) -> f64 {
    let delta = |column: &str| row.get(column).and_then(Value::as_f64);
    latency(delta(time), delta(count))
}

impl InputPlugin for DiskIo {
    fn info() -> PluginInfo {
        let rate = |name: &str, unit: Unit, desc: &str| field(name, unit, desc).rate();
        let ms = |name: &str, desc: &str| field(name, Unit::Milliseconds, desc);
        plugin("diskio", "Disks I/O", Layout::List)
            .field(field("disk_name", Unit::Text, "Disk name."))
            .field(field(
                "time_since_update",
                Unit::Seconds,
                "Seconds since the previous update.",
            ))
            .field(rate("read_count", Unit::Number, "Number of reads."))
            .field(rate("write_count", Unit::Number, "Number of writes."))
            .field(rate("read_bytes", Unit::Bytes, "Number of bytes read.").history())
            .field(rate("write_bytes", Unit::Bytes, "Number of bytes written.").history())
            .field(rate("read_time", Unit::Milliseconds, "Time spent reading."))
            .field(rate(
                "write_time",
                Unit::Milliseconds,
                "Time spent writing.",
            ))
            .field(ms(
                "read_latency",
                "Mean time per read over the last interval.",
            ))
            .field(ms(
                "write_latency",
                "Mean time per write over the last interval.",
            ))
    }

    fn update(&mut self, tick: &Tick) -> Result<Table, String> {
        let disks = readings::get_disk_io();
        let mut rows = Rows::new(Some("disk_name"));
        for d in &disks {
            let mut row = Row::new().set("disk_name", d.name.as_str());
            self.rates.push(
                &mut row,
                &d.name,
                tick,
                &[
                    counter!("read_count", d.read_count),
                    counter!("write_count", d.write_count),
                    counter!("read_bytes", d.read_bytes),
                    counter!("write_bytes", d.write_bytes),
                    counter!("read_time", d.read_time),
                    counter!("write_time", d.write_time),
                ],
            );
            let read_latency = row_latency(&row, "read_time", "read_count");
            let write_latency = row_latency(&row, "write_time", "write_count");
            row.push("read_latency", read_latency);
            row.push("write_latency", write_latency);
            rows.push(row);
        }
        Ok(rows.into_table())
    }
}

glint_sdk::export_input!(DiskIo);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_is_time_per_operation() {
        assert_eq!(latency(Some(30.0), Some(12.0)), 2.5);
        assert_eq!(latency(Some(0.0), Some(4.0)), 0.0);
    }

    #[test]
    fn latency_is_zero_without_operations_or_history() {
        assert_eq!(latency(Some(15.0), Some(0.0)), 0.0);
        assert_eq!(latency(None, None), 0.0);
        assert_eq!(latency(Some(15.0), None), 0.0);
    }

    fn tick(seq: u64, secs: u64) -> Tick {
        Tick {
            seq,
            unix_nanos: 0,
            monotonic_nanos: secs * 1_000_000_000,
        }
    }

    fn row(rates: &mut Rates, t: &Tick, time: u64, count: u64) -> Row {
        let mut row = Row::new();
        rates.push(
            &mut row,
            "sda",
            t,
            &[counter!("read_count", count), counter!("read_time", time)],
        );
        row
    }

    #[test]
    fn latency_uses_the_deltas_rates_emits() {
        let mut rates = Rates::new();
        let first = row(&mut rates, &tick(1, 0), 1_000, 100);
        assert_eq!(row_latency(&first, "read_time", "read_count"), 0.0);
        // +40 ms over +8 reads.
        let second = row(&mut rates, &tick(2, 2), 1_040, 108);
        assert_eq!(row_latency(&second, "read_time", "read_count"), 5.0);
    }
}
