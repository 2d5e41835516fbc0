//! Each plugin's status as the API, the TUI and `glint plugins` show it, the board that makes
//! them on request, and the digest that tells when a plugin's lifecycle moved.

use std::collections::BTreeMap;

use crate::settings::limits::Limits;
use crate::stats::snapshot::PluginSource;

/// One plugin's health as the engine reports it: served at `/api/3/plugins` and shown in the
/// terminal UI's plugin panel. A field missing from a server's answer (an older glint) reads
/// as its default.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct PluginStatus {
    pub name: String,
    pub kind: String,
    /// From its manifest (glint's own version for embedded plugins).
    pub version: String,
    /// `embedded`, or the file it was loaded from.
    pub source: String,
    /// `running`, `throttled`, `restarting`, `quarantined`, `compiling` (a large component
    /// compiled in the background, since `compiling_since_millis`), or `refused` (it could
    /// not be loaded: see `last_error`).
    pub status: String,
    pub capabilities: Vec<String>,
    /// Asked for by its manifest, not granted by the config.
    pub denied: Vec<String>,
    pub calls: u64,
    pub errors: u64,
    pub restarts: u64,
    /// Ticks it sat out (throttled, or waiting to restart).
    pub skipped: u64,
    /// Throttled to one tick in this many (1: every tick; 0 from an older glint).
    pub runs_every: u32,
    pub last_call_micros: u64,
    pub p50_micros: Option<u64>,
    pub p99_micros: Option<u64>,
    /// The CPU time of its calls (host readings it collects included).
    pub cpu_p50_micros: Option<u64>,
    pub cpu_p99_micros: Option<u64>,
    /// Its linear memory; `None` before its first call.
    pub memory_bytes: Option<u64>,
    /// With the guest's stderr when it trapped.
    pub last_error: Option<String>,
    pub last_error_millis: Option<u64>,
    /// The latest network access the host refused it, and how many were.
    pub last_refusal: Option<String>,
    pub refusals: u64,
    pub log_dropped: u64,
    pub limits: Option<StatusLimits>,
    /// Remarks on its sandbox (asked for more than allowed...).
    pub notes: Vec<String>,
    /// An exporter's buffer and deliveries.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub export: Option<ExportStatus>,
    /// How long compiling its component took (or mapping it from the cache), once loaded.
    pub compile_ms: Option<u64>,
    /// How long making its first instance took, once loaded.
    pub instantiate_micros: Option<u64>,
    /// Since when it is compiling (epoch ms), while `status` is `compiling`.
    pub compiling_since_millis: Option<u64>,
}

/// The limits a plugin runs under, in the API's units.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct StatusLimits {
    pub memory_mb: u64,
    pub deadline_ms: u64,
    pub cpu_budget_ms: u64,
    pub max_rows: u64,
    pub max_table_kb: u64,
    pub log_lines_per_minute: u64,
}

impl From<Limits> for StatusLimits {
    fn from(l: Limits) -> StatusLimits {
        StatusLimits {
            memory_mb: (l.memory >> 20) as u64,
            deadline_ms: l.deadline.as_millis() as u64,
            cpu_budget_ms: l.cpu_budget.as_millis() as u64,
            max_rows: l.max_rows as u64,
            max_table_kb: (l.max_table_bytes >> 10) as u64,
            log_lines_per_minute: u64::from(l.log_lines_per_minute),
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

/// A running plugin's status, made when asked for: making one sorts the plugin's call times
/// and copies its names and capabilities, which a tick has no use for.
pub struct StatusSource {
    /// Its status as `PluginStatus::status` names it, and its restarts, without the rest:
    /// what the lifecycle digest is made of.
    state: Box<dyn Fn() -> (&'static str, u64) + Send + Sync>,
    make: Box<dyn Fn() -> PluginStatus + Send + Sync>,
}

impl StatusSource {
    pub fn new(
        state: impl Fn() -> (&'static str, u64) + Send + Sync + 'static,
        make: impl Fn() -> PluginStatus + Send + Sync + 'static,
    ) -> StatusSource {
        StatusSource {
            state: Box::new(state),
            make: Box::new(make),
        }
    }
}

/// Every plugin's status, made on request: the running plugins (with a note when a new
/// version was refused), then the directory's plugins that could not be loaded. Replaced
/// whole when the set of plugins changes.
#[derive(Default)]
pub struct StatusBoard {
    pub running: Vec<StatusSource>,
    /// Plugins that could not be loaded (or exporters not asked for), by name.
    pub refused: BTreeMap<String, PluginStatus>,
    /// Tells this board from the ones before it.
    pub generation: u64,
}

impl StatusBoard {
    pub fn statuses(&self) -> Vec<PluginStatus> {
        let mut out: Vec<PluginStatus> = self
            .running
            .iter()
            .map(|source| {
                let mut status = (source.make)();
                match self.refused.get(&status.name) {
                    Some(r) if r.status == "compiling" => status
                        .notes
                        .push("a new version is compiling, this one goes on".to_string()),
                    Some(r) => status.notes.push(format!(
                        "a new version was refused, this one goes on: {}",
                        r.last_error.as_deref().unwrap_or_default()
                    )),
                    None => {}
                }
                status
            })
            .collect();
        let only_refused: Vec<PluginStatus> = self
            .refused
            .values()
            .filter(|r| !out.iter().any(|s| s.name == r.name))
            .cloned()
            .collect();
        out.extend(only_refused);
        out
    }

    /// A digest of what plugin lifecycle events are made of (the board, and each running
    /// plugin's state and restarts): the same digest, no event. A tick checks it instead of
    /// making every status.
    pub fn lifecycle(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        self.generation.hash(&mut h);
        for source in &self.running {
            (source.state)().hash(&mut h);
        }
        h.finish()
    }
}

/// A plugin's status as the API names it: its health's, or `stopped` once its runner ended.
pub fn status_name(running: bool, health: &'static str) -> &'static str {
    if running { health } else { "stopped" }
}

impl PluginStatus {
    /// A plugin whose component is being compiled in the background (`bytes` long).
    pub fn compiling(name: &str, source: &PluginSource, bytes: usize) -> PluginStatus {
        PluginStatus {
            name: name.to_string(),
            source: source.to_string(),
            status: "compiling".into(),
            compiling_since_millis: crate::stats::unix_millis_now(),
            notes: vec![format!(
                "compiling its {:.1} MB component in the background; it runs once compiled",
                bytes as f64 / 1e6
            )],
            ..PluginStatus::default()
        }
    }

    /// A plugin that could not be loaded.
    pub fn refused(name: &str, source: &PluginSource, reason: String) -> PluginStatus {
        PluginStatus {
            name: name.to_string(),
            source: source.to_string(),
            status: "refused".into(),
            last_error: Some(reason),
            last_error_millis: crate::stats::unix_millis_now(),
            ..PluginStatus::default()
        }
    }
}
