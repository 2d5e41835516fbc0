//! The tick: loads the enabled plugins, fans each tick out to them (in waves, so a plugin
//! that reads others' stats runs after them), joins with a deadline and publishes the
//! snapshot; between ticks, swaps in the plugins the directory's watcher loaded.
//!
//! The `Monitor` and what it holds are in `state`; loading the plugin set at start in
//! `start`; applying the plugins directory's changes in `changes`; the tick in `tick`, and
//! the grouping of plugins into waves in `waves`. This file only declares and re-exports them.

mod changes;
mod start;
mod state;
mod tick;
mod waves;

pub use state::{Loaded, Monitor, Refused, Registry};
pub use waves::waves;
