//! cpu: CPU usage in percent of time per mode since the previous tick, and the kernel's
//! context-switch and interrupt counters (Glances' `cpu` plugin).

use glint_sdk::counter;
use glint_sdk::cpu::{percent_fields, push_percentages};
use glint_sdk::prelude::*;
use glint_sdk::readings::CpuTimes;

#[derive(Default)]
struct Cpu {
    previous: Option<CpuTimes>,
    rates: Rates,
}

impl InputPlugin for Cpu {
    fn info() -> PluginInfo {
        let mut info = plugin("cpu", "CPU usage, all CPUs together", Layout::Record);
        info.fields = percent_fields();
        info.field(field("ctx_switches", Unit::Number, "Context switches.").rate())
            .field(field("interrupts", Unit::Number, "Hardware interrupts.").rate())
            .field(field("soft_interrupts", Unit::Number, "Software interrupts.").rate())
            .field(
                field(
                    "syscalls",
                    Unit::Number,
                    "System calls (not counted on Linux).",
                )
                .rate(),
            )
            .field(field("cpucore", Unit::Number, "Logical CPUs."))
            .field(field(
                "time_since_update",
                Unit::Seconds,
                "Seconds since the previous update.",
            ))
    }

    fn update(&mut self, tick: &Tick) -> Result<Table, String> {
        let stats = readings::get_cpu_stats();
        let mut row = Row::new();
        push_percentages(&mut row, self.previous.as_ref(), &stats.total);
        row.push("cpucore", stats.per_cpu.len());
        self.rates.push(
            &mut row,
            "cpu",
            tick,
            &[
                counter!("ctx_switches", stats.ctx_switches),
                counter!("interrupts", stats.interrupts),
                counter!("soft_interrupts", stats.soft_interrupts),
                counter!("syscalls", stats.syscalls),
            ],
        );
        self.previous = Some(stats.total);
        Ok(row.into_table())
    }
}

glint_sdk::export_input!(Cpu);
