//! A plugin's resource limits and the supervisor's policy: their ceilings, defaults and the
//! per-plugin settings (`[plugins.NAME.limits]`, a manifest's `[limits]`) laid over them.

use std::time::Duration;

use serde::Deserialize;

/// Ceilings of the limits, whoever sets them. Memory: the engine's pool reserves slots of
/// this size. Deadline and CPU budget: a call of a minute would stall every tick behind it.
/// Rows: 10 million is a hundred times a machine with every PID. Table size: 1 GiB.
/// Log lines: 100,000 a minute is already a flood no one reads.
pub const MAX_MEMORY_MB: u64 = 256;
pub const MAX_DEADLINE_MS: u64 = 60_000;
pub const MAX_ROWS: u64 = 10_000_000;
pub const MAX_TABLE_KB: u64 = 1 << 20;
pub const MAX_LOG_LINES: u64 = 100_000;

/// Render requests an output plugin may have waiting: a render takes milliseconds and
/// scrapers do not send many at once, so more than 8 waiting means the plugin is stuck or the
/// server is flooded; the next request is refused (503) rather than queued without end.
pub const OUTPUT_QUEUE: usize = 8;

/// An exporter's deadline per call unless its section sets one: a call waits on its target,
/// and the SDK's HTTP client gives up on a request after 5 s, so a replay of a few requests
/// fits; a target slower than this is retried later rather than holding the exporter.
pub const EXPORT_DEADLINE: Duration = Duration::from_secs(15);

/// Limits a manifest asks for, or an operator sets for one plugin (`[plugins.NAME.limits]`).
/// `None` keeps the default of `[global]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitSettings {
    pub memory_mb: Option<u64>,
    pub deadline_ms: Option<u64>,
    pub cpu_budget_ms: Option<u64>,
    pub max_rows: Option<u64>,
    pub max_table_kb: Option<u64>,
    pub log_lines_per_minute: Option<u64>,
}

/// One plugin's resource limits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Bytes of linear memory.
    pub memory: usize,
    /// Wall-clock time of one call; past it the call is interrupted (a trap).
    pub deadline: Duration,
    /// CPU time a call should take; a plugin that keeps going over is throttled, then stopped.
    pub cpu_budget: Duration,
    pub max_rows: usize,
    pub max_table_bytes: usize,
    pub log_lines_per_minute: u32,
}

/// Each limit's key and range (see the ceilings above).
const LIMIT_RANGES: [(&str, u64, u64); 6] = [
    ("memory_mb", 1, MAX_MEMORY_MB),
    ("deadline_ms", 1, MAX_DEADLINE_MS),
    ("cpu_budget_ms", 1, MAX_DEADLINE_MS),
    ("max_rows", 1, MAX_ROWS),
    ("max_table_kb", 1, MAX_TABLE_KB),
    ("log_lines_per_minute", 0, MAX_LOG_LINES),
];

impl LimitSettings {
    fn slot(&mut self, key: &str) -> Option<&mut Option<u64>> {
        Some(match key {
            "memory_mb" => &mut self.memory_mb,
            "deadline_ms" => &mut self.deadline_ms,
            "cpu_budget_ms" => &mut self.cpu_budget_ms,
            "max_rows" => &mut self.max_rows,
            "max_table_kb" => &mut self.max_table_kb,
            "log_lines_per_minute" => &mut self.log_lines_per_minute,
            _ => return None,
        })
    }

    /// Sets one limit by its key, checking its range.
    pub fn set(&mut self, key: &str, value: u64) -> Result<(), String> {
        let (_, low, high) = LIMIT_RANGES
            .iter()
            .find(|(k, _, _)| *k == key)
            .copied()
            .ok_or_else(|| format!("{key} is not a limit"))?;
        if !(low..=high).contains(&value) {
            return Err(format!("{value} is out of range: expected {low} to {high}"));
        }
        if let Some(slot) = self.slot(key) {
            *slot = Some(value);
        }
        Ok(())
    }

    /// `other`'s values over these (a later config file over an earlier one).
    pub fn merge(&mut self, other: &LimitSettings) {
        let mut other = other.clone();
        for (key, _, _) in LIMIT_RANGES {
            if let (Some(value), Some(slot)) =
                (other.slot(key).and_then(|v| v.take()), self.slot(key))
            {
                *slot = Some(value);
            }
        }
    }

    /// Checks every value is in range; `prefix` names the section in the message.
    pub fn check(&self, prefix: &str) -> Result<(), String> {
        let mut copy = self.clone();
        for (key, _, _) in LIMIT_RANGES {
            if let Some(v) = copy.slot(key).and_then(|s| s.take()) {
                copy.set(key, v)
                    .map_err(|m| format!("{prefix}{key} = {m}"))?;
            }
        }
        Ok(())
    }

    /// These settings over `base`.
    pub fn over(&self, base: Limits) -> Limits {
        Limits {
            memory: self.memory_mb.map_or(base.memory, |v| (v as usize) << 20),
            deadline: self
                .deadline_ms
                .map_or(base.deadline, Duration::from_millis),
            cpu_budget: self
                .cpu_budget_ms
                .map_or(base.cpu_budget, Duration::from_millis),
            max_rows: self.max_rows.map_or(base.max_rows, |v| v as usize),
            max_table_bytes: self
                .max_table_kb
                .map_or(base.max_table_bytes, |v| (v as usize) << 10),
            log_lines_per_minute: self
                .log_lines_per_minute
                .map_or(base.log_lines_per_minute, |v| v as u32),
        }
    }
}

/// The supervisor's rules (`[supervisor]` in the config).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Policy {
    /// Wait before the first restart after a trap; doubled for each failure in the window.
    pub backoff: Duration,
    pub max_backoff: Duration,
    /// Failures within `window` that quarantine a plugin.
    pub quarantine_after: u32,
    pub window: Duration,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(60),
            quarantine_after: 5,
            window: Duration::from_secs(600),
        }
    }
}
