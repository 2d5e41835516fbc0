//! load: the 1, 5 and 15 minute load averages and the number of logical CPUs (Glances' `load`
//! plugin).

use glint_sdk::prelude::*;

#[derive(Default)]
struct Load;

impl InputPlugin for Load {
    fn info() -> PluginInfo {
        let avg = |name: &str, desc: &str| field(name, Unit::Number, desc).history();
        plugin("load", "Load averages", Layout::Record)
            .field(avg(
                "min1",
                "Average number of runnable processes over the last minute.",
            ))
            .field(avg(
                "min5",
                "Average number of runnable processes over the last 5 minutes.",
            ))
            .field(avg(
                "min15",
                "Average number of runnable processes over the last 15 minutes.",
            ))
            .field(field("cpucore", Unit::Number, "Logical CPUs."))
    }

    fn update(&mut self, _tick: &Tick) -> Result<Table, String> {
        let load = readings::get_load();
        let cpu = readings::get_cpu_info();
        Ok(Row::new()
            .set("min1", load.min1)
            .set("min5", load.min5)
            .set("min15", load.min15)
            .set("cpucore", cpu.logical_cores)
            .into_table())
    }
}

glint_sdk::export_input!(Load);
