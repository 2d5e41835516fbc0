//! Owns changing the set of running plugins: adding one (an exporter on its own thread),
//! applying what the plugins directory's watcher found, and the waves, registry and status
//! board that follow each change.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use crate::bindings::PluginKind;
use crate::export::{ExportSettings, Exporter};
use crate::plugins::actor::Actor;
use crate::plugins::discovery::Change;
use crate::plugins::load::LoadedPlugin;
use crate::plugins::readings::TickReadings;
use crate::stats::snapshot::{PluginMeta, PluginSource};
use crate::stats::status::{PluginStatus, StatusBoard};

use super::state::{Loaded, Monitor};
use super::waves::waves;

impl Monitor {
    /// Starts watching the plugins directory (if there is one): every [`crate::plugins::discovery::RESCAN`]
    /// its changes are loaded on the watcher's thread and swapped in at the next tick.
    pub fn watch(&mut self) -> std::io::Result<()> {
        let Some(discovery) = self.discovery.take() else {
            return Ok(());
        };
        let tx = self.changes_tx.clone();
        let (stop, stopped) = std::sync::mpsc::channel();
        let readings = Arc::new(TickReadings::new(self.source.clone(), self.folders.clone()));
        discovery.watch(
            self.engine.clone(),
            self.config.clone(),
            readings,
            tx,
            stopped,
        )?;
        self._stop_watcher = Some(stop);
        Ok(())
    }

    /// Whether an exporter may start: named by `--export` (or enabled in its section), or
    /// given with `--plugin`.
    pub(super) fn may_export(&self, plugin: &LoadedPlugin) -> bool {
        matches!(plugin.meta.source, PluginSource::File(_))
            || self.config.exports(&plugin.meta.name)
    }

    /// Adds a loaded plugin (or replaces the one of the same name, in its place).
    pub(super) fn add(&mut self, plugin: LoadedPlugin) {
        let name = plugin.meta.name.clone();
        self.refused.remove(&name);
        let millis = plugin.counters.compile_millis.load(Ordering::Relaxed);
        if millis >= 1000 {
            tracing::warn!("plugin {name}: compiled in {:.1} s", millis as f64 / 1e3);
        }
        if plugin.kind == PluginKind::Exporter {
            self.add_exporter(plugin);
        } else if plugin.kind == PluginKind::Output {
            let actor = Arc::new(Actor::spawn(plugin, self.engine.clone()));
            match self.outputs.iter().position(|a| a.meta.name == name) {
                Some(i) => self.outputs[i] = actor,
                None => self.outputs.push(actor),
            }
        } else {
            let actor = Actor::pooled(plugin, self.engine.clone());
            match self.actors.iter().position(|a| a.meta.name == name) {
                Some(i) => self.actors[i] = actor,
                None => self.actors.push(actor),
            }
        }
    }

    /// Starts an exporter, or refuses it with the reason: its settings are bad, or another
    /// glint holds its spill directory (also kept in `spill_conflicts`).
    fn add_exporter(&mut self, plugin: LoadedPlugin) {
        let name = plugin.meta.name.clone();
        let source = plugin.meta.source.clone();
        let section = self.config.plugins.get(&name);
        let settings = match ExportSettings::from_section(&name, section, self.config.refresh) {
            Ok(settings) => settings,
            Err(reason) => return self.refuse_exporter(&name, &source, reason),
        };
        // A new version takes over the old one's batches and spill lock (and waits for its
        // call to end, on its own thread).
        let at = self.exporters.iter().position(|e| e.name == name);
        let previous = at.map(|i| self.exporters.remove(i));
        let engine = self.engine.clone();
        match Exporter::start(plugin, engine, self.store.clone(), settings, previous) {
            Ok(exporter) => {
                self.exporters
                    .insert(at.unwrap_or(self.exporters.len()), exporter);
            }
            Err(in_use) => {
                let reason = in_use.to_string();
                self.spill_conflicts.push(reason.clone());
                self.refuse_exporter(&name, &source, reason);
            }
        }
    }

    /// Lists an exporter as refused, with the reason, and says so in the log.
    fn refuse_exporter(&mut self, name: &str, source: &PluginSource, reason: String) {
        tracing::error!("exporter {name} not started: {reason}");
        self.refused.insert(
            name.to_string(),
            PluginStatus::refused(name, source, reason),
        );
    }

    /// Waves and the server's registry after the set of plugins changed.
    pub(super) fn replan(&mut self) {
        let metas: Vec<Arc<PluginMeta>> = self.actors.iter().map(|a| a.meta.clone()).collect();
        self.waves = waves(&metas);
        let counters = self
            .actors
            .iter()
            .chain(self.outputs.iter().map(|a| &**a))
            .map(|a| (a.meta.name.clone(), a.counters.clone()))
            .chain(
                self.exporters
                    .iter()
                    .map(|e| (e.name.clone(), e.counters.clone())),
            )
            .collect();
        self.registry.store(Arc::new(Loaded {
            inputs: metas,
            outputs: self.outputs.clone(),
            counters,
        }));
        self.store.set_board(self.status_board());
    }

    /// Applies what the directory's watcher found since the last tick.
    pub(super) fn apply_changes(&mut self) {
        let changes: Vec<Change> = self.changes.try_iter().collect();
        if changes.is_empty() {
            return;
        }
        for change in changes {
            self.apply(change);
        }
        self.replan();
    }

    /// Where the running plugin of that name (input, output or exporter) came from.
    fn source_of(&self, name: &str) -> Option<PluginSource> {
        self.actors
            .iter()
            .chain(self.outputs.iter().map(|a| &**a))
            .find(|a| a.meta.name == name)
            .map(|a| a.meta.source.clone())
            .or_else(|| {
                self.exporters
                    .iter()
                    .find(|e| e.name == name)
                    .map(|e| e.source.clone())
            })
    }

    /// Applies one change of the plugins directory.
    fn apply(&mut self, change: Change) {
        match change {
            Change::Loaded { name, plugin } => self.apply_loaded(name, *plugin),
            Change::Refused {
                name,
                source,
                reason,
            } => self.apply_refused(name, source, reason),
            Change::Removed { name } => self.apply_removed(name),
            Change::Compiled {
                label,
                source,
                result,
            } => self.apply_compiled(label, source, result),
            Change::Compiling {
                name,
                source,
                bytes,
            } => {
                tracing::warn!(
                    "plugin {name}: compiling its {:.1} MB component in the background",
                    bytes as f64 / 1e6
                );
                self.refused
                    .insert(name.clone(), PluginStatus::compiling(&name, &source, bytes));
            }
        }
    }

    /// A `--plugin` file compiled in the background: admitted as at start (an exporter
    /// nobody named is idle, a disabled one left out, a name already running refused), or
    /// refused with the reason. Its `compiling` entry, under its file's label, goes either way.
    fn apply_compiled(
        &mut self,
        label: String,
        source: PluginSource,
        result: Result<Box<LoadedPlugin>, String>,
    ) {
        self.refused.remove(&label);
        let plugin = match result {
            Ok(plugin) => *plugin,
            Err(reason) => {
                tracing::error!("plugin {label} refused: {reason}");
                self.refused.insert(
                    label.clone(),
                    PluginStatus::refused(&label, &source, reason),
                );
                return;
            }
        };
        let name = plugin.meta.name.clone();
        if plugin.kind == PluginKind::Exporter && !self.may_export(&plugin) {
            self.refused.insert(name, idle_exporter(&plugin));
        } else if !self.config.enabled(&name) {
            tracing::info!("{name}: disabled by the config");
        } else if let Some(running) = self.source_of(&name) {
            let reason = format!(
                "a plugin named {name:?} is already loaded from {running}; names must be unique"
            );
            tracing::error!("plugin {label} refused: {reason}");
            self.refused.insert(
                label.clone(),
                PluginStatus::refused(&label, &source, reason),
            );
        } else {
            self.add(plugin);
        }
    }

    /// A new or replaced plugin of the directory: swapped in, unless a plugin of its name came
    /// from elsewhere or it is an exporter nobody named.
    fn apply_loaded(&mut self, name: String, plugin: LoadedPlugin) {
        match self.source_of(&name) {
            Some(source) if !matches!(source, PluginSource::Directory(_)) => {
                let reason = format!(
                    "a plugin named {name:?} is already loaded from {source}; names must be unique (disable that one with [plugins.{name}] enable = false)"
                );
                tracing::warn!("plugin {name} refused: {reason}");
                self.refused.insert(
                    name.clone(),
                    PluginStatus::refused(&name, &plugin.meta.source, reason),
                );
            }
            _ if plugin.kind == PluginKind::Exporter && !self.may_export(&plugin) => {
                self.refused.insert(name.clone(), idle_exporter(&plugin));
            }
            existing => {
                tracing::info!(
                    "plugin {name} {} (version {:?}, from {})",
                    if existing.is_some() {
                        "replaced"
                    } else {
                        "loaded"
                    },
                    plugin.version,
                    plugin.meta.source
                );
                self.add(plugin);
            }
        }
    }

    /// A plugin of the directory that could not be loaded: listed as refused; a running
    /// version of it goes on.
    fn apply_refused(&mut self, name: String, source: PluginSource, reason: String) {
        // Refused again for the same reason (an entry whose stamp moves, such as a link
        // to a device): said once, not at every rescan.
        let again = self
            .refused
            .get(&name)
            .is_some_and(|s| s.last_error.as_deref() == Some(reason.as_str()));
        if again {
            tracing::debug!("plugin {name} refused again: {reason}");
            return;
        }
        if self.source_of(&name).is_some() {
            tracing::warn!(
                "plugin {name}: the new version is refused, the running one goes on: {reason}"
            );
        } else {
            tracing::warn!("plugin {name} refused: {reason}");
        }
        self.refused
            .insert(name.clone(), PluginStatus::refused(&name, &source, reason));
    }

    /// A plugin whose file left the directory: unloaded (one of its name from elsewhere stays).
    fn apply_removed(&mut self, name: String) {
        self.refused.remove(&name);
        let from_dir =
            |a: &Actor| a.meta.name == name && matches!(a.meta.source, PluginSource::Directory(_));
        let before = self.actors.len() + self.outputs.len() + self.exporters.len();
        self.actors.retain(|a| !from_dir(a));
        self.outputs.retain(|a| !from_dir(a));
        self.exporters
            .retain(|e| !(e.name == name && matches!(e.source, PluginSource::Directory(_))));
        if self.actors.len() + self.outputs.len() + self.exporters.len() < before {
            tracing::info!("plugin {name} unloaded: its file is gone");
        }
    }

    /// How every plugin's status is made: the running ones, then the directory's plugins
    /// that could not be loaded.
    fn status_board(&self) -> StatusBoard {
        let running = self
            .actors
            .iter()
            .map(Actor::status_source)
            .chain(self.outputs.iter().map(Actor::shared_status_source))
            .chain(self.exporters.iter().map(Exporter::status_source))
            .collect();
        StatusBoard {
            running,
            refused: self.refused.clone(),
            generation: self.store.board().generation + 1,
        }
    }
}

/// An exporter found but not named by `--export`: shown, not run.
pub(super) fn idle_exporter(plugin: &LoadedPlugin) -> PluginStatus {
    let name = &plugin.meta.name;
    let mut status = PluginStatus::refused(
        name,
        &plugin.meta.source,
        format!(
            "an exporter runs only when named: glint --export {name}, or enable = true in [plugins.{name}]"
        ),
    );
    status.kind = "exporter".into();
    status.status = "idle".into();
    status
}
