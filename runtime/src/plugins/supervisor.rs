//! Each plugin's health as the supervisor keeps it: restarts after a trap with exponential
//! backoff, quarantine after repeated failures, throttling of a plugin that keeps going over
//! its CPU budget (then stopping it), the last error and call-time percentiles.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::settings::limits::Policy;
use crate::stats::status::{PluginStatus, StatusSource, status_name};
use crate::stats::unix_millis_now;

/// Calls in a row over the CPU budget before the plugin is throttled one step further.
const OVERRUNS_PER_STEP: u32 = 3;
/// Throttle steps: a throttled plugin runs every 2nd, 4th, then 8th tick; still over budget
/// at every 8th tick, it is stopped. Three steps give it ~40 ticks to come back under.
const MAX_THROTTLE: u32 = 3;
/// Calls in a row within budget that undo one throttle step.
const GOOD_PER_STEP: u32 = 10;
/// Call times kept for the percentiles: the last 256 calls, 8.5 minutes at the default
/// refresh; enough for a p99 that means something.
const TIMES_KEPT: usize = 256;

/// A plugin's counters and health: shown by `glint plugins`, the API and the TUI.
#[derive(Debug)]
pub struct PluginCounters {
    pub calls: AtomicU64,
    pub errors: AtomicU64,
    pub restarts: AtomicU64,
    pub last_call_micros: AtomicU64,
    /// Bytes of linear memory, as of the last call.
    pub memory_bytes: AtomicU64,
    /// Log lines dropped over its limit.
    pub log_dropped: AtomicU64,
    /// How long compiling its component took (or mapping it from the cache), in ms.
    pub compile_millis: AtomicU64,
    /// How long making its first instance took (its language's runtime starting), in µs.
    pub instantiate_micros: AtomicU64,
    pub health: Mutex<Health>,
}

impl PluginCounters {
    pub fn new(policy: Policy) -> PluginCounters {
        PluginCounters {
            calls: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            restarts: AtomicU64::new(0),
            last_call_micros: AtomicU64::new(0),
            memory_bytes: AtomicU64::new(0),
            log_dropped: AtomicU64::new(0),
            compile_millis: AtomicU64::new(0),
            instantiate_micros: AtomicU64::new(0),
            health: Mutex::new(Health::new(policy)),
        }
    }

    pub fn health(&self) -> MutexGuard<'_, Health> {
        self.health.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// How the board makes the status of a plugin with these counters: its runner is alive while
/// `alive` says so, and `make` makes the whole status.
pub fn status_source(
    counters: Arc<PluginCounters>,
    alive: impl Fn() -> bool + Send + Sync + 'static,
    make: impl Fn() -> PluginStatus + Send + Sync + 'static,
) -> StatusSource {
    StatusSource::new(
        move || {
            (
                status_name(alive(), counters.health().status()),
                counters.restarts.load(Ordering::Relaxed),
            )
        },
        make,
    )
}

#[derive(Debug, Clone, PartialEq)]
enum State {
    Running,
    /// Trapped; restarted on the first call after `at`.
    Restarting {
        at: Instant,
    },
    /// Runs no more until replaced or re-enabled.
    Quarantined {
        reason: String,
    },
}

/// Whether a call may go ahead.
#[derive(Debug, PartialEq)]
pub enum Gate {
    Run,
    /// Restarting after a trap, in this long.
    Wait(Duration),
    Quarantined(String),
}

/// What a failure leads to.
#[derive(Debug, PartialEq)]
pub enum Verdict {
    /// A trap: restarted after this long.
    Restart(Duration),
    /// An error the plugin survives (it reported one, or broke the table contract).
    Continue,
    Quarantined(String),
}

/// One plugin's health.
#[derive(Debug)]
pub struct Health {
    policy: Policy,
    state: State,
    failures: VecDeque<Instant>,
    last_error: Option<String>,
    last_error_millis: Option<u64>,
    overruns: u32,
    good: u32,
    throttle: u32,
    skipped: u64,
    /// Wall-clock and CPU microseconds of the last calls, oldest first.
    times: VecDeque<u64>,
    cpu_times: VecDeque<u64>,
}

/// What the API and the terminal UI show of a plugin's health.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    /// `running`, `throttled`, `restarting` or `quarantined`.
    pub status: &'static str,
    pub last_error: Option<String>,
    pub last_error_millis: Option<u64>,
    pub p50_micros: Option<u64>,
    pub p99_micros: Option<u64>,
    /// The same for the CPU time of the calls' thread: what the budget is judged on, and
    /// what a call costs the machine (wall time also counts waits for a core or a reading
    /// another plugin is collecting).
    pub cpu_p50_micros: Option<u64>,
    pub cpu_p99_micros: Option<u64>,
    /// Ticks left out by throttling or while waiting to restart.
    pub skipped: u64,
    /// Throttled to one tick in this many (1: not throttled).
    pub runs_every: u32,
}

impl Health {
    pub fn new(policy: Policy) -> Health {
        Health {
            policy,
            state: State::Running,
            failures: VecDeque::new(),
            last_error: None,
            last_error_millis: None,
            overruns: 0,
            good: 0,
            throttle: 0,
            skipped: 0,
            times: VecDeque::with_capacity(TIMES_KEPT),
            cpu_times: VecDeque::with_capacity(TIMES_KEPT),
        }
    }

    /// Whether a call may go ahead now.
    pub fn gate(&mut self, now: Instant) -> Gate {
        match &self.state {
            State::Running => Gate::Run,
            State::Quarantined { reason } => Gate::Quarantined(reason.clone()),
            State::Restarting { at } if *at <= now => {
                self.state = State::Running;
                Gate::Run
            }
            State::Restarting { at } => {
                self.skipped += 1;
                Gate::Wait(at.saturating_duration_since(now))
            }
        }
    }

    /// Whether a throttled plugin sits out tick `seq` (counted as skipped).
    pub fn sits_out(&mut self, seq: u64) -> bool {
        let every = 1u64 << self.throttle;
        let out = self.throttle > 0 && !seq.is_multiple_of(every);
        if out {
            self.skipped += 1;
        }
        out
    }

    pub fn is_quarantined(&self) -> bool {
        matches!(self.state, State::Quarantined { .. })
    }

    /// A call that ran: its wall-clock and CPU time against the budget. `Some(reason)`
    /// when the plugin has been over budget at every step of throttling: it is quarantined.
    /// A call that trapped is timed but not held against the budget: the trap is its failure.
    pub fn called(
        &mut self,
        wall: Duration,
        cpu: Duration,
        budget: Duration,
        trapped: bool,
    ) -> Option<String> {
        for (times, t) in [(&mut self.times, wall), (&mut self.cpu_times, cpu)] {
            if times.len() == TIMES_KEPT {
                times.pop_front();
            }
            times.push_back(t.as_micros() as u64);
        }
        if trapped || self.is_quarantined() {
            return None;
        }
        if cpu <= budget {
            self.overruns = 0;
            self.good += 1;
            if self.good >= GOOD_PER_STEP && self.throttle > 0 {
                self.throttle -= 1;
                self.good = 0;
                tracing::info!(
                    "back under its CPU budget: runs every {} tick(s)",
                    1 << self.throttle
                );
            }
            return None;
        }
        self.good = 0;
        self.overruns += 1;
        if self.overruns < OVERRUNS_PER_STEP {
            return None;
        }
        self.overruns = 0;
        let reason = format!(
            "took {} ms of CPU for a call, over its budget of {} ms, {OVERRUNS_PER_STEP} calls in a row",
            cpu.as_millis(),
            budget.as_millis()
        );
        if self.throttle >= MAX_THROTTLE {
            let reason = format!(
                "stopped: it kept going over its CPU budget while throttled to every {} ticks ({reason})",
                1 << self.throttle
            );
            self.quarantine(reason.clone());
            return Some(reason);
        }
        self.throttle += 1;
        let note = format!("throttled to every {} ticks: {reason}", 1 << self.throttle);
        self.note_error(note);
        None
    }

    /// A failed call. A trap restarts the plugin after a backoff; too many failures in the
    /// window quarantine it.
    pub fn failed(&mut self, now: Instant, reason: String, trapped: bool) -> Verdict {
        self.note_error(reason.clone());
        while self
            .failures
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) > self.policy.window)
        {
            self.failures.pop_front();
        }
        self.failures.push_back(now);
        let count = self.failures.len() as u32;
        if count >= self.policy.quarantine_after {
            let why = format!(
                "quarantined after {count} failures in {} s; the last: {reason}; replace its file, or re-enable it with POST /api/3/plugins/NAME/enable (glint -s) or a restart",
                self.policy.window.as_secs()
            );
            self.quarantine(why.clone());
            return Verdict::Quarantined(why);
        }
        if !trapped {
            return Verdict::Continue;
        }
        let backoff = self
            .policy
            .backoff
            .saturating_mul(1 << (count.saturating_sub(1)).min(16))
            .min(self.policy.max_backoff);
        self.state = State::Restarting { at: now + backoff };
        Verdict::Restart(backoff)
    }

    /// Runs no more (until re-enabled), for `reason`.
    pub fn quarantine(&mut self, reason: String) {
        self.note_error(reason.clone());
        self.state = State::Quarantined { reason };
    }

    /// Back to running, with a clean record (the operator re-enabled it).
    pub fn reenable(&mut self) {
        self.state = State::Running;
        self.failures.clear();
        self.throttle = 0;
        self.overruns = 0;
        self.good = 0;
    }

    fn note_error(&mut self, reason: String) {
        self.last_error = Some(reason);
        self.last_error_millis = unix_millis_now();
    }

    /// `running`, `throttled`, `restarting` or `quarantined`.
    pub fn status(&self) -> &'static str {
        match self.state {
            State::Quarantined { .. } => "quarantined",
            State::Restarting { .. } => "restarting",
            State::Running if self.throttle > 0 => "throttled",
            State::Running => "running",
        }
    }

    pub fn report(&self) -> Report {
        let wall = Percentiles::of(&self.times);
        let cpu = Percentiles::of(&self.cpu_times);
        Report {
            status: self.status(),
            last_error: self.last_error.clone(),
            last_error_millis: self.last_error_millis,
            p50_micros: wall.p50,
            p99_micros: wall.p99,
            cpu_p50_micros: cpu.p50,
            cpu_p99_micros: cpu.p99,
            skipped: self.skipped,
            runs_every: 1 << self.throttle,
        }
    }
}

/// The median and 99th percentile of some call times (none before the first call).
struct Percentiles {
    p50: Option<u64>,
    p99: Option<u64>,
}

impl Percentiles {
    fn of(times: &VecDeque<u64>) -> Percentiles {
        let mut sorted: Vec<u64> = times.iter().copied().collect();
        sorted.sort_unstable();
        let pct = |p: usize| (!sorted.is_empty()).then(|| sorted[(sorted.len() - 1) * p / 100]);
        Percentiles {
            p50: pct(50),
            p99: pct(99),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::status::StatusBoard;
    use std::collections::BTreeMap;

    fn policy() -> Policy {
        Policy {
            backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(4),
            quarantine_after: 4,
            window: Duration::from_secs(60),
        }
    }

    #[test]
    fn traps_back_off_exponentially_then_quarantine() {
        let mut h = Health::new(policy());
        let t0 = Instant::now();
        assert_eq!(
            h.failed(t0, "trap 1".into(), true),
            Verdict::Restart(Duration::from_secs(1))
        );
        assert_eq!(h.report().status, "restarting");
        assert_eq!(
            h.gate(t0 + Duration::from_millis(500)),
            Gate::Wait(Duration::from_millis(500))
        );
        assert_eq!(h.gate(t0 + Duration::from_secs(1)), Gate::Run);
        let t1 = t0 + Duration::from_secs(2);
        assert_eq!(
            h.failed(t1, "trap 2".into(), true),
            Verdict::Restart(Duration::from_secs(2))
        );
        // Capped at max_backoff.
        assert_eq!(
            h.failed(t1, "trap 3".into(), true),
            Verdict::Restart(Duration::from_secs(4))
        );
        let Verdict::Quarantined(why) = h.failed(t1, "trap 4".into(), true) else {
            panic!("not quarantined")
        };
        assert!(
            why.contains("4 failures") && why.contains("trap 4"),
            "{why}"
        );
        assert!(matches!(
            h.gate(t1 + Duration::from_secs(99)),
            Gate::Quarantined(_)
        ));
        assert_eq!(h.report().status, "quarantined");
        h.reenable();
        assert_eq!(h.gate(t1), Gate::Run);
        assert_eq!(h.report().status, "running");
    }

    #[test]
    fn failures_outside_the_window_are_forgotten() {
        let mut h = Health::new(policy());
        let t0 = Instant::now();
        for i in 0..10 {
            let t = t0 + Duration::from_secs(61 * i);
            assert_eq!(
                h.failed(t, "error".into(), false),
                Verdict::Continue,
                "failure {i}"
            );
        }
    }

    #[test]
    fn over_budget_calls_throttle_step_by_step_then_stop() {
        let mut h = Health::new(policy());
        let budget = Duration::from_millis(100);
        let over = Duration::from_millis(200);
        for step in 1..=MAX_THROTTLE {
            for _ in 0..OVERRUNS_PER_STEP {
                assert_eq!(h.called(over, over, budget, false), None);
            }
            assert_eq!(h.report().runs_every, 1 << step);
            assert_eq!(h.report().status, "throttled");
        }
        // Every 8th tick runs.
        let ran: Vec<u64> = (1..=16).filter(|&s| !h.sits_out(s)).collect();
        assert_eq!(ran, [8, 16]);
        assert_eq!(h.report().skipped, 14);
        for _ in 0..OVERRUNS_PER_STEP - 1 {
            assert_eq!(h.called(over, over, budget, false), None);
        }
        let reason = h.called(over, over, budget, false).expect("stopped");
        assert!(
            reason.contains("over its CPU budget") && reason.contains("budget of 100 ms"),
            "{reason}"
        );
        assert!(h.is_quarantined());
    }

    #[test]
    fn calls_back_under_budget_undo_throttling() {
        let mut h = Health::new(policy());
        let budget = Duration::from_millis(100);
        for _ in 0..OVERRUNS_PER_STEP {
            h.called(budget * 2, budget * 2, budget, false);
        }
        assert_eq!(h.report().runs_every, 2);
        for _ in 0..GOOD_PER_STEP {
            h.called(budget / 2, budget / 2, budget, false);
        }
        assert_eq!(h.report().runs_every, 1);
        assert_eq!(h.report().status, "running");
    }

    #[test]
    fn percentiles_of_call_times() {
        let mut h = Health::new(policy());
        assert_eq!(h.report().p50_micros, None);
        for us in 1..=100 {
            h.called(
                Duration::from_micros(us),
                Duration::from_micros(us / 2),
                Duration::from_secs(1),
                false,
            );
        }
        let r = h.report();
        assert_eq!((r.p50_micros, r.p99_micros), (Some(50), Some(99)));
        assert_eq!((r.cpu_p50_micros, r.cpu_p99_micros), (Some(25), Some(49)));
    }

    #[test]
    fn the_lifecycle_digest_moves_with_a_plugin_state_its_restarts_and_the_board() {
        let counters = Arc::new(PluginCounters::new(policy()));
        let alive = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let board = |generation: u64| {
            let alive = alive.clone();
            StatusBoard {
                running: vec![status_source(
                    counters.clone(),
                    move || alive.load(Ordering::Relaxed),
                    PluginStatus::default,
                )],
                refused: BTreeMap::new(),
                generation,
            }
        };
        let first = board(1).lifecycle();
        assert_eq!(board(1).lifecycle(), first, "nothing moved");
        assert_ne!(board(2).lifecycle(), first, "another board");
        counters.restarts.fetch_add(1, Ordering::Relaxed);
        let restarted = board(1).lifecycle();
        assert_ne!(restarted, first, "a restart");
        counters.health().quarantine("test".into());
        let quarantined = board(1).lifecycle();
        assert_ne!(quarantined, restarted, "quarantined");
        alive.store(false, Ordering::Relaxed);
        assert_ne!(board(1).lifecycle(), quarantined, "its thread ended");
    }
}
