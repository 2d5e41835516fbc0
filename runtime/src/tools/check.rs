//! `glint plugin check FILE.wasm [--manifest M]`: what a component is (its imports and
//! exports, its handshake, what its manifest asks for and what the config grants) and
//! whether glint would load it, or why not.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;

use wasmtime::component::Component;

use crate::plugins::engine::GlintEngine;
use crate::plugins::load::{LoadedPlugin, PluginFile};
use crate::plugins::readings::TickReadings;
use crate::plugins::sandbox::Sandbox;
use crate::settings::config::Config;

/// The report, and whether glint would load the plugin.
pub struct Report {
    pub text: String,
    pub loads: bool,
}

/// What a component's imports let it reach, in the operator's words.
fn needs(import: &str) -> Option<&'static str> {
    let interface = import.split('@').next().unwrap_or(import);
    Some(match interface {
        i if i.starts_with("wasi:sockets/") => {
            "the network (wasi:sockets): only the destinations granted to it"
        }
        i if i.starts_with("wasi:http/") => {
            "HTTP (wasi:http): requests to its granted destinations only (JavaScript's engine imports it whether or not the plugin sends any)"
        }
        i if i.starts_with("wasi:filesystem/") => {
            "files (wasi:filesystem): only its granted directory"
        }
        "wasi:cli/environment" => "environment variables: only those granted to it",
        "glint:plugin/readings" => "readings of the machine",
        "glint:plugin/stats" => "the stats of the other plugins",
        _ => return None,
    })
}

/// Checks the component at `path` against this glint and `config`.
pub fn check(
    engine: &GlintEngine,
    config: &Config,
    path: &Path,
    manifest: Option<&Path>,
) -> Report {
    let mut text = String::new();
    let refuse = |mut text: String, why: String| {
        let _ = writeln!(text, "\nglint would refuse it: {why}");
        Report { text, loads: false }
    };
    let file = match PluginFile::read(path, manifest) {
        Ok(f) => f,
        Err(e) => return refuse(text, e),
    };
    let _ = writeln!(
        text,
        "file:      {} ({} bytes, sha256 {})",
        path.display(),
        file.bytes.len(),
        file.sha256
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    let component = match engine.component(&file.label, &file.bytes, &file.sha256) {
        Ok(c) => c,
        Err(e) => return refuse(text, e.to_string()),
    };
    write_interface(&mut text, engine, &component);
    write_manifest(&mut text, &file);
    let readings = Arc::new(TickReadings::new(
        Arc::new(host_collectors::Source::live()),
        Arc::from(Vec::new()),
    ));
    let plugin = match crate::plugins::load::load(engine, &file, config, readings) {
        Ok(p) => p,
        Err(e) => return refuse(text, e.to_string()),
    };
    write_loaded(&mut text, &file, &plugin);
    let _ = writeln!(text, "\nglint would load it.");
    Report { text, loads: true }
}

/// The component's exports, and its imports with what each lets it reach.
fn write_interface(text: &mut String, engine: &GlintEngine, component: &Component) {
    let ty = component.component_type();
    let imports: Vec<&str> = ty.imports(&engine.engine).map(|(n, _)| n).collect();
    let exports: Vec<&str> = ty.exports(&engine.engine).map(|(n, _)| n).collect();
    let _ = writeln!(text, "exports:   {}", exports.join(", "));
    let _ = writeln!(text, "imports:");
    for import in &imports {
        match needs(import) {
            Some(what) => {
                let _ = writeln!(text, "  {import}  — {what}");
            }
            None => {
                let _ = writeln!(text, "  {import}");
            }
        }
    }
}

/// The manifest's kind and version and what it asks for, or that there is none.
fn write_manifest(text: &mut String, file: &PluginFile) {
    match &file.manifest {
        None => {
            let _ = writeln!(
                text,
                "manifest:  none (in the plugins directory it needs {}.toml beside it)",
                file.label
            );
        }
        Some(m) => {
            let _ = writeln!(
                text,
                "manifest:  kind {}, version {}",
                crate::bindings::kind_name(m.kind),
                m.version
            );
            let asks = m.capabilities.asks();
            if asks.is_empty() {
                let _ = writeln!(text, "asks for:  nothing");
            } else {
                let _ = writeln!(text, "asks for:");
                for (what, why) in asks {
                    let _ = writeln!(text, "  {what}  — {why}");
                }
            }
        }
    }
}

/// The loaded plugin: its handshake, what this config grants and denies it, its limits and
/// notes.
fn write_loaded(text: &mut String, file: &PluginFile, plugin: &LoadedPlugin) {
    let meta = &plugin.meta;
    let _ = writeln!(
        text,
        "handshake: {} — {} (kind {}, API version {}, {} fields{})",
        meta.name,
        meta.description,
        crate::bindings::kind_name(plugin.kind),
        meta.api_version,
        meta.fields.len(),
        if meta.reads.is_empty() {
            String::new()
        } else {
            format!(", reads {}", meta.reads.join(", "))
        }
    );
    let sandbox: &Sandbox = &plugin.sandbox;
    let granted = sandbox.grants.granted();
    let _ = writeln!(
        text,
        "granted:   {} (by this config)",
        if granted.is_empty() {
            "nothing".to_string()
        } else {
            granted.join(", ")
        }
    );
    if !sandbox.grants.denied.is_empty() {
        let _ = writeln!(
            text,
            "denied:    {} — grant them in [plugins.{}.grant] if it should have them",
            sandbox.grants.denied.join(", "),
            meta.name
        );
    }
    let l = sandbox.limits;
    let _ = writeln!(
        text,
        "limits:    {} MiB, {} ms a call, {} ms of CPU, {} rows, {} KiB a table, {} log lines a minute",
        l.memory >> 20,
        l.deadline.as_millis(),
        l.cpu_budget.as_millis(),
        l.max_rows,
        l.max_table_bytes >> 10,
        l.log_lines_per_minute
    );
    for note in &sandbox.notes {
        let _ = writeln!(text, "note:      {note}");
    }
    if file.label != meta.name {
        let _ = writeln!(
            text,
            "note:      install it as {0}.wasm with {0}.toml: files are named after the plugin",
            meta.name
        );
    }
}
