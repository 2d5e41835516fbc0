//! The tick: loads the enabled plugins, fans each tick out to them (in waves, so a plugin
//! that reads others' stats runs after them), joins with a deadline and publishes the
//! snapshot.

use std::borrow::Cow;
use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use host_collectors::Source;

use crate::bindings::{ConfigValue, PluginKind, Tick};
use crate::config::Config;
use crate::engine::GlintEngine;
use crate::host::StatsView;
use crate::plugin::{self, Actor, Limits, PluginError, PluginStatus, Replies};
use crate::pool::Pool;
use crate::readings::TickReadings;
use crate::store::{PluginMeta, PluginSource, PluginStats, Snapshot, Store, decorate, key_text};

/// How long past a plugin's own deadline the tick waits for its answer: the epoch ticker
/// interrupts a guest within one period of its deadline, so 100 ms covers that plus the
/// host's own work on the reply.
const JOIN_GRACE: Duration = Duration::from_millis(100);

/// How long a wave may make no progress before the pool gets another worker: a whole tick
/// of plugins takes a few milliseconds, so 25 ms without them all in means some call is
/// running towards its deadline and the calls queued behind it need a thread.
const STALL: Duration = Duration::from_millis(25);

/// A plugin to load: its label, component bytes and where it comes from.
pub struct PluginFile {
    pub label: String,
    /// Borrowed for embedded plugins: never copied, and on a warm start never read.
    pub bytes: Cow<'static, [u8]>,
    pub sha256: [u8; 32],
    pub source: PluginSource,
}

impl PluginFile {
    /// Reads a component file given on the command line.
    pub fn read(path: &std::path::Path) -> Result<PluginFile, std::io::Error> {
        let bytes = std::fs::read(path)?;
        let sha256 = crate::engine::digest(&bytes);
        let label = path
            .file_stem()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_else(|| path.display().to_string());
        Ok(PluginFile {
            label,
            bytes: Cow::Owned(bytes),
            sha256,
            source: PluginSource::File(path.to_path_buf()),
        })
    }
}

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
}

/// Monotonic nanoseconds since the first tick of this process.
fn monotonic_nanos() -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

impl Monitor {
    /// Loads the embedded plugins the config enables plus `extra` files. A plugin that fails
    /// to load is refused (and reported), the others run.
    pub fn new(
        config: Config,
        engine: GlintEngine,
        source: Source,
        extra: Vec<PluginFile>,
    ) -> (Monitor, Vec<Refused>) {
        let config = Arc::new(config);
        let engine = Arc::new(engine);
        let source = Arc::new(source);
        let folders: Arc<[PathBuf]> = config.folders.clone().into();
        let limits = Limits {
            memory: config.plugin_memory,
            deadline: config.plugin_deadline,
        };
        let mut files: Vec<PluginFile> = crate::embedded::DEFAULT_PLUGINS
            .iter()
            .filter(|p| config.enabled(p.name))
            .map(|p| PluginFile {
                label: p.name.to_string(),
                bytes: Cow::Borrowed(p.bytes),
                sha256: p.sha256,
                source: PluginSource::Embedded,
            })
            .collect();
        files.extend(extra);

        // Compile in parallel: on a cold cache this is most of the start-up time.
        let readings = Arc::new(TickReadings::new(source.clone(), folders.clone()));
        let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
        let loaded: Vec<(String, Result<plugin::LoadedPlugin, PluginError>)> =
            std::thread::scope(|scope| {
                let chunks: Vec<_> = files
                    .chunks(files.len().div_ceil(workers).max(1))
                    .map(|chunk| {
                        let engine = &engine;
                        let config = &config;
                        let readings = &readings;
                        scope.spawn(move || {
                            chunk
                                .iter()
                                .map(|f| {
                                    let result = plugin::load(
                                        engine,
                                        f,
                                        limits,
                                        |name| settings_of(config, name),
                                        readings.clone(),
                                    );
                                    (f.label.clone(), result)
                                })
                                .collect::<Vec<_>>()
                        })
                    })
                    .collect();
                chunks
                    .into_iter()
                    .flat_map(|h| h.join().unwrap_or_default())
                    .collect()
            });

        let pool = Pool::new(workers);
        let mut refused = Vec::new();
        let mut actors: Vec<Actor> = Vec::new();
        let mut outputs: Vec<Arc<Actor>> = Vec::new();
        let mut names = HashSet::new();
        for (label, result) in loaded {
            match result {
                Ok(p) if !config.enabled(&p.meta.name) => {
                    tracing::info!("{}: disabled by the config", p.meta.name);
                }
                Ok(p) if !names.insert(p.meta.name.clone()) => refused.push(Refused {
                    label: label.clone(),
                    error: PluginError::Handshake {
                        name: label,
                        reason: format!(
                            "a plugin named {:?} is already loaded; names must be unique",
                            p.meta.name
                        ),
                    },
                }),
                Ok(p) if p.kind == PluginKind::Output => {
                    outputs.push(Arc::new(Actor::spawn(p, engine.clone())));
                }
                Ok(p) => {
                    let index = actors.len();
                    actors.push(Actor::pooled(p, engine.clone(), index, &pool));
                }
                Err(error) => refused.push(Refused { label, error }),
            }
        }
        let metas: Vec<Arc<PluginMeta>> = actors.iter().map(|a| a.meta.clone()).collect();
        let waves = waves(&metas);
        let store = Arc::new(Store::new(config.history_size, config.limits.clone()));
        (
            Monitor {
                actors,
                outputs,
                pool,
                waves,
                store,
                source,
                config,
                folders,
                seq: 0,
                last_readings: None,
            },
            refused,
        )
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

    /// The loaded output plugins.
    pub fn outputs(&self) -> &[Arc<Actor>] {
        &self.outputs
    }

    /// Runs one tick and publishes its snapshot. A plugin that fails, is late or busy is left
    /// out of this tick; the others are published.
    pub fn tick(&mut self) -> Arc<Snapshot> {
        self.seq += 1;
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
            for &i in wave {
                match self.actors[i].update(tick, readings.clone(), view.clone(), replies.clone()) {
                    Ok(()) => waiting += 1,
                    Err(e) => {
                        // Counted as in, so the wait does not last to the deadline for it.
                        replies.skip();
                        tracing::warn!("{e}");
                    }
                }
            }
            let until = Instant::now() + self.config.plugin_deadline + JOIN_GRACE;
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
        let snapshot = Arc::new(Snapshot {
            seq: self.seq,
            unix_millis: unix.as_millis() as u64,
            plugins: done.into_iter().flatten().collect(),
        });
        self.store.publish(snapshot.clone());
        self.store.set_plugins(
            self.actors
                .iter()
                .chain(self.outputs.iter().map(|a| &**a))
                .map(PluginStatus::of)
                .collect(),
        );
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

impl Drop for Monitor {
    fn drop(&mut self) {
        self.pool.stop();
    }
}

/// The plugin's own settings, as the config interface hands them over.
fn settings_of(config: &Config, plugin: &str) -> Vec<(String, ConfigValue)> {
    config
        .plugins
        .get(plugin)
        .map(|p| {
            p.settings
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default()
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
