//! An exporter at work: for each exporter, a thread of its own that takes batches of the
//! published stats at the exporter's interval, keeps them in a bounded buffer (memory,
//! spilled to a directory when set) while the target is down or slow, and sends them oldest
//! first through the exporter plugin, with backoff on retryable errors. The tick only hands
//! over a snapshot (a few `Arc` clones): a slow exporter never delays it or another exporter.
use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::bindings::ConfigValue;
use crate::bindings::input::glint::plugin::types::{Batch, ExportError, Schema};
use crate::export::batch::{build_batch, hostname};
use crate::export::buffer::{
    Held, Kept, Shared, State, Tier, drop_oldest, reload_spilled, remove, spill,
};
use crate::export::lock::{SpillDirInUse, SpillLock};
use crate::export::settings::ExportSettings;
use crate::export::spill::{Spilled, read_spilled};
use crate::plugins::engine::GlintEngine;
use crate::plugins::error::PluginError;
use crate::plugins::host::StatsView;
use crate::plugins::load::LoadedPlugin;
use crate::stats::snapshot::{PluginStats, Snapshot};
use crate::stats::status::{ExportStatus, PluginStatus};
use crate::stats::store::Store;

/// A running exporter: the handle the monitor keeps.
pub struct Exporter {
    pub name: String,
    pub source: crate::stats::snapshot::PluginSource,
    pub settings: ExportSettings,
    /// Its counters and health (the API re-enables a quarantined exporter through them).
    pub counters: Arc<crate::plugins::supervisor::PluginCounters>,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
    /// For the plugin's status (its counters, health, sandbox).
    status: Arc<dyn Fn() -> PluginStatus + Send + Sync>,
    /// Its spill directory's lock (none without a spill directory, or where it cannot be
    /// taken at all); its thread holds it too.
    spill_lock: Option<SpillLock>,
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
    /// its call and takes over every batch it kept, and its spill directory's lock. Otherwise
    /// batches a previous run of glint left in its spill directory are sent first; refused if
    /// another glint (or exporter) holds that directory.
    pub fn start(
        plugin: LoadedPlugin,
        engine: Arc<GlintEngine>,
        store: Arc<Store>,
        settings: ExportSettings,
        previous: Option<Exporter>,
    ) -> Result<Exporter, SpillDirInUse> {
        let name = plugin.meta.name.clone();
        let spill_lock = take_spill_lock(&name, &settings, previous.as_ref())?;
        let meta_source = plugin.meta.source.clone();
        let counters = plugin.counters.clone();
        let state = first_state(&settings, target_of(&plugin));
        let shared = Arc::new(Shared {
            state: Mutex::new(state),
            wake: Condvar::new(),
            alive: std::sync::atomic::AtomicBool::new(true),
        });
        let status = status_of(&plugin, &shared);
        let thread = {
            let shared = shared.clone();
            let settings = settings.clone();
            let thread_name = name.clone();
            let spill_lock = spill_lock.clone();
            std::thread::Builder::new()
                .name(format!("export-{name}"))
                .spawn(move || {
                    let alive = Alive(shared.clone());
                    take_over(&thread_name, &shared, &settings, previous);
                    run(plugin, engine, store, settings, shared);
                    // Held to the last spill: a dropped handle does not wait for the thread.
                    drop(spill_lock);
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
        Ok(Exporter {
            name,
            source: meta_source,
            settings,
            counters,
            shared,
            thread,
            status,
            spill_lock,
        })
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
            .map(|t| crate::plugins::load::table_bytes(&t.table) as u64)
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
    pub fn status_source(&self) -> crate::stats::status::StatusSource {
        let (shared, status) = (self.shared.clone(), self.status.clone());
        crate::plugins::supervisor::status_source(
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
                let held = self.shared.lock().in_memory();
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
        let held = self.shared.lock().in_memory();
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

/// Where an exporter sends, for its status: its `url` or `file` setting.
fn target_of(plugin: &LoadedPlugin) -> String {
    plugin
        .sandbox
        .settings
        .iter()
        .find(|(k, _)| k == "url" || k == "file")
        .map(|(_, v)| match v {
            ConfigValue::Text(t) => t.clone(),
            other => format!("{other:?}"),
        })
        .unwrap_or_default()
}

/// A new exporter's buffer: empty, sending at once, with the full batches per call.
fn first_state(settings: &ExportSettings, target: String) -> State {
    State {
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
    }
}

/// How an exporter's status is made: the plugin's, with its buffer's state.
fn status_of(
    plugin: &LoadedPlugin,
    shared: &Arc<Shared>,
) -> Arc<dyn Fn() -> PluginStatus + Send + Sync> {
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
}

/// The lock on exporter `name`'s spill directory, if it has one. A new version's directory
/// is its predecessor's (named after the exporter): the lock is handed over, never let go
/// in between (taking it anew would find the predecessor holding it).
fn take_spill_lock(
    name: &str,
    settings: &ExportSettings,
    previous: Option<&Exporter>,
) -> Result<Option<SpillLock>, SpillDirInUse> {
    match (previous, &settings.spill_dir) {
        (_, None) => Ok(None),
        (Some(previous), Some(_)) => Ok(previous.spill_lock.clone()),
        (None, Some(dir)) => crate::export::lock::acquire(name, dir),
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

/// A batch to send, as the buffer holds it: in memory (its seq, time and tables) or spilled.
enum Source {
    Memory(u64, u64, Vec<Arc<PluginStats>>),
    Disk(PathBuf),
}

/// The batches read for a call, and those that could not be.
struct Read {
    taken: Taken,
    /// Spilled batches that no longer parse: to drop.
    unreadable: Vec<u64>,
    /// A spilled batch cannot be read now: it and the batches after it wait.
    blocked: bool,
}

/// The oldest batches, up to the current batches per call, as the exporter gets them
/// (files read back outside the lock). A file that no longer parses is dropped and counted;
/// one that cannot be read now is left for the next try.
fn take(name: &str, shared: &Shared, settings: &ExportSettings, hostname: &str) -> Option<Taken> {
    let sources = oldest(shared);
    if sources.is_empty() {
        return None;
    }
    let Read {
        taken,
        unreadable,
        blocked,
    } = read_batches(name, sources, settings, hostname);
    let mut state = shared.lock();
    if !unreadable.is_empty() {
        remove(&mut state, &unreadable);
        state.status.dropped += unreadable.len() as u64;
    }
    state.in_flight = taken.ids.len();
    if taken.batches.is_empty() {
        if blocked {
            // The oldest cannot be read now: try again after the backoff.
            let reason = "spilled batches cannot be read now".to_string();
            retry_later(name, &mut state, settings, reason);
        }
        return None;
    }
    Some(taken)
}

/// The oldest batches, up to the current batches per call, by id: counted in flight.
fn oldest(shared: &Shared) -> Vec<(u64, Source)> {
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
}

/// Builds the batches of memory and reads back those spilled, in order, with the schema of
/// their plugins; stops at a spilled batch that cannot be read now.
fn read_batches(
    name: &str,
    sources: Vec<(u64, Source)>,
    settings: &ExportSettings,
    hostname: &str,
) -> Read {
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
    Read {
        taken: Taken {
            ids,
            schema,
            batches,
        },
        unreadable,
        blocked,
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
            state.status.last_sent_millis = crate::stats::unix_millis_now();
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
