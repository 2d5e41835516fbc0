//! Owns loading the plugin set at start: the embedded plugins the config enables, the files
//! given with `--plugin` and the plugins directory's, compiled in parallel, then added or
//! refused one by one.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;

use arc_swap::ArcSwap;
use host_collectors::Source;

use crate::bindings::PluginKind;
use crate::plugins::discovery::{Change, Discovery};
use crate::plugins::engine::GlintEngine;
use crate::plugins::error::PluginError;
use crate::plugins::load::{self, LoadedPlugin, PluginFile};
use crate::plugins::pool::Pool;
use crate::plugins::readings::TickReadings;
use crate::settings::config::Config;
use crate::stats::snapshot::PluginSource;
use crate::stats::status::PluginStatus;
use crate::stats::store::Store;

use super::changes::idle_exporter;
use super::state::{Loaded, Monitor, Refused};

/// A plugin file and what loading it gave.
type LoadResult = (PluginFile, Result<LoadedPlugin, PluginError>);

/// What the plugins directory held at start: the files read, and those that could not be.
#[derive(Default)]
struct DirectoryScan {
    files: Vec<PluginFile>,
    /// For the caller: why each could not be read.
    refused: Vec<Refused>,
    /// For the API: the same refusals as statuses, by name.
    statuses: BTreeMap<String, PluginStatus>,
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
        Monitor::start(config, engine, source, extra, plugins_dir, false)
    }

    /// [`Monitor::new`], but a large component not yet compiled (see
    /// [`PluginFile::compiles_slowly`]) is compiled off the tick's thread and swapped in when
    /// done, listed as `compiling` meanwhile: glint serves and ticks at once. A file of the
    /// plugins directory is left to its watcher (so that one thread sees it removed or
    /// rebuilt), a `--plugin` file to a thread of its own.
    pub fn new_compiling_in_background(
        config: Config,
        engine: GlintEngine,
        source: Source,
        extra: Vec<PluginFile>,
        plugins_dir: Option<PathBuf>,
    ) -> (Monitor, Vec<Refused>) {
        Monitor::start(config, engine, source, extra, plugins_dir, true)
    }

    fn start(
        config: Config,
        engine: GlintEngine,
        source: Source,
        extra: Vec<PluginFile>,
        plugins_dir: Option<PathBuf>,
        background: bool,
    ) -> (Monitor, Vec<Refused>) {
        let config = Arc::new(config);
        let engine = Arc::new(engine);
        let source = Arc::new(source);
        let folders: Arc<[PathBuf]> = config.folders.clone().into();
        let mut files = embedded_files(&config);
        files.extend(extra);
        let mut discovery = plugins_dir.map(Discovery::new);
        let scan = discovery
            .as_mut()
            .map(|d| scan_directory(d, &config))
            .unwrap_or_default();
        files.extend(scan.files);
        // Large components not yet compiled come later, so the first tick is not held up.
        let (later, files): (Vec<PluginFile>, Vec<PluginFile>) = files
            .into_iter()
            .partition(|f| background && f.compiles_slowly(&engine));

        // Compile in parallel: on a cold cache this is most of the start-up time.
        let readings = Arc::new(TickReadings::new(source.clone(), folders.clone()));
        let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
        let loaded = load_all(files, workers, &engine, &config, &readings);
        let (changes_tx, changes) = std::sync::mpsc::channel();

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
            refused: scan.statuses,
            spill_conflicts: Vec::new(),
            changes,
            changes_tx,
            discovery,
            _stop_watcher: None,
        };
        let mut refused = scan.refused;
        monitor.admit_all(loaded, &mut refused);
        monitor.compile_later(later, readings);
        monitor.replan();
        (monitor, refused)
    }

    /// Adds each loaded plugin, in order, or refuses it: a disabled one is left out, an
    /// exporter nobody named is idle, a second plugin of a name is refused, as is one that
    /// failed to load. Refusals are pushed onto `refused`.
    fn admit_all(&mut self, loaded: Vec<LoadResult>, refused: &mut Vec<Refused>) {
        let mut names = HashSet::new();
        for (file, result) in loaded {
            let label = file.label.clone();
            match result {
                Ok(p) if p.kind == PluginKind::Exporter && !self.may_export(&p) => {
                    self.refused.insert(label.clone(), idle_exporter(&p));
                }
                Ok(p) if !self.config.enabled(&p.meta.name) => {
                    tracing::info!("{}: disabled by the config", p.meta.name);
                }
                Ok(p) if !names.insert(p.meta.name.clone()) => {
                    let reason = format!(
                        "a plugin named {:?} is already loaded; names must be unique",
                        p.meta.name
                    );
                    let error = PluginError::Handshake {
                        name: label,
                        reason: reason.clone(),
                    };
                    refused.push(self.refuse_at_start(&file, reason, error));
                }
                Ok(p) => self.add(p),
                Err(error) => {
                    let reason = error.to_string();
                    refused.push(self.refuse_at_start(&file, reason, error));
                }
            }
        }
    }

    /// A plugin refused at start: listed in the API with `reason` if it came from the plugins
    /// directory (the others are reported by the caller only).
    fn refuse_at_start(
        &mut self,
        file: &PluginFile,
        reason: String,
        error: PluginError,
    ) -> Refused {
        let label = file.label.clone();
        if matches!(file.source, PluginSource::Directory(_)) {
            self.refused.insert(
                label.clone(),
                PluginStatus::refused(&label, &file.source, reason),
            );
        }
        Refused { label, error }
    }

    /// Lists `files` as `compiling` and has them compiled off the tick's thread: the
    /// directory's by its watcher (which loads what it has not seen at its first scan), the
    /// others one after the other on a thread of their own (wasmtime already compiles a
    /// component's functions in parallel). Each is handed over as a change and swapped in at
    /// the next tick.
    fn compile_later(&mut self, files: Vec<PluginFile>, readings: Arc<TickReadings>) {
        let mut own = Vec::new();
        for file in files {
            let bytes = file.bytes.len();
            // Said at the default level: the plugin is missing for seconds, here is why.
            tracing::warn!(
                "plugin {}: compiling its {:.1} MB component in the background",
                file.label,
                bytes as f64 / 1e6
            );
            self.refused.insert(
                file.label.clone(),
                PluginStatus::compiling(&file.label, &file.source, bytes),
            );
            match (&file.source, self.discovery.as_mut()) {
                (PluginSource::Directory(_), Some(discovery)) => discovery.forget(&file.label),
                _ => own.push(file),
            }
        }
        if own.is_empty() {
            return;
        }
        let labels: Vec<(String, PluginSource)> = own
            .iter()
            .map(|f| (f.label.clone(), f.source.clone()))
            .collect();
        let (engine, config) = (self.engine.clone(), self.config.clone());
        let tx = self.changes_tx.clone();
        let spawned = std::thread::Builder::new()
            .name("glint-compile".into())
            .spawn(move || {
                for file in own {
                    // A panic while loading must not leave the plugin compiling for ever.
                    let loaded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        load::load(&engine, &file, &config, readings.clone())
                    }));
                    let result = match loaded {
                        Ok(Ok(plugin)) => Ok(Box::new(plugin)),
                        Ok(Err(e)) => Err(e.to_string()),
                        Err(_) => Err("glint failed while loading it (a panic)".to_string()),
                    };
                    let change = Change::Compiled {
                        label: file.label.clone(),
                        source: file.source.clone(),
                        result,
                    };
                    if tx.send(change).is_err() {
                        return;
                    }
                }
            });
        if let Err(e) = spawned {
            for (label, source) in labels {
                let reason = format!("cannot start the background compiler: {e}");
                tracing::error!("plugin {label} refused: {reason}");
                self.refused.insert(
                    label.clone(),
                    PluginStatus::refused(&label, &source, reason),
                );
            }
        }
    }
}

/// The embedded plugins the config enables (an exporter: that it exports).
fn embedded_files(config: &Config) -> Vec<PluginFile> {
    crate::embedded::DEFAULT_PLUGINS
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
        .collect()
}

/// Reads every plugin of the directory, once; those that cannot be read are refused.
fn scan_directory(discovery: &mut Discovery, config: &Config) -> DirectoryScan {
    let mut scan = DirectoryScan::default();
    let (found, _) = discovery.scan();
    for name in found {
        match discovery.read(&name, config) {
            Ok(file) => scan.files.push(file),
            Err(reason) => {
                let source = PluginSource::Directory(discovery.dir().join(format!("{name}.wasm")));
                scan.statuses.insert(
                    name.clone(),
                    PluginStatus::refused(&name, &source, reason.clone()),
                );
                // Not a handshake: its files could not be read (or it is disabled).
                scan.refused.push(Refused {
                    label: name.clone(),
                    error: PluginError::Call { name, reason },
                });
            }
        }
    }
    scan
}

/// Loads (compiles and handshakes) every file on up to `workers` threads, each taking an
/// equal run of the files; the results keep the files' order.
fn load_all(
    files: Vec<PluginFile>,
    workers: usize,
    engine: &Arc<GlintEngine>,
    config: &Arc<Config>,
    readings: &Arc<TickReadings>,
) -> Vec<LoadResult> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = chunks(files, workers)
            .into_iter()
            .map(|chunk| {
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
    })
}

/// Splits the files into at most `workers` runs of equal length (the last may be shorter).
fn chunks(files: Vec<PluginFile>, workers: usize) -> Vec<Vec<PluginFile>> {
    let mut chunks: Vec<Vec<PluginFile>> = Vec::new();
    let per = files.len().div_ceil(workers).max(1);
    for file in files {
        match chunks.last_mut() {
            Some(last) if last.len() < per => last.push(file),
            _ => chunks.push(vec![file]),
        }
    }
    chunks
}
