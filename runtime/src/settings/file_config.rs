//! One config file read and checked, before it is merged over the defaults: every section
//! parsed into a `FileConfig`, and the `ConfigError` that names the file, line and key of a
//! bad setting and says what is expected.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::PathBuf;
use std::time::Duration;

use regex::Regex;
use serde::Deserialize;
use toml::Spanned;

use crate::bindings::ConfigValue;
use crate::settings::grants::GrantSettings;
use crate::settings::limits::{LimitKey, LimitSettings};
use crate::settings::thresholds::{Limit, PluginLimits};

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

/// One file's settings, before merging: `None` = not set in this file.
#[derive(Default)]
pub(super) struct FileConfig {
    pub(super) refresh: Option<Duration>,
    pub(super) history_size: Option<usize>,
    pub(super) plugin_limits: LimitSettings,
    pub(super) supervisor: RawSupervisor,
    pub(super) plugins_dir: Option<PathBuf>,
    pub(super) folders: Option<Vec<PathBuf>>,
    pub(super) plugins: BTreeMap<String, FileSection>,
    pub(super) limits: BTreeMap<String, PluginLimits>,
    pub(super) server: FileServer,
}

#[derive(Default)]
pub(super) struct FileServer {
    pub(super) bind: Option<String>,
    pub(super) port: Option<u16>,
    pub(super) username: Option<String>,
    pub(super) password_hash: Option<String>,
    pub(super) cors_origins: Option<Vec<String>>,
    pub(super) output_max_body: Option<usize>,
    pub(super) subscriber_buffer: Option<usize>,
}

#[derive(Default)]
pub(super) struct FileSection {
    pub(super) enable: Option<bool>,
    pub(super) hide: Option<Vec<Regex>>,
    pub(super) grant: Option<GrantSettings>,
    pub(super) limits: LimitSettings,
    pub(super) settings: BTreeMap<String, ConfigValue>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    global: Option<RawGlobal>,
    supervisor: Option<Spanned<RawSupervisor>>,
    readings: Option<RawReadings>,
    server: Option<RawServer>,
    #[serde(default)]
    plugins: BTreeMap<String, RawEntries>,
    #[serde(default)]
    limits: BTreeMap<String, RawEntries>,
}

/// A section's keys with their values, each with its span for errors.
type RawEntries = BTreeMap<String, Spanned<toml::Value>>;

/// `[global]`, key by key: its `plugin_*` keys are the limits' own (`LimitKey`), so the
/// list of limits is written once.
type RawGlobal = RawEntries;

/// `[supervisor]`: restarts, backoff and quarantine.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSupervisor {
    pub(super) backoff_ms: Option<u64>,
    pub(super) max_backoff_ms: Option<u64>,
    pub(super) quarantine_after: Option<u64>,
    pub(super) failure_window_s: Option<u64>,
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

/// Makes a `ConfigError` at a span of the file being parsed.
type ErrAt<'a> = dyn Fn(Option<Range<usize>>, &str, String) -> ConfigError + 'a;

/// Parses one file, checking every value; errors carry the line of the bad value.
pub(super) fn parse(name: &str, text: &str) -> Result<FileConfig, ConfigError> {
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
        out.supervisor = parse_supervisor(supervisor, &err)?;
    }
    if let Some(server) = raw.server {
        parse_server(server, &mut out.server, &err)?;
    }
    if let Some(readings) = raw.readings {
        out.folders = readings
            .folders
            .map(|f| f.into_iter().map(PathBuf::from).collect());
    }
    for (plugin, entries) in raw.plugins {
        let section = parse_plugin_section(&plugin, entries, &err)?;
        out.plugins.insert(plugin, section);
    }
    for (plugin, entries) in raw.limits {
        let limits = parse_limits(&plugin, entries, &err)?;
        out.limits.insert(plugin, limits);
    }
    Ok(out)
}

/// `[global]`: refresh, history, the plugins directory and every plugin's default limits.
fn parse_global(global: RawGlobal, out: &mut FileConfig, err: &ErrAt) -> Result<(), ConfigError> {
    for (key, value) in global {
        let span = Some(value.span());
        let full = format!("global.{key}");
        global_key(&key, value.into_inner(), out).map_err(|m| err(span, &full, m))?;
    }
    Ok(())
}

/// One key of `[global]`; an error is what to say about it.
fn global_key(key: &str, value: toml::Value, out: &mut FileConfig) -> Result<(), String> {
    let integer = |what: &str| {
        value
            .as_integer()
            .ok_or_else(|| format!("expected {what}, found {}", describe(&value)))
    };
    match key {
        "refresh" => out.refresh = Some(refresh(&value)?),
        "history_size" => {
            let n = integer("a number of points")?;
            let n = usize::try_from(n)
                .ok()
                .filter(|n| *n <= MAX_HISTORY)
                .ok_or_else(|| {
                    format!("{n} is out of range: expected 0 to {MAX_HISTORY} points")
                })?;
            out.history_size = Some(n);
        }
        "plugins_dir" => match value {
            toml::Value::String(dir) => out.plugins_dir = Some(PathBuf::from(dir)),
            other => return Err(format!("expected a path, found {}", describe(&other))),
        },
        _ => match key.strip_prefix("plugin_").and_then(LimitKey::parse) {
            Some(limit) => {
                let n = integer("a whole number")?;
                let n = u64::try_from(n).map_err(|_| format!("{n} is negative"))?;
                out.plugin_limits.set(limit.name(), n)?;
            }
            None => {
                return Err(format!(
                    "unknown key; [global] has refresh, history_size, plugins_dir and plugin_{} (see `glint --print-config`)",
                    LimitKey::names().join(", plugin_")
                ));
            }
        },
    }
    Ok(())
}

/// `[global] refresh`: seconds, whole or not, within the range a monitor can keep.
fn refresh(value: &toml::Value) -> Result<Duration, String> {
    let secs = value
        .as_float()
        .or_else(|| value.as_integer().map(|i| i as f64))
        .ok_or_else(|| format!("expected seconds, found {}", describe(value)))?;
    if !(MIN_REFRESH_SECS..=MAX_REFRESH_SECS).contains(&secs) {
        return Err(format!(
            "{secs} is out of range: expected seconds between {MIN_REFRESH_SECS} and {MAX_REFRESH_SECS}"
        ));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// `[supervisor]`, each value checked against its range.
fn parse_supervisor(
    supervisor: Spanned<RawSupervisor>,
    err: &ErrAt,
) -> Result<RawSupervisor, ConfigError> {
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
    Ok(supervisor)
}

/// `[server]`: where it listens, who may ask, CORS and the sizes it holds.
fn parse_server(server: RawServer, out: &mut FileServer, err: &ErrAt) -> Result<(), ConfigError> {
    out.bind = server.bind;
    if let Some(v) = server.port {
        let port = *v.get_ref();
        out.port = Some(
            u16::try_from(port)
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| {
                    err(
                        Some(v.span()),
                        "server.port",
                        format!("{port} is not a TCP port: expected 1 to 65535"),
                    )
                })?,
        );
    }
    if let Some(v) = server.username {
        out.username = Some(username(v, err)?);
    }
    if let Some(v) = server.password {
        out.password_hash = Some(password_hash(v, err)?);
    }
    out.cors_origins = server.cors_origins;
    if let Some(v) = server.output_max_body_kb {
        out.output_max_body = Some(kib(
            v,
            "server.output_max_body_kb",
            MAX_OUTPUT_BODY_KB,
            err,
        )?);
    }
    if let Some(v) = server.subscriber_buffer_kb {
        out.subscriber_buffer = Some(kib(
            v,
            "server.subscriber_buffer_kb",
            MAX_SUBSCRIBER_BUFFER_KB,
            err,
        )?);
    }
    Ok(())
}

/// `[server] username`: one HTTP basic auth can carry.
fn username(v: Spanned<String>, err: &ErrAt) -> Result<String, ConfigError> {
    let span = v.span();
    let name = v.into_inner();
    if name.is_empty() || name.contains(':') {
        return Err(err(
            Some(span),
            "server.username",
            format!("{name:?}: a user name must be non-empty and contain no ':' (HTTP basic auth)"),
        ));
    }
    Ok(name)
}

/// `[server] password`: a hash from `glint --hash-password`, or empty for none.
fn password_hash(v: Spanned<String>, err: &ErrAt) -> Result<String, ConfigError> {
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
    Ok(hash)
}

/// A size in KiB, from 1 to `max`, as bytes.
fn kib(v: Spanned<i64>, key: &str, max: u64, err: &ErrAt) -> Result<usize, ConfigError> {
    let kb = *v.get_ref();
    let bytes = u64::try_from(kb)
        .ok()
        .filter(|kb| (1..=max).contains(kb))
        .and_then(|kb| usize::try_from(kb << 10).ok());
    bytes.ok_or_else(|| {
        err(
            Some(v.span()),
            key,
            format!("{kb} is out of range: expected 1 to {max} KiB"),
        )
    })
}

/// `[plugins.NAME]`: `enable`, `grant`, `limits`, `hide`, and the plugin's own settings.
fn parse_plugin_section(
    plugin: &str,
    entries: RawEntries,
    err: &ErrAt,
) -> Result<FileSection, ConfigError> {
    let mut section = FileSection::default();
    for (key, value) in entries {
        let span = Some(value.span());
        let full = format!("plugins.{plugin}.{key}");
        plugin_key(&mut section, key, value.into_inner()).map_err(|m| err(span, &full, m))?;
    }
    Ok(section)
}

/// One key of a plugin's section; an error is what to say about it.
fn plugin_key(section: &mut FileSection, key: String, value: toml::Value) -> Result<(), String> {
    match key.as_str() {
        "enable" => match value {
            toml::Value::Boolean(b) => section.enable = Some(b),
            other => {
                return Err(format!(
                    "expected true or false, found {}",
                    describe(&other)
                ));
            }
        },
        "grant" => section.grant = Some(grant(value)?),
        "limits" => {
            let limits = LimitSettings::deserialize(value).map_err(|e| {
                format!(
                    "{}; expected {}",
                    e.message().trim_end(),
                    LimitKey::names().join(", ")
                )
            })?;
            limits.check("")?;
            section.limits = limits;
        }
        "hide" => section.hide = Some(hide(&value)?),
        _ => {
            let v = config_value(&value).ok_or_else(|| {
                format!(
                    "expected a boolean, number, string or list of strings, found {}",
                    describe(&value)
                )
            })?;
            section.settings.insert(key, v);
        }
    }
    Ok(())
}

/// `[plugins.NAME.grant]`, each network destination checked.
fn grant(value: toml::Value) -> Result<GrantSettings, String> {
    let grant = GrantSettings::deserialize(value).map_err(|e| {
        format!(
            "{}; expected network = [\"host:port\", ...], directory = \"/path\", env = [\"NAME\", ...], process_cmdlines = BOOL, process_users = BOOL",
            e.message().trim_end()
        )
    })?;
    for d in grant.network.iter().flatten() {
        crate::settings::grants::Destination::parse(d)?;
    }
    Ok(grant)
}

/// `hide`: regular expressions, each matching a whole key.
fn hide(value: &toml::Value) -> Result<Vec<Regex>, String> {
    let patterns = string_list(value).ok_or_else(|| {
        format!(
            "expected a list of regular expressions, found {}",
            describe(value)
        )
    })?;
    let mut hide = Vec::new();
    for pattern in patterns {
        // Anchored: `lo` hides `lo`, not `wlo1`.
        let re = Regex::new(&format!("^(?:{pattern})$"))
            .map_err(|e| format!("{pattern:?} is not a valid regular expression: {e}"))?;
        hide.push(re);
    }
    Ok(hide)
}

/// `[limits.NAME]`: thresholds per field, and per item under `keys`.
fn parse_limits(
    plugin: &str,
    entries: RawEntries,
    err: &ErrAt,
) -> Result<PluginLimits, ConfigError> {
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
                let parsed = item_limits(&full, fields, span.clone(), err)?;
                limits.keys.insert(item, parsed);
            }
        } else {
            let full = format!("limits.{plugin}.{key}");
            let limit = to_limit(value.into_inner()).map_err(|m| err(span, &full, m))?;
            limits.fields.insert(key, limit);
        }
    }
    Ok(limits)
}

/// `[limits.NAME.keys."ITEM"]` (named `full` in errors): one item's thresholds per field.
fn item_limits(
    full: &str,
    fields: toml::Value,
    span: Option<Range<usize>>,
    err: &ErrAt,
) -> Result<BTreeMap<String, Limit>, ConfigError> {
    let toml::Value::Table(fields) = fields else {
        return Err(err(span, full, "expected a table of field limits".into()));
    };
    let mut parsed = BTreeMap::new();
    for (field, limit) in fields {
        let limit =
            to_limit(limit).map_err(|m| err(span.clone(), &format!("{full}.{field}"), m))?;
        parsed.insert(field, limit);
    }
    Ok(parsed)
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
