//! glint.toml: the embedded defaults, the user's file merged over them, and errors that name
//! the file, line and key of a bad setting and say what is expected.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use regex::Regex;
use serde::Deserialize;
use toml::Spanned;

use crate::bindings::ConfigValue;
use crate::settings::grants::GrantSettings;
use crate::settings::limits::{LimitKey, LimitSettings, Limits, Policy};

/// The documented defaults, shown by `glint --print-config`.
pub const DEFAULT_TOML: &str = include_str!("../../glint.toml");

/// How the embedded defaults are named in errors.
const EMBEDDED: &str = "(embedded defaults)";
/// Shortest refresh: below 100 ms a tick's own cost (a full process scan) dominates.
pub const MIN_REFRESH_SECS: f64 = 0.1;
/// Longest refresh: one day; beyond that a monitor is not monitoring.
pub const MAX_REFRESH_SECS: f64 = 86_400.0;
/// History points per field: 1,000,000 x 16 bytes = 16 MB per field is already a lot.
const MAX_HISTORY: usize = 1_000_000;
/// Largest output plugin body the server may be set to pass: 1 GiB, the ceiling of a
/// plugin's table too (`MAX_TABLE_KB`); a bigger page is no one's scrape.
const MAX_OUTPUT_BODY_KB: u64 = 1 << 20;
/// Largest backlog one notification subscriber may be given: 1 GiB too; past that a cap caps
/// nothing on the machines glint watches.
const MAX_SUBSCRIBER_BUFFER_KB: u64 = 1 << 20;

#[derive(Debug, thiserror::Error)]
#[error("{file}{line}: {key}{message}", line = line.map(|l| format!(":{l}")).unwrap_or_default(), key = if key.is_empty() { String::new() } else { format!("`{key}`: ") })]
pub struct ConfigError {
    pub file: String,
    pub line: Option<usize>,
    pub key: String,
    pub message: String,
}

/// A threshold set on one field.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limit {
    pub careful: Option<f64>,
    pub warning: Option<f64>,
    pub critical: Option<f64>,
    #[serde(default)]
    pub log: bool,
    /// Compare `value / row[per]` instead of the value (load per core).
    pub per: Option<String>,
}

/// The limits of one plugin: per field, and per item of a list plugin.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PluginLimits {
    pub fields: BTreeMap<String, Limit>,
    pub keys: BTreeMap<String, BTreeMap<String, Limit>>,
}

/// A plugin's section: `enable`, `hide`, what it is granted and its limits, and the
/// settings passed to the plugin.
#[derive(Debug, Clone, Default)]
pub struct PluginSettings {
    pub enable: Option<bool>,
    pub hide: Vec<Regex>,
    /// `[plugins.NAME.grant]`: capabilities its manifest may ask for.
    pub grant: Option<GrantSettings>,
    /// `[plugins.NAME.limits]`: this plugin's limits over `[global]`'s.
    pub limits: LimitSettings,
    pub settings: BTreeMap<String, ConfigValue>,
}

impl PluginSettings {
    /// Whether an item with this key is hidden (a full match of one of the `hide` patterns).
    pub fn hides(&self, key: &str) -> bool {
        self.hide.iter().any(|re| re.is_match(key))
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    pub refresh: Duration,
    pub history_size: usize,
    /// Every plugin's limits unless its section says otherwise.
    pub plugin_limits: Limits,
    pub supervisor: Policy,
    /// Community plugins' directory; `None`: the default (see `default_plugins_dir`).
    pub plugins_dir: Option<PathBuf>,
    pub folders: Vec<PathBuf>,
    pub plugins: BTreeMap<String, PluginSettings>,
    pub limits: BTreeMap<String, PluginLimits>,
    pub server: ServerSettings,
    /// Names a plugin may not take: the server's own routes under /api/3 (a plugin named so
    /// would be hidden). Not from a file: the binary sets it from the server's route table.
    pub reserved_names: Vec<String>,
}

/// The `[server]` section: where `-s`/`-w` listen and who may ask.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerSettings {
    pub bind: String,
    pub port: u16,
    pub username: String,
    /// An Argon2 PHC string from `glint --hash-password`; none = no authentication.
    pub password_hash: Option<String>,
    /// Origins allowed by CORS (`*` for any); empty = no CORS headers.
    pub cors_origins: Vec<String>,
    /// Largest body an output plugin may answer, in bytes; a bigger one is a 502.
    pub output_max_body: usize,
    /// Bytes of events held for one subscriber of /api/3/events or /api/3/ws that does not
    /// read; past them it skips ahead and is told it lagged.
    pub subscriber_buffer: usize,
}

impl Config {
    /// The embedded defaults alone.
    pub fn defaults() -> Result<Config, ConfigError> {
        let file = parse(EMBEDDED, DEFAULT_TOML)?;
        let mut config = Config::base(&file)?;
        config.merge(file);
        Ok(config)
    }

    /// The defaults with a user file merged over them.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: name.clone(),
            line: None,
            key: String::new(),
            message: format!("cannot read the config file: {e}; check the path given to --config"),
        })?;
        Self::from_toml(&name, &text)
    }

    /// The defaults with `text` (named `name` in errors) merged over them.
    pub fn from_toml(name: &str, text: &str) -> Result<Config, ConfigError> {
        let mut config = Config::defaults()?;
        config.merge(parse(name, text)?);
        Ok(config)
    }

    /// The user's config file if there is one: `$XDG_CONFIG_HOME/glint/glint.toml`, else
    /// `~/.config/glint/glint.toml`.
    pub fn default_path() -> Option<PathBuf> {
        let base = std::env::var_os("XDG_CONFIG_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
        let path = base.join("glint").join("glint.toml");
        path.is_file().then_some(path)
    }

    /// The settings every config has, from the embedded defaults' file: glint.toml is the one
    /// place a default is written, so each of these must be set there.
    fn base(file: &FileConfig) -> Result<Config, ConfigError> {
        let missing = |key: &str| ConfigError {
            file: EMBEDDED.into(),
            line: None,
            key: key.into(),
            message: "has no default; every setting's default is written in runtime/glint.toml"
                .into(),
        };
        let s = &file.supervisor;
        let ms =
            |v: Option<u64>, key: &str| v.map(Duration::from_millis).ok_or_else(|| missing(key));
        Ok(Config {
            refresh: file.refresh.ok_or_else(|| missing("global.refresh"))?,
            history_size: file
                .history_size
                .ok_or_else(|| missing("global.history_size"))?,
            plugin_limits: file
                .plugin_limits
                .complete()
                .map_err(|key| missing(&format!("global.plugin_{key}")))?,
            supervisor: Policy {
                backoff: ms(s.backoff_ms, "supervisor.backoff_ms")?,
                max_backoff: ms(s.max_backoff_ms, "supervisor.max_backoff_ms")?,
                quarantine_after: s
                    .quarantine_after
                    .ok_or_else(|| missing("supervisor.quarantine_after"))?
                    as u32,
                window: s
                    .failure_window_s
                    .map(Duration::from_secs)
                    .ok_or_else(|| missing("supervisor.failure_window_s"))?,
            },
            plugins_dir: None,
            folders: Vec::new(),
            plugins: BTreeMap::new(),
            limits: BTreeMap::new(),
            server: ServerSettings {
                bind: file
                    .server
                    .bind
                    .clone()
                    .ok_or_else(|| missing("server.bind"))?,
                port: file.server.port.ok_or_else(|| missing("server.port"))?,
                username: file
                    .server
                    .username
                    .clone()
                    .ok_or_else(|| missing("server.username"))?,
                password_hash: None,
                cors_origins: Vec::new(),
                output_max_body: file
                    .server
                    .output_max_body
                    .ok_or_else(|| missing("server.output_max_body_kb"))?,
                subscriber_buffer: file
                    .server
                    .subscriber_buffer
                    .ok_or_else(|| missing("server.subscriber_buffer_kb"))?,
            },
            reserved_names: Vec::new(),
        })
    }

    fn merge(&mut self, file: FileConfig) {
        if let Some(v) = file.refresh {
            self.refresh = v;
        }
        if let Some(v) = file.history_size {
            self.history_size = v;
        }
        self.plugin_limits = file.plugin_limits.over(self.plugin_limits);
        if let Some(v) = file.supervisor.backoff_ms {
            self.supervisor.backoff = Duration::from_millis(v);
        }
        if let Some(v) = file.supervisor.max_backoff_ms {
            self.supervisor.max_backoff = Duration::from_millis(v);
        }
        if let Some(v) = file.supervisor.quarantine_after {
            self.supervisor.quarantine_after = v as u32;
        }
        if let Some(v) = file.supervisor.failure_window_s {
            self.supervisor.window = Duration::from_secs(v);
        }
        if let Some(v) = file.plugins_dir {
            self.plugins_dir = (!v.as_os_str().is_empty()).then_some(v);
        }
        if let Some(v) = file.folders {
            self.folders = v;
        }
        let server = file.server;
        if let Some(v) = server.bind {
            self.server.bind = v;
        }
        if let Some(v) = server.port {
            self.server.port = v;
        }
        if let Some(v) = server.username {
            self.server.username = v;
        }
        if let Some(v) = server.password_hash {
            self.server.password_hash = (!v.is_empty()).then_some(v);
        }
        if let Some(v) = server.cors_origins {
            self.server.cors_origins = v;
        }
        if let Some(v) = server.output_max_body {
            self.server.output_max_body = v;
        }
        if let Some(v) = server.subscriber_buffer {
            self.server.subscriber_buffer = v;
        }
        for (name, section) in file.plugins {
            let ours = self.plugins.entry(name).or_default();
            if section.enable.is_some() {
                ours.enable = section.enable;
            }
            if let Some(hide) = section.hide {
                ours.hide = hide;
            }
            if section.grant.is_some() {
                ours.grant = section.grant;
            }
            ours.limits.merge(&section.limits);
            ours.settings.extend(section.settings);
        }
        for (name, limits) in file.limits {
            let ours = self.limits.entry(name).or_default();
            ours.fields.extend(limits.fields);
            for (key, fields) in limits.keys {
                ours.keys.entry(key).or_default().extend(fields);
            }
        }
    }

    /// A plugin's section (empty if the config has none).
    pub fn plugin(&self, name: &str) -> PluginSettings {
        self.plugins.get(name).cloned().unwrap_or_default()
    }

    /// The community plugins' directory: `[global] plugins_dir`, else
    /// `$XDG_CONFIG_HOME/glint/plugins`, else `~/.config/glint/plugins`.
    pub fn plugins_dir(&self) -> Option<PathBuf> {
        if let Some(dir) = &self.plugins_dir {
            return Some(dir.clone());
        }
        let base = std::env::var_os("XDG_CONFIG_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
        Some(base.join("glint").join("plugins"))
    }

    /// Whether an exporter runs: only when its section enables it (`--export NAME` does).
    pub fn exports(&self, name: &str) -> bool {
        self.plugins.get(name).and_then(|p| p.enable) == Some(true)
    }

    /// Whether a plugin runs: its `enable`, else on.
    pub fn enabled(&self, name: &str) -> bool {
        self.plugins
            .get(name)
            .and_then(|p| p.enable)
            .unwrap_or(true)
    }
}

/// One file's settings, before merging: `None` = not set in this file.
#[derive(Default)]
struct FileConfig {
    refresh: Option<Duration>,
    history_size: Option<usize>,
    plugin_limits: LimitSettings,
    supervisor: RawSupervisor,
    plugins_dir: Option<PathBuf>,
    folders: Option<Vec<PathBuf>>,
    plugins: BTreeMap<String, FileSection>,
    limits: BTreeMap<String, PluginLimits>,
    server: FileServer,
}

#[derive(Default)]
struct FileServer {
    bind: Option<String>,
    port: Option<u16>,
    username: Option<String>,
    password_hash: Option<String>,
    cors_origins: Option<Vec<String>>,
    output_max_body: Option<usize>,
    subscriber_buffer: Option<usize>,
}

#[derive(Default)]
struct FileSection {
    enable: Option<bool>,
    hide: Option<Vec<Regex>>,
    grant: Option<GrantSettings>,
    limits: LimitSettings,
    settings: BTreeMap<String, ConfigValue>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    global: Option<RawGlobal>,
    supervisor: Option<Spanned<RawSupervisor>>,
    readings: Option<RawReadings>,
    server: Option<RawServer>,
    #[serde(default)]
    plugins: BTreeMap<String, BTreeMap<String, Spanned<toml::Value>>>,
    #[serde(default)]
    limits: BTreeMap<String, BTreeMap<String, Spanned<toml::Value>>>,
}

/// `[global]`, key by key: its `plugin_*` keys are the limits' own (`LimitKey`), so the
/// list of limits is written once.
type RawGlobal = BTreeMap<String, Spanned<toml::Value>>;

/// `[supervisor]`: restarts, backoff and quarantine.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawSupervisor {
    backoff_ms: Option<u64>,
    max_backoff_ms: Option<u64>,
    quarantine_after: Option<u64>,
    failure_window_s: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawServer {
    bind: Option<String>,
    port: Option<Spanned<i64>>,
    username: Option<Spanned<String>>,
    password: Option<Spanned<String>>,
    cors_origins: Option<Vec<String>>,
    output_max_body_kb: Option<Spanned<i64>>,
    subscriber_buffer_kb: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawReadings {
    folders: Option<Vec<String>>,
}

/// Parses one file, checking every value; errors carry the line of the bad value.
fn parse(name: &str, text: &str) -> Result<FileConfig, ConfigError> {
    let err = |span: Option<Range<usize>>, key: &str, message: String| ConfigError {
        file: name.to_string(),
        line: span.map(|s| line_of(text, s.start)),
        key: key.to_string(),
        message,
    };
    let raw: RawFile = toml::from_str(text).map_err(|e| {
        err(
            e.span(),
            "",
            format!(
                "{}; see `glint --print-config` for every key and its default",
                e.message().trim_end()
            ),
        )
    })?;
    let mut out = FileConfig::default();

    if let Some(global) = raw.global {
        parse_global(global, &mut out, &err)?;
    }
    if let Some(supervisor) = raw.supervisor {
        let span = supervisor.span();
        let supervisor = supervisor.into_inner();
        let checks = [
            ("backoff_ms", supervisor.backoff_ms, 1, 3_600_000),
            ("max_backoff_ms", supervisor.max_backoff_ms, 1, 3_600_000),
            ("quarantine_after", supervisor.quarantine_after, 1, 1000),
            ("failure_window_s", supervisor.failure_window_s, 1, 86_400),
        ];
        for (key, value, low, high) in checks {
            if let Some(v) = value
                && !(low..=high).contains(&v)
            {
                return Err(err(
                    Some(span.clone()),
                    &format!("supervisor.{key}"),
                    format!("{v} is out of range: expected {low} to {high}"),
                ));
            }
        }
        out.supervisor = supervisor;
    }
    if let Some(server) = raw.server {
        out.server.bind = server.bind;
        if let Some(v) = server.port {
            let port = *v.get_ref();
            out.server.port = Some(u16::try_from(port).ok().filter(|p| *p != 0).ok_or_else(
                || {
                    err(
                        Some(v.span()),
                        "server.port",
                        format!("{port} is not a TCP port: expected 1 to 65535"),
                    )
                },
            )?);
        }
        if let Some(v) = server.username {
            let span = v.span();
            let name = v.into_inner();
            if name.is_empty() || name.contains(':') {
                return Err(err(
                    Some(span),
                    "server.username",
                    format!(
                        "{name:?}: a user name must be non-empty and contain no ':' (HTTP basic auth)"
                    ),
                ));
            }
            out.server.username = Some(name);
        }
        if let Some(v) = server.password {
            let span = v.span();
            let hash = v.into_inner();
            if !hash.is_empty() && !crate::settings::auth::is_password_hash(&hash) {
                return Err(err(
                    Some(span),
                    "server.password",
                    "not a password hash: the config keeps a salted hash, never the password; \
                     put the output of `glint --hash-password` here"
                        .to_string(),
                ));
            }
            out.server.password_hash = Some(hash);
        }
        out.server.cors_origins = server.cors_origins;
        if let Some(v) = server.output_max_body_kb {
            let kb = *v.get_ref();
            let bytes = u64::try_from(kb)
                .ok()
                .filter(|kb| (1..=MAX_OUTPUT_BODY_KB).contains(kb))
                .and_then(|kb| usize::try_from(kb << 10).ok());
            out.server.output_max_body = Some(bytes.ok_or_else(|| {
                err(
                    Some(v.span()),
                    "server.output_max_body_kb",
                    format!("{kb} is out of range: expected 1 to {MAX_OUTPUT_BODY_KB} KiB"),
                )
            })?);
        }
        if let Some(v) = server.subscriber_buffer_kb {
            let kb = *v.get_ref();
            let bytes = u64::try_from(kb)
                .ok()
                .filter(|kb| (1..=MAX_SUBSCRIBER_BUFFER_KB).contains(kb))
                .and_then(|kb| usize::try_from(kb << 10).ok());
            out.server.subscriber_buffer = Some(bytes.ok_or_else(|| {
                err(
                    Some(v.span()),
                    "server.subscriber_buffer_kb",
                    format!("{kb} is out of range: expected 1 to {MAX_SUBSCRIBER_BUFFER_KB} KiB"),
                )
            })?);
        }
    }
    if let Some(readings) = raw.readings {
        out.folders = readings
            .folders
            .map(|f| f.into_iter().map(PathBuf::from).collect());
    }

    for (plugin, entries) in raw.plugins {
        let mut section = FileSection::default();
        for (key, value) in entries {
            let span = Some(value.span());
            let full = format!("plugins.{plugin}.{key}");
            let value = value.into_inner();
            match key.as_str() {
                "enable" => match value {
                    toml::Value::Boolean(b) => section.enable = Some(b),
                    other => {
                        return Err(err(
                            span,
                            &full,
                            format!("expected true or false, found {}", describe(&other)),
                        ));
                    }
                },
                "grant" => {
                    let grant = GrantSettings::deserialize(value).map_err(|e| {
                            err(
                                span.clone(),
                                &full,
                                format!(
                                    "{}; expected network = [\"host:port\", ...], directory = \"/path\", env = [\"NAME\", ...], process_cmdlines = BOOL, process_users = BOOL",
                                    e.message().trim_end()
                                ),
                            )
                        })?;
                    for d in grant.network.iter().flatten() {
                        crate::settings::grants::Destination::parse(d)
                            .map_err(|m| err(span.clone(), &full, m))?;
                    }
                    section.grant = Some(grant);
                }
                "limits" => {
                    let limits = LimitSettings::deserialize(value).map_err(|e| {
                        err(
                            span.clone(),
                            &full,
                            format!(
                                "{}; expected {}",
                                e.message().trim_end(),
                                crate::settings::limits::LimitKey::names().join(", ")
                            ),
                        )
                    })?;
                    limits.check("").map_err(|m| err(span.clone(), &full, m))?;
                    section.limits = limits;
                }
                "hide" => {
                    let patterns = string_list(&value).ok_or_else(|| {
                        err(
                            span.clone(),
                            &full,
                            format!(
                                "expected a list of regular expressions, found {}",
                                describe(&value)
                            ),
                        )
                    })?;
                    let mut hide = Vec::new();
                    for pattern in patterns {
                        // Anchored: `lo` hides `lo`, not `wlo1`.
                        let re = Regex::new(&format!("^(?:{pattern})$")).map_err(|e| {
                            err(
                                span.clone(),
                                &full,
                                format!("{pattern:?} is not a valid regular expression: {e}"),
                            )
                        })?;
                        hide.push(re);
                    }
                    section.hide = Some(hide);
                }
                _ => {
                    let v = config_value(&value).ok_or_else(|| {
                        err(
                            span,
                            &full,
                            format!(
                                "expected a boolean, number, string or list of strings, found {}",
                                describe(&value)
                            ),
                        )
                    })?;
                    section.settings.insert(key, v);
                }
            }
        }
        out.plugins.insert(plugin, section);
    }

    for (plugin, entries) in raw.limits {
        let mut limits = PluginLimits::default();
        for (key, value) in entries {
            let span = Some(value.span());
            if key == "keys" {
                let toml::Value::Table(items) = value.into_inner() else {
                    return Err(err(
                        span,
                        &format!("limits.{plugin}.keys"),
                        "expected a table of items, e.g. [limits.network.keys.\"eth0\"]".into(),
                    ));
                };
                for (item, fields) in items {
                    let full = format!("limits.{plugin}.keys.{item}");
                    let toml::Value::Table(fields) = fields else {
                        return Err(err(span, &full, "expected a table of field limits".into()));
                    };
                    let mut parsed = BTreeMap::new();
                    for (field, limit) in fields {
                        let limit = to_limit(limit)
                            .map_err(|m| err(span.clone(), &format!("{full}.{field}"), m))?;
                        parsed.insert(field, limit);
                    }
                    limits.keys.insert(item, parsed);
                }
            } else {
                let full = format!("limits.{plugin}.{key}");
                let limit = to_limit(value.into_inner()).map_err(|m| err(span, &full, m))?;
                limits.fields.insert(key, limit);
            }
        }
        out.limits.insert(plugin, limits);
    }
    Ok(out)
}

/// Makes a `ConfigError` at a span of the file being parsed.
type ErrAt<'a> = dyn Fn(Option<Range<usize>>, &str, String) -> ConfigError + 'a;

/// `[global]`: refresh, history, the plugins directory and every plugin's default limits.
fn parse_global(global: RawGlobal, out: &mut FileConfig, err: &ErrAt) -> Result<(), ConfigError> {
    for (key, value) in global {
        let span = Some(value.span());
        let full = format!("global.{key}");
        let value = value.into_inner();
        let number = value
            .as_float()
            .or_else(|| value.as_integer().map(|i| i as f64));
        let integer = |what: &str| {
            value.as_integer().ok_or_else(|| {
                err(
                    span.clone(),
                    &full,
                    format!("expected {what}, found {}", describe(&value)),
                )
            })
        };
        match key.as_str() {
            "refresh" => {
                let secs = number.ok_or_else(|| {
                    err(
                        span.clone(),
                        &full,
                        format!("expected seconds, found {}", describe(&value)),
                    )
                })?;
                if !(MIN_REFRESH_SECS..=MAX_REFRESH_SECS).contains(&secs) {
                    return Err(err(
                        span,
                        &full,
                        format!(
                            "{secs} is out of range: expected seconds between {MIN_REFRESH_SECS} and {MAX_REFRESH_SECS}"
                        ),
                    ));
                }
                out.refresh = Some(Duration::from_secs_f64(secs));
            }
            "history_size" => {
                let n = integer("a number of points")?;
                let n = usize::try_from(n)
                    .ok()
                    .filter(|n| *n <= MAX_HISTORY)
                    .ok_or_else(|| {
                        err(
                            span.clone(),
                            &full,
                            format!("{n} is out of range: expected 0 to {MAX_HISTORY} points"),
                        )
                    })?;
                out.history_size = Some(n);
            }
            "plugins_dir" => match value {
                toml::Value::String(dir) => out.plugins_dir = Some(PathBuf::from(dir)),
                other => {
                    return Err(err(
                        span,
                        &full,
                        format!("expected a path, found {}", describe(&other)),
                    ));
                }
            },
            _ => match key.strip_prefix("plugin_").and_then(LimitKey::parse) {
                Some(limit) => {
                    let n = integer("a whole number")?;
                    let n = u64::try_from(n)
                        .map_err(|_| err(span.clone(), &full, format!("{n} is negative")))?;
                    out.plugin_limits
                        .set(limit.name(), n)
                        .map_err(|m| err(span, &full, m))?;
                }
                None => {
                    return Err(err(
                        span,
                        &full,
                        format!(
                            "unknown key; [global] has refresh, history_size, plugins_dir and plugin_{} (see `glint --print-config`)",
                            LimitKey::names().join(", plugin_")
                        ),
                    ));
                }
            },
        }
    }
    Ok(())
}

fn to_limit(value: toml::Value) -> Result<Limit, String> {
    let shown = describe(&value);
    let limit = Limit::deserialize(value).map_err(|e| {
        format!(
            "{}; expected {{ careful = N, warning = N, critical = N, log = BOOL, per = \"COLUMN\" }}, found {shown}",
            e.message().trim_end()
        )
    })?;
    let ordered = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) => a <= b,
        _ => true,
    };
    if !ordered(limit.careful, limit.warning)
        || !ordered(limit.warning, limit.critical)
        || !ordered(limit.careful, limit.critical)
    {
        return Err("thresholds must rise: careful <= warning <= critical".into());
    }
    Ok(limit)
}

pub(crate) fn config_value(value: &toml::Value) -> Option<ConfigValue> {
    Some(match value {
        toml::Value::Boolean(b) => ConfigValue::Boolean(*b),
        toml::Value::Integer(i) => ConfigValue::Int(*i),
        toml::Value::Float(f) => ConfigValue::Float(*f),
        toml::Value::String(s) => ConfigValue::Text(s.clone()),
        toml::Value::Array(_) => ConfigValue::TextList(string_list(value)?),
        _ => return None,
    })
}

fn string_list(value: &toml::Value) -> Option<Vec<String>> {
    value
        .as_array()?
        .iter()
        .map(|v| v.as_str().map(str::to_string))
        .collect()
}

fn describe(value: &toml::Value) -> String {
    match value {
        toml::Value::String(s) => format!("the string {s:?}"),
        other => format!("{} `{other}`", other.type_str()),
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_parse_and_hold_glances_limits() {
        let c = Config::defaults().expect("embedded defaults parse");
        assert_eq!(c.refresh, Duration::from_secs(2));
        assert_eq!(c.history_size, 1200);
        assert_eq!(c.plugin_limits.deadline, Duration::from_millis(500));
        assert_eq!(c.plugin_limits.memory, 64 << 20);
        assert_eq!(c.supervisor.quarantine_after, 5);
        let cpu_total = &c.limits["cpu"].fields["total"];
        assert_eq!(
            (cpu_total.careful, cpu_total.warning, cpu_total.critical),
            (Some(65.0), Some(75.0), Some(85.0))
        );
        assert!(c.plugin("network").hides("lo"));
        assert!(!c.plugin("network").hides("wlo1"));
        assert!(c.plugin("diskio").hides("loop12"));
    }

    #[test]
    fn user_file_overrides_keys_and_keeps_the_rest() {
        let c = Config::from_toml(
            "u.toml",
            "[global]\nrefresh = 5\n[plugins.network]\nenable = false\n[limits.mem]\npercent = { warning = 60 }\n",
        )
        .expect("valid");
        assert_eq!(c.refresh, Duration::from_secs(5));
        assert!(!c.enabled("network"));
        // hide came from the defaults and stays
        assert!(c.plugin("network").hides("lo"));
        assert_eq!(c.limits["mem"].fields["percent"].warning, Some(60.0));
        assert_eq!(c.limits["mem"].fields["percent"].careful, None);
        assert_eq!(c.history_size, 1200);
    }

    #[test]
    fn plugin_settings_are_passed_through_typed() {
        let c = Config::from_toml(
            "u.toml",
            "[plugins.processlist]\nmax = 25\nsort = \"cpu\"\nnames = [\"a\", \"b\"]\n",
        )
        .expect("valid");
        let s = &c.plugin("processlist").settings;
        assert!(matches!(s["max"], ConfigValue::Int(25)));
        assert!(matches!(&s["sort"], ConfigValue::Text(t) if t == "cpu"));
        assert!(matches!(&s["names"], ConfigValue::TextList(l) if l.len() == 2));
    }

    #[test]
    fn bad_values_name_file_line_key_and_expectation() {
        let e = Config::from_toml("my.toml", "[global]\n\nrefresh = -1\n").expect_err("bad");
        let s = e.to_string();
        assert!(s.starts_with("my.toml:3: `global.refresh`"), "{s}");
        assert!(s.contains("between 0.1"), "{s}");

        let e = Config::from_toml("my.toml", "[global]\nrefrsh = 2\n").expect_err("bad");
        let s = e.to_string();
        assert!(s.contains("my.toml:2"), "{s}");
        assert!(s.contains("refrsh"), "{s}");

        let e =
            Config::from_toml("my.toml", "[plugins.network]\nhide = [\"(\"]\n").expect_err("bad");
        assert!(
            e.to_string().contains("my.toml:2: `plugins.network.hide`"),
            "{e}"
        );

        let e =
            Config::from_toml("my.toml", "[plugins.network]\nenable = \"yes\"\n").expect_err("bad");
        assert!(e.to_string().contains("expected true or false"), "{e}");

        let e = Config::from_toml("my.toml", "[limits.cpu]\nuser = { carefull = 3 }\n")
            .expect_err("bad");
        let s = e.to_string();
        assert!(
            s.contains("my.toml:2: `limits.cpu.user`") && s.contains("carefull"),
            "{s}"
        );

        let e = Config::from_toml(
            "my.toml",
            "[limits.cpu]\nuser = { careful = 90, warning = 10 }\n",
        )
        .expect_err("bad");
        assert!(e.to_string().contains("must rise"), "{e}");

        let e = Config::from_toml("my.toml", "not toml at all").expect_err("bad");
        assert!(e.to_string().starts_with("my.toml:1"), "{e}");
    }

    #[test]
    fn per_key_limits() {
        let c = Config::from_toml(
            "u.toml",
            "[limits.network.keys.\"eth0\"]\nbytes_recv_rate_per_sec = { warning = 1000 }\n",
        )
        .expect("valid");
        assert_eq!(
            c.limits["network"].keys["eth0"]["bytes_recv_rate_per_sec"].warning,
            Some(1000.0)
        );
    }

    #[test]
    fn missing_file_is_a_clear_error() {
        let e = Config::load(Path::new("/nonexistent/glint.toml")).expect_err("missing");
        assert!(e.to_string().contains("/nonexistent/glint.toml"), "{e}");
        assert!(e.to_string().contains("--config"), "{e}");
    }

    #[test]
    fn the_output_body_limit_is_in_kib_and_checked() {
        let c = Config::defaults().expect("embedded defaults parse");
        assert_eq!(c.server.output_max_body, 32 << 20);
        let c = Config::from_toml("u.toml", "[server]\noutput_max_body_kb = 4\n").expect("valid");
        assert_eq!(c.server.output_max_body, 4 << 10);
        for bad in ["0", "-1", "1048577"] {
            let text = format!("[server]\n\noutput_max_body_kb = {bad}\n");
            let e = Config::from_toml("my.toml", &text).expect_err("bad");
            let s = e.to_string();
            assert!(
                s.starts_with("my.toml:3: `server.output_max_body_kb`") && s.contains(bad),
                "{s}"
            );
        }
    }

    #[test]
    fn the_subscriber_buffer_is_in_kib_and_checked() {
        let c = Config::defaults().expect("embedded defaults parse");
        assert_eq!(c.server.subscriber_buffer, 256 << 10);
        let c =
            Config::from_toml("u.toml", "[server]\nsubscriber_buffer_kb = 64\n").expect("valid");
        assert_eq!(c.server.subscriber_buffer, 64 << 10);
        for bad in ["0", "-1", "1048577"] {
            let text = format!("[server]\n\nsubscriber_buffer_kb = {bad}\n");
            let s = Config::from_toml("my.toml", &text)
                .expect_err("bad")
                .to_string();
            assert!(
                s.starts_with("my.toml:3: `server.subscriber_buffer_kb`") && s.contains(bad),
                "{s}"
            );
        }
    }
}
