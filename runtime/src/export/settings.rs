//! An exporter's settings as the host reads them from its section (`[plugins.NAME]`):
//! interval, fields, buffer, spill directory, batches per call and retry, with their defaults.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::bindings::ConfigValue;
use crate::settings::config::PluginSettings;

/// Left out unless named in `plugins`: a row per process makes a time series per PID, which
/// time-series databases are not built for (their index grows without end).
const NOT_EXPORTED_BY_DEFAULT: &[&str] = &["processlist"];

/// Defaults of an exporter's section. Buffer: 64 MiB holds about an hour of the default
/// plugins' batches at a 2 s refresh (~15 KiB each). Spill: 1 GiB on disk is days of them.
/// 60 batches per call: a minute of 1 s batches in one request when replaying, small enough
/// for any target's request size limit. Retry: 1 s doubling up to 30 s, so a target back
/// from an outage gets its backlog within 30 s.
const DEFAULT_BUFFER_MB: u64 = 64;
const DEFAULT_SPILL_MB: u64 = 1024;
const DEFAULT_BATCHES_PER_CALL: u64 = 60;
const DEFAULT_RETRY_MS: u64 = 1_000;
const DEFAULT_MAX_RETRY_MS: u64 = 30_000;

/// The settings the host reads from an exporter's section (`[plugins.NAME]`); the exporter
/// sees the whole section too, and takes its own (`url`, `prefix`...) from it.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportSettings {
    /// How often a batch is taken: the refresh unless `interval` (seconds) says otherwise.
    pub interval: Duration,
    /// The plugins exported; `None`: all but [`NOT_EXPORTED_BY_DEFAULT`].
    pub plugins: Option<Vec<String>>,
    /// `plugin.field` entries: for a plugin named here, only these fields (and its key).
    pub fields: BTreeMap<String, Vec<String>>,
    pub buffer_bytes: usize,
    /// Where batches go when the memory buffer is full (a directory per exporter below it),
    /// and stay across restarts of glint.
    pub spill_dir: Option<PathBuf>,
    pub spill_bytes: u64,
    pub batches_per_call: usize,
    pub retry: Duration,
    pub max_retry: Duration,
}

impl ExportSettings {
    /// The settings of exporter `name`, from its section (if any); an error names the key,
    /// the bad value and what is expected.
    pub fn from_section(
        name: &str,
        section: Option<&PluginSettings>,
        refresh: Duration,
    ) -> Result<ExportSettings, String> {
        let empty = BTreeMap::new();
        let keys = Section {
            name,
            settings: section.map_or(&empty, |s| &s.settings),
        };
        let interval = keys.interval(refresh)?;
        let fields = keys.fields()?;
        let (retry_ms, max_retry_ms) = keys.retries()?;
        let spill_dir = keys.spill_dir()?;
        // Ranges, past which a value is a typo: an interval of 0.1 s (a tick is rarely
        // shorter) to a day; a buffer of 1 KiB (a few small batches, for tests) to 64 GiB;
        // 1 TiB of spill; calls of 1 to 10,000 batches; retries from 10 ms (less hammers a
        // target) to an hour, and at most a day apart.
        Ok(ExportSettings {
            interval,
            plugins: keys.list("plugins")?,
            fields,
            buffer_bytes: keys.buffer_bytes()?,
            spill_dir,
            spill_bytes: keys.number("spill_max_mb", DEFAULT_SPILL_MB, 1, 1 << 20)? << 20,
            batches_per_call: keys.number(
                "batches_per_call",
                DEFAULT_BATCHES_PER_CALL,
                1,
                10_000,
            )? as usize,
            retry: Duration::from_millis(retry_ms),
            max_retry: Duration::from_millis(max_retry_ms),
        })
    }

    pub(super) fn exports(&self, plugin: &str) -> bool {
        match &self.plugins {
            Some(list) => list.iter().any(|p| p == plugin),
            None => !NOT_EXPORTED_BY_DEFAULT.contains(&plugin),
        }
    }
}

/// An exporter's section as the host reads it: each key's value, or its default, or an
/// error that names the key.
struct Section<'a> {
    name: &'a str,
    settings: &'a BTreeMap<String, ConfigValue>,
}

impl Section<'_> {
    fn bad(&self, key: &str, what: &str) -> String {
        format!("[plugins.{}] {key}: {what}", self.name)
    }

    /// A whole number from `min` to `max`, `default` if unset.
    fn number(&self, key: &str, default: u64, min: u64, max: u64) -> Result<u64, String> {
        match self.settings.get(key) {
            None => Ok(default),
            Some(ConfigValue::Int(i)) if *i >= min as i64 && *i <= max as i64 => Ok(*i as u64),
            Some(other) => Err(self.bad(
                key,
                &format!("expected a whole number from {min} to {max}, found {other:?}"),
            )),
        }
    }

    /// A list of names, as a list or as one comma-separated string.
    fn list(&self, key: &str) -> Result<Option<Vec<String>>, String> {
        match self.settings.get(key) {
            None => Ok(None),
            Some(ConfigValue::TextList(l)) => Ok(Some(l.clone())),
            Some(ConfigValue::Text(t)) => Ok(Some(
                t.split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect(),
            )),
            Some(other) => Err(self.bad(
                key,
                &format!(
                    "expected a list of names (\"cpu,mem\" or [\"cpu\", \"mem\"]), found {other:?}"
                ),
            )),
        }
    }

    /// `interval`: seconds, whole or not; the refresh if unset.
    fn interval(&self, refresh: Duration) -> Result<Duration, String> {
        Ok(match self.settings.get("interval") {
            None => refresh,
            Some(ConfigValue::Int(i)) if *i > 0 && *i <= 86_400 => Duration::from_secs(*i as u64),
            Some(ConfigValue::Float(f)) if *f >= 0.1 && *f <= 86_400.0 => {
                Duration::from_secs_f64(*f)
            }
            Some(other) => {
                return Err(self.bad(
                    "interval",
                    &format!("expected seconds from 0.1 to 86400, found {other:?}"),
                ));
            }
        })
    }

    /// `fields`: `plugin.field` entries, by plugin.
    fn fields(&self) -> Result<BTreeMap<String, Vec<String>>, String> {
        let mut fields: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for entry in self.list("fields")?.unwrap_or_default() {
            let Some((plugin, field)) = entry.split_once('.') else {
                return Err(self.bad(
                    "fields",
                    &format!("{entry:?} is not plugin.field (e.g. \"cpu.total\")"),
                ));
            };
            fields
                .entry(plugin.to_string())
                .or_default()
                .push(field.to_string());
        }
        Ok(fields)
    }

    /// `retry_ms` and `max_retry_ms`, the second no less than the first.
    fn retries(&self) -> Result<(u64, u64), String> {
        let retry_ms = self.number("retry_ms", DEFAULT_RETRY_MS, 10, 3_600_000)?;
        let max_retry_ms = self.number(
            "max_retry_ms",
            DEFAULT_MAX_RETRY_MS.max(retry_ms),
            10,
            86_400_000,
        )?;
        if max_retry_ms < retry_ms {
            return Err(self.bad(
                "max_retry_ms",
                &format!(
                    "{max_retry_ms} is less than retry_ms ({retry_ms}); the retries start at retry_ms and double up to max_retry_ms"
                ),
            ));
        }
        Ok((retry_ms, max_retry_ms))
    }

    /// `spill_dir`: an absolute path, below which this exporter gets a directory of its own.
    fn spill_dir(&self) -> Result<Option<PathBuf>, String> {
        Ok(match self.settings.get("spill_dir") {
            None => None,
            Some(ConfigValue::Text(t)) if Path::new(t).is_absolute() => {
                Some(PathBuf::from(t).join(self.name))
            }
            Some(other) => {
                return Err(self.bad(
                    "spill_dir",
                    &format!("expected an absolute directory path, found {other:?}"),
                ));
            }
        })
    }

    /// `buffer_mb`, in bytes.
    fn buffer_bytes(&self) -> Result<usize, String> {
        Ok(match self.settings.get("buffer_mb") {
            // A fraction of a MiB is allowed (a small machine, or a test of the spill).
            Some(ConfigValue::Float(f)) if *f >= 0.001 && *f <= 65_536.0 => {
                (*f * 1_048_576.0) as usize
            }
            Some(ConfigValue::Float(f)) => {
                return Err(self.bad(
                    "buffer_mb",
                    &format!("expected MiB from 0.001 to 65536, found {f}"),
                ));
            }
            _ => (self.number("buffer_mb", DEFAULT_BUFFER_MB, 1, 65_536)? << 20) as usize,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(pairs: &[(&str, ConfigValue)]) -> PluginSettings {
        PluginSettings {
            settings: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
            ..PluginSettings::default()
        }
    }

    #[test]
    fn settings_default_and_errors_name_the_key() {
        let s = ExportSettings::from_section("influxdb", None, Duration::from_secs(2))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.interval, Duration::from_secs(2));
        assert!(s.exports("cpu") && !s.exports("processlist"));
        let s = ExportSettings::from_section(
            "influxdb",
            Some(&section(&[
                ("interval", ConfigValue::Int(10)),
                ("plugins", ConfigValue::Text("cpu, processlist".into())),
                ("fields", ConfigValue::TextList(vec!["cpu.total".into()])),
            ])),
            Duration::from_secs(2),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.interval, Duration::from_secs(10));
        assert!(s.exports("processlist") && !s.exports("mem"));
        assert_eq!(s.fields["cpu"], ["total"]);
        let e = ExportSettings::from_section(
            "influxdb",
            Some(&section(&[("buffer_mb", ConfigValue::Text("lots".into()))])),
            Duration::from_secs(2),
        )
        .err()
        .unwrap_or_default();
        assert!(
            e.contains("[plugins.influxdb] buffer_mb") && e.contains("lots"),
            "{e}"
        );
        let e = ExportSettings::from_section(
            "csv",
            Some(&section(&[("fields", ConfigValue::Text("total".into()))])),
            Duration::from_secs(2),
        )
        .err()
        .unwrap_or_default();
        assert!(e.contains("plugin.field"), "{e}");
    }
}
