//! glint.toml: the embedded defaults and the user's file merged over them, into the `Config`
//! the rest of glint reads. Each file is read and checked in `file_config`, whose errors name
//! the file, line and key of a bad setting and say what is expected.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use regex::Regex;

use crate::bindings::ConfigValue;
pub(crate) use crate::settings::file_config::config_value;
pub use crate::settings::file_config::{ConfigError, MAX_REFRESH_SECS, MIN_REFRESH_SECS};
use crate::settings::file_config::{FileConfig, parse};
use crate::settings::grants::GrantSettings;
use crate::settings::limits::{LimitSettings, Limits, Policy};
pub use crate::settings::thresholds::{Limit, PluginLimits};

/// The documented defaults, shown by `glint --print-config`.
pub const DEFAULT_TOML: &str = include_str!("../../glint.toml");

/// How the embedded defaults are named in errors.
const EMBEDDED: &str = "(embedded defaults)";

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
