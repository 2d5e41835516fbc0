//! test-membomb: a test guest (not a default plugin) whose update() allocates and touches
//! memory until allocation fails, for the engine's memory-cap test.

use glint_sdk::prelude::*;

/// Allocation step: 1 MiB, small enough to reach any cap closely.
const CHUNK: usize = 1 << 20;

#[derive(Default)]
struct MemBomb;

impl InputPlugin for MemBomb {
    fn info() -> PluginInfo {
        plugin(
            "test-membomb",
            "Test guest: update() allocates until memory runs out (memory cap test)",
            Layout::Record,
        )
    }

    fn update(&mut self, _tick: &Tick) -> Result<Table, String> {
        let mut held: Vec<Vec<u8>> = Vec::new();
        loop {
            let mut chunk = Vec::new();
            if chunk.try_reserve_exact(CHUNK).is_err() || held.try_reserve(1).is_err() {
                break;
            }
            // Write every byte so the pages are really used, not just reserved.
            chunk.resize(CHUNK, 0xA5);
            held.push(std::hint::black_box(chunk));
        }
        let mib = std::hint::black_box(&held).len();
        Err(format!("test-membomb: allocation failed after {mib} MiB"))
    }
}

glint_sdk::export_input!(MemBomb);
