//! quicklook: CPU (total and per CPU), memory, swap and load at a glance, with the CPU's
//! name, frequency and core counts (Glances' `quicklook` plugin).

use glint_sdk::cpu::{percentages, total};
use glint_sdk::prelude::*;
use glint_sdk::readings::CpuTimes;

#[derive(Default)]
struct Quicklook {
    /// The previous tick's CPU times, all CPUs together and per CPU.
    previous_total: Option<CpuTimes>,
    previous_per_cpu: Vec<CpuTimes>,
}

impl InputPlugin for Quicklook {
    fn info() -> PluginInfo {
        let pct = |name: &str, desc: &str| field(name, Unit::Percent, desc);
        plugin(
            "quicklook",
            "CPU, memory, swap and load at a glance",
            Layout::Record,
        )
        .field(field("cpu_name", Unit::Text, "CPU model name."))
        .field(field(
            "cpu_hz_current",
            Unit::Hertz,
            "Current CPU frequency, averaged over CPUs (none when unknown).",
        ))
        .field(field(
            "cpu_hz",
            Unit::Hertz,
            "Maximum CPU frequency (none when unknown).",
        ))
        .field(pct("cpu", "CPU use, all CPUs together.").history())
        .field(pct("percpu", "CPU use of each CPU, in CPU order."))
        .field(pct("mem", "Memory use: (total - available) / total.").history())
        .field(pct("swap", "Swap use.").history())
        .field(pct("load", "1-minute load average per logical core.").history())
        .field(field("cpu_log_core", Unit::Number, "Logical CPUs."))
        .field(field("cpu_phys_core", Unit::Number, "Physical cores."))
    }

    fn update(&mut self, _tick: &Tick) -> Result<Table, String> {
        let info = readings::get_cpu_info();
        let stats = readings::get_cpu_stats();
        let memory = readings::get_memory();
        let swap = readings::get_swap();
        let load = readings::get_load();

        let cpu = total(&percentages(self.previous_total.as_ref(), &stats.total));
        let percpu: Vec<f64> = stats
            .per_cpu
            .iter()
            .enumerate()
            .map(|(i, now)| total(&percentages(self.previous_per_cpu.get(i), now)))
            .collect();
        let logical = if info.logical_cores > 0 {
            info.logical_cores
        } else {
            u32::try_from(stats.per_cpu.len()).unwrap_or(u32::MAX)
        };

        let row = Row::new()
            .set("cpu_name", info.model)
            .set("cpu_hz_current", hz(info.freq_current_mhz))
            .set("cpu_hz", hz(info.freq_max_mhz))
            .set("cpu", cpu)
            .set("percpu", percpu)
            .set("mem", used_percent(memory.total, memory.available))
            .set("swap", percent(swap.used as f64, swap.total as f64))
            .set("load", load_percent(load.min1, logical))
            .set("cpu_log_core", logical)
            .set("cpu_phys_core", info.physical_cores);
        self.previous_total = Some(stats.total);
        self.previous_per_cpu = stats.per_cpu;
        Ok(row.into_table())
    }
}

/// MHz to Hz; none when the frequency is unknown (0).
fn hz(mhz: f64) -> Option<f64> {
    (mhz > 0.0).then_some(mhz * 1e6)
}

/// Memory in use as the mem plugin counts it: what is not available.
fn used_percent(total: u64, available: u64) -> f64 {
    percent(total.saturating_sub(available) as f64, total as f64)
}

/// The 1-minute load average as a percentage of the logical cores.
fn load_percent(min1: f64, logical_cores: u32) -> f64 {
    percent(min1, f64::from(logical_cores))
}

glint_sdk::export_input!(Quicklook);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frequencies_in_hertz() {
        assert_eq!(hz(2400.0), Some(2.4e9));
        assert_eq!(hz(0.0), None);
    }

    #[test]
    fn memory_percent_counts_what_is_not_available() {
        assert_eq!(used_percent(1000, 250), 75.0);
        assert_eq!(used_percent(0, 0), 0.0);
        assert_eq!(used_percent(100, 200), 0.0);
    }

    #[test]
    fn load_per_logical_core() {
        assert_eq!(load_percent(1.0, 4), 25.0);
        assert_eq!(load_percent(0.333, 2), 16.7);
        assert_eq!(load_percent(1.0, 0), 0.0);
    }
}
