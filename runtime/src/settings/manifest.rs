//! A community plugin's manifest, `NAME.toml` beside `NAME.wasm`: its kind and version, its
//! default settings, the capabilities it asks for (each with a reason) and the limits it
//! asks for. Asking grants nothing: the operator's config decides (see `sandbox`).

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::bindings::{ConfigValue, PluginKind};
use crate::settings::limits::LimitSettings;

/// A manifest bigger than this is not a manifest: 64 KiB holds hundreds of capabilities.
const MAX_MANIFEST_BYTES: u64 = 64 * 1024;

#[derive(Debug, thiserror::Error)]
#[error("{file}: {message}")]
pub struct ManifestError {
    pub file: String,
    pub message: String,
}

/// A capability asked for, with the reason shown to the operator.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reason {
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkAsk {
    /// `host:port`, `tcp://host:port`, `udp://host:port` or an `http(s)://` URL.
    pub destination: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectoryAsk {
    pub path: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvAsk {
    pub name: String,
    pub reason: String,
}

/// Everything a plugin may ask for; all denied unless the operator grants it.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Capabilities {
    #[serde(default)]
    pub network: Vec<NetworkAsk>,
    pub directory: Option<DirectoryAsk>,
    #[serde(default)]
    pub env: Vec<EnvAsk>,
    /// Processes' command lines (others see them empty).
    pub process_cmdlines: Option<Reason>,
    /// Processes' user names (others see them empty).
    pub process_users: Option<Reason>,
}

impl Capabilities {
    /// Each capability asked for, as the API and `glint plugin check` name it
    /// (`network HOST:PORT`, `directory PATH`, `env NAME`, `process_cmdlines`...), with its
    /// reason.
    pub fn asks(&self) -> Vec<(String, &str)> {
        let mut out: Vec<(String, &str)> = self
            .network
            .iter()
            .map(|n| (format!("network {}", n.destination), n.reason.as_str()))
            .collect();
        out.extend(
            self.directory
                .iter()
                .map(|d| (format!("directory {}", d.path), d.reason.as_str())),
        );
        out.extend(
            self.env
                .iter()
                .map(|e| (format!("env {}", e.name), e.reason.as_str())),
        );
        for (name, ask) in [
            ("process_cmdlines", &self.process_cmdlines),
            ("process_users", &self.process_users),
        ] {
            out.extend(ask.iter().map(|r| (name.to_string(), r.reason.as_str())));
        }
        out
    }
}

/// A parsed, checked manifest.
#[derive(Debug, Clone)]
pub struct Manifest {
    pub kind: PluginKind,
    pub version: String,
    pub description: String,
    /// The plugin's default settings; the operator's `[plugins.NAME]` overrides them.
    pub config: BTreeMap<String, ConfigValue>,
    pub capabilities: Capabilities,
    pub limits: LimitSettings,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawManifest {
    kind: String,
    version: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    config: BTreeMap<String, toml::Value>,
    #[serde(default)]
    capabilities: Capabilities,
    #[serde(default)]
    limits: LimitSettings,
}

impl Manifest {
    /// Reads and checks `path`.
    pub fn load(path: &Path) -> Result<Manifest, ManifestError> {
        let file = path.display().to_string();
        let err = |message: String| ManifestError {
            file: file.clone(),
            message,
        };
        // A FIFO, a device or a directory under the manifest's name is refused, never waited on.
        let text = crate::settings::file::read_text(path, MAX_MANIFEST_BYTES, "a manifest")
            .map_err(|e| err(e.fault.to_string()))?;
        Manifest::parse(&file, &text)
    }

    /// Parses a manifest's text; `file` names it in errors.
    pub fn parse(file: &str, text: &str) -> Result<Manifest, ManifestError> {
        let err = |message: String| ManifestError {
            file: file.to_string(),
            message,
        };
        let raw: RawManifest = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|s| format!("line {}: ", text[..s.start].matches('\n').count() + 1))
                .unwrap_or_default();
            err(format!(
                "{line}{}; a manifest has `kind`, `version`, and optionally `description`, \
                 [config], [capabilities] and [limits] (see `glint plugin new`)",
                e.message().trim_end()
            ))
        })?;
        let kind = match raw.kind.as_str() {
            "input" => PluginKind::Input,
            "output" => PluginKind::Output,
            "exporter" => PluginKind::Exporter,
            other => {
                return Err(err(format!(
                    "kind {other:?} is not one of \"input\", \"output\", \"exporter\""
                )));
            }
        };
        if raw.version.trim().is_empty() || raw.version.len() > 64 {
            return Err(err(format!(
                "version {:?} must be 1-64 characters, e.g. \"1.2.0\"",
                raw.version
            )));
        }
        let mut config = BTreeMap::new();
        for (key, value) in raw.config {
            let value = crate::settings::config::config_value(&value).ok_or_else(|| {
                err(format!(
                    "config.{key}: expected a boolean, number, string or list of strings"
                ))
            })?;
            config.insert(key, value);
        }
        let caps = &raw.capabilities;
        let empty_reason = caps
            .asks()
            .into_iter()
            .find(|(_, reason)| reason.trim().is_empty());
        if let Some((what, _)) = empty_reason {
            return Err(err(format!(
                "capability {what} has no reason: say why the plugin needs it, the operator reads it before granting"
            )));
        }
        for ask in &caps.network {
            crate::settings::grants::Destination::parse(&ask.destination)
                .map_err(|m| err(format!("capabilities.network: {m}")))?;
        }
        if let Some(dir) = &caps.directory
            && !Path::new(&dir.path).is_absolute()
        {
            return Err(err(format!(
                "capabilities.directory: {:?} must be an absolute path",
                dir.path
            )));
        }
        raw.limits.check("limits.").map_err(err)?;
        Ok(Manifest {
            kind,
            version: raw.version,
            description: raw.description,
            config,
            capabilities: raw.capabilities,
            limits: raw.limits,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::limits::LimitKey;

    const FULL: &str = r#"
kind = "exporter"
version = "1.2.0"
description = "ships stats"

[config]
prefix = "glint"
interval = 10

[capabilities]
network = [{ destination = "127.0.0.1:8086", reason = "the InfluxDB server" }]
directory = { path = "/var/lib/glint", reason = "spill files" }
env = [{ name = "INFLUX_TOKEN", reason = "the write token" }]
process_cmdlines = { reason = "shows what runs" }

[limits]
memory_mb = 16
deadline_ms = 200
"#;

    #[test]
    fn a_full_manifest_parses() {
        let m = Manifest::parse("x.toml", FULL).expect("parses");
        assert_eq!(m.kind, PluginKind::Exporter);
        assert_eq!(m.version, "1.2.0");
        assert_eq!(m.capabilities.network[0].destination, "127.0.0.1:8086");
        assert_eq!(
            m.capabilities.directory.as_ref().map(|d| d.path.as_str()),
            Some("/var/lib/glint")
        );
        assert!(m.capabilities.process_users.is_none());
        assert_eq!(m.limits.get(LimitKey::MemoryMb), Some(16));
        assert!(matches!(m.config.get("prefix"), Some(ConfigValue::Text(t)) if t == "glint"));
    }

    #[test]
    fn bad_manifests_say_what_is_wrong() {
        let cases = [
            ("version = \"1\"", "missing field `kind`"),
            ("kind = \"daemon\"\nversion = \"1\"", "kind \"daemon\""),
            ("kind = \"input\"\nversion = \"\"", "version \"\""),
            (
                "kind = \"input\"\nversion = \"1\"\nfoo = 1",
                "line 3: unknown field `foo`",
            ),
            (
                "kind = \"input\"\nversion = \"1\"\n[capabilities]\nprocess_users = { reason = \" \" }",
                "process_users has no reason",
            ),
            (
                "kind = \"input\"\nversion = \"1\"\n[capabilities]\nnetwork = [{ destination = \"nowhere\", reason = \"r\" }]",
                "\"nowhere\"",
            ),
            (
                "kind = \"input\"\nversion = \"1\"\n[capabilities]\ndirectory = { path = \"data\", reason = \"r\" }",
                "must be an absolute path",
            ),
            (
                "kind = \"input\"\nversion = \"1\"\n[limits]\nmemory = 3",
                "unknown limit `memory`; the limits are memory_mb,",
            ),
        ];
        for (text, expected) in cases {
            let e = Manifest::parse("m.toml", text).expect_err(text).to_string();
            assert!(e.starts_with("m.toml: "), "{e}");
            assert!(e.contains(expected), "{text:?}: {e}");
        }
    }
}
