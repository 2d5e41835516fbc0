//! percpu: usage of each CPU in percent of time per mode since the previous tick (Glances'
//! `percpu` plugin).

use glint_sdk::cpu::{percent_fields, push_percentages};
use glint_sdk::prelude::*;
use glint_sdk::readings::CpuTimes;

#[derive(Default)]
struct PerCpu {
    /// Each CPU's times at the previous tick, by CPU number.
    previous: Vec<CpuTimes>,
}

/// One CPU's row: its percentages since `old` (since boot when there is no `old`).
fn cpu_row(number: usize, old: Option<&CpuTimes>, new: &CpuTimes) -> Row {
    let mut row = Row::new().set("cpu_number", number);
    push_percentages(&mut row, old, new);
    row
}

impl InputPlugin for PerCpu {
    fn info() -> PluginInfo {
        let mut info = plugin("percpu", "CPU usage, per CPU", Layout::List).field(field(
            "cpu_number",
            Unit::Number,
            "CPU number, from 0.",
        ));
        info.fields.extend(percent_fields());
        info
    }

    fn update(&mut self, _tick: &Tick) -> Result<Table, String> {
        let stats = readings::get_cpu_stats();
        let mut rows = Rows::new(Some("cpu_number"));
        for (number, times) in stats.per_cpu.iter().enumerate() {
            rows.push(cpu_row(number, self.previous.get(number), times));
        }
        self.previous = stats.per_cpu;
        Ok(rows.into_table())
    }
}

glint_sdk::export_input!(PerCpu);

#[cfg(test)]
mod tests {
    use super::*;

    fn times(user: f64, system: f64, idle: f64, iowait: f64) -> CpuTimes {
        CpuTimes {
            user,
            nice: 0.0,
            system,
            idle,
            iowait,
            irq: 0.0,
            softirq: 0.0,
            steal: 0.0,
            guest: 0.0,
            guest_nice: 0.0,
        }
    }

    fn num(row: &Row, column: &str) -> Option<f64> {
        row.get(column).and_then(Value::as_f64)
    }

    #[test]
    fn percentages_are_since_the_previous_reading() {
        let old = times(100.0, 50.0, 800.0, 50.0);
        // +30 user, +10 system, +50 idle, +10 iowait over 100 s.
        let new = times(130.0, 60.0, 850.0, 60.0);
        let row = cpu_row(3, Some(&old), &new);
        assert_eq!(num(&row, "cpu_number"), Some(3.0));
        assert_eq!(num(&row, "user"), Some(30.0));
        assert_eq!(num(&row, "system"), Some(10.0));
        assert_eq!(num(&row, "idle"), Some(50.0));
        assert_eq!(num(&row, "iowait"), Some(10.0));
        assert_eq!(num(&row, "total"), Some(40.0));
    }

    #[test]
    fn first_reading_is_since_boot() {
        let row = cpu_row(0, None, &times(25.0, 25.0, 50.0, 0.0));
        assert_eq!(num(&row, "user"), Some(25.0));
        assert_eq!(num(&row, "total"), Some(50.0));
    }

    #[test]
    fn an_idle_interval_gives_zero_not_nan() {
        let t = times(1.0, 1.0, 1.0, 1.0);
        let row = cpu_row(0, Some(&t), &t);
        assert_eq!(num(&row, "user"), Some(0.0));
        assert_eq!(num(&row, "idle"), Some(0.0));
        // No time elapsed: nothing was busy (psutil says 0, not 100).
        assert_eq!(num(&row, "total"), Some(0.0));
    }
}
