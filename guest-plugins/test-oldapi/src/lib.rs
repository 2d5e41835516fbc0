//! test-oldapi: a test guest (not a default plugin) that declares a contract revision the
//! host cannot serve, for the engine's handshake test.

use glint_sdk::prelude::*;

/// A revision no host speaks.
const OLD_API_VERSION: u32 = 99;

#[derive(Default)]
struct OldApi;

impl InputPlugin for OldApi {
    fn info() -> PluginInfo {
        let mut info = plugin(
            "test-oldapi",
            "Test guest: declares api_version 99 (handshake test)",
            Layout::Record,
        )
        .field(field("value", Unit::Number, "Always 1."));
        info.api_version = OLD_API_VERSION;
        info
    }

    fn update(&mut self, _tick: &Tick) -> Result<Table, String> {
        Ok(Row::new().set("value", 1u64).into_table())
    }
}

glint_sdk::export_input!(OldApi);
