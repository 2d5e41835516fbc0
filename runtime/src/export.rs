//! The export pipeline: for each exporter, a thread of its own that takes batches of the
//! published stats at the exporter's interval, keeps them in a bounded buffer (memory,
//! spilled to a directory when set) while the target is down or slow, and sends them oldest
//! first through the exporter plugin, with backoff on retryable errors. The tick only hands
//! over a snapshot (a few `Arc` clones): a slow exporter never delays it or another exporter.

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::bindings::input::glint::plugin::types::{Batch, ExportError, Schema};
use crate::bindings::{ConfigValue, FieldInfo, Table, Unit, Value};
use crate::config::PluginSettings;
use crate::engine::GlintEngine;
use crate::host::StatsView;
use crate::plugin::{LoadedPlugin, PluginError, PluginStatus};
use crate::store::{PluginStats, Snapshot, Store};

/// Left out unless named in `plugins`: a row per process makes a time series per PID, which
/// time-series databases are not built for (their index grows without end).
const NOT_EXPORTED_BY_DEFAULT: &[&str] = &["processlist"];

/// Defaults of an exporter's section. Buffer: 64 MiB holds about an hour of the default
/// plugins' batches at a 2 s refresh (~15 KiB each). Spill: 1 GiB on disk is days of them.
/// 60 batches per call: a minute of 1 s batches in one request when replaying, small enough
/// for any target's request size limit. Retry: 1 s doubling up to 30 s, so a target back
/// from an outage gets its backlog within 30 s.
const DEFAULT_BUFFER_MB: u64 = 64;
const DEFAULT_SPILL_MB: u64 = 1024;
const DEFAULT_BATCHES_PER_CALL: u64 = 60;
const DEFAULT_RETRY_MS: u64 = 1_000;
const DEFAULT_MAX_RETRY_MS: u64 = 30_000;

/// The settings the host reads from an exporter's section (`[plugins.NAME]`); the exporter
/// sees the whole section too, and takes its own (`url`, `prefix`...) from it.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportSettings {
    /// How often a batch is taken: the refresh unless `interval` (seconds) says otherwise.
    pub interval: Duration,
    /// The plugins exported; `None`: all but [`NOT_EXPORTED_BY_DEFAULT`].
    pub plugins: Option<Vec<String>>,
    /// `plugin.field` entries: for a plugin named here, only these fields (and its key).
    pub fields: BTreeMap<String, Vec<String>>,
    pub buffer_bytes: usize,
    /// Where batches go when the memory buffer is full (a directory per exporter below it),
    /// and stay across restarts of glint.
    pub spill_dir: Option<PathBuf>,
    pub spill_bytes: u64,
    pub batches_per_call: usize,
    pub retry: Duration,
    pub max_retry: Duration,
}

impl ExportSettings {
    /// The settings of exporter `name`, from its section (if any); an error names the key,
    /// the bad value and what is expected.
    pub fn from_section(
        name: &str,
        section: Option<&PluginSettings>,
        refresh: Duration,
    ) -> Result<ExportSettings, String> {
        let empty = BTreeMap::new();
        let settings = section.map_or(&empty, |s| &s.settings);
        let bad = |key: &str, what: &str| format!("[plugins.{name}] {key}: {what}");
        let number = |key: &str, default: u64, min: u64, max: u64| -> Result<u64, String> {
            match settings.get(key) {
                None => Ok(default),
                Some(ConfigValue::Int(i)) if *i >= min as i64 && *i <= max as i64 => Ok(*i as u64),
                Some(other) => Err(bad(
                    key,
                    &format!("expected a whole number from {min} to {max}, found {other:?}"),
                )),
            }
        };
        let list = |key: &str| -> Result<Option<Vec<String>>, String> {
            match settings.get(key) {
                None => Ok(None),
                Some(ConfigValue::TextList(l)) => Ok(Some(l.clone())),
                Some(ConfigValue::Text(t)) => Ok(Some(
                    t.split(',')
                        .map(|s| s.trim().to_string())
                        .filter(|s| !s.is_empty())
                        .collect(),
                )),
                Some(other) => Err(bad(
                    key,
                    &format!(
                        "expected a list of names (\"cpu,mem\" or [\"cpu\", \"mem\"]), found {other:?}"
                    ),
                )),
            }
        };
        let interval = match settings.get("interval") {
            None => refresh,
            Some(ConfigValue::Int(i)) if *i > 0 && *i <= 86_400 => Duration::from_secs(*i as u64),
            Some(ConfigValue::Float(f)) if *f >= 0.1 && *f <= 86_400.0 => {
                Duration::from_secs_f64(*f)
            }
            Some(other) => {
                return Err(bad(
                    "interval",
                    &format!("expected seconds from 0.1 to 86400, found {other:?}"),
                ));
            }
        };
        let mut fields: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for entry in list("fields")?.unwrap_or_default() {
            let Some((plugin, field)) = entry.split_once('.') else {
                return Err(bad(
                    "fields",
                    &format!("{entry:?} is not plugin.field (e.g. \"cpu.total\")"),
                ));
            };
            fields
                .entry(plugin.to_string())
                .or_default()
                .push(field.to_string());
        }
        let retry_ms = number("retry_ms", DEFAULT_RETRY_MS, 10, 3_600_000)?;
        let max_retry_ms = number(
            "max_retry_ms",
            DEFAULT_MAX_RETRY_MS.max(retry_ms),
            10,
            86_400_000,
        )?;
        if max_retry_ms < retry_ms {
            return Err(bad(
                "max_retry_ms",
                &format!(
                    "{max_retry_ms} is less than retry_ms ({retry_ms}); the retries start at retry_ms and double up to max_retry_ms"
                ),
            ));
        }
        let spill_dir = match settings.get("spill_dir") {
            None => None,
            Some(ConfigValue::Text(t)) if Path::new(t).is_absolute() => {
                Some(PathBuf::from(t).join(name))
            }
            Some(other) => {
                return Err(bad(
                    "spill_dir",
                    &format!("expected an absolute directory path, found {other:?}"),
                ));
            }
        };
        // Ranges, past which a value is a typo: an interval of 0.1 s (a tick is rarely
        // shorter) to a day; a buffer of 1 KiB (a few small batches, for tests) to 64 GiB;
        // 1 TiB of spill; calls of 1 to 10,000 batches; retries from 10 ms (less hammers a
        // target) to an hour, and at most a day apart.
        Ok(ExportSettings {
            interval,
            plugins: list("plugins")?,
            fields,
            buffer_bytes: match settings.get("buffer_mb") {
                // A fraction of a MiB is allowed (a small machine, or a test of the spill).
                Some(ConfigValue::Float(f)) if *f >= 0.001 && *f <= 65_536.0 => {
                    (*f * 1_048_576.0) as usize
                }
                Some(ConfigValue::Float(f)) => {
                    return Err(bad(
                        "buffer_mb",
                        &format!("expected MiB from 0.001 to 65536, found {f}"),
                    ));
                }
                _ => (number("buffer_mb", DEFAULT_BUFFER_MB, 1, 65_536)? << 20) as usize,
            },
            spill_dir,
            spill_bytes: number("spill_max_mb", DEFAULT_SPILL_MB, 1, 1 << 20)? << 20,
            batches_per_call: number("batches_per_call", DEFAULT_BATCHES_PER_CALL, 1, 10_000)?
                as usize,
            retry: Duration::from_millis(retry_ms),
            max_retry: Duration::from_millis(max_retry_ms),
        })
    }

    fn exports(&self, plugin: &str) -> bool {
        match &self.plugins {
            Some(list) => list.iter().any(|p| p == plugin),
            None => !NOT_EXPORTED_BY_DEFAULT.contains(&plugin),
        }
    }
}

/// An exporter's figures, as `/api/3/plugins/NAME` shows them under `export`.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct ExportStatus {
    pub interval_ms: u64,
    /// Where it sends (its `url` or `file` setting).
    pub target: String,
    /// Batches waiting to be sent, in memory and on disk.
    pub buffered: u64,
    pub buffered_bytes: u64,
    pub spilled: u64,
    pub sent: u64,
    /// Calls that sent something, and the batches of the largest one (a replay).
    pub calls_ok: u64,
    pub largest_call: u64,
    /// Dropped because the buffer was full (the oldest go first).
    pub dropped: u64,
    /// Refused by the target for good (logged with its answer).
    pub rejected: u64,
    pub retries: u64,
    pub last_sent_millis: Option<u64>,
    pub last_error: Option<String>,
    /// Milliseconds until the next try, while the target is failing.
    pub retry_in_ms: Option<u64>,
}

/// One batch waiting: its tables as of its tick (shared with the snapshot), or its file.
struct Kept {
    /// Unique within this exporter, in arrival order; a spilled file is named after it.
    id: u64,
    bytes: u64,
    held: Held,
}

enum Held {
    Memory {
        seq: u64,
        unix_nanos: u64,
        tables: Vec<Arc<PluginStats>>,
    },
    Disk(PathBuf),
}

struct State {
    /// Oldest first; batches on disk are always older than those in memory.
    kept: VecDeque<Kept>,
    memory_bytes: u64,
    disk_bytes: u64,
    next_id: u64,
    /// The first `in_flight` batches of `kept` are in the call in progress: not dropped
    /// under it (they would count as dropped and then as sent).
    in_flight: usize,
    /// When the last batch was taken, on the monotonic clock (a wall clock set back must
    /// not stop the exports).
    last_taken: Option<Instant>,
    retry_at: Option<Instant>,
    backoff: Duration,
    /// Batches per call now: halved when a call fails as a whole, back up on success.
    per_call: usize,
    /// The target is failing: its warning was logged once for this outage.
    failing: bool,
    /// The spill directory cannot be written: said once.
    spill_failing: bool,
    /// Batches are being dropped: said once, until a delivery.
    dropping: bool,
    /// Files to delete, by the exporter's thread outside the lock.
    trash: Vec<PathBuf>,
    stop: bool,
    status: ExportStatus,
}

struct Shared {
    state: Mutex<State>,
    wake: Condvar,
    /// The exporter's thread is alive.
    alive: std::sync::atomic::AtomicBool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A running exporter: the handle the monitor keeps.
pub struct Exporter {
    pub name: String,
    pub source: crate::store::PluginSource,
    pub settings: ExportSettings,
    /// Its counters and health (the API re-enables a quarantined exporter through them).
    pub counters: Arc<crate::plugin::PluginCounters>,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
    /// For the plugin's status (its counters, health, sandbox).
    status: Arc<dyn Fn() -> PluginStatus + Send + Sync>,
}

/// This machine's name, as batches carry it.
pub fn hostname() -> String {
    rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .into_owned()
}

/// Marks the thread dead when it ends, however it ends.
struct Alive(Arc<Shared>);

impl Drop for Alive {
    fn drop(&mut self) {
        self.0
            .alive
            .store(false, std::sync::atomic::Ordering::Relaxed);
    }
}

impl Exporter {
    /// Starts exporter `plugin` on a thread of its own. `previous` is the exporter it
    /// replaces (a new version of its file): the new thread waits for the old one to finish
    /// its call and takes over every batch it kept. Otherwise batches a previous run of glint
    /// left in its spill directory are sent first.
    pub fn start(
        plugin: LoadedPlugin,
        engine: Arc<GlintEngine>,
        store: Arc<Store>,
        settings: ExportSettings,
        previous: Option<Exporter>,
    ) -> Exporter {
        let name = plugin.meta.name.clone();
        let meta_source = plugin.meta.source.clone();
        let counters = plugin.counters.clone();
        let target = plugin
            .sandbox
            .settings
            .iter()
            .find(|(k, _)| k == "url" || k == "file")
            .map(|(_, v)| match v {
                ConfigValue::Text(t) => t.clone(),
                other => format!("{other:?}"),
            })
            .unwrap_or_default();
        let state = State {
            kept: VecDeque::new(),
            memory_bytes: 0,
            disk_bytes: 0,
            next_id: 0,
            in_flight: 0,
            last_taken: None,
            retry_at: None,
            backoff: settings.retry,
            per_call: settings.batches_per_call,
            failing: false,
            spill_failing: false,
            dropping: false,
            trash: Vec::new(),
            stop: false,
            status: ExportStatus {
                interval_ms: settings.interval.as_millis() as u64,
                target,
                ..ExportStatus::default()
            },
        };
        let shared = Arc::new(Shared {
            state: Mutex::new(state),
            wake: Condvar::new(),
            alive: std::sync::atomic::AtomicBool::new(true),
        });
        let status = {
            let meta = plugin.meta.clone();
            let counters = plugin.counters.clone();
            let sandbox = plugin.sandbox.clone();
            let version = plugin.version.clone();
            let kind = plugin.kind;
            let shared = shared.clone();
            Arc::new(move || {
                let running = shared.alive.load(std::sync::atomic::Ordering::Relaxed);
                let mut status =
                    PluginStatus::from_parts(&meta, kind, &version, &sandbox, &counters, running);
                let state = shared.lock();
                let mut export = state.status.clone();
                export.buffered = state.kept.len() as u64;
                export.buffered_bytes = state.memory_bytes + state.disk_bytes;
                export.spilled = state
                    .kept
                    .iter()
                    .filter(|k| matches!(k.held, Held::Disk(_)))
                    .count() as u64;
                export.retry_in_ms = state
                    .retry_at
                    .map(|at| at.saturating_duration_since(Instant::now()).as_millis() as u64);
                status.export = Some(export);
                status
            }) as Arc<dyn Fn() -> PluginStatus + Send + Sync>
        };
        let thread = {
            let shared = shared.clone();
            let settings = settings.clone();
            let thread_name = name.clone();
            std::thread::Builder::new()
                .name(format!("export-{name}"))
                .spawn(move || {
                    let alive = Alive(shared.clone());
                    take_over(&thread_name, &shared, &settings, previous);
                    run(plugin, engine, store, settings, shared);
                    drop(alive);
                })
                .map_err(|e| tracing::error!("exporter {name}: cannot start its thread: {e}"))
                .ok()
        };
        if thread.is_none() {
            shared
                .alive
                .store(false, std::sync::atomic::Ordering::Relaxed);
        }
        Exporter {
            name,
            source: meta_source,
            settings,
            counters,
            shared,
            thread,
            status,
        }
    }

    /// Called after each tick: takes a batch of `snapshot` if the interval is up. Costs the
    /// tick a lock and some `Arc` clones; the rest happens on the exporter's thread.
    pub fn offer(&self, snapshot: &Snapshot) {
        let interval = self.settings.interval;
        let now = Instant::now();
        let mut state = self.shared.lock();
        if let Some(last) = state.last_taken
            // A tick a little early still takes its batch (ticks jitter by milliseconds).
            && now.duration_since(last) + interval / 10 < interval
        {
            return;
        }
        state.last_taken = Some(now);
        let tables: Vec<Arc<PluginStats>> = snapshot
            .plugins
            .iter()
            .filter(|p| self.settings.exports(&p.meta.name))
            .cloned()
            .collect();
        let bytes: u64 = tables
            .iter()
            .map(|t| crate::plugin::table_bytes(&t.table) as u64)
            .sum();
        let id = state.next_id;
        state.next_id += 1;
        state.kept.push_back(Kept {
            id,
            bytes,
            held: Held::Memory {
                seq: snapshot.seq,
                unix_nanos: snapshot.unix_millis * 1_000_000,
                tables,
            },
        });
        state.memory_bytes += bytes;
        // Without a spill directory the memory buffer is all there is: full, the oldest go.
        // With one, the exporter's thread moves them to disk between calls; if it cannot
        // keep up (stuck in a call, or the disk refuses), memory still stops at twice the
        // buffer.
        let cap = match self.settings.spill_dir {
            None => self.settings.buffer_bytes as u64,
            Some(_) => 2 * self.settings.buffer_bytes as u64,
        };
        drop_oldest(&self.name, &mut state, Tier::Memory, cap);
        drop(state);
        self.shared.wake.notify_one();
    }

    /// How its status is made, when asked for.
    pub fn status_source(&self) -> crate::plugin::StatusSource {
        let (shared, status) = (self.shared.clone(), self.status.clone());
        crate::plugin::StatusSource::new(
            self.counters.clone(),
            move || shared.alive.load(std::sync::atomic::Ordering::Relaxed),
            move || status(),
        )
    }

    /// Asks its thread to stop: it finishes the call in progress, spills what it holds (with
    /// a spill directory) and ends.
    pub fn ask_to_stop(&self) {
        self.shared.lock().stop = true;
        self.shared.wake.notify_one();
    }

    /// Stops it and waits for its thread, up to `until`; whether it ended in time.
    pub fn shutdown(&mut self, until: Instant) -> bool {
        self.ask_to_stop();
        while self.shared.alive.load(std::sync::atomic::Ordering::Relaxed) {
            if Instant::now() >= until {
                let state = self.shared.lock();
                let held = state
                    .kept
                    .iter()
                    .filter(|k| matches!(k.held, Held::Memory { .. }))
                    .count();
                tracing::warn!(
                    "exporter {}: still busy at shutdown; {held} batch(es) in memory are lost",
                    self.name
                );
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        let state = self.shared.lock();
        let held = state
            .kept
            .iter()
            .filter(|k| matches!(k.held, Held::Memory { .. }))
            .count();
        if held > 0 {
            tracing::warn!(
                "exporter {}: {held} batch(es) not sent are lost at shutdown (set spill_dir in [plugins.{}] to keep them)",
                self.name,
                self.name
            );
        }
        true
    }
}

impl Drop for Exporter {
    /// Tells its thread to stop and does not wait: a call in progress may take up to its
    /// deadline, and whoever drops an exporter (the tick, on removing a plugin) must not
    /// wait that long. (A replaced exporter is handed to its successor instead, which waits.)
    fn drop(&mut self) {
        self.ask_to_stop();
        drop(self.thread.take());
    }
}

/// Before a replacement runs: waits for the exporter it replaces to end, and takes every
/// batch it kept, in order. Without one: the batches an earlier run left on disk.
fn take_over(name: &str, shared: &Shared, settings: &ExportSettings, previous: Option<Exporter>) {
    let Some(mut previous) = previous else {
        if let Some(dir) = &settings.spill_dir {
            reload_spilled(name, dir, &mut shared.lock());
        }
        return;
    };
    previous.ask_to_stop();
    if let Some(thread) = previous.thread.take() {
        let _ = thread.join();
    }
    let mut old = previous.shared.lock();
    let mut state = shared.lock();
    for mut kept in std::mem::take(&mut old.kept) {
        kept.id = state.next_id;
        state.next_id += 1;
        match kept.held {
            Held::Memory { .. } => state.memory_bytes += kept.bytes,
            Held::Disk(_) => state.disk_bytes += kept.bytes,
        }
        state.kept.push_back(kept);
    }
    // Kept apart: the new version's batches come after the old one's, and the old counts
    // carry on.
    let mut old_count = std::mem::take(&mut old.status);
    old_count.interval_ms = state.status.interval_ms;
    old_count.target = state.status.target.clone();
    old_count.last_error = None;
    state.status = old_count;
    state.trash.append(&mut old.trash);
    state.next_id = state.next_id.max(old.next_id);
}

/// Where a kept batch is held, for [`drop_oldest`].
#[derive(Clone, Copy, PartialEq)]
enum Tier {
    Memory,
    Disk,
}

/// Drops the oldest batches held in `tier` while that tier holds more than `cap` bytes
/// (never one in the call in progress, nor the newest batch in memory: a buffer smaller than
/// one batch still sends the latest); counted and logged once per outage.
fn drop_oldest(name: &str, state: &mut State, tier: Tier, cap: u64) {
    let held = |state: &State| match tier {
        Tier::Memory => state.memory_bytes,
        Tier::Disk => state.disk_bytes,
    };
    let mut dropped = 0;
    while held(state) > cap {
        let Some(i) = state
            .kept
            .iter()
            .enumerate()
            .skip(state.in_flight)
            .find(|(_, k)| matches!(k.held, Held::Memory { .. }) == (tier == Tier::Memory))
            .map(|(i, _)| i)
        else {
            break;
        };
        if tier == Tier::Memory && i + 1 == state.kept.len() {
            break;
        }
        if let Some(kept) = state.kept.remove(i) {
            forget(state, kept);
            dropped += 1;
        }
    }
    count_dropped(name, state, dropped);
}

fn count_dropped(name: &str, state: &mut State, dropped: u64) {
    if dropped == 0 {
        return;
    }
    if !state.dropping {
        tracing::warn!(
            "exporter {name}: buffer full, dropping the oldest batches (counted as dropped); raise buffer_mb or set spill_dir (or spill_max_mb) in [plugins.{name}]"
        );
        state.dropping = true;
    }
    state.status.dropped += dropped;
}

/// Accounts for a batch leaving the buffer (sent, dropped, refused); its file goes to the
/// trash, deleted outside the lock.
fn forget(state: &mut State, kept: Kept) {
    match kept.held {
        Held::Memory { .. } => state.memory_bytes = state.memory_bytes.saturating_sub(kept.bytes),
        Held::Disk(path) => {
            state.disk_bytes = state.disk_bytes.saturating_sub(kept.bytes);
            state.trash.push(path);
        }
    }
}

/// What a call sends: the ids of its batches, and the batches.
struct Taken {
    ids: Vec<u64>,
    schema: Vec<Schema>,
    batches: Vec<Batch>,
}

/// The exporter's thread: waits for batches, spills what does not fit in memory, sends the
/// oldest, and on stop spills what is left (with a spill directory, nothing is lost across
/// a restart of glint).
fn run(
    mut plugin: LoadedPlugin,
    engine: Arc<GlintEngine>,
    store: Arc<Store>,
    settings: ExportSettings,
    shared: Arc<Shared>,
) {
    let name = plugin.meta.name.clone();
    let hostname = hostname();
    loop {
        empty_trash(&shared);
        let mut state = shared.lock();
        loop {
            if state.stop {
                break;
            }
            let now = Instant::now();
            let spill_due = settings.spill_dir.is_some()
                && !state.spill_failing
                && state.memory_bytes > settings.buffer_bytes as u64;
            match state.retry_at {
                _ if spill_due => break,
                Some(at) if at > now => {
                    let (next, _) = shared
                        .wake
                        .wait_timeout(state, at - now)
                        .unwrap_or_else(PoisonError::into_inner);
                    state = next;
                }
                _ if !state.kept.is_empty() => break,
                _ => {
                    state = shared
                        .wake
                        .wait(state)
                        .unwrap_or_else(PoisonError::into_inner);
                }
            }
        }
        let stop = state.stop;
        drop(state);
        if let Some(dir) = &settings.spill_dir {
            spill(&name, dir, &shared, &settings, &hostname, stop);
        }
        if stop {
            empty_trash(&shared);
            return;
        }
        let ready = shared.lock().retry_at.is_none_or(|at| at <= Instant::now());
        if !ready {
            continue;
        }
        let Some(taken) = take(&name, &shared, &settings, &hostname) else {
            continue;
        };
        let stats = StatsView {
            snapshot: store.snapshot(),
            store: store.clone(),
        };
        let outcome = plugin.export(&engine, stats, &taken.schema, &taken.batches);
        settle(&name, &shared, &settings, taken, outcome);
    }
}

/// Deletes the files of batches that left the buffer, outside the lock the tick takes.
fn empty_trash(shared: &Shared) {
    let trash = std::mem::take(&mut shared.lock().trash);
    for path in trash {
        let _ = std::fs::remove_file(path);
    }
}

/// The oldest batches, up to the current batches per call, as the exporter gets them
/// (files read back outside the lock). A file that no longer parses is dropped and counted;
/// one that cannot be read now is left for the next try.
fn take(name: &str, shared: &Shared, settings: &ExportSettings, hostname: &str) -> Option<Taken> {
    enum Source {
        Memory(u64, u64, Vec<Arc<PluginStats>>),
        Disk(PathBuf),
    }
    let sources: Vec<(u64, Source)> = {
        let mut state = shared.lock();
        let sources: Vec<(u64, Source)> = state
            .kept
            .iter()
            .take(state.per_call)
            .map(|k| {
                let source = match &k.held {
                    Held::Memory {
                        seq,
                        unix_nanos,
                        tables,
                    } => Source::Memory(*seq, *unix_nanos, tables.clone()),
                    Held::Disk(path) => Source::Disk(path.clone()),
                };
                (k.id, source)
            })
            .collect();
        state.in_flight = sources.len();
        sources
    };
    if sources.is_empty() {
        return None;
    }
    let mut schema: Vec<Schema> = Vec::new();
    let mut ids = Vec::new();
    let mut batches = Vec::new();
    let mut unreadable = Vec::new();
    let mut blocked = false;
    for (id, source) in sources {
        let (batch, fields) = match source {
            Source::Memory(seq, unix_nanos, tables) => {
                build_batch(seq, unix_nanos, hostname, &tables, settings)
            }
            Source::Disk(path) => match read_spilled(&path) {
                Ok(v) => v,
                Err(Spilled::Corrupt(e)) => {
                    tracing::error!(
                        "exporter {name}: dropping a spilled batch that does not parse: {e}"
                    );
                    unreadable.push(id);
                    continue;
                }
                Err(Spilled::Io(e)) => {
                    // Kept, in its place: the batches after it wait for it (order first).
                    tracing::warn!("exporter {name}: cannot read a spilled batch now: {e}");
                    blocked = true;
                    break;
                }
            },
        };
        for s in fields {
            if !schema.iter().any(|x| x.plugin == s.plugin) {
                schema.push(s);
            }
        }
        ids.push(id);
        batches.push(batch);
    }
    let mut state = shared.lock();
    if !unreadable.is_empty() {
        remove(&mut state, &unreadable);
        state.status.dropped += unreadable.len() as u64;
    }
    state.in_flight = ids.len();
    if batches.is_empty() {
        if blocked {
            // The oldest cannot be read now: try again after the backoff.
            let reason = "spilled batches cannot be read now".to_string();
            retry_later(name, &mut state, settings, reason);
        }
        return None;
    }
    Some(Taken {
        ids,
        schema,
        batches,
    })
}

/// Takes the batches with these ids out of the buffer.
fn remove(state: &mut State, ids: &[u64]) {
    let mut gone = Vec::new();
    let mut i = 0;
    while i < state.kept.len() {
        if ids.contains(&state.kept[i].id) {
            if let Some(kept) = state.kept.remove(i) {
                gone.push(kept);
            }
        } else {
            i += 1;
        }
    }
    for kept in gone {
        forget(state, kept);
    }
}

/// What a call's outcome does to the buffer: delivered batches leave it; retryable ones
/// stay and the next try waits (doubling up to `max_retry`). A call of several batches that
/// fails as a whole (refused, or the plugin trapped, e.g. past its deadline on a slow target)
/// is tried again at once with half as many, so one bad batch costs only itself and a slow
/// target still drains; a single batch refused for good is dropped.
fn settle(
    name: &str,
    shared: &Shared,
    settings: &ExportSettings,
    taken: Taken,
    outcome: Result<Result<(), ExportError>, PluginError>,
) {
    let mut state = shared.lock();
    state.in_flight = 0;
    let count = taken.ids.len();
    match outcome {
        Ok(Ok(())) => {
            remove(&mut state, &taken.ids);
            if state.failing {
                tracing::info!("exporter {name}: target back, sent {count} batch(es)");
            }
            state.status.sent += count as u64;
            state.status.calls_ok += 1;
            state.status.largest_call = state.status.largest_call.max(count as u64);
            state.status.last_sent_millis = crate::supervisor::unix_millis_now();
            state.status.last_error = None;
            state.failing = false;
            state.dropping = false;
            state.retry_at = None;
            state.backoff = settings.retry;
            state.per_call = (state.per_call * 2).min(settings.batches_per_call);
        }
        Ok(Err(ExportError::Permanent(reason))) if count > 1 => {
            tracing::debug!(
                "exporter {name}: {count} batches refused as a whole ({reason}); trying fewer"
            );
            state.per_call = (count / 2).max(1);
        }
        Ok(Err(ExportError::Permanent(reason))) => {
            tracing::error!(
                "exporter {name}: the target refused a batch for good, dropped: {reason}"
            );
            remove(&mut state, &taken.ids);
            state.status.rejected += 1;
            state.status.last_error = Some(reason);
            // The target answered: it is up, and the next batch goes without waiting.
            state.failing = false;
            state.retry_at = None;
            state.backoff = settings.retry;
        }
        Ok(Err(ExportError::Retryable(reason))) => {
            retry_later(name, &mut state, settings, reason);
        }
        Err(PluginError::Restarting { wait, .. }) => {
            // Held back by the supervisor: the target was not tried, so no backoff of its own.
            state.retry_at = Some(Instant::now() + wait);
        }
        Err(e) => {
            // A trap (or quarantine): the batches stay; the supervisor restarts or
            // quarantines the plugin, and its gate says when it may run again.
            if count > 1 {
                state.per_call = (count / 2).max(1);
            }
            retry_later(name, &mut state, settings, e.to_string());
        }
    }
}

fn retry_later(name: &str, state: &mut State, settings: &ExportSettings, reason: String) {
    if !state.failing {
        tracing::warn!(
            "exporter {name}: {reason}; keeping {} batch(es), retrying in {} ms",
            state.kept.len(),
            state.backoff.as_millis()
        );
        state.failing = true;
    } else {
        tracing::debug!("exporter {name}: {reason}");
    }
    state.status.retries += 1;
    state.status.last_error = Some(reason);
    state.retry_at = Some(Instant::now() + state.backoff);
    state.backoff = (state.backoff * 2).min(settings.max_retry);
}

/// The batch exporter settings `settings` would take of `snapshot` (benchmarks and tools).
pub fn batch_of(
    snapshot: &Snapshot,
    settings: &ExportSettings,
    hostname: &str,
) -> (Batch, Vec<Schema>) {
    let tables: Vec<Arc<PluginStats>> = snapshot
        .plugins
        .iter()
        .filter(|p| settings.exports(&p.meta.name))
        .cloned()
        .collect();
    build_batch(
        snapshot.seq,
        snapshot.unix_millis * 1_000_000,
        hostname,
        &tables,
        settings,
    )
}

/// One batch as the exporter gets it: the selected fields of each table (with the key
/// column), and the schema of those plugins.
fn build_batch(
    seq: u64,
    unix_nanos: u64,
    hostname: &str,
    tables: &[Arc<PluginStats>],
    settings: &ExportSettings,
) -> (Batch, Vec<Schema>) {
    let mut schema = Vec::with_capacity(tables.len());
    let mut out = Vec::with_capacity(tables.len());
    for stats in tables {
        let name = &stats.meta.name;
        let table = match settings.fields.get(name) {
            None => stats.table.clone(),
            Some(fields) => select_columns(&stats.table, fields),
        };
        schema.push(Schema {
            plugin: name.clone(),
            fields: stats.meta.fields.clone(),
        });
        out.push((name.clone(), table));
    }
    (
        Batch {
            seq,
            unix_nanos,
            hostname: hostname.to_string(),
            tables: out,
        },
        schema,
    )
}

/// The key column and these fields (with an is-rate field's `_gauge` and `_rate_per_sec`).
fn select_columns(table: &Table, fields: &[String]) -> Table {
    let keep: Vec<usize> = table
        .columns
        .iter()
        .enumerate()
        .filter(|(_, c)| {
            Some(c.as_str()) == table.key.as_deref()
                || fields.iter().any(|f| {
                    *c == f
                        || c.strip_prefix(f.as_str())
                            .is_some_and(|rest| rest == "_gauge" || rest == "_rate_per_sec")
                })
        })
        .map(|(i, _)| i)
        .collect();
    Table {
        key: table.key.clone(),
        columns: keep.iter().map(|&i| table.columns[i].clone()).collect(),
        rows: table
            .rows
            .iter()
            .map(|r| keep.iter().filter_map(|&i| r.get(i).cloned()).collect())
            .collect(),
    }
}

// --- The spill directory: one JSON file per batch, named by its id so names sort by age. ---

/// Writes the oldest in-memory batches to disk while memory is over its share (all of them
/// when the exporter stops), then drops the oldest on disk past the disk's share. If the
/// disk refuses, memory is held to its share by dropping the oldest (said once).
fn spill(
    name: &str,
    dir: &Path,
    shared: &Shared,
    settings: &ExportSettings,
    hostname: &str,
    everything: bool,
) {
    let chosen: Vec<(u64, u64, u64, Vec<Arc<PluginStats>>)> = {
        let state = shared.lock();
        let mut over = state
            .memory_bytes
            .saturating_sub(settings.buffer_bytes as u64);
        state
            .kept
            .iter()
            .filter_map(|k| match &k.held {
                Held::Memory {
                    seq,
                    unix_nanos,
                    tables,
                } if everything || over > 0 => {
                    over = over.saturating_sub(k.bytes);
                    Some((k.id, *seq, *unix_nanos, tables.clone()))
                }
                _ => None,
            })
            .collect()
    };
    if chosen.is_empty() {
        return;
    }
    let mut written = Vec::new();
    let mut failure = std::fs::create_dir_all(dir)
        .err()
        .map(|e| format!("cannot create its spill directory {}: {e}", dir.display()));
    if failure.is_none() {
        for (id, seq, unix_nanos, tables) in chosen {
            let (batch, schema) = build_batch(seq, unix_nanos, hostname, &tables, settings);
            let path = dir.join(format!("{id:020}.json"));
            match write_spilled(&path, &batch, &schema) {
                Ok(bytes) => written.push((id, path, bytes)),
                Err(e) => {
                    failure = Some(format!("cannot spill a batch to {}: {e}", path.display()));
                    break;
                }
            }
        }
    }
    let mut state = shared.lock();
    for (id, path, bytes) in written {
        if let Some(kept) = state.kept.iter_mut().find(|k| k.id == id) {
            let memory = kept.bytes;
            kept.bytes = bytes;
            kept.held = Held::Disk(path);
            state.memory_bytes = state.memory_bytes.saturating_sub(memory);
            state.disk_bytes += bytes;
        }
    }
    match failure {
        Some(reason) => {
            if !state.spill_failing {
                tracing::error!(
                    "exporter {name}: {reason}; batches stay in memory, within buffer_mb"
                );
            }
            state.spill_failing = true;
            let cap = settings.buffer_bytes as u64;
            drop_oldest(name, &mut state, Tier::Memory, cap);
        }
        None => state.spill_failing = false,
    }
    drop_oldest(name, &mut state, Tier::Disk, settings.spill_bytes);
}

/// Batches a previous run left in the spill directory, oldest first (and the partial files
/// of a write it did not finish, deleted). New batches are numbered after them.
fn reload_spilled(name: &str, dir: &Path, state: &mut State) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut files: Vec<(u64, PathBuf, u64)> = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        match path.extension().and_then(|x| x.to_str()) {
            Some("part") => state.trash.push(path),
            Some("json") => {
                let id = path
                    .file_stem()
                    .and_then(|s| s.to_str())
                    .and_then(|s| s.parse::<u64>().ok());
                if let (Some(id), Ok(meta)) = (id, entry.metadata()) {
                    files.push((id, path, meta.len()));
                }
            }
            _ => {}
        }
    }
    files.sort();
    if !files.is_empty() {
        tracing::info!(
            "exporter {name}: {} batch(es) left in {} by an earlier run will be sent first",
            files.len(),
            dir.display()
        );
    }
    for (id, path, bytes) in files {
        state.next_id = state.next_id.max(id + 1);
        state.disk_bytes += bytes;
        state.kept.push_back(Kept {
            id,
            bytes,
            held: Held::Disk(path),
        });
    }
}

/// A batch and its schema on disk. Values are tagged so that an int, an uint and a float
/// come back as they were.
#[derive(serde::Serialize, serde::Deserialize)]
struct SpilledBatch {
    seq: u64,
    unix_nanos: u64,
    hostname: String,
    tables: Vec<SpilledTable>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct SpilledTable {
    plugin: String,
    key: Option<String>,
    columns: Vec<String>,
    rows: Vec<Vec<SpilledValue>>,
    fields: Vec<SpilledField>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct SpilledField {
    name: String,
    description: String,
    unit: String,
    is_rate: bool,
    keep_history: bool,
}

#[derive(serde::Serialize, serde::Deserialize)]
enum SpilledValue {
    N,
    B(bool),
    I(i64),
    U(u64),
    /// Non-finite floats are written as none: JSON has no NaN.
    F(f64),
    T(String),
    TL(Vec<String>),
    IL(Vec<i64>),
    FL(Vec<Option<f64>>),
}

const UNITS: &[(Unit, &str)] = &[
    (Unit::None, "none"),
    (Unit::Number, "number"),
    (Unit::Percent, "percent"),
    (Unit::Bytes, "bytes"),
    (Unit::Bits, "bits"),
    (Unit::Seconds, "seconds"),
    (Unit::Milliseconds, "milliseconds"),
    (Unit::Hertz, "hertz"),
    (Unit::Celsius, "celsius"),
    (Unit::Rpm, "rpm"),
    (Unit::Text, "text"),
    (Unit::Timestamp, "timestamp"),
];

impl From<&Value> for SpilledValue {
    fn from(v: &Value) -> SpilledValue {
        match v {
            Value::None => SpilledValue::N,
            Value::Boolean(b) => SpilledValue::B(*b),
            Value::Int(i) => SpilledValue::I(*i),
            Value::Uint(u) => SpilledValue::U(*u),
            Value::Float(f) if f.is_finite() => SpilledValue::F(*f),
            Value::Float(_) => SpilledValue::N,
            Value::Text(t) => SpilledValue::T(t.clone()),
            Value::TextList(l) => SpilledValue::TL(l.clone()),
            Value::IntList(l) => SpilledValue::IL(l.clone()),
            Value::FloatList(l) => {
                SpilledValue::FL(l.iter().map(|f| f.is_finite().then_some(*f)).collect())
            }
        }
    }
}

impl From<SpilledValue> for Value {
    fn from(v: SpilledValue) -> Value {
        match v {
            SpilledValue::N => Value::None,
            SpilledValue::B(b) => Value::Boolean(b),
            SpilledValue::I(i) => Value::Int(i),
            SpilledValue::U(u) => Value::Uint(u),
            SpilledValue::F(f) => Value::Float(f),
            SpilledValue::T(t) => Value::Text(t),
            SpilledValue::TL(l) => Value::TextList(l),
            SpilledValue::IL(l) => Value::IntList(l),
            SpilledValue::FL(l) => {
                Value::FloatList(l.into_iter().map(|f| f.unwrap_or(f64::NAN)).collect())
            }
        }
    }
}

/// Writes a batch (to a temporary name first, so a crash never leaves half a file that
/// looks whole); its size on disk.
fn write_spilled(path: &Path, batch: &Batch, schema: &[Schema]) -> std::io::Result<u64> {
    let unit_name = |u: Unit| {
        UNITS
            .iter()
            .find(|(x, _)| *x == u)
            .map_or("none", |(_, n)| n)
            .to_string()
    };
    let spilled = SpilledBatch {
        seq: batch.seq,
        unix_nanos: batch.unix_nanos,
        hostname: batch.hostname.clone(),
        tables: batch
            .tables
            .iter()
            .map(|(plugin, t)| SpilledTable {
                plugin: plugin.clone(),
                key: t.key.clone(),
                columns: t.columns.clone(),
                rows: t
                    .rows
                    .iter()
                    .map(|r| r.iter().map(SpilledValue::from).collect())
                    .collect(),
                fields: schema
                    .iter()
                    .find(|s| &s.plugin == plugin)
                    .map(|s| {
                        s.fields
                            .iter()
                            .map(|f| SpilledField {
                                name: f.name.clone(),
                                description: f.description.clone(),
                                unit: unit_name(f.unit),
                                is_rate: f.is_rate,
                                keep_history: f.keep_history,
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
            })
            .collect(),
    };
    let bytes = serde_json::to_vec(&spilled).map_err(std::io::Error::other)?;
    let partial = path.with_extension("part");
    let written = std::fs::write(&partial, &bytes).and_then(|()| std::fs::rename(&partial, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    written.map(|()| bytes.len() as u64)
}

/// Why a spilled batch did not come back.
enum Spilled {
    /// Not now (too many open files, an I/O error): worth another try.
    Io(String),
    /// Never: it does not parse.
    Corrupt(String),
}

impl std::fmt::Display for Spilled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Spilled::Io(e) | Spilled::Corrupt(e) => f.write_str(e),
        }
    }
}

fn read_spilled(path: &Path) -> Result<(Batch, Vec<Schema>), Spilled> {
    let text = std::fs::read(path).map_err(|e| Spilled::Io(format!("{}: {e}", path.display())))?;
    let spilled: SpilledBatch = serde_json::from_slice(&text)
        .map_err(|e| Spilled::Corrupt(format!("{}: {e}", path.display())))?;
    let mut schema = Vec::new();
    let mut tables = Vec::new();
    for t in spilled.tables {
        schema.push(Schema {
            plugin: t.plugin.clone(),
            fields: t
                .fields
                .into_iter()
                .map(|f| FieldInfo {
                    name: f.name,
                    description: f.description,
                    unit: UNITS
                        .iter()
                        .find(|(_, n)| *n == f.unit)
                        .map_or(Unit::None, |(u, _)| *u),
                    is_rate: f.is_rate,
                    keep_history: f.keep_history,
                })
                .collect(),
        });
        tables.push((
            t.plugin,
            Table {
                key: t.key,
                columns: t.columns,
                rows: t
                    .rows
                    .into_iter()
                    .map(|r| r.into_iter().map(Value::from).collect())
                    .collect(),
            },
        ));
    }
    Ok((
        Batch {
            seq: spilled.seq,
            unix_nanos: spilled.unix_nanos,
            hostname: spilled.hostname,
            tables,
        },
        schema,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(pairs: &[(&str, ConfigValue)]) -> PluginSettings {
        PluginSettings {
            settings: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
            ..PluginSettings::default()
        }
    }

    #[test]
    fn settings_default_and_errors_name_the_key() {
        let s = ExportSettings::from_section("influxdb", None, Duration::from_secs(2))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.interval, Duration::from_secs(2));
        assert!(s.exports("cpu") && !s.exports("processlist"));
        let s = ExportSettings::from_section(
            "influxdb",
            Some(&section(&[
                ("interval", ConfigValue::Int(10)),
                ("plugins", ConfigValue::Text("cpu, processlist".into())),
                ("fields", ConfigValue::TextList(vec!["cpu.total".into()])),
            ])),
            Duration::from_secs(2),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.interval, Duration::from_secs(10));
        assert!(s.exports("processlist") && !s.exports("mem"));
        assert_eq!(s.fields["cpu"], ["total"]);
        let e = ExportSettings::from_section(
            "influxdb",
            Some(&section(&[("buffer_mb", ConfigValue::Text("lots".into()))])),
            Duration::from_secs(2),
        )
        .err()
        .unwrap_or_default();
        assert!(
            e.contains("[plugins.influxdb] buffer_mb") && e.contains("lots"),
            "{e}"
        );
        let e = ExportSettings::from_section(
            "csv",
            Some(&section(&[("fields", ConfigValue::Text("total".into()))])),
            Duration::from_secs(2),
        )
        .err()
        .unwrap_or_default();
        assert!(e.contains("plugin.field"), "{e}");
    }

    #[test]
    fn selected_columns_keep_the_key_and_rate_columns() {
        let table = Table {
            key: Some("interface_name".into()),
            columns: vec![
                "interface_name".into(),
                "bytes_recv".into(),
                "bytes_recv_gauge".into(),
                "bytes_recv_rate_per_sec".into(),
                "bytes_sent".into(),
            ],
            rows: vec![vec![
                Value::Text("lo".into()),
                Value::Uint(1),
                Value::Uint(2),
                Value::Float(3.0),
                Value::Uint(4),
            ]],
        };
        let t = select_columns(&table, &["bytes_recv".to_string()]);
        assert_eq!(
            t.columns,
            [
                "interface_name",
                "bytes_recv",
                "bytes_recv_gauge",
                "bytes_recv_rate_per_sec"
            ]
        );
        assert_eq!(t.rows[0].len(), 4);
    }

    #[test]
    fn a_spilled_batch_reads_back_as_it_was() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let batch = Batch {
            seq: 7,
            unix_nanos: 1_700_000_000_000_000_000,
            hostname: "box".into(),
            tables: vec![(
                "mem".into(),
                Table {
                    key: None,
                    columns: vec!["a".into(), "b".into(), "c".into(), "d".into()],
                    rows: vec![vec![
                        Value::Int(-1),
                        Value::Uint(u64::MAX),
                        Value::Float(f64::NAN),
                        Value::FloatList(vec![1.5, f64::INFINITY]),
                    ]],
                },
            )],
        };
        let schema = vec![Schema {
            plugin: "mem".into(),
            fields: vec![FieldInfo {
                name: "a".into(),
                description: "A".into(),
                unit: Unit::Bytes,
                is_rate: true,
                keep_history: false,
            }],
        }];
        let path = dir.path().join("1.json");
        write_spilled(&path, &batch, &schema).unwrap_or_else(|e| panic!("{e}"));
        let (back, back_schema) = read_spilled(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back.seq, 7);
        assert!(matches!(back.tables[0].1.rows[0][0], Value::Int(-1)));
        assert!(matches!(back.tables[0].1.rows[0][1], Value::Uint(u64::MAX)));
        assert!(matches!(back.tables[0].1.rows[0][2], Value::None));
        assert_eq!(back_schema[0].fields[0].unit, Unit::Bytes);
        std::fs::write(&path, b"{\"seq\": 1").unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(read_spilled(&path), Err(Spilled::Corrupt(_))));
        assert!(matches!(
            read_spilled(&dir.path().join("gone.json")),
            Err(Spilled::Io(_))
        ));
    }
}
