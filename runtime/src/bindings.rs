//! The host side of the WIT contract: bindings of the three worlds, generated from `wit/`.
//!
//! The output and exporter worlds reuse the input world's interfaces, so a host import is
//! implemented once for every world.

/// The `input` world: readings, log, config and stats imports; describe + update exports.
pub mod input {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "input",
    });
}

/// The `output` world.
pub mod output {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "output",
        with: {
            "glint:plugin/types": crate::bindings::input::glint::plugin::types,
            "glint:plugin/log": crate::bindings::input::glint::plugin::log,
            "glint:plugin/config": crate::bindings::input::glint::plugin::config,
            "glint:plugin/stats": crate::bindings::input::glint::plugin::stats,
        },
    });
}

/// The `exporter` world.
pub mod exporter {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "exporter",
        with: {
            "glint:plugin/types": crate::bindings::input::glint::plugin::types,
            "glint:plugin/log": crate::bindings::input::glint::plugin::log,
            "glint:plugin/config": crate::bindings::input::glint::plugin::config,
        },
    });
}

pub use input::glint::plugin::readings as wit_readings;
pub use input::glint::plugin::stats::{Decoration, Limit, Point};
pub use input::glint::plugin::types::{
    ConfigValue, FieldInfo, Layout, PluginInfo, PluginKind, Table, Tick, Unit, Value,
};

/// A plugin kind as the API names it.
pub fn kind_name(kind: PluginKind) -> &'static str {
    match kind {
        PluginKind::Input => "input",
        PluginKind::Output => "output",
        PluginKind::Exporter => "exporter",
    }
}
