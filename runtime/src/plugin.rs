//! Loading a plugin (compile, tell its world from its exports, link, handshake, then its own
//! sandbox) and the actor that owns its `Store`: one call at a time under the plugin's
//! limits, the supervisor's verdict on every failure, and re-instantiation from the
//! `InstancePre` after a trap. Input plugins answer ticks, output plugins render requests.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use wasmtime::component::{HasSelf, Linker};
use wasmtime::{Store, Trap};

use crate::bindings::exporter::{Exporter, ExporterPre};
use crate::bindings::input::glint::plugin::types::{
    Batch, ExportError, Request as RenderRequest, Response, Schema,
};
use crate::bindings::input::{Input, InputPre};
use crate::bindings::output::{Output, OutputPre};
use crate::bindings::{PluginInfo, PluginKind, Table, Tick};
use crate::config::Config;
use crate::engine::{EPOCH_PERIOD, GlintEngine};
use crate::host::{HostState, StatsView};
use crate::monitor::PluginFile;
use crate::pool::Job;
use crate::readings::TickReadings;
use crate::sandbox::{Limits, Sandbox};
use crate::store::{PluginMeta, PluginSource};
use crate::supervisor::{Gate, Health, Policy, Verdict};

/// The contract revisions this host serves (`plugin-info.api-version`).
pub const SUPPORTED_API_VERSIONS: &[u32] = &[1];

/// Names the API uses for its own routes under /api/3: a plugin named so would be hidden.
const RESERVED_NAMES: &[&str] = &[
    "all",
    "plugins",
    "pluginslist",
    "status",
    "events",
    "ws",
    "outputs",
];

/// Render requests an output plugin may have waiting: a render takes milliseconds and
/// scrapers do not send many at once, so more than 8 waiting means the plugin is stuck or the
/// server is flooded; the next request is refused (503) rather than queued without end.
pub const OUTPUT_QUEUE: usize = 8;

#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    #[error(transparent)]
    Engine(#[from] crate::engine::EngineError),
    #[error("{name}: not a plugin this glint can run: {reason}")]
    WrongWorld { name: String, reason: String },
    #[error(
        "{name}: built for plugin API version {found}, but this glint serves {supported:?}; rebuild the plugin against glint-sdk {sdk}"
    )]
    ApiVersion {
        name: String,
        found: u32,
        supported: &'static [u32],
        sdk: &'static str,
    },
    #[error("{name}: refused at handshake: {reason}")]
    Handshake { name: String, reason: String },
    #[error("{name}: {reason}")]
    Call { name: String, reason: String },
    /// The guest trapped (deadline, memory cap, panic...): its instance was replaced.
    #[error("{name}: {reason}")]
    Trapped { name: String, reason: String },
    #[error("{name}: plugin stopped")]
    Stopped { name: String },
    #[error("{name}: quarantined: {reason}")]
    Quarantined { name: String, reason: String },
    #[error("{name}: restarting after a failure, in {} ms", wait.as_millis())]
    Restarting { name: String, wait: Duration },
    #[error("{name}: throttled (over its CPU budget); sits out this tick")]
    Throttled { name: String },
    #[error("{name}: busy with {OUTPUT_QUEUE} waiting requests; try again")]
    Busy { name: String },
}

impl PluginError {
    /// A call the supervisor held back (restarting, quarantined, throttled): expected, not
    /// worth a warning each tick.
    pub fn is_held_back(&self) -> bool {
        matches!(
            self,
            PluginError::Quarantined { .. }
                | PluginError::Restarting { .. }
                | PluginError::Throttled { .. }
        )
    }
}

/// A plugin's counters and health: shown by `glint plugins`, the API and the TUI.
#[derive(Debug, Default)]
pub struct PluginCounters {
    pub calls: AtomicU64,
    pub errors: AtomicU64,
    pub restarts: AtomicU64,
    pub last_call_micros: AtomicU64,
    /// Bytes of linear memory, as of the last call.
    pub memory_bytes: AtomicU64,
    /// Log lines dropped over its limit.
    pub log_dropped: AtomicU64,
    pub health: Mutex<Health>,
}

impl PluginCounters {
    pub fn new(policy: Policy) -> PluginCounters {
        PluginCounters {
            health: Mutex::new(Health::new(policy)),
            ..PluginCounters::default()
        }
    }

    pub fn health(&self) -> MutexGuard<'_, Health> {
        self.health.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

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
    /// `running`, `throttled`, `restarting`, `quarantined`, or `refused` (it could not be
    /// loaded: see `last_error`).
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
    pub export: Option<crate::export::ExportStatus>,
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

/// A running plugin's status, made when asked for: making one sorts the plugin's call times
/// and copies its names and capabilities, which a tick has no use for.
pub struct StatusSource {
    counters: Arc<PluginCounters>,
    /// Whether its runner is alive (an output plugin's or an exporter's thread).
    alive: Box<dyn Fn() -> bool + Send + Sync>,
    make: Box<dyn Fn() -> PluginStatus + Send + Sync>,
}

impl StatusSource {
    pub fn new(
        counters: Arc<PluginCounters>,
        alive: impl Fn() -> bool + Send + Sync + 'static,
        make: impl Fn() -> PluginStatus + Send + Sync + 'static,
    ) -> StatusSource {
        StatusSource {
            counters,
            alive: Box::new(alive),
            make: Box::new(make),
        }
    }

    /// Its status as `PluginStatus::status` names it, without making the rest.
    fn state(&self) -> &'static str {
        status_name((self.alive)(), self.counters.health().status())
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
                if let Some(r) = self.refused.get(&status.name) {
                    status.notes.push(format!(
                        "a new version was refused, this one goes on: {}",
                        r.last_error.as_deref().unwrap_or_default()
                    ));
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
            source.state().hash(&mut h);
            source
                .counters
                .restarts
                .load(Ordering::Relaxed)
                .hash(&mut h);
        }
        h.finish()
    }
}

/// A plugin's status as the API names it: its health's, or `stopped` once its runner ended.
fn status_name(running: bool, health: &'static str) -> &'static str {
    if running { health } else { "stopped" }
}

impl PluginStatus {
    /// The status of a loaded plugin, now.
    pub fn of(actor: &Actor) -> PluginStatus {
        PluginStatus::from_parts(
            &actor.meta,
            actor.kind,
            &actor.version,
            &actor.sandbox,
            &actor.counters,
            actor.is_running(),
        )
    }

    /// The status of a plugin from what every runner keeps of it.
    pub fn from_parts(
        meta: &PluginMeta,
        kind: PluginKind,
        version: &str,
        sandbox: &Sandbox,
        c: &PluginCounters,
        running: bool,
    ) -> PluginStatus {
        let memory = c.memory_bytes.load(Ordering::Relaxed);
        let health = c.health().report();
        let (last_refusal, refusals) = sandbox.grants.refusals.latest();
        PluginStatus {
            name: meta.name.clone(),
            kind: crate::events::kind_name(kind).to_string(),
            version: version.to_string(),
            source: meta.source.to_string(),
            status: status_name(running, health.status).to_string(),
            capabilities: sandbox.grants.granted(),
            denied: sandbox.grants.denied.clone(),
            calls: c.calls.load(Ordering::Relaxed),
            errors: c.errors.load(Ordering::Relaxed),
            restarts: c.restarts.load(Ordering::Relaxed),
            skipped: health.skipped,
            runs_every: health.runs_every,
            last_call_micros: c.last_call_micros.load(Ordering::Relaxed),
            p50_micros: health.p50_micros,
            p99_micros: health.p99_micros,
            cpu_p50_micros: health.cpu_p50_micros,
            cpu_p99_micros: health.cpu_p99_micros,
            memory_bytes: (memory > 0).then_some(memory),
            last_error: health.last_error,
            last_error_millis: health.last_error_millis,
            last_refusal,
            refusals,
            log_dropped: c.log_dropped.load(Ordering::Relaxed),
            limits: Some(sandbox.limits.into()),
            notes: sandbox.notes.clone(),
            export: None,
        }
    }

    /// A plugin that could not be loaded.
    pub fn refused(name: &str, source: &PluginSource, reason: String) -> PluginStatus {
        PluginStatus {
            name: name.to_string(),
            source: source.to_string(),
            status: "refused".into(),
            last_error: Some(reason),
            last_error_millis: crate::supervisor::unix_millis_now(),
            ..PluginStatus::default()
        }
    }
}

/// A linked component of one of the worlds the host runs.
enum Pre {
    Input(InputPre<HostState>),
    Output(OutputPre<HostState>),
    Exporter(ExporterPre<HostState>),
}

/// A live instance of a `Pre`.
enum Instance {
    Input(Input),
    Output(Output),
    Exporter(Exporter),
}

impl Pre {
    fn instantiate(&self, store: &mut Store<HostState>) -> wasmtime::Result<Instance> {
        Ok(match self {
            Pre::Input(pre) => Instance::Input(pre.instantiate(store)?),
            Pre::Output(pre) => Instance::Output(pre.instantiate(store)?),
            Pre::Exporter(pre) => Instance::Exporter(pre.instantiate(store)?),
        })
    }
}

impl Instance {
    fn describe(&self, store: &mut Store<HostState>) -> wasmtime::Result<PluginInfo> {
        match self {
            Instance::Input(i) => i.call_describe(store),
            Instance::Output(o) => o.call_describe(store),
            Instance::Exporter(e) => e.call_describe(store),
        }
    }
}

/// A compiled, linked and handshaked plugin, ready to run.
pub struct LoadedPlugin {
    pub meta: Arc<PluginMeta>,
    pub kind: PluginKind,
    /// From its manifest, or glint's for embedded plugins.
    pub version: String,
    pub sandbox: Sandbox,
    pub counters: Arc<PluginCounters>,
    pre: Pre,
    store: Store<HostState>,
    instance: Instance,
    /// Trapped: the instance must be replaced before the next call.
    poisoned: bool,
}

/// The world a component implements, told from its exports: `update` (input), `render`
/// (output) or `export` (exporter).
fn world_of(
    engine: &GlintEngine,
    component: &wasmtime::component::Component,
) -> Option<PluginKind> {
    let ty = component.component_type();
    let exports: Vec<&str> = ty.exports(&engine.engine).map(|(name, _)| name).collect();
    if exports.contains(&"update") {
        Some(PluginKind::Input)
    } else if exports.contains(&"render") {
        Some(PluginKind::Output)
    } else if exports.contains(&"export") {
        Some(PluginKind::Exporter)
    } else {
        None
    }
}

/// Compiles (or loads from cache), links and handshakes a plugin of the input or output
/// world, then instantiates it in its own sandbox. `file.label` names it in errors until
/// the handshake gives its real name.
pub fn load(
    engine: &GlintEngine,
    file: &PluginFile,
    config: &Config,
    readings: Arc<TickReadings>,
) -> Result<LoadedPlugin, PluginError> {
    let label = file.label.as_str();
    let component = engine.component(label, &file.bytes, &file.sha256)?;
    // Instantiation and the handshake run guest code: under a deadline like any call.
    let _busy = engine.busy();
    let wrong_world = |reason: String| PluginError::WrongWorld {
        name: label.to_string(),
        reason,
    };
    let linked = |e: wasmtime::Error| {
        wrong_world(format!(
            "{e:#}; build it with glint-sdk (export_input! or export_output_world!) against this glint's WIT"
        ))
    };
    let mut linker = wasi_linker(engine).map_err(linked)?;
    let kind = world_of(engine, &component);
    let pre = match kind {
        Some(PluginKind::Input) => {
            Input::add_to_linker::<HostState, HasSelf<HostState>>(&mut linker, |s| s)
                .map_err(linked)?;
            let pre = linker.instantiate_pre(&component).map_err(linked)?;
            Pre::Input(InputPre::new(pre).map_err(linked)?)
        }
        Some(PluginKind::Output) => {
            Output::add_to_linker::<HostState, HasSelf<HostState>>(&mut linker, |s| s)
                .map_err(linked)?;
            let pre = linker.instantiate_pre(&component).map_err(linked)?;
            Pre::Output(OutputPre::new(pre).map_err(linked)?)
        }
        Some(PluginKind::Exporter) => {
            Exporter::add_to_linker::<HostState, HasSelf<HostState>>(&mut linker, |s| s)
                .map_err(linked)?;
            // Exporters send through wasi:http, which the host checks against their grants
            // (see `host::HttpHooks`).
            wasmtime_wasi_http::p2::add_only_http_to_linker_sync(&mut linker).map_err(linked)?;
            let pre = linker.instantiate_pre(&component).map_err(linked)?;
            Pre::Exporter(ExporterPre::new(pre).map_err(linked)?)
        }
        None => {
            return Err(wrong_world(
                "it exports none of `update` (input), `render` (output) or `export` (exporter); \
                 build it with glint-sdk (export_input!, export_output_world! or export_exporter!)"
                    .into(),
            ));
        }
    };
    let kind = kind.unwrap_or(PluginKind::Input);
    if let Some(manifest) = &file.manifest
        && manifest.kind != kind
    {
        return Err(wrong_world(format!(
            "its manifest says kind \"{}\", but the component is of the {} world; fix the manifest's `kind`",
            crate::events::kind_name(manifest.kind),
            crate::events::kind_name(kind)
        )));
    }

    // The handshake runs with nothing granted; the plugin's own sandbox needs its name.
    let handshake = Sandbox::handshake(config);
    let counters = Arc::new(PluginCounters::new(config.supervisor));
    let refused = |reason: String| PluginError::Handshake {
        name: label.to_string(),
        reason,
    };
    let (mut store, instance) = instantiate(
        engine,
        &pre,
        label,
        &handshake,
        readings.clone(),
        counters.clone(),
    )
    .map_err(refused)?;
    store.set_epoch_deadline(deadline_ticks(handshake.limits.deadline));
    let info = instance
        .describe(&mut store)
        .map_err(|e| refused(explain_trap(&e, &store, handshake.limits)))?;
    check_handshake(label, &info, kind)?;
    if matches!(file.source, PluginSource::Directory(_)) && info.name != label {
        return Err(refused(format!(
            "its handshake names it {:?}, but its file is {label}.wasm: a plugin's files are \
             named after it; rename them {0}.wasm and {0}.toml",
            info.name
        )));
    }
    let mut sandbox = Sandbox::resolve(
        config,
        &info.name,
        file.manifest.as_ref(),
        file.source == PluginSource::Embedded,
    );
    if kind == PluginKind::Exporter {
        sandbox.for_exporter(config, &info.name, file.source == PluginSource::Embedded);
    }
    let memory_fits = store.data().limits.memory() <= sandbox.limits.memory;
    let (store, instance) = if sandbox.needs_wasi() || !memory_fits {
        instantiate(
            engine,
            &pre,
            &info.name,
            &sandbox,
            readings,
            counters.clone(),
        )
        .map_err(refused)?
    } else {
        store.data_mut().adopt(info.name.as_str().into(), &sandbox);
        (store, instance)
    };
    let version = match (&file.manifest, &file.source) {
        (Some(m), _) => m.version.clone(),
        (None, PluginSource::Embedded) => env!("CARGO_PKG_VERSION").to_string(),
        (None, _) => String::new(),
    };
    Ok(LoadedPlugin {
        meta: Arc::new(PluginMeta::new(info, file.source.clone())),
        kind,
        version,
        sandbox,
        counters,
        pre,
        store,
        instance,
        poisoned: false,
    })
}

pub(crate) fn check_handshake(
    label: &str,
    info: &crate::bindings::PluginInfo,
    kind: PluginKind,
) -> Result<(), PluginError> {
    if !SUPPORTED_API_VERSIONS.contains(&info.api_version) {
        return Err(PluginError::ApiVersion {
            name: if info.name.is_empty() {
                label.to_string()
            } else {
                info.name.clone()
            },
            found: info.api_version,
            supported: SUPPORTED_API_VERSIONS,
            sdk: "0.1",
        });
    }
    let refuse = |reason: String| {
        Err(PluginError::Handshake {
            name: label.to_string(),
            reason,
        })
    };
    let valid_name = !info.name.is_empty()
        && info.name.len() <= 64
        && info
            .name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if !valid_name {
        return refuse(format!(
            "plugin name {:?} must be 1-64 characters of a-z, 0-9, '_' or '-' (it becomes a URL path)",
            info.name
        ));
    }
    if RESERVED_NAMES.contains(&info.name.as_str()) {
        return refuse(format!(
            "plugin name {:?} is taken by an API route (/api/3/{0}); choose another",
            info.name
        ));
    }
    if !info.interfaces.contains(&kind) {
        return refuse(format!(
            "it declares the interfaces {:?}, not {kind:?}",
            info.interfaces
        ));
    }
    Ok(())
}

/// A linker with the WASI imports every Rust guest's std needs (wasi:cli, wasi:io, ...) even
/// if it never uses them; the context behind them grants nothing (see HostState::new).
pub(crate) fn wasi_linker(engine: &GlintEngine) -> wasmtime::Result<Linker<HostState>> {
    let mut linker: Linker<HostState> = Linker::new(&engine.engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
    restrict_name_lookups(&mut linker)?;
    Ok(linker)
}

/// The WASI name-lookup interface the host links (wasmtime-wasi 48's WIT, 0.2.12; guests
/// built for any 0.2.x link to it).
const NAME_LOOKUP: &str = "wasi:sockets/ip-name-lookup@0.2.12";

/// Name lookups only of the host names a plugin was granted: otherwise a plugin that may
/// reach nothing could still send data out in the names it asks a DNS server about.
fn restrict_name_lookups(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    use wasmtime_wasi::p2::bindings::sockets::ip_name_lookup::Host as _;
    use wasmtime_wasi::p2::bindings::sockets::network::ErrorCode;
    use wasmtime_wasi::sockets::WasiSocketsView as _;
    linker.allow_shadowing(true);
    linker.instance(NAME_LOOKUP)?.func_wrap(
        "resolve-addresses",
        |mut store: wasmtime::StoreContextMut<'_, HostState>,
         (network, name): (
            wasmtime::component::Resource<wasmtime_wasi::p2::Network>,
            String,
        )| {
            let state = store.data_mut();
            if !state.grants.may_resolve(&name) {
                let reason = format!("name lookup of {name:?} refused: not a granted host");
                tracing::warn!(plugin = &*state.plugin, "{reason}");
                state.grants.refusals.record(reason);
                return Ok((Err(ErrorCode::AccessDenied),));
            }
            match state.sockets().resolve_addresses(network, name) {
                Ok(stream) => Ok((Ok(stream),)),
                Err(e) => match e.downcast() {
                    Ok(code) => Ok((Err(code),)),
                    Err(trap) => Err(trap),
                },
            }
        },
    )?;
    linker.allow_shadowing(false);
    Ok(())
}

/// A store for one plugin instance in `sandbox`, with its deadline armed.
pub(crate) fn new_store(
    engine: &GlintEngine,
    name: &str,
    sandbox: &Sandbox,
    readings: Arc<TickReadings>,
    counters: Arc<PluginCounters>,
) -> Result<Store<HostState>, String> {
    let state = HostState::new(name.into(), sandbox, readings, counters)?;
    let mut store = Store::new(&engine.engine, state);
    store.limiter(|s| &mut s.limits);
    // Deadline hit → trap (not async yield): the call fails and the instance is replaced.
    store.epoch_deadline_trap();
    store.set_epoch_deadline(deadline_ticks(sandbox.limits.deadline));
    Ok(store)
}

/// A fresh store and instance: used at load and after every trap.
fn instantiate(
    engine: &GlintEngine,
    pre: &Pre,
    name: &str,
    sandbox: &Sandbox,
    readings: Arc<TickReadings>,
    counters: Arc<PluginCounters>,
) -> Result<(Store<HostState>, Instance), String> {
    let mut store = new_store(engine, name, sandbox, readings, counters)?;
    let instance = pre
        .instantiate(&mut store)
        .map_err(|e| format!("cannot instantiate: {e:#}"))?;
    Ok((store, instance))
}

/// Epochs in a deadline, rounded up, at least one.
pub(crate) fn deadline_ticks(deadline: Duration) -> u64 {
    let period = EPOCH_PERIOD.as_nanos().max(1);
    (deadline.as_nanos().div_ceil(period) as u64).max(1)
}

/// Why a call failed, in words a plugin author can act on, with the guest's stderr.
pub(crate) fn explain_trap(
    e: &wasmtime::Error,
    store: &Store<HostState>,
    limits: Limits,
) -> String {
    let mut reason = match e.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => format!(
            "exceeded its {} ms deadline and was interrupted",
            limits.deadline.as_millis()
        ),
        Some(Trap::StackOverflow) => "overflowed its stack".to_string(),
        Some(trap) => format!("trapped ({trap})"),
        None => {
            let text = e.root_cause().to_string();
            if text.contains("forcing trap when growing memory") {
                format!("went past its memory cap of {} MiB", limits.memory >> 20)
            } else {
                format!("failed: {text}")
            }
        }
    };
    // The guest's stderr on one line (a panic message is what explains most traps); Rust's
    // hint about RUST_BACKTRACE means nothing to a plugin user.
    let stderr: Vec<String> = store
        .data()
        .stderr_text()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("note: run with `RUST_BACKTRACE"))
        .map(str::to_string)
        .collect();
    if !stderr.is_empty() {
        reason.push_str("; stderr: ");
        reason.push_str(&stderr.join(" | "));
    }
    reason
}

/// A request to an output plugin's thread.
enum Request {
    Render {
        request: RenderRequest,
        stats: StatsView,
        reply: tokio::sync::oneshot::Sender<Result<Response, PluginError>>,
    },
}

/// An actor's answer to an update: which plugin, and its table or why not.
pub struct Reply {
    pub index: usize,
    pub result: Result<Table, PluginError>,
}

/// Where the actors of one wave leave their replies, and the tick waits for all of them.
///
/// Not a channel: the tick would wake for each of twenty replies in turn; here it wakes once,
/// when the last one is in (or at its deadline).
pub struct Replies {
    state: Mutex<Waiting>,
    all_in: Condvar,
}

struct Waiting {
    replies: Vec<Reply>,
    /// Calls still to answer.
    expected: usize,
}

impl Replies {
    /// Room for the replies of `expected` calls.
    pub fn new(expected: usize) -> Arc<Replies> {
        Arc::new(Replies {
            state: Mutex::new(Waiting {
                replies: Vec::with_capacity(expected),
                expected,
            }),
            all_in: Condvar::new(),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Waiting> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn send(&self, reply: Reply) {
        let mut waiting = self.lock();
        waiting.replies.push(reply);
        waiting.expected = waiting.expected.saturating_sub(1);
        if waiting.expected == 0 {
            self.all_in.notify_one();
        }
    }

    /// One call that will not answer (it could not be sent).
    pub fn skip(&self) {
        let mut waiting = self.lock();
        waiting.expected = waiting.expected.saturating_sub(1);
    }

    /// The replies in by `until`: all of them, unless some call is late. Every `stall` without
    /// all of them in, `stalled` is called (to give stuck calls' neighbours a worker).
    pub fn wait(&self, until: Instant, stall: Duration, mut stalled: impl FnMut()) -> Vec<Reply> {
        let mut waiting = self.lock();
        while waiting.expected > 0 {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            let (next, wait) = self
                .all_in
                .wait_timeout(waiting, left.min(stall))
                .unwrap_or_else(PoisonError::into_inner);
            waiting = next;
            if wait.timed_out() && waiting.expected > 0 {
                drop(waiting);
                stalled();
                waiting = self.lock();
            }
        }
        std::mem::take(&mut waiting.replies)
    }
}

/// The handle to a running plugin: one call at a time on the plugin's `Store`. An input
/// plugin's calls run on the shared [`Pool`]; an output plugin, called by the server at any
/// time, has a thread of its own with a short queue.
pub struct Actor {
    pub meta: Arc<PluginMeta>,
    pub kind: PluginKind,
    pub version: String,
    pub sandbox: Sandbox,
    pub counters: Arc<PluginCounters>,
    runner: Runner,
}

enum Runner {
    /// The plugin, locked by the call in progress.
    Pooled {
        plugin: Arc<Mutex<LoadedPlugin>>,
        engine: Arc<GlintEngine>,
    },
    Thread {
        tx: Option<SyncSender<Request>>,
        thread: Option<JoinHandle<()>>,
    },
}

impl Actor {
    /// An input plugin whose calls run on the shared pool (see [`Actor::update`]).
    pub fn pooled(plugin: LoadedPlugin, engine: Arc<GlintEngine>) -> Actor {
        Actor {
            meta: plugin.meta.clone(),
            kind: plugin.kind,
            version: plugin.version.clone(),
            sandbox: plugin.sandbox.clone(),
            counters: plugin.counters.clone(),
            runner: Runner::Pooled {
                plugin: Arc::new(Mutex::new(plugin)),
                engine,
            },
        }
    }

    /// Starts the thread of a plugin that serves requests (an output plugin): up to
    /// [`OUTPUT_QUEUE`] wait their turn.
    pub fn spawn(plugin: LoadedPlugin, engine: Arc<GlintEngine>) -> Actor {
        let meta = plugin.meta.clone();
        let kind = plugin.kind;
        let version = plugin.version.clone();
        let sandbox = plugin.sandbox.clone();
        let counters = plugin.counters.clone();
        let (tx, rx) = mpsc::sync_channel(OUTPUT_QUEUE);
        let thread = std::thread::Builder::new()
            .name(format!("plugin-{}", meta.name))
            .spawn(move || serve(plugin, engine, rx))
            .ok();
        Actor {
            meta,
            kind,
            version,
            sandbox,
            counters,
            runner: Runner::Thread {
                tx: thread.as_ref().map(|_| tx),
                thread,
            },
        }
    }

    /// The job that asks for this tick's table, for the pool to run; its answer arrives in
    /// `replies` with `index`. A plugin still busy with an earlier call answers at once that
    /// it skipped this tick; one the supervisor holds back (throttled, restarting,
    /// quarantined) fails here, and no job is made.
    pub fn update(
        &self,
        tick: Tick,
        readings: Arc<TickReadings>,
        stats: StatsView,
        replies: Arc<Replies>,
        index: usize,
    ) -> Result<Job, PluginError> {
        let name = self.meta.name.clone();
        let Runner::Pooled { plugin, engine } = &self.runner else {
            return Err(PluginError::Call {
                name,
                reason: "an output plugin has no update".into(),
            });
        };
        {
            let mut health = self.counters.health();
            match health.gate(Instant::now()) {
                Gate::Run => {}
                Gate::Wait(wait) => return Err(PluginError::Restarting { name, wait }),
                Gate::Quarantined(reason) => {
                    return Err(PluginError::Quarantined { name, reason });
                }
            }
            if health.sits_out(tick.seq) {
                return Err(PluginError::Throttled { name });
            }
        }
        let (plugin, engine) = (plugin.clone(), engine.clone());
        Ok(Box::new(move || {
            let result = match plugin.try_lock() {
                Ok(mut plugin) => update(&mut plugin, &engine, tick, readings, stats),
                Err(std::sync::TryLockError::Poisoned(p)) => {
                    update(&mut p.into_inner(), &engine, tick, readings, stats)
                }
                Err(std::sync::TryLockError::WouldBlock) => Err(PluginError::Call {
                    name,
                    reason: "still busy with the previous tick; skipped".into(),
                }),
            };
            replies.send(Reply { index, result });
        }))
    }

    /// Asks an output plugin to render a request; the answer arrives on the returned
    /// receiver (which fails if the actor stopped). Fails at once if too many are waiting.
    pub fn render(
        &self,
        request: RenderRequest,
        stats: StatsView,
    ) -> Result<tokio::sync::oneshot::Receiver<Result<Response, PluginError>>, PluginError> {
        let name = self.meta.name.clone();
        let Runner::Thread { tx, .. } = &self.runner else {
            return Err(PluginError::Call {
                name,
                reason: "an input plugin renders nothing".into(),
            });
        };
        let tx = tx
            .as_ref()
            .ok_or(PluginError::Stopped { name: name.clone() })?;
        let (reply, answer) = tokio::sync::oneshot::channel();
        match tx.try_send(Request::Render {
            request,
            stats,
            reply,
        }) {
            Ok(()) => Ok(answer),
            Err(TrySendError::Full(_)) => Err(PluginError::Busy { name }),
            Err(TrySendError::Disconnected(_)) => Err(PluginError::Stopped { name }),
        }
    }

    /// How an input plugin's status is made. (An output plugin's, whose thread may end, is
    /// made from its shared actor: [`Actor::shared_status_source`].)
    pub fn status_source(&self) -> StatusSource {
        let (meta, kind, version) = (self.meta.clone(), self.kind, self.version.clone());
        let (sandbox, counters) = (self.sandbox.clone(), self.counters.clone());
        StatusSource::new(
            self.counters.clone(),
            || true,
            move || PluginStatus::from_parts(&meta, kind, &version, &sandbox, &counters, true),
        )
    }

    /// How a shared actor's status is made: alive while its thread runs.
    pub fn shared_status_source(actor: &Arc<Actor>) -> StatusSource {
        let (alive, make) = (actor.clone(), actor.clone());
        StatusSource::new(
            actor.counters.clone(),
            move || alive.is_running(),
            move || PluginStatus::of(&make),
        )
    }

    /// Whether the plugin's runner is alive (an output plugin's thread has not ended).
    /// A quarantined plugin is alive: replaced or re-enabled, it runs again.
    pub fn is_running(&self) -> bool {
        match &self.runner {
            Runner::Pooled { .. } => true,
            Runner::Thread { thread, .. } => thread.as_ref().is_some_and(|t| !t.is_finished()),
        }
    }
}

impl Drop for Actor {
    fn drop(&mut self) {
        if let Runner::Thread { tx, thread } = &mut self.runner {
            // Closing the channel ends the actor's loop.
            *tx = None;
            if let Some(thread) = thread.take() {
                let _ = thread.join();
            }
        }
    }
}

/// One tick's update of an input plugin. A table that breaks the contract (or the plugin's
/// limits) is a failure the supervisor counts, like a trap.
fn update(
    plugin: &mut LoadedPlugin,
    engine: &GlintEngine,
    tick: Tick,
    readings: Arc<TickReadings>,
    stats: StatsView,
) -> Result<Table, PluginError> {
    let name = plugin.meta.name.clone();
    let limits = plugin.sandbox.limits;
    let result = plugin
        .call(
            engine,
            Some(readings),
            stats,
            |instance, store| match instance {
                Instance::Input(i) => i.call_update(store, tick),
                _ => Ok(Err("only an input plugin has an update".into())),
            },
        )
        .and_then(|table| {
            check_table(&name, table, limits).inspect_err(|e| {
                let verdict = plugin
                    .counters
                    .health()
                    .failed(Instant::now(), e.to_string(), false);
                if let Verdict::Quarantined(why) = verdict {
                    tracing::error!("plugin {name} {why}");
                }
                plugin.counters.errors.fetch_add(1, Ordering::Relaxed);
            })
        });
    if let Err(e) = &result
        && !matches!(e, PluginError::Trapped { .. } | PluginError::Stopped { .. })
        && !e.is_held_back()
    {
        tracing::warn!("plugin {e}; left out of this tick");
    }
    result
}

/// An output plugin's thread: renders requests one at a time until the channel closes.
fn serve(mut plugin: LoadedPlugin, engine: Arc<GlintEngine>, rx: Receiver<Request>) {
    while let Ok(Request::Render {
        request,
        stats,
        reply,
    }) = rx.recv()
    {
        let result = plugin.call(&engine, None, stats, |instance, store| match instance {
            Instance::Output(o) => o.call_render(store, &request),
            _ => Ok(Err("only an output plugin renders".into())),
        });
        let _ = reply.send(result);
    }
}

/// CPU time this thread has used: a call's cost against its budget, not counting the time
/// the thread waited for a core.
fn thread_cpu() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    Duration::new(
        t.tv_sec.max(0) as u64,
        t.tv_nsec.clamp(0, 999_999_999) as u32,
    )
}

impl LoadedPlugin {
    /// Sends batches through an exporter: `Ok(Err(..))` is the exporter's own verdict
    /// (retry or drop), `Err` a failure of the call (trap, held back by the supervisor).
    pub fn export(
        &mut self,
        engine: &GlintEngine,
        stats: StatsView,
        schema: &[Schema],
        batches: &[Batch],
    ) -> Result<Result<(), ExportError>, PluginError> {
        self.call(engine, None, stats, |instance, store| match instance {
            Instance::Exporter(e) => e.call_export(store, schema, batches).map(Ok),
            _ => Ok(Err("only an exporter exports".into())),
        })
    }

    /// One guest call under the plugin's deadline, with the stats view (and this tick's
    /// readings) in reach, if the supervisor lets it run. A trap poisons the instance: it is
    /// replaced from the `InstancePre` before the next call, once the backoff is over.
    fn call<T>(
        &mut self,
        engine: &GlintEngine,
        readings: Option<Arc<TickReadings>>,
        stats: StatsView,
        f: impl FnOnce(&Instance, &mut Store<HostState>) -> wasmtime::Result<Result<T, String>>,
    ) -> Result<T, PluginError> {
        let name = self.meta.name.clone();
        let counters = self.counters.clone();
        let gate = counters.health().gate(Instant::now());
        match gate {
            Gate::Run => {}
            Gate::Wait(wait) => return Err(PluginError::Restarting { name, wait }),
            Gate::Quarantined(reason) => return Err(PluginError::Quarantined { name, reason }),
        }
        let _busy = engine.busy();
        if self.poisoned {
            let readings = readings
                .clone()
                .unwrap_or_else(|| self.store.data().readings.clone());
            match instantiate(
                engine,
                &self.pre,
                &name,
                &self.sandbox,
                readings,
                counters.clone(),
            ) {
                Ok((store, instance)) => {
                    self.store = store;
                    self.instance = instance;
                    self.poisoned = false;
                    counters.restarts.fetch_add(1, Ordering::Relaxed);
                    tracing::info!("plugin {name} restarted");
                }
                Err(e) => {
                    let reason = format!("cannot restart: {e}");
                    tracing::error!("plugin {name} {reason}; quarantined");
                    counters.health().quarantine(reason.clone());
                    return Err(PluginError::Quarantined { name, reason });
                }
            }
        }
        let started = Instant::now();
        let cpu_start = thread_cpu();
        counters.calls.fetch_add(1, Ordering::Relaxed);
        {
            let data = self.store.data_mut();
            if let Some(readings) = readings {
                data.readings = readings;
            }
            data.stats = Some(stats);
        }
        let limits = self.sandbox.limits;
        self.store
            .set_epoch_deadline(deadline_ticks(limits.deadline));
        let outcome = f(&self.instance, &mut self.store);
        self.store.data_mut().stats = None;
        let (wall, cpu) = (started.elapsed(), thread_cpu().saturating_sub(cpu_start));
        let result = match outcome {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(reason)) => Err(PluginError::Call {
                name: name.clone(),
                reason: format!("reported an error: {reason}"),
            }),
            Err(trap) => {
                let reason = explain_trap(&trap, &self.store, limits);
                // After any trap the instance is poisoned: replaced before the next call.
                self.poisoned = true;
                match counters
                    .health()
                    .failed(Instant::now(), reason.clone(), true)
                {
                    Verdict::Restart(after) => tracing::error!(
                        "plugin {name} failed: {reason}; restarting it in {} ms",
                        after.as_millis()
                    ),
                    Verdict::Quarantined(why) => tracing::error!("plugin {name} {why}"),
                    Verdict::Continue => {}
                }
                Err(PluginError::Trapped {
                    name: name.clone(),
                    reason,
                })
            }
        };
        let trapped = matches!(result, Err(PluginError::Trapped { .. }));
        if let Some(reason) = counters
            .health()
            .called(wall, cpu, limits.cpu_budget, trapped)
        {
            tracing::error!("plugin {name} {reason}");
        }
        if result.is_err() {
            counters.errors.fetch_add(1, Ordering::Relaxed);
        }
        counters
            .last_call_micros
            .store(wall.as_micros() as u64, Ordering::Relaxed);
        counters
            .memory_bytes
            .store(self.store.data().limits.memory() as u64, Ordering::Relaxed);
        result
    }
}

/// A table the host can use: every row as wide as the columns, the key column present,
/// within the plugin's row and size limits.
fn check_table(name: &str, table: Table, limits: Limits) -> Result<Table, PluginError> {
    let bad = |reason: String| {
        Err(PluginError::Call {
            name: name.to_string(),
            reason,
        })
    };
    if table.rows.len() > limits.max_rows {
        return bad(format!(
            "returned {} rows, more than its limit of {}",
            table.rows.len(),
            limits.max_rows
        ));
    }
    // An empty list has no columns to speak of (the sdk takes them from the first row).
    if let Some(key) = &table.key
        && !table.rows.is_empty()
        && !table.columns.contains(key)
    {
        return bad(format!("its key column {key:?} is not one of its columns"));
    }
    if let Some(i) = table
        .rows
        .iter()
        .position(|r| r.len() != table.columns.len())
    {
        return bad(format!(
            "row {i} has {} values for {} columns",
            table.rows[i].len(),
            table.columns.len()
        ));
    }
    let size = table_bytes(&table);
    if size > limits.max_table_bytes {
        return bad(format!(
            "returned a table of {} KiB, more than its limit of {} KiB",
            size >> 10,
            limits.max_table_bytes >> 10
        ));
    }
    Ok(table)
}

/// About the bytes a table takes as the host holds it: eight per cell plus its text.
pub(crate) fn table_bytes(table: &Table) -> usize {
    let cell = |v: &crate::bindings::Value| {
        use crate::bindings::Value as V;
        8 + match v {
            V::Text(s) => s.len(),
            V::TextList(l) => l.iter().map(|s| s.len() + 8).sum(),
            V::IntList(l) => l.len() * 8,
            V::FloatList(l) => l.len() * 8,
            _ => 0,
        }
    };
    let columns: usize = table.columns.iter().map(|c| c.len() + 8).sum();
    columns
        + table
            .rows
            .iter()
            .map(|r| r.iter().map(cell).sum::<usize>())
            .sum::<usize>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lifecycle_digest_moves_with_a_plugin_state_its_restarts_and_the_board() {
        let counters = Arc::new(PluginCounters::new(Policy::default()));
        let alive = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let board = |generation: u64| {
            let alive = alive.clone();
            StatusBoard {
                running: vec![StatusSource::new(
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
