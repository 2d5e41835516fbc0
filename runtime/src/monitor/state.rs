//! Owns the `Monitor` itself: what it holds (the running plugins, the pool, the store, the
//! registry the server reads), its accessors, and stopping it.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use host_collectors::Source;

use crate::export::Exporter;
use crate::plugins::actor::Actor;
use crate::plugins::discovery::{Change, Discovery};
use crate::plugins::engine::GlintEngine;
use crate::plugins::error::PluginError;
use crate::plugins::pool::Pool;
use crate::plugins::readings::TickReadings;
use crate::plugins::supervisor::PluginCounters;
use crate::settings::config::Config;
use crate::stats::snapshot::PluginMeta;
use crate::stats::status::PluginStatus;
use crate::stats::store::Store;

/// The plugins running now, as the server sees them: replaced whole when the set changes.
#[derive(Default)]
pub struct Loaded {
    /// Input plugins, in display order.
    pub inputs: Vec<Arc<PluginMeta>>,
    pub outputs: Vec<Arc<Actor>>,
    /// Every plugin's counters and health, by name (the API re-enables through them).
    pub counters: Vec<(String, Arc<PluginCounters>)>,
}

pub type Registry = ArcSwap<Loaded>;

/// A plugin that could not be loaded, and why.
pub struct Refused {
    pub label: String,
    pub error: PluginError,
}

/// Everything that runs: the engine, the plugins' actors, the store.
pub struct Monitor {
    /// Input plugins, in display order.
    pub(super) actors: Vec<Actor>,
    /// Output plugins: rendered on request, shared with the server.
    pub(super) outputs: Vec<Arc<Actor>>,
    /// Exporters, each on its own thread, offered every published snapshot.
    pub(super) exporters: Vec<Exporter>,
    /// Runs the input plugins' calls.
    pub(super) pool: Pool,
    /// Indexes into `actors`, one list per wave.
    pub(super) waves: Vec<Vec<usize>>,
    pub(super) store: Arc<Store>,
    pub(super) source: Arc<Source>,
    pub(super) config: Arc<Config>,
    pub(super) folders: Arc<[PathBuf]>,
    pub(super) seq: u64,
    /// The readings of the latest tick: which ones were collected.
    pub(super) last_readings: Option<Arc<TickReadings>>,
    pub(super) engine: Arc<GlintEngine>,
    pub(super) registry: Arc<Registry>,
    /// Plugins of the directory that could not be loaded (shown in the API), by name.
    pub(super) refused: BTreeMap<String, PluginStatus>,
    /// Why exporters were refused for a spill directory another glint holds.
    pub(super) spill_conflicts: Vec<String>,
    /// From the directory's watcher (once started) and the background compiler.
    pub(super) changes: Receiver<Change>,
    /// Given to the watcher and the background compiler.
    pub(super) changes_tx: Sender<Change>,
    pub(super) discovery: Option<Discovery>,
    /// Dropped to stop the watcher.
    pub(super) _stop_watcher: Option<Sender<()>>,
}

impl Monitor {
    /// The registry the server reads the running plugins from.
    pub fn registry(&self) -> Arc<Registry> {
        self.registry.clone()
    }

    /// Exporters refused because another glint holds their spill directory. At start glint
    /// stops on them (`app`), as on a bad exporter setting: an operator who set a spill
    /// directory counts on the exporter, and a service that fails to start is seen at once,
    /// where one running without its exporter is not. Later (an exporter dropped in the
    /// plugins directory) such an exporter is refused like any plugin that cannot load.
    pub fn spill_conflicts(&self) -> &[String] {
        &self.spill_conflicts
    }

    pub fn store(&self) -> Arc<Store> {
        self.store.clone()
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The loaded input plugins, in display order, with their counters.
    pub fn actors(&self) -> &[Actor] {
        &self.actors
    }

    /// The running exporters.
    /// Whether a plugin is compiling in the background (it runs once compiled, or is
    /// refused).
    pub fn compiling(&self) -> bool {
        self.refused.values().any(|s| s.status == "compiling")
    }

    pub fn exporters(&self) -> &[Exporter] {
        &self.exporters
    }

    /// Stops every exporter, each spilling what it holds (with a spill directory), waiting
    /// up to `grace` for calls in progress: glint is stopping.
    pub fn stop_exporters(&mut self, grace: Duration) {
        let until = Instant::now() + grace;
        for exporter in &self.exporters {
            exporter.ask_to_stop();
        }
        for exporter in &mut self.exporters {
            exporter.shutdown(until);
        }
        self.exporters.clear();
    }

    /// The loaded output plugins.
    pub fn outputs(&self) -> &[Arc<Actor>] {
        &self.outputs
    }

    /// The readings the latest tick collected: only those some plugin asked for.
    pub fn collected_last_tick(&self) -> Vec<&'static str> {
        self.last_readings
            .as_ref()
            .map(|r| r.collected())
            .unwrap_or_default()
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        self.pool.stop();
    }
}
