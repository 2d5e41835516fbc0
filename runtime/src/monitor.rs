//! The tick: loads the enabled plugins, fans each tick out to them (in waves, so a plugin
//! that reads others' stats runs after them), joins with a deadline and publishes the
//! snapshot; between ticks, swaps in the plugins the directory's watcher loaded.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwap;
use host_collectors::Source;

use crate::bindings::{PluginKind, Tick};
use crate::export::{ExportSettings, Exporter};
use crate::plugins::actor::{Actor, Replies};
use crate::plugins::discovery::{Change, Discovery};
use crate::plugins::engine::GlintEngine;
use crate::plugins::error::PluginError;
use crate::plugins::host::StatsView;
use crate::plugins::load::{self, LoadedPlugin, PluginFile};
use crate::plugins::pool::Pool;
use crate::plugins::readings::TickReadings;
use crate::plugins::supervisor::PluginCounters;
use crate::settings::config::Config;
use crate::stats::decorate::decorate;
use crate::stats::snapshot::{PluginMeta, PluginSource, PluginStats, Snapshot, key_text};
use crate::stats::status::PluginStatus;
use crate::stats::status::StatusBoard;
use crate::stats::store::Store;

/// How long past a plugin's own deadline the tick waits for its answer: the epoch ticker
/// interrupts a guest within one period of its deadline, so 100 ms covers that plus the
/// host's own work on the reply.
const JOIN_GRACE: Duration = Duration::from_millis(100);

/// How long a wave may make no progress before the pool gets another worker: a whole tick
/// of plugins takes a few milliseconds, so 25 ms without them all in means some call is
/// running towards its deadline and the calls queued behind it need a thread.
const STALL: Duration = Duration::from_millis(25);

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
    actors: Vec<Actor>,
    /// Output plugins: rendered on request, shared with the server.
    outputs: Vec<Arc<Actor>>,
    /// Exporters, each on its own thread, offered every published snapshot.
    exporters: Vec<Exporter>,
    /// Runs the input plugins' calls.
    pool: Pool,
    /// Indexes into `actors`, one list per wave.
    waves: Vec<Vec<usize>>,
    store: Arc<Store>,
    source: Arc<Source>,
    config: Arc<Config>,
    folders: Arc<[PathBuf]>,
    seq: u64,
    /// The readings of the latest tick: which ones were collected.
    last_readings: Option<Arc<TickReadings>>,
    engine: Arc<GlintEngine>,
    registry: Arc<Registry>,
    /// Plugins of the directory that could not be loaded (shown in the API), by name.
    refused: BTreeMap<String, PluginStatus>,
    /// From the directory's watcher, once started.
    changes: Option<Receiver<Change>>,
    discovery: Option<Discovery>,
    /// Dropped to stop the watcher.
    _stop_watcher: Option<Sender<()>>,
}

/// Monotonic nanoseconds since the first tick of this process.
fn monotonic_nanos() -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

impl Monitor {
    /// Loads the embedded plugins the config enables, `extra` files, and the plugins of
    /// `plugins_dir` (if any; it is watched once `watch` is called). A plugin that fails to
    /// load is refused (and reported), the others run.
    pub fn new(
        config: Config,
        engine: GlintEngine,
        source: Source,
        extra: Vec<PluginFile>,
        plugins_dir: Option<PathBuf>,
    ) -> (Monitor, Vec<Refused>) {
        let config = Arc::new(config);
        let engine = Arc::new(engine);
        let source = Arc::new(source);
        let folders: Arc<[PathBuf]> = config.folders.clone().into();
        let mut files: Vec<PluginFile> = crate::embedded::DEFAULT_PLUGINS
            .iter()
            .filter(|p| {
                if p.exporter {
                    config.exports(p.name)
                } else {
                    config.enabled(p.name)
                }
            })
            .map(|p| PluginFile {
                label: p.name.to_string(),
                bytes: Cow::Borrowed(p.bytes),
                sha256: p.sha256,
                source: PluginSource::Embedded,
                manifest: None,
            })
            .collect();
        files.extend(extra);
        let mut discovery = plugins_dir.map(Discovery::new);
        let mut refused = Vec::new();
        let mut dir_refused = BTreeMap::new();
        if let Some(d) = discovery.as_mut() {
            let (found, _) = d.scan();
            for name in found {
                match d.read(&name, &config) {
                    Ok(file) => files.push(file),
                    Err(reason) => {
                        let source = PluginSource::Directory(d.dir().join(format!("{name}.wasm")));
                        dir_refused.insert(
                            name.clone(),
                            PluginStatus::refused(&name, &source, reason.clone()),
                        );
                        refused.push(Refused {
                            label: name.clone(),
                            error: PluginError::Handshake { name, reason },
                        });
                    }
                }
            }
        }

        // Compile in parallel: on a cold cache this is most of the start-up time.
        let readings = Arc::new(TickReadings::new(source.clone(), folders.clone()));
        let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
        let loaded: Vec<(PluginFile, Result<LoadedPlugin, PluginError>)> =
            std::thread::scope(|scope| {
                let mut chunks: Vec<Vec<PluginFile>> = Vec::new();
                let per = files.len().div_ceil(workers).max(1);
                for file in files {
                    match chunks.last_mut() {
                        Some(last) if last.len() < per => last.push(file),
                        _ => chunks.push(vec![file]),
                    }
                }
                let handles: Vec<_> = chunks
                    .into_iter()
                    .map(|chunk| {
                        let engine = &engine;
                        let config = &config;
                        let readings = &readings;
                        scope.spawn(move || {
                            chunk
                                .into_iter()
                                .map(|f| {
                                    let result = load::load(engine, &f, config, readings.clone());
                                    (f, result)
                                })
                                .collect::<Vec<_>>()
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .flat_map(|h| h.join().unwrap_or_default())
                    .collect()
            });

        let pool = Pool::new(workers);
        let store = Arc::new(Store::new(config.history_size, config.limits.clone()));
        let mut monitor = Monitor {
            actors: Vec::new(),
            outputs: Vec::new(),
            exporters: Vec::new(),
            pool,
            waves: Vec::new(),
            store,
            source,
            config: config.clone(),
            folders,
            seq: 0,
            last_readings: None,
            engine,
            registry: Arc::new(ArcSwap::from_pointee(Loaded::default())),
            refused: dir_refused,
            changes: None,
            discovery,
            _stop_watcher: None,
        };
        let mut names = HashSet::new();
        for (file, result) in loaded {
            let label = file.label.clone();
            match result {
                Ok(p) if p.kind == PluginKind::Exporter && !monitor.may_export(&p) => {
                    monitor.refused.insert(label.clone(), idle_exporter(&p));
                }
                Ok(p) if !config.enabled(&p.meta.name) => {
                    tracing::info!("{}: disabled by the config", p.meta.name);
                }
                Ok(p) if !names.insert(p.meta.name.clone()) => {
                    let reason = format!(
                        "a plugin named {:?} is already loaded; names must be unique",
                        p.meta.name
                    );
                    if matches!(file.source, PluginSource::Directory(_)) {
                        monitor.refused.insert(
                            label.clone(),
                            PluginStatus::refused(&label, &file.source, reason.clone()),
                        );
                    }
                    refused.push(Refused {
                        label: label.clone(),
                        error: PluginError::Handshake {
                            name: label,
                            reason,
                        },
                    });
                }
                Ok(p) => monitor.add(p),
                Err(error) => {
                    if matches!(file.source, PluginSource::Directory(_)) {
                        monitor.refused.insert(
                            label.clone(),
                            PluginStatus::refused(&label, &file.source, error.to_string()),
                        );
                    }
                    refused.push(Refused { label, error });
                }
            }
        }
        monitor.replan();
        (monitor, refused)
    }

    /// Starts watching the plugins directory (if there is one): every [`crate::plugins::discovery::RESCAN`]
    /// its changes are loaded on the watcher's thread and swapped in at the next tick.
    pub fn watch(&mut self) -> std::io::Result<()> {
        let Some(discovery) = self.discovery.take() else {
            return Ok(());
        };
        let (tx, rx) = std::sync::mpsc::channel();
        let (stop, stopped) = std::sync::mpsc::channel();
        let readings = Arc::new(TickReadings::new(self.source.clone(), self.folders.clone()));
        discovery.watch(
            self.engine.clone(),
            self.config.clone(),
            readings,
            tx,
            stopped,
        )?;
        self.changes = Some(rx);
        self._stop_watcher = Some(stop);
        Ok(())
    }

    /// The registry the server reads the running plugins from.
    pub fn registry(&self) -> Arc<Registry> {
        self.registry.clone()
    }

    /// Whether an exporter may start: named by `--export` (or enabled in its section), or
    /// given with `--plugin`.
    fn may_export(&self, plugin: &LoadedPlugin) -> bool {
        matches!(plugin.meta.source, PluginSource::File(_))
            || self.config.exports(&plugin.meta.name)
    }

    /// Adds a loaded plugin (or replaces the one of the same name, in its place).
    fn add(&mut self, plugin: LoadedPlugin) {
        let name = plugin.meta.name.clone();
        self.refused.remove(&name);
        if plugin.kind == PluginKind::Exporter {
            let section = self.config.plugins.get(&name);
            match ExportSettings::from_section(&name, section, self.config.refresh) {
                Ok(settings) => {
                    // A new version takes over the old one's batches (and waits for its call
                    // to end, on its own thread).
                    let at = self.exporters.iter().position(|e| e.name == name);
                    let previous = at.map(|i| self.exporters.remove(i));
                    let exporter = Exporter::start(
                        plugin,
                        self.engine.clone(),
                        self.store.clone(),
                        settings,
                        previous,
                    );
                    self.exporters
                        .insert(at.unwrap_or(self.exporters.len()), exporter);
                }
                Err(reason) => {
                    tracing::error!("exporter {name} not started: {reason}");
                    self.refused.insert(
                        name.clone(),
                        PluginStatus::refused(&name, &plugin.meta.source, reason),
                    );
                }
            }
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

    /// Waves and the server's registry after the set of plugins changed.
    fn replan(&mut self) {
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
    fn apply_changes(&mut self) {
        let Some(rx) = &self.changes else {
            return;
        };
        let changes: Vec<Change> = rx.try_iter().collect();
        if changes.is_empty() {
            return;
        }
        for change in changes {
            self.apply(change);
        }
        self.replan();
    }

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

    fn apply(&mut self, change: Change) {
        match change {
            Change::Loaded { name, plugin } => match self.source_of(&name) {
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
                    self.add(*plugin);
                }
            },
            Change::Refused {
                name,
                source,
                reason,
            } => {
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
            Change::Removed { name } => {
                self.refused.remove(&name);
                let from_dir = |a: &Actor| {
                    a.meta.name == name && matches!(a.meta.source, PluginSource::Directory(_))
                };
                let before = self.actors.len() + self.outputs.len() + self.exporters.len();
                self.actors.retain(|a| !from_dir(a));
                self.outputs.retain(|a| !from_dir(a));
                self.exporters.retain(|e| {
                    !(e.name == name && matches!(e.source, PluginSource::Directory(_)))
                });
                if self.actors.len() + self.outputs.len() + self.exporters.len() < before {
                    tracing::info!("plugin {name} unloaded: its file is gone");
                }
            }
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

    /// Runs one tick and publishes its snapshot. A plugin that fails, is late or busy is left
    /// out of this tick; the others are published.
    pub fn tick(&mut self) -> Arc<Snapshot> {
        self.apply_changes();
        self.seq += 1;
        let previous = self.store.snapshot();
        let unix = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let tick = Tick {
            seq: self.seq,
            unix_nanos: unix.as_nanos() as u64,
            monotonic_nanos: monotonic_nanos(),
        };
        let readings = Arc::new(TickReadings::new(self.source.clone(), self.folders.clone()));
        let mut done: Vec<Option<Arc<PluginStats>>> = vec![None; self.actors.len()];
        // Guest code runs from here to the last reply: the epoch ticker is woken once for the
        // tick, not at each call that finds no other call running (a futex wake each).
        let busy = self.engine.busy();
        for wave in &self.waves {
            let partial = Arc::new(Snapshot {
                seq: self.seq,
                unix_millis: unix.as_millis() as u64,
                plugins: done.iter().flatten().cloned().collect(),
            });
            let view = StatsView {
                snapshot: partial,
                store: self.store.clone(),
            };
            let replies = Replies::new(wave.len());
            let mut waiting = 0;
            let mut deadline = Duration::ZERO;
            let mut jobs = Vec::with_capacity(wave.len());
            for &i in wave {
                let actor = &self.actors[i];
                match actor.update(tick, readings.clone(), view.clone(), replies.clone(), i) {
                    Ok(job) => {
                        jobs.push(job);
                        waiting += 1;
                        deadline = deadline.max(actor.sandbox.limits.deadline);
                    }
                    Err(e) => {
                        // Counted as in, so the wait does not last to the deadline for it.
                        replies.skip();
                        if let PluginError::Throttled { .. } = e {
                            // Sitting out is not missing: its last stats stand.
                            done[i] = previous.get(&actor.meta.name).cloned();
                        }
                        if e.is_held_back() {
                            tracing::debug!("{e}");
                        } else {
                            tracing::warn!("{e}");
                        }
                    }
                }
            }
            self.pool.submit_all(jobs);
            let until = Instant::now() + deadline + JOIN_GRACE;
            for reply in replies.wait(until, STALL, || {
                if self.pool.unstick() {
                    tracing::debug!("a plugin call is slow; one more worker for the others");
                }
            }) {
                waiting -= 1;
                // On failure the actor has logged why; the plugin is left out of this tick.
                if let Ok(table) = reply.result {
                    let meta = self.actors[reply.index].meta.clone();
                    done[reply.index] = Some(Arc::new(self.stats_of(meta, table)));
                }
            }
            if waiting > 0 {
                tracing::warn!(
                    "{waiting} plugin(s) did not answer within the deadline; left out of tick {}",
                    self.seq
                );
            }
        }
        drop(busy);
        let snapshot = Arc::new(Snapshot {
            seq: self.seq,
            unix_millis: unix.as_millis() as u64,
            plugins: done.into_iter().flatten().collect(),
        });
        self.store.publish(snapshot.clone());
        tracing::debug!("tick {} collected {:?}", self.seq, readings.collected());
        self.last_readings = Some(readings);
        snapshot
    }

    /// The readings the latest tick collected: only those some plugin asked for.
    pub fn collected_last_tick(&self) -> Vec<&'static str> {
        self.last_readings
            .as_ref()
            .map(|r| r.collected())
            .unwrap_or_default()
    }

    /// Applies the plugin's hide list and decorates the table from the limits.
    fn stats_of(&self, meta: Arc<PluginMeta>, mut table: crate::bindings::Table) -> PluginStats {
        let settings = self.config.plugins.get(&meta.name);
        if let (Some(settings), Some(key)) = (settings, table.key.as_ref())
            && !settings.hide.is_empty()
            && let Some(col) = table.columns.iter().position(|c| c == key)
        {
            table
                .rows
                .retain(|row| row.get(col).is_none_or(|v| !settings.hides(&key_text(v))));
        }
        let decorations = decorate(&table, self.store.limits.get(&meta.name));
        PluginStats {
            meta,
            table,
            decorations,
        }
    }
}

/// An exporter found but not named by `--export`: shown, not run.
fn idle_exporter(plugin: &LoadedPlugin) -> PluginStatus {
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

impl Drop for Monitor {
    fn drop(&mut self) {
        self.pool.stop();
    }
}

/// Groups plugins into waves: a plugin runs in the wave after the last plugin it reads.
/// Reads of plugins that are not loaded are ignored; a cycle is broken by running the rest
/// in a last wave.
pub fn waves(metas: &[Arc<PluginMeta>]) -> Vec<Vec<usize>> {
    let index_of = |name: &str| metas.iter().position(|m| m.name == name);
    let mut wave_of: Vec<Option<usize>> = vec![None; metas.len()];
    let mut progress = true;
    while progress {
        progress = false;
        for (i, meta) in metas.iter().enumerate() {
            if wave_of[i].is_some() {
                continue;
            }
            let deps: Vec<usize> = meta
                .reads
                .iter()
                .filter_map(|r| index_of(r))
                .filter(|&d| d != i)
                .collect();
            if deps.iter().all(|&d| wave_of[d].is_some()) {
                let w = deps
                    .iter()
                    .filter_map(|&d| wave_of[d])
                    .max()
                    .map_or(0, |m| m + 1);
                wave_of[i] = Some(w);
                progress = true;
            }
        }
    }
    let last = wave_of.iter().flatten().max().map_or(0, |m| m + 1);
    let mut waves: Vec<Vec<usize>> = Vec::new();
    for (i, w) in wave_of.iter().enumerate() {
        let w = w.unwrap_or(last);
        if waves.len() <= w {
            waves.resize(w + 1, Vec::new());
        }
        waves[w].push(i);
    }
    waves.retain(|w| !w.is_empty());
    waves
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bindings::Layout;

    fn meta(name: &str, reads: &[&str]) -> Arc<PluginMeta> {
        Arc::new(PluginMeta {
            name: name.into(),
            description: String::new(),
            api_version: 1,
            layout: Layout::Record,
            fields: Vec::new(),
            reads: reads.iter().map(|s| s.to_string()).collect(),
            source: PluginSource::Embedded,
            history_columns: Vec::new(),
        })
    }

    #[test]
    fn readers_run_after_what_they_read() {
        let metas = vec![
            meta("alert", &["cpu", "summary"]),
            meta("cpu", &[]),
            meta("summary", &["cpu", "missing"]),
            meta("mem", &[]),
        ];
        assert_eq!(waves(&metas), vec![vec![1, 3], vec![2], vec![0]]);
    }

    #[test]
    fn cycles_end_up_in_a_last_wave() {
        let metas = vec![meta("a", &["b"]), meta("b", &["a"]), meta("c", &[])];
        assert_eq!(waves(&metas), vec![vec![2], vec![0, 1]]);
    }
}
