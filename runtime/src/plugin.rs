//! Loading an input plugin (compile, link, handshake) and the actor that owns its `Store`:
//! one call at a time, a memory cap and a deadline per call, and re-instantiation from the
//! `InstancePre` after any trap.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender, TrySendError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use wasmtime::component::{HasSelf, Linker};
use wasmtime::{Store, Trap};

use crate::bindings::input::{Input, InputPre};
use crate::bindings::{ConfigValue, PluginKind, Table, Tick};
use crate::engine::{EPOCH_PERIOD, GlintEngine};
use crate::host::{HostState, StatsView};
use crate::readings::TickReadings;
use crate::store::{PluginMeta, PluginSource};

/// The contract revisions this host serves (`plugin-info.api-version`).
pub const SUPPORTED_API_VERSIONS: &[u32] = &[1];

/// Most rows a plugin may return in one table: 100,000 covers a machine with every PID
/// (pid_max defaults to 4 million, but real machines run thousands); more is a runaway
/// plugin and would balloon every snapshot.
pub const MAX_ROWS: usize = 100_000;

#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    #[error(transparent)]
    Engine(#[from] crate::engine::EngineError),
    #[error(
        "{name}: does not implement glint's input world ({reason}); build it with glint-sdk's export_input!"
    )]
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
}

/// Resource limits of one plugin.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub memory: usize,
    pub deadline: Duration,
}

/// Counters shown in `glint plugins` and, later, the API and the TUI.
#[derive(Debug, Default)]
pub struct PluginCounters {
    pub calls: AtomicU64,
    pub errors: AtomicU64,
    pub restarts: AtomicU64,
    pub last_call_micros: AtomicU64,
}

/// A compiled, linked and handshaked plugin, ready to run.
pub struct LoadedPlugin {
    pub meta: Arc<PluginMeta>,
    pre: InputPre<HostState>,
    store: Store<HostState>,
    instance: Input,
    limits: Limits,
    settings: Arc<Vec<(String, ConfigValue)>>,
}

/// Compiles (or loads from cache), links and handshakes an input plugin. `label` names it in
/// errors until the handshake gives its real name.
pub fn load(
    engine: &GlintEngine,
    label: &str,
    bytes: &[u8],
    source: PluginSource,
    limits: Limits,
    settings_of: impl Fn(&str) -> Vec<(String, ConfigValue)>,
    readings: Arc<TickReadings>,
) -> Result<LoadedPlugin, PluginError> {
    let component = engine.component(label, bytes)?;
    let wrong_world = |e: wasmtime::Error| PluginError::WrongWorld {
        name: label.to_string(),
        reason: format!("{e:#}"),
    };
    let mut linker = wasi_linker(engine).map_err(wrong_world)?;
    Input::add_to_linker::<HostState, HasSelf<HostState>>(&mut linker, |s| s)
        .map_err(wrong_world)?;
    let pre = linker.instantiate_pre(&component).map_err(wrong_world)?;
    let pre = InputPre::new(pre).map_err(wrong_world)?;

    // Settings are keyed by the plugin's name, known after the handshake.
    let (mut store, instance) =
        instantiate(engine, &pre, label, limits, &Arc::new(Vec::new()), readings).map_err(
            |reason| PluginError::Handshake {
                name: label.to_string(),
                reason,
            },
        )?;
    store.set_epoch_deadline(deadline_ticks(limits.deadline));
    let info = instance
        .call_describe(&mut store)
        .map_err(|e| PluginError::Handshake {
            name: label.to_string(),
            reason: explain_trap(&e, &store, limits),
        })?;
    check_handshake(label, &info, PluginKind::Input)?;
    let meta = Arc::new(PluginMeta::new(info, source));
    let settings = Arc::new(settings_of(&meta.name));
    store.data_mut().plugin = meta.name.as_str().into();
    store.data_mut().settings = settings.clone();
    Ok(LoadedPlugin {
        meta,
        pre,
        store,
        instance,
        limits,
        settings,
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
    Ok(linker)
}

/// A store for one plugin instance, with its memory cap and its deadline armed.
pub(crate) fn new_store(
    engine: &GlintEngine,
    name: &str,
    limits: Limits,
    settings: &Arc<Vec<(String, ConfigValue)>>,
    readings: Arc<TickReadings>,
) -> Store<HostState> {
    let state = HostState::new(name.into(), limits.memory, settings.clone(), readings);
    let mut store = Store::new(&engine.engine, state);
    store.limiter(|s| &mut s.limits);
    // Deadline hit → trap (not async yield): the call fails and the instance is replaced.
    store.epoch_deadline_trap();
    store.set_epoch_deadline(deadline_ticks(limits.deadline));
    store
}

/// A fresh store and instance: used at load and after every trap.
fn instantiate(
    engine: &GlintEngine,
    pre: &InputPre<HostState>,
    name: &str,
    limits: Limits,
    settings: &Arc<Vec<(String, ConfigValue)>>,
    readings: Arc<TickReadings>,
) -> Result<(Store<HostState>, Input), String> {
    let mut store = new_store(engine, name, limits, settings, readings);
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

/// A request to a plugin's actor.
enum Request {
    Update {
        tick: Tick,
        readings: Arc<TickReadings>,
        stats: StatsView,
        reply: Sender<Reply>,
    },
}

/// An actor's answer: which plugin, and its table or why not.
pub struct Reply {
    pub index: usize,
    pub result: Result<Table, PluginError>,
}

/// The handle to a running plugin: a thread that owns the plugin's `Store` and serves one
/// call at a time.
pub struct Actor {
    pub meta: Arc<PluginMeta>,
    pub counters: Arc<PluginCounters>,
    tx: Option<SyncSender<Request>>,
    thread: Option<JoinHandle<()>>,
}

impl Actor {
    /// Starts the actor of a loaded plugin; `index` comes back in its replies.
    pub fn spawn(plugin: LoadedPlugin, engine: Arc<GlintEngine>, index: usize) -> Actor {
        let meta = plugin.meta.clone();
        let counters = Arc::new(PluginCounters::default());
        // Capacity 1: a plugin still busy with the previous tick is skipped, not queued.
        let (tx, rx) = mpsc::sync_channel(1);
        let thread_counters = counters.clone();
        let thread = std::thread::Builder::new()
            .name(format!("plugin-{}", meta.name))
            .spawn(move || run(plugin, engine, index, rx, thread_counters))
            .ok();
        Actor {
            meta,
            counters,
            tx: thread.as_ref().map(|_| tx),
            thread,
        }
    }

    /// Asks for this tick's table; the answer arrives on `reply`. Fails at once if the plugin
    /// is still busy with an earlier call.
    pub fn update(
        &self,
        tick: Tick,
        readings: Arc<TickReadings>,
        stats: StatsView,
        reply: Sender<Reply>,
    ) -> Result<(), PluginError> {
        let name = self.meta.name.clone();
        let tx = self
            .tx
            .as_ref()
            .ok_or(PluginError::Stopped { name: name.clone() })?;
        match tx.try_send(Request::Update {
            tick,
            readings,
            stats,
            reply,
        }) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(_)) => Err(PluginError::Call {
                name,
                reason: "still busy with the previous tick; skipped".into(),
            }),
            Err(TrySendError::Disconnected(_)) => Err(PluginError::Stopped { name }),
        }
    }
}

impl Drop for Actor {
    fn drop(&mut self) {
        // Closing the channel ends the actor's loop.
        self.tx = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn run(
    mut plugin: LoadedPlugin,
    engine: Arc<GlintEngine>,
    index: usize,
    rx: Receiver<Request>,
    counters: Arc<PluginCounters>,
) {
    let name = plugin.meta.name.clone();
    let mut alive = true;
    while let Ok(Request::Update {
        tick,
        readings,
        stats,
        reply,
    }) = rx.recv()
    {
        if !alive {
            let _ = reply.send(Reply {
                index,
                result: Err(PluginError::Stopped { name: name.clone() }),
            });
            continue;
        }
        let started = Instant::now();
        counters.calls.fetch_add(1, Ordering::Relaxed);
        {
            let data = plugin.store.data_mut();
            data.readings = readings.clone();
            data.stats = Some(stats);
        }
        plugin
            .store
            .set_epoch_deadline(deadline_ticks(plugin.limits.deadline));
        let outcome = plugin.instance.call_update(&mut plugin.store, tick);
        plugin.store.data_mut().stats = None;
        let result = match outcome {
            Ok(Ok(table)) => check_table(&name, table),
            Ok(Err(reason)) => Err(PluginError::Call {
                name: name.clone(),
                reason: format!("reported an error: {reason}"),
            }),
            Err(trap) => {
                let reason = explain_trap(&trap, &plugin.store, plugin.limits);
                tracing::error!("plugin {name} failed: {reason}; restarting it");
                // After any trap the instance is poisoned: drop the store, start afresh.
                counters.restarts.fetch_add(1, Ordering::Relaxed);
                match instantiate(
                    &engine,
                    &plugin.pre,
                    &name,
                    plugin.limits,
                    &plugin.settings,
                    readings,
                ) {
                    Ok((store, instance)) => {
                        plugin.store = store;
                        plugin.instance = instance;
                    }
                    Err(e) => {
                        tracing::error!("plugin {name} cannot restart: {e}; plugin stopped");
                        alive = false;
                    }
                }
                Err(PluginError::Trapped {
                    name: name.clone(),
                    reason,
                })
            }
        };
        if let Err(e) = &result {
            counters.errors.fetch_add(1, Ordering::Relaxed);
            // Traps were logged where they were handled, with the restart.
            if !matches!(e, PluginError::Trapped { .. }) {
                tracing::warn!("plugin {e}; left out of this tick");
            }
        }
        counters
            .last_call_micros
            .store(started.elapsed().as_micros() as u64, Ordering::Relaxed);
        // The scheduler may have given up waiting: nobody to tell then.
        let _ = reply.send(Reply { index, result });
    }
}

/// A table the host can use: every row as wide as the columns, the key column present, not
/// too many rows.
fn check_table(name: &str, table: Table) -> Result<Table, PluginError> {
    let bad = |reason: String| {
        Err(PluginError::Call {
            name: name.to_string(),
            reason,
        })
    };
    if table.rows.len() > MAX_ROWS {
        return bad(format!(
            "returned {} rows, more than the {MAX_ROWS} allowed",
            table.rows.len()
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
    Ok(table)
}
