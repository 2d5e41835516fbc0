//! test-counter: a well-behaved test guest (not a default plugin) that counts its updates and
//! reports a compile-time version, for the engine's reload and state tests.

use glint_sdk::prelude::*;

/// The version this build reports.
const VERSION: &str = "1";

#[derive(Default)]
struct Counter {
    /// Updates so far, this one included.
    calls: u64,
}

impl InputPlugin for Counter {
    fn info() -> PluginInfo {
        plugin(
            "test-counter",
            "Test guest: counts its updates (reload test)",
            Layout::Record,
        )
        .field(field(
            "n",
            Unit::Number,
            "Updates so far, this one included.",
        ))
        .field(field(
            "version",
            Unit::Text,
            "The version the guest was built as.",
        ))
    }

    fn update(&mut self, _tick: &Tick) -> Result<Table, String> {
        self.calls += 1;
        Ok(Row::new()
            .set("n", self.calls)
            .set("version", VERSION)
            .into_table())
    }
}

glint_sdk::export_input!(Counter);
