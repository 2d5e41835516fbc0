//! test-spin: a test guest (not a default plugin) whose update() never returns, for the
//! engine's per-call deadline test.

use glint_sdk::prelude::*;

#[derive(Default)]
struct Spin;

impl InputPlugin for Spin {
    fn info() -> PluginInfo {
        plugin(
            "test-spin",
            "Test guest: update() loops forever (deadline test)",
            Layout::Record,
        )
    }

    fn update(&mut self, _tick: &Tick) -> Result<Table, String> {
        let mut n: u64 = 0;
        loop {
            // black_box hides the counter from the optimiser, so the loop stays a real
            // busy loop the host must interrupt.
            n = std::hint::black_box(n.wrapping_add(1));
        }
    }
}

glint_sdk::export_input!(Spin);
