//! Counter rates Glances 4's way: for a cumulative counter `f`, the delta since the previous
//! update (`f`), the raw counter (`f_gauge`) and the rate (`f_rate_per_sec`), plus
//! `time_since_update`.

use std::collections::HashMap;

use crate::Tick;
use crate::table::Row;

/// The previous counters of each item (row key), kept by the plugin between ticks.
#[derive(Debug, Default)]
pub struct Rates {
    previous: HashMap<String, Previous>,
    /// The tick whose values `previous` was last swept for: items gone since are dropped.
    last_seq: u64,
}

#[derive(Debug)]
struct Previous {
    seq: u64,
    monotonic_nanos: u64,
    counters: Vec<u64>,
}

/// One counter to report: its column stem and its raw value. The stems are `&'static` so a
/// row's column names cost nothing to build.
pub type Counter = (&'static str, &'static str, &'static str, u64);

/// Names the three columns of a counter: `counter!("bytes_recv", v)`.
#[macro_export]
macro_rules! counter {
    ($name:literal, $value:expr) => {
        (
            $name,
            concat!($name, "_gauge"),
            concat!($name, "_rate_per_sec"),
            $value,
        )
    };
}

impl Rates {
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends `time_since_update` then, for each counter, `<f>`, `<f>_gauge` and
    /// `<f>_rate_per_sec` to `row`. On an item's first tick the delta and the rate are none
    /// (there is nothing to compare with); a counter that went backwards (a reset) gives
    /// none too rather than a huge bogus delta.
    pub fn push(&mut self, row: &mut Row, item: &str, tick: &Tick, counters: &[Counter]) {
        if tick.seq != self.last_seq {
            // Forget items that did not show up on the previous tick (an unplugged
            // interface, an exited process) so the map does not grow without bound.
            let keep_from = self.last_seq;
            self.previous.retain(|_, p| p.seq >= keep_from);
            self.last_seq = tick.seq;
        }
        let previous = self.previous.get(item);
        let elapsed =
            previous.map(|p| tick.monotonic_nanos.saturating_sub(p.monotonic_nanos) as f64 / 1e9);
        row.push("time_since_update", elapsed.unwrap_or(0.0));
        for (i, (name, gauge, rate, value)) in counters.iter().enumerate() {
            let delta = previous
                .and_then(|p| p.counters.get(i))
                .and_then(|old| value.checked_sub(*old));
            row.push(name, delta);
            row.push(gauge, *value);
            let per_sec = match (delta, elapsed) {
                (Some(d), Some(secs)) if secs > 0.0 => Some(d as f64 / secs),
                _ => None,
            };
            row.push(rate, per_sec);
        }
        self.previous.insert(
            item.to_string(),
            Previous {
                seq: tick.seq,
                monotonic_nanos: tick.monotonic_nanos,
                counters: counters.iter().map(|c| c.3).collect(),
            },
        );
    }
}
