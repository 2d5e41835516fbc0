//! memswap: swap usage and the bytes swapped in and out since boot (Glances' `memswap`
//! plugin).

use glint_sdk::prelude::*;

#[derive(Default)]
struct MemSwap {
    /// Monotonic time of the previous update, none before the first.
    previous_nanos: Option<u64>,
}

/// Seconds between two monotonic readings; 0 when there is no previous one.
fn seconds_since(previous_nanos: Option<u64>, now_nanos: u64) -> f64 {
    previous_nanos.map_or(0.0, |p| now_nanos.saturating_sub(p) as f64 / 1e9)
}

impl InputPlugin for MemSwap {
    fn info() -> PluginInfo {
        let bytes = |name: &str, desc: &str| field(name, Unit::Bytes, desc);
        plugin("memswap", "Swap usage", Layout::Record)
            .field(bytes("total", "Total swap space."))
            .field(bytes("used", "Swap space in use."))
            .field(bytes("free", "Swap space not in use."))
            .field(field("percent", Unit::Percent, "Used swap: used / total.").history())
            .field(bytes(
                "sin",
                "Bytes swapped in from disk since boot (cumulative).",
            ))
            .field(bytes(
                "sout",
                "Bytes swapped out to disk since boot (cumulative).",
            ))
            .field(field(
                "time_since_update",
                Unit::Seconds,
                "Seconds since the previous update.",
            ))
    }

    fn update(&mut self, tick: &Tick) -> Result<Table, String> {
        let s = readings::get_swap();
        let elapsed = seconds_since(self.previous_nanos, tick.monotonic_nanos);
        self.previous_nanos = Some(tick.monotonic_nanos);
        Ok(Row::new()
            .set("total", s.total)
            .set("used", s.used)
            .set("free", s.free)
            .set("percent", percent(s.used as f64, s.total as f64))
            .set("sin", s.sin)
            .set("sout", s.sout)
            .set("time_since_update", elapsed)
            .into_table())
    }
}

glint_sdk::export_input!(MemSwap);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_since_update_is_zero_first_then_the_gap() {
        assert_eq!(seconds_since(None, 5_000_000_000), 0.0);
        assert_eq!(seconds_since(Some(1_000_000_000), 3_500_000_000), 2.5);
        // A clock that went backwards gives 0, not a huge number.
        assert_eq!(seconds_since(Some(9), 3), 0.0);
    }
}
