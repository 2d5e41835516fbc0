//! An exporter's buffer: the batches it keeps, oldest first, in memory and spilled to disk,
//! bounded by its shares (the oldest dropped and counted past them), and reloaded after a
//! restart.
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::export::batch::build_batch;
use crate::export::settings::ExportSettings;
use crate::export::spill::write_spilled;
use crate::stats::snapshot::PluginStats;
use crate::stats::status::ExportStatus;

/// One batch waiting: its tables as of its tick (shared with the snapshot), or its file.
pub(super) struct Kept {
    /// Unique within this exporter, in arrival order; a spilled file is named after it.
    pub(super) id: u64,
    pub(super) bytes: u64,
    pub(super) held: Held,
}

pub(super) enum Held {
    Memory {
        seq: u64,
        unix_nanos: u64,
        tables: Vec<Arc<PluginStats>>,
    },
    Disk(PathBuf),
}

pub(super) struct State {
    /// Oldest first; batches on disk are always older than those in memory.
    pub(super) kept: VecDeque<Kept>,
    pub(super) memory_bytes: u64,
    pub(super) disk_bytes: u64,
    pub(super) next_id: u64,
    /// The first `in_flight` batches of `kept` are in the call in progress: not dropped
    /// under it (they would count as dropped and then as sent).
    pub(super) in_flight: usize,
    /// When the last batch was taken, on the monotonic clock (a wall clock set back must
    /// not stop the exports).
    pub(super) last_taken: Option<Instant>,
    pub(super) retry_at: Option<Instant>,
    pub(super) backoff: Duration,
    /// Batches per call now: halved when a call fails as a whole, back up on success.
    pub(super) per_call: usize,
    /// The target is failing: its warning was logged once for this outage.
    pub(super) failing: bool,
    /// The spill directory cannot be written: said once.
    pub(super) spill_failing: bool,
    /// Batches are being dropped: said once, until a delivery.
    pub(super) dropping: bool,
    /// Files to delete, by the exporter's thread outside the lock.
    pub(super) trash: Vec<PathBuf>,
    pub(super) stop: bool,
    pub(super) status: ExportStatus,
}

impl State {
    /// Batches held in memory (not yet spilled): what a stop without spilling loses.
    pub(super) fn in_memory(&self) -> usize {
        self.kept
            .iter()
            .filter(|k| matches!(k.held, Held::Memory { .. }))
            .count()
    }
}

/// Where a kept batch is held, for [`drop_oldest`].
#[derive(Clone, Copy, PartialEq)]
pub(super) enum Tier {
    Memory,
    Disk,
}

/// Drops the oldest batches held in `tier` while that tier holds more than `cap` bytes
/// (never one in the call in progress, nor the newest batch in memory: a buffer smaller than
/// one batch still sends the latest); counted and logged once per outage.
pub(super) fn drop_oldest(name: &str, state: &mut State, tier: Tier, cap: u64) {
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

pub(super) fn count_dropped(name: &str, state: &mut State, dropped: u64) {
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
pub(super) fn forget(state: &mut State, kept: Kept) {
    match kept.held {
        Held::Memory { .. } => state.memory_bytes = state.memory_bytes.saturating_sub(kept.bytes),
        Held::Disk(path) => {
            state.disk_bytes = state.disk_bytes.saturating_sub(kept.bytes);
            state.trash.push(path);
        }
    }
}

/// Takes the batches with these ids out of the buffer.
pub(super) fn remove(state: &mut State, ids: &[u64]) {
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

pub(super) struct Shared {
    pub(super) state: Mutex<State>,
    pub(super) wake: Condvar,
    /// The exporter's thread is alive.
    pub(super) alive: std::sync::atomic::AtomicBool,
}

impl Shared {
    pub(super) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Writes the oldest in-memory batches to disk while memory is over its share (all of them
/// when the exporter stops), then drops the oldest on disk past the disk's share. If the
/// disk refuses, memory is held to its share by dropping the oldest (said once).
pub(super) fn spill(
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
pub(super) fn reload_spilled(name: &str, dir: &Path, state: &mut State) {
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
