//! `glint plugin new NAME --kind input|output|exporter --lang rust|python|javascript`: a
//! plugin project that builds to a component with one command and loads as it is, with its
//! manifest and this glint's helper library and WIT vendored beside it (so it builds without
//! glint's source and always against the contract this glint serves).

mod javascript;
mod python;

use std::path::{Path, PathBuf};

use crate::bindings::PluginKind;
use crate::tools::wit::{self, WriteError};

/// The languages a plugin project can be made in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    /// A crate on glint-sdk, built with cargo for wasm32-wasip2.
    Rust,
    /// A module on glint_sdk.py, built with componentize-py.
    Python,
    /// An ES module on glint.js, built with componentize-js.
    Javascript,
}

impl Language {
    /// The one command that builds a project of this language into `NAME.wasm` (or, for
    /// Rust, cargo's target directory), run in the project's folder.
    pub fn build_command(self, name: &str, kind: PluginKind) -> String {
        match self {
            Language::Rust => "cargo build --release --target wasm32-wasip2".to_string(),
            Language::Python => python::build_command(name, kind),
            Language::Javascript => "npm install && npm run build".to_string(),
        }
    }
}

/// The contract, under `wit/` of a project.
fn wit_files() -> impl Iterator<Item = (PathBuf, String)> {
    wit::FILES
        .iter()
        .map(|(path, text)| (Path::new("wit").join(path), text.to_string()))
}

/// The SDK as this glint was built with it: what every kind vendors (with the contract,
/// `wit::FILES`).
/// lib.rs declares these modules: a vendored SDK without one does not build, so a module
/// added to the SDK is added here too (or to `EXPORT_FILES`, if behind a feature).
const SDK_FILES: &[(&str, &str)] = &[
    (
        "src/lib.rs",
        include_str!("../../../guest-plugins/sdk/src/lib.rs"),
    ),
    (
        "src/cpu.rs",
        include_str!("../../../guest-plugins/sdk/src/cpu.rs"),
    ),
    (
        "src/rates.rs",
        include_str!("../../../guest-plugins/sdk/src/rates.rs"),
    ),
    (
        "src/table.rs",
        include_str!("../../../guest-plugins/sdk/src/table.rs"),
    ),
];

/// The modules behind the SDK's `export` and `http` features, and everything under them:
/// vendored for exporters only (~3.3k lines an input or output plugin never builds).
const EXPORT_FILES: &[(&str, &str)] = &[
    (
        "src/export.rs",
        include_str!("../../../guest-plugins/sdk/src/export.rs"),
    ),
    (
        "src/export/influx.rs",
        include_str!("../../../guest-plugins/sdk/src/export/influx.rs"),
    ),
    (
        "src/export/document.rs",
        include_str!("../../../guest-plugins/sdk/src/export/document.rs"),
    ),
    (
        "src/export/prometheus.rs",
        include_str!("../../../guest-plugins/sdk/src/export/prometheus.rs"),
    ),
    (
        "src/export/prometheus/tests.rs",
        include_str!("../../../guest-plugins/sdk/src/export/prometheus/tests.rs"),
    ),
    (
        "src/export/prometheus/tests/names.rs",
        include_str!("../../../guest-plugins/sdk/src/export/prometheus/tests/names.rs"),
    ),
    (
        "src/export/file.rs",
        include_str!("../../../guest-plugins/sdk/src/export/file.rs"),
    ),
    (
        "src/http.rs",
        include_str!("../../../guest-plugins/sdk/src/http.rs"),
    ),
];

/// The guest-side bindings generator the SDK is built with (the workspace pins it).
const WIT_BINDGEN: &str = "=0.61.1";
/// The SDK's `http` feature's dependencies, as the workspace asks for them. Optional, so a
/// plugin that does not turn the feature on neither fetches nor builds them.
const WASIP2: &str = "1";
const BASE64: &str = "0.22";

#[derive(Debug, thiserror::Error)]
pub enum ScaffoldError {
    #[error(
        "plugin name {0:?} must be 1-64 characters of a-z, 0-9, '_' or '-', starting with a letter"
    )]
    BadName(String),
    #[error("{0} already exists; choose another name or --dir")]
    Exists(PathBuf),
    #[error(transparent)]
    Write(#[from] WriteError),
}

/// Whether `name` may name a plugin (it becomes a file name and a URL path).
fn valid_name(name: &str) -> bool {
    name.len() <= 64
        && name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

/// Writes the project of plugin `name` into `dir` (which must not exist); returns the files.
pub fn create(
    name: &str,
    kind: PluginKind,
    language: Language,
    dir: &Path,
) -> Result<Vec<PathBuf>, ScaffoldError> {
    if !valid_name(name) {
        return Err(ScaffoldError::BadName(name.to_string()));
    }
    if dir.exists() {
        return Err(ScaffoldError::Exists(dir.to_path_buf()));
    }
    let mut files = vec![(
        PathBuf::from(format!("{name}.toml")),
        manifest(name, kind, language),
    )];
    match language {
        Language::Rust => files.extend(rust_files(name, kind)),
        Language::Python => files.extend(python::files(name, kind).chain(wit_files())),
        Language::Javascript => files.extend(javascript::files(name, kind).chain(wit_files())),
    }
    wit::write_files(dir, files).map_err(|e| {
        // The folder did not exist: a half-written project goes, so a retry can make it.
        let _ = std::fs::remove_dir_all(dir);
        ScaffoldError::Write(e)
    })
}

/// A Rust plugin's crate: its Cargo.toml, lib.rs and README, and glint-sdk vendored with the
/// contract beside it.
fn rust_files(name: &str, kind: PluginKind) -> Vec<(PathBuf, String)> {
    let crate_name = name.replace('-', "_");
    let mut files: Vec<(PathBuf, String)> = vec![
        (PathBuf::from("Cargo.toml"), cargo_toml(name, kind)),
        (
            PathBuf::from("rust-toolchain.toml"),
            "[toolchain]\ntargets = [\"wasm32-wasip2\"]\n".to_string(),
        ),
        (PathBuf::from("src/lib.rs"), lib_rs(name, kind)),
        (PathBuf::from("README.md"), readme(name, &crate_name)),
        (PathBuf::from("glint-sdk/Cargo.toml"), sdk_cargo_toml(kind)),
    ];
    for (path, text) in vendored(kind) {
        // The SDK finds the WIT beside it here, not two levels up as in glint's tree.
        files.push((
            Path::new("glint-sdk").join(path),
            text.replace("\"../../wit\"", "\"wit\""),
        ));
    }
    files.extend(wit_files().map(|(path, text)| (Path::new("glint-sdk").join(path), text)));
    files
}

/// The SDK's files a plugin of `kind` gets: the exporters' helpers only for exporters.
fn vendored(kind: PluginKind) -> impl Iterator<Item = &'static (&'static str, &'static str)> {
    let export: &[(&str, &str)] = match kind {
        PluginKind::Exporter => EXPORT_FILES,
        _ => &[],
    };
    SDK_FILES.iter().chain(export)
}

fn cargo_toml(name: &str, kind: PluginKind) -> String {
    let sdk = match kind {
        PluginKind::Exporter => {
            "# The exporters' helpers (glint_sdk::export); add \"http\" to send wasi:http requests\n\
             # (glint_sdk::http).\n\
             glint-sdk = { path = \"glint-sdk\", features = [\"export\"] }"
        }
        _ => "glint-sdk = { path = \"glint-sdk\" }",
    };
    format!(
        r#"[package]
name = "{name}"
version = "0.1.0"
edition = "2024"
publish = false

[lib]
crate-type = ["cdylib"]

[dependencies]
{sdk}

# A crate of its own, not part of an enclosing workspace.
[workspace]

[profile.release]
# Small components: ~70 KB.
opt-level = "s"
lto = true
codegen-units = 1
strip = true
"#
    )
}

fn sdk_cargo_toml(kind: PluginKind) -> String {
    // Only an exporter gets the sources of `export` and `http` (`vendored`), so only it needs
    // http's dependencies. Other kinds declare both features all the same, with nothing
    // behind them: cargo warns of a `cfg(feature = ...)` naming an undeclared one.
    let (dependencies, features) = match kind {
        PluginKind::Exporter => (
            format!(
                "# The `http` feature: wasi:http's bindings, and base64 for basic auth.\n\
                 wasip2 = {{ version = \"{WASIP2}\", optional = true }}\n\
                 base64 = {{ version = \"{BASE64}\", optional = true }}\n"
            ),
            "export = []\nhttp = [\"dep:wasip2\", \"dep:base64\"]\n",
        ),
        _ => (
            String::new(),
            "# The exporters' helpers: their sources come with `glint plugin new --kind exporter`.\n\
             export = []\nhttp = []\n",
        ),
    };
    format!(
        r#"[package]
name = "glint-sdk"
description = "The glint plugin SDK, vendored by `glint plugin new`"
version = "{version}"
edition = "2024"
publish = false

[dependencies]
wit-bindgen = "{WIT_BINDGEN}"
{dependencies}
[features]
{features}"#,
        version = env!("CARGO_PKG_VERSION")
    )
}

fn manifest(name: &str, kind: PluginKind, language: Language) -> String {
    let reads_config = match language {
        Language::Rust => "glint_sdk::config()",
        Language::Python => "glint_sdk.config()",
        Language::Javascript => "config() of glint.js",
    };
    let kind_name = crate::bindings::kind_name(kind);
    let capabilities = match kind {
        PluginKind::Exporter => {
            r#"# network = [{ destination = "127.0.0.1:8086", reason = "the server stats are shipped to" }]
"#
        }
        _ => {
            r#"# process_cmdlines = { reason = "shows what each process runs" }
# process_users = { reason = "shows who runs each process" }
"#
        }
    };
    format!(
        r#"# The manifest of {name}.wasm: glint reads it beside the component in its plugins
# directory (~/.config/glint/plugins). Asking for a capability grants nothing: the operator
# grants it in glint.toml under [plugins.{name}.grant].
kind = "{kind_name}"
version = "0.1.0"
description = "A glint {kind_name} plugin"

[config]
# Default settings, read with {reads_config}; the operator's [plugins.{name}] overrides them.
greeting = "hello"

[capabilities]
# Each with the reason the operator reads before granting it:
{capabilities}# directory = {{ path = "/var/lib/glint/{name}", reason = "where it writes its files" }}
# env = [{{ name = "TOKEN", reason = "the credentials of the target" }}]

[limits]
# Less than glint's defaults is always allowed; more needs [plugins.{name}.limits].
# memory_mb = 16
# deadline_ms = 200
"#
    )
}

fn lib_rs(name: &str, kind: PluginKind) -> String {
    match kind {
        PluginKind::Input => format!(
            r#"//! {name}: a glint input plugin. Each tick, `update` turns readings of the machine
//! into one table of stats; glint serves it at /api/3/{name}.

use glint_sdk::counter;
use glint_sdk::prelude::*;

#[derive(Default)]
struct Plugin {{
    rates: Rates,
}}

impl InputPlugin for Plugin {{
    fn info() -> PluginInfo {{
        // Every column update() returns, declared: glint refuses a table with any other. A rate
        // (`ctx_switches`) stands for its three columns: the delta, `_gauge` and `_rate_per_sec`.
        plugin("{name}", "A glint input plugin", Layout::Record)
            .field(field("greeting", Unit::Text, "From the plugin's config"))
            .field(field("load_per_core", Unit::Number, "1-minute load per logical CPU").history())
            .field(field("ctx_switches", Unit::Number, "Context switches").rate())
            .field(field("time_since_update", Unit::Seconds, "Seconds since the previous update"))
    }}

    fn update(&mut self, tick: &Tick) -> Result<Table, String> {{
        let greeting = match glint_sdk::config_value(&glint_sdk::config(), "greeting") {{
            Some(ConfigValue::Text(text)) => text,
            _ => "hello".to_string(),
        }};
        let load = readings::get_load();
        let cores = readings::get_cpu_info().logical_cores.max(1);
        let mut row = Row::new()
            .set("greeting", greeting)
            .set("load_per_core", round1(load.min1 / f64::from(cores)));
        let cpu = readings::get_cpu_stats();
        self.rates
            .push(&mut row, "all", tick, &[counter!("ctx_switches", cpu.ctx_switches)]);
        Ok(row.into_table())
    }}
}}

glint_sdk::export_input!(Plugin);
"#
        ),
        PluginKind::Output => format!(
            r#"//! {name}: a glint output plugin. glint serves what `render` answers at
//! /api/3/outputs/{name}[/<path>], with the content type it gives.

use glint_sdk::{{OutputPlugin, PluginInfo, Request, Response, stats}};

#[derive(Default)]
struct Plugin;

impl OutputPlugin for Plugin {{
    fn info() -> PluginInfo {{
        glint_sdk::output("{name}", "A glint output plugin")
    }}

    fn render(&mut self, request: &Request) -> Result<Response, String> {{
        // One line per plugin with stats: its name and how many rows it has.
        let mut body = format!("path: /{{}}\n", request.path);
        for plugin in stats::plugins() {{
            let rows = stats::latest(&plugin).map_or(0, |t| t.rows.len());
            body.push_str(&format!("{{plugin}} {{rows}}\n"));
        }}
        Ok(Response {{
            status: 200,
            content_type: "text/plain; charset=utf-8".to_string(),
            body: body.into_bytes(),
        }})
    }}
}}

glint_sdk::export_output!(Plugin);
"#
        ),
        PluginKind::Exporter => format!(
            r#"//! {name}: a glint exporter. glint hands `export` the batches of stats to send, oldest
//! first (several when it replays what it kept while the target was down); it formats and
//! sends them itself (through wasi:sockets / wasi:http, to the destinations the operator
//! granted). An error says whether glint should retry the batches or drop them.

use glint_sdk::{{Batch, ExportError, ExporterPlugin, PluginInfo, Schema}};

#[derive(Default)]
struct Plugin;

impl ExporterPlugin for Plugin {{
    fn info() -> PluginInfo {{
        glint_sdk::exporter("{name}", "A glint exporter")
    }}

    fn export(&mut self, _schema: &[Schema], batches: &[Batch]) -> Result<(), ExportError> {{
        if batches.iter().all(|b| b.tables.is_empty()) {{
            return Err(ExportError::Retryable("only empty batches".to_string()));
        }}
        // Format the batches (glint_sdk::export: settings, rows, InfluxDB, Prometheus and
        // JSON formats) and send them to your target here.
        Ok(())
    }}
}}

glint_sdk::export_exporter!(Plugin);
"#
        ),
    }
}

fn readme(name: &str, crate_name: &str) -> String {
    format!(
        r#"# {name}

A glint plugin. Build it to a WebAssembly component and drop it in glint's plugins
directory with its manifest; glint loads it within 5 s, without a restart:

```sh
cargo build --release --target wasm32-wasip2
glint plugin check target/wasm32-wasip2/release/{crate_name}.wasm --manifest {name}.toml
mkdir -p ~/.config/glint/plugins
cp target/wasm32-wasip2/release/{crate_name}.wasm ~/.config/glint/plugins/{name}.wasm
cp {name}.toml ~/.config/glint/plugins/{name}.toml
```

An exporter runs only when named: `glint --export {name}` (its settings go in
`[plugins.{name}]` of glint.toml, the destinations it may reach in `[plugins.{name}.grant]`).

`glint-sdk/` is the SDK and WIT contract of the glint that made this crate
(`glint plugin new`); the readings a plugin may ask for are in `glint-sdk/wit/readings.wit`.
"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The modules the SDK's lib.rs puts behind a feature (`export`, `http`).
    fn feature_modules(lib_rs: &str) -> Vec<&str> {
        let lines: Vec<&str> = lib_rs.lines().map(str::trim).collect();
        lines
            .windows(2)
            .filter(|pair| pair[0].starts_with("#[cfg(feature = "))
            .filter_map(|pair| pair[1].strip_prefix("pub mod ")?.strip_suffix(';'))
            .collect()
    }

    #[test]
    fn every_sdk_source_is_vendored() {
        fn walk(dir: &std::path::Path, base: &std::path::Path, out: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, base, out);
                } else if path.extension().is_some_and(|x| x == "rs")
                    && let Ok(rel) = path.strip_prefix(base)
                {
                    out.push(format!("src/{}", rel.display()));
                }
            }
        }
        let sdk = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../guest-plugins/sdk/src");
        let mut sources = Vec::new();
        walk(&sdk, &sdk, &mut sources);
        assert!(sources.len() >= 5, "{sources:?}");
        let gated = feature_modules(include_str!("../../../guest-plugins/sdk/src/lib.rs"));
        assert!(
            gated.contains(&"export") && gated.contains(&"http"),
            "{gated:?}"
        );
        let exporter: Vec<&str> = vendored(PluginKind::Exporter).map(|(p, _)| *p).collect();
        for source in sources {
            // An exporter gets every source; the others all but those of a feature's module
            // (`src/export/influx.rs` is `export`'s).
            let module = source
                .trim_start_matches("src/")
                .split(['/', '.'])
                .next()
                .unwrap_or_default();
            let (list, files) = if gated.contains(&module) {
                ("EXPORT_FILES", EXPORT_FILES)
            } else {
                ("SDK_FILES", SDK_FILES)
            };
            assert!(
                files.iter().any(|(path, _)| *path == source)
                    && exporter.contains(&source.as_str()),
                "{source} is in the SDK but not in {list}: a scaffolded plugin would not build"
            );
        }
    }

    #[test]
    fn only_an_exporter_vendors_the_export_helpers_and_turns_them_on() {
        let dir = tempfile::tempdir().expect("tempdir");
        for kind in [PluginKind::Input, PluginKind::Output, PluginKind::Exporter] {
            let root = dir.path().join(crate::bindings::kind_name(kind));
            create("p", kind, Language::Rust, &root).expect("created");
            let exporter = kind == PluginKind::Exporter;
            for (path, _) in EXPORT_FILES {
                let file = root.join("glint-sdk").join(path);
                assert_eq!(file.is_file(), exporter, "{kind:?} and {}", file.display());
            }
            assert!(root.join("glint-sdk/src/rates.rs").is_file(), "{kind:?}");
            let read = |path: &str| {
                let text = std::fs::read_to_string(root.join(path)).expect("written");
                toml::from_str::<toml::Table>(&text)
                    .unwrap_or_else(|e| panic!("{kind:?}: {path} is not TOML: {e}\n{text}"));
                text
            };
            let cargo = read("Cargo.toml");
            assert_eq!(
                cargo.contains(r#"glint-sdk = { path = "glint-sdk", features = ["export"] }"#),
                exporter,
                "{kind:?}: {cargo}"
            );
            // Every kind declares both features: the vendored lib.rs names them in its cfgs.
            let sdk = read("glint-sdk/Cargo.toml");
            assert!(
                sdk.contains("\nexport = []\n") && sdk.contains("\nhttp = "),
                "{sdk}"
            );
            assert_eq!(sdk.contains("wasip2 = "), exporter, "{kind:?}: {sdk}");
        }
    }

    /// runtime/build.rs builds the guests in one cargo call, which turns a feature one guest
    /// asks for on for all: a guest that uses `export` without asking builds there, and
    /// nowhere else. So each must ask for what it uses.
    #[test]
    fn every_guest_turns_on_the_sdk_features_it_uses() {
        let guests = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../guest-plugins");
        let mut checked = 0;
        for entry in std::fs::read_dir(&guests).expect("guest-plugins").flatten() {
            let dir = entry.path();
            let cargo = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap_or_default();
            let Some(sdk) = cargo.lines().find(|l| l.starts_with("glint-sdk")) else {
                continue;
            };
            let source: String = std::fs::read_dir(dir.join("src"))
                .into_iter()
                .flatten()
                .flatten()
                .filter_map(|f| std::fs::read_to_string(f.path()).ok())
                .collect();
            for (feature, used) in [
                (
                    "export",
                    source.contains("glint_sdk::export::") || source.contains("export_exporter!"),
                ),
                ("http", source.contains("glint_sdk::http")),
            ] {
                assert!(
                    !used || sdk.contains(&format!("\"{feature}\"")),
                    "{}: uses glint-sdk's `{feature}` (every exporter uses `export`) but does \
                     not turn it on: add \"{feature}\" to the features of `{sdk}`",
                    dir.display()
                );
            }
            checked += 1;
        }
        assert!(
            checked >= 10,
            "only {checked} guests in {}",
            guests.display()
        );
    }

    #[test]
    fn a_crate_is_written_with_its_manifest_and_the_vendored_sdk() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("hello");
        let files = create("hello", PluginKind::Input, Language::Rust, &root).expect("created");
        assert!(files.contains(&root.join("hello.toml")));
        let manifest = crate::settings::manifest::Manifest::load(&root.join("hello.toml"))
            .expect("manifest parses");
        assert_eq!(manifest.kind, PluginKind::Input);
        let sdk = std::fs::read_to_string(root.join("glint-sdk/src/lib.rs")).expect("sdk");
        assert!(sdk.contains("path: \"wit\"") && !sdk.contains("../../wit"));
        assert!(root.join("glint-sdk/wit/worlds.wit").is_file());
        let e = create("hello", PluginKind::Input, Language::Rust, &root).expect_err("exists");
        assert!(e.to_string().contains("already exists"), "{e}");
        let e = create(
            "Bad Name",
            PluginKind::Input,
            Language::Rust,
            &dir.path().join("x"),
        )
        .expect_err("bad");
        assert!(e.to_string().contains("\"Bad Name\""), "{e}");
    }

    /// The toolchain versions a project names are those glint's tests build with.
    #[test]
    fn the_projects_pin_the_toolchains_the_tests_install() {
        let test = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../test"),
        )
        .expect("./test");
        for pin in [
            format!("componentize-py=={}", python::COMPONENTIZE_PY),
            format!("componentize-js@{}", javascript::COMPONENTIZE_JS),
            format!("preview2-shim@{}", javascript::PREVIEW2_SHIM),
        ] {
            assert!(test.contains(&pin), "./test does not install {pin}");
        }
    }

    #[test]
    fn every_kind_has_a_manifest_of_its_kind() {
        for kind in [PluginKind::Input, PluginKind::Output, PluginKind::Exporter] {
            let m = crate::settings::manifest::Manifest::parse(
                "m.toml",
                &manifest("p", kind, Language::Rust),
            )
            .expect("parses");
            assert_eq!(m.kind, kind);
        }
    }
}
