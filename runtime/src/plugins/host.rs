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

/// Longest log line a plugin may send (after escaping); longer lines are cut so a plugin
/// cannot flood the log with one call.
const MAX_LOG_LINE: usize = 4096;

/// The log target of every plugin's message. glint's own lines carry their module's path
/// (`glint::...`), so a plugin's line never passes for one of them; `GLINT_LOG=warn,plugin=off`
/// silences the plugins alone.
const PLUGIN_LOG_TARGET: &str = "plugin";

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
    /// When the call in progress must end: the host's blocking waits (`plugins::blocking`)
    /// end then, as guest code does at its epoch deadline. Armed before every call.
    pub call_deadline: Option<std::time::Instant>,
    counters: Arc<PluginCounters>,
    log: LogBudget,
    http: wasmtime_wasi_http::WasiHttpCtx,
    hooks: HttpHooks,
}

/// wasi:http for every plugin: a request goes out only to a granted destination, to the address
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
                // Whatever reads the authority next may take the whole of it for the name: a
                // name glint never checked.
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
            let options = capped(options, deadline);
            if https {
                // To the address just checked as well (wasmtime-wasi-http's sender would look
                // the name up again), the certificate checked for the name.
                let trust = grants.tls.clone();
                let to = crate::plugins::https::Pinned { host, port, addr };
                let refused = |reason: String| {
                    tracing::warn!(plugin = &*plugin, "{reason}");
                    grants.refusals.record(reason);
                };
                return crate::plugins::https::send(request, to, trust, options, refused).await;
            }
            // Sent to the address just checked, not to a second lookup of the name (the Host
            // header keeps the name).
            let mut parts = uri.into_parts();
            parts.authority = Some(
                addr.to_string()
                    .parse()
                    .map_err(|_| Error::HttpRequestUriInvalid)?,
            );
            *request.uri_mut() =
                http::Uri::from_parts(parts).map_err(|_| Error::HttpRequestUriInvalid)?;
            let (response, io) =
                wasmtime_wasi_http::default_send_request(request, Some(options)).await?;
            Ok((
                response.map(http_body_util::BodyExt::boxed_unsync),
                Box::new(io) as Sent,
            ))
        })
    }
}

/// A plugin's own timeouts, but none past its deadline: the call would be killed then anyway,
/// and the host's connection must not outlive it.
fn capped(
    options: Option<wasmtime_wasi_http::RequestOptions>,
    deadline: std::time::Duration,
) -> wasmtime_wasi_http::RequestOptions {
    let cap = |t: Option<std::time::Duration>| Some(t.map_or(deadline, |t| t.min(deadline)));
    let options = options.unwrap_or_default();
    wasmtime_wasi_http::RequestOptions {
        connect_timeout: cap(options.connect_timeout),
        first_byte_timeout: cap(options.first_byte_timeout),
        between_bytes_timeout: cap(options.between_bytes_timeout),
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
            call_deadline: None,
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
        let line = plugin_line(&self.plugin, &message);
        match level {
            log::Level::Trace => tracing::trace!(target: PLUGIN_LOG_TARGET, "{line}"),
            log::Level::Debug => tracing::debug!(target: PLUGIN_LOG_TARGET, "{line}"),
            log::Level::Info => tracing::info!(target: PLUGIN_LOG_TARGET, "{line}"),
            log::Level::Warn => tracing::warn!(target: PLUGIN_LOG_TARGET, "{line}"),
            log::Level::Error => tracing::error!(target: PLUGIN_LOG_TARGET, "{line}"),
        }
    }
}

/// A plugin's message as one line of glint's log, marked `[plugin]` before anything the plugin
/// wrote. Its control characters are escaped: a newline would start a line of the plugin's
/// making that looks like glint's own (timestamp, level, target), and terminal escapes could
/// rewrite what is already on screen. The name is escaped too: before the handshake it is the
/// file's name, which the plugin's author chose.
fn plugin_line(plugin: &str, message: &str) -> String {
    format!(
        "[{}] {}",
        one_line(plugin, MAX_LOG_LINE),
        one_line(message, MAX_LOG_LINE)
    )
}

/// `text` on one line: control characters escaped (`\n`, `\u{1b}`), cut past `max` bytes.
/// Also how the log shows every value (`main.rs`): a plugin's text quoted in glint's own
/// messages (its error, its stderr) is held to one line too.
pub fn one_line(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max) + 3);
    for c in text.chars() {
        if out.len() >= max {
            out.push('…');
            break;
        }
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if moves_text(c) => out.extend(c.escape_unicode()),
            c => out.push(c),
        }
    }
    out
}

/// Characters that end a line, move the cursor or reorder text on screen: the C0 and C1
/// controls and DEL, the Unicode line and paragraph separators, and the bidirectional
/// embeddings, overrides and isolates.
pub fn moves_text(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        )
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

#[cfg(test)]
mod log_tests {
    use super::*;

    #[test]
    fn a_plugin_message_is_one_line_marked_as_the_plugin_s() {
        let forged =
            "ok\n2030-01-01T00:00:00.000000Z ERROR glint::monitor: forged\r\x1b[2K\u{202e}";
        let line = plugin_line("cpu", forged);
        assert_eq!(
            line,
            "[cpu] ok\\n2030-01-01T00:00:00.000000Z ERROR glint::monitor: forged\\r\\u{1b}[2K\\u{202e}"
        );
        assert!(!line.chars().any(moves_text), "{line:?}");
        // The name comes from the host, before the message: a file name cannot break the line.
        assert_eq!(plugin_line("a\nb", "m"), "[a\\nb] m");
    }

    #[test]
    fn a_long_message_is_cut_after_escaping() {
        let line = one_line(&"\u{7}".repeat(MAX_LOG_LINE), MAX_LOG_LINE);
        assert!(
            line.len() <= MAX_LOG_LINE + "\\u{7}…".len(),
            "{}",
            line.len()
        );
        assert!(line.ends_with('…'));
        assert_eq!(one_line("é".repeat(10).as_str(), 5), "ééé…");
        assert_eq!(one_line("short", MAX_LOG_LINE), "short");
    }
}
