//! The config a run uses: the file (or the embedded defaults) with the command line's flags
//! laid over it, every name checked before any plugin is compiled.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use glint::bindings::ConfigValue;
use glint::settings::config::{Config, MAX_REFRESH_SECS, MIN_REFRESH_SECS};

use crate::app::args::{Cli, split_list};

/// The config file (or the defaults) with the flags over it.
pub fn load(cli: &Cli) -> anyhow::Result<Config> {
    let mut config = match cli.config.as_ref().cloned().or_else(Config::default_path) {
        Some(path) => Config::load(&path)?,
        None => Config::defaults()?,
    };
    if let Some(t) = cli.time {
        if !(MIN_REFRESH_SECS..=MAX_REFRESH_SECS).contains(&t) {
            bail!(
                "-t {t}: the refresh must be between {MIN_REFRESH_SECS} and {MAX_REFRESH_SECS} seconds"
            );
        }
        config.refresh = Duration::from_secs_f64(t);
    }
    enable_plugins(cli, &mut config)?;
    let named = split_list(&cli.export);
    enable_exporters(cli, &named, &mut config)?;
    export_files(cli, &mut config)?;
    // An exporter's host settings are checked now: a bad line stops glint with its reason,
    // rather than an exporter that silently never runs.
    for name in embedded_exporters()
        .into_iter()
        .chain(named.iter().map(String::as_str))
    {
        if config.exports(name) {
            glint::export::ExportSettings::from_section(
                name,
                config.plugins.get(name),
                config.refresh,
            )
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        }
    }
    Ok(config)
}

/// The embedded exporters' names.
fn embedded_exporters() -> Vec<&'static str> {
    glint::embedded::DEFAULT_PLUGINS
        .iter()
        .filter(|p| p.exporter)
        .map(|p| p.name)
        .collect()
}

/// `--disable-plugin` and `--enable-plugin`, each name checked against the default plugins.
fn enable_plugins(cli: &Cli, config: &mut Config) -> anyhow::Result<()> {
    let all_names: Vec<String> = glint::embedded::DEFAULT_PLUGINS
        .iter()
        .map(|p| p.name.to_string())
        .collect();
    let known = |name: &str| -> anyhow::Result<()> {
        if name == "all" || all_names.iter().any(|n| n == name) {
            Ok(())
        } else {
            bail!(
                "unknown plugin {name:?}; the default plugins are: {}",
                all_names.join(", ")
            )
        }
    };
    for name in split_list(&cli.disable_plugin) {
        known(&name)?;
        let targets = if name == "all" {
            all_names.clone()
        } else {
            vec![name]
        };
        for t in targets {
            config.plugins.entry(t).or_default().enable = Some(false);
        }
    }
    for name in split_list(&cli.enable_plugin) {
        known(&name)?;
        config.plugins.entry(name).or_default().enable = Some(true);
    }
    Ok(())
}

/// `--export LIST`: each an embedded exporter or one in the plugins directory.
fn enable_exporters(cli: &Cli, named: &[String], config: &mut Config) -> anyhow::Result<()> {
    let exporters = embedded_exporters();
    let plugins_dir = cli.plugins_dir.clone().or_else(|| config.plugins_dir());
    for name in named {
        let in_dir = plugins_dir
            .as_ref()
            .is_some_and(|d| d.join(format!("{name}.wasm")).is_file());
        if !exporters.contains(&name.as_str()) && !in_dir {
            bail!(
                "--export {name}: no exporter named {name:?}; the embedded ones are {}; a community exporter goes in {} as {name}.wasm with its manifest {name}.toml",
                exporters.join(", "),
                plugins_dir
                    .as_ref()
                    .map_or("the plugins directory (--plugins-dir)".to_string(), |d| d
                        .display()
                        .to_string())
            );
        }
        config.plugins.entry(name.clone()).or_default().enable = Some(true);
    }
    Ok(())
}

/// Glances' file flags: `--export-csv-file`, `--export-csv-overwrite`, `--export-json-file`.
fn export_files(cli: &Cli, config: &mut Config) -> anyhow::Result<()> {
    if let Some(file) = &cli.export_csv_file {
        set_file(config, "csv", "--export-csv-file", file)?;
    }
    if cli.export_csv_overwrite {
        set(config, "csv", "overwrite", ConfigValue::Boolean(true));
    }
    if let Some(file) = &cli.export_json_file {
        set_file(config, "json", "--export-json-file", file)?;
    }
    Ok(())
}

/// Sets a plugin's `file` setting to `file` made absolute (the exporter's grant is its
/// directory).
fn set_file(config: &mut Config, plugin: &str, flag: &str, file: &Path) -> anyhow::Result<()> {
    let path: PathBuf = std::path::absolute(file)
        .with_context(|| format!("{flag} {}: not a usable path", file.display()))?;
    set(
        config,
        plugin,
        "file",
        ConfigValue::Text(path.display().to_string()),
    );
    Ok(())
}

fn set(config: &mut Config, plugin: &str, key: &str, value: ConfigValue) {
    config
        .plugins
        .entry(plugin.to_string())
        .or_default()
        .settings
        .insert(key.into(), value);
}
