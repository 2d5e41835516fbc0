//! cpu: CPU usage in percent of time per mode since the previous tick, and the kernel's
//! context-switch and interrupt counters (Glances' `cpu` plugin).

use glint_sdk::counter;
use glint_sdk::cpu::{percentages, total};
use glint_sdk::prelude::*;
use glint_sdk::readings::CpuTimes;

#[derive(Default)]
struct Cpu {
    previous: Option<CpuTimes>,
    rates: Rates,
}

impl InputPlugin for Cpu {
    fn info() -> PluginInfo {
        let pct = |name: &str, desc: &str| field(name, Unit::Percent, desc);
        plugin("cpu", "CPU usage, all CPUs together", Layout::Record)
            .field(pct("total", "Sum of all CPU percentages (except idle)."))
            .field(pct("user", "Time spent in user space.").history())
            .field(pct("nice", "Time spent by niced processes in user space."))
            .field(pct("system", "Time spent in kernel space.").history())
            .field(pct("idle", "Time spent doing nothing."))
            .field(pct("iowait", "Time spent waiting for I/O to complete."))
            .field(pct("irq", "Time spent servicing hardware interrupts."))
            .field(pct("softirq", "Time spent servicing software interrupts."))
            .field(pct(
                "steal",
                "Time stolen by the hypervisor for other guests.",
            ))
            .field(pct("guest", "Time spent running a virtual CPU for guests."))
            .field(pct("guest_nice", "Time spent running niced guests."))
            .field(field("ctx_switches", Unit::Number, "Context switches.").rate())
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
        let p = percentages(self.previous.as_ref(), &stats.total);
        let mut row = Row::new()
            .set("total", total(&p))
            .set("user", p.user)
            .set("nice", p.nice)
            .set("system", p.system)
            .set("idle", p.idle)
            .set("iowait", p.iowait)
            .set("irq", p.irq)
            .set("softirq", p.softirq)
            .set("steal", p.steal)
            .set("guest", p.guest)
            .set("guest_nice", p.guest_nice)
            .set("cpucore", stats.per_cpu.len());
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
