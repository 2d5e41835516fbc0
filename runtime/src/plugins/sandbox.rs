//! What one plugin may do and use: the capabilities its manifest asks for intersected with
//! what the operator grants (network destinations, one writable directory, environment
//! variables, process command lines and user names), and its resource limits.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use wasmtime_wasi::sockets::SocketAddrUse;

use crate::bindings::{Table, Value, wit_readings as wr};
use crate::settings::config::Config;
use crate::settings::grants::{Destination, GrantSettings, Protocol};
use crate::settings::limits::{EXPORT_DEADLINE, LimitKey, Limits};
use crate::settings::manifest::{Capabilities, Manifest};

/// How long finding which address of a granted name answers may take: a LAN or loopback
/// target answers in milliseconds; past this the first address is used, and the request's own
/// connect says why it fails.
const HTTP_PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// The host's verdict on a wasi:http request's destination.
#[derive(Debug, Clone, PartialEq)]
pub enum HttpTarget {
    /// Granted: send it to this address.
    Granted(SocketAddr),
    NotGranted,
    /// A granted name that does not resolve now (its DNS is down): worth a retry.
    Lookup(String),
}

impl Destination {
    pub(crate) fn allows(&self, tcp: bool) -> bool {
        match self.protocol {
            Protocol::Any => true,
            Protocol::Tcp | Protocol::Http => tcp,
            Protocol::Udp => !tcp,
        }
    }

    /// Whether `addr` is this destination now: the same port and the host's address (a
    /// name is resolved here, by the host, at each check, so a plugin cannot point it
    /// elsewhere).
    pub(crate) async fn is(&self, addr: SocketAddr) -> bool {
        if addr.port() != self.port {
            return false;
        }
        if let Ok(ip) = self.host.parse::<IpAddr>() {
            return ip == addr.ip();
        }
        match tokio::net::lookup_host((self.host.as_str(), self.port)).await {
            Ok(mut resolved) => resolved.any(|a| a.ip() == addr.ip()),
            Err(_) => false,
        }
    }
}

/// What a plugin was granted in the end, and what it asked for and did not get.
#[derive(Debug, Clone, Default)]
pub struct Grants {
    pub network: Vec<Destination>,
    pub directory: Option<PathBuf>,
    pub env: Vec<String>,
    pub process_cmdlines: bool,
    pub process_users: bool,
    /// Asked for and not granted, as the manifest names them.
    pub denied: Vec<String>,
    /// The latest network access refused, and how many were.
    pub refusals: Arc<Refusals>,
    /// Whom its HTTPS requests trust when its section names a `ca_file`: the public CAs and
    /// those; none, the public CAs alone (`https::public_trust`).
    pub tls: Option<Arc<rustls::ClientConfig>>,
}

/// Network accesses the host refused a plugin: what the supervisor shows as the reason.
#[derive(Debug, Default)]
pub struct Refusals {
    last: Mutex<Option<String>>,
    count: std::sync::atomic::AtomicU64,
}

impl Refusals {
    pub fn record(&self, what: String) {
        self.count
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        *self.last.lock().unwrap_or_else(PoisonError::into_inner) = Some(what);
    }

    /// The latest refusal and the number so far.
    pub fn latest(&self) -> (Option<String>, u64) {
        (
            self.last
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
            self.count.load(std::sync::atomic::Ordering::Relaxed),
        )
    }
}

impl Grants {
    /// Nothing at all: the handshake runs like this, and plugins without a manifest.
    pub fn none() -> Grants {
        Grants::default()
    }

    /// The granted capabilities, one line each, as the API shows them.
    pub fn granted(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .network
            .iter()
            .map(|d| format!("network {}", d.spec))
            .collect();
        if let Some(dir) = &self.directory {
            out.push(format!("directory {}", dir.display()));
        }
        out.extend(self.env.iter().map(|e| format!("env {e}")));
        if self.process_cmdlines {
            out.push("process_cmdlines".into());
        }
        if self.process_users {
            out.push("process_users".into());
        }
        out
    }

    /// The `wasi:sockets` check: a connection or datagram only to a granted destination;
    /// binds only to the wildcard address and an ephemeral port (what a client's connect
    /// or send does), and never a listening socket.
    pub fn socket_check(
        &self,
        plugin: Arc<str>,
    ) -> impl Fn(SocketAddr, SocketAddrUse) -> Pin<Box<dyn Future<Output = bool> + Send + Sync>>
    + Send
    + Sync
    + 'static {
        let destinations: Arc<[Destination]> = self.network.clone().into();
        let refusals = self.refusals.clone();
        move |addr, use_| {
            let destinations = destinations.clone();
            let refusals = refusals.clone();
            let plugin = plugin.clone();
            Box::pin(async move {
                let (tcp, what) = match use_ {
                    SocketAddrUse::TcpConnect => (true, "TCP connection to"),
                    SocketAddrUse::UdpSend => (false, "UDP datagram to"),
                    // Answers to a datagram sent: from a granted destination only.
                    SocketAddrUse::UdpReceive => (false, "UDP datagram from"),
                    SocketAddrUse::TcpBind | SocketAddrUse::UdpBind => {
                        let tcp = matches!(use_, SocketAddrUse::TcpBind);
                        let client = addr.ip().is_unspecified() && addr.port() == 0;
                        if client && destinations.iter().any(|d| d.allows(tcp)) {
                            return true;
                        }
                        refusals.record(format!("bind to {addr}: a plugin may not bind"));
                        return false;
                    }
                    _ => {
                        refusals.record(format!("listening on {addr}: a plugin may not listen"));
                        return false;
                    }
                };
                for d in destinations.iter().filter(|d| d.allows(tcp)) {
                    if d.is(addr).await {
                        tracing::debug!(plugin = &*plugin, "{what} {addr}: granted as {}", d.spec);
                        return true;
                    }
                }
                let reason = format!("{what} {addr} refused: not a granted destination");
                tracing::warn!(plugin = &*plugin, "{reason}");
                refusals.record(reason);
                false
            })
        }
    }

    /// Where a wasi:http request to `host:port` may go: the address of a granted destination,
    /// looked up now by the host (a name only if it is the granted name itself: looking up
    /// any other would let a plugin send data out in DNS questions). The request is then
    /// sent to exactly this address.
    pub async fn http_target(&self, host: &str, port: u16) -> HttpTarget {
        let tcp = self
            .network
            .iter()
            .filter(|d| d.allows(true) && d.port == port);
        if let Ok(ip) = host.parse::<IpAddr>() {
            let addr = SocketAddr::new(ip, port);
            for d in tcp {
                if d.is(addr).await {
                    return HttpTarget::Granted(addr);
                }
            }
            return HttpTarget::NotGranted;
        }
        let name = host.trim_end_matches('.');
        if !tcp.clone().any(|d| d.host.eq_ignore_ascii_case(name)) {
            return HttpTarget::NotGranted;
        }
        let addrs: Vec<SocketAddr> = match tokio::net::lookup_host((name, port)).await {
            Ok(found) => found.collect(),
            Err(e) => return HttpTarget::Lookup(format!("cannot look up {name}: {e}")),
        };
        match addrs.as_slice() {
            [] => HttpTarget::Lookup(format!("{name} has no address")),
            [one] => HttpTarget::Granted(*one),
            // A name with several addresses (`localhost`: ::1 and 127.0.0.1): the one that
            // answers, as a client trying each in turn would find it.
            many => {
                match tokio::time::timeout(HTTP_PROBE_TIMEOUT, tokio::net::TcpStream::connect(many))
                    .await
                {
                    Ok(Ok(stream)) => stream
                        .peer_addr()
                        .map_or(HttpTarget::Granted(many[0]), HttpTarget::Granted),
                    _ => HttpTarget::Granted(many[0]),
                }
            }
        }
    }

    /// Whether the plugin may look up `name`: one of its granted destinations' host names
    /// (or an address, which needs no lookup).
    pub fn may_resolve(&self, name: &str) -> bool {
        name.parse::<IpAddr>().is_ok()
            || self
                .network
                .iter()
                .any(|d| d.host.eq_ignore_ascii_case(name.trim_end_matches('.')))
    }

    /// Takes the sensitive fields out of process readings the plugin was not granted.
    pub fn redact_processes(&self, processes: &mut [wr::Process]) {
        if self.process_cmdlines && self.process_users {
            return;
        }
        for p in processes {
            if !self.process_cmdlines {
                p.cmdline = Vec::new();
            }
            if !self.process_users {
                p.username = String::new();
            }
        }
    }

    /// Whether a table read through the stats interface needs redacting for this plugin.
    pub fn redacts(&self, table: &Table) -> bool {
        (!self.process_cmdlines && table.columns.iter().any(|c| c == CMDLINE_COLUMN))
            || (!self.process_users && table.columns.iter().any(|c| c == USER_COLUMN))
    }

    /// The same redaction on another plugin's table read through the stats interface
    /// (processlist's `cmdline` and `username` columns).
    pub fn redact_table(&self, table: &mut Table) {
        let column = |name: &str| table.columns.iter().position(|c| c == name);
        let cmdline = column(CMDLINE_COLUMN).filter(|_| !self.process_cmdlines);
        let user = column(USER_COLUMN).filter(|_| !self.process_users);
        for row in &mut table.rows {
            if let Some(cell) = cmdline.and_then(|i| row.get_mut(i)) {
                *cell = Value::TextList(Vec::new());
            }
            if let Some(cell) = user.and_then(|i| row.get_mut(i)) {
                *cell = Value::Text(String::new());
            }
        }
    }
}

/// The stats columns that carry the sensitive readings.
const CMDLINE_COLUMN: &str = "cmdline";
const USER_COLUMN: &str = "username";

/// Everything a plugin's store is built from.
#[derive(Debug, Clone)]
pub struct Sandbox {
    pub limits: Limits,
    pub grants: Arc<Grants>,
    pub settings: Arc<Vec<(String, crate::bindings::ConfigValue)>>,
    /// Where the limits differ from what the manifest asked (asked for more than allowed).
    pub notes: Vec<String>,
    /// The handshake's: the global limits, not yet the plugin's own.
    pub handshake: bool,
}

impl Sandbox {
    /// Whether the store's WASI context must be built for it (a directory, environment
    /// variables or network destinations): otherwise the handshake's store can take it on.
    pub fn needs_wasi(&self) -> bool {
        let g = &self.grants;
        g.directory.is_some() || !g.env.is_empty() || !g.network.is_empty()
    }

    /// What an exporter's sandbox adds. Its calls wait on the network, so its deadline is
    /// [`EXPORT_DEADLINE`] unless its section sets one. An embedded exporter is glint's own
    /// code, configured by the operator: it may reach exactly the destination of its `url`
    /// setting and write in exactly the directory of its `file` setting, and nothing else.
    pub fn for_exporter(&mut self, config: &Config, name: &str, embedded: bool) {
        let section = config.plugins.get(name);
        if section.is_none_or(|s| s.limits.get(LimitKey::DeadlineMs).is_none()) {
            self.limits.deadline = self.limits.deadline.max(EXPORT_DEADLINE);
        }
        // Its cost is measured and shown, not throttled: it runs on a thread of its own at
        // its own interval, off the tick, and its deadline bounds every call.
        self.limits.cpu_budget = self.limits.cpu_budget.max(self.limits.deadline);
        // From the operator's section only: a manifest may not choose whom the host trusts,
        // nor which file it reads.
        if let Some(ca_file) = section.and_then(|s| s.settings.get("ca_file")) {
            self.trust_ca_file(ca_file);
        }
        if !embedded {
            return;
        }
        let text = |key: &str| {
            self.settings
                .iter()
                .find(|(k, _)| k == key)
                .and_then(|(_, v)| match v {
                    crate::bindings::ConfigValue::Text(t) if !t.trim().is_empty() => {
                        Some(t.clone())
                    }
                    _ => None,
                })
        };
        let mut grants = (*self.grants).clone();
        // An exporter reads no readings: the sensitive ones are nothing to it.
        grants.process_cmdlines = false;
        grants.process_users = false;
        if let Some(url) = text("url") {
            match Destination::parse(url.trim()) {
                Ok(d) => grants.network.push(d),
                Err(e) => self.notes.push(format!(
                    "its `url` is not a destination, so it may reach nothing: {e}"
                )),
            }
        }
        if let Some(file) = text("file") {
            match PathBuf::from(file.trim()).parent() {
                Some(dir) if dir.is_absolute() => grants.directory = Some(dir.to_path_buf()),
                _ => self.notes.push(format!(
                    "its `file` {file:?} is not an absolute path, so it may write nowhere"
                )),
            }
        }
        self.grants = Arc::new(grants);
    }

    /// Trusts the CAs in `ca_file` (the absolute path of a PEM file) for the exporter's HTTPS
    /// requests, besides the public ones. A file that cannot be used is a note, and HTTPS
    /// trusts the public CAs alone.
    fn trust_ca_file(&mut self, ca_file: &crate::bindings::ConfigValue) {
        let path = match ca_file {
            crate::bindings::ConfigValue::Text(t)
                if std::path::Path::new(t.trim()).is_absolute() =>
            {
                PathBuf::from(t.trim())
            }
            other => {
                self.notes.push(format!(
                    "its `ca_file` must be the absolute path of a PEM file, not {other:?}; \
                     HTTPS trusts the public CAs alone"
                ));
                return;
            }
        };
        match crate::plugins::https::trust_with(&path) {
            Ok(trust) => {
                let mut grants = (*self.grants).clone();
                grants.tls = Some(trust);
                self.grants = Arc::new(grants);
            }
            Err(e) => self
                .notes
                .push(format!("{e}; until then HTTPS trusts the public CAs alone")),
        }
    }

    /// The handshake's sandbox: default limits, nothing granted, no settings.
    pub fn handshake(config: &Config) -> Sandbox {
        Sandbox {
            limits: config.plugin_limits,
            grants: Arc::new(Grants::none()),
            settings: Arc::new(Vec::new()),
            notes: Vec::new(),
            handshake: true,
        }
    }

    /// The sandbox of plugin `name`: `manifest` (none for embedded plugins and bare
    /// `--plugin` files) asks, the config grants. Embedded plugins are glint's own code and
    /// get the sensitive readings unless the operator's grant says otherwise.
    pub fn resolve(
        config: &Config,
        name: &str,
        manifest: Option<&Manifest>,
        embedded: bool,
    ) -> Sandbox {
        let section = config.plugins.get(name);
        let grant = section.and_then(|s| s.grant.clone()).unwrap_or_default();
        let mut grants = Grants::none();
        if embedded {
            grants.process_cmdlines = grant.process_cmdlines.unwrap_or(true);
            grants.process_users = grant.process_users.unwrap_or(true);
        }
        let mut settings: Vec<(String, crate::bindings::ConfigValue)> = Vec::new();
        let defaults = config.plugin_limits;
        let cap = section.map_or(defaults, |s| s.limits.over(defaults));
        let mut limits = cap;
        let mut notes = Vec::new();
        if let Some(m) = manifest {
            grant_asked(&m.capabilities, &grant, &mut grants);
            limits = limits_asked(m, cap, name, &mut notes);
            settings.extend(m.config.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        if let Some(section) = section {
            for (k, v) in &section.settings {
                settings.retain(|(key, _)| key != k);
                settings.push((k.clone(), v.clone()));
            }
        }
        Sandbox {
            limits,
            grants: Arc::new(grants),
            settings: Arc::new(settings),
            notes,
            handshake: false,
        }
    }
}

/// Grants what a manifest asks for as far as the operator's `grant` allows; the rest is listed
/// in `grants.denied`, as the manifest names it.
fn grant_asked(asked: &Capabilities, grant: &GrantSettings, grants: &mut Grants) {
    let granted_network = grant.network.clone().unwrap_or_default();
    for ask in &asked.network {
        match Destination::parse(&ask.destination) {
            Ok(d) if granted_network.contains(&ask.destination) => grants.network.push(d),
            _ => grants.denied.push(format!("network {}", ask.destination)),
        }
    }
    if let Some(dir) = &asked.directory {
        if grant.directory.as_deref() == Some(dir.path.as_str()) {
            grants.directory = Some(PathBuf::from(&dir.path));
        } else {
            grants.denied.push(format!("directory {}", dir.path));
        }
    }
    let granted_env = grant.env.clone().unwrap_or_default();
    for ask in &asked.env {
        if granted_env.contains(&ask.name) {
            grants.env.push(ask.name.clone());
        } else {
            grants.denied.push(format!("env {}", ask.name));
        }
    }
    if asked.process_cmdlines.is_some() {
        grants.process_cmdlines = grant.process_cmdlines == Some(true);
        if !grants.process_cmdlines {
            grants.denied.push("process_cmdlines".into());
        }
    }
    if asked.process_users.is_some() {
        grants.process_users = grant.process_users == Some(true);
        if !grants.process_users {
            grants.denied.push("process_users".into());
        }
    }
}

/// The limits plugin `name`'s manifest asks for, none above `cap`; asking for more is noted.
fn limits_asked(m: &Manifest, cap: Limits, name: &str, notes: &mut Vec<String>) -> Limits {
    // A manifest may ask for less than allowed, never more.
    let asked_limits = m.limits.over(cap);
    let limits = Limits {
        memory: asked_limits.memory.min(cap.memory),
        deadline: asked_limits.deadline.min(cap.deadline),
        cpu_budget: asked_limits.cpu_budget.min(cap.cpu_budget),
        max_rows: asked_limits.max_rows.min(cap.max_rows),
        max_table_bytes: asked_limits.max_table_bytes.min(cap.max_table_bytes),
        log_lines_per_minute: asked_limits
            .log_lines_per_minute
            .min(cap.log_lines_per_minute),
    };
    if asked_limits != limits {
        notes.push(format!(
            "asked for more than allowed ({:?}); raise it in [plugins.{name}.limits]",
            m.limits
        ));
    }
    limits
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations_parse_and_bad_ones_say_why() {
        let d = Destination::parse("127.0.0.1:8086").expect("ip:port");
        assert_eq!(
            (d.protocol, d.host.as_str(), d.port),
            (Protocol::Any, "127.0.0.1", 8086)
        );
        let d = Destination::parse("udp://localhost:8125").expect("udp");
        assert_eq!(
            (d.protocol, d.host.as_str(), d.port),
            (Protocol::Udp, "localhost", 8125)
        );
        let d = Destination::parse("http://127.0.0.1:9091/metrics/job/glint").expect("url");
        assert_eq!((d.protocol, d.port), (Protocol::Http, 9091));
        let d = Destination::parse("https://example.org/x").expect("https");
        assert_eq!(d.port, 443);
        let d = Destination::parse("[::1]:9000").expect("v6");
        assert_eq!(d.host, "::1");
        for bad in [
            "localhost",
            "ftp://x:1",
            "host:0",
            "host:99999",
            ":80",
            "a b:1",
        ] {
            let e = Destination::parse(bad).expect_err(bad);
            assert!(e.contains(&format!("{bad:?}")), "{e}");
        }
    }

    fn config(text: &str) -> Config {
        Config::from_toml("test.toml", text).expect("config")
    }

    fn manifest(text: &str) -> Manifest {
        Manifest::parse("m.toml", text).expect("manifest")
    }

    const ASKS: &str = r#"
kind = "input"
version = "1"
[config]
greeting = "hi"
[capabilities]
network = [{ destination = "127.0.0.1:8086", reason = "r" }, { destination = "udp://127.0.0.1:8125", reason = "r" }]
directory = { path = "/tmp/x", reason = "r" }
env = [{ name = "TOKEN", reason = "r" }, { name = "OTHER", reason = "r" }]
process_cmdlines = { reason = "r" }
[limits]
memory_mb = 16
deadline_ms = 5000
"#;

    #[test]
    fn nothing_is_granted_that_the_operator_did_not_grant() {
        let s = Sandbox::resolve(&config(""), "p", Some(&manifest(ASKS)), false);
        assert!(s.grants.granted().is_empty(), "{:?}", s.grants.granted());
        assert_eq!(s.grants.denied.len(), 6, "{:?}", s.grants.denied);
        // Less memory than the default is fine; a longer deadline is capped at the default.
        assert_eq!(s.limits.memory, 16 << 20);
        assert_eq!(s.limits.deadline, Duration::from_millis(500));
        assert_eq!(s.notes.len(), 1, "{:?}", s.notes);
        assert!(matches!(
            s.settings.as_slice(),
            [(k, crate::bindings::ConfigValue::Text(v))] if k == "greeting" && v == "hi"
        ));
    }

    #[test]
    fn granted_is_what_both_ask_and_grant_name() {
        let c = config(
            r#"
[plugins.p]
greeting = "hello"
[plugins.p.grant]
network = ["127.0.0.1:8086", "10.0.0.1:22"]
directory = "/tmp/x"
env = ["TOKEN", "NOT_ASKED"]
process_cmdlines = true
process_users = true
[plugins.p.limits]
deadline_ms = 8000
"#,
        );
        let s = Sandbox::resolve(&c, "p", Some(&manifest(ASKS)), false);
        assert_eq!(
            s.grants.granted(),
            [
                "network 127.0.0.1:8086",
                "directory /tmp/x",
                "env TOKEN",
                "process_cmdlines"
            ]
        );
        assert_eq!(
            s.grants.denied,
            ["network udp://127.0.0.1:8125", "env OTHER"]
        );
        // process_users was granted but not asked: not given.
        assert!(!s.grants.process_users);
        assert_eq!(s.limits.deadline, Duration::from_millis(5000));
        assert!(matches!(
            &s.settings[0],
            (k, crate::bindings::ConfigValue::Text(v)) if k == "greeting" && v == "hello"
        ));
    }

    #[test]
    fn embedded_plugins_read_processes_unless_revoked() {
        let s = Sandbox::resolve(&config(""), "processlist", None, true);
        assert!(s.grants.process_cmdlines && s.grants.process_users);
        let c = config("[plugins.processlist.grant]\nprocess_cmdlines = false\n");
        let s = Sandbox::resolve(&c, "processlist", None, true);
        assert!(!s.grants.process_cmdlines && s.grants.process_users);
        let s = Sandbox::resolve(&config(""), "stranger", None, false);
        assert!(!s.grants.process_cmdlines && !s.grants.process_users);
    }

    #[test]
    fn redaction_empties_command_lines_and_users() {
        let grants = Grants::none();
        let mut table = Table {
            key: Some("pid".into()),
            columns: vec!["pid".into(), "cmdline".into(), "username".into()],
            rows: vec![vec![
                Value::Uint(1),
                Value::TextList(vec!["/sbin/init".into()]),
                Value::Text("root".into()),
            ]],
        };
        assert!(grants.redacts(&table));
        grants.redact_table(&mut table);
        assert!(matches!(
            table.rows[0].as_slice(),
            [Value::Uint(1), Value::TextList(l), Value::Text(u)] if l.is_empty() && u.is_empty()
        ));
    }

    fn check(grants: &Grants, addr: &str, use_: SocketAddrUse) -> bool {
        let check = grants.socket_check("t".into());
        let addr: SocketAddr = addr.parse().expect("addr");
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(check(addr, use_))
    }

    #[test]
    fn sockets_reach_only_granted_destinations_by_their_resolved_address() {
        let grants = Grants {
            network: vec![
                Destination::parse("localhost:7001").expect("d"),
                Destination::parse("udp://127.0.0.1:7002").expect("d"),
            ],
            ..Grants::default()
        };
        assert!(check(&grants, "127.0.0.1:7001", SocketAddrUse::TcpConnect));
        // Another port, another address the name does not resolve to, another protocol.
        assert!(!check(&grants, "127.0.0.1:7003", SocketAddrUse::TcpConnect));
        assert!(!check(&grants, "127.0.0.2:7001", SocketAddrUse::TcpConnect));
        assert!(!check(&grants, "127.0.0.1:7002", SocketAddrUse::TcpConnect));
        assert!(check(&grants, "127.0.0.1:7002", SocketAddrUse::UdpSend));
        assert!(!check(&grants, "127.0.0.1:7009", SocketAddrUse::UdpSend));
        // Client binds yes, servers no.
        assert!(check(&grants, "0.0.0.0:0", SocketAddrUse::UdpBind));
        assert!(!check(&grants, "0.0.0.0:7001", SocketAddrUse::TcpBind));
        assert!(!check(&grants, "0.0.0.0:0", SocketAddrUse::TcpListen));
        let (last, count) = grants.refusals.latest();
        assert_eq!(count, 6);
        assert!(last.is_some_and(|l| l.contains("listen")));
        // Nothing granted: nothing at all.
        assert!(!check(&Grants::none(), "0.0.0.0:0", SocketAddrUse::UdpBind));
    }

    #[test]
    fn only_the_operator_s_section_gives_an_exporter_a_ca_file() {
        // A manifest's own: not read, not trusted.
        let asks = manifest(
            "kind = \"exporter\"\nversion = \"1\"\n[config]\nca_file = \"/etc/ssl/certs/ca-certificates.crt\"\n",
        );
        let mut s = Sandbox::resolve(&config(""), "x", Some(&asks), false);
        s.for_exporter(&config(""), "x", false);
        assert!(
            s.grants.tls.is_none() && s.notes.is_empty(),
            "{:?}",
            s.notes
        );
        // The operator's, unusable: said so, naming the file; HTTPS keeps the public CAs.
        for (value, says) in [
            ("/nowhere/ca.pem", "cannot read the CA file /nowhere/ca.pem"),
            ("ca.pem", "must be the absolute path"),
        ] {
            let c = config(&format!("[plugins.x]\nca_file = \"{value}\"\n"));
            let mut s = Sandbox::resolve(&c, "x", None, false);
            s.for_exporter(&c, "x", false);
            assert!(s.grants.tls.is_none(), "{value}");
            assert!(
                s.notes
                    .iter()
                    .any(|n| n.contains(says) && n.contains("public CAs alone")),
                "{value}: {:?}",
                s.notes
            );
        }
    }
}
