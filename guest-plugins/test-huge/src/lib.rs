//! test-huge: a test guest (not a default plugin) whose update() returns a list table of a
//! million rows, for the engine's output size test.

use glint_sdk::prelude::*;

/// Rows per update.
const ROWS: u64 = 1_000_000;

#[derive(Default)]
struct Huge;

impl InputPlugin for Huge {
    fn info() -> PluginInfo {
        plugin(
            "test-huge",
            "Test guest: update() returns a million rows (output size test)",
            Layout::List,
        )
        .field(field("id", Unit::Number, "Row number, from 0."))
        .field(field("v", Unit::Number, "Same as id."))
    }

    fn update(&mut self, _tick: &Tick) -> Result<Table, String> {
        // Built directly, with every vector allocated at its final size: no builder copies.
        let mut rows = Vec::with_capacity(ROWS as usize);
        for i in 0..ROWS {
            rows.push(vec![Value::Uint(i), Value::Uint(i)]);
        }
        Ok(Table {
            key: Some("id".to_string()),
            columns: vec!["id".to_string(), "v".to_string()],
            rows,
        })
    }
}

glint_sdk::export_input!(Huge);
