//! test-logflood: a test guest (not a default plugin) whose update() logs 10000 lines at
//! info level, for the engine's log rate-limit test.

use glint_sdk::input::glint::plugin::log::Level;
use glint_sdk::prelude::*;

/// Lines logged per update.
const LINES: u64 = 10_000;

#[derive(Default)]
struct LogFlood;

impl InputPlugin for LogFlood {
    fn info() -> PluginInfo {
        plugin(
            "test-logflood",
            "Test guest: update() logs 10000 lines (log flood test)",
            Layout::Record,
        )
        .field(field("lines", Unit::Number, "Lines logged by this update."))
    }

    fn update(&mut self, tick: &Tick) -> Result<Table, String> {
        for i in 0..LINES {
            glint_sdk::log(
                Level::Info,
                &format!("test-logflood: tick {} line {i}", tick.seq),
            );
        }
        Ok(Row::new().set("lines", LINES).into_table())
    }
}

glint_sdk::export_input!(LogFlood);
