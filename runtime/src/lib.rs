//! glint: the host — engine, plugins, scheduler, store and the command line's building blocks.
pub mod bindings;
pub mod export;
pub mod monitor;
pub mod plugins;
pub mod server;
pub mod settings;
pub mod stats;
pub mod stdout;
pub mod tools;
pub mod tui;

/// The default plugins embedded in the binary, and where the built guests are.
pub mod embedded {
    /// A default plugin built into the binary.
    pub struct EmbeddedPlugin {
        pub name: &'static str,
        /// An exporter: loaded only when `--export` names it.
        pub exporter: bool,
        pub bytes: &'static [u8],
        /// SHA-256 of `bytes`, computed at build time.
        pub sha256: [u8; 32],
    }

    include!(concat!(env!("OUT_DIR"), "/embedded.rs"));
}
