//! core: the number of physical and logical CPU cores (Glances' `core` plugin).

use glint_sdk::prelude::*;

#[derive(Default)]
struct Core;

impl InputPlugin for Core {
    fn info() -> PluginInfo {
        plugin("core", "CPU core counts", Layout::Record)
            .field(field(
                "phys",
                Unit::Number,
                "Physical cores (hyper-threads not counted).",
            ))
            .field(field(
                "log",
                Unit::Number,
                "Logical CPUs (hyper-threads counted).",
            ))
    }

    fn update(&mut self, _tick: &Tick) -> Result<Table, String> {
        let info = readings::get_cpu_info();
        Ok(Row::new()
            .set("phys", info.physical_cores)
            .set("log", info.logical_cores)
            .into_table())
    }
}

glint_sdk::export_input!(Core);
