//! test-slow: a test guest (not a default plugin) whose update() computes for 600 ms before
//! it returns, past the engine's 500 ms per-call deadline, for the deadline test.

use std::time::Duration;

use glint_sdk::prelude::*;
use glint_test_attack::busy_for;

/// How long update() computes: more than the host's deadline.
const BUSY: Duration = Duration::from_millis(600);

#[derive(Default)]
struct Slow;

impl InputPlugin for Slow {
    fn info() -> PluginInfo {
        plugin(
            "test-slow",
            "Test guest: update() computes for 600 ms (deadline test)",
            Layout::Record,
        )
        .field(field(
            "done",
            Unit::None,
            "Always true, if update() ever returns.",
        ))
    }

    fn update(&mut self, _tick: &Tick) -> Result<Table, String> {
        busy_for(BUSY);
        Ok(Row::new().set("done", true).into_table())
    }
}

glint_sdk::export_input!(Slow);
