//! Loading a plugin: compile (or take from the cache), tell its world from its exports, link
//! the host's imports, handshake, then instantiate it in its own sandbox; and one call on its
//! `Store` under its limits, with the table it returns checked against the contract.
use std::borrow::Cow;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use wasmtime::{Store, Trap};

use crate::bindings::input::glint::plugin::types::{Batch, ExportError, Schema};
use crate::bindings::{FieldInfo, PluginInfo, PluginKind, Table};
use crate::plugins::engine::{EPOCH_PERIOD, GlintEngine};
use crate::plugins::error::PluginError;
use crate::plugins::host::{HostState, StatsView};
use crate::plugins::readings::TickReadings;
use crate::plugins::sandbox::Sandbox;
use crate::plugins::supervisor::{Gate, PluginCounters, Verdict};
use crate::settings::config::Config;
use crate::settings::limits::Limits;
use crate::settings::manifest::Manifest;
use crate::stats::snapshot::{PluginMeta, PluginSource};

mod link;

pub(crate) use link::Instance;
use link::{Pre, link_component, wrong_world};

/// A component bigger than this is not a monitoring plugin: the default ones are ~70 KB,
/// and reading a huge file (each time it changes) would cost the host.
pub const MAX_COMPONENT_BYTES: u64 = 64 << 20;

/// A plugin to load: its label, component bytes and where it comes from.
pub struct PluginFile {
    pub label: String,
    /// Borrowed for embedded plugins: never copied, and on a warm start never read.
    pub bytes: Cow<'static, [u8]>,
    pub sha256: [u8; 32],
    pub source: PluginSource,
    /// What it asks for; none for embedded plugins and a bare `--plugin` file.
    pub manifest: Option<Manifest>,
}

impl PluginFile {
    /// Reads a component file given on the command line, with its manifest if one is
    /// beside it (`NAME.toml` for `NAME.wasm`) or given. Each must be a regular file (or a
    /// link to one), as in the plugins directory: `/dev/zero` would never end.
    pub fn read(
        path: &std::path::Path,
        manifest: Option<&std::path::Path>,
    ) -> Result<PluginFile, String> {
        let bytes =
            crate::settings::file::read_regular(path, MAX_COMPONENT_BYTES, "a plugin component")
                .map_err(|e| e.to_string())?;
        let sha256 = crate::plugins::engine::digest(&bytes);
        let label = path
            .file_stem()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_else(|| path.display().to_string());
        let beside = path.with_extension("toml");
        let manifest = match manifest {
            Some(m) => Some(Manifest::load(m).map_err(|e| e.to_string())?),
            // Whatever is there is read (and refused if it is no regular file), not skipped.
            None if std::fs::symlink_metadata(&beside).is_ok() => {
                Some(Manifest::load(&beside).map_err(|e| e.to_string())?)
            }
            None => None,
        };
        Ok(PluginFile {
            label,
            bytes: Cow::Owned(bytes),
            sha256,
            source: PluginSource::File(path.to_path_buf()),
            manifest,
        })
    }
}

/// The contract revisions this host serves (`plugin-info.api-version`).
pub const SUPPORTED_API_VERSIONS: &[u32] = &[1];

/// A component larger than this compiles in the background when its compiled form is not
/// cached, so that glint serves and ticks at once: on 2 cores CPython (18 MB) takes 11-14 s,
/// SpiderMonkey (12 MB) 10-19 s, QuickJS (1.6 MB) 2 s, while every Rust plugin (under
/// 600 KB) compiles in well under a second and is there from the first tick.
pub const BACKGROUND_COMPILE_BYTES: usize = 1 << 20;

impl PluginFile {
    /// Whether loading it means a long compile (see [`BACKGROUND_COMPILE_BYTES`]); glint's
    /// own plugins never do.
    pub fn compiles_slowly(&self, engine: &GlintEngine) -> bool {
        !matches!(self.source, PluginSource::Embedded)
            && self.bytes.len() > BACKGROUND_COMPILE_BYTES
            && !engine.is_cached(&self.sha256)
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
    let started = Instant::now();
    let component = engine.component(label, &file.bytes, &file.sha256)?;
    let compile_millis = started.elapsed().as_millis() as u64;
    // Instantiation and the handshake run guest code: under a deadline like any call.
    let _busy = engine.busy();
    let (pre, kind) = link_component(engine, label, &component)?;
    if let Some(manifest) = &file.manifest
        && manifest.kind != kind
    {
        return Err(wrong_world(
            label,
            format!(
                "its manifest says kind \"{}\", but the component is of the {} world; fix the manifest's `kind`",
                crate::bindings::kind_name(manifest.kind),
                crate::bindings::kind_name(kind)
            ),
        ));
    }
    let counters = Arc::new(PluginCounters::new(config.supervisor));
    counters
        .compile_millis
        .store(compile_millis, Ordering::Relaxed);
    let linked = Linked {
        engine,
        pre: &pre,
        kind,
        file,
        config,
    };
    let (mut store, instance, info) = handshake(&linked, readings.clone(), counters.clone())?;
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
        .map_err(|reason| handshake_refused(label, reason))?
    } else {
        store.data_mut().adopt(info.name.as_str().into(), &sandbox);
        (store, instance)
    };
    Ok(LoadedPlugin {
        meta: Arc::new(PluginMeta::new(info, file.source.clone())),
        kind,
        version: version_of(file),
        sandbox,
        counters,
        pre,
        store,
        instance,
        poisoned: false,
    })
}

/// A component linked to the host's imports, and what the handshake needs beside it.
struct Linked<'a> {
    engine: &'a GlintEngine,
    pre: &'a Pre,
    kind: PluginKind,
    file: &'a PluginFile,
    config: &'a Config,
}

/// A plugin refused at its handshake (or at its instantiation around it).
fn handshake_refused(label: &str, reason: String) -> PluginError {
    PluginError::Handshake {
        name: label.to_string(),
        reason,
    }
}

/// Instantiates the plugin with nothing granted and asks it who it is (`describe`), under the
/// handshake's deadline: its store, instance and checked info. A plugin of the directory must
/// be named after its file.
fn handshake(
    linked: &Linked<'_>,
    readings: Arc<TickReadings>,
    counters: Arc<PluginCounters>,
) -> Result<(Store<HostState>, Instance, PluginInfo), PluginError> {
    let Linked {
        engine,
        pre,
        kind,
        file,
        config,
    } = *linked;
    let label = file.label.as_str();
    // The handshake runs with nothing granted; the plugin's own sandbox needs its name.
    let handshake = Sandbox::handshake(config);
    let refused = |reason: String| handshake_refused(label, reason);
    let started = Instant::now();
    let (mut store, instance) =
        instantiate(engine, pre, label, &handshake, readings, counters.clone()).map_err(refused)?;
    counters
        .instantiate_micros
        .store(started.elapsed().as_micros() as u64, Ordering::Relaxed);
    arm_deadline(&mut store, handshake.limits.deadline);
    let info = instance
        .describe(&mut store)
        .map_err(|e| refused(explain_trap(&e, &store, handshake.limits)))?;
    check_handshake(label, &info, kind, &config.reserved_names)?;
    if matches!(file.source, PluginSource::Directory(_)) && info.name != label {
        return Err(refused(format!(
            "its handshake names it {:?}, but its file is {label}.wasm: a plugin's files are \
             named after it; rename them {0}.wasm and {0}.toml",
            info.name
        )));
    }
    Ok((store, instance, info))
}

/// A plugin's version: its manifest's, glint's for an embedded plugin, else none.
fn version_of(file: &PluginFile) -> String {
    match (&file.manifest, &file.source) {
        (Some(m), _) => m.version.clone(),
        (None, PluginSource::Embedded) => env!("CARGO_PKG_VERSION").to_string(),
        (None, _) => String::new(),
    }
}

pub(crate) fn check_handshake(
    label: &str,
    info: &crate::bindings::PluginInfo,
    kind: PluginKind,
    reserved: &[String],
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
    if reserved.contains(&info.name) {
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
    if info.fields.len() > MAX_FIELDS {
        return refuse(format!(
            "it declares {} fields, more than the {MAX_FIELDS} a plugin may; split it in several plugins",
            info.fields.len()
        ));
    }
    Ok(())
}

/// Fields a plugin may declare: the largest default plugin has about 40; every column of every
/// table is matched against them (`check_columns`), so a plugin declaring millions would make
/// that check cost the host seconds each tick.
const MAX_FIELDS: usize = 1024;

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
    arm_deadline(&mut store, sandbox.limits.deadline);
    Ok(store)
}

/// Arms a call's deadline, `deadline` from now: the epoch deadline that interrupts guest code,
/// and the instant the host's blocking waits end at (`plugins::blocking`), which no epoch
/// reaches. Before every entry into the guest: both are relative to now.
pub(crate) fn arm_deadline(store: &mut Store<HostState>, deadline: Duration) {
    store.set_epoch_deadline(deadline_ticks(deadline));
    store.data_mut().call_deadline = Some(Instant::now() + deadline);
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
        .map_err(|e| instantiation_failed(&e, name, sandbox))?;
    Ok((store, instance))
}

/// Epochs in a deadline, rounded up, at least one.
pub(crate) fn deadline_ticks(deadline: Duration) -> u64 {
    let period = EPOCH_PERIOD.as_nanos().max(1);
    (deadline.as_nanos().div_ceil(period) as u64).max(1)
}

/// Why a plugin could not be instantiated. A language runtime's heap over the memory cap (CPython
/// starts with ~13 MB) names the limit to raise and a value that leaves it room to run: the
/// global one for the handshake (which runs under it), the plugin's own after.
fn instantiation_failed(e: &wasmtime::Error, name: &str, sandbox: &Sandbox) -> String {
    let cap = sandbox.limits.memory;
    let text = e.root_cause().to_string();
    let needed = text
        .strip_prefix("forcing trap when growing memory to ")
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|bytes| bytes.parse::<usize>().ok());
    match needed {
        Some(bytes) => {
            // Twice what it starts with, in steps of 8 MiB: a runtime's heap grows as it runs.
            let works = (bytes * 2).div_ceil(8 << 20) * 8;
            let setting = if sandbox.handshake {
                format!("plugin_memory_mb = {works} in [global] of glint.toml")
            } else {
                format!(
                    "memory_mb = {works} in [plugins.{name}.limits] of glint.toml (and in its \
                     manifest's [limits], if it asks for less)"
                )
            };
            format!(
                "cannot instantiate: it needs {:.1} MB of memory to start, more than its memory \
                 cap of {} MiB; raise it to {works} or more: {setting}",
                bytes as f64 / 1e6,
                cap >> 20
            )
        }
        None => format!("cannot instantiate: {e:#}"),
    }
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
    pub(crate) fn call<T>(
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
            self.restart(engine, readings.clone())?;
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
        arm_deadline(&mut self.store, limits.deadline);
        let outcome = f(&self.instance, &mut self.store);
        self.store.data_mut().stats = None;
        let (wall, cpu) = (started.elapsed(), thread_cpu().saturating_sub(cpu_start));
        let result = self.settle(outcome, limits);
        self.record(&result, wall, cpu, limits);
        result
    }

    /// Replaces a poisoned instance with a fresh one (with `readings`, or the last call's); one
    /// that cannot be made quarantines the plugin.
    fn restart(
        &mut self,
        engine: &GlintEngine,
        readings: Option<Arc<TickReadings>>,
    ) -> Result<(), PluginError> {
        let name = self.meta.name.clone();
        let counters = self.counters.clone();
        let readings = readings.unwrap_or_else(|| self.store.data().readings.clone());
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
                Ok(())
            }
            Err(e) => {
                let reason = format!("cannot restart: {e}");
                tracing::error!("plugin {name} {reason}; quarantined");
                counters.health().quarantine(reason.clone());
                Err(PluginError::Quarantined { name, reason })
            }
        }
    }

    /// The call's result from the guest's answer: an error it reports is the plugin's; a trap
    /// poisons the instance and is told to the supervisor, which may restart or quarantine it.
    fn settle<T>(
        &mut self,
        outcome: wasmtime::Result<Result<T, String>>,
        limits: Limits,
    ) -> Result<T, PluginError> {
        let name = self.meta.name.clone();
        match outcome {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(reason)) => Err(PluginError::Call {
                name,
                reason: format!("reported an error: {reason}"),
            }),
            Err(trap) => {
                let reason = explain_trap(&trap, &self.store, limits);
                // After any trap the instance is poisoned: replaced before the next call.
                self.poisoned = true;
                match self
                    .counters
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
                Err(PluginError::Trapped { name, reason })
            }
        }
    }

    /// Counts a call that ran: its wall and CPU time against the budget (the supervisor may
    /// throttle the plugin), an error, its duration and the memory the instance holds.
    fn record<T>(
        &self,
        result: &Result<T, PluginError>,
        wall: Duration,
        cpu: Duration,
        limits: Limits,
    ) {
        let name = &self.meta.name;
        let counters = &self.counters;
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
    }
}

/// A table the host can use: every row as wide as the columns, the key column present,
/// every column one of the plugin's declared `fields` (`check_columns`), within the plugin's
/// row and size limits.
pub(crate) fn check_table(
    name: &str,
    table: Table,
    fields: &[FieldInfo],
    limits: Limits,
) -> Result<Table, PluginError> {
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
    if let Err(reason) = check_columns(&table, fields) {
        return bad(reason);
    }
    Ok(table)
}

/// The columns an is-rate field `f` stands for (types.wit, `field-info.is-rate`): the delta
/// `f`, the raw counter `f_gauge` and `f_rate_per_sec`, as glint-sdk's `Rates` writes them.
const RATE_SUFFIXES: [&str; 3] = ["", "_gauge", "_rate_per_sec"];

/// Every column declared in the handshake, and every declared rate backed by its counter's
/// three columns. A column with no field has no unit or description for the API, the
/// exporters or the UI; a rate field without its columns is listed (and its history kept)
/// but never filled. Either is the plugin's mistake, named so its author can fix it.
fn check_columns(table: &Table, fields: &[FieldInfo]) -> Result<(), String> {
    // An empty list has no columns (the sdk takes them from the first row): nothing to check.
    if table.columns.is_empty() {
        return Ok(());
    }

    let stands_for = |field: &FieldInfo, column: &str| {
        column
            .strip_prefix(field.name.as_str())
            .is_some_and(|rest| {
                if field.is_rate {
                    RATE_SUFFIXES.contains(&rest)
                } else {
                    rest.is_empty()
                }
            })
    };
    // Each field stands for at most three columns, so of a longer list (repeated names) only
    // that many are matched against every field: a hostile table of a million columns costs
    // no more than a sound one.
    let most = fields
        .iter()
        .map(|f| if f.is_rate { RATE_SUFFIXES.len() } else { 1 })
        .sum::<usize>();
    let matched = &table.columns[..table.columns.len().min(most + 1)];
    if let Some(column) = matched
        .iter()
        .find(|c| !fields.iter().any(|f| stands_for(f, c.as_str())))
    {
        return Err(format!(
            "returned the column {column:?}, which its handshake (info(), describe) does not \
             declare: declare a field named {column:?} there (a rate field stands for its \
             _gauge and _rate_per_sec columns too), or leave the column out"
        ));
    }
    if table.columns.len() > most {
        return Err(format!(
            "returned {} columns, more than the {most} its handshake's fields stand for (a \
             column named twice?): return each declared column once",
            table.columns.len()
        ));
    }
    for field in fields.iter().filter(|f| f.is_rate) {
        let missing = RATE_SUFFIXES.iter().find(|suffix| {
            !table
                .columns
                .iter()
                .any(|c| c.strip_prefix(field.name.as_str()) == Some(**suffix))
        });
        if let Some(suffix) = missing {
            let name = &field.name;
            return Err(format!(
                "declares {name:?} a rate but returned no \"{name}{suffix}\" column: feed its \
                 counter every update (glint-sdk: Rates::push with counter!({name:?}, value)), \
                 or declare the field without .rate()"
            ));
        }
    }
    Ok(())
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
mod handshake_tests {
    use super::*;
    use crate::bindings::Layout;

    #[test]
    fn a_plugin_named_after_a_reserved_route_is_refused_by_name() {
        let info = PluginInfo {
            name: "events".into(),
            description: String::new(),
            interfaces: vec![PluginKind::Input],
            api_version: SUPPORTED_API_VERSIONS[0],
            layout: Layout::Record,
            fields: Vec::new(),
            reads: Vec::new(),
        };
        let reserved = vec!["events".to_string(), "all".to_string()];
        let e = check_handshake("events", &info, PluginKind::Input, &reserved)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("\"events\" is taken by an API route"), "{e}");
        assert!(check_handshake("events", &info, PluginKind::Input, &[]).is_ok());
    }
}

/// `check_table`'s column checks.
#[cfg(test)]
mod tests;
