//! What a plugin's `Store` holds and the host's side of its imports: readings, log, config
//! and the read-only stats view. A plugin gets no filesystem, environment or network beyond
//! what its sandbox grants (see `sandbox`), and sensitive readings only if granted.

use std::sync::Arc;

use wasmtime::component::ResourceTable;
use wasmtime::{ResourceLimiter, StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use crate::bindings::input::glint::plugin::{config, log, readings, stats, types};
use crate::bindings::{
    ConfigValue, Decoration, FieldInfo, Limit, Point, Table, Value, wit_readings as wr,
};
use crate::plugins::readings::TickReadings;
use crate::plugins::sandbox::{Grants, Sandbox};
use crate::plugins::supervisor::PluginCounters;
use crate::stats::snapshot::Snapshot;
use crate::stats::store::Store;

/// How much of a plugin's stderr is kept to explain a crash: a panic message and a short
/// backtrace fit; a plugin printing without end cannot grow the host.
const STDERR_CAPACITY: usize = 16 * 1024;

/// Longest log line a plugin may send; longer lines are cut so a plugin cannot flood the log
/// with one call.
const MAX_LOG_LINE: usize = 4096;

/// The stats a plugin may read: a snapshot (the published one for output plugins, the tick
/// being built for input plugins) plus limits and history.
#[derive(Clone)]
pub struct StatsView {
    pub snapshot: Arc<Snapshot>,
    pub store: Arc<Store>,
}

/// A plugin's caps (wasmtime's `StoreLimits` decides) and the size of its linear memory,
/// which wasm can grow but never shrink: what the plugin panel and the API show as its memory.
pub struct Limiter {
    limits: StoreLimits,
    memory: usize,
}

impl Limiter {
    /// Bytes of linear memory the plugin has.
    pub fn memory(&self) -> usize {
        self.memory
    }
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let allowed = self.limits.memory_growing(current, desired, maximum)?;
        if allowed {
            self.memory = self.memory.max(desired);
        }
        Ok(allowed)
    }

    fn memory_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.limits.memory_grow_failed(error)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.limits.table_growing(current, desired, maximum)
    }

    fn table_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.limits.table_grow_failed(error)
    }

    fn instances(&self) -> usize {
        self.limits.instances()
    }

    fn tables(&self) -> usize {
        self.limits.tables()
    }

    fn memories(&self) -> usize {
        self.limits.memories()
    }
}

/// A plugin's log lines in the current minute, against its limit.
struct LogBudget {
    per_minute: u32,
    since: std::time::Instant,
    used: u32,
    dropped: u32,
}

/// One plugin's store data.
pub struct HostState {
    pub plugin: Arc<str>,
    wasi: WasiCtx,
    table: ResourceTable,
    pub limits: Limiter,
    pub stderr: MemoryOutputPipe,
    pub settings: Arc<Vec<(String, ConfigValue)>>,
    pub grants: Arc<Grants>,
    pub readings: Arc<TickReadings>,
    pub stats: Option<StatsView>,
    counters: Arc<PluginCounters>,
    log: LogBudget,
    http: wasmtime_wasi_http::WasiHttpCtx,
    hooks: HttpHooks,
}

/// wasi:http for exporters: a request goes out only to a granted destination, to the address
/// the host checked, within the plugin's deadline.
pub struct HttpHooks {
    plugin: Arc<str>,
    grants: Arc<Grants>,
    deadline: std::time::Duration,
}

type HttpResult<T> = wasmtime_wasi_http::Result<T>;
type Sent = Box<dyn Future<Output = HttpResult<()>> + Send>;

impl wasmtime_wasi_http::WasiHttpHooks for HttpHooks {
    fn send_request(
        &mut self,
        mut request: http::Request<wasmtime_wasi_http::WasiBody>,
        options: Option<wasmtime_wasi_http::RequestOptions>,
        fut: Sent,
    ) -> Box<
        dyn Future<Output = HttpResult<(http::Response<wasmtime_wasi_http::WasiBody>, Sent)>>
            + Send,
    > {
        use wasmtime_wasi_http::Error;
        drop(fut);
        let (plugin, grants, deadline) = (self.plugin.clone(), self.grants.clone(), self.deadline);
        Box::new(async move {
            let uri = request.uri().clone();
            let https = uri.scheme() == Some(&http::uri::Scheme::HTTPS);
            let authority = uri.authority().ok_or(Error::HttpRequestUriInvalid)?;
            let host = authority
                .host()
                .trim_start_matches('[')
                .trim_end_matches(']');
            let port = authority.port_u16().unwrap_or(if https { 443 } else { 80 });
            let refuse = |reason: String| {
                tracing::warn!(plugin = &*plugin, "{reason}");
                grants.refusals.record(reason);
                Err(Error::HttpRequestDenied)
            };
            if authority.as_str().contains('@') {
                // The TLS connector would look the whole authority up: a name glint never
                // checked.
                return refuse(format!(
                    "HTTP request to {authority} refused: no user:password@ in a URL"
                ));
            }
            let addr = match grants.http_target(host, port).await {
                crate::plugins::sandbox::HttpTarget::Granted(addr) => addr,
                crate::plugins::sandbox::HttpTarget::NotGranted => {
                    return refuse(format!(
                        "HTTP request to {host}:{port} refused: not a granted destination"
                    ));
                }
                crate::plugins::sandbox::HttpTarget::Lookup(why) => {
                    return Err(Error::DnsError {
                        rcode: Some(why),
                        info_code: None,
                    });
                }
            };
            if !https {
                // Sent to the address just checked, not to a second lookup of the name (the
                // Host header keeps the name). Over TLS the name must stay for the
                // certificate check, which binds the connection to that name anyway.
                let mut parts = uri.into_parts();
                parts.authority = Some(
                    addr.to_string()
                        .parse()
                        .map_err(|_| Error::HttpRequestUriInvalid)?,
                );
                *request.uri_mut() =
                    http::Uri::from_parts(parts).map_err(|_| Error::HttpRequestUriInvalid)?;
            }
            // A plugin's own timeouts, but none past its deadline: the call would be killed
            // then anyway, and the host's connection must not outlive it.
            let cap =
                |t: Option<std::time::Duration>| Some(t.map_or(deadline, |t| t.min(deadline)));
            let options = options.unwrap_or_default();
            let options = wasmtime_wasi_http::RequestOptions {
                connect_timeout: cap(options.connect_timeout),
                first_byte_timeout: cap(options.first_byte_timeout),
                between_bytes_timeout: cap(options.between_bytes_timeout),
            };
            let (response, io) =
                wasmtime_wasi_http::default_send_request(request, Some(options)).await?;
            Ok((
                response.map(http_body_util::BodyExt::boxed_unsync),
                Box::new(io) as Sent,
            ))
        })
    }
}

impl HostState {
    /// A store's data for `sandbox`: no argument, stderr captured in memory, and only what
    /// the sandbox grants — its directory (read-write, at the same path), its environment
    /// variables (as they are in glint's environment), sockets to its destinations.
    pub fn new(
        plugin: Arc<str>,
        sandbox: &Sandbox,
        readings: Arc<TickReadings>,
        counters: Arc<PluginCounters>,
    ) -> Result<HostState, String> {
        let stderr = MemoryOutputPipe::new(STDERR_CAPACITY);
        let grants = &sandbox.grants;
        let mut wasi = WasiCtxBuilder::new();
        wasi.stderr(stderr.clone());
        for name in &grants.env {
            if let Some(value) = std::env::var_os(name) {
                wasi.env(name, value.to_string_lossy());
            }
        }
        if let Some(dir) = &grants.directory {
            std::fs::create_dir_all(dir).map_err(|e| {
                format!("cannot create its granted directory {}: {e}", dir.display())
            })?;
            let guest = dir.to_string_lossy();
            wasi.preopened_dir(dir, &*guest, wasmtime_wasi::FsPerms::ReadWrite)
                .map_err(|e| format!("cannot open its granted directory {guest}: {e:#}"))?;
        }
        if !grants.network.is_empty() {
            let tcp = grants
                .network
                .iter()
                .any(|d| d.protocol != crate::settings::grants::Protocol::Udp);
            let udp = grants.network.iter().any(|d| {
                matches!(
                    d.protocol,
                    crate::settings::grants::Protocol::Udp | crate::settings::grants::Protocol::Any
                )
            });
            let names = grants
                .network
                .iter()
                .any(|d| d.host.parse::<std::net::IpAddr>().is_err());
            wasi.allow_tcp(tcp)
                .allow_udp(udp)
                .allow_ip_name_lookup(names)
                .socket_addr_check(grants.socket_check(plugin.clone()));
        }
        let wasi = wasi.build();
        let plugin_name = plugin.clone();
        Ok(HostState {
            plugin,
            wasi,
            table: ResourceTable::new(),
            limits: Limiter {
                limits: store_limits(sandbox.limits.memory),
                memory: 0,
            },
            stderr,
            settings: sandbox.settings.clone(),
            grants: sandbox.grants.clone(),
            readings,
            stats: None,
            counters,
            log: LogBudget {
                per_minute: sandbox.limits.log_lines_per_minute,
                since: std::time::Instant::now(),
                used: 0,
                dropped: 0,
            },
            http: wasmtime_wasi_http::WasiHttpCtx::new(),
            hooks: HttpHooks {
                plugin: plugin_name,
                grants: sandbox.grants.clone(),
                deadline: sandbox.limits.deadline,
            },
        })
    }

    /// Takes on `sandbox` in place of the one the store was made with (the handshake's), when
    /// it grants nothing the WASI context holds (see [`Sandbox::needs_wasi`]): the instance
    /// that answered the handshake goes on, instead of a second one.
    pub fn adopt(&mut self, plugin: Arc<str>, sandbox: &Sandbox) {
        self.plugin = plugin;
        self.settings = sandbox.settings.clone();
        self.grants = sandbox.grants.clone();
        self.hooks = HttpHooks {
            plugin: self.plugin.clone(),
            grants: sandbox.grants.clone(),
            deadline: sandbox.limits.deadline,
        };
        self.limits.limits = store_limits(sandbox.limits.memory);
        self.log.per_minute = sandbox.limits.log_lines_per_minute;
    }

    /// Whether one more log line fits in this minute's budget; at the turn of the minute,
    /// says how many were dropped.
    fn log_allowed(&mut self) -> bool {
        let log = &mut self.log;
        if log.since.elapsed() >= std::time::Duration::from_secs(60) {
            if log.dropped > 0 {
                tracing::warn!(
                    plugin = &*self.plugin,
                    "{} log lines dropped: over its limit of {} a minute",
                    log.dropped,
                    log.per_minute
                );
            }
            log.since = std::time::Instant::now();
            log.used = 0;
            log.dropped = 0;
        }
        if log.used < log.per_minute {
            log.used += 1;
            return true;
        }
        if log.dropped == 0 {
            tracing::warn!(
                plugin = &*self.plugin,
                "over its limit of {} log lines a minute: dropping its log until the minute is up",
                log.per_minute
            );
        }
        log.dropped += 1;
        self.counters
            .log_dropped
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        false
    }

    /// What the plugin wrote to stderr, as text.
    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr.contents())
            .trim()
            .to_string()
    }
}

/// A plugin's caps: its memory, and one memory and a handful of tables (more is a bug or an
/// attack).
fn store_limits(memory: usize) -> StoreLimits {
    StoreLimitsBuilder::new()
        .memory_size(memory)
        .instances(32)
        .tables(32)
        .memories(4)
        .trap_on_grow_failure(true)
        .build()
}

impl wasmtime_wasi_http::WasiHttpView for HostState {
    fn http(&mut self) -> wasmtime_wasi_http::WasiHttpCtxView<'_> {
        wasmtime_wasi_http::WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl types::Host for HostState {}

impl log::Host for HostState {
    fn log(&mut self, level: log::Level, message: String) {
        if !self.log_allowed() {
            return;
        }
        let mut message = message;
        if message.len() > MAX_LOG_LINE {
            let mut cut = MAX_LOG_LINE;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
            message.push('…');
        }
        let plugin = &*self.plugin;
        match level {
            log::Level::Trace => tracing::trace!(plugin, "{message}"),
            log::Level::Debug => tracing::debug!(plugin, "{message}"),
            log::Level::Info => tracing::info!(plugin, "{message}"),
            log::Level::Warn => tracing::warn!(plugin, "{message}"),
            log::Level::Error => tracing::error!(plugin, "{message}"),
        }
    }
}

impl config::Host for HostState {
    fn entries(&mut self) -> Vec<(String, ConfigValue)> {
        self.settings.as_ref().clone()
    }
}

impl readings::Host for HostState {
    fn get_system_info(&mut self) -> wr::SystemInfo {
        self.readings.system_info()
    }
    fn get_cpu_info(&mut self) -> wr::CpuInfo {
        self.readings.cpu_info()
    }
    fn get_cpu_stats(&mut self) -> wr::CpuStats {
        self.readings.cpu_stats()
    }
    fn get_memory(&mut self) -> wr::Memory {
        self.readings.memory()
    }
    fn get_swap(&mut self) -> wr::Swap {
        self.readings.swap()
    }
    fn get_load(&mut self) -> wr::Load {
        self.readings.load()
    }
    fn get_uptime(&mut self) -> wr::Uptime {
        self.readings.uptime()
    }
    fn get_network(&mut self) -> Vec<wr::NetInterface> {
        self.readings.network()
    }
    fn get_disk_io(&mut self) -> Vec<wr::DiskIo> {
        self.readings.disk_io()
    }
    fn get_filesystems(&mut self) -> Vec<wr::Filesystem> {
        self.readings.filesystems()
    }
    fn get_sensors(&mut self) -> Vec<wr::Sensor> {
        self.readings.sensors()
    }
    fn get_processes(&mut self) -> Vec<wr::Process> {
        let mut processes = self.readings.processes();
        self.grants.redact_processes(&mut processes);
        processes
    }
    fn get_process_totals(&mut self) -> wr::ProcessTotals {
        self.readings.process_totals()
    }
    fn get_irqs(&mut self) -> Vec<wr::Irq> {
        self.readings.irqs()
    }
    fn get_raid(&mut self) -> Vec<wr::RaidArray> {
        self.readings.raid()
    }
    fn get_wifi(&mut self) -> Vec<wr::Wifi> {
        self.readings.wifi()
    }
    fn get_folders(&mut self) -> Vec<wr::Folder> {
        self.readings.folders()
    }
    fn get_clock(&mut self) -> wr::Clock {
        self.readings.clock()
    }
}

impl stats::Host for HostState {
    fn plugins(&mut self) -> Vec<String> {
        self.stats
            .as_ref()
            .map(|v| {
                v.snapshot
                    .plugins
                    .iter()
                    .map(|p| p.meta.name.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    fn latest(&mut self, plugin: String) -> Option<Table> {
        let view = self.stats.as_ref()?;
        let mut table = view.snapshot.get(&plugin).map(|p| p.table.clone())?;
        if self.grants.redacts(&table) {
            self.grants.redact_table(&mut table);
        }
        Some(table)
    }

    fn latest_columns(&mut self, plugin: String, columns: Vec<String>) -> Option<Table> {
        let view = self.stats.as_ref()?;
        let stats = view.snapshot.get(&plugin)?;
        let picked: Vec<(usize, String)> = columns
            .into_iter()
            .filter_map(|c| Some((stats.column(&c)?, c)))
            .collect();
        let mut table = Table {
            key: stats
                .table
                .key
                .clone()
                .filter(|k| picked.iter().any(|(_, c)| c == k)),
            rows: stats
                .table
                .rows
                .iter()
                .map(|row| {
                    picked
                        .iter()
                        .map(|(i, _)| row.get(*i).cloned().unwrap_or(Value::None))
                        .collect()
                })
                .collect(),
            columns: picked.into_iter().map(|(_, c)| c).collect(),
        };
        if self.grants.redacts(&table) {
            self.grants.redact_table(&mut table);
        }
        Some(table)
    }

    fn decorations(&mut self, plugin: String) -> Option<Vec<Vec<Decoration>>> {
        let view = self.stats.as_ref()?;
        view.snapshot.get(&plugin).map(|p| p.decorations.clone())
    }

    fn fields(&mut self, plugin: String) -> Vec<FieldInfo> {
        let Some(view) = self.stats.as_ref() else {
            return Vec::new();
        };
        view.snapshot
            .get(&plugin)
            .map(|p| p.meta.fields.clone())
            .unwrap_or_default()
    }

    fn limits(&mut self, plugin: String) -> Vec<Limit> {
        let Some(view) = self.stats.as_ref() else {
            return Vec::new();
        };
        let Some(limits) = view.store.limits.get(&plugin) else {
            return Vec::new();
        };
        let wit =
            |field: &String, key: Option<&String>, l: &crate::settings::config::Limit| Limit {
                field: field.clone(),
                key: key.cloned(),
                careful: l.careful,
                warning: l.warning,
                critical: l.critical,
                log: l.log,
            };
        let mut out: Vec<Limit> = limits
            .fields
            .iter()
            .map(|(field, l)| wit(field, None, l))
            .collect();
        for (key, fields) in &limits.keys {
            out.extend(fields.iter().map(|(field, l)| wit(field, Some(key), l)));
        }
        out
    }

    fn history(
        &mut self,
        plugin: String,
        field: String,
        key: Option<String>,
        count: u32,
    ) -> Vec<Point> {
        let Some(view) = self.stats.as_ref() else {
            return Vec::new();
        };
        view.store.with_history(|h| {
            h.points(&plugin, &field, key.as_deref(), count as usize)
                .into_iter()
                .map(|p| Point {
                    unix_millis: p.unix_millis,
                    value: p.value,
                })
                .collect()
        })
    }
}
