//! Owns the tick: fans it out to the input plugins wave by wave, joins each wave with a
//! deadline, decorates the tables and publishes the snapshot.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::bindings::{Table, Tick};
use crate::plugins::actor::Replies;
use crate::plugins::error::PluginError;
use crate::plugins::host::StatsView;
use crate::plugins::pool::Job;
use crate::plugins::readings::TickReadings;
use crate::stats::decorate::decorate;
use crate::stats::snapshot::{PluginMeta, PluginStats, Snapshot, key_text};

use super::state::Monitor;

/// How long past a plugin's own deadline the tick waits for its answer: the epoch ticker
/// interrupts a guest within one period of its deadline, so 100 ms covers that plus the
/// host's own work on the reply.
const JOIN_GRACE: Duration = Duration::from_millis(100);

/// How long a wave may make no progress before the pool gets another worker: a whole tick
/// of plugins takes a few milliseconds, so 25 ms without them all in means some call is
/// running towards its deadline and the calls queued behind it need a thread.
const STALL: Duration = Duration::from_millis(25);

/// What every wave of one tick shares.
struct Round {
    tick: Tick,
    unix_millis: u64,
    readings: Arc<TickReadings>,
    /// The latest published snapshot: a throttled plugin's stats stand from it.
    previous: Arc<Snapshot>,
}

/// Monotonic nanoseconds since the first tick of this process.
fn monotonic_nanos() -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

impl Monitor {
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
        let round = Round {
            tick,
            unix_millis: unix.as_millis() as u64,
            readings,
            previous,
        };
        // Each input plugin's stats of this tick so far, by index into `actors`.
        let mut done: Vec<Option<Arc<PluginStats>>> = vec![None; self.actors.len()];
        // Guest code runs from here to the last reply: the epoch ticker is woken once for the
        // tick, not at each call that finds no other call running (a futex wake each).
        let busy = self.engine.busy();
        for wave in &self.waves {
            self.run_wave(wave, &round, &mut done);
        }
        drop(busy);
        let snapshot = Arc::new(Snapshot {
            seq: self.seq,
            unix_millis: round.unix_millis,
            plugins: done.into_iter().flatten().collect(),
        });
        self.store.publish(snapshot.clone());
        tracing::debug!(
            "tick {} collected {:?}",
            self.seq,
            round.readings.collected()
        );
        self.last_readings = Some(round.readings);
        snapshot
    }

    /// Runs one wave: its plugins see the stats of the waves before it; each one's answer is
    /// awaited up to its deadline (the longest of the wave's), and those in are put in `done`.
    fn run_wave(&self, wave: &[usize], round: &Round, done: &mut [Option<Arc<PluginStats>>]) {
        let partial = Arc::new(Snapshot {
            seq: self.seq,
            unix_millis: round.unix_millis,
            plugins: done.iter().flatten().cloned().collect(),
        });
        let view = StatsView {
            snapshot: partial,
            store: self.store.clone(),
        };
        let replies = Replies::new(wave.len());
        let (jobs, deadline) = self.start_wave(wave, round, &view, &replies, done);
        let mut waiting = jobs.len();
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

    /// Makes the wave's jobs, one per plugin that may run, and the longest of their
    /// deadlines. A plugin held back makes none: it is counted in at once, and a throttled
    /// one's last stats stand in `done`.
    fn start_wave(
        &self,
        wave: &[usize],
        round: &Round,
        view: &StatsView,
        replies: &Arc<Replies>,
        done: &mut [Option<Arc<PluginStats>>],
    ) -> (Vec<Job>, Duration) {
        let mut deadline = Duration::ZERO;
        let mut jobs = Vec::with_capacity(wave.len());
        for &i in wave {
            let actor = &self.actors[i];
            let readings = round.readings.clone();
            match actor.update(round.tick, readings, view.clone(), replies.clone(), i) {
                Ok(job) => {
                    jobs.push(job);
                    deadline = deadline.max(actor.sandbox.limits.deadline);
                }
                Err(e) => {
                    // Counted as in, so the wait does not last to the deadline for it.
                    replies.skip();
                    if let PluginError::Throttled { .. } = e {
                        // Sitting out is not missing: its last stats stand.
                        done[i] = round.previous.get(&actor.meta.name).cloned();
                    }
                    if e.is_held_back() {
                        tracing::debug!("{e}");
                    } else {
                        tracing::warn!("{e}");
                    }
                }
            }
        }
        (jobs, deadline)
    }

    /// Applies the plugin's hide list and decorates the table from the limits.
    fn stats_of(&self, meta: Arc<PluginMeta>, mut table: Table) -> PluginStats {
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
