//! The actor that owns a loaded plugin's `Store`: one call at a time, an input plugin's on the
//! shared pool, an output plugin's on a thread of its own with a short queue; and the status
//! made from what it keeps.
use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::bindings::input::glint::plugin::types::{Request as RenderRequest, Response};
use crate::bindings::{PluginKind, Table, Tick};
use crate::plugins::engine::GlintEngine;
use crate::plugins::error::PluginError;
use crate::plugins::host::StatsView;
use crate::plugins::load::{Instance, LoadedPlugin, check_table};
use crate::plugins::pool::Job;
use crate::plugins::readings::TickReadings;
use crate::plugins::sandbox::Sandbox;
use crate::plugins::supervisor::{Gate, PluginCounters, Verdict};
use crate::settings::limits::OUTPUT_QUEUE;
use crate::stats::snapshot::PluginMeta;
use crate::stats::status::{PluginStatus, StatusSource, status_name};

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
            kind: crate::bindings::kind_name(kind).to_string(),
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
            compile_ms: Some(c.compile_millis.load(Ordering::Relaxed)),
            instantiate_micros: Some(c.instantiate_micros.load(Ordering::Relaxed)),
            compiling_since_millis: None,
        }
    }
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
        crate::plugins::supervisor::status_source(
            self.counters.clone(),
            || true,
            move || PluginStatus::from_parts(&meta, kind, &version, &sandbox, &counters, true),
        )
    }

    /// How a shared actor's status is made: alive while its thread runs.
    pub fn shared_status_source(actor: &Arc<Actor>) -> StatusSource {
        let (alive, make) = (actor.clone(), actor.clone());
        crate::plugins::supervisor::status_source(
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
            check_table(&name, table, &plugin.meta.fields, limits).inspect_err(|e| {
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
