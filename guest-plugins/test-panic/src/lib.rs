//! test-panic: a test guest (not a default plugin) whose update() panics, for the engine's
//! containment test.

use glint_sdk::prelude::*;

#[derive(Default)]
struct Panic;

impl InputPlugin for Panic {
    fn info() -> PluginInfo {
        plugin(
            "test-panic",
            "Test guest: update() panics (containment test)",
            Layout::Record,
        )
    }

    fn update(&mut self, _tick: &Tick) -> Result<Table, String> {
        panic!("test-panic: deliberate panic for the containment test");
    }
}

glint_sdk::export_input!(Panic);
