//! mem: virtual memory usage, with the running min/max/mean of its percentage (Glances' `mem`
//! plugin).

use glint_sdk::prelude::*;

#[derive(Default)]
struct Mem {
    percent: MinMaxMean,
}

/// Running minimum, maximum and mean of a value over the plugin's lifetime (Glances' "mmm"
/// fields).
#[derive(Debug, Default)]
struct MinMaxMean {
    min: f64,
    max: f64,
    sum: f64,
    count: u64,
}

impl MinMaxMean {
    /// Adds a sample and returns (min, max, mean), the mean rounded to one decimal.
    fn add(&mut self, v: f64) -> (f64, f64, f64) {
        if self.count == 0 {
            self.min = v;
            self.max = v;
        } else {
            self.min = self.min.min(v);
            self.max = self.max.max(v);
        }
        self.sum += v;
        self.count += 1;
        (self.min, self.max, round1(self.sum / self.count as f64))
    }
}

/// psutil's rule: the share of memory that is not available.
fn used_percent(total: u64, available: u64) -> f64 {
    percent(total.saturating_sub(available) as f64, total as f64)
}

impl InputPlugin for Mem {
    fn info() -> PluginInfo {
        let bytes = |name: &str, desc: &str| field(name, Unit::Bytes, desc);
        let pct = |name: &str, desc: &str| field(name, Unit::Percent, desc);
        plugin("mem", "Virtual memory usage", Layout::Record)
            .field(bytes("total", "Total physical memory."))
            .field(bytes(
                "available",
                "Memory that can be given to processes without swapping.",
            ))
            .field(pct("percent", "Used memory: (total - available) / total.").history())
            .field(bytes("used", "Memory used."))
            .field(bytes(
                "free",
                "Memory not used at all (zeroed, readily available).",
            ))
            .field(bytes(
                "active",
                "Memory recently used, not reclaimed unless necessary.",
            ))
            .field(bytes("inactive", "Memory marked as not used."))
            .field(bytes(
                "buffers",
                "Cache for things like file system metadata.",
            ))
            .field(bytes("cached", "Cache for various things."))
            .field(bytes(
                "shared",
                "Memory that may be accessed by several processes.",
            ))
            .field(pct("percent_min", "Lowest `percent` since glint started."))
            .field(pct("percent_max", "Highest `percent` since glint started."))
            .field(pct(
                "percent_mean",
                "Mean of `percent` since glint started.",
            ))
    }

    fn update(&mut self, _tick: &Tick) -> Result<Table, String> {
        let m = readings::get_memory();
        let pct = used_percent(m.total, m.available);
        let (min, max, mean) = self.percent.add(pct);
        Ok(Row::new()
            .set("total", m.total)
            .set("available", m.available)
            .set("percent", pct)
            .set("used", m.used)
            .set("free", m.free)
            .set("active", m.active)
            .set("inactive", m.inactive)
            .set("buffers", m.buffers)
            .set("cached", m.cached)
            .set("shared", m.shared)
            .set("percent_min", min)
            .set("percent_max", max)
            .set("percent_mean", mean)
            .into_table())
    }
}

glint_sdk::export_input!(Mem);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_is_the_unavailable_share() {
        assert_eq!(used_percent(8_000, 6_000), 25.0);
        assert_eq!(used_percent(3, 2), 33.3);
        assert_eq!(used_percent(0, 0), 0.0);
        // A reading where available exceeds total must not underflow.
        assert_eq!(used_percent(100, 200), 0.0);
    }

    #[test]
    fn min_max_mean_run_over_every_sample() {
        let mut mmm = MinMaxMean::default();
        assert_eq!(mmm.add(40.0), (40.0, 40.0, 40.0));
        assert_eq!(mmm.add(20.0), (20.0, 40.0, 30.0));
        assert_eq!(mmm.add(60.0), (20.0, 60.0, 40.0));
        assert_eq!(mmm.add(30.1), (20.0, 60.0, 37.5));
    }
}
