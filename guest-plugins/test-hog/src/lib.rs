//! test-hog: a test guest (not a default plugin) whose update() computes for 200 ms: under
//! the engine's 500 ms per-call deadline but over a 100 ms CPU budget, for the CPU budget test.

use std::time::Duration;

use glint_sdk::prelude::*;
use glint_test_attack::busy_for;

/// How long each update() computes.
const BUSY: Duration = Duration::from_millis(200);

#[derive(Default)]
struct Hog;

impl InputPlugin for Hog {
    fn info() -> PluginInfo {
        plugin(
            "test-hog",
            "Test guest: update() computes for 200 ms (CPU budget test)",
            Layout::Record,
        )
        .field(field("done", Unit::None, "Always true."))
    }

    fn update(&mut self, _tick: &Tick) -> Result<Table, String> {
        busy_for(BUSY);
        Ok(Row::new().set("done", true).into_table())
    }
}

glint_sdk::export_input!(Hog);
