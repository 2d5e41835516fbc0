//! test-stack: a test guest (not a default plugin) whose update() recurses without end until
//! the stack overflows, for the engine's stack-overflow containment test.

use glint_sdk::prelude::*;

/// Words of the local array each frame keeps.
const FRAME_WORDS: usize = 32;

#[derive(Default)]
struct Stack;

impl InputPlugin for Stack {
    fn info() -> PluginInfo {
        plugin(
            "test-stack",
            "Test guest: update() recurses without end (stack overflow test)",
            Layout::Record,
        )
        .field(field(
            "depth",
            Unit::Number,
            "Never reported: update() never returns.",
        ))
    }

    fn update(&mut self, _tick: &Tick) -> Result<Table, String> {
        let depth = dive(0);
        Ok(Row::new().set("depth", depth).into_table())
    }
}

/// One frame of the descent. The local array goes through black_box, so it must be kept in
/// the frame, and the call's result is used after it returns, so it is not a tail call: every
/// level costs stack until the stack runs out.
#[allow(unconditional_recursion)]
#[inline(never)]
fn dive(depth: u64) -> u64 {
    let frame = std::hint::black_box([depth; FRAME_WORDS]);
    let below = dive(std::hint::black_box(depth.wrapping_add(1)));
    below.wrapping_add(frame[(depth as usize) % FRAME_WORDS])
}

glint_sdk::export_input!(Stack);
