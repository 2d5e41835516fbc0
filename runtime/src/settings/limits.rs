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

/// A limit's key in config files and manifests (`global.plugin_KEY`,
/// `[plugins.NAME.limits]`, a manifest's `[limits]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitKey {
    MemoryMb,
    DeadlineMs,
    CpuBudgetMs,
    MaxRows,
    MaxTableKb,
    LogLinesPerMinute,
}

/// Every limit: its key as written and its range (see the ceilings above). The one list of
/// them: parsing, merging, range checks and messages all go through it.
const LIMIT_KEYS: [(LimitKey, &str, u64, u64); 6] = [
    (LimitKey::MemoryMb, "memory_mb", 1, MAX_MEMORY_MB),
    (LimitKey::DeadlineMs, "deadline_ms", 1, MAX_DEADLINE_MS),
    (LimitKey::CpuBudgetMs, "cpu_budget_ms", 1, MAX_DEADLINE_MS),
    (LimitKey::MaxRows, "max_rows", 1, MAX_ROWS),
    (LimitKey::MaxTableKb, "max_table_kb", 1, MAX_TABLE_KB),
    (
        LimitKey::LogLinesPerMinute,
        "log_lines_per_minute",
        0,
        MAX_LOG_LINES,
    ),
];

impl LimitKey {
    /// The key named `name`, if it is one.
    pub fn parse(name: &str) -> Option<LimitKey> {
        LIMIT_KEYS
            .iter()
            .find(|(_, n, _, _)| *n == name)
            .map(|(k, _, _, _)| *k)
    }

    pub fn name(self) -> &'static str {
        LIMIT_KEYS[self as usize].1
    }

    /// Every key, as written, for messages.
    pub fn names() -> Vec<&'static str> {
        LIMIT_KEYS.iter().map(|(_, n, _, _)| *n).collect()
    }
}

/// Limits a manifest asks for, or an operator sets for one plugin (`[plugins.NAME.limits]`).
/// `None` keeps the default of `[global]`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LimitSettings {
    /// By `LimitKey`, in `LIMIT_KEYS`' order.
    values: [Option<u64>; LIMIT_KEYS.len()],
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

impl<'de> Deserialize<'de> for LimitSettings {
    /// A table of `key = value`, each key one of `LIMIT_KEYS` (ranges are checked by
    /// `check`, where the message can name the section).
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<LimitSettings, D::Error> {
        let raw = std::collections::BTreeMap::<String, u64>::deserialize(d)?;
        let mut out = LimitSettings::default();
        for (name, value) in raw {
            let key = LimitKey::parse(&name).ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "unknown limit `{name}`; the limits are {}",
                    LimitKey::names().join(", ")
                ))
            })?;
            out.values[key as usize] = Some(value);
        }
        Ok(out)
    }
}

impl LimitSettings {
    /// The value set for `key`, if any.
    pub fn get(&self, key: LimitKey) -> Option<u64> {
        self.values[key as usize]
    }

    /// Sets one limit by its key as written, checking its range.
    pub fn set(&mut self, name: &str, value: u64) -> Result<(), String> {
        let key = LimitKey::parse(name).ok_or_else(|| {
            format!(
                "{name} is not a limit; the limits are {}",
                LimitKey::names().join(", ")
            )
        })?;
        let (_, _, low, high) = LIMIT_KEYS[key as usize];
        if !(low..=high).contains(&value) {
            return Err(format!("{value} is out of range: expected {low} to {high}"));
        }
        self.values[key as usize] = Some(value);
        Ok(())
    }

    /// `other`'s values over these (a later config file over an earlier one).
    pub fn merge(&mut self, other: &LimitSettings) {
        for (mine, theirs) in self.values.iter_mut().zip(other.values) {
            if theirs.is_some() {
                *mine = theirs;
            }
        }
    }

    /// Checks every value is in range; `prefix` names the section in the message.
    pub fn check(&self, prefix: &str) -> Result<(), String> {
        for (key, name, _, _) in LIMIT_KEYS {
            if let Some(v) = self.get(key) {
                LimitSettings::default()
                    .set(name, v)
                    .map_err(|m| format!("{prefix}{name} = {m}"))?;
            }
        }
        Ok(())
    }

    /// These settings over `base`.
    pub fn over(&self, base: Limits) -> Limits {
        let get = |key| self.get(key);
        Limits {
            memory: get(LimitKey::MemoryMb).map_or(base.memory, |v| (v as usize) << 20),
            deadline: get(LimitKey::DeadlineMs).map_or(base.deadline, Duration::from_millis),
            cpu_budget: get(LimitKey::CpuBudgetMs).map_or(base.cpu_budget, Duration::from_millis),
            max_rows: get(LimitKey::MaxRows).map_or(base.max_rows, |v| v as usize),
            max_table_bytes: get(LimitKey::MaxTableKb)
                .map_or(base.max_table_bytes, |v| (v as usize) << 10),
            log_lines_per_minute: get(LimitKey::LogLinesPerMinute)
                .map_or(base.log_lines_per_minute, |v| v as u32),
        }
    }

    /// The limits these settings make when every one is set (the embedded defaults);
    /// otherwise the first key that is not.
    pub fn complete(&self) -> Result<Limits, &'static str> {
        if let Some((_, name, _, _)) = LIMIT_KEYS.iter().find(|(k, ..)| self.get(*k).is_none()) {
            return Err(name);
        }
        let nothing = Limits {
            memory: 0,
            deadline: Duration::ZERO,
            cpu_budget: Duration::ZERO,
            max_rows: 0,
            max_table_bytes: 0,
            log_lines_per_minute: 0,
        };
        Ok(self.over(nothing))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_key_sits_at_its_own_place_in_the_table() {
        for (i, (key, name, _, _)) in LIMIT_KEYS.iter().enumerate() {
            assert_eq!(*key as usize, i, "{name} is out of place in LIMIT_KEYS");
            assert_eq!(LimitKey::parse(name), Some(*key));
            assert_eq!(key.name(), *name);
        }
    }

    #[test]
    fn settings_name_a_bad_key_and_a_value_out_of_range() {
        let mut s = LimitSettings::default();
        assert!(s.set("memory_mb", 16).is_ok());
        assert_eq!(s.get(LimitKey::MemoryMb), Some(16));
        let e = s.set("memory", 16).err().unwrap_or_default();
        assert!(
            e.contains("memory is not a limit") && e.contains("memory_mb"),
            "{e}"
        );
        let e = s.set("deadline_ms", 0).err().unwrap_or_default();
        assert!(e.contains("0 is out of range"), "{e}");
        let parsed: Result<LimitSettings, _> = toml::from_str("max_rowz = 3");
        let e = parsed.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.contains("unknown limit `max_rowz`"), "{e}");
    }

    #[test]
    fn complete_settings_make_limits_and_a_missing_one_is_named() {
        let text = "memory_mb = 64\ndeadline_ms = 500\ncpu_budget_ms = 100\nmax_rows = 10\nmax_table_kb = 4\n";
        let partial: LimitSettings = toml::from_str(text).unwrap_or_default();
        assert_eq!(partial.complete().err(), Some("log_lines_per_minute"));
        let mut full = partial.clone();
        full.merge(&toml::from_str("log_lines_per_minute = 7").unwrap_or_default());
        let limits = full.complete().unwrap_or_else(|k| panic!("{k} missing"));
        assert_eq!(limits.memory, 64 << 20);
        assert_eq!(limits.max_table_bytes, 4 << 10);
        assert_eq!(limits.log_lines_per_minute, 7);
    }
}
