//! glint-sdk: what a glint plugin author depends on — the WIT bindings of each world, a
//! plugin trait and a registration macro per world (`InputPlugin` / `export_input!`,
//! `OutputPlugin` / `export_output!`, `ExporterPlugin` / `export_exporter!`), and helpers for
//! tables and counter rates. The exporters' helpers are behind features: `export` (settings,
//! batch rows, the InfluxDB, Prometheus and JSON formats) and `http` (wasi:http requests).
//!
//! Every column a table has must be a field `info()` declares (a rate field stands for its
//! three columns, see [`rates`]): glint refuses a table with any other, naming the column.
//!
//! A first input plugin:
//!
//! ```ignore
//! use glint_sdk::prelude::*;
//!
//! #[derive(Default)]
//! struct Hello;
//!
//! impl InputPlugin for Hello {
//!     fn info() -> PluginInfo {
//!         plugin("hello", "Says hello", Layout::Record)
//!             .field(field("greeting", Unit::Text, "A greeting"))
//!     }
//!     fn update(&mut self, _tick: &Tick) -> Result<Table, String> {
//!         Ok(Row::new().set("greeting", "hello").into_table())
//!     }
//! }
//!
//! glint_sdk::export_input!(Hello);
//! ```

pub mod cpu;
#[cfg(feature = "export")]
pub mod export;
#[cfg(feature = "http")]
pub mod http;
pub mod rates;
pub mod table;

/// Bindings of the `input` world (what an input plugin imports and exports).
pub mod input {
    wit_bindgen::generate!({
        world: "input",
        path: "../../wit",
        pub_export_macro: true,
        export_macro_name: "export_input_world",
        default_bindings_module: "glint_sdk::input",
    });
}

/// Bindings of the `output` world.
pub mod output {
    wit_bindgen::generate!({
        world: "output",
        path: "../../wit",
        pub_export_macro: true,
        export_macro_name: "export_output_world",
        default_bindings_module: "glint_sdk::output",
        // One set of types for every world, so the builders below serve output plugins too.
        with: {
            "glint:plugin/types@0.1.0": crate::input::glint::plugin::types,
            "glint:plugin/log@0.1.0": crate::input::glint::plugin::log,
            "glint:plugin/config@0.1.0": crate::input::glint::plugin::config,
            "glint:plugin/stats@0.1.0": crate::input::glint::plugin::stats,
        },
    });
}

/// Bindings of the `exporter` world.
pub mod exporter {
    wit_bindgen::generate!({
        world: "exporter",
        path: "../../wit",
        pub_export_macro: true,
        export_macro_name: "export_exporter_world",
        default_bindings_module: "glint_sdk::exporter",
        with: {
            "glint:plugin/types@0.1.0": crate::input::glint::plugin::types,
            "glint:plugin/log@0.1.0": crate::input::glint::plugin::log,
            "glint:plugin/config@0.1.0": crate::input::glint::plugin::config,
        },
    });
}

/// The contract revision this sdk speaks; the host refuses plugins built for another one.
pub const API_VERSION: u32 = 1;

pub use input::glint::plugin::readings;
pub use input::glint::plugin::stats;
pub use input::glint::plugin::types::{
    Batch, ConfigValue, ExportError, FieldInfo, Layout, PluginInfo, PluginKind, Request, Response,
    Schema, Table, Tick, Unit, Value,
};

/// What an input plugin implements. The host calls `update` once per tick; `self` lives
/// between ticks, so a plugin keeps its previous counters there to compute rates.
pub trait InputPlugin: Default + 'static {
    /// The handshake: name, description, layout and fields.
    fn info() -> PluginInfo;
    /// This tick's stats.
    fn update(&mut self, tick: &Tick) -> Result<Table, String>;
}

/// What an output plugin implements. The host calls `render` for each request to
/// `/api/3/outputs/NAME[/PATH]`, one at a time; `self` lives between requests (a plugin may
/// keep what it built for the last one). It reads the stats through [`stats`].
pub trait OutputPlugin: Default + 'static {
    /// The handshake: name and description (see [`output()`]).
    fn info() -> PluginInfo;
    /// The answer to `request`: status, content type and body. glint answers an error with
    /// 502 (Bad Gateway) and its message.
    fn render(&mut self, request: &Request) -> Result<Response, String>;
}

/// Starts the handshake of an output plugin.
pub fn output(name: &str, description: &str) -> PluginInfo {
    plugin(name, description, Layout::Record).kind(PluginKind::Output)
}

/// What an exporter implements. `self` lives between calls (a file exporter remembers
/// that it wrote its header); the host calls `export` with the batches to send, oldest
/// first, and keeps them to try again when it answers `ExportError::Retryable`.
pub trait ExporterPlugin: Default + 'static {
    /// The handshake: name and description (see [`exporter`]).
    fn info() -> PluginInfo;
    /// Sends `batches`, all or none; `schema` describes the columns of every plugin in them.
    fn export(&mut self, schema: &[Schema], batches: &[Batch]) -> Result<(), ExportError>;
}

/// Starts the handshake of an exporter.
pub fn exporter(name: &str, description: &str) -> PluginInfo {
    plugin(name, description, Layout::Record).kind(PluginKind::Exporter)
}

/// Starts a handshake for an input plugin.
pub fn plugin(name: &str, description: &str, layout: Layout) -> PluginInfo {
    PluginInfo {
        name: name.to_string(),
        description: description.to_string(),
        interfaces: vec![PluginKind::Input],
        api_version: API_VERSION,
        layout,
        fields: Vec::new(),
        reads: Vec::new(),
    }
}

/// Describes one field.
pub fn field(name: &str, unit: Unit, description: &str) -> FieldInfo {
    FieldInfo {
        name: name.to_string(),
        description: description.to_string(),
        unit,
        is_rate: false,
        keep_history: false,
    }
}

/// Builder methods on the handshake.
pub trait PluginInfoExt {
    fn field(self, field: FieldInfo) -> Self;
    /// Declares that the plugin reads these plugins' stats of the same tick.
    fn reads(self, plugins: &[&str]) -> Self;
    /// Changes the kinds the plugin declares (output and exporter plugins).
    fn kind(self, kind: PluginKind) -> Self;
}

impl PluginInfoExt for PluginInfo {
    fn field(mut self, field: FieldInfo) -> Self {
        self.fields.push(field);
        self
    }
    fn reads(mut self, plugins: &[&str]) -> Self {
        self.reads = plugins.iter().map(|p| p.to_string()).collect();
        self
    }
    fn kind(mut self, kind: PluginKind) -> Self {
        self.interfaces = vec![kind];
        self
    }
}

/// Builder methods on a field description.
pub trait FieldInfoExt {
    /// A cumulative counter, reported as delta, `_gauge` and `_rate_per_sec`: feed it to
    /// [`rates::Rates::push`] every update (`counter!`), or glint refuses the table.
    fn rate(self) -> Self;
    /// The host keeps a history of it.
    fn history(self) -> Self;
}

impl FieldInfoExt for FieldInfo {
    fn rate(mut self) -> Self {
        self.is_rate = true;
        self
    }
    fn history(mut self) -> Self {
        self.keep_history = true;
        self
    }
}

/// Logs into the host's log, tagged with the plugin's name.
pub fn log(level: input::glint::plugin::log::Level, message: &str) {
    input::glint::plugin::log::log(level, message);
}

/// The plugin's config section, as (key, value) pairs.
pub fn config() -> Vec<(String, ConfigValue)> {
    input::glint::plugin::config::entries()
}

/// Looks up one key of the plugin's config section.
pub fn config_value(entries: &[(String, ConfigValue)], key: &str) -> Option<ConfigValue> {
    entries
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.clone())
}

/// Rounds to one decimal, as Glances shows percentages.
pub fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

/// `part` as a percentage of `whole`, rounded to one decimal; 0 when `whole` is 0.
pub fn percent(part: f64, whole: f64) -> f64 {
    if whole > 0.0 {
        round1(part * 100.0 / whole)
    } else {
        0.0
    }
}

/// Everything an input plugin usually needs.
pub mod prelude {
    pub use crate::rates::Rates;
    pub use crate::table::{Row, Rows};
    pub use crate::{
        ConfigValue, FieldInfo, FieldInfoExt, InputPlugin, Layout, PluginInfo, PluginInfoExt,
        PluginKind, Table, Tick, Unit, Value, field, percent, plugin, readings, round1,
    };
}

/// Registers a type implementing [`InputPlugin`] as the component's exports.
#[macro_export]
macro_rules! export_input {
    ($plugin:ty) => {
        struct GlintInputExports;

        thread_local! {
            static GLINT_PLUGIN_STATE: ::core::cell::RefCell<Option<$plugin>> =
                const { ::core::cell::RefCell::new(None) };
        }

        impl $crate::input::Guest for GlintInputExports {
            fn describe() -> $crate::PluginInfo {
                <$plugin as $crate::InputPlugin>::info()
            }

            fn update(tick: $crate::Tick) -> ::core::result::Result<$crate::Table, String> {
                GLINT_PLUGIN_STATE.with(|state| {
                    let mut state = state.borrow_mut();
                    let plugin = state.get_or_insert_with(<$plugin as Default>::default);
                    $crate::InputPlugin::update(plugin, &tick)
                })
            }
        }

        $crate::input::export_input_world!(GlintInputExports with_types_in $crate::input);
    };
}

/// Registers a type implementing [`OutputPlugin`] as the component's exports.
#[macro_export]
macro_rules! export_output {
    ($plugin:ty) => {
        struct GlintOutputExports;

        thread_local! {
            static GLINT_OUTPUT_STATE: ::core::cell::RefCell<Option<$plugin>> =
                const { ::core::cell::RefCell::new(None) };
        }

        impl $crate::output::Guest for GlintOutputExports {
            fn describe() -> $crate::PluginInfo {
                <$plugin as $crate::OutputPlugin>::info()
            }

            fn render(
                request: $crate::Request,
            ) -> ::core::result::Result<$crate::Response, String> {
                GLINT_OUTPUT_STATE.with(|state| {
                    let mut state = state.borrow_mut();
                    let plugin = state.get_or_insert_with(<$plugin as Default>::default);
                    $crate::OutputPlugin::render(plugin, &request)
                })
            }
        }

        $crate::output::export_output_world!(GlintOutputExports with_types_in $crate::output);
    };
}

/// Registers a type implementing [`ExporterPlugin`] as the component's exports.
#[macro_export]
macro_rules! export_exporter {
    ($plugin:ty) => {
        struct GlintExporterExports;

        thread_local! {
            static GLINT_EXPORTER_STATE: ::core::cell::RefCell<Option<$plugin>> =
                const { ::core::cell::RefCell::new(None) };
        }

        impl $crate::exporter::Guest for GlintExporterExports {
            fn describe() -> $crate::PluginInfo {
                <$plugin as $crate::ExporterPlugin>::info()
            }

            fn export(
                schema: ::std::vec::Vec<$crate::Schema>,
                batches: ::std::vec::Vec<$crate::Batch>,
            ) -> ::core::result::Result<(), $crate::ExportError> {
                GLINT_EXPORTER_STATE.with(|state| {
                    let mut state = state.borrow_mut();
                    let plugin = state.get_or_insert_with(<$plugin as Default>::default);
                    $crate::ExporterPlugin::export(plugin, &schema, &batches)
                })
            }
        }

        $crate::exporter::export_exporter_world!(GlintExporterExports with_types_in $crate::exporter);
    };
}
